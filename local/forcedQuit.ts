/**
 * A forced quit: a command that runs the embedded store in its own process exits without its
 * clean stop (a second Ctrl-C while `skewless start`, `backfill` or `batch` stop; the audit's
 * Ctrl-C). Before the process exits, synchronously, the store's lock is released, and one line
 * says what was left unfinished, so that neither the data dir nor the user is left guessing.
 */
import type { RunningStore } from './store/index.ts';

/**
 * The offline rows the store acknowledged but has not written to Parquet, in words; undefined
 * when there are none (or the store is closed). Nothing is lost: every store start replays its
 * journal.
 */
function unflushedOfflineRows(store: Pick<RunningStore, 'pendingOfflineRows'>): string | undefined {
  const rows = store.pendingOfflineRows() ?? 0;
  return rows === 0
    ? undefined
    : `the offline store's flush (${rows.toLocaleString('en-US')} row${rows === 1 ? '' : 's'} not yet in Parquet, kept in its journal: the next start writes them)`;
}

/**
 * For a process about to exit without `store.close()`: what the store leaves unfinished (read
 * first: the lock's release does not change it), then its `store.lock` released. No store (none
 * opened yet, or another process's): nothing.
 */
function quitStoreNow(store: RunningStore | undefined): string[] {
  if (store === undefined) return [];
  const unfinished = unflushedOfflineRows(store);
  store.releaseLock();
  return unfinished === undefined ? [] : [unfinished];
}

/** The end of a forced quit's line: what was left unfinished, or that nothing was. */
function leftUnfinished(unfinished: readonly string[]): string {
  return unfinished.length === 0
    ? 'nothing was left unfinished'
    : `left unfinished: ${unfinished.join('; ')}`;
}

/**
 * The line of a forced quit (the second signal, while the clean stop runs): `what` is what came
 * again (`SIGINT`, `backfill: Ctrl-C`), then what was left unfinished.
 */
function forcedQuitLine(what: string, unfinished: readonly string[]): string {
  return `${what} again: exited without waiting; ${leftUnfinished(unfinished)}`;
}

export { forcedQuitLine, leftUnfinished, quitStoreNow, unflushedOfflineRows };

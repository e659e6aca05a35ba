/**
 * A forced quit: a command that runs the embedded store in its own process exits without its
 * clean stop (a second Ctrl-C while `skewless start`, `store`, `backfill` or `batch` stop, also
 * while their store is still opening; the audit's Ctrl-C). Before the process exits,
 * synchronously, the store's lock is released, and one line says what was left unfinished, so
 * that neither the data dir nor the user is left guessing.
 */
import { constants } from 'node:os';
import { releaseStoresNow } from './store/index.ts';

/**
 * The offline rows a store acknowledged but has not written to Parquet (`pending`), in words;
 * undefined when there are none (or the store was not open). Nothing is lost: every store start
 * replays its journal.
 */
function journalledRows(pending: number | undefined): string | undefined {
  const rows = pending ?? 0;
  return rows === 0
    ? undefined
    : `the offline store's flush (${rows.toLocaleString('en-US')} row${rows === 1 ? '' : 's'} not yet in Parquet, kept in its journal: the next start writes them)`;
}

/**
 * For a process about to exit without `store.close()`: what the embedded stores of this process
 * leave unfinished, then their `store.lock` released. A store still opening counts too: a signal
 * during its journal's replay comes before anyone holds it. None (not opened yet, or a store of
 * another process): nothing.
 */
function quitStoresNow(): string[] {
  return releaseStoresNow().flatMap((store) => journalledRows(store.pendingOfflineRows) ?? []);
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

/**
 * The exit code of a command a signal stopped, as a shell reports one the signal killed: 128 + its
 * number (130 for Ctrl-C, 143 for SIGTERM), so scripts tell a stop from a failure.
 */
function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

/**
 * Calls `handler` with the signal's name on every SIGINT (Ctrl-C) and SIGTERM (a process manager,
 * `timeout`), which the commands take alike; returns what removes both listeners. (The names are
 * passed here: a listener gets the signal's name from Node, but not from `process.emit` in tests.)
 */
function onStopSignals(handler: (signal: NodeJS.Signals) => void): () => void {
  const onInterrupt = () => handler('SIGINT');
  const onTerminate = () => handler('SIGTERM');
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onTerminate);
  return () => {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onTerminate);
  };
}

export { forcedQuitLine, leftUnfinished, onStopSignals, quitStoresNow, signalExitCode };

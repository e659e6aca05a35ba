/**
 * A signal that comes while a command's embedded store is still opening: `skewless audit`,
 * `backfill` and `batch` with no stack running open the store of the data dir in their own
 * process, and the store takes `store.lock` before it replays its journal (a second or more after
 * a crash left many rows in it). Ctrl-C or SIGTERM then must not leave the lock behind, and the
 * user reads one line, as for the other interrupted cases; exit 128 + the signal. Real child
 * processes, on a data dir whose journal holds rows not yet in Parquet.
 */
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliTestFile } from '../helpers/cliTestFile.ts';
import {
  exitCodeOf,
  FREE_PORTS,
  killProcess,
  lockTakenBy,
  outputMatching,
  runCli,
  spawnCliProcess,
  storeListening,
  writeCardsFile,
} from '../helpers/stackProcess.ts';

const { dir, spawn } = cliTestFile('signal-while-opening');
/** The data dir every case starts from a copy of: its store's journal holds {@link ROWS} rows. */
const journalled = join(dir, 'journalled');
const file = join(dir, 'cards.csv');
/** Enough journalled rows that the store's replay at opening lasts about a second. */
const ROWS = 20_000;

beforeAll(async () => {
  // A store that never flushes is fed ROWS offline rows, then killed: they stay in its journal.
  writeCardsFile(file, ROWS, 'so');
  const store = spawnCliProcess([
    'store',
    '--port',
    '0',
    '--data-dir',
    join(journalled, 'store'),
    '--flush-interval',
    '86400000',
  ]);
  try {
    const endpoint = await storeListening(store);
    const backfill = runCli([
      'backfill',
      file,
      '--group',
      'fraud-cards',
      '--data-dir',
      journalled,
      '--endpoint',
      endpoint,
      '--no-progress',
    ]);
    expect(backfill.status, backfill.stderr).toBe(0);
  } finally {
    // Killed, not stopped, whether the backfill passed or not (a failed hook runs no afterEach)
    await killProcess(store);
  }
}, 90_000);

/**
 * Runs `args` on a fresh copy of the journalled data dir and sends `signal` the moment the store
 * has taken its lock (it then replays the journal, for about a second), and again once its output
 * holds `again`, if given: resolves with the exit code, the output and where the lock was.
 */
async function signalWhileOpening(
  name: string,
  args: (dataDir: string) => string[],
  signal: 'SIGINT' | 'SIGTERM',
  again?: string
): Promise<{ code: number | null; output: string; lock: string }> {
  const dataDir = join(dir, name);
  cpSync(journalled, dataDir, { recursive: true });
  const lock = join(dataDir, 'store', 'store.lock');
  rmSync(lock, { force: true });
  const child = spawn(args(dataDir));
  const exited = exitCodeOf(child);
  await lockTakenBy(lock, child);
  child.child.kill(signal);
  if (again !== undefined) {
    await outputMatching(child, again);
    child.child.kill(signal);
  }
  return { code: await exited, output: child.output(), lock };
}

/** The end of the one line: the journal's rows, not yet in Parquet, wait for the next start. */
const JOURNAL_LEFT =
  /; left unfinished: the offline store's flush \([\d,]+ rows? not yet in Parquet, kept in its journal: the next start writes them\)\n$/;

describe('a signal while the embedded store of a command is still opening', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    'skewless audit, %s: store.lock released, one line, exit %i',
    async (signal, code) => {
      const quit = await signalWhileOpening(
        `audit-${signal}`,
        (dataDir) => ['audit', '--data-dir', dataDir],
        signal
      );
      expect(quit.code, quit.output).toBe(code);
      expect(existsSync(quit.lock)).toBe(false);
      expect(quit.output).toMatch(/^audit: interrupted: no report written; /);
      expect(quit.output).toMatch(JOURNAL_LEFT);
    },
    60_000
  );

  it('skewless backfill, SIGTERM: stops as on Ctrl-C (the drop at its first checkpoint), store.lock released, exit 143', async () => {
    const quit = await signalWhileOpening(
      'backfill-SIGTERM',
      (dataDir) => ['backfill', file, '--group', 'fraud-cards', '--data-dir', dataDir],
      'SIGTERM'
    );
    expect(quit.code, quit.output).toBe(143);
    expect(existsSync(quit.lock)).toBe(false);
    expect(quit.output).toContain(
      '\nbackfill: SIGTERM: stopping at the next checkpoint (Ctrl-C again quits at once)\n'
    );
    expect(quit.output).toMatch(
      /\nbackfill of backfill\/fraud-cards\/cards\.csv interrupted at a checkpoint: [\d,]+ rows written, 0 rejected so far; run the same command again to resume from there/
    );
  }, 60_000);

  it('skewless batch, Ctrl-C twice: quits at once, store.lock released, one line naming the journal, exit 130', async () => {
    const quit = await signalWhileOpening(
      'batch-SIGINT',
      (dataDir) => ['batch', file, '--group', 'fraud-cards', '--data-dir', dataDir],
      'SIGINT',
      // The second Ctrl-C once the first is taken, still during the journal's replay
      'stopping at the next checkpoint'
    );
    expect(quit.code, quit.output).toBe(130);
    expect(existsSync(quit.lock)).toBe(false);
    expect(quit.output).toMatch(/\nbatch: Ctrl-C again: exited without waiting; left unfinished: /);
    expect(quit.output).toMatch(JOURNAL_LEFT);
    // Nothing of the drop had begun: the line names no drop cut short
    expect(quit.output).not.toContain('cut short');
  }, 60_000);

  it('npm start, Ctrl-C twice: quits at once, store.lock released, one line naming the journal, exit 130', async () => {
    const quit = await signalWhileOpening(
      'start-SIGINT',
      (dataDir) => ['start', '--data-dir', dataDir, '--no-demo', ...FREE_PORTS],
      'SIGINT',
      'SIGINT during startup: stopping what has started'
    );
    expect(quit.code, quit.output).toBe(130);
    expect(existsSync(quit.lock)).toBe(false);
    expect(quit.output).toMatch(/\nSIGINT again: exited without waiting; left unfinished: /);
    expect(quit.output).toMatch(JOURNAL_LEFT);
  }, 60_000);

  it('skewless store, SIGTERM: stops once open, cleanly, store.lock released, exit 143', async () => {
    const quit = await signalWhileOpening(
      'store-SIGTERM',
      (dataDir) => ['store', '--port', '0', '--data-dir', join(dataDir, 'store')],
      'SIGTERM'
    );
    expect(quit.code, quit.output).toBe(143);
    expect(existsSync(quit.lock)).toBe(false);
    expect(quit.output).toContain('SIGTERM: stopping the feature store…\n');
    expect(quit.output).toMatch(/Skewless feature store on \S+ stopped\n$/);
  }, 60_000);
});

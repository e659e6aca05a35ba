/**
 * The commands that run the embedded store in their own process when no stack runs, quit without
 * their clean stop: `skewless batch` (and `backfill`, the same code) on a second Ctrl-C, `skewless
 * audit` on its Ctrl-C, `skewless store` on a second Ctrl-C. Each exits at once, but must not leave
 * `store.lock` behind, and says in one line what it left unfinished. Real child processes.
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliTestFile } from '../helpers/cliTestFile.ts';
import {
  exitCodeOf,
  heldRequest,
  outputMatching,
  portsFewerThan,
  portsListening,
  runCli,
  storeListening,
  writeCardsFile,
} from '../helpers/stackProcess.ts';

const { dir, spawn } = cliTestFile('force-quit-commands');
const dataDir = join(dir, 'data');
const lock = join(dataDir, 'store', 'store.lock');
const ROWS = 10_000;
const file = join(dir, 'nightly.csv');

describe('a command running the embedded store, quit without its clean stop', () => {
  it('skewless batch, Ctrl-C twice: store.lock released, one line naming the drop cut short and the rows in the journal; the same command resumes', async () => {
    // Prepare: a drop long enough to be under way when the Ctrl-Cs come (about 3 s)
    writeCardsFile(file, ROWS, 'fq');
    const args = ['batch', file, '--group', 'fraud-cards', '--data-dir', dataDir];
    const batch = spawn(args);
    const exited = exitCodeOf(batch);
    await outputMatching(batch, /batch: [\d,]+ rows read, [1-9][\d,]* written/);
    expect(existsSync(lock)).toBe(true);
    // Act: Ctrl-C, and again once the first is taken (two at once may arrive as one signal)
    batch.child.kill('SIGINT');
    await outputMatching(batch, /stopping at the next checkpoint/);
    batch.child.kill('SIGINT');
    // Assess
    expect(await exited, batch.output()).toBe(130);
    expect(existsSync(lock)).toBe(false);
    expect(batch.output()).toMatch(
      /\nbatch: Ctrl-C again: exited without waiting; left unfinished: the batch of batch\/fraud-cards\/nightly\.csv \(cut short: the same command run again resumes it from its last checkpoint\); the offline store's flush \([\d,]+ rows? not yet in Parquet, kept in its journal: the next start writes them\)\n/
    );
    // The same command resumes the drop and ends it
    const again = runCli([...args, '--no-progress']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain(
      'resuming the batch of batch/fraud-cards/nightly.csv (same content) from its checkpoint'
    );
    expect(again.stdout).toContain(`${ROWS.toLocaleString('en-US')} rows written, 0 rejected`);
  }, 90_000);

  it('skewless batch --dry-run, Ctrl-C twice: its scratch S3 directory is removed too', async () => {
    // Prepare: the file of the test above, read again as a dry run; its own temp dir, to look in
    const temp = mkdtempSync(join(dir, 'tmp-'));
    const dryRun = spawn(
      ['batch', file, '--group', 'fraud-cards', '--data-dir', dataDir, '--dry-run'],
      { env: { TMPDIR: temp } }
    );
    const exited = exitCodeOf(dryRun);
    await outputMatching(dryRun, /dry run: [\d,]+ rows read/);
    expect(
      readdirSync(temp).filter((name) => name.startsWith('skewless-batch-dry-run-'))
    ).toHaveLength(1);
    // Act
    dryRun.child.kill('SIGINT');
    await outputMatching(dryRun, /stopping at the next checkpoint/);
    dryRun.child.kill('SIGINT');
    // Assess
    expect(await exited, dryRun.output()).toBe(130);
    expect(readdirSync(temp).filter((name) => name.startsWith('skewless-batch-dry-run-'))).toEqual(
      []
    );
    expect(existsSync(lock)).toBe(false);
  }, 60_000);

  it('skewless backfill, Ctrl-C twice while it closes after the drop: store.lock released, one line, nothing named cut short', async () => {
    // Prepare: a small drop on its own data dir, and a request held open on each of its servers
    // (local S3, store) from the start, so that their close at the end waits its grace: the
    // window a Ctrl-C must still be handled in.
    const closing = join(dir, 'closing');
    const small = join(dir, 'small.csv');
    writeCardsFile(small, 200, 'closing');
    const backfill = spawn([
      'backfill',
      small,
      '--group',
      'fraud-cards',
      '--no-progress',
      '--data-dir',
      closing,
    ]);
    const exited = exitCodeOf(backfill);
    const ports = await portsListening(backfill, 2);
    const held = await Promise.all(
      ports.map((port) =>
        heldRequest(
          `http://127.0.0.1:${port}`,
          'PUT /held HTTP/1.1\r\nHost: x\r\ncontent-length: 1000\r\n\r\n{'
        )
      )
    );
    try {
      // Act: once the drop is over (its report copied out) and the command closes its servers:
      // the local S3, closed first, stops listening as its close starts; the request held on it
      // keeps that close open for its grace (2 s), the window of the Ctrl-Cs.
      await portsFewerThan(backfill, 2);
      expect(
        (readdirSync(join(closing, 'reports'), { recursive: true }) as string[]).some((f) =>
          f.endsWith('report.json')
        )
      ).toBe(true);
      backfill.child.kill('SIGINT');
      await outputMatching(backfill, 'backfill: finishing: closing the local S3 and the store');
      backfill.child.kill('SIGINT');
      // Assess
      expect(await exited, backfill.output()).toBe(130);
      expect(existsSync(join(closing, 'store', 'store.lock'))).toBe(false);
      expect(backfill.output()).toMatch(/\nbackfill: Ctrl-C again: exited without waiting; /);
      expect(backfill.output()).not.toContain('cut short');
    } finally {
      for (const socket of held) socket.destroy();
    }
  }, 60_000);

  it("skewless audit on the data dir's store, Ctrl-C: store.lock released, exit 130", async () => {
    // Prepare: the audit of the rows above opens the store and takes a second or more
    const audit = spawn(['audit', '--data-dir', dataDir]);
    const exited = exitCodeOf(audit);
    // Past the store's opening (its journal's replay), into the audit: the store listens.
    await portsListening(audit, 1);
    // Act
    audit.child.kill('SIGINT');
    // Assess
    expect(await exited, audit.output()).toBe(130);
    expect(existsSync(lock)).toBe(false);
    expect(audit.output()).toMatch(/^audit: interrupted: no report written(; .*)?\n$/);
  }, 60_000);

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    'skewless store, %s twice: store.lock released, one line naming the rows left in the journal, exit %i',
    async (signal, code) => {
      // Prepare: one row journalled (no flush before the stop), and a request whose body never
      // arrives, which holds the clean stop for its grace
      const store = spawn([
        'store',
        '--port',
        '0',
        '--data-dir',
        join(dataDir, 'store'),
        '--flush-interval',
        '86400000',
      ]);
      const exited = exitCodeOf(store);
      const endpoint = await storeListening(store);
      const put = runCli([
        'put',
        'fraud-cards',
        JSON.stringify({ card_id: 'card-store-quit', event_time: new Date().toISOString() }),
        '--endpoint',
        endpoint,
      ]);
      expect(put.status, put.stderr).toBe(0);
      const socket = await heldRequest(
        endpoint,
        'POST / HTTP/1.1\r\nHost: x\r\ncontent-length: 1000\r\n\r\n{"Feat'
      );
      try {
        // Act
        store.child.kill(signal);
        await outputMatching(store, `${signal}: stopping the feature store`);
        store.child.kill(signal);
        // Assess: 128 + the signal, as the other commands' forced quits
        expect(await exited, store.output()).toBe(code);
        expect(existsSync(lock)).toBe(false);
        expect(store.output()).toMatch(
          /\n(SIGINT|SIGTERM) again: exited without waiting; left unfinished: the offline store's flush \(1 row not yet in Parquet, kept in its journal: the next start writes them\)\n/
        );
      } finally {
        socket.destroy();
      }
    },
    60_000
  );
});

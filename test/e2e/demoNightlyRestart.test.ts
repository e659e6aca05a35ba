/**
 * `npm start` run again on the data dir of an earlier run, with the demo on: the demo's nightly
 * aggregates of the day are already in the store, and dropped again the batch function would add
 * the same rows offline at every start. A data dir whose store was wiped gets them again.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet';
import { afterAll, describe, expect, it } from 'vitest';
import {
  killProcess,
  type StackProcess,
  startStackProcess,
  stopStackProcess,
} from '../helpers/stackProcess.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'skewless-nightly-restart-'));
let running: StackProcess | undefined;

/** A start with the demo on (few events), stopped with Ctrl-C: its log. */
async function startAndStop(): Promise<string> {
  running = await startStackProcess(dataDir, [
    '--demo-rate',
    '5',
    '--demo-max-events',
    '1',
    '--flush-interval',
    '300',
    '--audit-interval',
    '3600',
  ]);
  const stack = running;
  // The stack's log with a failure: an exit without code is a signal that found no handler.
  expect(await stopStackProcess(stack), stack.output()).toBe(0);
  return running.output();
}

/** The fraud-cards offline rows on disk (the store flushes them on stop). */
async function cardOfflineRows(): Promise<number> {
  const dir = join(dataDir, 'store', 'offline-store');
  if (!existsSync(dir)) return 0;
  let rows = 0;
  for (const file of readdirSync(dir, { recursive: true }) as string[]) {
    if (!file.endsWith('.parquet') || !file.includes('fraud-cards-')) continue;
    const metadata = await parquetMetadataAsync(await asyncBufferFromFile(join(dir, file)));
    rows += Number(metadata.num_rows);
  }
  return rows;
}

afterAll(async () => {
  if (running !== undefined) await killProcess(running);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start again on an earlier run’s data dir, demo on: the nightly aggregates', () => {
  it('are not dropped again when the store holds them, and are when only the store was wiped', async () => {
    // The drop is the UTC day's: the two runs must fall on one day. Near midnight, wait for it
    // (at most the test's own ~15 s) rather than see the second run rightly drop the next day's.
    const untilMidnight = 86_400_000 - (Date.now() % 86_400_000);
    if (untilMidnight < 20_000)
      await new Promise((done) => setTimeout(done, untilMidnight + 1_000));
    // Prepare: a first run drops and applies the day's aggregates
    const first = await startAndStop();
    const afterFirst = await cardOfflineRows();
    // Act: a second run on the same data dir, then one after deleting only the store
    const second = await startAndStop();
    const afterSecond = await cardOfflineRows();
    rmSync(join(dataDir, 'store'), { recursive: true, force: true });
    const third = await startAndStop();
    const afterWipe = await cardOfflineRows();
    // Assess: the second run adds no offline row and says why; the wiped store gets the drop
    expect(first).toMatch(/\[demo\] nightly aggregates dropped and applied/);
    expect(afterFirst).toBeGreaterThan(0);
    expect(afterSecond).toBe(afterFirst);
    expect(second).toMatch(
      /\[demo\] nightly aggregates of \d{4}-\d{2}-\d{2} already applied \(from an earlier run on this data dir\): not dropped again/
    );
    expect(second).not.toMatch(/nightly aggregates dropped/);
    expect(third).toMatch(/\[demo\] nightly aggregates dropped and applied/);
    expect(afterWipe).toBe(afterFirst);
  }, 60_000);
});

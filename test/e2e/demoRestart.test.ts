/**
 * `npm start` run again on the data dir of an earlier run, with the demo on: the demo's named
 * first payment (`txn-demo-0001`, the one the banner's commands look up) is already in the store.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_TRANSACTION_ID } from '../../local/demo/producer.ts';
import { type StackProcess, startStackProcess, stopStackProcess } from '../helpers/stackProcess.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'skewless-demo-restart-'));
const start = () =>
  startStackProcess(dataDir, [
    '--demo-rate',
    '5',
    '--demo-max-events',
    '20',
    '--flush-interval',
    '300',
    '--audit-interval',
    '3600',
  ]);
let running: StackProcess | undefined;

async function demoPayment(stack: StackProcess): Promise<unknown> {
  const response = await fetch(
    `${stack.endpoints.api}/feature-groups/fraud-transactions/records/${DEMO_TRANSACTION_ID}`
  );
  expect(response.status).toBe(200);
  return response.json();
}

/** The identifiers the ingest dead-lettered (`<data dir>/dead-letters/ingest-<date>.jsonl`). */
function deadLetteredIds(): string[] {
  const dir = join(dataDir, 'dead-letters');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.startsWith('ingest-2') && f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
    .filter((line) => line.trim() !== '')
    .map(
      (line) => (JSON.parse(line) as { recordIdentifier: string | null }).recordIdentifier ?? ''
    );
}

afterAll(() => {
  if (running !== undefined && running.child.exitCode === null) running.child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start again on an earlier run’s data dir, demo on', () => {
  it('does not send the demo’s first payment again: nothing dead-lettered for it, the earlier one still served', async () => {
    // Prepare: a first run, stopped with Ctrl-C (the stream drains)
    running = await start();
    const before = await demoPayment(running);
    expect(await stopStackProcess(running)).toBe(0);
    // Act: the second run, stopped the same way
    running = await start();
    const after = await demoPayment(running);
    expect(await stopStackProcess(running)).toBe(0);
    // Assess: the ingest dead-lettered no second txn-demo-0001 (an id names one event); the
    // banner's commands answer with the earlier run's payment, and the log says why
    expect(deadLetteredIds()).not.toContain(DEMO_TRANSACTION_ID);
    expect(after).toEqual(before);
    expect(running.output()).toMatch(
      /\[demo\] txn-demo-0001 is from an earlier run on this data dir \(event time [^)]+\): not sent again/
    );
  }, 60_000);
});

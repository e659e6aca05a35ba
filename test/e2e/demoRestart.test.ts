/**
 * `npm start` run again on the data dir of an earlier run, with the demo on: the demo's named
 * first payment (`txn-demo-0001`, the one the banner's commands look up) is already in the store.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, describe, expect, it } from 'vitest';
import { PaymentsGenerator } from '../../local/demo/paymentsGenerator.ts';
import { DEMO_TRANSACTION_ID, demoFirstPayment } from '../../local/demo/producer.ts';
import { createLocalKinesisClient } from '../../local/kinesis/localKinesis.ts';
import {
  killProcess,
  poll,
  type StackProcess,
  startStackProcess,
  stopStackProcess,
} from '../helpers/stackProcess.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'skewless-demo-restart-'));
const staleDataDir = mkdtempSync(join(tmpdir(), 'skewless-demo-restart-stale-'));
const DEMO_ARGS = ['--demo-rate', '5', '--demo-max-events', '20'];
/** A stack on `dir`, the demo on with `DEMO_ARGS`, or off with `['--no-demo']`. */
const start = (dir = dataDir, demo: readonly string[] = DEMO_ARGS) =>
  startStackProcess(dir, [...demo, '--flush-interval', '300', '--audit-interval', '3600']);
let running: StackProcess | undefined;

async function demoPayment(stack: StackProcess): Promise<unknown> {
  const response = await fetch(
    `${stack.endpoints.api}/feature-groups/fraud-transactions/records/${DEMO_TRANSACTION_ID}`
  );
  expect(response.status).toBe(200);
  return response.json();
}

/** The banner's vectors command (README "try-it"), as a newcomer pastes it. */
async function demoVector(
  stack: StackProcess
): Promise<{ featureNames: string[]; values: unknown[]; stale: string[] }> {
  const response = await fetch(`${stack.endpoints.api}/feature-sets/fraud_model_v3/vectors`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      entities: [
        { transaction_id: DEMO_TRANSACTION_ID, card_id: 'card-0001', merchant_id: 'merchant-001' },
      ],
    }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as {
    featureNames: string[];
    vectors: { values: unknown[]; stale: string[] }[];
  };
  return { featureNames: body.featureNames, ...(body.vectors[0] ?? { values: [], stale: [] }) };
}

/** The identifiers the ingest dead-lettered (`<data dir>/dead-letters/ingest-<date>.jsonl`). */
function deadLetteredIds(root = dataDir): string[] {
  const dir = join(root, 'dead-letters');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.startsWith('ingest-2') && f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
    .filter((line) => line.trim() !== '')
    .map(
      (line) => (JSON.parse(line) as { recordIdentifier: string | null }).recordIdentifier ?? ''
    );
}

afterAll(async () => {
  if (running !== undefined) await killProcess(running);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(staleDataDir, { recursive: true, force: true });
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

  it('more than an hour after that payment: the log says the vectors command will list its features as stale, and it does', async () => {
    // Prepare: a data dir whose store holds the demo's first payment made 2 hours ago (an earlier
    // run's, through the stream and the ingest as the demo sends it)
    running = await start(staleDataDir, ['--no-demo']);
    const earlier = running;
    const kinesis = createLocalKinesisClient(earlier.endpoints.kinesis);
    const payment = demoFirstPayment(new PaymentsGenerator(), Date.now() - 2 * 3_600_000);
    await kinesis.send(
      new PutRecordsCommand({
        StreamName: earlier.endpoints.streamName,
        Records: [{ PartitionKey: payment.card_id, Data: Buffer.from(JSON.stringify(payment)) }],
      })
    );
    kinesis.destroy();
    await poll('the earlier payment served', async () =>
      (await fetch(
        `${earlier.endpoints.api}/feature-groups/fraud-transactions/records/${DEMO_TRANSACTION_ID}`
      ).then((r) => r.status)) === 200
        ? true
        : undefined
    );
    expect(await stopStackProcess(earlier), earlier.output()).toBe(0);
    // Act: started again with the demo, and the banner's vectors command
    running = await start(staleDataDir, DEMO_ARGS);
    const vector = await demoVector(running);
    expect(await stopStackProcess(running), running.output()).toBe(0);
    // Assess: the log warns in plain words, and the answer is what it says: the payment's 7
    // features are there, each listed under "stale"; nothing dead-lettered for the id
    expect(running.output()).toMatch(
      /\[demo\] WARN txn-demo-0001 is from an earlier run on this data dir \(event time [^,]+, 2\.0h old\): not sent again \(an id names one payment\)\. It is past the max age of fraud-transactions in fraud_model_v3 \(1 hour\): the vectors command below lists its 7 fraud-transactions features under "stale" \(their values still returned\); for a fresh one, start on an empty data dir \(--data-dir <new dir>\)/
    );
    const transactionFeatures = vector.featureNames.filter((n) =>
      n.startsWith('fraud-transactions.')
    );
    expect(transactionFeatures).toHaveLength(7);
    expect(vector.stale).toEqual(transactionFeatures);
    for (const name of transactionFeatures) {
      expect(vector.values[vector.featureNames.indexOf(name)], name).not.toBeNull();
    }
    expect(deadLetteredIds(staleDataDir)).not.toContain(DEMO_TRANSACTION_ID);
  }, 90_000);
});

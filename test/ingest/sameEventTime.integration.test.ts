/**
 * Two records of one identifier at the same event time in one Kinesis batch (a streaming job
 * re-emitting a window's aggregates with the same window end): the store keeps the last write it
 * receives at an equal event time, so the pipeline must deliver them in stream order even when the
 * earlier one's call is slow or its entry is throttled. Real SDK against the embedded store; the
 * faults are injected into the ingest runtime's client; derived features on (the deployed
 * default: fraud-cards is not a derived source group, so both paths are the pipeline's).
 */
import {
  BatchWriteRecordCommand,
  type BatchWriteRecordCommandInput,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { KinesisStreamRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cards } from '../../shared/definitions.ts';
import { ingestWithDerivedFeatures } from '../../shared/ingest/derived.ts';
import { getOnlineRecord } from '../../shared/store/onlineReader.ts';
import { createDeploymentGroups, ingestRuntime, type TestRuntime } from '../derived/harness.ts';
import { driveLikeLambda, jsonRecord } from '../helpers/kinesisEvents.ts';
import { offlineRows } from '../helpers/offlineRows.ts';
import { startTestStore, type TestStore } from '../helpers/store.ts';

let test: TestStore;

beforeAll(async () => {
  test = await startTestStore();
  await createDeploymentGroups(test.sagemaker);
});
afterAll(async () => {
  await test?.close();
});

/** A fraud-cards envelope: the card's 7-day count at `eventTime`. */
function cardUpdate(cardId: string, eventTime: string, count: number): KinesisStreamRecord {
  return jsonRecord({
    featureGroup: 'fraud-cards',
    record: { card_id: cardId, event_time: eventTime, txn_count_7d: count },
  });
}

/** The batch: the card's first value, 30 other cards (a second BatchWriteRecord call), its update. */
function batchOf(cardId: string, eventTime: string): KinesisStreamRecord[] {
  return [
    cardUpdate(cardId, eventTime, 1),
    ...Array.from({ length: 30 }, (_, i) => cardUpdate(`${cardId}-other-${i}`, eventTime, 0)),
    cardUpdate(cardId, eventTime, 2),
  ];
}

/** Whether a BatchWriteRecord call carries an entry of `cardId` with txn_count_7d = `count`. */
function carries(command: unknown, cardId: string, count: number): boolean {
  if (!(command instanceof BatchWriteRecordCommand)) return false;
  const input = command.input as BatchWriteRecordCommandInput;
  return (input.Entries ?? []).some(
    (entry) =>
      entry.Record?.some((v) => v.FeatureName === 'card_id' && v.ValueAsString === cardId) &&
      entry.Record?.some((v) => v.FeatureName === 'txn_count_7d' && v.ValueAsString === `${count}`)
  );
}

/** Wraps the runtime client's send: `fault` may answer a call instead of the store. */
function inject(
  tr: TestRuntime,
  fault: (command: unknown, send: () => Promise<unknown>) => Promise<unknown> | undefined
): void {
  const original = tr.client.send.bind(tr.client);
  tr.client.send = ((command: unknown, options?: unknown) => {
    const send = () => original(command as never, options as never);
    return fault(command, send) ?? send();
  }) as typeof tr.client.send;
}

async function latest(cardId: string) {
  await test.store.flush();
  const online = await getOnlineRecord(test.runtime, cards, cardId, undefined);
  const rows = (await offlineRows(test.store.offlineDataPath('fraud-cards')))
    .filter((r) => r.card_id === cardId)
    .sort((a, b) => Number(b.api_invocation_time) - Number(a.api_invocation_time));
  return { online: online?.values.txn_count_7d, offline: rows[0]?.txn_count_7d };
}

describe('Ingest: two records of one identifier at the same event time in one batch', () => {
  it('keeps the later one in both stores when the earlier one is written by a slower call', async () => {
    // Prepare: the call carrying the first value answers 200 ms late.
    const tr = ingestRuntime(test.store.endpoint);
    inject(tr, (command, send) =>
      carries(command, 'card-slow', 1)
        ? new Promise((done) => setTimeout(done, 200)).then(send)
        : undefined
    );
    const eventTime = new Date(Date.now() - 60_000).toISOString();
    // Act
    const response = await ingestWithDerivedFeatures(
      { Records: batchOf('card-slow', eventTime) },
      tr.runtime
    );
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(await latest('card-slow')).toEqual({ online: 2n, offline: 2n });
  });

  it('reports the later one with the earlier one when that is throttled, and ends with the later value after the redelivery', async () => {
    // Prepare: the first delivery's entry of the first value is throttled (one attempt, so it
    // is reported for a retry); the redelivery goes through.
    const tr = ingestRuntime(test.store.endpoint, { maxAttempts: 1 });
    let throttled = 0;
    inject(tr, (command) => {
      if (!carries(command, 'card-throttled', 1) || throttled++ > 0) return undefined;
      return Promise.reject(
        Object.assign(new Error('Rate exceeded'), {
          name: 'ThrottlingException',
          $metadata: { httpStatusCode: 429 },
        })
      );
    });
    const eventTime = new Date(Date.now() - 60_000).toISOString();
    const records = batchOf('card-throttled', eventTime);
    // Act
    const stats = await driveLikeLambda(
      (event) => ingestWithDerivedFeatures(event, tr.runtime),
      new Map([['shardId-000000000000', records]]),
      { batchSize: 100, maxInvocationsPerShard: 5 }
    );
    // Assess: one redelivery, and the stream's later value wins in both stores.
    expect(stats.invocations).toBe(2);
    expect(await latest('card-throttled')).toEqual({ online: 2n, offline: 2n });
  });
});

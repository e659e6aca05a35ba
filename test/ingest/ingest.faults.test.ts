/**
 * Zero loss under faults: 10,000 records through the bundled handler, driven the way the Lambda
 * event source mapping drives it (per-shard order, retry from the lowest reported sequence
 * number), while the embedded store throttles 20 % and fails 5 % of requests with 5xx. Every
 * record must end up online with its value or dead-lettered with a reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transactions } from '../../shared/definitions.ts';
import { batchGetOnline } from '../../shared/store/onlineReader.ts';
import { driveLikeLambda, jsonData, shardRecords, transaction } from '../helpers/kinesisEvents.ts';
import { offlineRows } from '../store/duck.ts';
import { type IngestFixture, startIngestFixture } from './fixture.ts';

const SHARDS = 4;
const RECORDS_PER_SHARD = 2_500;
/** Every 100th record is bad, of a rotating kind. */
const BAD_EVERY = 100;
const BAD_PAYLOADS = [
  () => Buffer.from('not json').toString('base64'),
  () => jsonData({ featureGroup: 'fraud-devices', record: {} }),
  () => jsonData(transaction('bad', { amount: 'NaN' })),
  () => '%%%',
];

let fx: IngestFixture;

beforeAll(async () => {
  fx = await startIngestFixture({
    INGEST_CONCURRENCY: '32',
    // With 25 % of requests failing, 3 attempts leave 1.6 % of writes failed, and each failure
    // replays the rest of its batch (the writes in flight behind it are repeated): on a shared
    // two-core machine the test would spend minutes rewriting. 5 attempts leave ~0.1 %, which
    // still makes Lambda retry batches a dozen times or so (asserted below).
    INGEST_MAX_ATTEMPTS: '5',
    // The SDK's standard delays (1 s base for throttling) would make this test minutes long;
    // the retry logic under test is the same.
    INGEST_RETRY_BASE_DELAY_MS: '5',
  });
});
afterAll(async () => {
  await fx?.close();
});

describe('Ingest function (bundled) under store faults', () => {
  it('accounts for every one of 10,000 records with 20% throttling and 5% 5xx: zero lost', {
    timeout: 300_000,
  }, async () => {
    // Prepare
    const eventTime = new Date(Date.now() - 60_000).toISOString();
    const expected = new Map<string, number>();
    const badSequenceNumbers = new Set<string>();
    const shards = new Map(
      Array.from({ length: SHARDS }, (_, s) => {
        const shardId = `shardId-00000000000${s}`;
        const payloads = Array.from({ length: RECORDS_PER_SHARD }, (_, i) => {
          if (i % BAD_EVERY === BAD_EVERY - 1)
            return (BAD_PAYLOADS[i % BAD_PAYLOADS.length] as () => string)();
          const id = `fault-${s}-${i}`;
          expected.set(id, s * 10_000 + i + 0.5);
          return jsonData(transaction(id, { amount: s * 10_000 + i + 0.5, event_time: eventTime }));
        });
        const records = shardRecords(shardId, payloads, (i) => `card-${i % 50}`);
        records.forEach((r, i) => {
          if (i % BAD_EVERY === BAD_EVERY - 1) badSequenceNumbers.add(r.kinesis.sequenceNumber);
        });
        return [shardId, records] as const;
      })
    );
    fx.store.store.setFaults({ throttle: 0.2, serverError: 0.05, seed: 20_260_401 });
    // Act
    const stats = await driveLikeLambda(fx.handler, shards, {
      batchSize: 500,
      maxInvocationsPerShard: 400,
    });
    fx.store.store.setFaults({});
    await fx.store.store.flush();
    // Assess: the mapping got through every shard, and had to retry.
    expect(stats.stuckShards).toEqual([]);
    expect(stats.retries).toBeGreaterThan(0);
    // Every good record is online with its value.
    const read = await batchGetOnline(fx.store.runtime, [
      { group: transactions, recordIds: [...expected.keys()] },
    ]);
    expect(read.unprocessed).toEqual([]);
    expect(read.notFound).toEqual([]);
    expect(read.found).toHaveLength(expected.size);
    const wrong = read.found.filter((f) => f.values.amount !== expected.get(f.recordId));
    expect(wrong).toEqual([]);
    // Every bad record is dead-lettered with a reason (possibly more than once: replays).
    const letters = fx.deadLetters();
    expect(new Set(letters.map((l) => l.kinesis.sequenceNumber))).toEqual(badSequenceNumbers);
    expect(letters.every((l) => l.reason.length > 0 && l.payload.data.length > 0)).toBe(true);
    // And every good record reached the offline store too.
    const offline = await offlineRows(fx.store.store.offlineDataPath('fraud-transactions'));
    const offlineIds = new Set(offline.map((r) => String(r.transaction_id)));
    expect([...expected.keys()].filter((id) => !offlineIds.has(id))).toEqual([]);
    console.info(
      `faults: ${SHARDS * RECORDS_PER_SHARD} records, ${stats.invocations} invocations, ${stats.retries} retried batches, ${stats.deliveries} deliveries, ${letters.length} dead letters for ${badSequenceNumbers.size} bad records, ${offline.length} offline rows`
    );
  });
});

/**
 * Zero loss under faults: 10,000 records through the bundled handler, driven the way the Lambda
 * event source mapping drives it (per-shard order, retry from the lowest reported sequence
 * number), while the embedded store throttles 20 % and fails 5 % of requests with 5xx. Every
 * record must end up online with its value or dead-lettered with a reason. Run twice: the
 * pipeline alone (DERIVED_FEATURES=off) and the deployed default (derived features on, with
 * realistic card reuse: 50 cards per shard, so every batch carries state reads and writes), where
 * the checkpoint must advance at every invocation and no invocation may end in a function error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transactions } from '../../shared/definitions.ts';
import { batchGetOnline } from '../../shared/store/onlineReader.ts';
import { driveLikeLambda, jsonData, shardRecords, transaction } from '../helpers/kinesisEvents.ts';
import { offlineRows } from '../helpers/offlineRows.ts';
import { type UnansweredEntry, watchUnansweredWrites } from '../helpers/unansweredWrites.ts';
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

describe.each([
  ['off', 'the pipeline alone'],
  ['on', 'derived features on (the deployed default)'],
])('Ingest function (bundled) under store faults, DERIVED_FEATURES=%s: %s', (derived) => {
  let fx: IngestFixture;

  beforeAll(async () => {
    fx = await startIngestFixture({
      DERIVED_FEATURES: derived,
      INGEST_CONCURRENCY: '32',
      // INGEST_MAX_ATTEMPTS stays at its default (3): with 25 % of requests failing, ~1.6 % of
      // BatchWriteRecord calls still fail after the SDK's retries, so Lambda redelivers batches
      // (asserted below).
      // The SDK's standard delays (1 s base for throttling) would make this test minutes long;
      // the retry logic under test is the same.
      INGEST_RETRY_BASE_DELAY_MS: '5',
    });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('accounts for every one of 10,000 records with 20% throttling and 5% 5xx: zero lost', {
    timeout: 300_000,
  }, async () => {
    // Prepare
    // Each shard's payments 100 ms apart, ending a minute ago (cards see ~50 payments each).
    const start = Date.now() - 60_000 - RECORDS_PER_SHARD * 100;
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
          return jsonData(
            transaction(id, {
              amount: s * 10_000 + i + 0.5,
              event_time: new Date(start + i * 100).toISOString(),
              card_id: `card-${s}-${i % 50}`,
            })
          );
        });
        const records = shardRecords(shardId, payloads, (i) => `card-${s}-${i % 50}`);
        records.forEach((r, i) => {
          if (i % BAD_EVERY === BAD_EVERY - 1) badSequenceNumbers.add(r.kinesis.sequenceNumber);
        });
        return [shardId, records] as const;
      })
    );
    fx.store.store.setFaults({ throttle: 0.2, serverError: 0.05, seed: 20_260_401 });
    const unanswered = watchUnansweredWrites();
    // Act
    const stats = await driveLikeLambda(fx.handler, shards, {
      batchSize: 500,
      maxInvocationsPerShard: 40,
    }).finally(() => unanswered.stop());
    fx.store.store.setFaults({});
    await fx.store.store.flush();
    // Assess: the mapping got through every shard, and had to retry.
    expect(stats.stuckShards).toEqual([]);
    expect(stats.retries).toBeGreaterThan(0);
    expect(stats.functionErrors).toBe(0);
    // The checkpoint moves at nearly every invocation: a stall needs the call that carries the
    // batch's first record (its write, or with derived features its card's state read or write)
    // to fail all 3 attempts, ~1.6 % per call, a few % per invocation. The former entity rule
    // stalled most invocations (370 invocations for 408 records of a shard).
    expect(stats.stalledInvocations).toBeLessThanOrEqual(Math.ceil(stats.invocations / 4));
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
    // Exactly once: a redelivered record this container already wrote is not written again. Save
    // where the store may have written a call whose answer never came (the 5 s request timeout
    // passes on a loaded machine): the retry writes its records again, the at-least-once row of
    // docs/ingest.md. Such a row repeats its record's values, and a record has at most one per
    // unanswered call that carried it; a record written twice otherwise is a defect.
    const duplicates = extraOfflineRows(offline, unanswered.entries());
    expect(duplicates.unexplained).toEqual([]);
    expect(duplicates.differing).toEqual([]);
    if (unanswered.calls() === 0) expect(offline).toHaveLength(expected.size);
    const lost = SHARDS * RECORDS_PER_SHARD - read.found.length - badSequenceNumbers.size;
    console.info(
      `faults (DERIVED_FEATURES=${derived}): ${SHARDS * RECORDS_PER_SHARD} records, ${stats.invocations} invocations (${stats.retries} retried batches, ${stats.stalledInvocations} without checkpoint progress), ${stats.functionErrors} function errors, ${stats.deliveries} deliveries; ${read.found.length} online, ${badSequenceNumbers.size} dead-lettered (${letters.length} dead letters), ${lost} lost; ${offline.length} offline rows (${duplicates.rows} repeated after ${unanswered.calls()} unanswered calls)`
    );
    expect(lost).toBe(0);
    if (derived === 'on') {
      // Derived values are there: every record carries its card's 60 s count.
      expect(read.found.every((f) => Number(f.values.card_txn_count_60s) >= 1)).toBe(true);
    }
  });
});

/** Written by the store itself, different in every row of a record. */
const WRITE_METADATA = new Set(['api_invocation_time', 'write_time']);

/** A row's record values: every column but the write metadata. */
function recordValues(row: Record<string, unknown>): string {
  const values = Object.entries(row).filter(([column]) => !WRITE_METADATA.has(column));
  return JSON.stringify(values, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * The offline rows of `fraud-transactions` beyond one per transaction: how many, the ids with
 * more of them than unanswered calls carried the id (`unexplained`), and the ids whose rows are
 * not one record repeated (`differing`).
 */
function extraOfflineRows(
  offline: readonly Record<string, unknown>[],
  unanswered: readonly UnansweredEntry[]
): { rows: number; unexplained: string[]; differing: string[] } {
  const unansweredSends = new Map<string, number>();
  for (const entry of unanswered) {
    const id = entry.values[transactions.recordIdentifier];
    if (entry.group !== transactions.name || id === undefined) continue;
    unansweredSends.set(id, (unansweredSends.get(id) ?? 0) + 1);
  }
  const rowsById = Map.groupBy(offline, (row) => String(row[transactions.recordIdentifier]));
  const extra = [...rowsById].filter(([, rows]) => rows.length > 1);
  return {
    rows: offline.length - rowsById.size,
    unexplained: extra
      .filter(([id, rows]) => rows.length - 1 > (unansweredSends.get(id) ?? 0))
      .map(
        ([id, rows]) =>
          `${id}: ${rows.length} rows, ${unansweredSends.get(id) ?? 0} unanswered calls`
      ),
    differing: extra
      .filter(([, rows]) => new Set(rows.map(recordValues)).size > 1)
      .map(([id]) => id),
  };
}

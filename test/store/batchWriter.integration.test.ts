/**
 * The BatchWriteRecord writer through the real AWS SDK over HTTP against the embedded store, with
 * the store's fault injection: per-entry throttling (`Errors` items), `UnprocessedEntries`, and
 * whole-call throttling / 5xx. Every entry ends written, rejected or retry; what is reported
 * written is in both stores exactly once, what is reported retry is in neither, and a second pass
 * over the retries completes the set with no duplicate offline row.
 */
import {
  GetRecordCommand,
  SageMakerFeatureStoreRuntimeClient,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFeatureGroups } from '../../local/setup/ensureFeatureGroups.ts';
import { cards } from '../../shared/definitions.ts';
import { type EncodedRecord, toRecord } from '../../shared/record/codec.ts';
import { featureStoreRetryStrategy } from '../../shared/runtime/clients.ts';
import { type BatchWriteEntry, writeBatch } from '../../shared/store/batchWriter.ts';
import { offlineRows } from '../helpers/offlineRows.ts';
import { startTestStore, type TestStore } from '../helpers/store.ts';

let t: TestStore;
let client: SageMakerFeatureStoreRuntimeClient;

beforeAll(async () => {
  t = await startTestStore();
  await ensureFeatureGroups(t.sagemaker, [cards], {
    offlineS3Uri: 's3://local-bucket/offline',
    roleArn: 'arn:aws:iam::000000000000:role/feature-store',
  });
  client = new SageMakerFeatureStoreRuntimeClient({
    endpoint: t.store.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    retryStrategy: featureStoreRetryStrategy({ maxAttempts: 3, retryBaseDelayMs: 2 }),
  });
});

afterAll(async () => {
  client?.destroy();
  await t?.close();
});

function card(i: number, eventTime: string): EncodedRecord {
  return toRecord(cards, {
    card_id: `bw-${i}`,
    event_time: eventTime,
    txn_count_7d: i,
  } as never);
}

/** A record the schema module would never produce: the store rejects it (unknown feature). */
function invalid(i: number, eventTime: string): EncodedRecord {
  const good = card(i, eventTime);
  return {
    ...good,
    record: [...good.record, { FeatureName: 'not_a_feature', ValueAsString: 'x' }],
  };
}

describe('writeBatch against the embedded store', () => {
  it('mixes written, rejected and unprocessed entries; a second pass completes with no duplicates', async () => {
    const eventTime = new Date().toISOString();
    const total = 500;
    const entries: BatchWriteEntry<number>[] = Array.from({ length: total }, (_, i) => ({
      ref: i,
      record: i % 50 === 7 ? invalid(i, eventTime) : card(i, eventTime),
    }));
    t.store.setFaults({ entryThrottle: 0.3, entryUnprocessed: 0.3, throttle: 0.1, seed: 11 });
    const first = await writeBatch(client, entries, { concurrency: 4 });
    t.store.setFaults({});

    const by = (s: string) => first.filter((o) => o.status === s);
    const isInvalid = (ref: number) => ref % 50 === 7;
    // No invalid entry is ever written; some are rejected at once, the ones faulted in every
    // attempt end as retry like any other faulted entry.
    expect(by('written').some((o) => isInvalid(o.ref))).toBe(false);
    expect(by('rejected').every((o) => isInvalid(o.ref))).toBe(true);
    expect(by('rejected').length).toBeGreaterThan(0);
    expect(by('rejected')[0]).toMatchObject({ code: 'ValidationError' });
    expect((by('rejected')[0] as { message: string }).message).toMatch(/not_a_feature/);
    // With 60 % of entries faulted per attempt and 3 attempts, some end as retry, most are written.
    const retry = by('retry');
    expect(retry.length).toBeGreaterThan(0);
    expect(by('written').length).toBeGreaterThan(total / 2);
    expect(first.every((o, i) => o.ref === i)).toBe(true);

    // What is reported retry was not written: GetRecord finds nothing.
    for (const o of retry.slice(0, 20)) {
      const got = await client.send(
        new GetRecordCommand({
          FeatureGroupName: cards.name,
          RecordIdentifierValueAsString: o.record.recordIdentifier,
        })
      );
      expect(got.Record).toBeUndefined();
    }

    // Second pass over the retries, faults off: every entry ends written or (invalid) rejected.
    const again = await writeBatch(
      client,
      retry.map((o) => ({ ref: o.ref, record: o.record }))
    );
    for (const o of again) expect(o.status).toBe(isInvalid(o.ref) ? 'rejected' : 'written');

    await t.store.flush();
    const rows = await offlineRows(t.store.offlineDataPath(cards.name));
    const ids = rows.map((r) => String(r.card_id));
    const valid = entries.filter((_, i) => i % 50 !== 7).map((e) => e.record.recordIdentifier);
    expect(ids.length).toBe(valid.length);
    expect(new Set(ids)).toEqual(new Set(valid));
  });

  it('writes offline only when TargetStores says so', async () => {
    const eventTime = new Date().toISOString();
    const [outcome] = await writeBatch(client, [
      { ref: 'offline', record: card(9_999, eventTime), targetStores: ['OfflineStore'] },
    ]);
    expect(outcome?.status).toBe('written');
    const got = await client.send(
      new GetRecordCommand({
        FeatureGroupName: cards.name,
        RecordIdentifierValueAsString: 'bw-9999',
      })
    );
    expect(got.Record).toBeUndefined();
    await t.store.flush();
    const rows = await offlineRows(t.store.offlineDataPath(cards.name));
    expect(rows.filter((r) => r.card_id === 'bw-9999')).toHaveLength(1);
  });
});

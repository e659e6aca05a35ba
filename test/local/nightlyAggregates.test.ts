import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutRecordCommand } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { PaymentsGenerator } from '../../local/demo/paymentsGenerator.ts';
import {
  type NightlyFile,
  nightlyAggregatesApplied,
  nightlyEventTime,
  scheduleNightlyAggregates,
} from '../../local/demo/seedAggregates.ts';
import { ensureFeatureGroups } from '../../local/setup/ensureFeatureGroups.ts';
import { cards, merchants } from '../../shared/definitions.ts';
import { toRecord } from '../../shared/record/codec.ts';
import type { FeatureGroup } from '../../shared/schema/index.ts';
import { startTestStore, type TestStore } from '../helpers/store.ts';

const DAY_MS = 86_400_000;
const s3Mock = mockClient(S3Client);

describe('scheduleNightlyAggregates', () => {
  // The stack started 30 minutes before the next midnight UTC of today's date.
  const nextMidnight = (Math.floor(Date.now() / DAY_MS) + 1) * DAY_MS;
  const started = nextMidnight - 30 * 60_000;
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

  beforeEach(() => {
    s3Mock.reset();
    s3Mock.on(PutObjectCommand).resolves({});
    vi.useFakeTimers({ now: started, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const keys = () => s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key);

  it('drops the aggregates at every following midnight UTC, dated that midnight, until stopped', async () => {
    // Prepare
    const dropped: NightlyFile[][] = [];
    const stop = scheduleNightlyAggregates({
      s3: new S3Client({ region: 'us-east-1' }),
      bucket: 'skewless-backfill',
      generator: new PaymentsGenerator({ seed: 1 }),
      onDropped: (files) => dropped.push([...files]),
    });
    // Act: one minute before midnight nothing; at midnight the first night, a day later the next
    await vi.advanceTimersByTimeAsync(29 * 60_000);
    const beforeMidnight = keys();
    await vi.advanceTimersByTimeAsync(60_000);
    const firstNight = keys();
    await vi.advanceTimersByTimeAsync(DAY_MS);
    stop();
    await vi.advanceTimersByTimeAsync(3 * DAY_MS);
    // Assess
    expect(beforeMidnight).toEqual([]);
    expect(firstNight).toEqual([
      `batch/fraud-cards/nightly-${day(nextMidnight)}.parquet`,
      `batch/fraud-merchants/nightly-${day(nextMidnight)}.parquet`,
    ]);
    expect(keys()).toEqual([
      ...firstNight,
      `batch/fraud-cards/nightly-${day(nextMidnight + DAY_MS)}.parquet`,
      `batch/fraud-merchants/nightly-${day(nextMidnight + DAY_MS)}.parquet`,
    ]);
    expect(dropped.map((files) => files.map((f) => f.key))).toEqual([firstNight, keys().slice(2)]);
  });

  it('reports a night whose drop failed and drops again the next night', async () => {
    // Prepare: the first night's upload fails
    s3Mock.on(PutObjectCommand).rejectsOnce(new Error('SlowDown')).resolves({});
    const errors: unknown[] = [];
    const stop = scheduleNightlyAggregates({
      s3: new S3Client({ region: 'us-east-1' }),
      bucket: 'skewless-backfill',
      generator: new PaymentsGenerator({ seed: 1 }),
      onError: (error) => errors.push(error),
    });
    // Act
    await vi.advanceTimersByTimeAsync(30 * 60_000 + DAY_MS);
    stop();
    // Assess
    expect(errors.map((e) => (e as Error).message)).toEqual(['SlowDown']);
    expect(keys().slice(-2)).toEqual([
      `batch/fraud-cards/nightly-${day(nextMidnight + DAY_MS)}.parquet`,
      `batch/fraud-merchants/nightly-${day(nextMidnight + DAY_MS)}.parquet`,
    ]);
  });
});

describe('nightlyAggregatesApplied (a start on a kept data dir does not drop the day again)', () => {
  const generator = new PaymentsGenerator({ seed: 1 });
  const now = new Date();
  const midnight = nightlyEventTime(now);
  let store: TestStore;

  beforeAll(async () => {
    store = await startTestStore();
    await ensureFeatureGroups(store.sagemaker, [cards, merchants], {
      offlineS3Uri: 's3://local-bucket/offline-store',
      roleArn: 'arn:aws:iam::000000000000:role/skewless-local-offline-store',
    });
  });
  afterAll(() => store.close());

  /** PutRecord of an identifier and event time only, as the drop (or `skewless put`) writes it. */
  async function put(group: FeatureGroup, ids: readonly string[], eventTime: Date): Promise<void> {
    for (const id of ids) {
      const input = { [group.recordIdentifier]: id, [group.eventTime]: eventTime.toISOString() };
      await store.runtime.send(
        new PutRecordCommand({
          FeatureGroupName: group.name,
          Record: toRecord(group, input).record,
        })
      );
    }
  }

  it('finds the day not applied in a store without its drop, and applied once the drop is in', async () => {
    // Act
    const before = await nightlyAggregatesApplied(store.runtime, generator, now);
    await put(cards, generator.cardIds, midnight);
    await put(merchants, generator.merchantIds, midnight);
    const after = await nightlyAggregatesApplied(store.runtime, generator, now);
    // Assess
    expect(before).toBe(false);
    expect(after).toBe(true);
  });

  it("still finds it applied after a newer put to the first card (the README's and put --help's example)", async () => {
    // Prepare: skewless put fraud-cards '{"card_id":"card-0001","event_time":<now>,…}'
    await put(cards, [generator.cardIds[0] as string], new Date(midnight.getTime() + 60_000));
    // Act
    const applied = await nightlyAggregatesApplied(store.runtime, generator, now);
    // Assess
    expect(applied).toBe(true);
  });
});

import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PaymentsGenerator } from '../../local/demo/paymentsGenerator.ts';
import { type NightlyFile, scheduleNightlyAggregates } from '../../local/demo/seedAggregates.ts';

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

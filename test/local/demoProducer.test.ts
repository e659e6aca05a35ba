import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DemoProducer, earlierFirstPaymentLine } from '../../local/demo/producer.ts';

const kinesisMock = mockClient(KinesisClient);

describe('Class: DemoProducer', () => {
  beforeEach(() => {
    kinesisMock.reset();
    kinesisMock.on(PutRecordsCommand).callsFake(async (input: { Records: unknown[] }) => ({
      FailedRecordCount: 0,
      Records: input.Records.map(() => ({ SequenceNumber: '1', ShardId: 'shardId-000000000000' })),
    }));
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stops at its max events and says once that the stream stops while the stack runs on', async () => {
    // Prepare
    const lines: string[] = [];
    const log = (message: unknown) => lines.push(String(message));
    const producer = new DemoProducer({
      client: new KinesisClient({ region: 'us-east-1' }),
      streamName: 'skewless-ingest',
      eventsPerSecond: 50,
      maxEvents: 25,
      logger: { debug: log, info: log, warn: log, error: log },
    });
    // Act: 10 s at 50 events/s would be 500 events
    producer.start();
    await vi.advanceTimersByTimeAsync(10_000);
    await producer.stop();
    // Assess
    const sent = producer.stats.sent;
    expect(sent).toBeGreaterThanOrEqual(25);
    expect(sent).toBeLessThan(25 + 11); // the first payment, then ticks of 10 events
    expect(lines).toEqual([
      `sent ${sent} events, its bound of 25 (--demo-max-events): the demo stream stops here while the stack keeps running, so the audit will report the payments' group not fresh`,
    ]);
  });
});

describe('earlierFirstPaymentLine (a restart on the data dir of an earlier run)', () => {
  const now = Date.now();
  const hoursAgo = (hours: number) => new Date(now - hours * 3_600_000).toISOString();

  it('past the max age (1 hour), says the vectors command lists its features as stale, and what to do', () => {
    const { stale, line } = earlierFirstPaymentLine(hoursAgo(2), now);
    expect(stale).toBe(true);
    expect(line).toBe(
      `txn-demo-0001 is from an earlier run on this data dir (event time ${hoursAgo(2)}, 2.0h old): not sent again (an id names one payment). It is past the max age of fraud-transactions in fraud_model_v3 (1 hour): the vectors command below lists its 7 fraud-transactions features under "stale" (their values still returned); for a fresh one, start on an empty data dir (--data-dir <new dir>)`
    );
  });

  it('within the max age, only that it is the earlier one', () => {
    const { stale, line } = earlierFirstPaymentLine(hoursAgo(0.5), now);
    expect(stale).toBe(false);
    expect(line).toBe(
      `txn-demo-0001 is from an earlier run on this data dir (event time ${hoursAgo(0.5)}, 30m old): not sent again (an id names one payment)`
    );
  });
});

import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type EventSourceMappingOptions,
  type FailedBatch,
  LocalKinesisEventSourceMapping,
} from '../../local/kinesis/eventSourceMapping.ts';
import { type LocalKinesis, startLocalKinesis } from '../../local/kinesis/localKinesis.ts';

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} } as never;

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const decode = (event: KinesisStreamEvent) =>
  event.Records.map(
    (r) => JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString()).n as number
  );

describe('Class: LocalKinesisEventSourceMapping', () => {
  let kinesis: LocalKinesis;
  let streamCounter = 0;

  beforeEach(async () => {
    streamCounter += 1;
    kinesis = await startLocalKinesis({
      port: 0,
      streamName: `esm-${streamCounter}`,
      shardCount: 1,
    });
  });
  afterEach(async () => {
    await kinesis.close();
  });

  async function produce(count: number): Promise<void> {
    await kinesis.client.send(
      new PutRecordsCommand({
        StreamName: kinesis.streamName,
        Records: Array.from({ length: count }, (_, n) => ({
          Data: Buffer.from(JSON.stringify({ n })),
          PartitionKey: 'k',
        })),
      })
    );
  }

  /** A mapping on this test's stream: batches of 10, a 10 ms window, quiet, failures ignored. */
  function mappingWith(
    options: Partial<EventSourceMappingOptions> & Pick<EventSourceMappingOptions, 'handler'>
  ): LocalKinesisEventSourceMapping {
    return new LocalKinesisEventSourceMapping({
      client: kinesis.client,
      streamName: kinesis.streamName,
      batchSize: 10,
      batchingWindowMs: 10,
      logger: quiet,
      onFailure: async () => {},
      ...options,
    });
  }

  it('delivers real-shape events in order and retries from the lowest reported failure', async () => {
    // Prepare: the handler fails record 3 of the first invocation once. It only records the
    // events: an expect failing inside it would be a handler error the mapping retries, and the
    // test would end by waitFor's timeout with the assertion's message lost.
    const events: KinesisStreamEvent[] = [];
    let failedOnce = false;
    const mapping = mappingWith({
      batchingWindowMs: 50,
      handler: async (event) => {
        events.push(event);
        if (!failedOnce) {
          failedOnce = true;
          return {
            batchItemFailures: [{ itemIdentifier: event.Records[3]?.kinesis.sequenceNumber }],
          };
        }
        return { batchItemFailures: [] };
      },
    });
    await produce(10);
    // Act
    await mapping.start();
    await waitFor(() => mapping.stats.recordsDelivered === 10);
    await mapping.stop();
    // Assess
    const seen = events.map(decode);
    expect(seen[0]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(seen[1]).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(mapping.stats.retries).toBe(1);
    for (const record of events.flatMap((event) => event.Records)) {
      expect(record.eventSource).toBe('aws:kinesis');
      expect(record.eventID).toMatch(/^shardId-\d+:\d+$/);
      expect(record.eventSourceARN).toContain(`stream/${kinesis.streamName}`);
    }
  });

  it('bisects a batch whose invocation throws and sends the poison record to onFailure', async () => {
    const failures: FailedBatch[] = [];
    const delivered: number[] = [];
    const mapping = mappingWith({
      batchSize: 8,
      batchingWindowMs: 50,
      maximumRetryAttempts: 4,
      onFailure: async (batch) => {
        failures.push(batch);
      },
      handler: async (event) => {
        const ns = decode(event);
        if (ns.includes(5)) throw new Error('poison');
        delivered.push(...ns);
        return { batchItemFailures: [] };
      },
    });
    await produce(8);
    await mapping.start();
    await waitFor(() => delivered.length === 7 && failures.length === 1);
    await mapping.stop();
    expect(delivered.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 6, 7]);
    expect(failures[0]).toMatchObject({
      reason: 'RetryAttemptsExhausted',
      batchSize: 1,
      lastError: 'Error: poison',
    });
    expect(
      JSON.parse(Buffer.from(failures[0]?.records[0]?.data ?? '', 'base64').toString())
    ).toEqual({ n: 5 });
    expect(mapping.stats.bisections).toBeGreaterThanOrEqual(3);
  });

  it('finishes the batch in flight when stopped', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let completed = 0;
    const mapping = mappingWith({
      batchSize: 5,
      handler: async (event) => {
        await gate;
        completed += event.Records.length;
        return { batchItemFailures: [] };
      },
    });
    await produce(5);
    await mapping.start();
    await waitFor(() => mapping.stats.invocations === 1);
    const stopping = mapping.stop();
    release();
    await stopping;
    expect(completed).toBe(5);
  });

  it('drains what the stream holds when stopped, instead of dropping it', async () => {
    // Prepare: 300 records waiting, a handler that takes 5 ms per batch of 10.
    const delivered: number[] = [];
    const mapping = mappingWith({
      handler: async (event) => {
        await new Promise((r) => setTimeout(r, 5));
        delivered.push(...decode(event));
        return { batchItemFailures: [] };
      },
    });
    await produce(300);
    await mapping.start();
    await waitFor(() => mapping.stats.invocations >= 1);
    // Act: stop with most of the stream still undelivered.
    await mapping.stop({ drainTimeoutMs: 30_000 });
    // Assess
    expect(delivered).toEqual(Array.from({ length: 300 }, (_, n) => n));
    expect(mapping.stats.drained).toBeGreaterThan(0);
    expect(mapping.stats.undelivered).toBe(0);
  });

  it('counts as drained only what it delivered while draining, with shards delivering at once', async () => {
    // Prepare: 4 shards with 100 records each; deliveries of the shards overlap in time.
    const wide = await startLocalKinesis({ port: 0, streamName: 'esm-wide', shardCount: 4 });
    try {
      await wide.client.send(
        new PutRecordsCommand({
          StreamName: wide.streamName,
          Records: Array.from({ length: 400 }, (_, n) => ({
            Data: Buffer.from(JSON.stringify({ n })),
            PartitionKey: `k${n % 16}`,
          })),
        })
      );
      let delivered = 0;
      let stopped = false;
      let deliveredWhileStopping = 0;
      const mapping = mappingWith({
        client: wide.client,
        streamName: wide.streamName,
        handler: async (event) => {
          await new Promise((r) => setTimeout(r, 5));
          delivered += event.Records.length;
          if (stopped) deliveredWhileStopping += event.Records.length;
          return { batchItemFailures: [] };
        },
      });
      await mapping.start();
      await waitFor(() => mapping.stats.invocations >= 4);
      // Act
      stopped = true;
      await mapping.stop({ drainTimeoutMs: 30_000 });
      // Assess: every record once; drained counts the records delivered after stop(), each once
      // (a batch that started before stop() and ended after it may count on either side).
      expect(delivered).toBe(400);
      expect(mapping.stats.recordsDelivered).toBe(400);
      expect(mapping.stats.drained).toBeLessThanOrEqual(deliveredWhileStopping);
      expect(mapping.stats.drained).toBeGreaterThanOrEqual(deliveredWhileStopping - 4 * 10);
    } finally {
      await wide.close();
    }
  });

  it('delivers what was put after the last empty read and before stop()', async () => {
    // Prepare: an idle mapping that polls rarely, so its last read found the shard empty.
    const delivered: number[] = [];
    const mapping = mappingWith({
      pollIntervalMs: 10_000,
      handler: async (event) => {
        delivered.push(...decode(event));
        return { batchItemFailures: [] };
      },
    });
    await mapping.start();
    await new Promise((r) => setTimeout(r, 500));
    await produce(3);
    // Act: stop before the next poll.
    await mapping.stop({ drainTimeoutMs: 10_000 });
    // Assess: the drain read the shard again instead of trusting the read before stop().
    expect(delivered).toEqual([0, 1, 2]);
    expect(mapping.stats.undelivered).toBe(0);
  });

  it('counts exactly what is left when the drain runs out of time', async () => {
    // Prepare: 500 records, a handler that takes 50 ms per batch of 10; 300 ms of drain.
    let delivered = 0;
    const mapping = mappingWith({
      handler: async (event) => {
        await new Promise((r) => setTimeout(r, 50));
        delivered += event.Records.length;
        return { batchItemFailures: [] };
      },
    });
    await produce(500);
    await mapping.start();
    await waitFor(() => mapping.stats.invocations >= 1);
    // Act
    await mapping.stop({ drainTimeoutMs: 300 });
    // Assess: every record is either delivered or counted as left in the stream.
    expect(mapping.stats.undelivered).toBeGreaterThan(0);
    expect(delivered + mapping.stats.undelivered).toBe(500);
    expect(mapping.stats.recordsDelivered).toBe(delivered);
  });
});

import {
  DescribeStreamCommand,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type KinesisClient,
  type _Record as KinesisRecord,
} from '@aws-sdk/client-kinesis';
import type { Context, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { describeError } from '../../shared/errors.ts';
import { createLambdaContext } from '../../shared/runtime/lambdaContext.ts';
import { pause } from '../../shared/runtime/pause.ts';
import type { LogSink } from '../../shared/runtime/powertools.ts';

/** What the mapping does with a range it gave up on (Lambda's on-failure destination). */
interface FailedBatch {
  readonly reason: 'RetryAttemptsExhausted' | 'RecordAgeExceeded';
  readonly shardId: string;
  readonly streamArn: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly batchSize: number;
  readonly attempts: number;
  readonly lastError: string;
  /** The records themselves (AWS sends only the range; locally the stream is in memory, so keep them). */
  readonly records: { sequenceNumber: string; partitionKey: string; data: string }[];
}

type KinesisHandler = (
  event: KinesisStreamEvent,
  context: Context
) => Promise<{ batchItemFailures?: { itemIdentifier?: string }[] } | undefined>;

interface EventSourceMappingOptions {
  readonly client: KinesisClient;
  readonly streamName: string;
  readonly handler: KinesisHandler;
  readonly functionName?: string;
  readonly batchSize?: number;
  readonly batchingWindowMs?: number;
  readonly maximumRetryAttempts?: number;
  readonly maximumRecordAgeSeconds?: number;
  readonly bisectBatchOnFunctionError?: boolean;
  readonly functionTimeoutMs?: number;
  readonly startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  readonly onFailure: (batch: FailedBatch) => Promise<void>;
  readonly logger: LogSink;
  /** Idle poll interval (AWS polls each shard about once per second). */
  readonly pollIntervalMs?: number;
}

interface MappingStats {
  invocations: number;
  recordsDelivered: number;
  retries: number;
  bisections: number;
  failedBatches: number;
  /** Records delivered after stop() was called (the drain). */
  drained: number;
  /** Records still in the stream, never delivered, when the drain ran out of time (exact). */
  undelivered: number;
}

/**
 * A local Kinesis event source mapping: polls every shard of a stream (kinesalite on the embedded
 * default) and invokes the handler the way Lambda does — batches of up to `batchSize` records or
 * a `batchingWindowMs` wait, one batch at a time per shard (order per shard), partial batch
 * responses retried from the lowest reported sequence number, whole-batch errors bisected,
 * ranges that exhaust `maximumRetryAttempts` or exceed `maximumRecordAgeSeconds` handed to
 * `onFailure`. Stopping lets the batch in flight finish, so Ctrl-C loses nothing.
 */
class LocalKinesisEventSourceMapping {
  readonly stats: MappingStats = {
    invocations: 0,
    recordsDelivered: 0,
    retries: 0,
    bisections: 0,
    failedBatches: 0,
    drained: 0,
    undelivered: 0,
  };
  /** Set by stop(): the drain delivers what the stream holds until this instant. */
  private drainUntil = Number.POSITIVE_INFINITY;
  private readonly options: Required<Omit<EventSourceMappingOptions, 'functionName'>> & {
    functionName: string;
  };
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  private streamArn = '';

  constructor(options: EventSourceMappingOptions) {
    this.options = {
      functionName: 'IngestFunction',
      batchSize: 500,
      batchingWindowMs: 1000,
      maximumRetryAttempts: 10,
      maximumRecordAgeSeconds: 3600,
      bisectBatchOnFunctionError: true,
      functionTimeoutMs: 30_000,
      startingPosition: 'TRIM_HORIZON',
      pollIntervalMs: 250,
      ...options,
    };
  }

  /** Describe the stream and start one polling loop per shard. */
  async start(): Promise<void> {
    const { client, streamName } = this.options;
    const description = await client.send(new DescribeStreamCommand({ StreamName: streamName }));
    this.streamArn = description.StreamDescription?.StreamARN ?? '';
    const shards = description.StreamDescription?.Shards ?? [];
    this.loops = shards.map((shard) => this.pollShard(shard.ShardId ?? ''));
  }

  /**
   * Stop: every shard is drained — what the stream already holds is still delivered, batch by
   * batch, until a read finds nothing more — within `drainTimeoutMs`. What is left then is
   * counted exactly (read to the end without delivering) in `stats.undelivered`. Resolves once
   * every batch in flight has been delivered or handed to onFailure.
   */
  async stop(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    this.drainUntil = Date.now() + (options.drainTimeoutMs ?? 60_000);
    this.abort.abort();
    await Promise.all(this.loops);
  }

  private async pollShard(shardId: string): Promise<void> {
    const { client, streamName, batchSize, batchingWindowMs, pollIntervalMs, logger } =
      this.options;
    const signal = this.abort.signal;
    let iterator: string | undefined;
    try {
      const response = await client.send(
        new GetShardIteratorCommand({
          StreamName: streamName,
          ShardId: shardId,
          ShardIteratorType: this.options.startingPosition,
        })
      );
      iterator = response.ShardIterator;
    } catch (error) {
      logger.error('cannot get a shard iterator', { shardId, error });
      return;
    }
    let pending: KinesisRecord[] = [];
    let windowStartedAt = 0;
    /** While draining: the last read found nothing (the shard is caught up). */
    let caughtUp = false;
    while (iterator !== undefined) {
      const draining = signal.aborted;
      if (draining && pending.length === 0 && (caughtUp || Date.now() >= this.drainUntil)) {
        if (!caughtUp) this.stats.undelivered += await this.countRemaining(iterator);
        return;
      }
      if (pending.length < batchSize && !(draining && Date.now() >= this.drainUntil)) {
        try {
          const page = await client.send(
            new GetRecordsCommand({ ShardIterator: iterator, Limit: batchSize - pending.length })
          );
          iterator = page.NextShardIterator;
          const got = page.Records?.length ?? 0;
          if (got > 0 && pending.length === 0) windowStartedAt = Date.now();
          // Only a read that started after stop() proves the shard empty: records put between
          // an earlier empty read and stop() would otherwise be neither delivered nor counted.
          caughtUp = draining && got === 0 && (page.MillisBehindLatest ?? 0) === 0;
          pending = pending.concat(page.Records ?? []);
        } catch (error) {
          logger.warn('GetRecords failed; retrying', { shardId, error: String(error) });
          await pause(pollIntervalMs, draining ? undefined : signal);
          continue;
        }
      }
      const windowOver = Date.now() - windowStartedAt >= batchingWindowMs;
      if (pending.length >= batchSize || (pending.length > 0 && (windowOver || signal.aborted))) {
        const batch = pending.slice(0, batchSize);
        pending = pending.slice(batch.length);
        // What this call delivered: the shared total also moves with the other shards' batches.
        const delivered = await this.deliver(shardId, batch, 0);
        if (draining) this.stats.drained += delivered;
        windowStartedAt = Date.now();
        continue;
      }
      await pause(
        pending.length > 0 ? Math.min(pollIntervalMs, batchingWindowMs) : pollIntervalMs,
        signal
      );
    }
  }

  /** Records from `iterator` to the end of the shard, read without delivering them. */
  private async countRemaining(iterator: string): Promise<number> {
    let count = 0;
    let next: string | undefined = iterator;
    // Bounded: a stream no longer written ends; 10,000 reads of 10,000 is far beyond any demo.
    for (let reads = 0; next !== undefined && reads < 10_000; reads++) {
      const page: GetRecordsCommandOutput = await this.options.client.send(
        new GetRecordsCommand({ ShardIterator: next, Limit: 10_000 })
      );
      const got = page.Records?.length ?? 0;
      count += got;
      next = page.NextShardIterator;
      if (got === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
    }
    return count;
  }

  private toEvent(records: readonly KinesisRecord[], shardId: string): KinesisStreamEvent {
    const region = process.env.AWS_REGION ?? 'us-east-1';
    return {
      Records: records.map(
        (r): KinesisStreamRecord => ({
          kinesis: {
            kinesisSchemaVersion: '1.0',
            partitionKey: r.PartitionKey ?? '',
            sequenceNumber: r.SequenceNumber ?? '',
            data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'),
            approximateArrivalTimestamp:
              (r.ApproximateArrivalTimestamp?.getTime() ?? Date.now()) / 1000,
          },
          eventSource: 'aws:kinesis',
          eventVersion: '1.0',
          eventID: `${shardId}:${r.SequenceNumber}`,
          eventName: 'aws:kinesis:record',
          invokeIdentityArn: `arn:aws:iam::000000000000:role/${this.options.functionName}Role`,
          awsRegion: region,
          eventSourceARN: this.streamArn,
        })
      ),
    };
  }

  /**
   * Invoke with retries, as Lambda does for one batch of one shard.
   *
   * @returns how many of the records the handler took (the rest went to the on-failure
   *   destination)
   */
  private async deliver(
    shardId: string,
    records: KinesisRecord[],
    attempts: number
  ): Promise<number> {
    const {
      handler,
      functionName,
      functionTimeoutMs,
      maximumRetryAttempts,
      maximumRecordAgeSeconds,
      logger,
    } = this.options;
    let batch = records;
    let attempt = attempts;
    let delivered = 0;
    for (;;) {
      const oldestAllowed = Date.now() - maximumRecordAgeSeconds * 1000;
      const tooOld = batch.filter(
        (r) => (r.ApproximateArrivalTimestamp?.getTime() ?? Date.now()) < oldestAllowed
      );
      if (tooOld.length > 0) {
        await this.fail(
          shardId,
          tooOld,
          attempt,
          'RecordAgeExceeded',
          'record older than maximumRecordAgeSeconds'
        );
        batch = batch.slice(tooOld.length);
        if (batch.length === 0) return delivered;
      }
      this.stats.invocations += 1;
      let failedFrom = -1;
      let lastError = '';
      try {
        const response = await handler(
          this.toEvent(batch, shardId),
          createLambdaContext(functionName, functionTimeoutMs)
        );
        const failures = response?.batchItemFailures ?? [];
        if (failures.length === 0) {
          this.stats.recordsDelivered += batch.length;
          return delivered + batch.length;
        }
        const failedIds = new Set(failures.map((f) => f.itemIdentifier));
        failedFrom = batch.findIndex((r) => failedIds.has(r.SequenceNumber));
        // An unknown or empty itemIdentifier fails the whole batch, as on AWS.
        if (failedFrom < 0) failedFrom = 0;
        lastError = `${failures.length} batch item failure(s)`;
        this.stats.recordsDelivered += failedFrom;
        delivered += failedFrom;
      } catch (error) {
        lastError = describeError(error);
        logger.warn('handler threw; whole batch failed', {
          shardId,
          batchSize: batch.length,
          error: lastError,
        });
        if (this.options.bisectBatchOnFunctionError && batch.length > 1) {
          this.stats.bisections += 1;
          const middle = Math.ceil(batch.length / 2);
          return (
            delivered +
            (await this.deliver(shardId, batch.slice(0, middle), attempt + 1)) +
            (await this.deliver(shardId, batch.slice(middle), attempt + 1))
          );
        }
        failedFrom = 0;
      }
      batch = batch.slice(failedFrom);
      attempt += 1;
      if (attempt > maximumRetryAttempts) {
        await this.fail(shardId, batch, attempt, 'RetryAttemptsExhausted', lastError);
        return delivered;
      }
      this.stats.retries += 1;
      // Lambda retries a Kinesis batch with a short backoff; keep it brief locally.
      await pause(Math.min(2_000, 50 * 2 ** Math.min(attempt, 6)));
    }
  }

  private async fail(
    shardId: string,
    records: KinesisRecord[],
    attempts: number,
    reason: FailedBatch['reason'],
    lastError: string
  ): Promise<void> {
    this.stats.failedBatches += 1;
    const failed: FailedBatch = {
      reason,
      shardId,
      streamArn: this.streamArn,
      startSequenceNumber: records[0]?.SequenceNumber ?? '',
      endSequenceNumber: records.at(-1)?.SequenceNumber ?? '',
      batchSize: records.length,
      attempts,
      lastError,
      records: records.map((r) => ({
        sequenceNumber: r.SequenceNumber ?? '',
        partitionKey: r.PartitionKey ?? '',
        data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'),
      })),
    };
    this.options.logger.error('batch sent to the on-failure destination', {
      shardId,
      reason,
      batchSize: records.length,
      lastError,
    });
    await this.options.onFailure(failed);
  }
}

export type { EventSourceMappingOptions, FailedBatch, KinesisHandler, MappingStats };
export { LocalKinesisEventSourceMapping };

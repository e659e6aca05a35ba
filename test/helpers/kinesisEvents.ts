/**
 * Real-shape Kinesis events for the ingest function, and a driver that invokes a handler the way
 * the Lambda event source mapping does (batches per shard in order, retry from the lowest
 * reported sequence number, whole batch again when the handler throws).
 */

import { createHash } from 'node:crypto';
import type {
  Context,
  KinesisStreamBatchResponse,
  KinesisStreamEvent,
  KinesisStreamRecord,
} from 'aws-lambda';
import { createLambdaContext } from '../../shared/runtime/lambdaContext.ts';

const STREAM_ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/skewless-ingest';
/** Kinesis sequence numbers are 56-digit decimals, increasing within a shard. */
const FIRST_SEQUENCE = 49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898n;

interface RecordOptions {
  readonly shardId?: string;
  readonly sequenceNumber?: string;
  readonly partitionKey?: string;
}

/** base64 of the UTF-8 JSON of `value`, as a producer's PutRecord would carry it. */
function jsonData(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64');
}

let sequenceCounter = 0n;

/** A unique, increasing sequence number (for records built one at a time). */
function nextSequenceNumber(): string {
  sequenceCounter += 1n;
  return (FIRST_SEQUENCE + sequenceCounter * 1000n).toString();
}

/**
 * One Kinesis record exactly as Lambda delivers it. `data` is the base64 payload as is; use
 * {@link jsonData} for JSON.
 */
function kinesisRecord(data: string, options: RecordOptions = {}): KinesisStreamRecord {
  const shardId = options.shardId ?? 'shardId-000000000000';
  const sequenceNumber = options.sequenceNumber ?? nextSequenceNumber();
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: options.partitionKey ?? 'pk-0',
      sequenceNumber,
      data,
      approximateArrivalTimestamp: Date.now() / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::000000000000:role/skewless-ingest-role',
    awsRegion: 'us-east-1',
    eventSourceARN: STREAM_ARN,
  };
}

/** The 4 magic bytes that open a Kinesis Producer Library (KPL) aggregated record. */
const KPL_MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);

/**
 * base64 of a KPL-aggregated record carrying `values` as JSON user records, byte for byte what
 * the KPL puts on the stream with aggregation on (its default): the magic, the protobuf
 * `AggregatedRecord` (partition-key table, then one `Record` per user record) and the MD5 of
 * the protobuf bytes. Lambda delivers it as one Kinesis record, not de-aggregated.
 */
function kplAggregatedData(values: readonly unknown[], partitionKey = 'pk-0'): string {
  const varint = (n: number): Buffer => {
    const bytes: number[] = [];
    let rest = n;
    while (rest >= 0x80) {
      bytes.push((rest & 0x7f) | 0x80);
      rest >>>= 7;
    }
    bytes.push(rest);
    return Buffer.from(bytes);
  };
  const field = (tag: number, bytes: Buffer): Buffer =>
    Buffer.concat([Buffer.from([tag]), varint(bytes.length), bytes]);
  const userRecords = values.map((value) =>
    field(
      0x1a, // AggregatedRecord.records (3, length-delimited)
      Buffer.concat([
        Buffer.from([0x08, 0x00]), // Record.partition_key_index (1, varint) = 0
        field(0x1a, Buffer.from(JSON.stringify(value), 'utf8')), // Record.data (3)
      ])
    )
  );
  const message = Buffer.concat([
    field(0x0a, Buffer.from(partitionKey, 'utf8')), // AggregatedRecord.partition_key_table (1)
    ...userRecords,
  ]);
  const digest = createHash('md5').update(message).digest();
  return Buffer.concat([KPL_MAGIC, message, digest]).toString('base64');
}

/** A record whose data is the JSON of `value`. */
function jsonRecord(value: unknown, options: RecordOptions = {}): KinesisStreamRecord {
  return kinesisRecord(jsonData(value), options);
}

function kinesisEvent(records: readonly KinesisStreamRecord[]): KinesisStreamEvent {
  return { Records: [...records] };
}

/** A valid `fraud-transactions` record; event time defaults to now (the group's TTL is 30 days). */
function transaction(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    transaction_id: id,
    event_time: new Date().toISOString(),
    card_id: `card-${id}`,
    merchant_id: 'merchant-1',
    amount: 42.5,
    currency: 'EUR',
    channel: 'ecom',
    card_txn_count_60s: 1,
    card_txn_count_1h: 2,
    card_txn_count_1d: 3,
    card_amount_sum_1h: 99.25,
    amount_to_avg_7d_ratio: 1.5,
    ...overrides,
  };
}

/** A Lambda context with a real deadline. */
function lambdaContext(timeoutMs = 30_000): Context {
  return createLambdaContext('IngestFunction', timeoutMs);
}

/** Records of one shard in stream order, with increasing sequence numbers. */
function shardRecords(
  shardId: string,
  payloads: readonly string[],
  partitionKeyOf: (index: number) => string = (i) => `pk-${i}`
): KinesisStreamRecord[] {
  const base = FIRST_SEQUENCE + BigInt(Number.parseInt(shardId.slice(-4), 10) || 0) * 10n ** 30n;
  return payloads.map((data, i) =>
    kinesisRecord(data, {
      shardId,
      sequenceNumber: (base + BigInt(i) * 1000n).toString(),
      partitionKey: partitionKeyOf(i),
    })
  );
}

type IngestHandler = (
  event: KinesisStreamEvent,
  context: Context
) => Promise<KinesisStreamBatchResponse | undefined>;

interface DriveOptions {
  readonly batchSize: number;
  /** Upper bound on invocations per shard, so a stuck shard fails the test instead of hanging. */
  readonly maxInvocationsPerShard: number;
}

interface DriveStats {
  invocations: number;
  /** Invocations that retried records already delivered before. */
  retries: number;
  /** Records delivered, counting each redelivery. */
  deliveries: number;
  /** Shards whose records were not all checkpointed within the invocation bound. */
  stuckShards: string[];
  /** Invocations that threw (a function error: Lambda redelivers the whole batch). */
  functionErrors: number;
  /** Invocations after which the shard's checkpoint did not move. */
  stalledInvocations: number;
}

/**
 * Deliver every shard's records to `handler` the way the Lambda event source mapping does with
 * `ReportBatchItemFailures`: one batch at a time per shard (shards in parallel); after a partial
 * response, the next batch starts at the lowest reported sequence number; after a thrown error,
 * the same batch is delivered again.
 */
async function driveLikeLambda(
  handler: IngestHandler,
  shards: ReadonlyMap<string, readonly KinesisStreamRecord[]>,
  options: DriveOptions
): Promise<DriveStats> {
  const stats: DriveStats = {
    invocations: 0,
    retries: 0,
    deliveries: 0,
    stuckShards: [],
    functionErrors: 0,
    stalledInvocations: 0,
  };
  await Promise.all(
    [...shards].map(async ([shardId, records]) => {
      let checkpoint = 0;
      let delivered = 0;
      for (let n = 0; n < options.maxInvocationsPerShard && checkpoint < records.length; n++) {
        const batch = records.slice(checkpoint, checkpoint + options.batchSize);
        stats.invocations++;
        stats.deliveries += batch.length;
        if (checkpoint < delivered) stats.retries++;
        delivered = Math.max(delivered, checkpoint + batch.length);
        let response: KinesisStreamBatchResponse | undefined;
        try {
          response = await handler(kinesisEvent(batch), lambdaContext());
        } catch {
          stats.functionErrors++;
          stats.stalledInvocations++;
          continue;
        }
        const failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        if (failed.size === 0) {
          checkpoint += batch.length;
          continue;
        }
        const inBatch = new Set(batch.map((r) => r.kinesis.sequenceNumber));
        const unknown = [...failed].filter((id) => !inBatch.has(id));
        if (unknown.length > 0)
          throw new Error(`handler reported unknown sequence numbers ${unknown}`);
        // The batch is in sequence order: its first failed record has the lowest number.
        const index = batch.findIndex((r) => failed.has(r.kinesis.sequenceNumber));
        if (index === 0) stats.stalledInvocations++;
        checkpoint += index;
      }
      if (checkpoint < records.length) stats.stuckShards.push(shardId);
    })
  );
  return stats;
}

export type { DriveOptions, DriveStats, IngestHandler, RecordOptions };
export {
  driveLikeLambda,
  jsonData,
  jsonRecord,
  kinesisEvent,
  kinesisRecord,
  kplAggregatedData,
  lambdaContext,
  shardRecords,
  transaction,
};

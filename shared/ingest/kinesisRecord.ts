import type { KinesisStreamRecord } from 'aws-lambda';

/**
 * Where a Kinesis record came from: everything an operator needs to find it again in the stream
 * (`GetShardIterator` with `AT_SEQUENCE_NUMBER`) or in the logs.
 */
interface KinesisSource {
  /** ARN of the stream (`eventSourceARN`). */
  readonly eventSourceArn: string;
  /** `shardId-000000000000`, from the `eventID` (`<shardId>:<sequenceNumber>`). */
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  /** When Kinesis accepted the record, ISO-8601 (from `approximateArrivalTimestamp`, seconds). */
  readonly approximateArrivalTime: string;
}

/** The shard id is the part of `eventID` before the last colon; `unknown` if absent. */
function shardIdOf(record: Pick<KinesisStreamRecord, 'eventID'>): string {
  const eventId = record.eventID ?? '';
  const colon = eventId.lastIndexOf(':');
  return colon > 0 ? eventId.slice(0, colon) : 'unknown';
}

/**
 * Extract the {@link KinesisSource} of a record as Lambda delivers it.
 *
 * @example
 * ```typescript
 * import { kinesisSourceOf } from './kinesisRecord.ts';
 *
 * const source = kinesisSourceOf(event.Records[0]);
 * console.log(`${source.shardId} @ ${source.sequenceNumber}`);
 * ```
 */
function kinesisSourceOf(record: KinesisStreamRecord): KinesisSource {
  const arrival = record.kinesis.approximateArrivalTimestamp;
  return {
    eventSourceArn: record.eventSourceARN ?? '',
    shardId: shardIdOf(record),
    sequenceNumber: record.kinesis.sequenceNumber,
    partitionKey: record.kinesis.partitionKey,
    approximateArrivalTime: Number.isFinite(arrival)
      ? new Date(Math.round(arrival * 1000)).toISOString()
      : '',
  };
}

/** A record of a batch whose sequence number an earlier record of the same batch already has. */
interface RepeatedRecord {
  /** Position in the batch of the first record with this sequence number. */
  readonly firstIndex: number;
  /** True when its data is that record's data too: the same record delivered twice. */
  readonly sameData: boolean;
}

/**
 * The records of a batch that repeat the sequence number of an earlier record of the batch.
 * Kinesis never delivers that within a shard's batch, but a hand-made, merged or replayed event
 * can; the partial batch response (and the derived plan) know a record only by its sequence
 * number, so only the first record of a sequence number can go through the pipeline.
 *
 * @example
 * ```typescript
 * import { repeatedRecords } from './kinesisRecord.ts';
 *
 * const repeats = repeatedRecords(event.Records);
 * const unique = event.Records.filter((r) => !repeats.has(r));
 * ```
 */
function repeatedRecords(
  records: readonly KinesisStreamRecord[]
): ReadonlyMap<KinesisStreamRecord, RepeatedRecord> {
  const firstBySequence = new Map<string, number>();
  const repeats = new Map<KinesisStreamRecord, RepeatedRecord>();
  records.forEach((record, index) => {
    const firstIndex = firstBySequence.get(record.kinesis.sequenceNumber);
    if (firstIndex === undefined) {
      firstBySequence.set(record.kinesis.sequenceNumber, index);
      return;
    }
    const sameData = records[firstIndex]?.kinesis.data === record.kinesis.data;
    repeats.set(record, { firstIndex, sameData });
  });
  return repeats;
}

export type { KinesisSource, RepeatedRecord };
export { kinesisSourceOf, repeatedRecords, shardIdOf };

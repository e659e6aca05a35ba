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

export type { KinesisSource };
export { kinesisSourceOf, shardIdOf };

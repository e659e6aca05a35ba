/**
 * Lambda redelivers a shard from the lowest sequence number a batch reported, so every record
 * after it comes again, including the ones this invocation already wrote or dead-lettered. The
 * container remembers those records (per shard: sequence number → a digest of what was written
 * or dead-lettered) for as long as Lambda may redeliver them, and a redelivered record whose
 * outputs have the same digest is not written (nor dead-lettered) twice: no duplicate offline
 * row, no duplicate dead letter. A delivery that does not complete a remembered record (say the
 * derived step could not read its state, so the whole batch was reported) keeps what an earlier
 * delivery wrote for it: forgetting it there wrote it twice at the next delivery.
 *
 * Best effort by design: a redelivery that lands on another container (or after a cold start)
 * writes those records again — the same values at the same event time, which leaves the online
 * store unchanged and adds an identical offline row that point-in-time reads collapse.
 */
import { createHash } from 'node:crypto';
import type { KinesisStreamBatchResponse, KinesisStreamRecord } from 'aws-lambda';
import type { EncodedRecord } from '../record/codec.ts';
import type { KinesisSource } from './kinesisRecord.ts';
import { shardIdOf } from './kinesisRecord.ts';

/** Shards remembered at most (a container serves one shard at a time; a few after rebalancing). */
const MAX_SHARDS = 64;

/** A completed record of an invocation: its shard and the digest of what was done with it. */
interface DoneRecord {
  readonly shardId: string;
  readonly key: () => string;
}

class WrittenAhead {
  readonly #byShard = new Map<string, Map<string, string>>();

  /** Digest of the records written for one Kinesis record. */
  static keyOfOutputs(outputs: readonly EncodedRecord[]): string {
    const hash = createHash('sha1');
    for (const output of outputs) {
      hash.update(output.featureGroup).update('\u0000');
      for (const v of output.record) {
        hash.update(v.FeatureName ?? '').update('\u0001');
        hash.update(v.ValueAsString ?? (v.ValueAsStringList ?? []).join('\u0002'));
        hash.update('\u0001');
      }
      hash.update('\u0003');
    }
    return `w:${hash.digest('base64')}`;
  }

  /** Digest of a dead-lettered record's data. */
  static keyOfDeadLetter(data: string): string {
    return `d:${createHash('sha1').update(data).digest('base64')}`;
  }

  /** Whether this very record was completed with the same digest by an earlier delivery. */
  has(source: Pick<KinesisSource, 'shardId' | 'sequenceNumber'>, key: () => string): boolean {
    const remembered = this.#byShard.get(source.shardId)?.get(source.sequenceNumber);
    return remembered !== undefined && remembered === key();
  }

  /**
   * After an invocation: for each shard of the batch, remember the records from the shard's
   * first reported record on (Lambda redelivers them): completed by this invocation, or else by
   * an earlier delivery. Forget the shard when nothing was reported.
   */
  remember(
    records: readonly KinesisStreamRecord[],
    response: KinesisStreamBatchResponse,
    done: ReadonlyMap<string, DoneRecord>
  ): void {
    const reported = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    const replaying = new Set<string>();
    const next = new Map<string, Map<string, string>>();
    for (const record of records) {
      const shardId = shardIdOf(record);
      const sequenceNumber = record.kinesis.sequenceNumber;
      let remembered = next.get(shardId);
      if (remembered === undefined) {
        remembered = new Map();
        next.set(shardId, remembered);
      }
      // A reported record may be done too (the derived step reports an entity's records from
      // its first failed one on, written or not).
      if (reported.has(sequenceNumber)) replaying.add(shardId);
      if (!replaying.has(shardId)) continue;
      const key =
        done.get(sequenceNumber)?.key() ?? this.#byShard.get(shardId)?.get(sequenceNumber);
      if (key !== undefined) remembered.set(sequenceNumber, key);
    }
    for (const [shardId, remembered] of next) {
      this.#byShard.delete(shardId);
      if (remembered.size > 0) this.#byShard.set(shardId, remembered);
    }
    while (this.#byShard.size > MAX_SHARDS) {
      const oldest = this.#byShard.keys().next().value as string;
      this.#byShard.delete(oldest);
    }
  }
}

export type { DoneRecord };
export { WrittenAhead };

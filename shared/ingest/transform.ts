/**
 * The step between validation and writing. Today it is the identity; derived streaming features
 * (rolling counts per card computed from raw events) plug in here later without touching
 * decoding, validation or writing.
 */
import type { EncodedRecord } from '../record/codec.ts';
import type { FeatureGroup } from '../schema/index.ts';
import type { KinesisSource } from './kinesisRecord.ts';

/** A record that passed validation, as the transform sees it. */
interface ValidatedRecord {
  readonly group: FeatureGroup;
  /** The record object as sent by the producer (forbidden keys removed). */
  readonly input: Readonly<Record<string, unknown>>;
  /** The same record validated and encoded for PutRecord. */
  readonly encoded: EncodedRecord;
  readonly source: KinesisSource;
}

/**
 * Turns one validated record into the records to write (zero, one or more, any groups).
 *
 * Contract: it must be safe to repeat (Kinesis replays records after a retry); a thrown
 * `RecordValidationError` dead-letters the record, any other error retries it.
 */
type IngestTransform = (
  record: ValidatedRecord
) => readonly EncodedRecord[] | Promise<readonly EncodedRecord[]>;

/**
 * Writes the validated record unchanged.
 *
 * @example
 * ```typescript
 * import { identityTransform } from './transform.ts';
 *
 * const runtime = createIngestRuntime(config, { transform: identityTransform });
 * ```
 */
const identityTransform: IngestTransform = (record) => [record.encoded];

export type { IngestTransform, ValidatedRecord };
export { identityTransform };

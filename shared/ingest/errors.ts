/**
 * What can go wrong with one ingested record, in two kinds: a {@link Rejection} is a verdict on
 * the record itself (it can never succeed, so it is dead-lettered and the batch moves on); a
 * {@link RetryableIngestError} is a failure of the path to the store (throttling, 5xx, network,
 * dead-letter delivery), thrown so the record is reported by sequence number and retried.
 */
import { describeValue, formatProblem, type RecordProblem, SkewlessError } from '../errors.ts';

/** The pipeline step that rejected a record. */
const IngestStage = {
  /** The Kinesis data is not base64 or not UTF-8. */
  Decode: 'decode',
  /** The text is empty, not JSON, or not an object. */
  Parse: 'parse',
  /** The envelope is malformed or names an unknown feature group. */
  Route: 'route',
  /** The record does not match its feature group (schema module) or carries a forbidden key. */
  Validate: 'validate',
  /** The transform step rejected the record. */
  Transform: 'transform',
  /** The store answered that the record itself is invalid (ValidationError). */
  Store: 'store',
  /** The record repeats the sequence number of an earlier record of its batch with other data. */
  Batch: 'batch',
} as const;
type IngestStage = (typeof IngestStage)[keyof typeof IngestStage];

/** One problem of a rejected record, with the value already rendered for display. */
interface RejectionProblem {
  /** The feature or key at fault; `(record)`, `(data)` or `(envelope)` for the whole thing. */
  readonly feature: string;
  /**
   * The offending value as JSON text, truncated to 80 characters; null when there is none to show
   * (a missing feature, or a JSON number beyond ±(2^53 − 1), whose parsed value is not what was
   * sent), as the backfill's rejects say it.
   */
  readonly value: string | null;
  readonly reason: string;
}

/** Why a record can never be written. Every problem is listed, not only the first. */
interface Rejection {
  readonly stage: IngestStage;
  /** One line naming every problem, e.g. for a log line or a dead-letter list view. */
  readonly reason: string;
  readonly problems: readonly RejectionProblem[];
  /** The target group, when the payload got far enough to name one. */
  readonly featureGroup?: string;
  /**
   * The record identifier as the writers encode it (an Integral `7.0` is `7`), when it was valid,
   * whether it was sent as a JSON string or number.
   */
  readonly recordIdentifier?: string;
}

/** Render schema-module problems for a rejection (values as bounded JSON text). */
function toRejectionProblems(problems: readonly RecordProblem[]): RejectionProblem[] {
  return problems.map((p) => ({
    feature: p.feature,
    value: p.value === undefined ? null : describeValue(p.value),
    reason: p.reason,
  }));
}

/**
 * Build a {@link Rejection} whose `reason` lists every problem.
 *
 * @example
 * ```typescript
 * import { IngestStage, rejection } from './errors.ts';
 *
 * const rejected = rejection(IngestStage.Parse, 'data is not valid JSON', []);
 * ```
 */
function rejection(
  stage: IngestStage,
  summary: string,
  problems: readonly RecordProblem[],
  context: { featureGroup?: string; recordIdentifier?: string } = {}
): Rejection {
  const rendered = toRejectionProblems(problems);
  const details = problems.map(formatProblem).join('; ');
  return {
    stage,
    reason: details.length > 0 ? `${summary}: ${details}` : summary,
    problems: rendered,
    ...(context.featureGroup === undefined ? {} : { featureGroup: context.featureGroup }),
    ...(context.recordIdentifier === undefined
      ? {}
      : { recordIdentifier: context.recordIdentifier }),
  };
}

/**
 * A record could not be written or dead-lettered *this time*. Thrown from the record handler so
 * Powertools reports its sequence number and Lambda retries from there.
 */
class RetryableIngestError extends SkewlessError {
  readonly featureGroup: string | undefined;
  constructor(message: string, featureGroup: string | undefined, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RetryableIngestError';
    this.featureGroup = featureGroup;
  }
}

/**
 * A record reported for a retry without being attempted: the invocation deadline was near, or
 * an earlier record of its shard failed and Lambda will redeliver it anyway. Expected under
 * throttling, so it is logged at debug level, not as a warning per record.
 */
class NotAttemptedError extends RetryableIngestError {
  constructor(message: string) {
    super(message, undefined);
    this.name = 'NotAttemptedError';
  }
}

/** The dead-letter destination did not take a record; the record must be retried, not dropped. */
class DeadLetterDeliveryError extends SkewlessError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DeadLetterDeliveryError';
  }
}

export type { Rejection, RejectionProblem };
export { DeadLetterDeliveryError, IngestStage, NotAttemptedError, RetryableIngestError, rejection };

/**
 * The ingest function's configuration, read once per container from the environment and checked
 * before any record is touched (a wrong value fails the invocation, never a record).
 */
import { registry as defaultRegistry, type SchemaRegistry } from '../registry.ts';
import {
  ConfigurationError,
  getIntegerFromEnv,
  getOptionalStringFromEnv,
  readMaxEventTimeSkewSeconds,
} from '../runtime/env.ts';

/** Where rejected records go: exactly one of the two. */
type DeadLetterConfig =
  | {
      readonly kind: 'sqs';
      readonly queueUrl: string;
      /** The queue's MaximumMessageSize in bytes. */
      readonly maxMessageBytes: number;
    }
  | { readonly kind: 'file'; readonly dir: string };

interface IngestConfig {
  /** Group of bare records (`DEFAULT_FEATURE_GROUP`); undefined accepts envelopes only. */
  readonly defaultFeatureGroup: string | undefined;
  /** Store calls in flight per container, writes and the derived step's reads (`INGEST_CONCURRENCY`, default 32). */
  readonly concurrency: number;
  /**
   * Attempts per write, first included (`INGEST_MAX_ATTEMPTS`, default 3): the SDK retry
   * strategy's max attempts, for whole calls and for throttled / unprocessed entries alike.
   */
  readonly maxAttempts: number;
  /**
   * When set (`INGEST_RETRY_BASE_DELAY_MS`), retries back off with full jitter from this base
   * instead of the SDK's standard delays (shared/runtime/clients.ts); undefined keeps them.
   */
  readonly retryBaseDelayMs: number | undefined;
  /**
   * Stop starting writes this many ms before the Lambda timeout and report what is left for a
   * retry (`INGEST_DEADLINE_MARGIN_MS`, default 2000): a partial response instead of a timeout
   * that would retry the whole batch.
   */
  readonly deadlineMarginMs: number;
  readonly deadLetter: DeadLetterConfig;
  /**
   * A record whose event time is more than this many seconds ahead of the clock is
   * dead-lettered (`MAX_EVENT_TIME_SKEW_SECONDS`, default 300).
   */
  readonly maxEventTimeSkewSeconds?: number;
}

/**
 * Read and check the configuration.
 *
 * @throws ConfigurationError naming the variable: neither or both of `DEAD_LETTER_QUEUE_URL`
 * and `DEAD_LETTER_DIR`, an unknown `DEFAULT_FEATURE_GROUP`, an out-of-range number
 *
 * @example
 * ```typescript
 * import { readIngestConfig } from './config.ts';
 *
 * process.env.DEAD_LETTER_DIR = '.skewless/dead-letters';
 * const config = readIngestConfig(); // { concurrency: 32, deadLetter: { kind: 'file', ... }, ... }
 * ```
 */
function readIngestConfig(registry: SchemaRegistry = defaultRegistry): IngestConfig {
  const defaultFeatureGroup = getOptionalStringFromEnv('DEFAULT_FEATURE_GROUP');
  if (
    defaultFeatureGroup !== undefined &&
    registry.findExternalGroup(defaultFeatureGroup) === undefined
  ) {
    throw new ConfigurationError(
      `environment variable DEFAULT_FEATURE_GROUP="${defaultFeatureGroup}" is not a feature group of shared/definitions.ts producers may write; known: ${[...registry.externalGroups.keys()].join(', ')}`
    );
  }
  const queueUrl = getOptionalStringFromEnv('DEAD_LETTER_QUEUE_URL');
  const dir = getOptionalStringFromEnv('DEAD_LETTER_DIR');
  if ((queueUrl === undefined) === (dir === undefined)) {
    throw new ConfigurationError(
      'exactly one of the environment variables DEAD_LETTER_QUEUE_URL (SQS) and DEAD_LETTER_DIR (local JSONL files) must be set'
    );
  }
  const deadLetter: DeadLetterConfig =
    queueUrl !== undefined
      ? {
          kind: 'sqs',
          queueUrl,
          maxMessageBytes: getIntegerFromEnv(
            'DEAD_LETTER_MAX_MESSAGE_BYTES',
            1_048_576,
            1024,
            1_048_576
          ),
        }
      : { kind: 'file', dir: dir as string };
  return {
    defaultFeatureGroup,
    concurrency: getIntegerFromEnv('INGEST_CONCURRENCY', 32, 1, 1024),
    maxAttempts: getIntegerFromEnv('INGEST_MAX_ATTEMPTS', 3, 1, 20),
    retryBaseDelayMs:
      getOptionalStringFromEnv('INGEST_RETRY_BASE_DELAY_MS') === undefined
        ? undefined
        : getIntegerFromEnv('INGEST_RETRY_BASE_DELAY_MS', 0, 0, 20_000),
    deadlineMarginMs: getIntegerFromEnv('INGEST_DEADLINE_MARGIN_MS', 2000, 0, 60_000),
    deadLetter,
    maxEventTimeSkewSeconds: readMaxEventTimeSkewSeconds(),
  };
}

export type { DeadLetterConfig, IngestConfig };
export { readIngestConfig };

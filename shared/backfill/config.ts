import {
  ConfigurationError,
  getIntegerFromEnv,
  getOptionalStringFromEnv,
  getStringFromEnv,
  readMaxEventTimeSkewSeconds,
} from '../runtime/env.ts';

/** S3 refuses multipart parts below 5 MiB (except the last). */
const MIN_REJECTS_PART_BYTES = 5 * 1024 * 1024;

/** Settings of the backfill function, from its environment (see docs/backfill.md). */
interface BackfillConfig {
  /** REPORTS_BUCKET: where state, rejects and reports go. */
  readonly reportsBucket: string;
  /** CONTINUATION_QUEUE_URL: SQS queue for continuations; unset = in-process (local) queue. */
  readonly continuationQueueUrl: string | undefined;
  /** BACKFILL_CONCURRENCY: BatchWriteRecord calls in flight (records mode, 25 rows each). */
  readonly concurrency: number;
  /** BACKFILL_TIME_MARGIN_MS: stop and checkpoint when less than this remains. */
  readonly timeMarginMs: number;
  /** BACKFILL_CHECKPOINT_INTERVAL_MS: periodic checkpoints, bounding the work a crash repeats. */
  readonly checkpointIntervalMs: number;
  /** BACKFILL_WRITE_MODE: `auto` (direct for Glue groups in S3, else records), `direct`, `records`. */
  readonly writeMode: 'auto' | 'direct' | 'records';
  /** BACKFILL_PART_BYTES: direct mode writes a part when its rows reach this many record bytes. */
  readonly partBytes: number;
  /** BACKFILL_PART_MAX_ROWS: …or this many rows. */
  readonly partMaxRows: number;
  /** BACKFILL_PUT_CONCURRENCY: direct mode's objects written at once. */
  readonly putConcurrency: number;
  /** BACKFILL_MAX_STALLED_INVOCATIONS: invocations in a row with failing writes before the backfill fails. */
  readonly maxStalledInvocations: number;
  /** BACKFILL_PROGRESS_ROWS / BACKFILL_PROGRESS_INTERVAL_MS: progress log cadence. */
  readonly progressEveryRows: number;
  readonly progressEveryMs: number;
  /** BACKFILL_FIRST_ERRORS: how many errors the report lists. */
  readonly firstErrorsLimit: number;
  /** BACKFILL_WATCHDOG_DELAY_SECONDS: delay of the takeover message sent at start; 0 = none. */
  readonly watchdogDelaySeconds: number;
  /** BACKFILL_REJECTS_PART_BYTES: rejects are uploaded in parts of this size (min 5 MiB). */
  readonly rejectsPartBytes: number;
  /** BACKFILL_WINDOW_ROWS: rows between the oldest unfinished row and the newest read one. */
  readonly windowRows: number;
  /** MAX_EVENT_TIME_SKEW_SECONDS: rows dated more than this ahead of the backfill's start are rejected. */
  readonly maxEventTimeSkewSeconds?: number;
}

function writeModeFromEnv(): BackfillConfig['writeMode'] {
  const value = getOptionalStringFromEnv('BACKFILL_WRITE_MODE') ?? 'auto';
  if (value === 'auto' || value === 'direct' || value === 'records') return value;
  throw new ConfigurationError(
    `environment variable BACKFILL_WRITE_MODE="${value}" must be auto, direct or records`
  );
}

/**
 * Reads the backfill settings from the environment, failing fast on malformed values.
 *
 * @example
 * ```typescript
 * import { loadBackfillConfig } from './shared/backfill/config.ts';
 * process.env.REPORTS_BUCKET = 'skewless-reports';
 * const config = loadBackfillConfig();
 * console.log(config.concurrency); // 8 unless BACKFILL_CONCURRENCY says otherwise
 * ```
 */
function loadBackfillConfig(): BackfillConfig {
  const concurrency = getIntegerFromEnv('BACKFILL_CONCURRENCY', 8, 1, 256);
  return {
    reportsBucket: getStringFromEnv('REPORTS_BUCKET'),
    continuationQueueUrl: getOptionalStringFromEnv('CONTINUATION_QUEUE_URL'),
    concurrency,
    timeMarginMs: getIntegerFromEnv('BACKFILL_TIME_MARGIN_MS', 60_000, 0),
    checkpointIntervalMs: getIntegerFromEnv('BACKFILL_CHECKPOINT_INTERVAL_MS', 30_000, 100),
    writeMode: writeModeFromEnv(),
    partBytes: getIntegerFromEnv('BACKFILL_PART_BYTES', 24 * 1024 * 1024, 1024),
    partMaxRows: getIntegerFromEnv('BACKFILL_PART_MAX_ROWS', 50_000, 1, 2_000_000),
    putConcurrency: getIntegerFromEnv('BACKFILL_PUT_CONCURRENCY', 8, 1, 64),
    maxStalledInvocations: getIntegerFromEnv('BACKFILL_MAX_STALLED_INVOCATIONS', 10, 1),
    progressEveryRows: getIntegerFromEnv('BACKFILL_PROGRESS_ROWS', 50_000, 1),
    progressEveryMs: getIntegerFromEnv('BACKFILL_PROGRESS_INTERVAL_MS', 10_000, 1),
    firstErrorsLimit: getIntegerFromEnv('BACKFILL_FIRST_ERRORS', 20, 0, 1000),
    watchdogDelaySeconds: getIntegerFromEnv('BACKFILL_WATCHDOG_DELAY_SECONDS', 900, 0, 900),
    rejectsPartBytes: getIntegerFromEnv(
      'BACKFILL_REJECTS_PART_BYTES',
      8 * 1024 * 1024,
      MIN_REJECTS_PART_BYTES
    ),
    windowRows: getIntegerFromEnv('BACKFILL_WINDOW_ROWS', Math.max(1024, concurrency * 64), 1),
    maxEventTimeSkewSeconds: readMaxEventTimeSkewSeconds(),
  };
}

export type { BackfillConfig };
export { loadBackfillConfig };

/**
 * BatchFunction — triggers: S3 `ObjectCreated` under `batch/` in the backfill bucket, and its own
 * continuation SQS queue. A batch job's output (Parquet / CSV / JSON Lines, gzip for text) for a
 * batch-fed group is read and validated exactly like a backfill (same pipeline: rejects, report,
 * exactly once per object version, resumable), then written to BOTH stores with BatchWriteRecord:
 * the online store keeps the latest value by event time, the offline store gets every row. See
 * docs/batch.md.
 *
 * A function of its own rather than a mode of the backfill function: its role alone may write
 * the online store (BatchWriteRecord on the batch-fed groups only), its notification filter is
 * `batch/` only, and it ignores any other key or continuation, so a backfill can never reach the
 * online store by a misrouted event or a flag.
 *
 * Thin wiring only: the pipeline lives in shared/backfill, the both-stores writes in shared/batch.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, S3Event, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import {
  type BackfillDependencies,
  createBackfillDependencies,
  type DependencyOverrides,
  DropKind,
  handleBackfillEvent,
  inProcessBatchContinuations,
  type S3InvocationResult,
} from '../../shared/backfill/index.ts';
import { logger, metrics } from '../../shared/runtime/powertools.ts';

type BatchEvent = S3Event | SQSEvent;
type BatchResult = S3InvocationResult | SQSBatchResponse;

/**
 * Builds a batch handler; dependencies are created on the first invocation (see the backfill
 * function for why, and why Middy's early timeout is off).
 *
 * @example
 * **A dry run (the CLI's): reads the online values, writes nothing**
 * ```typescript
 * import { createBatchHandler } from './functions/batch/index.ts';
 * const handler = createBatchHandler({ dryRun: true });
 * ```
 * @param overrides - replaces parts of the dependencies (continuation queue, progress, dry run)
 */
function createBatchHandler(overrides: Omit<DependencyOverrides, 'kind'> = {}) {
  let deps: BackfillDependencies | undefined;
  const batchHandler = async (event: BatchEvent, context: Context): Promise<BatchResult> => {
    deps ??= createBackfillDependencies(logger, metrics, { ...overrides, kind: DropKind.Batch });
    return handleBackfillEvent(
      event,
      {
        requestId: context.awsRequestId,
        remainingMs: () => context.getRemainingTimeInMillis(),
      },
      deps
    );
  };
  return middy<BatchEvent, BatchResult>(batchHandler, { timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
}

/** The Lambda handler. */
export const handler = createBatchHandler();

// Without CONTINUATION_QUEUE_URL (the embedded default) continuations invoke this handler in-process.
inProcessBatchContinuations.deliverTo(handler);

export { createBatchHandler };

/**
 * BackfillFunction — triggers: S3 `ObjectCreated` under `backfill/` in the backfill bucket, and
 * the continuation SQS queue. Streams a Parquet / CSV / JSON Lines file (gzip for text) into the
 * offline store only (PutRecord with `TargetStores: ['OfflineStore']`), rejects go to a JSON
 * Lines object beside a report in the reports bucket, and a file too large for one invocation
 * continues from its checkpoint in the next. See docs/backfill.md.
 *
 * Thin wiring only: the backfill lives in shared/backfill.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, S3Event, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { directWrites } from '../../shared/backfill/directSink.ts';
import {
  type BackfillDependencies,
  createBackfillDependencies,
  type DependencyOverrides,
  handleBackfillEvent,
  inProcessContinuations,
  type S3InvocationResult,
} from '../../shared/backfill/index.ts';
import { logger, metrics } from '../../shared/runtime/powertools.ts';

type BackfillEvent = S3Event | SQSEvent;
type BackfillResult = S3InvocationResult | SQSBatchResponse;

/**
 * Builds a backfill handler. Dependencies are created on the first invocation (not at import),
 * so importing the module never throws and the configuration is read once per container.
 *
 * Middy's early timeout is off: the backfill itself stops `BACKFILL_TIME_MARGIN_MS` before the
 * deadline and checkpoints, which an abort a few milliseconds before the end would only cut short.
 *
 * @example
 * **A handler that reports progress (the CLI's)**
 * ```typescript
 * import { createBackfillHandler } from './functions/backfill/index.ts';
 * const handler = createBackfillHandler({ onProgress: (p) => console.log(p.rowsRead) });
 * ```
 * @param overrides - replaces parts of the dependencies (continuation queue, progress callback)
 */
function createBackfillHandler(overrides: DependencyOverrides = {}) {
  let deps: BackfillDependencies | undefined;
  const backfillHandler = async (
    event: BackfillEvent,
    context: Context
  ): Promise<BackfillResult> => {
    deps ??= createBackfillDependencies(logger, metrics, { directWrites, ...overrides });
    return handleBackfillEvent(
      event,
      {
        requestId: context.awsRequestId,
        remainingMs: () => context.getRemainingTimeInMillis(),
      },
      deps
    );
  };
  return middy<BackfillEvent, BackfillResult>(backfillHandler, { timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
}

/**
 * The Lambda handler.
 *
 * @example
 * ```typescript
 * process.env.REPORTS_BUCKET = 'skewless-reports';
 * const { handler } = await import('./functions/backfill/index.ts');
 * await handler(s3Event, context);
 * ```
 */
export const handler = createBackfillHandler();

// Without CONTINUATION_QUEUE_URL (the embedded default) continuations invoke this handler in-process.
inProcessContinuations.deliverTo(handler);

export { createBackfillHandler };

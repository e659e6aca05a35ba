/**
 * IngestFunction — trigger: Kinesis event source mapping (`ReportBatchItemFailures`).
 * Writes each record to the online and offline stores (BatchWriteRecord, up to 25 records a call),
 * dead-letters records that can never be written, and reports the rest by sequence number for a
 * retry. See docs/ingest.md.
 * Records of a group with derived features get them computed on the way (docs/derived-features.md).
 *
 * Thin wiring only: the pipeline lives in shared/ingest.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { derivedFeaturesEnabled, ingestWithDerivedFeatures } from '../../shared/ingest/derived.ts';
import {
  createIngestRuntime,
  type IngestRuntime,
  ingestKinesisEvent,
  readIngestConfig,
} from '../../shared/ingest/index.ts';
import { logger, metrics } from '../../shared/runtime/powertools.ts';

/**
 * Built at cold start: configuration checked, clients created once with keep-alive. A
 * configuration error is logged at init and rethrown by every invocation, before any record is
 * touched, so the mapping retries (and the iterator-age alarm fires) until it is fixed; importing
 * the module (tests, tooling) never throws.
 */
const runtime: IngestRuntime | Error = (() => {
  try {
    return createIngestRuntime(readIngestConfig(), { logger, metrics });
  } catch (error) {
    logger.error('ingest configuration is invalid', { error });
    return error as Error;
  }
})();

/** Derived features (docs/derived-features.md) on unless `DERIVED_FEATURES=off`. */
const ingest: typeof ingestKinesisEvent | Error = (() => {
  try {
    return derivedFeaturesEnabled() ? ingestWithDerivedFeatures : ingestKinesisEvent;
  } catch (error) {
    logger.error('ingest configuration is invalid', { error });
    return error as Error;
  }
})();

const ingestHandler = async (
  event: KinesisStreamEvent,
  context: Context
): Promise<KinesisStreamBatchResponse> => {
  if (runtime instanceof Error) throw runtime;
  if (ingest instanceof Error) throw ingest;
  return ingest(event, runtime, {
    remainingTimeMs: context.getRemainingTimeInMillis?.(),
  });
};

/**
 * The Lambda handler: Powertools Logger context and EMF metrics (with the cold-start metric)
 * around {@link ingestWithDerivedFeatures}, or {@link ingestKinesisEvent} with
 * `DERIVED_FEATURES=off`.
 *
 * @example
 * ```typescript
 * process.env.DEAD_LETTER_DIR = '.skewless/dead-letters';
 * const { handler } = await import('./functions/ingest/index.ts');
 * const { batchItemFailures } = await handler(kinesisEvent, context);
 * ```
 */
export const handler = middy(ingestHandler)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));

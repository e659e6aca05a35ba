import { S3Client } from '@aws-sdk/client-s3';
import type { SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  baseClientConfig,
  createFeatureStoreClient,
  keepAliveHandler,
  lazyClient,
} from '../runtime/clients.ts';
import type { LogSink } from '../runtime/powertools.ts';
import { type BackfillConfig, loadBackfillConfig } from './config.ts';
import {
  type ContinuationQueue,
  inProcessBatchContinuations,
  inProcessContinuations,
  SqsContinuationQueue,
} from './continuation.ts';
import { DropKind } from './objectKey.ts';
import type { BackfillDependencies, BackfillProgress, MetricsSink } from './runBackfill.ts';

/**
 * An S3 client for the backfill. Path-style addressing when an endpoint is configured
 * (`AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`, e.g. the local S3 on loopback), since such
 * endpoints have no per-bucket host names; AWS itself serves both styles.
 */
function createBackfillS3Client(): S3Client {
  const endpointOverridden =
    (process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL ?? '') !== '';
  return new S3Client({
    ...baseClientConfig(),
    forcePathStyle: endpointOverridden,
    requestHandler: keepAliveHandler({ maxSockets: 16, requestTimeoutMs: 60_000 }),
  });
}

/** What a caller may replace when building the dependencies (the CLI, tests). */
interface DependencyOverrides {
  readonly config?: BackfillConfig;
  readonly s3?: S3Client;
  readonly featureStore?: SageMakerFeatureStoreRuntimeClient;
  readonly describeGroup?: BackfillDependencies['describeGroup'];
  /** Direct mode's Parquet writes: the backfill function passes `directWrites` (directSink.ts). */
  readonly directWrites?: BackfillDependencies['directWrites'];
  readonly shouldStop?: BackfillDependencies['shouldStop'];
  readonly onFinished?: BackfillDependencies['onFinished'];
  readonly continuations?: ContinuationQueue;
  readonly onProgress?: (progress: BackfillProgress) => void;
  readonly now?: () => number;
  /** `batch` for the batch function (both stores, batch-fed groups only); default `backfill`. */
  readonly kind?: DropKind;
  /** Batch only: count, write nothing (the CLI's `--dry-run`). */
  readonly dryRun?: boolean;
}

/**
 * Builds the backfill's clients and settings from the environment: S3, the Feature Store
 * runtime (keep-alive, one socket per write in flight), and the continuation queue (SQS when
 * `CONTINUATION_QUEUE_URL` is set, else the in-process queue).
 *
 * @example
 * ```typescript
 * import { createBackfillDependencies } from './shared/backfill/dependencies.ts';
 * import { logger, metrics } from './shared/runtime/powertools.ts';
 * const deps = createBackfillDependencies(logger, metrics);
 * ```
 */
function createBackfillDependencies(
  logger: LogSink,
  metrics: MetricsSink,
  overrides: DependencyOverrides = {}
): BackfillDependencies {
  const config = overrides.config ?? loadBackfillConfig();
  const kind = overrides.kind ?? DropKind.Backfill;
  const continuations =
    overrides.continuations ??
    (config.continuationQueueUrl !== undefined
      ? new SqsContinuationQueue(
          lazyClient(() => new SQSClient(baseClientConfig())),
          config.continuationQueueUrl
        )
      : kind === DropKind.Batch
        ? inProcessBatchContinuations
        : inProcessContinuations);
  return {
    s3: overrides.s3 ?? createBackfillS3Client(),
    // Batch drops write the online store of serving groups: the SDK's adaptive mode slows the
    // whole client down when the store throttles instead of spending its throughput on retries.
    featureStore:
      overrides.featureStore ??
      createFeatureStoreClient({
        maxSockets: config.concurrency,
        ...(kind === DropKind.Batch ? { adaptive: true } : {}),
      }),
    ...(overrides.describeGroup !== undefined ? { describeGroup: overrides.describeGroup } : {}),
    ...(overrides.directWrites !== undefined ? { directWrites: overrides.directWrites } : {}),
    ...(overrides.shouldStop !== undefined ? { shouldStop: overrides.shouldStop } : {}),
    ...(overrides.onFinished !== undefined ? { onFinished: overrides.onFinished } : {}),
    continuations,
    config,
    logger,
    metrics,
    kind,
    ...(overrides.dryRun === true ? { dryRun: true } : {}),
    ...(overrides.now !== undefined ? { now: overrides.now } : {}),
    ...(overrides.onProgress !== undefined ? { onProgress: overrides.onProgress } : {}),
  };
}

export type { DependencyOverrides };
export { createBackfillDependencies, createBackfillS3Client };

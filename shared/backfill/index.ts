export type { BackfillConfig } from './config.ts';
export { loadBackfillConfig } from './config.ts';
export type { ContinuationQueue, InProcessOptions, SqsHandler } from './continuation.ts';
export {
  InProcessContinuationQueue,
  inProcessBatchContinuations,
  inProcessContinuations,
  localContext,
  readContinuationMessage,
  SqsContinuationQueue,
  sqsEventOf,
} from './continuation.ts';
export type { DependencyOverrides } from './dependencies.ts';
export { createBackfillDependencies, createBackfillS3Client } from './dependencies.ts';
export type { S3InvocationResult } from './handleEvent.ts';
export { handleBackfillEvent, sourceOfRecord } from './handleEvent.ts';
export type { BackfillKey, ReportKeys } from './objectKey.ts';
export {
  BACKFILL_PREFIX,
  DROP_PREFIX,
  DropKind,
  parseBackfillKey,
  parseDropKey,
  reportKeys,
  versionTag,
} from './objectKey.ts';
export type {
  BackfillDependencies,
  BackfillOutcome,
  BackfillProgress,
  InvocationBudget,
  MetricsSink,
} from './runBackfill.ts';
export { BackfillMetric, BatchMetric, continueBackfill, startBackfill } from './runBackfill.ts';
export type {
  BackfillReport,
  BackfillState,
  ContinuationMessage,
  RejectLine,
  SourceObject,
} from './types.ts';
export { BackfillStatus, Compression, SourceFormat } from './types.ts';

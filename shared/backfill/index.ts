/**
 * S3 backfill and batch drops: the logic behind `functions/backfill`, `functions/batch` and their
 * local runners. See docs/backfill.md and docs/batch.md.
 */
export { loadBackfillConfig } from './config.ts';
export { inProcessBatchContinuations, inProcessContinuations } from './continuation.ts';
export type { DependencyOverrides } from './dependencies.ts';
export { createBackfillDependencies } from './dependencies.ts';
export type { S3InvocationResult } from './handleEvent.ts';
export { handleBackfillEvent } from './handleEvent.ts';
export { DropKind } from './objectKey.ts';
export type { BackfillDependencies } from './runBackfill.ts';
export type { BackfillReport, SourceObject } from './types.ts';

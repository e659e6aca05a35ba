/**
 * Kinesis ingestion: the logic behind `functions/ingest` and the local runner's poller.
 * See docs/ingest.md for the payload format, configuration and failure semantics.
 */
export type { DeadLetterConfig, IngestConfig } from './config.ts';
export { readIngestConfig } from './config.ts';
export type { DeadLetter, DeadLetterPayload } from './deadLetter.ts';
export {
  buildDeadLetter,
  deadLetterPayloadBytes,
  PayloadEncoding,
  serializeDeadLetter,
} from './deadLetter.ts';
export type { DeadLetterSink, FileSinkOptions, SqsSinkOptions } from './deadLetterSinks.ts';
export { DeadLetterBatcher, FileDeadLetterSink, SqsDeadLetterSink } from './deadLetterSinks.ts';
export type { Rejection, RejectionProblem } from './errors.ts';
export {
  DeadLetterDeliveryError,
  IngestStage,
  NotAttemptedError,
  RetryableIngestError,
} from './errors.ts';
export type {
  IngestBatchResult,
  IngestOptions,
  IngestRuntime,
  IngestRuntimeOverrides,
} from './ingest.ts';
export { createIngestRuntime, ingestBatch, ingestKinesisEvent } from './ingest.ts';
export type { KinesisSource } from './kinesisRecord.ts';
export { kinesisSourceOf } from './kinesisRecord.ts';
export type { MetricsSink } from './metrics.ts';
export { FEATURE_GROUP_DIMENSION, IngestMetric, IngestStats } from './metrics.ts';
export type { RoutedPayload, RouteOptions } from './payload.ts';
export { decodeKinesisData, parseIngestPayload, routePayload, validatePayload } from './payload.ts';
export type { IngestTransform, ValidatedRecord } from './transform.ts';
export { identityTransform } from './transform.ts';
export type { DoneRecord } from './writtenAhead.ts';
export { WrittenAhead } from './writtenAhead.ts';

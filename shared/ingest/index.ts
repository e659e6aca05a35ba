/**
 * Kinesis ingestion: the logic behind `functions/ingest` and the local runner's poller.
 * See docs/ingest.md for the payload format, configuration and failure semantics.
 */
export { readIngestConfig } from './config.ts';
export type { IngestRuntime } from './ingest.ts';
export { createIngestRuntime, ingestKinesisEvent } from './ingest.ts';

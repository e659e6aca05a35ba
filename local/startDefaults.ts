import type { LogLevel } from './runtime/consoleLog.ts';

/** Defaults documented in the README's configuration reference. */
const START_DEFAULTS = {
  dataDir: '.skewless',
  apiPort: 3000,
  storePort: 8765,
  kinesisPort: 4567,
  s3Port: 4569,
  streamName: 'skewless-ingest',
  shards: 2,
  backfillBucket: 'skewless-backfill',
  reportsBucket: 'skewless-reports',
  demoRate: 50,
  demoMaxEvents: 1_000_000,
  auditIntervalSeconds: 300,
  flushIntervalMs: 2_000,
  batchSize: 500,
  batchingWindowMs: 1_000,
  logLevel: 'info' as LogLevel,
} as const;

export { START_DEFAULTS };

import { join } from 'node:path';
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
  /** `S3Uri` of the groups' offline store: the local S3 serves it from the store's files. */
  offlineS3Uri: 's3://skewless-offline-store/offline-store',
  demoRate: 50,
  demoMaxEvents: 1_000_000,
  auditIntervalSeconds: 300,
  flushIntervalMs: 2_000,
  batchSize: 500,
  batchingWindowMs: 1_000,
  logLevel: 'info' as LogLevel,
} as const;

/** S3 URIs under which earlier versions created the local groups (still served). */
const LEGACY_OFFLINE_S3_URIS = ['s3://skewless-local-offline-store/offline-store'] as const;

/**
 * The local S3 mounts that expose the embedded store's offline files (`<store dir>/offline-store`)
 * at the groups' offline S3 URI, so `ResolvedOutputS3Uri` from DescribeFeatureGroup is readable
 * and writable through S3 as on AWS (the backfill's direct mode writes there).
 *
 * @example
 * ```typescript
 * offlineStoreMounts('.skewless/store');
 * // [{ bucket: 'skewless-offline-store', prefix: 'offline-store/', directory: '.skewless/store/offline-store' }, …]
 * ```
 */
function offlineStoreMounts(
  storeDataDir: string
): { bucket: string; prefix: string; directory: string }[] {
  return [START_DEFAULTS.offlineS3Uri, ...LEGACY_OFFLINE_S3_URIS].map((uri) => {
    const [, bucket = '', prefix = ''] = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri) ?? [];
    return { bucket, prefix: `${prefix}/`, directory: join(storeDataDir, 'offline-store') };
  });
}

export { offlineStoreMounts, START_DEFAULTS };

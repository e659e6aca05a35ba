import type { OfflineColumn } from '../offline/parquetFile.ts';
import { WriteMode } from './sink.ts';

/** Where and how direct mode writes a group's offline store. */
interface DirectTarget {
  readonly bucket: string;
  /** Key prefix of the table's `data` folder (the path of `ResolvedOutputS3Uri`), no slashes around. */
  readonly prefix: string;
  /** The group's feature columns, in definition order, as DescribeFeatureGroup lists them. */
  readonly columns: readonly OfflineColumn[];
  /** The offline store's KMS key (`S3StorageConfig.KmsKeyId`): objects are written with it. */
  readonly kmsKeyId?: string;
}

type OfflineTarget =
  | { readonly mode: typeof WriteMode.Direct; readonly target: DirectTarget }
  | { readonly mode: typeof WriteMode.Records; readonly reason: string };

/** The parts of DescribeFeatureGroup's answer this needs. */
interface DescribedGroup {
  readonly FeatureDefinitions?: readonly { FeatureName?: string; FeatureType?: string }[];
  readonly OfflineStoreConfig?: {
    readonly S3StorageConfig?: {
      readonly ResolvedOutputS3Uri?: string;
      readonly KmsKeyId?: string;
    };
    readonly TableFormat?: string;
  };
}

const S3_URI = /^s3:\/\/([^/]+)\/?(.*)$/;

/**
 * Chooses how a backfill writes a group: direct Parquet objects into `ResolvedOutputS3Uri` for
 * Glue-format tables in S3; offline-only record writes for Iceberg tables (their data files
 * belong to the Iceberg table's metadata, which only the service's ingestion maintains) and for
 * locations that are not `s3://` (a standalone embedded store without a local S3 mount).
 *
 * @example
 * ```typescript
 * import { chooseOfflineTarget } from './shared/backfill/offlineTarget.ts';
 * chooseOfflineTarget({
 *   FeatureDefinitions: [{ FeatureName: 'card_id', FeatureType: 'String' }],
 *   OfflineStoreConfig: { S3StorageConfig: { ResolvedOutputS3Uri: 's3://b/p/data' }, TableFormat: 'Glue' },
 * });
 * // { mode: 'direct', target: { bucket: 'b', prefix: 'p/data', columns: [{ n: 'card_id', t: 'String' }] } }
 * ```
 */
function chooseOfflineTarget(described: DescribedGroup): OfflineTarget {
  const offline = described.OfflineStoreConfig;
  if (offline === undefined) {
    return { mode: WriteMode.Records, reason: 'the group has no offline store' };
  }
  if (offline.TableFormat === 'Iceberg') {
    return {
      mode: WriteMode.Records,
      reason: 'Iceberg table: rows are appended through the Feature Store API',
    };
  }
  const uri = offline.S3StorageConfig?.ResolvedOutputS3Uri ?? '';
  const match = S3_URI.exec(uri);
  if (match === null) {
    return { mode: WriteMode.Records, reason: `offline store location "${uri}" is not in S3` };
  }
  const columns: OfflineColumn[] = [];
  for (const d of described.FeatureDefinitions ?? []) {
    if (
      d.FeatureName !== undefined &&
      (d.FeatureType === 'String' || d.FeatureType === 'Integral' || d.FeatureType === 'Fractional')
    ) {
      columns.push({ n: d.FeatureName, t: d.FeatureType });
    }
  }
  const kmsKeyId = offline.S3StorageConfig?.KmsKeyId;
  return {
    mode: WriteMode.Direct,
    target: {
      bucket: match[1] as string,
      prefix: (match[2] as string).replace(/\/+$/, ''),
      columns,
      ...(kmsKeyId !== undefined && kmsKeyId !== '' ? { kmsKeyId } : {}),
    },
  };
}

export type { DescribedGroup, DirectTarget, OfflineTarget };
export { chooseOfflineTarget };

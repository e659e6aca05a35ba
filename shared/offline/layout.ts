/**
 * The offline store layout, as written by the service and by the embedded store:
 * `<root>/<account>/sagemaker/<region>/offline-store/<group>-<creation epoch>/data/
 * year=YYYY/month=MM/day=DD/hour=HH/*.parquet`, and the Glue table name `<group>-<epoch>` in the
 * `sagemaker_featurestore` database. See the Amazon SageMaker Developer Guide, "Feature Store
 * offline store" (https://docs.aws.amazon.com/sagemaker/latest/dg/feature-store-offline.html),
 * and DescribeFeatureGroup's `OfflineStoreConfig` (`ResolvedOutputS3Uri`, `DataCatalogConfig`) in
 * the Amazon SageMaker API Reference; local/store/README.md, "Data layout", shows it on disk.
 */
import { type Dirent, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { OfflineFilesUnreadableError } from './errors.ts';

const DEFAULT_ACCOUNT = '000000000000';
const DEFAULT_REGION = 'us-east-1';
/** The Glue database the service creates offline tables in. */
const OFFLINE_DATABASE = 'sagemaker_featurestore';

interface OfflineLocation {
  /** `<dataDir>/offline-store`. */
  readonly root: string;
  readonly account?: string;
  readonly region?: string;
}

interface GroupTableDirectory {
  /** `<group>-<epoch>`: the directory name and the Glue table name. */
  readonly tableName: string;
  readonly creationEpochSeconds: number;
  /** Absolute or root-relative path of the `data` directory. */
  readonly dataPath: string;
}

/**
 * The directory holding every group's table directory.
 *
 * @example
 * ```typescript
 * offlineGroupsDirectory({ root: '.skewless/offline-store' });
 * // .skewless/offline-store/000000000000/sagemaker/us-east-1/offline-store
 * ```
 */
function offlineGroupsDirectory(location: OfflineLocation): string {
  return join(
    location.root,
    location.account ?? DEFAULT_ACCOUNT,
    'sagemaker',
    location.region ?? DEFAULT_REGION,
    'offline-store'
  );
}

/**
 * The entries of a directory of the offline store; undefined when it is not there (no data yet, a
 * folder removed since its parent was read: nothing in it).
 *
 * @throws OfflineFilesUnreadableError for any other failure (permission denied, an input/output
 *   error, a file where a folder should be), which would otherwise leave the rows under it out
 *   of a result without a word
 */
function offlineDirectoryEntries(dir: string): Dirent[] | undefined {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OfflineFilesUnreadableError(dir, error);
  }
}

/**
 * The current table directory of a group: of every `<group>-<epoch>` directory, the newest epoch
 * (a group deleted and created again keeps its old data beside the new). Undefined when the
 * group never wrote offline.
 *
 * @throws OfflineFilesUnreadableError when the directory of the group tables cannot be listed
 *   (every group would read as never written)
 *
 * @example
 * ```typescript
 * findGroupTable({ root: '.skewless/offline-store' }, 'fraud-cards');
 * // { tableName: 'fraud-cards-1767225600', creationEpochSeconds: 1767225600, dataPath: '…/data' }
 * ```
 */
function findGroupTable(
  location: OfflineLocation,
  groupName: string
): GroupTableDirectory | undefined {
  const dir = offlineGroupsDirectory(location);
  const prefix = `${groupName}-`;
  let best: GroupTableDirectory | undefined;
  for (const entry of offlineDirectoryEntries(dir) ?? []) {
    if (!entry.isDirectory() || !entry.name.startsWith(prefix)) continue;
    const suffix = entry.name.slice(prefix.length);
    // `fraud-cards-v2-1767225600` is not a table of `fraud-cards`: the rest must be the epoch.
    if (!/^\d{1,12}$/.test(suffix)) continue;
    const epoch = Number(suffix);
    if (best === undefined || epoch > best.creationEpochSeconds) {
      best = {
        tableName: entry.name,
        creationEpochSeconds: epoch,
        dataPath: join(dir, entry.name, 'data'),
      };
    }
  }
  return best;
}

export type { GroupTableDirectory, OfflineLocation };
export {
  DEFAULT_ACCOUNT,
  DEFAULT_REGION,
  findGroupTable,
  OFFLINE_DATABASE,
  offlineDirectoryEntries,
};

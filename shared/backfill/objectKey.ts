import { Compression, type SourceFormat, type SourceObject } from './types.ts';

/** Every backfill file lives under this prefix: `backfill/<featureGroup>/<anything>.<ext>`. */
const BACKFILL_PREFIX = 'backfill/';

/** Extensions (lower case, without compression suffix) and the format they select. */
const FORMAT_BY_EXTENSION: Readonly<Record<string, SourceFormat>> = {
  parquet: 'parquet',
  pq: 'parquet',
  csv: 'csv',
  jsonl: 'jsonl',
  ndjson: 'jsonl',
  json: 'jsonl',
};

const GZIP_EXTENSIONS = new Set(['gz', 'gzip']);

/** What the key of a backfill file says. */
interface BackfillKey {
  readonly featureGroup: string;
  /** The key below `backfill/<featureGroup>/`. */
  readonly file: string;
  /** Undefined when the extension names no supported format (the report says so). */
  readonly format: SourceFormat | undefined;
  readonly compression: Compression;
}

/**
 * Reads group, format and compression from a key. Returns undefined for keys that are not
 * backfill files: outside `backfill/`, folder placeholders (`…/`), or without a group segment.
 *
 * @example
 * ```typescript
 * import { parseBackfillKey } from './shared/backfill/objectKey.ts';
 * parseBackfillKey('backfill/fraud-cards/2025/01.csv.gz');
 * // { featureGroup: 'fraud-cards', file: '2025/01.csv.gz', format: 'csv', compression: 'gzip' }
 * ```
 */
function parseBackfillKey(key: string): BackfillKey | undefined {
  if (!key.startsWith(BACKFILL_PREFIX) || key.endsWith('/')) return undefined;
  const rest = key.slice(BACKFILL_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  const featureGroup = rest.slice(0, slash);
  const file = rest.slice(slash + 1);
  const name = (file.split('/').at(-1) ?? '').toLowerCase();
  const parts = name.split('.');
  let extension = parts.length > 1 ? (parts.pop() ?? '') : '';
  let compression: Compression = Compression.None;
  if (GZIP_EXTENSIONS.has(extension)) {
    compression = Compression.Gzip;
    extension = parts.length > 1 ? (parts.pop() ?? '') : '';
  }
  const format = Object.hasOwn(FORMAT_BY_EXTENSION, extension)
    ? FORMAT_BY_EXTENSION[extension]
    : undefined;
  return { featureGroup, file, format, compression };
}

/**
 * Which version of the object the backfill is about: the version id on a versioned bucket,
 * else the ETag. Keys the state, rejects and report, so a re-upload (a new version) is a new
 * backfill while a repeated event for the same version finds the existing claim.
 */
function versionTag(source: SourceObject): string {
  return source.versionId !== undefined && source.versionId !== 'null'
    ? `v-${source.versionId}`
    : `e-${source.etag}`;
}

/** Keys of a backfill's objects in the reports bucket. */
interface ReportKeys {
  readonly prefix: string;
  readonly state: string;
  readonly rejects: string;
  readonly report: string;
}

/**
 * `backfill/<featureGroup>/<file>/<version tag>/{state.json,rejects.jsonl,report.json}`: the
 * rejects and report side by side, one folder per object version.
 */
function reportKeys(source: SourceObject): ReportKeys {
  const below = source.key.startsWith(BACKFILL_PREFIX)
    ? source.key.slice(BACKFILL_PREFIX.length)
    : source.key;
  const prefix = `${BACKFILL_PREFIX}${below}/${versionTag(source)}/`;
  return {
    prefix,
    state: `${prefix}state.json`,
    rejects: `${prefix}rejects.jsonl`,
    report: `${prefix}report.json`,
  };
}

export type { BackfillKey, ReportKeys };
export { BACKFILL_PREFIX, parseBackfillKey, reportKeys, versionTag };

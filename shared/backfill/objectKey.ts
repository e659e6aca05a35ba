import { Compression, type SourceFormat, type SourceObject } from './types.ts';

/** Every backfill file lives under this prefix: `backfill/<featureGroup>/<anything>.<ext>`. */
const BACKFILL_PREFIX = 'backfill/';

/**
 * The two kinds of drop the same pipeline reads, each under its own prefix and served by its own
 * function: `backfill/<group>/` writes the offline store only (history), `batch/<group>/` writes
 * both stores (batch features of batch-fed groups, docs/batch.md). A function handles the keys
 * of its own kind only, so a drop can never change kind by accident.
 */
const DropKind = {
  Backfill: 'backfill',
  Batch: 'batch',
} as const;
type DropKind = (typeof DropKind)[keyof typeof DropKind];

const DROP_PREFIX: Readonly<Record<DropKind, string>> = {
  backfill: BACKFILL_PREFIX,
  batch: 'batch/',
};

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

/**
 * Every file ending a drop may have, for messages: each format's extensions, the text formats also
 * gzipped (Parquet compresses inside the file).
 */
const SUPPORTED_EXTENSIONS: readonly string[] = Object.entries(FORMAT_BY_EXTENSION).flatMap(
  ([extension, format]) =>
    format === 'parquet'
      ? [`.${extension}`]
      : [`.${extension}`, ...[...GZIP_EXTENSIONS].map((gzip) => `.${extension}.${gzip}`)]
);

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
  return parseDropKey(key, DropKind.Backfill);
}

/**
 * Like {@link parseBackfillKey} for the drops of one kind: undefined for keys outside that kind's
 * prefix (`batch/fraud-cards/…` is no backfill file, `backfill/fraud-cards/…` no batch drop).
 *
 * @example
 * ```typescript
 * import { parseDropKey } from './shared/backfill/objectKey.ts';
 * parseDropKey('batch/fraud-cards/nightly.parquet', 'batch');
 * // { featureGroup: 'fraud-cards', file: 'nightly.parquet', format: 'parquet', compression: 'none' }
 * ```
 */
function parseDropKey(key: string, kind: DropKind): BackfillKey | undefined {
  const prefix = DROP_PREFIX[kind];
  if (!key.startsWith(prefix) || key.endsWith('/')) return undefined;
  const rest = key.slice(prefix.length);
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
  /** Latest progress snapshot (overwritten while the backfill runs; for followers like the CLI). */
  readonly progress: string;
}

/**
 * `backfill/<featureGroup>/<file>/<version tag>/{state.json,rejects.jsonl,report.json}`: the
 * rejects and report side by side, one folder per object version (`batch/…` for batch drops).
 */
function reportKeys(source: SourceObject): ReportKeys {
  const kindPrefixed = Object.values(DROP_PREFIX).some((p) => source.key.startsWith(p));
  const prefix = `${kindPrefixed ? '' : BACKFILL_PREFIX}${source.key}/${versionTag(source)}/`;
  return {
    prefix,
    state: `${prefix}state.json`,
    rejects: `${prefix}rejects.jsonl`,
    report: `${prefix}report.json`,
    progress: `${prefix}progress.json`,
  };
}

export type { BackfillKey, ReportKeys };
export {
  BACKFILL_PREFIX,
  DROP_PREFIX,
  DropKind,
  parseBackfillKey,
  parseDropKey,
  reportKeys,
  SUPPORTED_EXTENSIONS,
  versionTag,
};

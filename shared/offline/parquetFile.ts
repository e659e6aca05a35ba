/**
 * The offline store's file format, written the way the service writes it (partitions, file names
 * and service columns: Amazon SageMaker Developer Guide, "Feature Store offline store",
 * https://docs.aws.amazon.com/sagemaker/latest/dg/feature-store-offline.html; the Parquet types
 * are tabled in local/store/README.md, "Offline Parquet schema"): one Parquet file per hourly
 * partition of the event time, under `year=YYYY/month=MM/day=DD/hour=HH/`, named
 * `<yyyyMMddTHHmmssZ of the latest event time>_<16 alphanumerics>.parquet`. Columns: one OPTIONAL
 * column per scalar feature in definition order — String → BYTE_ARRAY/UTF8, Integral → INT64,
 * Fractional → DOUBLE (the event time keeps its feature type) — then `write_time` and
 * `api_invocation_time` as INT64 TIMESTAMP_MICROS (UTC instants: DuckDB reads them as TIMESTAMP,
 * Athena/Glue as timestamp) and `is_deleted` BOOLEAN. Snappy. Used by the embedded store's offline
 * flush and by the backfill's direct mode, so both write byte-for-byte the same layout and types.
 */
import { createHash, randomBytes } from 'node:crypto';
import { parquetWriteBuffer } from 'hyparquet-writer';

/** A feature column of an offline table. */
interface OfflineColumn {
  /** Feature name. */
  readonly n: string;
  /** Feature type. */
  readonly t: 'String' | 'Integral' | 'Fractional';
}

/** A cell as the encoder takes it: text, int64 (bigint), double, or null (missing feature). */
type OfflineCell = string | bigint | number | null;

/** The rows of one file, column by column. */
interface OfflineFileData {
  readonly columns: readonly OfflineColumn[];
  /** One array per feature column (same order as `columns`), `rows` cells each. */
  readonly cells: readonly OfflineCell[][];
  readonly rows: number;
  /** `write_time` of every row, epoch microseconds. */
  readonly writeMicros: bigint;
  /** `api_invocation_time` per row (epoch microseconds), or one value for every row. */
  readonly apiMicros: readonly bigint[] | bigint;
  /** `is_deleted` per row, or one value for every row. */
  readonly deleted: readonly boolean[] | boolean;
}

const TIMESTAMP = {
  type: 'INT64',
  converted_type: 'TIMESTAMP_MICROS',
  repetition_type: 'OPTIONAL',
} as const;

function schemaElement(column: OfflineColumn) {
  if (column.t === 'String') {
    return {
      name: column.n,
      type: 'BYTE_ARRAY',
      converted_type: 'UTF8',
      repetition_type: 'OPTIONAL',
    } as const;
  }
  if (column.t === 'Integral')
    return { name: column.n, type: 'INT64', repetition_type: 'OPTIONAL' } as const;
  return { name: column.n, type: 'DOUBLE', repetition_type: 'OPTIONAL' } as const;
}

/**
 * Encodes one offline file: a single row group (a file is one partition of one flush or one
 * backfill part, sized by the writer), snappy, no statistics (the service's files are read
 * whole by partition; statistics cost a quarter of the encoding time).
 *
 * @example
 * ```typescript
 * import { encodeOfflineParquet } from './shared/offline/parquetFile.ts';
 * const bytes = encodeOfflineParquet({
 *   columns: [{ n: 'card_id', t: 'String' }, { n: 'event_time', t: 'String' }],
 *   cells: [['card-1'], ['2025-01-01T00:00:00Z']],
 *   rows: 1, writeMicros: 1_735_689_600_000_000n, apiMicros: 1_735_689_600_000_000n, deleted: false,
 * });
 * ```
 */
function encodeOfflineParquet(data: OfflineFileData): Uint8Array {
  const { columns, rows } = data;
  const constant = <T>(value: T): T[] => new Array<T>(rows).fill(value);
  const apiMicros = typeof data.apiMicros === 'bigint' ? constant(data.apiMicros) : data.apiMicros;
  const deleted = typeof data.deleted === 'boolean' ? constant(data.deleted) : data.deleted;
  const buffer = parquetWriteBuffer({
    columnData: [
      ...columns.map((c, i) => ({ name: c.n, data: data.cells[i] as OfflineCell[] })),
      { name: 'write_time', data: constant(data.writeMicros) },
      { name: 'api_invocation_time', data: apiMicros as bigint[] },
      { name: 'is_deleted', data: deleted as boolean[] },
    ],
    schema: [
      { name: 'root', num_children: columns.length + 3 },
      ...columns.map(schemaElement),
      { name: 'write_time', ...TIMESTAMP },
      { name: 'api_invocation_time', ...TIMESTAMP },
      { name: 'is_deleted', type: 'BOOLEAN', repetition_type: 'OPTIONAL' },
    ],
    codec: 'SNAPPY',
    statistics: false,
    rowGroupSize: Math.max(1, rows),
    createdBy: 'skewless offline store writer',
  });
  return new Uint8Array(buffer);
}

/** A cell from a feature value's wire text (`ValueAsString`), typed as the column is. */
function offlineCell(type: OfflineColumn['t'], text: string): OfflineCell {
  return type === 'Integral' ? BigInt(text) : type === 'Fractional' ? Number(text) : text;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

const partitionCache = new Map<number, string>();

/** Hive partition of an event time (whole epoch seconds): `year=YYYY/month=MM/day=DD/hour=HH` (UTC). */
function offlinePartition(epochSeconds: number): string {
  const hour = Math.floor(epochSeconds / 3600);
  let partition = partitionCache.get(hour);
  if (partition === undefined) {
    const d = new Date(hour * 3_600_000);
    partition = `year=${String(d.getUTCFullYear()).padStart(4, '0')}/month=${pad2(d.getUTCMonth() + 1)}/day=${pad2(d.getUTCDate())}/hour=${pad2(d.getUTCHours())}`;
    if (partitionCache.size > 10_000) partitionCache.clear();
    partitionCache.set(hour, partition);
  }
  return partition;
}

/** `yyyyMMddTHHmmssZ` of an event time (whole epoch seconds): the prefix of offline file names. */
function offlineFileStamp(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  return `${String(d.getUTCFullYear()).padStart(4, '0')}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}Z`;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * The 16 alphanumerics of an offline file name. The service picks them at random, and so does
 * this without a `seed` (the embedded store's flush); a writer that must be idempotent (the
 * backfill) derives them from what identifies the file's contents (`seed`), so writing the same
 * rows again replaces the file instead of adding a copy.
 *
 * @example
 * ```typescript
 * offlineFileSuffix(); // e.g. 'q3ZkP0aL9xYb2VnC', new every call
 * offlineFileSuffix('part-7'); // the same 16 alphanumerics every time
 * ```
 */
function offlineFileSuffix(seed?: string): string {
  const bytes = seed === undefined ? randomBytes(16) : createHash('sha256').update(seed).digest();
  let out = '';
  for (let i = 0; i < 16; i++) out += ALPHANUMERIC[(bytes[i] as number) % ALPHANUMERIC.length];
  return out;
}

export type { OfflineCell, OfflineColumn, OfflineFileData };
export { encodeOfflineParquet, offlineCell, offlineFileStamp, offlineFileSuffix, offlinePartition };

/**
 * Offline Parquet files: encoding (hyparquet-writer, snappy) and the durable write
 * (`<name>.tmp`, fsync, rename). Runs on the offline worker thread (see offlineWorker.ts).
 *
 * Schema: one OPTIONAL column per scalar feature in definition order — String → BYTE_ARRAY/UTF8,
 * Integral → INT64, Fractional → DOUBLE (the event time keeps its feature type) — then
 * `write_time` and `api_invocation_time` as INT64 TIMESTAMP_MICROS (UTC instants; DuckDB reads
 * them as TIMESTAMP, Athena/Glue as timestamp) and `is_deleted` BOOLEAN.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { StoredFeatureValue } from './validate.ts';

interface OfflineColumn {
  /** Feature name. */
  n: string;
  /** Feature type. */
  t: 'String' | 'Integral' | 'Fractional';
}

/** One Parquet file to write: rows of one offline table and hourly partition. */
interface ParquetJob {
  readonly path: string;
  readonly columns: readonly OfflineColumn[];
  /** The rows' stored records (JSON arrays of FeatureValue), joined with '\n'. */
  readonly records: string;
  /** `api_invocation_time` per row, epoch microseconds. */
  readonly apiMicros: Float64Array;
  /** `is_deleted` per row (1 = delete marker). */
  readonly deleted: Uint8Array;
  /** `write_time` of every row, epoch microseconds. */
  readonly writeMicros: number;
}

type Cell = string | bigint | number | boolean | null;

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

/** Encodes the rows of one job as a snappy-compressed Parquet file. */
function encodeParquet(job: ParquetJob): ArrayBuffer {
  const { columns } = job;
  const records = job.records.split('\n');
  const n = records.length;
  const index = new Map<string, number>();
  const data: Cell[][] = columns.map((c, i) => {
    index.set(c.n, i);
    return new Array<Cell>(n).fill(null);
  });
  const writeTime = new Array<bigint>(n).fill(BigInt(job.writeMicros));
  const apiTime = new Array<bigint>(n);
  const deleted = new Array<boolean>(n);
  for (let r = 0; r < n; r++) {
    apiTime[r] = BigInt(job.apiMicros[r] ?? 0);
    deleted[r] = job.deleted[r] === 1;
    for (const fv of JSON.parse(records[r] as string) as StoredFeatureValue[]) {
      const c = index.get(fv.FeatureName);
      if (c === undefined || !('ValueAsString' in fv)) continue;
      const type = (columns[c] as OfflineColumn).t;
      const v = fv.ValueAsString;
      (data[c] as Cell[])[r] =
        type === 'Integral' ? BigInt(v) : type === 'Fractional' ? Number(v) : v;
    }
  }
  return parquetWriteBuffer({
    columnData: [
      ...columns.map((c, i) => ({ name: c.n, data: data[i] as Cell[] })),
      { name: 'write_time', data: writeTime },
      { name: 'api_invocation_time', data: apiTime },
      { name: 'is_deleted', data: deleted },
    ],
    schema: [
      { name: 'root', num_children: columns.length + 3 },
      ...columns.map(schemaElement),
      { name: 'write_time', ...TIMESTAMP },
      { name: 'api_invocation_time', ...TIMESTAMP },
      { name: 'is_deleted', type: 'BOOLEAN', repetition_type: 'OPTIONAL' },
    ],
    codec: 'SNAPPY',
    createdBy: 'skewless embedded feature store',
  });
}

/**
 * Writes the job's file unless it already exists (then it was completed before a crash).
 * Returns whether a file was written.
 */
async function writeParquetFile(job: ParquetJob): Promise<boolean> {
  if (existsSync(job.path)) return false;
  await mkdir(dirname(job.path), { recursive: true });
  const bytes = encodeParquet(job);
  const tmp = `${job.path}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(new Uint8Array(bytes));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, job.path);
  return true;
}

export type { OfflineColumn, ParquetJob };
export { encodeParquet, writeParquetFile };

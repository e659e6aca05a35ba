/**
 * Offline Parquet files: the durable write (`<name>.tmp`, fsync, rename) of files encoded by
 * `shared/offline/parquetFile.ts` — the same encoder, schema and types as the backfill's direct
 * offline writes. Runs on the offline worker thread (see offlineWorker.ts).
 */
import { existsSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  encodeOfflineParquet,
  type OfflineCell,
  type OfflineColumn,
  offlineCell,
} from '../../shared/offline/parquetFile.ts';
import { journalValues } from './db.ts';

/** One Parquet file to write: rows of one offline table and hourly partition. */
interface ParquetJob {
  readonly path: string;
  readonly columns: readonly OfflineColumn[];
  /** The rows' journal records (db.ts `journalRecord`). */
  readonly records: readonly string[];
  /** `api_invocation_time` per row, epoch microseconds. */
  readonly apiMicros: readonly number[];
  /** `is_deleted` per row (1 = delete marker). */
  readonly deleted: readonly number[];
  /** `write_time` of every row, epoch microseconds. */
  readonly writeMicros: number;
}

/** Encodes the rows of one job as a snappy-compressed Parquet file (shared/offline/parquetFile.ts). */
function encodeParquet(job: ParquetJob): Uint8Array {
  const { columns, records } = job;
  const n = records.length;
  const cells: OfflineCell[][] = columns.map(() => new Array<OfflineCell>(n).fill(null));
  const apiMicros = new Array<bigint>(n);
  const deleted = new Array<boolean>(n);
  for (let r = 0; r < n; r++) {
    apiMicros[r] = BigInt(job.apiMicros[r] ?? 0);
    deleted[r] = job.deleted[r] === 1;
    const values = journalValues(records[r] as string);
    for (let c = 0; c < columns.length; c++) {
      const column = columns[c] as OfflineColumn;
      const text = values[column.n];
      if (typeof text === 'string') (cells[c] as OfflineCell[])[r] = offlineCell(column.t, text);
    }
  }
  return encodeOfflineParquet({
    columns,
    cells,
    rows: n,
    writeMicros: BigInt(job.writeMicros),
    apiMicros,
    deleted,
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
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, job.path);
  return true;
}

export type { OfflineColumn, ParquetJob };
export { writeParquetFile };

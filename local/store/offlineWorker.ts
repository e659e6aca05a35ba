/**
 * An offline worker thread: reads a claimed journal range from its own SQLite connection, then
 * encodes and writes the range's Parquet files (reading, parsing, encoding and fsync all off the
 * request thread), and checkpoints the WAL (PASSIVE: never blocks the request thread).
 *
 * The range is committed before the request reaches the worker (the claim is its own
 * transaction), so the worker's read snapshot holds every row of it.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';
import { offlinePartition } from '../../shared/offline/parquetFile.ts';
import { offlineFileKey } from './eventTime.ts';
import { type OfflineColumn, writeParquetFile } from './parquet.ts';

/** One file of a claimed batch: the rows of one table and hourly partition. */
interface BatchFileJob {
  /** `offlineFileKey(table id, partition)` of the rows that go into the file. */
  readonly key: string;
  readonly path: string;
  readonly columns: readonly OfflineColumn[];
}

/** A claimed journal range [lo, hi] and the files its rows go to. */
interface BatchJob {
  readonly lo: number;
  readonly hi: number;
  /** `write_time` of every row, epoch microseconds. */
  readonly writeMicros: number;
  readonly files: readonly BatchFileJob[];
}

type WorkerRequest =
  | { readonly id: number; readonly kind: 'batch'; readonly batch: BatchJob }
  | { readonly id: number; readonly kind: 'checkpoint' };

/** Per written file (skipped ones, already complete before a crash, are absent): path and rows. */
interface WrittenFile {
  readonly path: string;
  readonly rows: number;
}

type WorkerResponse =
  | { readonly id: number; readonly ok: true; readonly written: readonly WrittenFile[] }
  | { readonly id: number; readonly ok: false; readonly error: string };

/** A journal row of the range, as an array (cheaper to build than an object per row). */
type RangeRow = [tid: number, etSeconds: number, apiMicros: number, deleted: number, rec: string];

interface FileRows {
  records: string[];
  apiMicros: number[];
  deleted: number[];
}

class Journal {
  private readonly db: DatabaseSync;
  private readonly range: StatementSync;

  constructor(databasePath: string) {
    this.db = new DatabaseSync(databasePath);
    this.db.exec('PRAGMA busy_timeout = 1000');
    this.range = this.db.prepare(
      'SELECT tid, et_s, api_us, del, rec FROM journal WHERE seq BETWEEN ? AND ? ORDER BY seq'
    );
    this.range.setReturnArrays(true);
  }

  /** The range's rows, grouped by file key, in journal order. */
  rowsByFile(lo: number, hi: number): Map<string, FileRows> {
    const byFile = new Map<string, FileRows>();
    for (const [tid, etSeconds, apiMicros, deleted, rec] of this.range.all(
      lo,
      hi
    ) as unknown as RangeRow[]) {
      const key = offlineFileKey(tid, offlinePartition(etSeconds));
      let file = byFile.get(key);
      if (file === undefined) {
        file = { records: [], apiMicros: [], deleted: [] };
        byFile.set(key, file);
      }
      file.records.push(rec);
      file.apiMicros.push(apiMicros);
      file.deleted.push(deleted);
    }
    return byFile;
  }

  checkpoint(): void {
    this.db.exec('PRAGMA wal_checkpoint(PASSIVE)');
  }
}

/**
 * Writes every file of the batch. They are started together: one file's encoding runs while the
 * previous one's write and fsync run on the thread pool. All settle before the answer.
 */
async function writeBatch(journal: Journal, batch: BatchJob): Promise<WrittenFile[]> {
  const byFile = journal.rowsByFile(batch.lo, batch.hi);
  const written: WrittenFile[] = [];
  const settled = await Promise.allSettled(
    batch.files.map(async (file) => {
      const rows = byFile.get(file.key);
      if (rows === undefined || rows.records.length === 0) return;
      const done = await writeParquetFile({
        path: file.path,
        columns: file.columns,
        ...rows,
        writeMicros: batch.writeMicros,
      });
      if (done) written.push({ path: file.path, rows: rows.records.length });
    })
  );
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return written;
}

const port = parentPort;
if (port !== null) {
  const { databasePath } = workerData as { databasePath: string };
  let journal: Journal | undefined;
  port.on('message', async (request: WorkerRequest) => {
    let response: WorkerResponse;
    try {
      journal ??= new Journal(databasePath);
      if (request.kind === 'batch') {
        response = { id: request.id, ok: true, written: await writeBatch(journal, request.batch) };
      } else {
        journal.checkpoint();
        response = { id: request.id, ok: true, written: [] };
      }
    } catch (error) {
      response = {
        id: request.id,
        ok: false,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      };
    }
    port.postMessage(response);
  });
}

export type { BatchFileJob, BatchJob, WorkerRequest, WorkerResponse, WrittenFile };

/**
 * The offline worker thread: encodes and writes Parquet files (CPU and fsync off the request
 * thread) and checkpoints the SQLite WAL from its own connection (PASSIVE: never blocks the
 * request thread's reads and writes).
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';
import { type ParquetJob, writeParquetFile } from './parquet.ts';

type WorkerRequest =
  | { readonly id: number; readonly kind: 'file'; readonly job: ParquetJob }
  | { readonly id: number; readonly kind: 'checkpoint' };

type WorkerResponse =
  | { readonly id: number; readonly ok: true; readonly written: boolean }
  | { readonly id: number; readonly ok: false; readonly error: string };

const port = parentPort;
if (port !== null) {
  const { databasePath } = workerData as { databasePath: string };
  let db: DatabaseSync | undefined;
  port.on('message', async (request: WorkerRequest) => {
    let response: WorkerResponse;
    try {
      if (request.kind === 'file') {
        response = { id: request.id, ok: true, written: await writeParquetFile(request.job) };
      } else {
        db ??= new DatabaseSync(databasePath);
        db.exec('PRAGMA busy_timeout = 1000');
        db.exec('PRAGMA wal_checkpoint(PASSIVE)');
        response = { id: request.id, ok: true, written: false };
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

export type { WorkerRequest, WorkerResponse };

/**
 * The offline store writer. Acknowledged offline rows sit in the SQLite `journal` (written in the
 * same transaction as the online change). A flush turns them into Parquet files without ever
 * writing a row twice, even across crashes:
 *
 *   1. In one transaction, a batch claims the journal range [lo, hi] and records the exact file
 *      names it will produce (one per table and hourly partition; random suffixes chosen now).
 *   2. Each file is written to `<name>.tmp`, fsynced and renamed into place; a file that already
 *      exists is skipped (it was completed before a crash).
 *   3. In one transaction the journal range and the batch are deleted.
 *
 * Two batches are in flight at once: while the worker thread encodes and writes one batch's files
 * (all of them queued together, so one file's fsync overlaps the next one's encoding), the
 * request thread claims the next journal range and prepares its files.
 *
 * On start, an unfinished batch is completed first (step 2 and 3 again), so rows are neither lost
 * nor duplicated. Files: `<dataDir>/offline-store/<table dir>/year=YYYY/month=MM/day=DD/hour=HH/
 * <yyyyMMddTHHmmssZ of the latest event time>_<16 random alphanumerics>.parquet`, snappy.
 */
import { randomBytes } from 'node:crypto';
import type { StatementSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import { formatEpochSecondsEventTime, formatIsoEventTime } from '../../shared/record/eventTime.ts';
import type { StoreContext } from './context.ts';
import type { JournalRow } from './db.ts';
import { type EventTime, fileStampOf, partitionOf } from './eventTime.ts';
import type { StoreLogger } from './logger.ts';
import type { WorkerRequest, WorkerResponse } from './offlineWorker.ts';
import type { OfflineColumn, ParquetJob } from './parquet.ts';

/** At most this many journal rows per batch (bounds memory and the time a batch takes). */
const MAX_ROWS_PER_BATCH = 20_000;
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

interface BatchFile {
  /** Offline table (group) id. */
  t: number;
  /** Partition path `year=…/month=…/day=…/hour=…`. */
  p: string;
  /** File name. */
  n: string;
}

/** An expired online row, as the purge reads it. */
interface ExpiredRow {
  gid: number;
  rid: string;
  et_s: number;
  et_ns: number;
  ttl_s: number | null;
  deleted: number;
}

interface BatchRow {
  id: number;
  lo: number;
  hi: number;
  write_us: number;
  files: string;
}

function randomSuffix(): string {
  const bytes = randomBytes(16);
  let out = '';
  for (const b of bytes) out += ALPHANUMERIC[b % ALPHANUMERIC.length];
  return out;
}

function fileKey(tid: number, partition: string): string {
  return `${tid}|${partition}`;
}

type WorkerCall =
  | { readonly kind: 'file'; readonly job: ParquetJob }
  | { readonly kind: 'checkpoint' };

/** The offline worker thread, started on first use; referenced only while a call is pending. */
class OfflineWorkerClient {
  private readonly databasePath: string;
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (written: boolean) => void; reject: (error: Error) => void }
  >();

  constructor(databasePath: string) {
    this.databasePath = databasePath;
  }

  call(request: WorkerCall): Promise<boolean> {
    const worker = this.ensure();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve, reject });
      const message: WorkerRequest = { id, ...request };
      const transfer =
        request.kind === 'file' ? [request.job.apiMicros.buffer, request.job.deleted.buffer] : [];
      worker.postMessage(message, transfer as ArrayBuffer[]);
    });
  }

  /** Starts the thread ahead of the first flush (it takes a moment to load). */
  warm(): void {
    this.ensure();
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) await worker.terminate();
  }

  private ensure(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(new URL('./offlineWorker.ts', import.meta.url), {
      workerData: { databasePath: this.databasePath },
    });
    worker.unref();
    worker.on('message', (response: WorkerResponse) => {
      const call = this.pending.get(response.id);
      this.pending.delete(response.id);
      if (this.pending.size === 0) worker.unref();
      if (call === undefined) return;
      if (response.ok) call.resolve(response.written);
      else call.reject(new Error(response.error));
    });
    const failAll = (error: Error): void => {
      if (this.worker === worker) this.worker = undefined;
      for (const call of this.pending.values()) call.reject(error);
      this.pending.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`offline worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }
}

/** Test seams of the offline writer. */
interface OfflineHooks {
  /**
   * Called after each Parquet file is renamed into place. Throwing aborts the flush right there,
   * before the journal is trimmed: exactly the state a crash at that moment leaves behind.
   */
  readonly afterOfflineFile?: (path: string) => void;
}

class OfflineWriter {
  private readonly ctx: StoreContext;
  private readonly logger: StoreLogger;
  private readonly hooks: OfflineHooks;
  private readonly worker: OfflineWorkerClient;
  private readonly selectAfter: StatementSync;
  private readonly selectExpired: StatementSync;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(ctx: StoreContext, logger: StoreLogger, hooks: OfflineHooks = {}) {
    this.ctx = ctx;
    this.logger = logger;
    this.hooks = hooks;
    this.worker = new OfflineWorkerClient(ctx.db.path);
    this.selectAfter = ctx.db.sql.prepare(
      'SELECT seq, tid, et_s, et_ns, api_us, del, rec FROM journal WHERE seq > ? ORDER BY seq LIMIT ?'
    );
    this.selectExpired = ctx.db.sql.prepare(
      'SELECT gid, rid, et_s, et_ns, min(ttl_s, 9007199254740991) AS ttl_s, deleted FROM online WHERE exp_ms IS NOT NULL AND exp_ms <= ?'
    );
  }

  /** Flushes every row journalled so far (and finishes an interrupted batch first). */
  flush(): Promise<void> {
    const run = (): Promise<void> => this.drain();
    this.chain = this.chain.then(run, run);
    return this.chain;
  }

  start(intervalMs: number): void {
    this.worker.warm();
    let running = false;
    this.timer = setInterval(() => {
      // A flush slower than the interval must not queue up more flushes behind it.
      if (running) return;
      running = true;
      this.flush()
        .catch((error: unknown) => {
          this.logger.error(
            `offline flush failed (rows stay journalled, retrying): ${String(error)}`
          );
        })
        .finally(() => {
          running = false;
        });
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops the worker thread (after the last flush). */
  close(): Promise<void> {
    return this.worker.close();
  }

  /** Rows waiting in the journal. */
  pending(): number {
    const row = this.ctx.db.sql.prepare('SELECT count(*) AS n FROM journal').get() as { n: number };
    return row.n;
  }

  private async drain(): Promise<void> {
    this.purgeExpired();
    let wrote = false;
    // First the batches an interrupted flush left open, in order.
    for (let open = this.openBatch(); open !== undefined; open = this.openBatch()) {
      await this.complete(open, undefined);
      wrote = true;
    }
    // Then new batches, two in flight: the request thread claims the next batch and prepares its
    // files while the worker thread encodes and writes the previous one.
    let previous: Promise<void> | undefined;
    let claimedThrough = 0;
    try {
      for (;;) {
        const created = this.createBatch(claimedThrough);
        if (created === undefined) break;
        claimedThrough = created.batch.hi;
        const completing = this.complete(created.batch, created.rows);
        // A failure of the earlier batch must not leave this one's outcome unobserved.
        completing.catch(() => undefined);
        if (previous !== undefined) await previous;
        previous = completing;
        wrote = true;
      }
      if (previous !== undefined) await previous;
    } catch (error) {
      // The batches still open are completed by the next flush (or at the next start).
      if (previous !== undefined) await previous.catch(() => undefined);
      throw error;
    }
    // Checkpoint the WAL from the worker's connection (PASSIVE), off the request thread.
    if (wrote) await this.worker.call({ kind: 'checkpoint' });
  }

  /**
   * Hard-deletes expired online rows (reads already ignore them) and, as the service does (contract
   * §5.3), appends a deleted record to the offline store of each live one: the identifier, its
   * `ExpiresAt` as the event time (from then on the online store served nothing, and so does the
   * training set), `is_deleted = true`. Both in one transaction.
   */
  private purgeExpired(): void {
    const now = this.ctx.clock.now();
    this.ctx.db.transaction(() => {
      const expired = this.selectExpired.all(now) as unknown as ExpiredRow[];
      if (expired.length === 0) return;
      const groups = new Map(this.ctx.groups.list().map((g) => [g.id, g]));
      for (const row of expired) {
        const group = groups.get(row.gid);
        if (row.deleted !== 0 || row.ttl_s === null || group === undefined || !group.offline) {
          continue;
        }
        const expiresAt: EventTime = { s: row.et_s + row.ttl_s, ns: row.et_ns };
        const nanos = BigInt(expiresAt.s) * 1_000_000_000n + BigInt(expiresAt.ns);
        const eventTime =
          group.etFeature.type === 'Fractional'
            ? formatEpochSecondsEventTime(nanos)
            : formatIsoEventTime(nanos);
        const marker = JSON.stringify([
          { FeatureName: group.idFeature.name, ValueAsString: row.rid },
          { FeatureName: group.etFeature.name, ValueAsString: eventTime },
        ]);
        this.ctx.db.addJournal.run(
          group.id,
          expiresAt.s,
          expiresAt.ns,
          this.ctx.apiMicros(),
          1,
          marker
        );
      }
      this.ctx.db.sql
        .prepare('DELETE FROM online WHERE exp_ms IS NOT NULL AND exp_ms <= ?')
        .run(now);
    });
  }

  private openBatch(): BatchRow | undefined {
    return this.ctx.db.sql
      .prepare('SELECT id, lo, hi, write_us, files FROM offline_batches ORDER BY id LIMIT 1')
      .get() as BatchRow | undefined;
  }

  /** Claims the first journal rows after sequence number `after` as a new batch, if any. */
  private createBatch(after: number): { batch: BatchRow; rows: JournalRow[] } | undefined {
    return this.ctx.db.transaction(() => {
      const rows = this.selectAfter.all(after, MAX_ROWS_PER_BATCH) as unknown as JournalRow[];
      const first = rows[0];
      const last = rows[rows.length - 1];
      if (first === undefined || last === undefined) return undefined;
      const latest = new Map<string, { t: number; p: string; et: EventTime }>();
      for (const row of rows) {
        const p = partitionOf({ s: row.et_s, ns: row.et_ns });
        const key = fileKey(row.tid, p);
        const seen = latest.get(key);
        if (seen === undefined)
          latest.set(key, { t: row.tid, p, et: { s: row.et_s, ns: row.et_ns } });
        else if (row.et_s > seen.et.s || (row.et_s === seen.et.s && row.et_ns > seen.et.ns)) {
          seen.et = { s: row.et_s, ns: row.et_ns };
        }
      }
      const files: BatchFile[] = [...latest.values()].map((f) => ({
        t: f.t,
        p: f.p,
        n: `${fileStampOf(f.et)}_${randomSuffix()}.parquet`,
      }));
      const writeMicros = Math.round(this.ctx.clock.now() * 1000);
      const filesJson = JSON.stringify(files);
      const inserted = this.ctx.db.sql
        .prepare(
          'INSERT INTO offline_batches (lo, hi, write_us, files) VALUES (?, ?, ?, ?) RETURNING id'
        )
        .get(first.seq, last.seq, writeMicros, filesJson) as { id: number };
      return {
        batch: {
          id: inserted.id,
          lo: first.seq,
          hi: last.seq,
          write_us: writeMicros,
          files: filesJson,
        },
        rows,
      };
    });
  }

  private async complete(batch: BatchRow, claimed: JournalRow[] | undefined): Promise<void> {
    const rows =
      claimed ??
      (this.ctx.db.sql
        .prepare(
          'SELECT seq, tid, et_s, et_ns, api_us, del, rec FROM journal WHERE seq BETWEEN ? AND ? ORDER BY seq'
        )
        .all(batch.lo, batch.hi) as unknown as JournalRow[]);
    const byFile = new Map<string, JournalRow[]>();
    for (const row of rows) {
      const key = fileKey(row.tid, partitionOf({ s: row.et_s, ns: row.et_ns }));
      const list = byFile.get(key);
      if (list === undefined) byFile.set(key, [row]);
      else list.push(row);
    }
    const tableStmt = this.ctx.db.sql.prepare(
      'SELECT dir, columns FROM offline_tables WHERE id = ?'
    );
    // Every file of the batch goes to the worker at once: it encodes one while the previous
    // one's write and fsync run on the thread pool. All settle before the journal is trimmed.
    let written = 0;
    const jobs: ParquetJob[] = [];
    for (const file of JSON.parse(batch.files) as BatchFile[]) {
      const fileRows = byFile.get(fileKey(file.t, file.p));
      if (fileRows === undefined || fileRows.length === 0) continue;
      const table = tableStmt.get(file.t) as { dir: string; columns: string } | undefined;
      if (table === undefined) {
        this.logger.warn(`offline table ${file.t} is unknown; dropping ${fileRows.length} rows`);
        continue;
      }
      jobs.push({
        path: `${this.ctx.offlineRoot}/${table.dir}/${file.p}/${file.n}`,
        columns: JSON.parse(table.columns) as OfflineColumn[],
        records: fileRows.map((r) => r.rec).join('\n'),
        apiMicros: Float64Array.from(fileRows, (r) => r.api_us),
        deleted: Uint8Array.from(fileRows, (r) => r.del),
        writeMicros: batch.write_us,
      });
    }
    const settled = await Promise.allSettled(
      jobs.map(async (job) => {
        const rows = job.deleted.length;
        if (!(await this.worker.call({ kind: 'file', job }))) return;
        written += rows;
        this.hooks.afterOfflineFile?.(job.path);
      })
    );
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    this.ctx.db.transaction(() => {
      this.ctx.db.sql
        .prepare('DELETE FROM journal WHERE seq BETWEEN ? AND ?')
        .run(batch.lo, batch.hi);
      this.ctx.db.sql.prepare('DELETE FROM offline_batches WHERE id = ?').run(batch.id);
    });
    if (written > 0) this.logger.debug(`offline flush: ${written} rows written`);
  }
}

export type { OfflineHooks };
export { OfflineWriter };

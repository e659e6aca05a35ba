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
 * The request thread only claims ranges (reading the rows' table and event time, never their
 * records) and trims the journal. Worker threads, one per core up to two, do the rest: each reads
 * its claimed range from its own SQLite connection, parses the records, encodes and writes the
 * files (all of a batch started together, so one file's fsync overlaps the next one's encoding).
 * Two batches are in flight at once, one per worker.
 *
 * On start, an unfinished batch is completed first (step 2 and 3 again), so rows are neither lost
 * nor duplicated. Files: `<dataDir>/offline-store/<table dir>/year=YYYY/month=MM/day=DD/hour=HH/
 * <yyyyMMddTHHmmssZ of the latest event time>_<16 random alphanumerics>.parquet`, snappy.
 */
import { availableParallelism } from 'node:os';
import type { StatementSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import {
  offlineFileStamp,
  offlineFileSuffix,
  offlinePartition,
} from '../../shared/offline/parquetFile.ts';
import { formatEpochSecondsEventTime, formatIsoEventTime } from '../../shared/record/eventTime.ts';
import type { StoreContext } from './context.ts';
import { journalRecord } from './db.ts';
import { type EventTime, offlineFileKey } from './eventTime.ts';
import type { StoreLogger } from './logger.ts';
import type {
  BatchFileJob,
  BatchJob,
  WorkerRequest,
  WorkerResponse,
  WrittenFile,
} from './offlineWorker.ts';
import type { OfflineColumn } from './parquet.ts';

/** At most this many journal rows per batch (bounds memory and the time a batch takes). */
const MAX_ROWS_PER_BATCH = 20_000;
/** Worker threads: two batches in flight, on two cores when the machine has them. */
const FLUSH_WORKERS = Math.min(2, availableParallelism());

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

type WorkerCall =
  | { readonly kind: 'batch'; readonly batch: BatchJob }
  | { readonly kind: 'checkpoint' };

/** The offline worker thread, started on first use; referenced only while a call is pending. */
class OfflineWorkerClient {
  private readonly databasePath: string;
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (written: readonly WrittenFile[]) => void; reject: (error: Error) => void }
  >();

  constructor(databasePath: string) {
    this.databasePath = databasePath;
  }

  call(request: WorkerCall): Promise<readonly WrittenFile[]> {
    const worker = this.ensure();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve, reject });
      const message: WorkerRequest = { id, ...request };
      worker.postMessage(message);
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
  private readonly workers: readonly OfflineWorkerClient[];
  private nextWorker = 0;
  private readonly claimRange: StatementSync;
  private readonly rangeFiles: StatementSync;
  private readonly selectExpired: StatementSync;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(ctx: StoreContext, logger: StoreLogger, hooks: OfflineHooks = {}) {
    this.ctx = ctx;
    this.logger = logger;
    this.hooks = hooks;
    this.workers = Array.from(
      { length: FLUSH_WORKERS },
      () => new OfflineWorkerClient(ctx.db.path)
    );
    this.claimRange = ctx.db.sql.prepare(
      'SELECT min(seq) AS lo, max(seq) AS hi FROM (SELECT seq FROM journal WHERE seq > ? ORDER BY seq LIMIT ?)'
    );
    // hour_s: the event time floored to its hour (also before 1970, where % is negative).
    this.rangeFiles = ctx.db.sql.prepare(
      `SELECT tid, et_s - ((et_s % 3600) + 3600) % 3600 AS hour_s, max(et_s) AS latest
       FROM journal WHERE seq BETWEEN ? AND ? GROUP BY tid, hour_s`
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
    // The second worker starts with the first flush that claims two batches (its load overlaps
    // the first batch's writing): a store that never sees a large flush never pays for it.
    this.workers[0]?.warm();
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

  /** Stops the worker threads (after the last flush). */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.close()));
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
      await this.complete(open);
      wrote = true;
    }
    // Then new batches, two in flight: the request thread claims the next batch while a worker
    // writes the previous one.
    let previous: Promise<void> | undefined;
    let claimedThrough = 0;
    try {
      for (;;) {
        const created = this.createBatch(claimedThrough);
        if (created === undefined) break;
        claimedThrough = created.hi;
        const completing = this.complete(created);
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
    if (wrote) await this.workers[0]?.call({ kind: 'checkpoint' });
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
        const marker = journalRecord([
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

  /**
   * Claims the first journal rows after sequence number `after` as a new batch, if any. SQLite
   * finds the range and its files (table, hour, latest event second) without handing a row to
   * JavaScript: the worker reads the rows themselves.
   */
  private createBatch(after: number): BatchRow | undefined {
    return this.ctx.db.transaction(() => {
      const range = this.claimRange.get(after, MAX_ROWS_PER_BATCH) as {
        lo: number | null;
        hi: number | null;
      };
      if (range.lo === null || range.hi === null) return undefined;
      const { lo, hi } = range;
      const files: BatchFile[] = (
        this.rangeFiles.all(lo, hi) as unknown as { tid: number; hour_s: number; latest: number }[]
      ).map((f) => ({
        t: f.tid,
        p: offlinePartition(f.hour_s),
        n: `${offlineFileStamp(f.latest)}_${offlineFileSuffix()}.parquet`,
      }));
      const writeMicros = Math.round(this.ctx.clock.now() * 1000);
      const filesJson = JSON.stringify(files);
      const inserted = this.ctx.db.sql
        .prepare(
          'INSERT INTO offline_batches (lo, hi, write_us, files) VALUES (?, ?, ?, ?) RETURNING id'
        )
        .get(lo, hi, writeMicros, filesJson) as { id: number };
      return {
        id: inserted.id,
        lo,
        hi,
        write_us: writeMicros,
        files: filesJson,
      };
    });
  }

  /** Has a worker write the batch's files, then trims its journal range and closes it. */
  private async complete(batch: BatchRow): Promise<void> {
    const tableStmt = this.ctx.db.sql.prepare(
      'SELECT dir, columns FROM offline_tables WHERE id = ?'
    );
    const files: BatchFileJob[] = [];
    for (const file of JSON.parse(batch.files) as BatchFile[]) {
      const table = tableStmt.get(file.t) as { dir: string; columns: string } | undefined;
      if (table === undefined) {
        this.logger.warn(`offline table ${file.t} is unknown; dropping its rows in ${file.p}`);
        continue;
      }
      files.push({
        key: offlineFileKey(file.t, file.p),
        path: `${this.ctx.offlineRoot}/${table.dir}/${file.p}/${file.n}`,
        columns: JSON.parse(table.columns) as OfflineColumn[],
      });
    }
    const worker = this.workers[this.nextWorker++ % this.workers.length] as OfflineWorkerClient;
    const written = await worker.call({
      kind: 'batch',
      batch: { lo: batch.lo, hi: batch.hi, writeMicros: batch.write_us, files },
    });
    // A throwing hook stands for a crash after that file's rename: the journal stays untrimmed.
    let crash: unknown;
    for (const file of written) {
      try {
        this.hooks.afterOfflineFile?.(file.path);
      } catch (error) {
        crash ??= error;
      }
    }
    if (crash !== undefined) throw crash;
    this.ctx.db.transaction(() => {
      this.ctx.db.sql
        .prepare('DELETE FROM journal WHERE seq BETWEEN ? AND ?')
        .run(batch.lo, batch.hi);
      this.ctx.db.sql.prepare('DELETE FROM offline_batches WHERE id = ?').run(batch.id);
    });
    const rows = written.reduce((sum, file) => sum + file.rows, 0);
    if (rows > 0) this.logger.debug(`offline flush: ${rows} rows written`);
  }
}

export type { OfflineHooks };
export { OfflineWriter };

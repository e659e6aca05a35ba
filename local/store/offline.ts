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
 * On start, an unfinished batch is completed first (step 2 and 3 again), so rows are neither lost
 * nor duplicated. Files: `<dataDir>/offline-store/<table dir>/year=YYYY/month=MM/day=DD/hour=HH/
 * <yyyyMMddTHHmmssZ of the latest event time>_<16 random alphanumerics>.parquet`, snappy.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { StoreContext } from './context.ts';
import type { JournalRow } from './db.ts';
import { type EventTime, fileStampOf, partitionOf } from './eventTime.ts';
import type { StoreLogger } from './logger.ts';
import type { StoredFeatureValue } from './validate.ts';

/** At most this many journal rows per batch (bounds memory and event-loop stalls). */
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

interface BatchRow {
  id: number;
  lo: number;
  hi: number;
  write_us: number;
  files: string;
}

interface OfflineColumn {
  /** Feature name. */
  n: string;
  /** Feature type. */
  t: 'String' | 'Integral' | 'Fractional';
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

type Cell = string | bigint | number | boolean | null;

/** Builds one Parquet file (snappy) from journal rows of one table and partition. */
function buildParquet(
  columns: readonly OfflineColumn[],
  rows: readonly JournalRow[],
  writeMicros: number
): ArrayBuffer {
  const n = rows.length;
  const index = new Map<string, number>();
  const data: Cell[][] = columns.map((c, i) => {
    index.set(c.n, i);
    return new Array<Cell>(n).fill(null);
  });
  const writeTime = new Array<bigint>(n).fill(BigInt(writeMicros));
  const apiTime = new Array<bigint>(n);
  const deleted = new Array<boolean>(n);
  for (let r = 0; r < n; r++) {
    const row = rows[r] as JournalRow;
    apiTime[r] = BigInt(row.api_us);
    deleted[r] = row.del === 1;
    for (const fv of JSON.parse(row.rec) as StoredFeatureValue[]) {
      const c = index.get(fv.FeatureName);
      if (c === undefined || !('ValueAsString' in fv)) continue;
      const column = columns[c] as OfflineColumn;
      const cells = data[c] as Cell[];
      const v = fv.ValueAsString;
      cells[r] = column.t === 'Integral' ? BigInt(v) : column.t === 'Fractional' ? Number(v) : v;
    }
  }
  const timestamp = {
    type: 'INT64',
    converted_type: 'TIMESTAMP_MICROS',
    repetition_type: 'OPTIONAL',
  } as const;
  return parquetWriteBuffer({
    columnData: [
      ...columns.map((c, i) => ({ name: c.n, data: data[i] as Cell[] })),
      { name: 'write_time', data: writeTime },
      { name: 'api_invocation_time', data: apiTime },
      { name: 'is_deleted', data: deleted },
    ],
    schema: [
      { name: 'root', num_children: columns.length + 3 },
      ...columns.map((c) =>
        c.t === 'String'
          ? ({
              name: c.n,
              type: 'BYTE_ARRAY',
              converted_type: 'UTF8',
              repetition_type: 'OPTIONAL',
            } as const)
          : c.t === 'Integral'
            ? ({ name: c.n, type: 'INT64', repetition_type: 'OPTIONAL' } as const)
            : ({ name: c.n, type: 'DOUBLE', repetition_type: 'OPTIONAL' } as const)
      ),
      { name: 'write_time', ...timestamp },
      { name: 'api_invocation_time', ...timestamp },
      { name: 'is_deleted', type: 'BOOLEAN', repetition_type: 'OPTIONAL' },
    ],
    codec: 'SNAPPY',
    createdBy: 'skewless embedded feature store',
  });
}

async function writeFileDurably(path: string, bytes: ArrayBuffer): Promise<void> {
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(new Uint8Array(bytes));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
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
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(ctx: StoreContext, logger: StoreLogger, hooks: OfflineHooks = {}) {
    this.ctx = ctx;
    this.logger = logger;
    this.hooks = hooks;
  }

  /** Flushes every row journalled so far (and finishes an interrupted batch first). */
  flush(): Promise<void> {
    const run = (): Promise<void> => this.drain();
    this.chain = this.chain.then(run, run);
    return this.chain;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.flush().catch((error: unknown) => {
        this.logger.error(
          `offline flush failed (rows stay journalled, retrying): ${String(error)}`
        );
      });
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Rows waiting in the journal. */
  pending(): number {
    const row = this.ctx.db.sql.prepare('SELECT count(*) AS n FROM journal').get() as { n: number };
    return row.n;
  }

  private async drain(): Promise<void> {
    this.purgeExpired();
    for (;;) {
      const batch = this.openBatch() ?? this.createBatch();
      if (batch === undefined) return;
      await this.complete(batch);
    }
  }

  /** Hard-deletes expired online rows (reads already ignore them). */
  private purgeExpired(): void {
    this.ctx.db.transaction(() => {
      this.ctx.db.sql
        .prepare('DELETE FROM online WHERE exp_ms IS NOT NULL AND exp_ms <= ?')
        .run(this.ctx.clock.now());
    });
  }

  private openBatch(): BatchRow | undefined {
    return this.ctx.db.sql
      .prepare('SELECT id, lo, hi, write_us, files FROM offline_batches ORDER BY id LIMIT 1')
      .get() as BatchRow | undefined;
  }

  private createBatch(): BatchRow | undefined {
    return this.ctx.db.transaction(() => {
      const rows = this.ctx.db.sql
        .prepare('SELECT seq, tid, et_s, et_ns FROM journal ORDER BY seq LIMIT ?')
        .all(MAX_ROWS_PER_BATCH) as { seq: number; tid: number; et_s: number; et_ns: number }[];
      const first = rows[0];
      const last = rows[rows.length - 1];
      if (first === undefined || last === undefined) return undefined;
      const latest = new Map<string, { t: number; p: string; et: EventTime }>();
      for (const row of rows) {
        const et = { s: row.et_s, ns: row.et_ns };
        const p = partitionOf(et);
        const key = fileKey(row.tid, p);
        const seen = latest.get(key);
        if (seen === undefined) latest.set(key, { t: row.tid, p, et });
        else if (et.s > seen.et.s || (et.s === seen.et.s && et.ns > seen.et.ns)) seen.et = et;
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
        id: inserted.id,
        lo: first.seq,
        hi: last.seq,
        write_us: writeMicros,
        files: filesJson,
      };
    });
  }

  private async complete(batch: BatchRow): Promise<void> {
    const rows = this.ctx.db.sql
      .prepare(
        'SELECT seq, tid, et_s, et_ns, api_us, del, rec FROM journal WHERE seq BETWEEN ? AND ? ORDER BY seq'
      )
      .all(batch.lo, batch.hi) as unknown as JournalRow[];
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
    let written = 0;
    for (const file of JSON.parse(batch.files) as BatchFile[]) {
      const fileRows = byFile.get(fileKey(file.t, file.p));
      if (fileRows === undefined || fileRows.length === 0) continue;
      const table = tableStmt.get(file.t) as { dir: string; columns: string } | undefined;
      if (table === undefined) {
        this.logger.warn(`offline table ${file.t} is unknown; dropping ${fileRows.length} rows`);
        continue;
      }
      const dir = `${this.ctx.offlineRoot}/${table.dir}/${file.p}`;
      const path = `${dir}/${file.n}`;
      if (existsSync(path)) continue;
      await mkdir(dir, { recursive: true });
      const columns = JSON.parse(table.columns) as OfflineColumn[];
      await writeFileDurably(path, buildParquet(columns, fileRows, batch.write_us));
      written += fileRows.length;
      this.hooks.afterOfflineFile?.(path);
    }
    this.ctx.db.transaction(() => {
      this.ctx.db.sql
        .prepare('DELETE FROM journal WHERE seq BETWEEN ? AND ?')
        .run(batch.lo, batch.hi);
      this.ctx.db.sql.prepare('DELETE FROM offline_batches WHERE id = ?').run(batch.id);
    });
    if (written > 0) this.logger.debug(`offline flush: ${written} rows written`);
  }
}

export type { OfflineColumn, OfflineHooks };
export { buildParquet, OfflineWriter };

/**
 * The DuckDB offline engine: SQL over the local offline store (the embedded store's Parquet, in
 * the service's layout) or over any Parquet path. The only module that loads `@duckdb/node-api`,
 * and it does so lazily, inside {@link createDuckDbEngine}: Lambda bundles can mark the package
 * external and never pay for it.
 *
 * Each group's files become a view named like the service's Glue table
 * (`"sagemaker_featurestore"."<group>-<epoch>"`), so generated SQL names the same table on DuckDB
 * and on Athena.
 */
import { type Dirent, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type {
  DuckDBConnection,
  DuckDBInstance,
  DuckDBResult,
  DuckDBType,
  DuckDBValue,
} from '@duckdb/node-api';
import type { FeatureGroup } from '../schema/index.ts';
import {
  DUCKDB_TRINO_MACROS,
  duckDbDialect,
  quoteIdent,
  quoteString,
  sqlTypeOf,
} from './dialect.ts';
import type {
  ColumnInfo,
  ExportTarget,
  FileTableOptions,
  MaterializedRelation,
  OfflineQueryEngine,
  QueryOptions,
  QueryPage,
  QueryResult,
  SqlParam,
  SqlValue,
} from './engine.ts';
import { collectPages, describeQuery } from './engine.ts';
import { OfflineFilesUnreadableError, OfflineQueryError, queryAborted } from './errors.ts';
import { findGroupTable, OFFLINE_DATABASE, offlineDirectoryEntries } from './layout.ts';

interface DuckDbEngineOptions {
  /**
   * Data directory of the embedded store: the offline store is `<dataDir>/offline-store`, or
   * `<dataDir>/store/offline-store` when only that exists (the store's own default data dir is
   * `.skewless/store`). Ignored for groups listed in `groupPaths`.
   */
  readonly dataDir?: string;
  /** The offline store root directly (instead of `dataDir`). */
  readonly offlineRoot?: string;
  /** Account id of the layout. Default `000000000000`. */
  readonly account?: string;
  /** Region of the layout. Default `us-east-1`. */
  readonly region?: string;
  /**
   * Any Parquet, per group: a directory (read recursively, hive partitions honoured), a file or a
   * glob. The view is then named after the group alone.
   */
  readonly groupPaths?: Readonly<Record<string, string>>;
  /** DuckDB worker threads. Default: every core. */
  readonly threads?: number;
  /** How often a statement with `onProgress` polls DuckDB's progress, in ms. Default 100. */
  readonly progressIntervalMs?: number;
  /**
   * DuckDB `memory_limit`, e.g. `'4GB'` (default: 80 % of the machine's memory). Joins, sorts and
   * the kept result spill to `tempDirectory` beyond it instead of failing.
   */
  readonly memoryLimit?: string;
  /**
   * Where DuckDB spills (`temp_directory`). Default: DuckDB's own (`.tmp` in the working
   * directory for an in-memory database); give a disk with room for about the size of the
   * group rows joined when the data exceeds `memoryLimit`.
   */
  readonly tempDirectory?: string;
  /** Called with every statement run, in order (tests, `--explain`). */
  readonly onStatement?: (sql: string) => void;
}

const PARTITION_COLUMNS = ['year', 'month', 'day', 'hour'] as const;
/** How often an aborted statement is interrupted again until it settles. */
const INTERRUPT_REPEAT_MS = 20;
const SERVICE_COLUMNS = [
  ['write_time', 'TIMESTAMP'],
  ['api_invocation_time', 'TIMESTAMP'],
  ['is_deleted', 'BOOLEAN'],
] as const;

/**
 * A DuckDB type name as {@link ColumnInfo} reports it: lower case, without precision.
 *
 * @example
 * ```typescript
 * normaliseTypeName('DECIMAL(18,3)'); // decimal
 * ```
 */
function normaliseTypeName(type: string): string {
  return type
    .toLowerCase()
    .replace(/\(.*\)$/, '')
    .trim();
}

function toSqlValue(value: DuckDBValue, type: string): SqlValue {
  if (value === null) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') {
    return type === 'bigint' || type === 'hugeint' || type === 'ubigint' || type === 'uhugeint'
      ? value
      : Number(value);
  }
  if (type.startsWith('timestamp') && typeof value === 'object' && 'micros' in value) {
    return new Date(Number((value.micros as bigint) / 1000n));
  }
  if (type === 'date' && typeof value === 'object' && 'days' in value) {
    return new Date((value.days as number) * 86_400_000);
  }
  return String(value);
}

async function toDuckDbParams(params: readonly SqlParam[]): Promise<DuckDBValue[]> {
  const { timestampValue } = await import('@duckdb/node-api');
  return params.map((p) => (p instanceof Date ? timestampValue(BigInt(p.getTime()) * 1000n) : p));
}

function columnsOf(result: DuckDBResult): ColumnInfo[] {
  const names = result.deduplicatedColumnNames();
  const types: DuckDBType[] = result.columnTypes();
  return names.map((name, i) => ({ name, type: normaliseTypeName(String(types[i])) }));
}

/** A bounded hand-over of pages from the statement to the reader. */
class PageQueue {
  private readonly limit: number;
  private readonly pages: QueryPage[] = [];
  private finished = false;
  private failure: unknown;
  private waitingReader: (() => void) | undefined;
  private waitingWriter: (() => void) | undefined;
  cancelled = false;

  constructor(limit: number) {
    this.limit = limit;
  }

  private wakeReader(): void {
    this.waitingReader?.();
    this.waitingReader = undefined;
  }

  private wakeWriter(): void {
    this.waitingWriter?.();
    this.waitingWriter = undefined;
  }

  async push(page: QueryPage): Promise<void> {
    this.pages.push(page);
    this.wakeReader();
    while (this.pages.length >= this.limit && !this.cancelled) {
      await new Promise<void>((resolve) => {
        this.waitingWriter = resolve;
      });
    }
  }

  end(): void {
    this.finished = true;
    this.wakeReader();
  }

  fail(error: unknown): void {
    this.failure = error;
    this.end();
  }

  cancel(): void {
    this.cancelled = true;
    this.wakeWriter();
  }

  async next(): Promise<QueryPage | undefined> {
    for (;;) {
      const page = this.pages.shift();
      if (page !== undefined) {
        this.wakeWriter();
        return page;
      }
      if (this.finished) {
        if (this.failure !== undefined) throw this.failure;
        return undefined;
      }
      await new Promise<void>((resolve) => {
        this.waitingReader = resolve;
      });
    }
  }
}

/**
 * Every `.parquet` file under a directory, in path order: the files DuckDB's recursive glob of
 * the directory matches (hidden names included, symbolic links to files included, links to
 * directories not followed), read with one walk of the directories. A glob in `read_parquet` is
 * listed again at every bind of a statement that reads it: over 18 months of hourly partitions
 * (~13,000 files per group) that walk is the cost, so the engine lists once and hands DuckDB the
 * list (see {@link DuckDbEngine.tableFor}). Walked here rather than by DuckDB's `glob()`, which
 * gives the same list: 12,960 hourly files took 230-320 ms of CPU this way against 840-1,080 ms
 * through `SELECT file FROM glob(…) ORDER BY file` (3 runs each, same process).
 *
 * @throws OfflineFilesUnreadableError for a directory that cannot be listed for any reason but
 *   its absence (ENOENT: nothing there, quietly nothing listed)
 */
function parquetFilesUnder(dir: string): string[] {
  const files: string[] = [];
  const walk = (at: string): void => {
    // Undefined: a data directory not made yet, a folder removed since its parent was read.
    const entries = offlineDirectoryEntries(at);
    if (entries === undefined) return;
    // Path order: "a.parquet" < "a/…" ('.' sorts before '/'), so a directory sorts as its name + "/".
    const sorted = entries
      .map((entry) => ({ entry, key: entry.isDirectory() ? `${entry.name}/` : entry.name }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const { entry } of sorted) {
      // Not path.join: normalising each of the ~26,000 paths of 18 months of hourly partitions
      // cost ~40 % of the walk's CPU, and its garbage ~80 MB of peak RSS; `dir` comes
      // normalised, and a name holds no separator.
      const path = `${at}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.parquet') && isFileOrLinkToOne(entry, path)) files.push(path);
    }
  };
  walk(dir);
  return files;
}

/**
 * A file, or a link to one. A link to nothing is passed over, as DuckDB's glob does; one that
 * cannot be followed (a loop, a permission on the way) may name a file of the group's rows, so it
 * is an {@link OfflineFilesUnreadableError}, not Node's raw error.
 */
function isFileOrLinkToOne(entry: Dirent, path: string): boolean {
  if (entry.isFile()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return statSync(path, { throwIfNoEntry: false })?.isFile() === true;
  } catch (error) {
    throw new OfflineFilesUnreadableError(path, error, 'link');
  }
}

/**
 * DuckDB's bind of hive partitions failed ("Hive partition mismatch", "Unknown hive_type"): files
 * outside `key=value/` directories.
 */
function isHiveLayoutError(error: unknown): boolean {
  return error instanceof Error && /hive partition|unknown hive_type/i.test(error.message);
}

/** A group's files as listed: the DuckDB variable holding their paths, and the first of them. */
interface ListedFiles {
  readonly variable: string;
  readonly first: string | undefined;
}

/**
 * {@link OfflineQueryEngine} on DuckDB. Create with {@link createDuckDbEngine}; one connection,
 * statements run one at a time.
 */
class DuckDbEngine implements OfflineQueryEngine {
  readonly dialect = duckDbDialect;
  private readonly instance: DuckDBInstance;
  private readonly connection: DuckDBConnection;
  private readonly options: DuckDbEngineOptions;
  private readonly views = new Map<string, string>();
  /**
   * Groups whose view reads its files by the first file's schema (no `union_by_name`), by name;
   * a statement that meets a file lacking one of those columns makes them read every file's
   * schema and runs again (see {@link DuckDbEngine.readingEveryFileSchema}).
   */
  private readonly firstFileSchemaViews = new Map<string, FeatureGroup>();
  /** Groups whose files do not all share the first file's columns: bound with `union_by_name`. */
  private readonly unionGroups = new Set<string>();
  /** Per group: the identifier over the first of its files (see identifierSampleFor). */
  private readonly samples = new Map<string, string>();
  /** Per group: its files as listed once (see {@link DuckDbEngine.listedFiles}). */
  private readonly listed = new Map<string, ListedFiles>();
  private fileTables = 0;
  private fileLists = 0;
  private relations = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    instance: DuckDBInstance,
    connection: DuckDBConnection,
    options: DuckDbEngineOptions
  ) {
    this.instance = instance;
    this.connection = connection;
    this.options = options;
  }

  /** The offline store root this engine reads, when it reads one. */
  get offlineRoot(): string | undefined {
    if (this.options.offlineRoot !== undefined) return this.options.offlineRoot;
    if (this.options.dataDir === undefined) return undefined;
    const direct = join(this.options.dataDir, 'offline-store');
    const nested = join(this.options.dataDir, 'store', 'offline-store');
    return !existsSync(direct) && existsSync(nested) ? nested : direct;
  }

  /** Runs statements one at a time on the single connection, in call order. */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const next = this.chain.then(task, task);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async watch<T>(options: QueryOptions | undefined, task: () => Promise<T>): Promise<T> {
    const signal = options?.signal;
    // Aborted while waiting for its turn on the connection: it never starts.
    if (signal?.aborted) throw queryAborted('duckdb', signal, 'query aborted before it started');
    const started = performance.now();
    // An interrupt stops only a statement DuckDB has begun: one that arrives while the statement
    // still waits for a worker thread is lost (the query clears the flag as it starts) and the
    // statement runs to its end. So after an abort, interrupt again until the statement settles.
    let interrupting: ReturnType<typeof setInterval> | undefined;
    const onAbort = (): void => {
      this.connection.interrupt();
      interrupting = setInterval(() => this.connection.interrupt(), INTERRUPT_REPEAT_MS);
      interrupting.unref();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer =
      options?.onProgress === undefined
        ? undefined
        : setInterval(() => {
            const p = this.connection.progress;
            options.onProgress?.({
              percentage: p.percentage >= 0 ? p.percentage : undefined,
              state: 'RUNNING',
              elapsedMs: performance.now() - started,
            });
          }, this.options.progressIntervalMs ?? 100);
    try {
      return await task();
    } catch (error) {
      if (signal?.aborted) throw queryAborted('duckdb', signal, 'query aborted');
      throw new OfflineQueryError('duckdb', 'FAILED', (error as Error).message, { cause: error });
    } finally {
      if (timer !== undefined) clearInterval(timer);
      clearInterval(interrupting);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private async runRaw(sql: string, params?: readonly SqlParam[]): Promise<void> {
    this.options.onStatement?.(sql);
    const values = params === undefined ? undefined : await toDuckDbParams(params);
    await this.connection.run(sql, values);
  }

  async execute(sql: string, options?: QueryOptions): Promise<void> {
    const run = (): Promise<void> =>
      this.serial(() => this.watch(options, () => this.runRaw(sql, options?.params)));
    try {
      await run();
    } catch (error) {
      if (!(await this.readingEveryFileSchema(error))) throw error;
      await run();
    }
  }

  async *query(sql: string, options?: QueryOptions): AsyncIterable<QueryPage> {
    let yielded = false;
    try {
      for await (const page of this.queryOnce(sql, options)) {
        yielded = true;
        yield page;
      }
    } catch (error) {
      // Pages already handed over cannot be taken back: the caller gets the error, and the same
      // statement run again reads every file's schema.
      if (!(await this.readingEveryFileSchema(error)) || yielded) throw error;
      yield* this.queryOnce(sql, options);
    }
  }

  /**
   * After a statement failed: when it met a file that lacks a column of the first file's schema
   * (see {@link DuckDbEngine.tableFor}), every view read that way is created again over every
   * file's schema (`union_by_name`), and true says the statement may run again.
   */
  private async readingEveryFileSchema(error: unknown): Promise<boolean> {
    if (this.firstFileSchemaViews.size === 0) return false;
    if (!(error instanceof Error) || !error.message.includes('schema mismatch in glob'))
      return false;
    const groups = [...this.firstFileSchemaViews.values()];
    for (const group of groups) {
      this.unionGroups.add(group.name);
      this.views.delete(group.name);
    }
    for (const group of groups) await this.tableFor(group);
    return true;
  }

  private async *queryOnce(sql: string, options?: QueryOptions): AsyncIterable<QueryPage> {
    // A streaming result holds the connection, so the chunks are fetched inside the serial
    // section and handed over through a small bounded queue (at most 4 pages ahead of the reader).
    const queue = new PageQueue(4);
    const work = this.serial(() =>
      this.watch(options, async () => {
        this.options.onStatement?.(sql);
        const values =
          options?.params === undefined ? undefined : await toDuckDbParams(options.params);
        const result = await this.connection.stream(sql, values);
        const columns = columnsOf(result);
        const names = columns.map((c) => c.name);
        let emitted = false;
        for (;;) {
          if (queue.cancelled) return;
          options?.signal?.throwIfAborted();
          const chunk = await result.fetchChunk();
          if (chunk === null || chunk.rowCount === 0) {
            // An interrupt can end the stream like its last chunk: after an abort, the end seen
            // here may be a cut, never a complete result.
            options?.signal?.throwIfAborted();
            break;
          }
          const rows = chunk.getRowObjects(names).map((raw) => {
            const row: Record<string, SqlValue> = {};
            for (const c of columns) row[c.name] = toSqlValue(raw[c.name] ?? null, c.type);
            return row;
          });
          await queue.push({ columns, rows });
          emitted = true;
        }
        if (!emitted) await queue.push({ columns, rows: [] });
      })
    ).then(
      () => queue.end(),
      (error: unknown) => queue.fail(error)
    );
    try {
      for (;;) {
        const page = await queue.next();
        if (page === undefined) break;
        yield page;
      }
    } finally {
      queue.cancel();
      await work;
    }
  }

  queryAll(sql: string, options?: QueryOptions): Promise<QueryResult> {
    return collectPages(this.query(sql, options));
  }

  async describe(sql: string, options?: QueryOptions): Promise<readonly ColumnInfo[]> {
    return (await this.queryAll(describeQuery(sql), options)).columns;
  }

  async exportQuery(
    selectSql: string,
    target: ExportTarget,
    options?: QueryOptions
  ): Promise<void> {
    await this.execute(this.dialect.exportStatement(selectSql, target), options);
  }

  async materialize(selectSql: string, options?: QueryOptions): Promise<MaterializedRelation> {
    this.relations += 1;
    const name = quoteIdent(`skewless_relation_${this.relations}`);
    await this.execute(`CREATE TEMP TABLE ${name} AS ${selectSql}`, options);
    return {
      sql: name,
      stored: true,
      release: () => this.execute(`DROP TABLE IF EXISTS ${name}`),
    };
  }

  async fileTable(path: string, options: FileTableOptions): Promise<string> {
    this.fileTables += 1;
    const name = quoteIdent(`skewless_file_${this.fileTables}`);
    const csvOptions = `header = true, auto_detect = true${options.typesFromEveryRow === true ? ', sample_size = -1' : ''}`;
    const plain =
      options.format === 'parquet'
        ? `read_parquet(${quoteString(path)}, union_by_name = true)`
        : `read_csv(${quoteString(path)}, ${csvOptions})`;
    // Types only for the columns the file has: a requested column it lacks would fail the view
    // with the engine's binder error, where the caller names the missing column itself.
    let types = Object.entries(options.columnTypes ?? {});
    if (types.length > 0 || options.format === 'csv') {
      const columns = (await this.queryAll(`DESCRIBE SELECT * FROM ${plain}`)).rows.map((r) =>
        String(r.column_name)
      );
      if (options.format === 'csv') await this.refuseRaggedCsv(path, columns);
      const present = new Set(columns);
      types = types.filter(([column]) => present.has(column));
    }
    const typeMap =
      types.length === 0
        ? ''
        : `, types = {${types.map(([c, t]) => `${quoteString(c)}: ${quoteString(t)}`).join(', ')}}`;
    const source =
      options.format === 'parquet'
        ? plain
        : `read_csv(${quoteString(path)}, ${csvOptions}${typeMap})`;
    // Parquet keeps its own types; the requested ones are applied by the view.
    const projection =
      options.format === 'parquet' && types.length > 0
        ? `* REPLACE (${types.map(([c, t]) => `CAST(${quoteIdent(c)} AS ${t}) AS ${quoteIdent(c)}`).join(', ')})`
        : '*';
    await this.execute(
      `CREATE OR REPLACE TEMP VIEW ${name} AS SELECT ${projection} FROM ${source}`
    );
    return name;
  }

  /**
   * A comma-separated file with a line of more or fewer fields than its header: DuckDB's sniffer
   * then finds no consistent comma dialect, settles on another delimiter and reads each line as
   * one column named after the whole header, so every column the caller looks for seemed missing
   * ("labels have no column event_time (columns: card_id,event_time,x)"). Reads the file as
   * comma-separated, keeping DuckDB's rejects, and names the lines that do not fit.
   */
  private async refuseRaggedCsv(path: string, columns: readonly string[]): Promise<void> {
    const header = columns[0];
    if (columns.length !== 1 || header === undefined || !header.includes(',')) return;
    this.fileTables += 1;
    const rejects = `skewless_csv_rejects_${this.fileTables}`;
    const scans = `skewless_csv_scans_${this.fileTables}`;
    let lines: QueryResult;
    let count: number;
    try {
      await this.execute(
        `SELECT count(*) FROM read_csv(${quoteString(path)}, header = true, delim = ',', store_rejects = true, rejects_table = ${quoteString(rejects)}, rejects_scan = ${quoteString(scans)})`
      );
      count = Number(
        (await this.queryAll(`SELECT count(*) AS n FROM ${quoteIdent(rejects)}`)).rows[0]?.n ?? 0
      );
      lines = await this.queryAll(
        `SELECT line, error_message, csv_line FROM ${quoteIdent(rejects)} ORDER BY line LIMIT 3`
      );
    } catch {
      // Not comma-separated after all (the sniffer's choice stands): the caller's error applies.
      return;
    } finally {
      await this.execute(`DROP TABLE IF EXISTS ${quoteIdent(rejects)}`).catch(() => {});
      await this.execute(`DROP TABLE IF EXISTS ${quoteIdent(scans)}`).catch(() => {});
    }
    if (count === 0) return;
    const fields = header.split(',').length;
    const shown = lines.rows
      .map((r) => `line ${r.line} (${r.error_message}): ${String(r.csv_line).slice(0, 120)}`)
      .join('; ');
    throw new Error(
      `${path}: ${count} ${count === 1 ? 'line does' : 'lines do'} not have the header's ${fields} comma-separated fields, so the file cannot be read as CSV — ${shown}${count > lines.rows.length ? '; …' : ''}. Fix or remove ${count === 1 ? 'it' : 'them'} (a value with a comma must be quoted: "a,b")`
    );
  }

  async tableFor(group: FeatureGroup): Promise<string> {
    const cached = this.views.get(group.name);
    if (cached !== undefined) return cached;
    const custom = this.options.groupPaths?.[group.name];
    let tableName = group.name;
    let glob: string | undefined;
    /** The service layout's data directory, when the group is read from the offline store. */
    let dataPath: string | undefined;
    /** The directory whose files are listed here rather than by DuckDB (see listedFiles). */
    let walked: string | undefined;
    if (custom !== undefined) {
      const pattern = /\.parquet$|\*/.test(custom);
      glob = pattern ? custom : join(custom, '**', '*.parquet');
      if (!pattern && statSync(custom, { throwIfNoEntry: false })?.isDirectory() === true) {
        walked = join(custom, '.'); // normalised, without a trailing separator
      }
    } else {
      const root = this.offlineRoot;
      const found =
        root === undefined
          ? undefined
          : findGroupTable(
              { root, account: this.options.account, region: this.options.region },
              group.name
            );
      if (found !== undefined) {
        tableName = found.tableName;
        glob = join(found.dataPath, '**', '*.parquet');
        dataPath = found.dataPath;
        walked = found.dataPath;
      }
    }
    const qualified = `${quoteIdent(OFFLINE_DATABASE)}.${quoteIdent(tableName)}`;
    const wanted: [string, string][] = [
      ...group.featureNames.map((f): [string, string] => {
        const spec = group.features[f];
        return [f, spec === undefined ? 'VARCHAR' : sqlTypeOf(spec.type)];
      }),
      ...SERVICE_COLUMNS.map(([c, t]): [string, string] => [c, t]),
    ];
    let existing = new Map<string, string>();
    let source: string | undefined;
    const listed = glob === undefined ? undefined : await this.listedFiles(group, glob, walked);
    const first = listed?.first;
    if (listed !== undefined && first !== undefined) {
      // The service layout: hourly partitions, typed as integers. Files outside it (a copy, a
      // flat export) fail DuckDB's bind of the partitions ("Hive partition mismatch", "Unknown
      // hive_type") and are read without partition columns rather than failing the whole table.
      const layout = dataPath !== undefined;
      let hive = layout
        ? `, hive_partitioning = true, hive_types = {${PARTITION_COLUMNS.map((c) => `'${c}': 'INTEGER'`).join(', ')}}`
        : '';
      // Binding with union_by_name reads every file's schema: ~1 s of CPU per group and
      // statement over the ~13,000 files of 18 months of hourly partitions, ~3 s the first time.
      // Without it DuckDB binds the first file's schema and fails on a later file that lacks one
      // of its columns ("schema mismatch in glob"), casting the others to the first file's types.
      // So when the first file has every schema column in its schema type, the files are read by
      // that schema, and a statement that meets a file without one of them switches the group to
      // union_by_name and runs again (files from before a feature was added, written late).
      const readFiles = (union: boolean): string =>
        `read_parquet(getvariable(${quoteString(listed.variable)})${union ? ', union_by_name = true' : ''}${hive})`;
      const columnsOfView = async (from: string): Promise<Map<string, string>> => {
        // The view over the files' own columns, typed from the catalog: one bind, not a DESCRIBE
        // and then the view. Created a second time below only when columns must be added, cast
        // or reordered.
        await this.execute(`CREATE OR REPLACE VIEW ${qualified} AS SELECT * FROM ${from}`);
        const described = await this.queryAll(
          `SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ${quoteString(OFFLINE_DATABASE)} AND table_name = ${quoteString(tableName)} ORDER BY column_index`
        );
        return new Map(
          described.rows.map((r) => [String(r.column_name), String(r.data_type).toUpperCase()])
        );
      };
      let union = this.unionGroups.has(group.name);
      source = readFiles(union);
      try {
        existing = await columnsOfView(source);
      } catch (error) {
        if (!layout || !isHiveLayoutError(error)) throw error;
        hive = ', hive_partitioning = false';
        source = readFiles(union);
        existing = await columnsOfView(source);
      }
      if (!union && !wanted.every(([column, type]) => existing.get(column) === type)) {
        union = true;
        source = readFiles(union);
        existing = await columnsOfView(source);
      }
      if (union) this.firstFileSchemaViews.delete(group.name);
      else this.firstFileSchemaViews.set(group.name, group);
    }
    const projections: string[] = [];
    for (const [column, type] of wanted) {
      const have = existing.get(column);
      if (have === undefined) projections.push(`CAST(NULL AS ${type}) AS ${quoteIdent(column)}`);
      else if (have === type) projections.push(quoteIdent(column));
      else if (have === 'TIMESTAMP WITH TIME ZONE' && type === 'TIMESTAMP')
        projections.push(
          `${duckDbDialect.timestampFromZoned(quoteIdent(column))} AS ${quoteIdent(column)}`
        );
      else projections.push(`CAST(${quoteIdent(column)} AS ${type}) AS ${quoteIdent(column)}`);
    }
    // In the order DuckDB lists them (by name: day, hour, month, year), as the files' own view has.
    const partitions = new Set<string>(PARTITION_COLUMNS);
    for (const column of existing.keys()) {
      if (partitions.has(column)) projections.push(quoteIdent(column));
    }
    const from = source === undefined ? ' WHERE false' : ` FROM ${source}`;
    // The files' own columns will do when they are the wanted ones, in order and type, followed
    // by the partition columns (DuckDB lists those by name, not in path order).
    const fileColumns = [...existing.keys()];
    const filesAsWanted =
      source !== undefined &&
      projections.length === existing.size &&
      wanted.every(
        ([column], i) => fileColumns[i] === column && projections[i] === quoteIdent(column)
      );
    if (!filesAsWanted) {
      await this.execute(
        `CREATE OR REPLACE VIEW ${qualified} AS SELECT ${projections.join(', ')}${from}`
      );
    }
    this.views.set(group.name, qualified);
    const id = group.recordIdentifier;
    if (first !== undefined && existing.has(id)) {
      const spec = group.features[id];
      const type = spec === undefined ? 'VARCHAR' : sqlTypeOf(spec.type);
      const column =
        existing.get(id) === type
          ? quoteIdent(id)
          : `CAST(${quoteIdent(id)} AS ${type}) AS ${quoteIdent(id)}`;
      this.samples.set(group.name, `(SELECT ${column} FROM read_parquet(${quoteString(first)}))`);
    }
    return qualified;
  }

  /**
   * The record identifier over the group's first file (in path order: the oldest partition in the
   * service layout): binding the group's view checks every file of its list (~0.4 s of CPU per
   * statement over the ~13,000 files of 18 months of hourly partitions, against 0.9-1.2 s to bind
   * a glob of them, at load 3-4), and reads each one's schema when the files differ
   * (`union_by_name`). The group's view when it has no file with the identifier column.
   */
  async identifierSampleFor(group: FeatureGroup): Promise<string> {
    const table = await this.tableFor(group);
    return this.samples.get(group.name) ?? table;
  }

  /**
   * The group's files, listed once per engine and held in a DuckDB variable that its view reads
   * (`read_parquet(getvariable(…))`): a view over a glob lists the files again at each statement
   * that binds it (the view's creation, the training set's join: 0.9-1.2 s of CPU per group and
   * statement over the ~13,000 files of 18 months of hourly partitions at load 3-4), where a list
   * only has each file checked (a `stat`, ~0.4 s). So the statements of one engine read the files
   * as listed when the group's view was first made; files written after that are read by the next
   * engine (each build and each audit run opens its own). The service layout and a custom
   * directory are walked here (`walked`): DuckDB's glob passes over a folder it cannot list without
   * a word (its rows missing), where the walk fails naming it. Any other custom path (a file, a
   * glob) DuckDB lists.
   */
  private async listedFiles(
    group: FeatureGroup,
    glob: string,
    walked: string | undefined
  ): Promise<ListedFiles> {
    const known = this.listed.get(group.name);
    if (known !== undefined) return known;
    const files =
      walked !== undefined
        ? parquetFilesUnder(walked)
        : (
            await this.queryAll(`SELECT "file" FROM glob(${quoteString(glob)}) ORDER BY "file"`)
          ).rows.map((r) => String(r.file));
    this.fileLists += 1;
    const variable = `skewless_files_${this.fileLists}`;
    const sql = `SET VARIABLE ${quoteIdent(variable)} = $1`;
    const { LIST, listValue, VARCHAR } = await import('@duckdb/node-api');
    await this.serial(() =>
      this.watch(undefined, async () => {
        this.options.onStatement?.(sql);
        await this.connection.run(sql, [listValue(files)], [LIST(VARCHAR)]);
      })
    );
    const listed = { variable, first: files[0] };
    this.listed.set(group.name, listed);
    return listed;
  }

  /** DuckDB's own progress of the running statement (for displays polling on their own). */
  get progress(): { percentage: number; rowsProcessed: bigint; totalRows: bigint } {
    const p = this.connection.progress;
    return {
      percentage: p.percentage,
      rowsProcessed: p.rows_processed,
      totalRows: p.total_rows_to_process,
    };
  }

  async close(): Promise<void> {
    await this.chain;
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/**
 * Opens a DuckDB engine: an in-memory database with Trino's `from_iso8601_timestamp` and
 * `from_unixtime` as macros, `TimeZone` UTC, progress tracking on, Parquet footers cached, and the
 * `sagemaker_featurestore` schema that group views live in.
 *
 * @example
 * ```typescript
 * const engine = await createDuckDbEngine({ dataDir: '.skewless' });
 * const table = await engine.tableFor(cards); // "sagemaker_featurestore"."fraud-cards-1767225600"
 * for await (const page of engine.query(`SELECT * FROM ${table} LIMIT 10`)) console.log(page.rows);
 * await engine.close();
 * ```
 */
async function createDuckDbEngine(options: DuckDbEngineOptions = {}): Promise<DuckDbEngine> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const engine = new DuckDbEngine(instance, connection, options);
  try {
    // The caller's settings as SET statements reported to onStatement (the rest of the setup is not):
    // `skewless dataset --explain` then shows the threads, memory limit and spill folder it ran with.
    const chosen: string[] = [];
    if (options.threads !== undefined) chosen.push(`SET threads = ${options.threads}`);
    if (options.memoryLimit !== undefined) {
      chosen.push(`SET memory_limit = ${quoteString(options.memoryLimit)}`);
    }
    if (options.tempDirectory !== undefined) {
      chosen.push(`SET temp_directory = ${quoteString(options.tempDirectory)}`);
    }
    for (const sql of chosen) {
      options.onStatement?.(sql);
      await connection.run(sql);
    }
    for (const sql of [
      "SET TimeZone = 'UTC'",
      'SET enable_progress_bar = true',
      'SET enable_progress_bar_print = false',
      // Footers are read when a view is created, again when a query binds (union_by_name, when the
      // files differ, reads every file's schema) and when it scans: cached once (entries are checked against the file's
      // modification time). ~0.2 s less per training set over the ~720 files of the benchmark.
      'SET parquet_metadata_cache = true',
      // DuckDB's external file cache keeps every byte it reads from a file for the next query; the
      // local offline store is already in the OS page cache, so over 18 months of hourly partitions
      // (~39,000 files) it doubled the work of closing the engine and held ~2.4 GB more peak RSS.
      'SET enable_external_file_cache = false',
      `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(OFFLINE_DATABASE)}`,
      ...DUCKDB_TRINO_MACROS,
    ]) {
      await connection.run(sql);
    }
  } catch (error) {
    // A setting refused (a memory limit DuckDB cannot read): nobody gets the engine to close.
    await engine.close();
    throw error;
  }
  return engine;
}

export type { DuckDbEngineOptions };
export { createDuckDbEngine, DuckDbEngine };

/**
 * The offline SQL engine interface: one small contract over the offline store, implemented by
 * DuckDB (local Parquet, `duckdb.ts`) and Athena (the Glue tables on AWS, `athena.ts`). The
 * training-set builder and the audit generate SQL once, in the Trino/Athena dialect, and run the
 * same text on both; the few unavoidable differences live in a {@link SqlDialect}.
 */
import type { FeatureGroup } from '../schema/index.ts';
import type { SqlDialect } from './dialect.ts';

/** A value in a result row, typed by its column: see {@link ColumnInfo}. */
type SqlValue = string | number | bigint | boolean | Date | null;

/** A value bound to a `?` placeholder. */
type SqlParam = string | number | bigint | boolean | Date | null;

/**
 * One result column. `type` is the engine's type name, lower-cased, without precision
 * (`varchar`, `bigint`, `integer`, `double`, `boolean`, `timestamp`,
 * `timestamp with time zone`, `date`, ...). Values are decoded from it:
 * `bigint`/`hugeint` → `bigint`; other integers, `double`, `real`, `float` → `number`;
 * `boolean` → `boolean`; `timestamp*` → `Date` (millisecond precision); anything else → `string`.
 */
interface ColumnInfo {
  readonly name: string;
  readonly type: string;
}

/** A page of rows, each an object keyed by column name. */
interface QueryPage {
  readonly columns: readonly ColumnInfo[];
  readonly rows: readonly Record<string, SqlValue>[];
}

/** A whole (small) result. */
interface QueryResult {
  readonly columns: readonly ColumnInfo[];
  readonly rows: Record<string, SqlValue>[];
}

/** Progress of a running statement, as far as the engine knows it. */
interface QueryProgress {
  /** 0-100, or undefined when the engine does not report one (Athena reports none). */
  readonly percentage: number | undefined;
  /** Engine state, e.g. `RUNNING` or `QUEUED` on Athena. */
  readonly state: string;
  /** Milliseconds since the statement was started. */
  readonly elapsedMs: number;
  /** Bytes scanned so far, when the engine reports it (Athena). */
  readonly bytesScanned?: number;
}

interface QueryOptions {
  /** Values for `?` placeholders, in order. */
  readonly params?: readonly SqlParam[];
  /**
   * Aborts the statement: DuckDB interrupts it, Athena stops the query execution. Wherever the
   * abort lands (before the statement's turn, while it runs, between result pages) the call
   * rejects with `OfflineQueryError` in state `CANCELLED`, the abort reason as its cause.
   */
  readonly signal?: AbortSignal;
  /** Called while the statement runs (about every 100 ms on DuckDB, every poll on Athena). */
  readonly onProgress?: (progress: QueryProgress) => void;
}

/** Where {@link OfflineQueryEngine.exportQuery} writes a result. */
interface ExportTarget {
  /** A local path (DuckDB) or an `s3://bucket/prefix/` that must be empty (Athena `UNLOAD`). */
  readonly path: string;
  readonly format: 'parquet' | 'csv';
}

/**
 * A result kept by the engine for several follow-up statements (the training-set builder exports
 * it and summarises it). `sql` is a table expression usable in `FROM`.
 */
interface MaterializedRelation {
  readonly sql: string;
  /** True when the engine stored the rows; false when `sql` re-runs the query each time. */
  readonly stored: boolean;
  release(): Promise<void>;
}

/** Files an engine can read directly as a table (labels on DuckDB). */
interface FileTableOptions {
  readonly format: 'parquet' | 'csv';
  /** Force column types (e.g. keep `000123` as text in a CSV): column → SQL type. */
  readonly columnTypes?: Readonly<Record<string, string>>;
  /**
   * CSV: detect column types from every row, not from the engine's sample of the first rows
   * (DuckDB: 20,480). One more read of the file.
   */
  readonly typesFromEveryRow?: boolean;
}

/**
 * A SQL engine over the offline store of SageMaker Feature Store.
 *
 * Every method that runs SQL takes the text as given, in the engine's {@link SqlDialect}; text
 * generated with only the shared vocabulary (Trino functions plus the DuckDB macros that mirror
 * them, see `dialect.ts`) runs unchanged on both engines.
 *
 * @example
 * ```typescript
 * const engine = await createDuckDbEngine({ dataDir: '.skewless' });
 * const table = await engine.tableFor(cards);
 * const { rows } = await engine.queryAll(`SELECT count(*) AS "n" FROM ${table}`);
 * await engine.close();
 * ```
 */
interface OfflineQueryEngine {
  readonly dialect: SqlDialect;
  /**
   * The offline table of a group as a SQL table expression, e.g.
   * `"sagemaker_featurestore"."fraud-cards-1767225600"`: every feature of the group (typed from
   * the schema, null where older files lack it), `write_time`, `api_invocation_time`,
   * `is_deleted`. Both engines return the same name for the same group and creation time.
   * DuckDB reads the group's files as listed when this is first called: files written after that
   * are read by a new engine (each training set and each audit run opens its own).
   */
  tableFor(group: FeatureGroup): Promise<string>;
  /**
   * A few of a group's rows for estimates: a table expression with the record identifier column
   * (typed as in {@link tableFor}), over one of its files, bound without reading every file's
   * schema. Optional (DuckDB); callers fall back to {@link tableFor}.
   */
  identifierSampleFor?(group: FeatureGroup): Promise<string>;
  /** A table expression over files; engines that cannot read files (Athena) throw. */
  fileTable(path: string, options: FileTableOptions): Promise<string>;
  /** Runs a query and yields its rows page by page (DuckDB chunks, Athena result pages). */
  query(sql: string, options?: QueryOptions): AsyncIterable<QueryPage>;
  /** Runs a query and collects every row: for small results. */
  queryAll(sql: string, options?: QueryOptions): Promise<QueryResult>;
  /** The columns a query would return, without running it to completion. */
  describe(sql: string, options?: QueryOptions): Promise<readonly ColumnInfo[]>;
  /** Runs a statement whose rows are not wanted (DDL, `COPY`, `UNLOAD`). */
  execute(sql: string, options?: QueryOptions): Promise<void>;
  /** Writes the rows of `selectSql` to a file or S3 prefix. */
  exportQuery(selectSql: string, target: ExportTarget, options?: QueryOptions): Promise<void>;
  /** Keeps the rows of `selectSql` for follow-up statements, where the engine can. */
  materialize(selectSql: string, options?: QueryOptions): Promise<MaterializedRelation>;
  close(): Promise<void>;
}

/** Every page of a query in one result: `queryAll` of both engines. */
async function collectPages(pages: AsyncIterable<QueryPage>): Promise<QueryResult> {
  let columns: readonly ColumnInfo[] = [];
  const rows: Record<string, SqlValue>[] = [];
  for await (const page of pages) {
    columns = page.columns;
    for (const row of page.rows) rows.push(row);
  }
  return { columns, rows };
}

/** The query that returns `sql`'s columns and no row: `describe` of both engines. */
function describeQuery(sql: string): string {
  return `SELECT * FROM (${sql}) AS "q" LIMIT 0`;
}

export type {
  ColumnInfo,
  ExportTarget,
  FileTableOptions,
  MaterializedRelation,
  OfflineQueryEngine,
  QueryOptions,
  QueryPage,
  QueryProgress,
  QueryResult,
  SqlParam,
  SqlValue,
};
export { collectPages, describeQuery };

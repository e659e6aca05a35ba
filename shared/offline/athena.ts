/**
 * The Athena offline engine: SQL over the offline store's Glue tables on AWS. A statement is
 * started (StartQueryExecution with the work group and output location), polled with backoff
 * (GetQueryExecution) until it leaves QUEUED/RUNNING, and its rows read page by page
 * (GetQueryResults, typed from the result metadata). FAILED and CANCELLED surface as
 * {@link OfflineQueryError} with Athena's reason; aborting stops the query execution.
 */
import { setTimeout as delay } from 'node:timers/promises';
import {
  type AthenaClient,
  type ColumnInfo as AthenaColumnInfo,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type GetQueryResultsOutput,
  type QueryExecution,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import type { FeatureGroup } from '../schema/index.ts';
import { describeFeatureGroup } from '../store/describeGroup.ts';
import { athenaDialect, quoteIdent } from './dialect.ts';
import type {
  ColumnInfo,
  ExportTarget,
  FileTableOptions,
  MaterializedRelation,
  OfflineQueryEngine,
  QueryOptions,
  QueryPage,
  QueryResult,
  SqlValue,
} from './engine.ts';
import { collectPages, describeQuery } from './engine.ts';
import { OfflineQueryError, queryAborted } from './errors.ts';
import { OFFLINE_DATABASE } from './layout.ts';

/** Where a group's offline table lives in the Glue catalog. */
interface GlueTable {
  readonly database: string;
  readonly table: string;
}

interface AthenaEngineOptions {
  readonly client: AthenaClient;
  /** Athena work group. Default `primary`. */
  readonly workGroup?: string;
  /** `s3://…/` for query results; optional when the work group enforces one. */
  readonly outputLocation?: string;
  /** Data catalog. Default `AwsDataCatalog`. */
  readonly catalog?: string;
  /** Default database of the session. Default `sagemaker_featurestore`. */
  readonly database?: string;
  /** Group name → Glue table (`<group>-<epoch>` in `sagemaker_featurestore` unless said). */
  readonly tables?: Readonly<Record<string, string | GlueTable>>;
  /**
   * Looks a group's table up when `tables` does not name it. Default: DescribeFeatureGroup's
   * `OfflineStoreConfig.DataCatalogConfig` (loads `@aws-sdk/client-sagemaker` on first use).
   */
  readonly resolveTable?: (group: FeatureGroup) => Promise<GlueTable>;
  /** Poll backoff: first wait and ceiling; each wait is 1.5 × the last. Default 250 ms up to 5 s. */
  readonly poll?: {
    readonly initialMs?: number;
    readonly maxMs?: number;
  };
  /** Give up (and stop the query) after this long. Default 1 hour. */
  readonly timeoutMs?: number;
  /** Rows per GetQueryResults page (max 1000). */
  readonly pageSize?: number;
  /** Called with every statement started, in order. */
  readonly onStatement?: (sql: string) => void;
}

const INTEGER_TYPES = new Set(['integer', 'int', 'smallint', 'tinyint']);
const FLOAT_TYPES = new Set(['double', 'float', 'real']);

function parseTimestamp(text: string): Date | string {
  // `2026-01-02 03:04:05.123`, optionally followed by ` UTC` or an offset.
  const m =
    /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?:\s*(UTC|Z|[+-]\d{2}:\d{2}))?$/.exec(
      text.trim()
    );
  if (m === null) return text;
  const [, date, time, zone] = m;
  const ms = (time ?? '').replace(/(\.\d{3})\d+$/, '$1');
  const suffix = zone === undefined || zone === 'UTC' || zone === 'Z' ? 'Z' : zone;
  const parsed = new Date(`${date}T${ms}${suffix}`);
  return Number.isNaN(parsed.getTime()) ? text : parsed;
}

/**
 * An Athena cell (always text) as the value its column type says: `bigint` → bigint, other
 * integers and floats → number, `boolean`, `timestamp*`/`date` → Date (milliseconds), else text;
 * a missing cell is null.
 *
 * @example
 * ```typescript
 * parseAthenaValue('2026-01-02 03:04:05.123', 'timestamp'); // Date 2026-01-02T03:04:05.123Z
 * ```
 */
function parseAthenaValue(text: string | undefined, type: string): SqlValue {
  if (text === undefined) return null;
  if (type === 'bigint') return BigInt(text);
  if (INTEGER_TYPES.has(type)) return Number(text);
  if (FLOAT_TYPES.has(type)) return Number(text);
  if (type === 'boolean') return text === 'true';
  if (type.startsWith('timestamp')) return parseTimestamp(text);
  if (type === 'date') {
    const d = new Date(`${text}T00:00:00Z`);
    return Number.isNaN(d.getTime()) ? text : d;
  }
  return text;
}

function columnsOf(info: readonly AthenaColumnInfo[]): ColumnInfo[] {
  return info.map((c) => ({
    name: c.Name ?? c.Label ?? '',
    type: (c.Type ?? 'varchar')
      .toLowerCase()
      .replace(/\(.*\)/, '')
      .trim(),
  }));
}

/**
 * {@link OfflineQueryEngine} on Amazon Athena.
 *
 * @example
 * ```typescript
 * const engine = new AthenaEngine({ client: new AthenaClient({}), workGroup: 'ml', outputLocation: 's3://my-bucket/athena/' });
 * const table = await engine.tableFor(cards); // "sagemaker_featurestore"."fraud-cards-1767225600"
 * const { rows } = await engine.queryAll(`SELECT count(*) AS "n" FROM ${table}`);
 * ```
 */
class AthenaEngine implements OfflineQueryEngine {
  readonly dialect = athenaDialect;
  private readonly options: AthenaEngineOptions;
  private readonly tables = new Map<string, string>();

  constructor(options: AthenaEngineOptions) {
    this.options = options;
  }

  async tableFor(group: FeatureGroup): Promise<string> {
    const cached = this.tables.get(group.name);
    if (cached !== undefined) return cached;
    const given = this.options.tables?.[group.name];
    const glue: GlueTable =
      given === undefined
        ? await (this.options.resolveTable?.(group) ??
            describeGroupTable(group, this.options.client))
        : typeof given === 'string'
          ? { database: OFFLINE_DATABASE, table: given }
          : given;
    const sql = `${quoteIdent(glue.database)}.${quoteIdent(glue.table)}`;
    this.tables.set(group.name, sql);
    return sql;
  }

  fileTable(path: string, _options: FileTableOptions): Promise<string> {
    return Promise.reject(
      new Error(
        `Athena reads tables, not files (${path}): create a Glue table over the labels in S3 and pass its name`
      )
    );
  }

  /**
   * Starts a statement and waits for it to finish; returns its id and final execution.
   * @throws OfflineQueryError when it fails, is cancelled or times out
   */
  async run(
    sql: string,
    options?: QueryOptions
  ): Promise<{ readonly queryExecutionId: string; readonly execution: QueryExecution }> {
    const { client } = this.options;
    const signal = options?.signal;
    if (signal?.aborted) {
      throw queryAborted('athena', signal, 'Athena query aborted before it started');
    }
    this.options.onStatement?.(sql);
    const started = Date.now();
    const params = options?.params?.map((p) => this.dialect.literal(p));
    const start = await client.send(
      new StartQueryExecutionCommand({
        QueryString: sql,
        WorkGroup: this.options.workGroup ?? 'primary',
        QueryExecutionContext: {
          Catalog: this.options.catalog ?? 'AwsDataCatalog',
          Database: this.options.database ?? OFFLINE_DATABASE,
        },
        ...(this.options.outputLocation === undefined
          ? {}
          : { ResultConfiguration: { OutputLocation: this.options.outputLocation } }),
        ...(params === undefined || params.length === 0 ? {} : { ExecutionParameters: params }),
      })
      // No abortSignal: a start cut off mid-request may have started the query without telling
      // its id, and only the id can stop it. An abort meanwhile is seen by the poll below.
    );
    const id = start.QueryExecutionId;
    if (id === undefined)
      throw new OfflineQueryError('athena', 'FAILED', 'Athena returned no query execution id');
    const poll = this.options.poll ?? {};
    let wait = poll.initialMs ?? 250;
    const timeoutMs = this.options.timeoutMs ?? 3_600_000;
    try {
      for (;;) {
        signal?.throwIfAborted();
        const { QueryExecution: execution } = await client.send(
          new GetQueryExecutionCommand({ QueryExecutionId: id }),
          { abortSignal: signal }
        );
        const state = execution?.Status?.State ?? 'QUEUED';
        options?.onProgress?.({
          percentage: undefined,
          state,
          elapsedMs: Date.now() - started,
          bytesScanned: execution?.Statistics?.DataScannedInBytes,
        });
        if (state === 'SUCCEEDED') return { queryExecutionId: id, execution: execution ?? {} };
        if (state === 'FAILED' || state === 'CANCELLED') {
          const reason =
            execution?.Status?.AthenaError?.ErrorMessage ??
            execution?.Status?.StateChangeReason ??
            'no reason given';
          throw new OfflineQueryError('athena', state, `Athena query ${id} ${state}: ${reason}`, {
            queryExecutionId: id,
          });
        }
        if (Date.now() - started > timeoutMs) {
          await this.stop(id);
          throw new OfflineQueryError(
            'athena',
            'TIMEOUT',
            `Athena query ${id} exceeded ${timeoutMs} ms and was stopped`,
            {
              queryExecutionId: id,
            }
          );
        }
        await delay(wait, undefined, { signal });
        wait = Math.min(wait * 1.5, poll.maxMs ?? 5_000);
      }
    } catch (error) {
      if (signal?.aborted && !(error instanceof OfflineQueryError)) {
        await this.stop(id);
        throw queryAborted('athena', signal, `Athena query ${id} aborted and stopped`, id);
      }
      throw error;
    }
  }

  private async stop(id: string): Promise<void> {
    try {
      await this.options.client.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
    } catch {
      // Best effort: the query may have finished meanwhile.
    }
  }

  async *query(sql: string, options?: QueryOptions): AsyncIterable<QueryPage> {
    const { queryExecutionId: id } = await this.run(sql, options);
    const signal = options?.signal;
    let token: string | undefined;
    let first = true;
    do {
      let page: GetQueryResultsOutput;
      try {
        signal?.throwIfAborted();
        page = await this.options.client.send(
          new GetQueryResultsCommand({
            QueryExecutionId: id,
            NextToken: token,
            MaxResults: Math.min(this.options.pageSize ?? 1000, 1000),
          }),
          { abortSignal: signal }
        );
      } catch (error) {
        if (signal?.aborted) {
          throw queryAborted(
            'athena',
            signal,
            `Athena query ${id} aborted while reading results`,
            id
          );
        }
        throw error;
      }
      const columns = columnsOf(page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []);
      let raw = page.ResultSet?.Rows ?? [];
      if (first && raw.length > 0) {
        // A SELECT's first page starts with the column labels.
        const head = raw[0]?.Data ?? [];
        const info = page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [];
        const isHeader =
          head.length === info.length &&
          head.every((cell, i) => cell.VarCharValue === (info[i]?.Label ?? info[i]?.Name));
        if (isHeader) raw = raw.slice(1);
      }
      first = false;
      const rows = raw.map((r) => {
        const row: Record<string, SqlValue> = {};
        columns.forEach((c, i) => {
          row[c.name] = parseAthenaValue(r.Data?.[i]?.VarCharValue, c.type);
        });
        return row;
      });
      yield { columns, rows };
      token = page.NextToken;
    } while (token !== undefined);
  }

  queryAll(sql: string, options?: QueryOptions): Promise<QueryResult> {
    return collectPages(this.query(sql, options));
  }

  async describe(sql: string, options?: QueryOptions): Promise<readonly ColumnInfo[]> {
    return (await this.queryAll(describeQuery(sql), options)).columns;
  }

  async execute(sql: string, options?: QueryOptions): Promise<void> {
    await this.run(sql, options);
  }

  async exportQuery(
    selectSql: string,
    target: ExportTarget,
    options?: QueryOptions
  ): Promise<void> {
    await this.run(this.dialect.exportStatement(selectSql, target), options);
  }

  /** Athena keeps nothing between statements: the relation re-runs the query where used. */
  materialize(selectSql: string): Promise<MaterializedRelation> {
    return Promise.resolve({
      sql: `(${selectSql})`,
      stored: false,
      release: () => Promise.resolve(),
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The Glue table of a group from DescribeFeatureGroup, asked in the region the queries run in:
 * the environment's region can be another one (`dataset --region` sets only the Athena client's).
 */
async function describeGroupTable(group: FeatureGroup, athena: AthenaClient): Promise<GlueTable> {
  const out = await describeFeatureGroup(group.name, await athena.config.region());
  const catalog = out.OfflineStoreConfig?.DataCatalogConfig;
  if (catalog?.TableName === undefined || catalog.Database === undefined) {
    throw new Error(`feature group ${group.name} has no offline Glue table`);
  }
  return { database: catalog.Database, table: catalog.TableName };
}

export type { AthenaEngineOptions, GlueTable };
export { AthenaEngine, parseAthenaValue };

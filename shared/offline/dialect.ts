/**
 * SQL dialects of the offline engines. Generated SQL is written in the Trino/Athena dialect; the
 * DuckDB connection defines macros with Trino's names and meaning ({@link DUCKDB_TRINO_MACROS}),
 * so the same text runs on both. What cannot be shared lives here, and only here.
 */
import type { FeatureType } from '../schema/index.ts';
import type { ExportTarget, SqlParam } from './engine.ts';

type DialectName = 'duckdb' | 'athena';

/**
 * What differs between the engines, kept as small as possible.
 *
 * @example
 * ```typescript
 * const sql = athenaDialect.exportStatement('SELECT 1 AS "x"', { path: 's3://b/out/', format: 'parquet' });
 * // UNLOAD (SELECT 1 AS "x") TO 's3://b/out/' WITH (format = 'PARQUET')
 * ```
 */
interface SqlDialect {
  readonly name: DialectName;
  /** DuckDB's `ASOF JOIN`; Trino has none. */
  readonly supportsAsofJoin: boolean;
  /** Writes the rows of a query to a file (`COPY`) or an S3 prefix (`UNLOAD`). */
  exportStatement(selectSql: string, target: ExportTarget): string;
  /**
   * A `timestamp with time zone` value as the plain UTC `timestamp` the generated SQL compares.
   * Trino compares both types directly (identity); DuckDB needs the conversion.
   */
  timestampFromZoned(expression: string): string;
  /** A parameter as a SQL literal (Athena's `ExecutionParameters` are literals). */
  literal(value: SqlParam): string;
  /**
   * An event time column as a UTC `timestamp`, in the engine's cheapest exact form (engine-only
   * queries such as DuckDB's ASOF path; shared text uses {@link eventTimeExpression}).
   */
  eventTime(column: string, type: FeatureType): string;
}

/**
 * `"name"`, with embedded quotes doubled. Identical in both dialects.
 *
 * @example
 * ```typescript
 * quoteIdent('fraud-cards.txn_count_7d'); // "fraud-cards.txn_count_7d"
 * ```
 */
function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * `'text'`, with embedded quotes doubled. Identical in both dialects.
 *
 * @example
 * ```typescript
 * quoteString("it's"); // 'it''s'
 * ```
 */
function quoteString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/**
 * `TIMESTAMP 'yyyy-MM-dd HH:mm:ss.SSS'` (UTC, millisecond precision). Identical in both dialects.
 *
 * @example
 * ```typescript
 * timestampLiteral(new Date('2026-01-02T03:04:05.006Z')); // TIMESTAMP '2026-01-02 03:04:05.006'
 * ```
 */
function timestampLiteral(date: Date): string {
  return `TIMESTAMP '${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ${pad(
    date.getUTCHours()
  )}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${pad(date.getUTCMilliseconds(), 3)}'`;
}

/**
 * `INTERVAL 'n' SECOND` for a whole number of seconds. Identical in both dialects.
 *
 * @example
 * ```typescript
 * intervalSeconds(3600); // INTERVAL '3600' SECOND
 * ```
 * @throws RangeError for a negative or fractional number
 */
function intervalSeconds(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw new RangeError(`interval must be a whole number of seconds >= 0 (got ${seconds})`);
  }
  return `INTERVAL '${seconds}' SECOND`;
}

/**
 * The SQL type of an offline column of a feature type. Identical in both dialects.
 *
 * @example
 * ```typescript
 * sqlTypeOf('Integral'); // BIGINT
 * ```
 */
function sqlTypeOf(type: FeatureType): 'VARCHAR' | 'BIGINT' | 'DOUBLE' {
  return type === 'String' ? 'VARCHAR' : type === 'Integral' ? 'BIGINT' : 'DOUBLE';
}

/**
 * An event time column as a UTC `timestamp`: ISO-8601 text or epoch seconds. Shared text.
 *
 * @example
 * ```typescript
 * eventTimeExpression('"event_time"', 'String'); // from_iso8601_timestamp("event_time")
 * ```
 */
function eventTimeExpression(column: string, type: FeatureType): string {
  return type === 'String' ? `from_iso8601_timestamp(${column})` : `from_unixtime(${column})`;
}

function literal(value: SqlParam): string {
  if (value === null) return 'NULL';
  if (typeof value === 'string') return quoteString(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`cannot bind ${value} as a SQL literal`);
    return Number.isInteger(value) ? String(value) : `DOUBLE '${value}'`;
  }
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  return timestampLiteral(value);
}

/**
 * Macros that give a DuckDB connection Trino's functions, so generated text runs unchanged:
 * `from_iso8601_timestamp(text)` and `from_unixtime(seconds)`, both returning a UTC `TIMESTAMP`
 * (Trino returns `timestamp(3) with time zone`; comparisons agree, precision is finer in DuckDB).
 * `CAST(... AS TIMESTAMPTZ)` honours offsets (`+02:00`), which a plain `TIMESTAMP` cast ignores.
 *
 * @example
 * ```typescript
 * for (const sql of DUCKDB_TRINO_MACROS) await connection.run(sql);
 * ```
 */
const DUCKDB_TRINO_MACROS: readonly string[] = [
  'CREATE OR REPLACE MACRO from_iso8601_timestamp(s) AS make_timestamp(epoch_us(CAST(s AS TIMESTAMPTZ)))',
  'CREATE OR REPLACE MACRO from_unixtime(x) AS make_timestamp(CAST(round(CAST(x AS DOUBLE) * 1000000) AS BIGINT))',
];

/**
 * DuckDB's exact and cheaper event time: text ending in `Z` (what the service accepts and the
 * embedded store writes) through the plain `TIMESTAMP` cast, which is ~2× cheaper than the zoned
 * (ICU) cast and gives the same instant for UTC text; anything else (an offset) through
 * `from_iso8601_timestamp`, which honours it.
 *
 * @example
 * ```typescript
 * duckDbEventTime('"et"', 'String');
 * // CASE WHEN ends_with("et", 'Z') THEN CAST("et" AS TIMESTAMP) ELSE from_iso8601_timestamp("et") END
 * ```
 */
function duckDbEventTime(column: string, type: FeatureType): string {
  if (type !== 'String') return eventTimeExpression(column, type);
  return `CASE WHEN ends_with(${column}, 'Z') THEN CAST(${column} AS TIMESTAMP) ELSE ${eventTimeExpression(column, type)} END`;
}

/** DuckDB: `COPY … TO` a local file, ASOF joins, zoned timestamps converted. */
const duckDbDialect: SqlDialect = Object.freeze({
  name: 'duckdb',
  supportsAsofJoin: true,
  exportStatement(selectSql: string, target: ExportTarget): string {
    const options =
      target.format === 'parquet'
        ? "FORMAT parquet, COMPRESSION 'snappy'"
        : 'FORMAT csv, HEADER true';
    return `COPY (${selectSql}) TO ${quoteString(target.path)} (${options})`;
  },
  timestampFromZoned(expression: string): string {
    return `make_timestamp(epoch_us(${expression}))`;
  },
  literal,
  eventTime: duckDbEventTime,
});

/** Athena (Trino): `UNLOAD … TO 's3://…'`, no ASOF, zoned timestamps compared as they are. */
const athenaDialect: SqlDialect = Object.freeze({
  name: 'athena',
  supportsAsofJoin: false,
  exportStatement(selectSql: string, target: ExportTarget): string {
    if (!target.path.startsWith('s3://')) {
      throw new Error(`Athena writes results to S3; ${target.path} is not an s3:// prefix`);
    }
    const prefix = target.path.endsWith('/') ? target.path : `${target.path}/`;
    const options =
      target.format === 'parquet'
        ? "format = 'PARQUET', compression = 'SNAPPY'"
        : "format = 'TEXTFILE', field_delimiter = ','";
    return `UNLOAD (${selectSql}) TO ${quoteString(prefix)} WITH (${options})`;
  },
  timestampFromZoned(expression: string): string {
    return expression;
  },
  literal,
  eventTime: eventTimeExpression,
});

export type { DialectName, SqlDialect };
export {
  athenaDialect,
  DUCKDB_TRINO_MACROS,
  duckDbDialect,
  eventTimeExpression,
  intervalSeconds,
  quoteIdent,
  quoteString,
  sqlTypeOf,
  timestampLiteral,
};

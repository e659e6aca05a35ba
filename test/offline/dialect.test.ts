// calendar-fixed: SQL text of fixed instants.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  athenaDialect,
  duckDbDialect,
  eventTimeExpression,
  intervalSeconds,
  quoteIdent,
  quoteString,
  sqlTypeOf,
  timestampLiteral,
} from '../../shared/offline/dialect.ts';
import { createDuckDbEngine, type DuckDbEngine } from '../../shared/offline/duckdb.ts';

describe('shared SQL vocabulary', () => {
  it('quotes identifiers and strings the same way for both engines', () => {
    expect(quoteIdent('fraud-cards.txn_count_7d')).toBe('"fraud-cards.txn_count_7d"');
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(quoteString("it's")).toBe("'it''s'");
    expect(timestampLiteral(new Date('2026-01-02T03:04:05.006Z'))).toBe(
      "TIMESTAMP '2026-01-02 03:04:05.006'"
    );
    expect(intervalSeconds(86_400)).toBe("INTERVAL '86400' SECOND");
    expect(() => intervalSeconds(1.5)).toThrow(RangeError);
    expect(sqlTypeOf('String')).toBe('VARCHAR');
    expect(sqlTypeOf('Integral')).toBe('BIGINT');
    expect(sqlTypeOf('Fractional')).toBe('DOUBLE');
    expect(eventTimeExpression('"event_time"', 'String')).toBe(
      'from_iso8601_timestamp("event_time")'
    );
    expect(eventTimeExpression('"ts"', 'Fractional')).toBe('from_unixtime("ts")');
  });

  it('isolates the differences: export statement, zoned timestamps, ASOF', () => {
    expect(
      duckDbDialect.exportStatement('SELECT 1', { path: '/tmp/o.parquet', format: 'parquet' })
    ).toBe("COPY (SELECT 1) TO '/tmp/o.parquet' (FORMAT parquet, COMPRESSION 'snappy')");
    expect(duckDbDialect.exportStatement('SELECT 1', { path: "/tmp/o'.csv", format: 'csv' })).toBe(
      "COPY (SELECT 1) TO '/tmp/o''.csv' (FORMAT csv, HEADER true)"
    );
    expect(athenaDialect.exportStatement('SELECT 1', { path: 's3://b/p', format: 'csv' })).toBe(
      "UNLOAD (SELECT 1) TO 's3://b/p/' WITH (format = 'TEXTFILE', field_delimiter = ',')"
    );
    expect(() =>
      athenaDialect.exportStatement('SELECT 1', { path: '/tmp/x', format: 'csv' })
    ).toThrow(/s3:\/\//);
    expect(duckDbDialect.timestampFromZoned('"t"')).toBe('make_timestamp(epoch_us("t"))');
    expect(athenaDialect.timestampFromZoned('"t"')).toBe('"t"');
    expect(duckDbDialect.supportsAsofJoin).toBe(true);
    expect(athenaDialect.supportsAsofJoin).toBe(false);
    expect(athenaDialect.literal(null)).toBe('NULL');
    expect(athenaDialect.literal(3)).toBe('3');
    expect(() => athenaDialect.literal(Number.NaN)).toThrow(RangeError);
  });
});

describe('DuckDB macros with Trino semantics', () => {
  let engine: DuckDbEngine;
  beforeAll(async () => {
    engine = await createDuckDbEngine();
  });
  afterAll(async () => {
    await engine.close();
  });

  const iso = async (text: string): Promise<unknown> =>
    (await engine.queryAll('SELECT from_iso8601_timestamp(?) AS "t"', { params: [text] })).rows[0]
      ?.t;

  it('from_iso8601_timestamp: UTC timestamp, offsets honoured, 0-9 fraction digits', async () => {
    expect(await iso('2026-01-02T03:04:05.123Z')).toEqual(new Date('2026-01-02T03:04:05.123Z'));
    expect(await iso('2026-01-02T03:04:05Z')).toEqual(new Date('2026-01-02T03:04:05Z'));
    expect(await iso('2026-01-02T05:04:05.5+02:00')).toEqual(new Date('2026-01-02T03:04:05.500Z'));
    expect(await iso('2026-01-01T20:04:05-07:00')).toEqual(new Date('2026-01-02T03:04:05Z'));
    expect(await iso('2026-01-02T03:04:05.123456789Z')).toEqual(
      new Date('2026-01-02T03:04:05.123Z')
    );
    // Microseconds are kept for comparisons (finer than Athena's milliseconds).
    const { rows } = await engine.queryAll(
      "SELECT from_iso8601_timestamp('2026-01-02T03:04:05.123001Z') > from_iso8601_timestamp('2026-01-02T03:04:05.123Z') AS \"gt\", typeof(from_iso8601_timestamp('2026-01-02T03:04:05Z')) AS \"type\""
    );
    expect(rows).toEqual([{ gt: true, type: 'TIMESTAMP' }]);
  });

  it('the ASOF path event time equals from_iso8601_timestamp (UTC text fast, offsets honoured)', async () => {
    const texts = [
      '2026-01-02T03:04:05Z',
      '2026-01-02T03:04:05.5Z',
      '2026-01-02T03:04:05.123001Z',
      '2026-01-02T03:04:05.123456789Z',
      '0999-01-02T03:04:05Z',
      '2026-01-02T05:04:05.5+02:00',
      '2026-01-01T20:04:05-07:00',
      '2026-01-02T03:04:05',
    ];
    const values = texts.map((t) => `(${quoteString(t)})`).join(', ');
    const { rows } = await engine.queryAll(
      `SELECT "s", epoch_us(${duckDbDialect.eventTime('"s"', 'String')}) AS "fast", epoch_us(from_iso8601_timestamp("s")) AS "shared" FROM (VALUES ${values}) AS v("s")`
    );
    expect(rows).toHaveLength(texts.length);
    for (const r of rows) expect(r.fast, String(r.s)).toBe(r.shared);
    expect(duckDbDialect.eventTime('"t"', 'Fractional')).toBe('from_unixtime("t")');
    expect(athenaDialect.eventTime('"t"', 'String')).toBe('from_iso8601_timestamp("t")');
  });

  it('from_unixtime: epoch seconds (fractional) as a UTC timestamp', async () => {
    const { rows } = await engine.queryAll(
      'SELECT from_unixtime(1767323045.25) AS "a", from_unixtime(CAST(0 AS BIGINT)) AS "b"'
    );
    expect(rows).toEqual([{ a: new Date('2026-01-02T03:04:05.250Z'), b: new Date(0) }]);
  });

  it('runs INTERVAL arithmetic and TIMESTAMP literals as Trino writes them', async () => {
    const { rows } = await engine.queryAll(
      `SELECT ${timestampLiteral(new Date('2026-01-02T00:00:00Z'))} - ${intervalSeconds(3600)} AS "t"`
    );
    expect(rows).toEqual([{ t: new Date('2026-01-01T23:00:00Z') }]);
  });
});

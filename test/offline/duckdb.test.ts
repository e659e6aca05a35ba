// calendar-fixed: offline history: no TTL offline, label times fixed against their own rows.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cards } from '../../shared/definitions.ts';
import { createDuckDbEngine, type DuckDbEngine } from '../../shared/offline/duckdb.ts';
import { OfflineFilesUnreadableError, OfflineQueryError } from '../../shared/offline/errors.ts';
import { findGroupTable } from '../../shared/offline/layout.ts';
import { type FixtureRow, fixtureDataPath, writeOfflineRows } from '../helpers/offlineFixtures.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'skewless-duck-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const at = new Date('2026-01-02T03:04:05.123Z');
const cardRow = (
  id: string,
  eventTime: string,
  extra: Record<string, string | number | bigint> = {}
): FixtureRow => ({
  values: { card_id: id, event_time: eventTime, ...extra },
  writeTime: at,
  apiInvocationTime: at,
  isDeleted: false,
});

/** The SQL of the (one) group view the engine created. */
async function groupViewSql(engine: DuckDbEngine): Promise<string> {
  const { rows } = await engine.queryAll(
    "SELECT sql FROM duckdb_views() WHERE schema_name = 'sagemaker_featurestore'"
  );
  return String(rows[0]?.sql);
}

describe('DuckDbEngine: group tables', () => {
  let engine: DuckDbEngine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it('reads the newest <group>-<epoch> directory as "sagemaker_featurestore"."<group>-<epoch>"', async () => {
    const dataDir = tempDir();
    await writeOfflineRows({
      dataDir,
      group: cards,
      creationEpochSeconds: 1_700_000_000,
      rows: [cardRow('old', '2026-01-01T00:00:00.000Z')],
    });
    await writeOfflineRows({
      dataDir,
      group: cards,
      creationEpochSeconds: 1_767_225_600,
      rows: [cardRow('new', '2026-01-01T00:00:00.000Z')],
    });
    // Another group whose name starts like this one is not a table of it.
    mkdirSync(
      join(
        fixtureDataPath({ dataDir, group: cards }),
        '..',
        '..',
        'fraud-cards-v2-1800000000',
        'data'
      ),
      {
        recursive: true,
      }
    );
    engine = await createDuckDbEngine({ dataDir });
    const table = await engine.tableFor(cards);
    expect(table).toBe('"sagemaker_featurestore"."fraud-cards-1767225600"');
    const { rows } = await engine.queryAll(`SELECT "card_id" FROM ${table}`);
    expect(rows).toEqual([{ card_id: 'new' }]);
  });

  it('types every schema column, nulls where older files lack a feature (union_by_name)', async () => {
    const dataDir = tempDir();
    await writeOfflineRows({
      dataDir,
      group: cards,
      features: ['card_id', 'event_time', 'txn_count_7d'],
      rows: [cardRow('c1', '2026-01-01T10:00:00.000Z', { txn_count_7d: 1n })],
    });
    await writeOfflineRows({
      dataDir,
      group: cards,
      rows: [
        cardRow('c2', '2026-01-01T11:00:00.000Z', {
          txn_count_7d: 2n,
          home_country: 'FR',
          amount_sum_7d: 2.5,
        }),
      ],
    });
    engine = await createDuckDbEngine({ dataDir });
    const table = await engine.tableFor(cards);
    const { columns, rows } = await engine.queryAll(
      `SELECT "card_id", "txn_count_7d", "home_country", "amount_sum_7d", "is_deleted", "write_time", "year", "month", "day", "hour" FROM ${table} ORDER BY "card_id"`
    );
    expect(columns.map((c) => c.type)).toEqual([
      'varchar',
      'bigint',
      'varchar',
      'double',
      'boolean',
      'timestamp',
      'integer',
      'integer',
      'integer',
      'integer',
    ]);
    expect(rows).toEqual([
      {
        card_id: 'c1',
        txn_count_7d: 1n,
        home_country: null,
        amount_sum_7d: null,
        is_deleted: false,
        write_time: at,
        year: 2026,
        month: 1,
        day: 1,
        hour: 10,
      },
      {
        card_id: 'c2',
        txn_count_7d: 2n,
        home_country: 'FR',
        amount_sum_7d: 2.5,
        is_deleted: false,
        write_time: at,
        year: 2026,
        month: 1,
        day: 1,
        hour: 11,
      },
    ]);
    // The identifier sample reads only the first file in path order (hour 10), typed as the view.
    const sample = await engine.identifierSampleFor(cards);
    const sampled = await engine.queryAll(`SELECT * FROM ${sample}`);
    expect(sampled.columns).toEqual([{ name: 'card_id', type: 'varchar' }]);
    expect(sampled.rows).toEqual([{ card_id: 'c1' }]);
    const describe = await engine.describe(`SELECT * FROM ${table}`);
    expect(describe.map((c) => c.name)).toEqual([
      ...cards.featureNames,
      'write_time',
      'api_invocation_time',
      'is_deleted',
      'day',
      'hour',
      'month',
      'year',
    ]);
  });

  it('types a table whose files hold the schema columns by binding the files once', async () => {
    const dataDir = tempDir();
    await writeOfflineRows({
      dataDir,
      group: cards,
      rows: [
        cardRow('c2', '2026-01-02T09:00:00.000Z', { txn_count_7d: 2n }),
        cardRow('c1', '2026-01-01T10:00:00.000Z', { txn_count_7d: 1n }),
        cardRow('c3', '2026-01-01T11:00:00.000Z', { txn_count_7d: 3n }),
      ],
    });
    const statements: string[] = [];
    engine = await createDuckDbEngine({ dataDir, onStatement: (sql) => statements.push(sql) });
    const table = await engine.tableFor(cards);
    // Over 18 months of hourly partitions, listing the files takes ~0.3 s: the engine lists them
    // once (the first one is the identifier sample's) and the view reads that list, not a glob.
    expect(statements.filter((sql) => /\bglob\(/.test(sql))).toEqual([]);
    const sample = await engine.identifierSampleFor(cards);
    expect((await engine.queryAll(`SELECT * FROM ${sample}`)).rows).toEqual([{ card_id: 'c1' }]);
    // Binding reads every file's schema (union_by_name): over 18 months of hourly partitions
    // that is seconds per bind, so a table that needs no cast is a view of the files as they are.
    expect(await groupViewSql(engine)).toMatch(/ AS SELECT \* FROM read_parquet\(/);
    const columns = (await engine.describe(`SELECT * FROM ${table}`)).map(
      (c) => `${c.name} ${c.type}`
    );
    expect(columns).toEqual([
      'card_id varchar',
      'event_time varchar',
      'txn_count_7d bigint',
      'txn_count_30d bigint',
      'amount_sum_7d double',
      'amount_sum_30d double',
      'distinct_merchants_30d bigint',
      'chargebacks_365d bigint',
      'card_age_days bigint',
      'home_country varchar',
      'write_time timestamp',
      'api_invocation_time timestamp',
      'is_deleted boolean',
      'day integer',
      'hour integer',
      'month integer',
      'year integer',
    ]);
  });

  it('reads by the first file schema, and a later file that lacks a feature makes it read every file schema', async () => {
    const dataDir = tempDir();
    // The first file in path order (hour 10) has every feature; a file written before
    // home_country was added lands in a later partition (hour 11), as late data does.
    await writeOfflineRows({
      dataDir,
      group: cards,
      rows: [cardRow('c1', '2026-01-01T10:00:00.000Z', { txn_count_7d: 1n, home_country: 'FR' })],
    });
    await writeOfflineRows({
      dataDir,
      group: cards,
      features: ['card_id', 'event_time', 'txn_count_7d'],
      rows: [cardRow('c2', '2026-01-01T11:00:00.000Z', { txn_count_7d: 2n })],
    });
    const statements: string[] = [];
    engine = await createDuckDbEngine({ dataDir, onStatement: (sql) => statements.push(sql) });
    const table = await engine.tableFor(cards);
    const viewSql = (): Promise<string> => groupViewSql(engine as DuckDbEngine);
    // Bound over the first file's schema only: no union_by_name.
    expect(await viewSql()).not.toMatch(/union_by_name/);
    const read = `SELECT "card_id", "txn_count_7d", "home_country" FROM ${table} ORDER BY "card_id"`;
    const expected = [
      { card_id: 'c1', txn_count_7d: 1n, home_country: 'FR' },
      { card_id: 'c2', txn_count_7d: 2n, home_country: null },
    ];
    expect((await engine.queryAll(read)).rows).toEqual(expected);
    expect(await viewSql()).toMatch(/union_by_name/);
    // The statement ran twice: once failing on the hour-11 file, once over every file's schema.
    expect(statements.filter((s) => s === read)).toHaveLength(2);
    // Statements that do not stream (COPY, CREATE TABLE) run again the same way.
    const other = await createDuckDbEngine({ dataDir });
    try {
      const otherTable = await other.tableFor(cards);
      const kept = await other.materialize(
        `SELECT "card_id", "txn_count_7d", "home_country" FROM ${otherTable}`
      );
      expect((await other.queryAll(`SELECT * FROM ${kept.sql} ORDER BY "card_id"`)).rows).toEqual(
        expected
      );
    } finally {
      await other.close();
    }
  });

  it('still reads a table whose files are not all in hourly partitions', async () => {
    const dataDir = tempDir();
    const data = await writeOfflineRows({
      dataDir,
      group: cards,
      rows: [cardRow('h1', '2026-01-01T00:00:00.000Z')],
    });
    engine = await createDuckDbEngine({ dataDir });
    await engine.execute(
      `COPY (SELECT 'flat' AS "card_id", '2026-01-01T01:00:00.000Z' AS "event_time", TIMESTAMP '2026-01-01 01:00:00' AS "write_time", TIMESTAMP '2026-01-01 01:00:00' AS "api_invocation_time", false AS "is_deleted") TO '${join(data, 'stray.parquet')}' (FORMAT parquet)`
    );
    const table = await engine.tableFor(cards);
    const { rows } = await engine.queryAll(`SELECT "card_id" FROM ${table} ORDER BY 1`);
    expect(rows).toEqual([{ card_id: 'flat' }, { card_id: 'h1' }]);
  });

  it('gives a group that never wrote offline an empty table with the schema columns', async () => {
    engine = await createDuckDbEngine({ dataDir: tempDir() });
    const table = await engine.tableFor(cards);
    expect(table).toBe('"sagemaker_featurestore"."fraud-cards"');
    const { rows, columns } = await engine.queryAll(`SELECT * FROM ${table}`);
    expect(rows).toEqual([]);
    expect(columns.map((c) => c.name)).toEqual([
      ...cards.featureNames,
      'write_time',
      'api_invocation_time',
      'is_deleted',
    ]);
  });

  it('finds the embedded store under <dataDir>/store when only that exists', async () => {
    const dataDir = tempDir();
    await writeOfflineRows({
      dataDir: join(dataDir, 'store'),
      group: cards,
      rows: [cardRow('c9', '2026-01-01T00:00:00.000Z')],
    });
    engine = await createDuckDbEngine({ dataDir });
    const { rows } = await engine.queryAll(`SELECT "card_id" FROM ${await engine.tableFor(cards)}`);
    expect(rows).toEqual([{ card_id: 'c9' }]);
  });

  it('reads any Parquet path for a group (groupPaths)', async () => {
    const dataDir = tempDir();
    const data = await writeOfflineRows({
      dataDir,
      group: cards,
      rows: [cardRow('p1', '2026-01-01T00:00:00.000Z')],
    });
    engine = await createDuckDbEngine({ groupPaths: { 'fraud-cards': data } });
    const table = await engine.tableFor(cards);
    expect(table).toBe('"sagemaker_featurestore"."fraud-cards"');
    expect((await engine.queryAll(`SELECT "card_id" FROM ${table}`)).rows).toEqual([
      { card_id: 'p1' },
    ]);
  });
});

describe('DuckDbEngine: statements', () => {
  let engine: DuckDbEngine;
  beforeEach(async () => {
    engine = await createDuckDbEngine({ threads: 2 });
  });
  afterEach(async () => {
    await engine.close();
  });

  it('applies the memory limit and the spill directory it is given', async () => {
    const spill = mkdtempSync(join(tmpdir(), 'skewless-spill-'));
    const bounded = await createDuckDbEngine({ memoryLimit: '300MB', tempDirectory: spill });
    try {
      const { rows } = await bounded.queryAll(
        'SELECT current_setting(\'memory_limit\') AS "m", current_setting(\'temp_directory\') AS "t"'
      );
      expect(rows).toEqual([{ m: '286.1 MiB', t: spill }]);
    } finally {
      await bounded.close();
      rmSync(spill, { recursive: true, force: true });
    }
  });

  it('closes the database it opened when a setting is refused', async () => {
    const closed = vi.spyOn(DuckDBInstance.prototype, 'closeSync');
    try {
      await expect(createDuckDbEngine({ memoryLimit: 'lots' })).rejects.toThrow(/memory/i);
      expect(closed).toHaveBeenCalledTimes(1);
    } finally {
      closed.mockRestore();
    }
  });

  it('binds parameters and decodes values by column type', async () => {
    const { rows, columns } = await engine.queryAll(
      'SELECT ? AS "s", CAST(? AS BIGINT) AS "b", ? AS "d", ? AS "t", ? AS "f", CAST(? AS VARCHAR) AS "n", CAST(7 AS INTEGER) AS "i", DATE \'2026-01-02\' AS "day", CAST(1.25 AS DECIMAL(5,2)) AS "dec"',
      { params: ["it's", 9007199254740993n, 1.5, new Date('2026-01-02T03:04:05.006Z'), true, null] }
    );
    expect(rows).toEqual([
      {
        s: "it's",
        b: 9007199254740993n,
        d: 1.5,
        t: new Date('2026-01-02T03:04:05.006Z'),
        f: true,
        n: null,
        i: 7,
        day: new Date('2026-01-02T00:00:00Z'),
        dec: '1.25',
      },
    ]);
    expect(columns.find((c) => c.name === 'dec')?.type).toBe('decimal');
  });

  it('streams large results page by page and stops early when the reader does', async () => {
    let pages = 0;
    let rows = 0;
    for await (const page of engine.query('SELECT range AS "n" FROM range(10000)')) {
      pages += 1;
      rows += page.rows.length;
    }
    expect(rows).toBe(10_000);
    expect(pages).toBeGreaterThan(1);
    // A sequence counts the rows DuckDB made: a reader's break must stop the fetching, not only
    // the yielding (the connection would otherwise read all million rows, and pass the rest).
    await engine.execute('CREATE SEQUENCE "rows_made"');
    for await (const page of engine.query(
      `SELECT nextval('rows_made') AS "n" FROM range(1000000)`
    )) {
      expect(page.rows.length).toBeGreaterThan(0);
      break;
    }
    const { rows: made } = await engine.queryAll(`SELECT currval('rows_made') AS "made"`);
    expect(Number(made[0]?.made)).toBeLessThan(1_000_000);
    // The connection is free again.
    expect((await engine.queryAll('SELECT 1 AS "one"')).rows).toEqual([{ one: 1 }]);
  });

  it('returns the columns of an empty result', async () => {
    const { rows, columns } = await engine.queryAll('SELECT 1 AS "a" WHERE false');
    expect(rows).toEqual([]);
    expect(columns).toEqual([{ name: 'a', type: 'integer' }]);
  });

  it('fails with OfflineQueryError', async () => {
    const error = await engine.queryAll('SELECT "nope" FROM range(1)').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OfflineQueryError);
    expect(error).toMatchObject({ engine: 'duckdb', state: 'FAILED' });
  });

  /** A statement that runs for minutes unless interrupted. */
  const SLOW_STATEMENT =
    'CREATE TEMP TABLE "slow" AS SELECT a.range * b.range AS "x" FROM range(30000) a, range(30000) b ORDER BY "x" DESC';

  it('interrupts a running statement on abort', async () => {
    const controller = new AbortController();
    const running = engine.execute(SLOW_STATEMENT, { signal: controller.signal });
    setTimeout(() => controller.abort(), 300);
    await expect(running).rejects.toMatchObject({ state: 'CANCELLED' });
    expect((await engine.queryAll('SELECT 2 AS "two"')).rows).toEqual([{ two: 2 }]);
  });

  it('interrupts a statement aborted before DuckDB has begun it', async () => {
    // The abort lands as the statement is handed to DuckDB, before a worker thread starts it
    // (on a loaded machine, that wait can outlast the 300 ms above).
    const controller = new AbortController();
    const aborting = await createDuckDbEngine({
      threads: 2,
      onStatement: () => controller.abort(),
    });
    try {
      await expect(
        aborting.execute(SLOW_STATEMENT, { signal: controller.signal })
      ).rejects.toMatchObject({ state: 'CANCELLED' });
      expect((await aborting.queryAll('SELECT 2 AS "two"')).rows).toEqual([{ two: 2 }]);
    } finally {
      await aborting.close();
    }
  });

  it('cancels a statement aborted before its turn with the same error as one aborted while running', async () => {
    const aborted = AbortSignal.abort(new Error('user pressed ^C'));
    for (const run of [
      () => engine.execute('SELECT 1', { signal: aborted }),
      () => engine.queryAll('SELECT 1', { signal: aborted }),
    ]) {
      const error = await run().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OfflineQueryError);
      expect(error).toMatchObject({ engine: 'duckdb', state: 'CANCELLED', cause: aborted.reason });
    }
    // Queued behind a running statement on the one connection, aborted while it waits.
    const running = new AbortController();
    const waiting = new AbortController();
    const first = engine.execute(SLOW_STATEMENT, { signal: running.signal });
    const queued = [
      engine.execute('SELECT 1', { signal: waiting.signal }).catch((e: unknown) => e),
      engine.queryAll('SELECT 1', { signal: waiting.signal }).catch((e: unknown) => e),
    ];
    waiting.abort();
    running.abort();
    await expect(first).rejects.toMatchObject({ state: 'CANCELLED' });
    for (const error of await Promise.all(queued)) {
      expect(error).toBeInstanceOf(OfflineQueryError);
      expect(error).toMatchObject({ engine: 'duckdb', state: 'CANCELLED' });
    }
    expect((await engine.queryAll('SELECT 2 AS "two"')).rows).toEqual([{ two: 2 }]);
  });

  it('cancels a streamed query aborted between pages, never ending it as if complete', async () => {
    // The interrupt can end DuckDB's stream like a finished one (about 1 run in 3 before the
    // fix): repeated, so that a truncated result passed off as whole shows.
    for (let run = 0; run < 10; run++) {
      const controller = new AbortController();
      let rows = 0;
      const read = async (): Promise<void> => {
        for await (const page of engine.query('SELECT range AS "n" FROM range(1000000)', {
          signal: controller.signal,
        })) {
          rows += page.rows.length;
          controller.abort();
        }
      };
      const error = await read().catch((e: unknown) => e);
      expect(error, `run ${run}: ${rows} rows, then a normal end`).toBeInstanceOf(
        OfflineQueryError
      );
      expect(error).toMatchObject({ engine: 'duckdb', state: 'CANCELLED' });
      expect(rows).toBeGreaterThan(0);
    }
    expect((await engine.queryAll('SELECT 2 AS "two"')).rows).toEqual([{ two: 2 }]);
  });

  it('reports DuckDB progress while a scan runs', async () => {
    // The scan takes ~0.1-0.3 s on a quiet machine: poll often enough to see it move.
    const polled = await createDuckDbEngine({ threads: 2, progressIntervalMs: 5 });
    try {
      const file = join(tempDir(), 'big.parquet');
      await polled.execute(
        `COPY (SELECT range AS "x", range % 1000 AS "g" FROM range(4000000)) TO '${file}' (FORMAT parquet, ROW_GROUP_SIZE 100000)`
      );
      const seen: number[] = [];
      await polled.execute(
        `CREATE TEMP TABLE "agg" AS SELECT "g", count(DISTINCT "x" % 200000) AS "d" FROM read_parquet('${file}') GROUP BY "g"`,
        {
          onProgress: (p) => {
            if (p.percentage !== undefined) seen.push(p.percentage);
          },
        }
      );
      expect(seen.length).toBeGreaterThan(0);
      expect(Math.max(...seen)).toBeGreaterThan(0);
      expect(Math.max(...seen)).toBeLessThanOrEqual(100);
    } finally {
      await polled.close();
    }
  });

  it('reads label files: Parquet, and CSV with forced column types', async () => {
    const dir = tempDir();
    const csv = join(dir, 'labels.csv');
    writeFileSync(
      csv,
      'card_id,at,y\n000123,2026-01-02T03:04:05Z,1\n000124,2026-01-02T04:04:05Z,0\n'
    );
    const csvTable = await engine.fileTable(csv, {
      format: 'csv',
      columnTypes: { card_id: 'VARCHAR' },
    });
    expect(
      (await engine.queryAll(`SELECT "card_id", "y" FROM ${csvTable} ORDER BY 1`)).rows
    ).toEqual([
      { card_id: '000123', y: 1n },
      { card_id: '000124', y: 0n },
    ]);
    const parquet = join(dir, 'labels.parquet');
    await engine.execute(
      `COPY (SELECT 42 AS "card_id", 1 AS "y") TO '${parquet}' (FORMAT parquet)`
    );
    const parquetTable = await engine.fileTable(parquet, {
      format: 'parquet',
      columnTypes: { card_id: 'VARCHAR' },
    });
    expect((await engine.queryAll(`SELECT * FROM ${parquetTable}`)).rows).toEqual([
      { card_id: '42', y: 1 },
    ]);
  });

  it('materializes a relation and exports Parquet or CSV', async () => {
    const dir = tempDir();
    const rel = await engine.materialize('SELECT range AS "n" FROM range(5)');
    expect(rel.stored).toBe(true);
    await engine.exportQuery(`SELECT * FROM ${rel.sql}`, {
      path: join(dir, 'o.csv'),
      format: 'csv',
    });
    await engine.exportQuery(`SELECT * FROM ${rel.sql}`, {
      path: join(dir, 'o.parquet'),
      format: 'parquet',
    });
    await rel.release();
    const csv = await engine.queryAll(
      `SELECT count(*) AS "n" FROM read_csv('${join(dir, 'o.csv')}')`
    );
    const pq = await engine.queryAll(
      `SELECT sum("n") AS "s" FROM read_parquet('${join(dir, 'o.parquet')}')`
    );
    expect(csv.rows).toEqual([{ n: 5n }]);
    expect(pq.rows).toEqual([{ s: 10n }]);
    await expect(engine.queryAll(`SELECT * FROM ${rel.sql}`)).rejects.toThrow(OfflineQueryError);
  });
});

describe('findGroupTable', () => {
  it('is undefined when the layout is missing', () => {
    expect(findGroupTable({ root: join(tempDir(), 'nothing') }, 'fraud-cards')).toBeUndefined();
  });

  it("says so when the groups' folder cannot be listed, rather than finding no table", () => {
    // A file where the layout's `offline-store` folder should be: listing it fails (ENOTDIR).
    const root = tempDir();
    const groups = join(root, '000000000000', 'sagemaker', 'us-east-1');
    mkdirSync(groups, { recursive: true });
    writeFileSync(join(groups, 'offline-store'), '');
    expect(() => findGroupTable({ root }, 'fraud-cards')).toThrow(OfflineFilesUnreadableError);
    expect(() => findGroupTable({ root }, 'fraud-cards')).toThrow(/offline-store .*ENOTDIR/);
  });
});

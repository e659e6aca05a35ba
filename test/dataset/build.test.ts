// calendar-fixed: offline history: no TTL offline, label times fixed against their own rows.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AthenaClient } from '@aws-sdk/client-athena';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTrainingSet } from '../../shared/dataset/build.ts';
import {
  parseDuration,
  parseMaxAgeOption,
  resolveMaxAgeSeconds,
  resolveSelections,
} from '../../shared/dataset/resolve.ts';
import { labelTimeExpression, PACKED_KEY_ERROR, packedRowKey } from '../../shared/dataset/sql.ts';
import {
  cards,
  featureGroups,
  fraudModelV3,
  merchants,
  transactions,
} from '../../shared/definitions.ts';
import { AthenaEngine } from '../../shared/offline/athena.ts';
import { athenaDialect, duckDbDialect, timestampLiteral } from '../../shared/offline/dialect.ts';
import { createDuckDbEngine, type DuckDbEngine } from '../../shared/offline/duckdb.ts';
import { defineFeatureSet, select } from '../../shared/schema/index.ts';
import { writeOfflineRows } from '../helpers/offlineFixtures.ts';

describe('resolving what the user names', () => {
  it('groups group.feature names by group, in first-seen order', () => {
    const s = resolveSelections(
      {
        features: [
          'fraud-cards.txn_count_7d',
          'fraud-merchants.mcc',
          'fraud-cards.card_age_days',
          'fraud-cards.txn_count_7d',
        ],
      },
      featureGroups
    );
    expect(s.map((x) => [x.group.name, x.features])).toEqual([
      ['fraud-cards', ['txn_count_7d', 'card_age_days']],
      ['fraud-merchants', ['mcc']],
    ]);
    expect(
      resolveSelections({ featureSet: fraudModelV3 }, featureGroups).map((x) => x.group.name)
    ).toEqual(['fraud-transactions', 'fraud-cards', 'fraud-merchants']);
  });

  it('rejects unknown groups and features, bad names, and both or neither source', () => {
    expect(() => resolveSelections({ features: ['fraud-dogs.x'] }, featureGroups)).toThrow(
      /Unknown feature group "fraud-dogs"/
    );
    expect(() => resolveSelections({ features: ['fraud-cards.nope'] }, featureGroups)).toThrow(
      /Unknown feature "fraud-cards.nope"/
    );
    expect(() => resolveSelections({ features: ['fraud-cards'] }, featureGroups)).toThrow(
      /not group.feature/
    );
    expect(() => resolveSelections({ features: [] }, featureGroups)).toThrow(/at least one/);
    expect(() =>
      resolveSelections(
        { featureSet: fraudModelV3, features: ['fraud-cards.txn_count_7d'] },
        featureGroups
      )
    ).toThrow(/not both/);
  });

  it('parses durations and --max-age', () => {
    expect(parseDuration('90s')).toEqual({ unit: 'Seconds', value: 90 });
    expect(parseDuration('2d')).toEqual({ unit: 'Days', value: 2 });
    expect(() => parseDuration('2 days')).toThrow();
    expect(() => parseDuration('0h')).toThrow();
    expect(parseMaxAgeOption('schema')).toBe('schema');
    expect(parseMaxAgeOption('12h')).toEqual({ unit: 'Hours', value: 12 });
    expect(parseMaxAgeOption('fraud-cards=1w, fraud-merchants=schema')).toEqual({
      'fraud-cards': { unit: 'Weeks', value: 1 },
      'fraud-merchants': 'schema',
    });
  });

  it('takes max ages from the option, the feature set or the group', () => {
    expect(resolveMaxAgeSeconds(undefined, cards, undefined)).toBeUndefined();
    expect(resolveMaxAgeSeconds('schema', cards, undefined)).toBe(2 * 86_400);
    expect(resolveMaxAgeSeconds('schema', transactions, fraudModelV3)).toBe(3600);
    const withSetAge = defineFeatureSet({
      name: 'short',
      description: 'x',
      selections: [select(cards, ['txn_count_7d'])],
      maxAge: { unit: 'Minutes', value: 5 },
    });
    expect(resolveMaxAgeSeconds('schema', cards, withSetAge)).toBe(300);
    expect(resolveMaxAgeSeconds({ unit: 'Hours', value: 3 }, merchants, undefined)).toBe(10_800);
    expect(resolveMaxAgeSeconds({ 'fraud-cards': 'schema' }, cards, undefined)).toBe(172_800);
    expect(resolveMaxAgeSeconds({ 'fraud-cards': 'schema' }, merchants, undefined)).toBeUndefined();
  });

  it('converts every label time type to a UTC timestamp expression', () => {
    expect(labelTimeExpression('"t"', 'varchar', athenaDialect)).toBe(
      'from_iso8601_timestamp("t")'
    );
    expect(labelTimeExpression('"t"', 'bigint', athenaDialect)).toBe('from_unixtime("t")');
    expect(labelTimeExpression('"t"', 'double', duckDbDialect)).toBe('from_unixtime("t")');
    expect(labelTimeExpression('"t"', 'timestamp', athenaDialect)).toBe('"t"');
    expect(labelTimeExpression('"t"', 'timestamp with time zone', athenaDialect)).toBe('"t"');
    expect(labelTimeExpression('"t"', 'timestamp with time zone', duckDbDialect)).toBe(
      'make_timestamp(epoch_us("t"))'
    );
    expect(labelTimeExpression('"t"', 'date', duckDbDialect)).toBe('CAST("t" AS TIMESTAMP)');
    expect(labelTimeExpression('"t"', 'timestamp_ns', duckDbDialect)).toBe(
      'CAST("t" AS TIMESTAMP)'
    );
    expect(() => labelTimeExpression('"t"', 'boolean', duckDbDialect)).toThrow(/not a timestamp/);
  });
});

describe('buildTrainingSet', () => {
  let dir: string;
  let engine: DuckDbEngine;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skewless-build-'));
    const at = (iso: string) => new Date(iso);
    await writeOfflineRows({
      dataDir: dir,
      group: cards,
      rows: [
        {
          values: {
            card_id: 'c1',
            event_time: '2026-01-01T00:00:00.000Z',
            txn_count_7d: 5n,
            home_country: 'DE',
          },
          writeTime: at('2026-01-01T00:00:00Z'),
          apiInvocationTime: at('2026-01-01T00:00:00Z'),
          isDeleted: false,
        },
        {
          values: { card_id: 'c2', event_time: '2026-01-01T00:00:00.000Z', txn_count_7d: 6n },
          writeTime: at('2026-01-01T00:00:00Z'),
          apiInvocationTime: at('2026-01-01T00:00:00Z'),
          isDeleted: false,
        },
      ],
    });
    engine = await createDuckDbEngine({ dataDir: dir });
  });
  afterAll(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads Parquet labels, maps entity keys, names columns with the separator, keeps label order', async () => {
    const labels = join(dir, 'labels.parquet');
    await engine.execute(
      `COPY (SELECT * FROM (VALUES ('c2', '2026-01-02T00:00:00Z', 1), ('c1', '2026-01-02T00:00:00Z', 2), ('c3', '2026-01-02T00:00:00Z', 3)) AS v("card", "at", "n")) TO '${labels}' (FORMAT parquet)`
    );
    const out = join(dir, 'out.parquet');
    const summary = await buildTrainingSet({
      engine,
      labels,
      features: ['fraud-cards.txn_count_7d', 'fraud-cards.home_country'],
      labelTimeColumn: 'at',
      entityKeyMap: { 'fraud-cards': 'card' },
      columnSeparator: '__',
      output: { path: out },
    });
    expect(summary.columns).toEqual([
      'card',
      'at',
      'n',
      'fraud-cards__txn_count_7d',
      'fraud-cards__home_country',
    ]);
    expect(summary.rows).toBe(3);
    expect(summary.labelsWithoutFeatures).toEqual({ 'fraud-cards': 1 });
    expect(summary.notes).toEqual([]);
    expect(summary.features).toEqual([
      {
        column: 'fraud-cards__txn_count_7d',
        group: 'fraud-cards',
        feature: 'txn_count_7d',
        nulls: 1,
        nullShare: 1 / 3,
      },
      {
        column: 'fraud-cards__home_country',
        group: 'fraud-cards',
        feature: 'home_country',
        nulls: 2,
        nullShare: 2 / 3,
      },
    ]);
    const { rows } = await engine.queryAll(
      `SELECT "card", "fraud-cards__txn_count_7d" AS "x" FROM read_parquet('${out}')`
    );
    expect(rows).toEqual([
      { card: 'c2', x: 6n },
      { card: 'c1', x: 5n },
      { card: 'c3', x: null },
    ]);
  });

  it('refuses numeric label times that are no epoch seconds (milliseconds would leak later features)', async () => {
    // Prepare: epoch milliseconds, as Java and Kafka exports write them; read as seconds they
    // are the year 57975, which would join every label to its group's latest row
    const labels = join(dir, 'labels-millis.csv');
    writeFileSync(labels, 'card_id,label_time\nc1,1767225600\nc2,1767312000000\n');
    // Act
    const building = buildTrainingSet({
      engine,
      labels,
      features: ['fraud-cards.txn_count_7d'],
      labelTimeColumn: 'label_time',
      output: { path: join(dir, 'out-millis.parquet') },
    });
    // Assess
    await expect(building).rejects.toThrow(
      'label time column "label_time" holds 1767312000000, beyond 9999-12-31 as epoch seconds: epoch milliseconds? Label times must be epoch seconds (divide by 1000), ISO-8601 text or a timestamp'
    );
  });

  it('refuses a text label time that is no time in one line naming the value and its row', async () => {
    // Prepare: a hand-edited CSV, one label time left as a word
    const labels = join(dir, 'labels-word.csv');
    writeFileSync(
      labels,
      'card_id,label_time\nc1,2026-01-02T00:00:00Z\nc2,2026-01-02T00:00:00Z\nc2,yesterday\n'
    );
    // Act
    const building = buildTrainingSet({
      engine,
      labels,
      features: ['fraud-cards.txn_count_7d'],
      labelTimeColumn: 'label_time',
      output: { path: join(dir, 'out-word.parquet') },
    });
    // Assess: not the engine's conversion error with an excerpt of the generated SQL
    await expect(building).rejects.toThrow(
      /^label time column "label_time" has "yesterday" \(row 3 of the labels\), which is no ISO-8601 time \(yyyy-MM-ddTHH:mm:ss\[\.fraction\] with Z or ±HH:MM\)$/
    );
  });

  it('names the lines of a labels CSV with more or fewer fields than its header, instead of reporting its columns missing', async () => {
    // Prepare: a hand-edited CSV, one row with a stray field and one with a field missing
    const labels = join(dir, 'labels-ragged.csv');
    writeFileSync(
      labels,
      'card_id,label_time,is_fraud\nc1,2026-01-02T00:00:00Z,1\nc2,2026-01-02T00:00:00Z,0,oops\nc1,2026-01-03T00:00:00Z,0\nc2,2026-01-03T00:00:00Z\n'
    );
    // Act
    const building = buildTrainingSet({
      engine,
      labels,
      features: ['fraud-cards.txn_count_7d'],
      labelTimeColumn: 'label_time',
      output: { path: join(dir, 'out-ragged.parquet') },
    });
    // Assess: DuckDB's sniffer read each line as one column named after the header, so this was
    // 'labels have no column "label_time" (columns: card_id,label_time,is_fraud)'
    await expect(building).rejects.toThrow(
      `${labels}: 2 lines do not have the header's 3 comma-separated fields, so the file cannot be read as CSV — line 3 (Expected Number of Columns: 3 Found: 4): c2,2026-01-02T00:00:00Z,0,oops; line 5 (Expected Number of Columns: 3 Found: 2): c2,2026-01-03T00:00:00Z. Fix or remove them`
    );
  });

  it('refuses a CSV label time past the sniffed sample that is no time, instead of reading it as null', async () => {
    // Prepare: DuckDB types the column from its first rows (timestamps with a zone); its CSV
    // reader then turns a later value it cannot read into null, and the label into one without
    // features, silently
    const labels = join(dir, 'labels-late-word.csv');
    writeFileSync(
      labels,
      `card_id,label_time\n${'c1,2026-01-02T00:00:00Z\n'.repeat(25_000)}c2,notatime\n`
    );
    // Act
    const building = buildTrainingSet({
      engine,
      labels,
      features: ['fraud-cards.txn_count_7d'],
      labelTimeColumn: 'label_time',
      output: { path: join(dir, 'out-late-word.parquet') },
    });
    // Assess
    await expect(building).rejects.toThrow(
      'label time column "label_time" has "notatime" (row 25001 of the labels), which is no ISO-8601 time'
    );
  });

  it('reads a labels CSV whose column changes type after the sampled rows, instead of failing on the engine error', async () => {
    // Prepare: a column of the user's own, a timestamp for DuckDB's 20,480 sampled rows, then
    // "n/a": DuckDB's conversion error (30 lines of reader options) failed the build
    const labels = join(dir, 'labels-late-type.csv');
    writeFileSync(
      labels,
      `card_id,label_time,reviewed_at\n${'c1,2026-01-02T00:00:00Z,2026-01-01 10:00:00\n'.repeat(25_000)}c2,2026-01-02T00:00:00Z,n/a\n`
    );
    const out = join(dir, 'out-late-type.csv');
    // Act
    const summary = await buildTrainingSet({
      engine,
      labels,
      features: ['fraud-cards.txn_count_7d'],
      labelTimeColumn: 'label_time',
      output: { path: out, format: 'csv' },
    });
    // Assess: every label, the column kept as the text it is, and a note saying why
    expect(summary.rows).toBe(25_001);
    expect(summary.notes).toContain(
      'labels CSV: column types detected again from every row (a row after the first 20,480 did not fit the type detected from them)'
    );
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines.at(1)).toMatch(/^c1,.*,2026-01-01 10:00:00,/);
    expect(lines.at(-1)).toMatch(/^c2,.*,n\/a,/);
  });

  it('tells a delivered row of only null features from no row (the summary then keeps the joined result)', async () => {
    const labels = join(dir, 'labels-null.parquet');
    await engine.execute(
      `COPY (SELECT * FROM (VALUES ('c2', '2026-01-02T00:00:00Z'), ('c1', '2026-01-02T00:00:00Z'), ('c3', '2026-01-02T00:00:00Z')) AS v("card_id", "at")) TO '${labels}' (FORMAT parquet)`
    );
    const phases: string[] = [];
    // c2's row has no home_country: its label got the row, with a null value; c3 got no row.
    const summary = await buildTrainingSet({
      engine,
      labels,
      features: ['fraud-cards.home_country'],
      labelTimeColumn: 'at',
      output: { path: join(dir, 'out-null.parquet') },
      onProgress: (p) => {
        if (phases.at(-1) !== p.phase) phases.push(p.phase);
      },
    });
    expect(summary.labelsWithoutFeatures).toEqual({ 'fraud-cards': 1 });
    expect(summary.features.map((f) => f.nulls)).toEqual([2]);
    expect(phases).toEqual(['prepare', 'join', 'export', 'summary']);
    // The second join is time the user should know of.
    expect(summary.notes).toEqual([expect.stringMatching(/the join ran a second time/)]);
    const { rows } = await engine.queryAll(
      `SELECT "card_id", "fraud-cards.home_country" AS "x" FROM read_parquet('${join(dir, 'out-null.parquet')}')`
    );
    expect(rows).toEqual([
      { card_id: 'c2', x: null },
      { card_id: 'c1', x: 'DE' },
      { card_id: 'c3', x: null },
    ]);
  });

  it('reports progress phases in order and can skip the summary', async () => {
    writeFileSync(join(dir, 'l.csv'), 'card_id,t\nc1,2026-01-05T00:00:00Z\n');
    const phases: string[] = [];
    const summary = await buildTrainingSet({
      engine,
      labels: join(dir, 'l.csv'),
      features: ['fraud-cards.txn_count_7d'],
      labelTimeColumn: 't',
      output: { path: join(dir, 'o.csv') },
      summary: false,
      onProgress: (p) => {
        if (phases.at(-1) !== p.phase) phases.push(p.phase);
      },
    });
    // Without a summary the output is written straight from the join (no kept result to export).
    expect(phases).toEqual(['prepare', 'join']);
    expect(summary.rows).toBeUndefined();
    expect(summary.output).toEqual({ path: join(dir, 'o.csv'), format: 'csv' });
  });

  it('refuses missing columns, colliding names and impossible strategies', async () => {
    const base = {
      engine,
      labels: {
        table:
          '(SELECT \'c1\' AS "card_id", TIMESTAMP \'2026-01-02 00:00:00\' AS "t", 1 AS "fraud-cards.txn_count_7d")',
      },
      output: { path: join(dir, 'x.parquet') },
    };
    await expect(
      buildTrainingSet({ ...base, features: ['fraud-cards.txn_count_7d'], labelTimeColumn: 'nope' })
    ).rejects.toThrow(/no column "nope"/);
    await expect(
      buildTrainingSet({ ...base, features: ['fraud-merchants.mcc'], labelTimeColumn: 't' })
    ).rejects.toThrow(/no column "merchant_id"/);
    await expect(
      buildTrainingSet({ ...base, features: ['fraud-cards.txn_count_7d'], labelTimeColumn: 't' })
    ).rejects.toThrow(/collide/);
    await expect(
      buildTrainingSet({
        ...base,
        features: ['fraud-cards.card_age_days'],
        labelTimeColumn: 't',
        asOfWriteTime: true,
        strategy: 'asof',
      })
    ).rejects.toThrow(
      'asOfWriteTime (CLI: --as-of-write-time) needs the portable strategy (CLI: --strategy portable or auto): an ASOF join takes one inequality'
    );
    await expect(
      buildTrainingSet({
        ...base,
        features: ['fraud-cards.card_age_days'],
        labelTimeColumn: 't',
        columnSeparator: '',
      })
    ).rejects.toThrow('columnSeparator (CLI: --column-separator) is empty');
    const athena = new AthenaEngine({ client: new AthenaClient({ region: 'us-east-1' }) });
    await expect(
      buildTrainingSet({
        ...base,
        engine: athena,
        features: ['fraud-cards.card_age_days'],
        labelTimeColumn: 't',
        strategy: 'asof',
      })
    ).rejects.toThrow(/no ASOF JOIN/);
  });
});

describe('delete at the same event time as a put (issue 13 §4)', () => {
  let dir: string;
  let engine: DuckDbEngine;
  const E = '2026-01-03T00:00:00.000Z';
  const ms = (iso: string, plusSeconds: number) => new Date(Date.parse(iso) + plusSeconds * 1000);
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skewless-tie-'));
    const put = (card: string, api: Date, txn: bigint) => ({
      values: { card_id: card, event_time: E, txn_count_7d: txn },
      writeTime: ms(api.toISOString(), 60),
      apiInvocationTime: api,
      isDeleted: false,
    });
    const marker = (card: string, eventTime: string, api: Date) => ({
      values: { card_id: card, event_time: eventTime },
      writeTime: ms(api.toISOString(), 60),
      apiInvocationTime: api,
      isDeleted: true,
    });
    await writeOfflineRows({
      dataDir: dir,
      group: cards,
      rows: [
        // t1: put at E, then a delete at E (later call, later write): the put stands.
        put('t1', ms(E, 0), 7n),
        marker('t1', E, ms(E, 5)),
        // t2: the delete at E was called before the put at E: the put stands as well.
        marker('t2', E, ms(E, 0)),
        put('t2', ms(E, 5), 8n),
        // t3: a strictly newer delete applies.
        put('t3', ms(E, 0), 9n),
        marker('t3', ms(E, 1).toISOString(), ms(E, 1)),
      ],
    });
    engine = await createDuckDbEngine({ dataDir: dir });
  });
  afterAll(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const strategy of ['asof', 'portable'] as const) {
    it(`serves the put at and after E, as GetRecord does (${strategy})`, async () => {
      const labels = `(SELECT * FROM (VALUES (1, 't1', ${timestampLiteral(ms(E, 0))}), (2, 't1', ${timestampLiteral(ms(E, 3600))}), (3, 't2', ${timestampLiteral(ms(E, 0))}), (4, 't2', ${timestampLiteral(ms(E, 3600))}), (5, 't3', ${timestampLiteral(ms(E, 0))}), (6, 't3', ${timestampLiteral(ms(E, 1))}), (7, 't1', CAST(NULL AS TIMESTAMP))) AS v("n", "card_id", "t"))`;
      const run = async (strictlyBefore: boolean) => {
        const out = join(dir, `${strategy}-${strictlyBefore}.parquet`);
        const summary = await buildTrainingSet({
          engine,
          labels: { table: labels },
          features: ['fraud-cards.txn_count_7d'],
          labelTimeColumn: 't',
          strictlyBefore,
          output: { path: out },
          strategy,
        });
        const { rows } = await engine.queryAll(
          `SELECT "n", "fraud-cards.txn_count_7d" AS "x" FROM read_parquet('${out}')`
        );
        return { summary, values: rows.map((r) => r.x) };
      };
      const atOrBefore = await run(false);
      // A label without a time gets nothing (label 7).
      expect(atOrBefore.values).toEqual([7n, 7n, 8n, 8n, 9n, null, null]);
      expect(atOrBefore.summary.labelsWithoutFeatures).toEqual({ 'fraud-cards': 2 });
      // Strictly before E nothing exists yet; strictly before E + 1 s the delete is not seen.
      const strict = await run(true);
      expect(strict.values).toEqual([null, 7n, null, 8n, null, 9n, null]);
    });
  }
});

describe('ASOF ordering: the packed key and its exact fallback', () => {
  const E = '2026-01-03T00:00:00.000Z';
  const at = (plusMs: number) => new Date(Date.parse(E) + plusMs);
  const put = (card: string, txn: bigint, api: number, wt: number, eventTime = E) => ({
    values: { card_id: card, event_time: eventTime, txn_count_7d: txn },
    apiInvocationTime: at(api),
    writeTime: at(wt),
    isDeleted: false,
  });
  const rows = [
    // Same event time and api time: the later write wins (2).
    put('p1', 1n, 0, 60_000),
    put('p1', 2n, 0, 61_000),
    // Same event time: the later api call wins (3), whatever the write times.
    put('p2', 3n, 1, 60_000),
    put('p2', 4n, 0, 90_000),
  ];
  // Label times around E, below the millisecond, before 1970 and after the key's range (2109).
  const labels = `(SELECT * FROM (VALUES (1, 'p1', TIMESTAMP '2026-01-03 00:00:00'), (2, 'p1', TIMESTAMP '2026-01-03 00:00:00.0005'), (3, 'p1', TIMESTAMP '2026-01-02 23:59:59.9995'), (4, 'p2', TIMESTAMP '2026-01-03 00:00:00'), (5, 'p1', TIMESTAMP '1969-12-31 23:59:59'), (6, 'p1', TIMESTAMP '2200-01-01 00:00:00'), (7, 'old', TIMESTAMP '2026-01-03 00:00:00')) AS v("n", "card_id", "t"))`;
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function build(extra: typeof rows, strategy: 'asof' | 'portable', strict: boolean) {
    const dir = mkdtempSync(join(tmpdir(), 'skewless-packed-'));
    dirs.push(dir);
    await writeOfflineRows({ dataDir: dir, group: cards, rows: [...rows, ...extra] });
    const engine = await createDuckDbEngine({ dataDir: dir });
    try {
      const out = join(dir, 'out.parquet');
      const summary = await buildTrainingSet({
        engine,
        labels: { table: labels },
        features: ['fraud-cards.txn_count_7d'],
        labelTimeColumn: 't',
        strictlyBefore: strict,
        output: { path: out },
        strategy,
      });
      const { rows: got } = await engine.queryAll(
        `SELECT "fraud-cards.txn_count_7d" AS "x" FROM read_parquet('${out}')`
      );
      return { packed: summary.sql.includes('__skewless_bound'), values: got.map((r) => r.x) };
    } finally {
      await engine.close();
    }
  }

  it('packs et·2^85 + put·2^84 + api·2^42 + wt exactly for any times in its range', async () => {
    const TOP_MS = 2 ** 42 - 2; // the largest millisecond the key holds
    const ms = fc.oneof(
      fc.integer({ min: 0, max: TOP_MS }),
      fc.constantFrom(0, 1, 2 ** 22 - 1, 2 ** 22, 2 ** 41, TOP_MS - 1, TOP_MS)
    );
    const engine = await createDuckDbEngine({ threads: 1 });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(ms, ms, ms, fc.boolean()), { minLength: 1, maxLength: 50 }),
          async (rows) => {
            const values = rows
              .map(
                ([et, api, wt, del]) =>
                  `(make_timestamp(${et}000), make_timestamp(${api}000), make_timestamp(${wt}000), ${del})`
              )
              .join(', ');
            const { rows: got } = await engine.queryAll(
              `SELECT CAST(${packedRowKey()} AS VARCHAR) AS "key" FROM (VALUES ${values}) AS v("et", "api", "wt", "del")`
            );
            expect(got.map((r) => r.key)).toEqual(
              rows.map(([et, api, wt, del]) =>
                (
                  (BigInt(et) << 85n) |
                  (del ? 0n : 1n << 84n) |
                  (BigInt(api) << 42n) |
                  BigInt(wt)
                ).toString()
              )
            );
          }
        ),
        { numRuns: 200 }
      );
      // Each time alone outside the range or below the millisecond, or null: the guard raises.
      const ok = "TIMESTAMP '2026-01-03 00:00:00'";
      for (const bad of [
        "TIMESTAMP '1969-12-31 23:59:59.999'",
        // Half a millisecond before 1970: its milliseconds truncate to 0, its microseconds do not.
        "TIMESTAMP '1969-12-31 23:59:59.9995'",
        "TIMESTAMP '2026-01-03 00:00:00.0005'",
        "TIMESTAMP 'infinity'",
        `make_timestamp(${(TOP_MS + 1) * 1000})`,
        'CAST(NULL AS TIMESTAMP)',
      ]) {
        for (const at of [0, 1, 2]) {
          const times = [ok, ok, ok];
          times[at] = bad;
          await expect(
            engine.queryAll(
              `SELECT ${packedRowKey()} AS "key" FROM (VALUES (${times.join(', ')}, false)) AS v("et", "api", "wt", "del")`
            ),
            `${bad} as ${['et', 'api', 'wt'][at]}`
          ).rejects.toThrow(PACKED_KEY_ERROR);
        }
      }
    } finally {
      await engine.close();
    }
  });

  // A row the key cannot hold: before 1970, or below the millisecond.
  const outside = {
    'an event time before 1970': [put('old', 5n, 0, 0, '1969-12-31T23:59:59.000Z')],
    'a sub-millisecond event time': [put('old', 5n, 0, 0, '2026-01-03T00:00:00.000500Z')],
  };

  it('orders ties exactly in one integer, bounds labels to the microsecond', async () => {
    const atOrBefore = await build([], 'asof', false);
    expect(atOrBefore).toEqual({ packed: true, values: [2n, 2n, null, 3n, null, 2n, null] });
    const strict = await build([], 'asof', true);
    expect(strict).toEqual({ packed: true, values: [null, 2n, null, null, null, 2n, null] });
    expect((await build([], 'portable', false)).values).toEqual(atOrBefore.values);
    expect((await build([], 'portable', true)).values).toEqual(strict.values);
  });

  for (const [what, extra] of Object.entries(outside)) {
    it(`falls back to the tuple ordering for ${what}, same result as portable`, async () => {
      for (const strict of [false, true]) {
        const asof = await build(extra, 'asof', strict);
        expect(asof.packed).toBe(false);
        expect(asof.values).toEqual((await build(extra, 'portable', strict)).values);
      }
      const atOrBefore = await build(extra, 'asof', false);
      // Card "old" (label 7): 1969 is before the label; E + 0.5 ms is after it.
      expect(atOrBefore.values.slice(0, 6)).toEqual([2n, 2n, null, 3n, null, 2n]);
    });
  }
});

describe('ASOF: groups whose rows are mostly of unlabelled records join only labelled ones', () => {
  let dir: string;
  let engine: DuckDbEngine;
  const E = Date.parse('2026-01-03T00:00:00.000Z');
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skewless-prune-'));
    // 20 cards × 3 snapshots; labels name 2 of them (10 % of the rows), merchants all labelled.
    const cardRows = Array.from({ length: 60 }, (_v, n) => ({
      values: {
        card_id: `c${n % 20}`,
        event_time: new Date(E + Math.floor(n / 20) * 60_000).toISOString(),
        txn_count_7d: BigInt(n),
      },
      writeTime: new Date(E + n * 1000),
      apiInvocationTime: new Date(E + n * 1000),
      isDeleted: false,
    }));
    await writeOfflineRows({ dataDir: dir, group: cards, rows: cardRows });
    await writeOfflineRows({
      dataDir: dir,
      group: merchants,
      rows: ['m1', 'm2'].map((id, n) => ({
        values: { merchant_id: id, event_time: new Date(E).toISOString(), mcc: `54${n}` },
        writeTime: new Date(E),
        apiInvocationTime: new Date(E),
        isDeleted: false,
      })),
    });
    engine = await createDuckDbEngine({ dataDir: dir });
  });
  afterAll(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prunes the cards, not the merchants, with the result of the portable query', async () => {
    const t = (minutes: number) => timestampLiteral(new Date(E + minutes * 60_000));
    const labels = `(SELECT * FROM (VALUES (1, 'c3', 'm1', ${t(0)}), (2, 'c3', 'm2', ${t(1.5)}), (3, 'c7', 'm1', ${t(5)}), (4, 'c9', 'm2', ${t(-1)})) AS v("n", "card_id", "merchant_id", "t"))`;
    const labelsFile = join(dir, 'labels.parquet');
    await engine.execute(`COPY ${labels} TO '${labelsFile}' (FORMAT parquet)`);
    const run = async (strategy: 'asof' | 'portable', fromFile = false) => {
      const out = join(dir, `${strategy}.parquet`);
      const summary = await buildTrainingSet({
        engine,
        labels: fromFile ? labelsFile : { table: labels },
        features: ['fraud-cards.txn_count_7d', 'fraud-merchants.mcc'],
        labelTimeColumn: 't',
        output: { path: out },
        strategy,
      });
      const { rows } = await engine.queryAll(`SELECT * FROM read_parquet('${out}')`);
      return { summary, rows };
    };
    const asof = await run('asof');
    const portable = await run('portable');
    expect(asof.rows).toEqual(portable.rows);
    expect(asof.rows.map((r) => r['fraud-cards.txn_count_7d'])).toEqual([3n, 23n, 47n, null]);
    expect(asof.summary.labelsWithoutFeatures).toEqual(portable.summary.labelsWithoutFeatures);
    // Only the cards' rows are cut to the labelled identifiers.
    expect(asof.summary.sql.match(/" IN \(SELECT/g)).toHaveLength(1);
    // A table expression may read differently twice (a sample): the cut reads the labels CTE.
    expect(asof.summary.sql).toContain('"card_id" IN (SELECT "l"."card_id" FROM "skewless_labels"');
    // A file reads the same rows every time: the cut reads it directly, same result.
    const fromFile = await run('asof', true);
    expect(fromFile.rows).toEqual(portable.rows);
    expect(fromFile.summary.labelsWithoutFeatures).toEqual(portable.summary.labelsWithoutFeatures);
    expect(fromFile.summary.sql).toMatch(
      /"card_id" IN \(SELECT "l"\."card_id" FROM "skewless_file_\d+"/
    );
  });
});

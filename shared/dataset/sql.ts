/**
 * SQL of point-in-time training sets. Pure text generation, no engine calls, so every query can
 * be read, tested and compared.
 *
 * The state of a record at label time T is its newest row (put or delete marker) with event
 * time ≤ T, "newest" ordered by event time, then puts before delete markers (a delete at the same
 * event time as a put does not remove it: GetRecord keeps serving the put, issue 13 §4), then
 * `api_invocation_time`, then `write_time`.
 *
 * Two formulations with the same result (the property tests hold both to one oracle):
 *
 * - **portable** (Trino/Athena and DuckDB, one text): per group, feature rows get `ord`, their
 *   rank in that order within the record identifier; labels and feature rows are merged per
 *   identifier and ordered by visibility time; a running `max(ord)` gives every label the newest
 *   row visible at its time; one join fetches that row.
 * - **asof** (DuckDB only): `ASOF LEFT JOIN` on the identifier (equality) and the order above as
 *   the join's one inequality, so DuckDB's own ASOF ordering resolves ties, with no window
 *   function and no extra partitioning column. The order is one packed 128-bit integer when every
 *   row allows it ({@link AsofOrdering}), else the tuple (event time, not deleted,
 *   api_invocation_time, write_time). Not used with the as-of-write-time cutoff (two
 *   inequalities).
 *
 * In both, the row found is the record's state at label time: if it is a delete marker, or older
 * than the max age, the group's features are null and the label counts as without features.
 */
import type { SqlDialect } from '../offline/dialect.ts';
import {
  eventTimeExpression,
  intervalSeconds,
  quoteIdent as q,
  timestampLiteral,
} from '../offline/dialect.ts';
import type { FeatureGroup, FeatureType } from '../schema/index.ts';

/** How delete markers act on the rows before them. */
type DeleteRule = 'service' | 'sdk';

/** One group of a plan: where its rows are and what it contributes. */
interface GroupPlan {
  readonly group: FeatureGroup;
  /** Table expression of the group's offline rows (`engine.tableFor`). */
  readonly table: string;
  /**
   * A few of the group's rows with the record identifier (`engine.identifierSampleFor`), for
   * {@link labelKeyShareSql}; default `table`.
   */
  readonly sampleTable?: string;
  /** The label column holding this group's record identifier. */
  readonly labelKeyColumn: string;
  /** SQL type of the label key column as the engine reports it (lower case). */
  readonly labelKeyType: string;
  /** Features to fetch, in output order. */
  readonly features: readonly string[];
  /** Output column name per feature (same order). */
  readonly outputNames: readonly string[];
  /** No value older than label time − this many seconds. */
  readonly maxAgeSeconds: number | undefined;
}

interface TrainingSetPlan {
  /** Table expression of the labels. */
  readonly labels: string;
  /** Every label column, in output order. */
  readonly labelColumns: readonly string[];
  readonly labelTimeColumn: string;
  /** SQL type of the label time column as the engine reports it (lower case). */
  readonly labelTimeType: string;
  readonly groups: readonly GroupPlan[];
  /** Feature rows must be strictly older than the label (default: at or before). */
  readonly strictlyBefore: boolean;
  /** Ignore rows written (`write_time`) after the label time. */
  readonly asOfWriteTime: boolean;
  /** Ignore rows written after this instant, for every label (the SDK's `as_of`). */
  readonly writeTimeCutoff: Date | undefined;
  readonly deleteRule: DeleteRule;
}

/** Hidden column of the generated SELECT: the label's row number (output order). */
const LABEL_ID = '__skewless_lid';
/** The CTE of normalised labels (named so it cannot shadow a user's `labels` table). */
const LABELS = 'skewless_labels';
/** Hidden column of the labels CTE: the label time as a UTC timestamp. */
const LABEL_TIME = '__skewless_t';
/** Hidden column of the ASOF path's labels: the label time as a packed-key bound. */
const PACKED_BOUND = '__skewless_bound';
/**
 * Hidden column of the generated SELECT: whether group `i` delivered features to the label.
 *
 * @example
 * ```typescript
 * matchedColumn(0); // __skewless_m0
 * ```
 */
const matchedColumn = (i: number): string => `__skewless_m${i}`;

/**
 * Ranks a put above a delete marker of the same event time (0 = marker, 1 = put): at equal event
 * time the record stands, as the store keeps it online (issue 13 §4). Plain CASE, so Trino and
 * DuckDB order it alike.
 */
const PUT_AFTER_DELETE = `CASE WHEN ${q('del')} THEN 0 ELSE 1 END`;

const MAX_TIMESTAMP = "TIMESTAMP '9999-12-31 23:59:59.999'";
/**
 * How the ASOF path orders a record's rows. `packed`: (event time, put over delete, api time,
 * write time) as one HUGEINT, each time in whole milliseconds since 1970 in 42 bits:
 * `et << 85 | put << 84 | api << 42 | wt`. One scalar sorts and compares like the bare event time
 * the ASOF join would otherwise take, where the tuple (a STRUCT) costs ~10 % more CPU per build.
 * It is exact only for times in [1970-01-01, 2109-05-15) with no sub-millisecond part (what the
 * service and the embedded store write); a row outside that raises {@link PACKED_KEY_ERROR} and
 * the build runs again on `tuple`, exact for any time.
 */
type AsofOrdering = 'packed' | 'tuple';
/** How {@link asofTrainingSetSql} runs. */
interface AsofOptions {
  /** Default `packed`; `tuple` after the packed key's guard error. */
  readonly ordering?: AsofOrdering;
  /**
   * Per group (plan order): join only the rows of identifiers some label names. Worth it when
   * most of a group's rows belong to unlabelled records (the ASOF join sorts every row it gets,
   * a hash lookup per row is cheaper); see {@link labelKeyShareSql}.
   */
  readonly labelKeysOnly?: readonly boolean[];
  /**
   * The labels read the same rows every time (a file): the cut then reads the label keys from
   * them directly. Otherwise (default) from the labels CTE, which DuckDB then materializes, so a
   * table expression that may read differently twice (a sample) is read once.
   */
  readonly labelsRepeatable?: boolean;
  /**
   * Fail with {@link EMPTY_MATCH_ERROR} when a group delivers a row whose selected features are
   * all null: without it, a label's group features are all null exactly when the group delivered
   * nothing, so "labels without features" can be counted from the written output alone.
   */
  readonly failOnEmptyMatch?: boolean;
}

/** Message of the error a row outside the packed key's domain raises (the build falls back). */
const PACKED_KEY_ERROR = 'skewless: row outside the packed ASOF ordering key';
/** Message of the error {@link AsofOptions.failOnEmptyMatch} raises (the build falls back). */
const EMPTY_MATCH_ERROR = 'skewless: a delivered row has only null features';
/**
 * `2^42 − 1`: the label bound's millisecond part is clamped to it (above every row): times are
 * packed as ms in [0, 2^42 − 1).
 */
const PACKED_TOP_MS = 2 ** 42 - 1;
const SHIFT_ET = (2n ** 85n).toString();
/** `2^85 − 1`: every put/api/write-time bit set (a bound above all rows of its millisecond). */
const LOW_BITS = (2n ** 85n - 1n).toString();
/**
 * The packed key is built from two 64-bit halves, so only one 128-bit multiplication runs per
 * row: high = `et << 21 | put << 20 | api >> 22` (< 2^63, a BIGINT), low = `(api mod 2^22) << 42
 * | wt` (< 2^64, a UBIGINT); key = high · 2^64 + low, the same integer as the layout above.
 */
const API_LOW_BITS = 22;
const API_LOW_MASK = 2 ** API_LOW_BITS - 1;
const HIGH_ET = 2 ** (85 - 64);
const HIGH_PUT = 2 ** (84 - 64);
const HIGH_SHIFT = (2n ** 64n).toString();

const MIN_TIMESTAMP = "TIMESTAMP '0001-01-01 00:00:00.000'";

/**
 * The SQL type a record identifier is compared as (label keys are cast to it).
 *
 * @example
 * ```typescript
 * keyTypeOf(cards); // VARCHAR
 * ```
 */
function keyTypeOf(group: FeatureGroup): 'VARCHAR' | 'BIGINT' | 'DOUBLE' {
  const type = group.features[group.recordIdentifier]?.type;
  return type === 'Integral' ? 'BIGINT' : type === 'Fractional' ? 'DOUBLE' : 'VARCHAR';
}

const SAME_TYPE: Record<'VARCHAR' | 'BIGINT' | 'DOUBLE', readonly string[]> = {
  VARCHAR: ['varchar', 'string', 'char'],
  BIGINT: ['bigint'],
  DOUBLE: ['double'],
};

function labelKeyExpression(plan: GroupPlan, alias: string): string {
  const target = keyTypeOf(plan.group);
  const column = `${alias}.${q(plan.labelKeyColumn)}`;
  return SAME_TYPE[target].includes(plan.labelKeyType) ? column : `CAST(${column} AS ${target})`;
}

/** Label time column types read as ISO-8601 text. */
const ISO_TEXT_TYPES: readonly string[] = ['varchar', 'string', 'char'];

/** Label time column types read as epoch seconds. */
const EPOCH_SECONDS_TYPES: readonly string[] = [
  'bigint',
  'integer',
  'int',
  'smallint',
  'tinyint',
  'double',
  'float',
  'real',
  'decimal',
];

/**
 * The label time as a UTC `timestamp`, from the label column's type: ISO-8601 text, epoch
 * seconds (numbers), `timestamp`, `timestamp with time zone` or `date`.
 *
 * @example
 * ```typescript
 * labelTimeExpression('"l"."label_time"', 'varchar', athenaDialect); // from_iso8601_timestamp("l"."label_time")
 * ```
 */
function labelTimeExpression(column: string, type: string, dialect: SqlDialect): string {
  if (ISO_TEXT_TYPES.includes(type)) return `from_iso8601_timestamp(${column})`;
  if (EPOCH_SECONDS_TYPES.includes(type)) return `from_unixtime(${column})`;
  if (type === 'timestamp') return column;
  if (type === 'timestamp with time zone') return dialect.timestampFromZoned(column);
  if (type === 'date' || type.startsWith('timestamp')) return `CAST(${column} AS TIMESTAMP)`;
  throw new Error(
    `label time column type "${type}" is not a timestamp, ISO-8601 text or epoch seconds`
  );
}

/** `"skewless_labels"`: label columns, a row id and the label time as a timestamp. */
function labelsCte(plan: TrainingSetPlan, dialect: SqlDialect): string {
  const cols = plan.labelColumns.map((c) => q(c)).join(', ');
  const time = labelTimeExpression(q(plan.labelTimeColumn), plan.labelTimeType, dialect);
  return `${q(LABELS)} AS (SELECT ${cols}, row_number() OVER () AS ${q(LABEL_ID)}, ${time} AS ${q(LABEL_TIME)} FROM ${plan.labels})`;
}

/**
 * `"g<i>_rows"`: a group's offline rows, normalised: `k` identifier, `et` event time, `api`, `wt`,
 * `del`, and `v<j>` per selected feature. With the SDK delete rule, also `"g<i>_live"`: the rows
 * after each identifier's latest delete marker (markers dropped). Returns the CTEs and the name
 * of the rows to join.
 */
function groupRowsCtes(
  plan: TrainingSetPlan,
  g: GroupPlan,
  i: number,
  eventTime: (column: string, type: FeatureType) => string = eventTimeExpression,
  onlyKeysIn?: string
): { ctes: string[]; rows: string } {
  const { group } = g;
  const etType = group.features[group.eventTime]?.type ?? 'String';
  const values = g.features.map((f, j) => `${q(f)} AS ${q(`v${j}`)}`);
  const where = [`${q(group.recordIdentifier)} IS NOT NULL`, `${q(group.eventTime)} IS NOT NULL`];
  // On the stored column: DuckDB then drops the rows right above the scan, before event times are
  // parsed and the key is built (a cut on the renamed "k" stays above those projections).
  if (onlyKeysIn !== undefined) where.push(`${q(group.recordIdentifier)} IN (${onlyKeysIn})`);
  if (plan.writeTimeCutoff !== undefined) {
    where.push(`${q('write_time')} <= ${timestampLiteral(plan.writeTimeCutoff)}`);
  }
  const rowsName = `g${i}_rows`;
  const ctes = [
    `${q(rowsName)} AS (SELECT ${q(group.recordIdentifier)} AS ${q('k')}, ${eventTime(q(group.eventTime), etType)} AS ${q('et')}, ${q('api_invocation_time')} AS ${q('api')}, ${q('write_time')} AS ${q('wt')}, ${q('is_deleted')} AS ${q('del')}${values.length > 0 ? `, ${values.join(', ')}` : ''} FROM ${g.table} WHERE ${where.join(' AND ')})`,
  ];
  if (plan.deleteRule === 'service') return { ctes, rows: rowsName };
  const del = `g${i}_del`;
  const live = `g${i}_live`;
  const r = (c: string): string => `${q('r')}.${q(c)}`;
  const d = (c: string): string => `${q('d')}.${q(c)}`;
  ctes.push(
    `${q(del)} AS (SELECT ${q('k')}, ${q('et')}, ${q('api')}, ${q('wt')} FROM (SELECT ${q('k')}, ${q('et')}, ${q('api')}, ${q('wt')}, row_number() OVER (PARTITION BY ${q('k')} ORDER BY ${q('et')} DESC, ${q('api')} DESC, ${q('wt')} DESC) AS ${q('rn')} FROM ${q(rowsName)} WHERE ${q('del')}) AS ${q('x')} WHERE ${q('rn')} = 1)`,
    `${q(live)} AS (SELECT ${q('r')}.* FROM ${q(rowsName)} AS ${q('r')} LEFT JOIN ${q(del)} AS ${q('d')} ON ${d('k')} = ${r('k')} WHERE NOT ${r('del')} AND (${d('k')} IS NULL OR ${r('et')} > ${d('et')} OR (${r('et')} = ${d('et')} AND (${r('api')} > ${d('api')} OR (${r('api')} = ${d('api')} AND ${r('wt')} > ${d('wt')})))))`
  );
  return { ctes, rows: live };
}

/** Conditions under which the row found for a label delivers its features. */
function deliveredCondition(g: GroupPlan, alias: string): string {
  const parts = [`NOT ${alias}.${q('del')}`];
  if (g.maxAgeSeconds !== undefined) {
    parts.push(
      `${alias}.${q('et')} >= ${q('l')}.${q(LABEL_TIME)} - ${intervalSeconds(g.maxAgeSeconds)}`
    );
  }
  return parts.join(' AND ');
}

/**
 * The portable point-in-time query (Trino/Athena and DuckDB run the same text). Columns: the
 * label columns, the output feature columns, then the hidden `__skewless_lid` (label row number)
 * and `__skewless_m<i>` (group i delivered features).
 *
 * @example
 * ```typescript
 * const sql = portableTrainingSetSql(plan, athenaDialect);
 * ```
 */
function portableTrainingSetSql(plan: TrainingSetPlan, dialect: SqlDialect): string {
  const ctes = [labelsCte(plan, dialect)];
  const joins: string[] = [];
  const outputs: string[] = [];
  const flags: string[] = [];
  plan.groups.forEach((g, i) => {
    const { ctes: rowCtes, rows } = groupRowsCtes(plan, g, i);
    ctes.push(...rowCtes);
    const ord = `g${i}_ord`;
    const seq = `g${i}_seq`;
    const pick = `g${i}_pick`;
    const found = `g${i}`;
    const vis = plan.asOfWriteTime ? `greatest(${q('et')}, ${q('wt')})` : q('et');
    // Feature rows at the label's own time sort before the label (0) unless strictly before is
    // asked, where only a row whose event time is earlier than its visibility time may (2 = after).
    const tb = !plan.strictlyBefore
      ? '0'
      : plan.asOfWriteTime
        ? `CASE WHEN ${q('et')} < ${q('wt')} THEN 0 ELSE 2 END`
        : '2';
    const lk = labelKeyExpression(g, q('l'));
    ctes.push(
      `${q(ord)} AS (SELECT *, row_number() OVER (PARTITION BY ${q('k')} ORDER BY ${q('et')}, ${PUT_AFTER_DELETE}, ${q('api')}, ${q('wt')}) AS ${q('ord')} FROM ${q(rows)})`,
      `${q(seq)} AS (SELECT ${q('k')}, ${vis} AS ${q('v')}, ${tb} AS ${q('tb')}, ${q('ord')}, CAST(NULL AS BIGINT) AS ${q('lid')} FROM ${q(ord)} UNION ALL SELECT ${lk} AS ${q('k')}, ${q('l')}.${q(LABEL_TIME)} AS ${q('v')}, 1 AS ${q('tb')}, CAST(NULL AS BIGINT) AS ${q('ord')}, ${q('l')}.${q(LABEL_ID)} AS ${q('lid')} FROM ${q(LABELS)} AS ${q('l')} WHERE ${q('l')}.${q(LABEL_TIME)} IS NOT NULL)`,
      `${q(pick)} AS (SELECT ${q('lid')}, ${q('k')}, max(${q('ord')}) OVER (PARTITION BY ${q('k')} ORDER BY ${q('v')}, ${q('tb')} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS ${q('ord')} FROM ${q(seq)})`,
      `${q(found)} AS (SELECT ${q('p')}.${q('lid')}, ${q('o')}.* FROM ${q(pick)} AS ${q('p')} JOIN ${q(ord)} AS ${q('o')} ON ${q('o')}.${q('k')} = ${q('p')}.${q('k')} AND ${q('o')}.${q('ord')} = ${q('p')}.${q('ord')} WHERE ${q('p')}.${q('lid')} IS NOT NULL)`
    );
    const a = q(found);
    joins.push(
      `LEFT JOIN ${a} ON ${a}.${q('lid')} = ${q('l')}.${q(LABEL_ID)} AND ${deliveredCondition(g, a)}`
    );
    g.outputNames.forEach((name, j) => {
      outputs.push(`${a}.${q(`v${j}`)} AS ${q(name)}`);
    });
    flags.push(`(${a}.${q('lid')} IS NOT NULL) AS ${q(matchedColumn(i))}`);
  });
  const labelCols = plan.labelColumns.map((c) => `${q('l')}.${q(c)}`);
  const select = [...labelCols, ...outputs, `${q('l')}.${q(LABEL_ID)}`, ...flags].join(', ');
  return `WITH ${ctes.join(', ')} SELECT ${select} FROM ${q(LABELS)} AS ${q('l')} ${joins.join(' ')}`;
}

/**
 * A row's packed ordering key (see {@link AsofOrdering}), or the {@link PACKED_KEY_ERROR} error
 * for a row outside its domain (a null time fails the guard too). Reads the columns `et`, `api`,
 * `wt` (timestamps) and `del`.
 *
 * @example
 * ```typescript
 * const sql = `SELECT ${packedRowKey()} AS "ord" FROM "g0_rows"`;
 * ```
 */
function packedRowKey(): string {
  const us = (c: string): string => `epoch_us(${q(c)})`;
  const ms = (c: string): string => `epoch_ms(${q(c)})`;
  // Range: no bit of the three milliseconds at or above 2^42 (a negative one sets the sign bit),
  // and none the clamp value 2^42 − 1. Whole milliseconds: each time's microseconds are 1000 × its
  // (truncated) milliseconds. Plain bit, compare and multiply operations: about a third of the
  // CPU of least/greatest and three remainders. A null time makes the test null: the guard fails
  // and the statement raises, as it should.
  const inDomain = [
    `(${ms('et')} | ${ms('api')} | ${ms('wt')}) >> 42 = 0`,
    ...['et', 'api', 'wt'].map((c) => `${ms(c)} < ${PACKED_TOP_MS}`),
    ...['et', 'api', 'wt'].map((c) => `${us(c)} = ${ms(c)} * 1000`),
  ].join(' AND ');
  const high = `${ms('et')} * ${HIGH_ET} + CASE WHEN ${q('del')} THEN 0 ELSE ${HIGH_PUT} END + (${ms('api')} >> ${API_LOW_BITS})`;
  const low = `((CAST(${ms('api')} AS UBIGINT) & ${API_LOW_MASK}) << 42) | CAST(${ms('wt')} AS UBIGINT)`;
  return `CASE WHEN ${inDomain} THEN CAST(${high} AS HUGEINT) * ${HIGH_SHIFT} + CAST(${low} AS HUGEINT) ELSE error('${PACKED_KEY_ERROR}') END`;
}

/**
 * The label's bound in packed keys: rows with event time ≤ T (< T when strictly before) are
 * exactly the keys ≤ it (< it). Event times are whole ms, so et ≤ T ⇔ et_ms ≤ floor(T_ms) and
 * et < T ⇔ et_ms < ceil(T_ms); clamped so a label before 1970 or after the domain matches none
 * or all.
 */
function packedLabelBound(strictlyBefore: boolean): string {
  const t = `epoch_us(${q(LABEL_TIME)})`;
  // Clamped in microseconds first, so the rounding below cannot overflow.
  const clamped = `least(${t}, ${PACKED_TOP_MS * 1000})`;
  if (strictlyBefore) {
    return `CASE WHEN ${t} <= 0 THEN CAST(0 AS HUGEINT) ELSE CAST((${clamped} + 999) // 1000 AS HUGEINT) * ${SHIFT_ET} END`;
  }
  return `CASE WHEN ${t} < 0 THEN CAST(-1 AS HUGEINT) ELSE CAST(${clamped} // 1000 AS HUGEINT) * ${SHIFT_ET} + ${LOW_BITS} END`;
}

/**
 * Per group, how many of its first `sample` rows (at most) belong to an identifier some label
 * names: one row per group with `g` (group index), `n` (rows sampled) and `hits`. A cheap look
 * (a few files and the label keys) to decide {@link AsofOptions.labelKeysOnly}; the rows are the
 * first the scan returns, not a random sample, so it is an estimate and only speed depends on it.
 *
 * @example
 * ```typescript
 * const sql = labelKeyShareSql(plan, 10_000);
 * ```
 */
function labelKeyShareSql(plan: TrainingSetPlan, sample: number): string {
  const ctes: string[] = [];
  const selects: string[] = [];
  plan.groups.forEach((g, i) => {
    const id = q(g.group.recordIdentifier);
    const lk = labelKeyExpression(g, q('l'));
    const s = q(`s${i}`);
    const h = q(`h${i}`);
    ctes.push(
      `${s} AS (SELECT ${id} AS ${q('k')} FROM ${g.sampleTable ?? g.table} WHERE ${id} IS NOT NULL LIMIT ${sample})`,
      `${h} AS (SELECT DISTINCT ${lk} AS ${q('k')} FROM ${plan.labels} AS ${q('l')} SEMI JOIN ${s} ON ${s}.${q('k')} = ${lk})`
    );
    selects.push(
      `SELECT ${i} AS ${q('g')}, count(*) AS ${q('n')}, count(${h}.${q('k')}) AS ${q('hits')} FROM ${s} LEFT JOIN ${h} ON ${h}.${q('k')} = ${s}.${q('k')}`
    );
  });
  return `WITH ${ctes.join(', ')} ${selects.join(' UNION ALL ')}`;
}

/**
 * The DuckDB fast path: one `ASOF LEFT JOIN` per group. Same columns and result as
 * {@link portableTrainingSetSql}; not available with `asOfWriteTime`. With the `packed` ordering
 * (default) the statement fails with {@link PACKED_KEY_ERROR} when a row's times do not fit the
 * packed key: run the `tuple` one then.
 *
 * @example
 * ```typescript
 * const sql = asofTrainingSetSql(plan, duckDbDialect, { labelKeysOnly: [true, false, false] });
 * ```
 * @throws Error when the plan asks for the as-of-write-time cutoff
 */
function asofTrainingSetSql(
  plan: TrainingSetPlan,
  dialect: SqlDialect,
  options: AsofOptions = {}
): string {
  const ordering = options.ordering ?? 'packed';
  if (plan.asOfWriteTime) {
    throw new Error('the ASOF formulation cannot apply the as-of-write-time cutoff; use portable');
  }
  const ctes = [labelsCte(plan, dialect)];
  const joins: { readonly sql: string; readonly width: number }[] = [];
  const outputs: string[] = [];
  const flags: string[] = [];
  const op = plan.strictlyBefore ? '>' : '>=';
  let labels = LABELS;
  if (ordering === 'packed') {
    labels = `${LABELS}_bound`;
    ctes.push(
      `${q(labels)} AS (SELECT *, ${packedLabelBound(plan.strictlyBefore)} AS ${q(PACKED_BOUND)} FROM ${q(LABELS)})`
    );
  }
  // Matched on the identifier, ordered by (event time, put over delete, api time, write time):
  // (T, 1, +∞, +∞) >= (et, put, api, wt) finds the newest row at or before the label, ties on
  // event time resolved as the portable query does; (T, 0, −∞, −∞) > (…) when strictly before.
  const bound = plan.strictlyBefore ? MIN_TIMESTAMP : MAX_TIMESTAMP;
  const rank = plan.strictlyBefore ? '0' : '1';
  plan.groups.forEach((g, i) => {
    const lk = labelKeyExpression(g, q('l'));
    // From a file, the label keys are read straight from it: a second reference to the labels
    // CTE makes DuckDB materialize it (every label column and row, ~0.2 CPU-s at 1M labels).
    const keysFrom = options.labelsRepeatable === true ? plan.labels : q(LABELS);
    const onlyKeysIn =
      options.labelKeysOnly?.[i] === true
        ? `SELECT ${lk} FROM ${keysFrom} AS ${q('l')}`
        : undefined;
    const { ctes: rowCtes, rows: groupRows } = groupRowsCtes(
      plan,
      g,
      i,
      dialect.eventTime,
      onlyKeysIn
    );
    ctes.push(...rowCtes);
    let rows = groupRows;
    if (ordering === 'packed') {
      rows = `g${i}_keyed`;
      ctes.push(`${q(rows)} AS (SELECT *, ${packedRowKey()} AS ${q('ord')} FROM ${q(groupRows)})`);
    }
    const a = q(`g${i}`);
    const col = (c: string): string => `${a}.${q(c)}`;
    const order =
      ordering === 'packed'
        ? `${q('l')}.${q(PACKED_BOUND)} ${op} ${col('ord')}`
        : `(${q('l')}.${q(LABEL_TIME)}, ${rank}, ${bound}, ${bound}) ${op} (${col('et')}, CASE WHEN ${col('del')} THEN 0 ELSE 1 END, ${col('api')}, ${col('wt')})`;
    joins.push({
      sql: `ASOF LEFT JOIN ${q(rows)} AS ${a} ON ${col('k')} = ${lk} AND ${order}`,
      width: g.features.length,
    });
    // A null label time sorts after every row in the tuple order: it must not match anything.
    const delivered = `${q('l')}.${q(LABEL_TIME)} IS NOT NULL AND ${deliveredCondition(g, a)}`;
    const allNull = g.features.map((_f, j) => `${a}.${q(`v${j}`)} IS NULL`).join(' AND ');
    g.outputNames.forEach((name, j) => {
      const value = `${a}.${q(`v${j}`)}`;
      const checked =
        options.failOnEmptyMatch === true && j === 0
          ? `CASE WHEN ${allNull} THEN error('${EMPTY_MATCH_ERROR}') ELSE ${value} END`
          : value;
      outputs.push(`CASE WHEN ${delivered} THEN ${checked} END AS ${q(name)}`);
    });
    flags.push(`coalesce(${delivered}, false) AS ${q(matchedColumn(i))}`);
  });
  const labelCols = plan.labelColumns.map((c) => `${q('l')}.${q(c)}`);
  const select = [...labelCols, ...outputs, `${q('l')}.${q(LABEL_ID)}`, ...flags].join(', ');
  // Each ASOF join sorts the rows coming from the joins before it, with every column they carry:
  // the groups adding the fewest features join first (output columns keep the plan's order).
  const joined = joins
    .map((j, order) => ({ ...j, order }))
    .sort((x, y) => x.width - y.width || x.order - y.order)
    .map((j) => j.sql);
  return `WITH ${ctes.join(', ')} SELECT ${select} FROM ${q(labels)} AS ${q('l')} ${joined.join(' ')}`;
}

export type { AsofOptions, AsofOrdering, DeleteRule, GroupPlan, TrainingSetPlan };
export {
  asofTrainingSetSql,
  EMPTY_MATCH_ERROR,
  EPOCH_SECONDS_TYPES,
  ISO_TEXT_TYPES,
  keyTypeOf,
  LABEL_ID,
  labelKeyShareSql,
  labelTimeExpression,
  matchedColumn,
  PACKED_KEY_ERROR,
  packedRowKey,
  portableTrainingSetSql,
};

/**
 * Point-in-time correct training sets: for every label row and every selected group, the
 * features as the store knew them at the label's time. See `docs/training-sets.md`.
 */

import { quoteIdent as q } from '../offline/dialect.ts';
import type {
  MaterializedRelation,
  OfflineQueryEngine,
  QueryOptions,
  QueryProgress,
} from '../offline/engine.ts';
import { registry } from '../registry.ts';
import type { FeatureGroup, FeatureSet } from '../schema/index.ts';
import {
  isDuration,
  type MaxAgeOption,
  resolveMaxAgeSeconds,
  resolveSelections,
} from './resolve.ts';
import {
  type AsofOrdering,
  asofTrainingSetSql,
  type DeleteRule,
  EMPTY_MATCH_ERROR,
  EPOCH_SECONDS_TYPES,
  type GroupPlan,
  ISO_TEXT_TYPES,
  keyTypeOf,
  LABEL_ID,
  labelKeyShareSql,
  matchedColumn,
  PACKED_KEY_ERROR,
  portableTrainingSetSql,
  type TrainingSetPlan,
} from './sql.ts';

type OutputFormat = 'parquet' | 'csv';

/** Rows of each group looked at to estimate the share of labelled records. */
const KEY_SHARE_SAMPLE = 10_000;
/**
 * At or below this share of labelled rows in the sample, the ASOF join takes only the labelled
 * records' rows. Measured at 250k labels × 2.5M rows: the lookup costs ~1/3 of what joining a row
 * costs, so it pays when at least a third of the rows go (here: half, to be safe).
 */
const PRUNE_AT_LABELLED_SHARE = 0.5;

/**
 * Labels: a file path (format from the extension: `.csv` is CSV, anything else Parquet), a path
 * with an explicit format, or a table expression the engine can read (on Athena: a Glue table
 * over the labels in S3, e.g. `"ml"."fraud_labels"`).
 */
type LabelsSource =
  | string
  | { readonly path: string; readonly format?: OutputFormat }
  | { readonly table: string };

type TrainingSetPhase = 'prepare' | 'join' | 'export' | 'summary';

/** What `onProgress` receives: the phase, times, and the engine's progress where it has one. */
interface TrainingSetProgress {
  readonly phase: TrainingSetPhase;
  /** Since `buildTrainingSet` was called. */
  readonly elapsedMs: number;
  /** Since the phase started. */
  readonly phaseElapsedMs: number;
  /** 0-100 from DuckDB's progress tracking; undefined on Athena and between statements. */
  readonly percentage: number | undefined;
  /** Engine state, e.g. Athena's QUEUED/RUNNING. */
  readonly engineState: string | undefined;
  /** Athena: bytes scanned so far. */
  readonly bytesScanned: number | undefined;
}

interface TrainingSetOptions {
  readonly engine: OfflineQueryEngine;
  readonly labels: LabelsSource;
  /** A feature set (or its name in the registry). Exclusive with `features`. */
  readonly featureSet?: FeatureSet | string;
  /** `group.feature` names. Exclusive with `featureSet`. */
  readonly features?: readonly string[];
  /** Groups that `features` names resolve against. Default: the registry's. */
  readonly groups?: readonly FeatureGroup[];
  /** The label column holding the label's event time. */
  readonly labelTimeColumn: string;
  /** Group name → label column of its record identifier. Default: a column named like it. */
  readonly entityKeyMap?: Readonly<Record<string, string>>;
  /** Feature rows must be strictly older than the label (default: at or before). */
  readonly strictlyBefore?: boolean;
  /** No value older than label time − max age (see {@link MaxAgeOption}). Default: unbounded. */
  readonly maxAge?: MaxAgeOption;
  /** Ignore rows whose `write_time` is after the label time (no leakage from later backfills). */
  readonly asOfWriteTime?: boolean;
  /** Ignore rows written after this instant, for every label (the SDK's `as_of`). */
  readonly writeTimeCutoff?: Date;
  /**
   * `service` (default): a delete hides the record from its delete's event time until a newer
   * put, like GetRecord. `sdk`: a delete hides every earlier row of the identifier, whatever the
   * label time, as the SageMaker Python SDK's DatasetBuilder does.
   */
  readonly deleteRule?: DeleteRule;
  /** Output file (DuckDB) or empty `s3://` prefix (Athena); format from the extension by default. */
  readonly output: { readonly path: string; readonly format?: OutputFormat };
  /** Output feature column: `<group><separator><feature>`. Default `.`. */
  readonly columnSeparator?: string;
  /**
   * `auto` (default): ASOF on engines that have it, unless `asOfWriteTime` is on; `portable`: the
   * window-function SQL every engine runs; `asof`: DuckDB's ASOF JOIN.
   */
  readonly strategy?: 'auto' | 'asof' | 'portable';
  /** Count nulls and labels without features (a second scan on Athena). Default true. */
  readonly summary?: boolean;
  readonly onProgress?: (progress: TrainingSetProgress) => void;
  readonly signal?: AbortSignal;
}

/** Nulls of one output feature column. */
interface FeatureColumnSummary {
  readonly column: string;
  readonly group: string;
  readonly feature: string;
  readonly nulls: number;
  /** nulls / rows (0 for an empty set). */
  readonly nullShare: number;
}

interface TrainingSetSummary {
  /** Output rows (= label rows); undefined when `summary: false`. */
  readonly rows: number | undefined;
  readonly output: { readonly path: string; readonly format: OutputFormat };
  readonly strategy: 'asof' | 'portable';
  /** Output columns in order: label columns, then features. */
  readonly columns: readonly string[];
  /** Empty when `summary: false`. */
  readonly features: readonly FeatureColumnSummary[];
  /** Per group: labels that got no features (no row, a delete, or older than the max age). */
  readonly labelsWithoutFeatures: Readonly<Record<string, number>>;
  readonly timings: Readonly<Record<TrainingSetPhase, number>>;
  readonly elapsedMs: number;
  /** The point-in-time SELECT (hidden columns included). */
  readonly sql: string;
  /** What the build did that costs time the user can avoid or should know of; usually empty. */
  readonly notes: readonly string[];
}

function hasMessage(error: unknown, message: string): boolean {
  return error instanceof Error && error.message.includes(message);
}

/** The output format a file name names: `.csv`/`.csv.gz` CSV, `.parquet`/`.pq` Parquet, else none. */
function outputFormatOfName(path: string): OutputFormat | undefined {
  if (/\.csv(\.gz)?$/i.test(path)) return 'csv';
  if (/\.(parquet|pq)$/i.test(path)) return 'parquet';
  return undefined;
}

function formatOf(path: string, given: OutputFormat | undefined): OutputFormat {
  return given ?? outputFormatOfName(path) ?? 'parquet';
}

/**
 * A text label time the engine cannot read as a time would fail the join with the engine's
 * conversion error and an excerpt of the generated SQL; this names the value (and, on DuckDB,
 * which reads a file in order, its row) in one line instead.
 *
 * @throws Error naming the column, the value and its row
 */
async function refuseTextThatIsNoTime(
  engine: OfflineQueryEngine,
  labels: string,
  column: string,
  queryOptions: QueryOptions
): Promise<void> {
  const { rows } = await engine.queryAll(
    `SELECT "n", "t" FROM (SELECT row_number() OVER () AS "n", ${q(column)} AS "t" FROM ${labels}) WHERE "t" IS NOT NULL AND try(from_iso8601_timestamp("t")) IS NULL LIMIT 1`,
    queryOptions
  );
  const bad = rows[0];
  if (bad === undefined) return;
  const where = engine.dialect.name === 'duckdb' ? ` (row ${String(bad.n)} of the labels)` : '';
  throw new Error(
    `label time column "${column}" has ${JSON.stringify(String(bad.t))}${where}, which is no ISO-8601 time (yyyy-MM-ddTHH:mm:ss[.fraction] with Z or ±HH:MM)`
  );
}

/** Epoch seconds of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the event-time range. */
const MIN_EPOCH_SECONDS = -62_167_219_200;
const MAX_EPOCH_SECONDS = 253_402_300_799;

/**
 * A numeric label time outside the event-time range as epoch seconds is another unit (epoch
 * milliseconds, most often): read as seconds it lands thousands of years ahead and silently
 * joins every label to its group's latest row, the leak a point-in-time join exists to prevent.
 *
 * @throws Error naming the column and the offending value
 */
async function refuseTimesBeyondEpochSeconds(
  engine: OfflineQueryEngine,
  labels: string,
  column: string,
  queryOptions: QueryOptions
): Promise<void> {
  const { rows } = await engine.queryAll(
    `SELECT min(${q(column)}) AS "lo", max(${q(column)}) AS "hi" FROM ${labels}`,
    queryOptions
  );
  for (const bound of [rows[0]?.lo, rows[0]?.hi]) {
    if (bound === null || bound === undefined) continue;
    const seconds = Number(bound);
    if (seconds >= MIN_EPOCH_SECONDS && seconds <= MAX_EPOCH_SECONDS) continue;
    throw new Error(
      `label time column "${column}" holds ${String(bound)}, ${seconds > 0 ? 'beyond 9999-12-31' : 'before 0000-01-01'} as epoch seconds: epoch milliseconds? Label times must be epoch seconds (divide by 1000), ISO-8601 text or a timestamp`
    );
  }
}

/**
 * Builds a point-in-time correct training set and writes it to `output`.
 *
 * For each label row and each selected group, the group's features are those of the record's
 * state at the label time: the newest row (put or delete marker) with event time ≤ label time
 * (< with `strictlyBefore`), ties on event time broken by puts before delete markers (a delete
 * at a put's own event time leaves the put standing, as GetRecord does), then
 * `api_invocation_time`, then `write_time` (newest wins). The features are null when that state is a delete marker, when
 * there is no such row, or when it is older than the max age; the label row is kept either way.
 * Output columns: every label column, then `<group>.<feature>` per selected feature.
 *
 * @example
 * ```typescript
 * const engine = await createDuckDbEngine({ dataDir: '.skewless' });
 * const summary = await buildTrainingSet({
 *   engine,
 *   labels: 'labels.parquet',
 *   featureSet: 'fraud_model_v3',
 *   labelTimeColumn: 'event_time',
 *   output: { path: 'train.parquet' },
 * });
 * console.log(summary.rows, summary.labelsWithoutFeatures);
 * await engine.close();
 * ```
 */
async function buildTrainingSet(options: TrainingSetOptions): Promise<TrainingSetSummary> {
  try {
    return await buildOnce(options, false);
  } catch (error) {
    if (options.signal?.aborted === true || !isCsvTypeDetectionError(error)) throw error;
    // DuckDB typed a labels CSV column from its first 20,480 rows and a later row does not fit
    // (a TIMESTAMP column with "n/a" at row 25,000). Detecting from every row costs one more
    // read of the file, so it is done only when the sample was wrong.
    const summary = await buildOnce(options, true);
    return {
      ...summary,
      notes: [
        ...summary.notes,
        'labels CSV: column types detected again from every row (a row after the first 20,480 did not fit the type detected from them)',
      ],
    };
  }
}

/** DuckDB's error for a CSV value that does not fit the type it detected from a sample. */
function isCsvTypeDetectionError(error: unknown): boolean {
  return hasMessage(error, 'This type was auto-detected from the CSV file');
}

async function buildOnce(
  options: TrainingSetOptions,
  labelTypesFromEveryRow: boolean
): Promise<TrainingSetSummary> {
  const started = performance.now();
  const { engine } = options;
  const timings: Record<TrainingSetPhase, number> = { prepare: 0, join: 0, export: 0, summary: 0 };
  let phase: TrainingSetPhase = 'prepare';
  let phaseStarted = started;
  const report = (p?: QueryProgress): void => {
    const now = performance.now();
    options.onProgress?.({
      phase,
      elapsedMs: now - started,
      phaseElapsedMs: now - phaseStarted,
      percentage: p?.percentage,
      engineState: p?.state,
      bytesScanned: p?.bytesScanned,
    });
  };
  const enter = (next: TrainingSetPhase): void => {
    const now = performance.now();
    timings[phase] = now - phaseStarted;
    phase = next;
    phaseStarted = now;
    report();
  };
  const queryOptions = { signal: options.signal, onProgress: report };
  const wanted = options.strategy ?? 'auto';
  if (wanted === 'asof' && !engine.dialect.supportsAsofJoin) {
    throw new Error(`the ${engine.dialect.name} engine has no ASOF JOIN; use strategy portable`);
  }
  if (wanted === 'asof' && options.asOfWriteTime === true) {
    throw new Error(
      'asOfWriteTime (CLI: --as-of-write-time) needs the portable strategy (CLI: --strategy portable or auto): an ASOF join takes one inequality'
    );
  }
  report();

  // Selections and groups.
  const featureSet =
    typeof options.featureSet === 'string'
      ? registry.getSet(options.featureSet)
      : options.featureSet;
  const selections = resolveSelections(
    { featureSet, features: options.features },
    options.groups ?? [...registry.groups.values()]
  );
  const separator = options.columnSeparator ?? '.';
  // '' would glue group and feature ('fraud-cardstxn_count_7d'): no longer tellable apart.
  if (separator === '') {
    throw new Error(
      'columnSeparator (CLI: --column-separator) is empty; output columns are <group><separator><feature>, e.g. "." or "__"'
    );
  }
  // A per-group max age for a group the build does not join is a typo too: ignored, the group
  // it meant would get no max age at all (stale values in the set).
  const maxAge = options.maxAge;
  if (maxAge !== undefined && maxAge !== 'schema' && !isDuration(maxAge)) {
    for (const name of Object.keys(maxAge)) {
      if (!selections.some((s) => s.group.name === name)) {
        throw new Error(
          `maxAge (CLI: --max-age) names "${name}", which is not a selected feature group (selected: ${selections.map((s) => s.group.name).join(', ')})`
        );
      }
    }
  }
  // A key map for a group the build does not join is a typo: ignored, it would leave the label
  // column it names unused and the group keyed by its identifier's own name.
  for (const name of Object.keys(options.entityKeyMap ?? {})) {
    if (!selections.some((s) => s.group.name === name)) {
      throw new Error(
        `entityKeyMap (CLI: --entity-key) names "${name}", which is not a selected feature group (selected: ${selections.map((s) => s.group.name).join(', ')})`
      );
    }
  }

  // Labels: table expression and columns.
  const labelsSource = options.labels;
  let labelsTable: string;
  // A file reads the same rows every time; a table expression may not (a sample).
  const labelsRepeatable = !(typeof labelsSource === 'object' && 'table' in labelsSource);
  /** The labels' CSV file, when they are one (its label times are checked as text, below). */
  let labelsCsv: { readonly path: string; readonly format: OutputFormat } | undefined;
  if (typeof labelsSource === 'object' && 'table' in labelsSource) {
    labelsTable = labelsSource.table;
  } else {
    const path = typeof labelsSource === 'string' ? labelsSource : labelsSource.path;
    const format = formatOf(
      path,
      typeof labelsSource === 'string' ? undefined : labelsSource.format
    );
    // Keep identifiers as the group types them (a CSV's "000123" must stay text).
    const columnTypes: Record<string, string> = {};
    for (const s of selections) {
      columnTypes[options.entityKeyMap?.[s.group.name] ?? s.group.recordIdentifier] = keyTypeOf(
        s.group
      );
    }
    labelsTable = await engine.fileTable(path, {
      format,
      columnTypes,
      typesFromEveryRow: labelTypesFromEveryRow,
    });
    if (format === 'csv') labelsCsv = { path, format };
  }
  const labelColumns = await engine.describe(`SELECT * FROM ${labelsTable}`, queryOptions);
  const labelType = new Map(labelColumns.map((c) => [c.name, c.type]));
  const timeType = labelType.get(options.labelTimeColumn);
  if (timeType === undefined) {
    throw new Error(
      `labels have no column "${options.labelTimeColumn}" (columns: ${labelColumns.map((c) => c.name).join(', ')})`
    );
  }

  if (EPOCH_SECONDS_TYPES.includes(timeType)) {
    await refuseTimesBeyondEpochSeconds(engine, labelsTable, options.labelTimeColumn, queryOptions);
  }
  if (ISO_TEXT_TYPES.includes(timeType)) {
    await refuseTextThatIsNoTime(engine, labelsTable, options.labelTimeColumn, queryOptions);
  } else if (
    labelsCsv !== undefined &&
    engine.dialect.name === 'duckdb' &&
    timeType.startsWith('timestamp')
  ) {
    // DuckDB's CSV reader types the column from a sample, then reads a later value it cannot
    // parse as a zoned timestamp as null (no error): the same check on the column's text.
    const text = await engine.fileTable(labelsCsv.path, {
      format: labelsCsv.format,
      columnTypes: { [options.labelTimeColumn]: 'VARCHAR' },
      typesFromEveryRow: labelTypesFromEveryRow,
    });
    await refuseTextThatIsNoTime(engine, text, options.labelTimeColumn, queryOptions);
  }

  const groups: GroupPlan[] = [];
  for (const s of selections) {
    const keyColumn = options.entityKeyMap?.[s.group.name] ?? s.group.recordIdentifier;
    const keyType = labelType.get(keyColumn);
    if (keyType === undefined) {
      throw new Error(
        `labels have no column "${keyColumn}" for the record identifier of ${s.group.name}; add it or map it with entityKeyMap (CLI: --entity-key ${s.group.name}=<column>)`
      );
    }
    groups.push({
      group: s.group,
      table: await engine.tableFor(s.group),
      labelKeyColumn: keyColumn,
      labelKeyType: keyType,
      features: s.features,
      outputNames: s.features.map((f) => `${s.group.name}${separator}${f}`),
      maxAgeSeconds: resolveMaxAgeSeconds(options.maxAge, s.group, featureSet),
    });
  }
  const columns = [...labelColumns.map((c) => c.name), ...groups.flatMap((g) => g.outputNames)];
  const seen = new Map<string, string>();
  for (const c of columns) {
    const clash = seen.get(c.toLowerCase());
    if (clash !== undefined) {
      throw new Error(`output columns "${clash}" and "${c}" collide (names are case-insensitive)`);
    }
    seen.set(c.toLowerCase(), c);
  }

  const plan: TrainingSetPlan = {
    labels: labelsTable,
    labelColumns: labelColumns.map((c) => c.name),
    labelTimeColumn: options.labelTimeColumn,
    labelTimeType: timeType,
    groups,
    strictlyBefore: options.strictlyBefore ?? false,
    asOfWriteTime: options.asOfWriteTime ?? false,
    writeTimeCutoff: options.writeTimeCutoff,
    deleteRule: options.deleteRule ?? 'service',
  };
  const strategy: 'asof' | 'portable' =
    wanted === 'portable' || plan.asOfWriteTime || !engine.dialect.supportsAsofJoin
      ? 'portable'
      : 'asof';
  // ASOF: groups whose rows mostly belong to unlabelled records join only the labelled ones.
  let labelKeysOnly: boolean[] = [];
  if (strategy === 'asof') {
    // From one file per group where the engine offers it (binding a group's whole table costs more
    // than the look itself); from the whole tables if that fails (a file the sample cannot read).
    const sampled: TrainingSetPlan = {
      ...plan,
      groups: await Promise.all(
        plan.groups.map(async (g) => ({
          ...g,
          sampleTable: await engine.identifierSampleFor?.(g.group),
        }))
      ),
    };
    const share = await engine
      .queryAll(labelKeyShareSql(sampled, KEY_SHARE_SAMPLE), queryOptions)
      .catch(() => engine.queryAll(labelKeyShareSql(plan, KEY_SHARE_SAMPLE), queryOptions));
    labelKeysOnly = plan.groups.map((_g, i) => {
      const row = share.rows.find((r) => Number(r.g) === i);
      const n = Number(row?.n ?? 0);
      return n > 0 && Number(row?.hits ?? 0) / n <= PRUNE_AT_LABELLED_SHARE;
    });
  }
  let ordering: AsofOrdering = 'packed';
  const sqlFor = (failOnEmptyMatch: boolean): string =>
    strategy === 'asof'
      ? asofTrainingSetSql(plan, engine.dialect, {
          ordering,
          labelKeysOnly,
          labelsRepeatable,
          failOnEmptyMatch,
        })
      : portableTrainingSetSql(plan, engine.dialect);
  let sql = sqlFor(false);
  /**
   * Runs a statement built from the point-in-time SELECT; a row the packed ASOF key cannot order
   * exactly (before 1970, sub-millisecond, null service times) runs it again on the tuple
   * ordering, exact for any time.
   */
  const withOrderingFallback = async <T>(
    failOnEmptyMatch: boolean,
    run: (select: string) => Promise<T>
  ): Promise<T> => {
    sql = sqlFor(failOnEmptyMatch);
    try {
      return await run(sql);
    } catch (error) {
      if (strategy !== 'asof' || ordering === 'tuple' || !hasMessage(error, PACKED_KEY_ERROR)) {
        throw error;
      }
      ordering = 'tuple';
      sql = sqlFor(failOnEmptyMatch);
      return run(sql);
    }
  };
  const output = {
    path: options.output.path,
    format: formatOf(options.output.path, options.output.format),
  };
  const visible = columns.map((c) => q(c)).join(', ');
  let rows: number | undefined;
  const features: FeatureColumnSummary[] = [];
  const labelsWithoutFeatures: Record<string, number> = {};
  const summarize = async (from: string, withoutFeatures: (i: number) => string): Promise<void> => {
    const aggregates = [
      `count(*) AS ${q('rows')}`,
      ...groups.flatMap((g, i) =>
        g.outputNames.map((name, j) => `count(${q(name)}) AS ${q(`c${i}_${j}`)}`)
      ),
      ...groups.map(
        (_g, i) => `sum(CASE WHEN ${withoutFeatures(i)} THEN 1 ELSE 0 END) AS ${q(`u${i}`)}`
      ),
    ];
    const result = await engine.queryAll(
      `SELECT ${aggregates.join(', ')} FROM ${from}`,
      queryOptions
    );
    const row = result.rows[0] ?? {};
    const total = Number(row.rows ?? 0);
    rows = total;
    groups.forEach((g, i) => {
      labelsWithoutFeatures[g.group.name] = Number(row[`u${i}`] ?? 0);
      g.outputNames.forEach((name, j) => {
        const nulls = total - Number(row[`c${i}_${j}`] ?? 0);
        features.push({
          column: name,
          group: g.group.name,
          feature: g.features[j] as string,
          nulls,
          nullShare: total === 0 ? 0 : nulls / total,
        });
      });
    });
  };

  enter('join');
  // Straight from the join to the output, in label order, when the summary can be read back from
  // the output: always without a summary; with one, from Parquet (nulls kept apart from empty
  // text) when every group adds a feature, and as long as no group delivers a row of only null
  // features (then a label's features are all null exactly when its group delivered nothing; the
  // statement fails on such a row and the build keeps the joined result instead). Saves storing
  // the joined result and reading it back.
  const notes: string[] = [];
  const wantSummary = options.summary !== false;
  const direct =
    strategy === 'asof' &&
    (!wantSummary || (output.format === 'parquet' && groups.every((g) => g.features.length > 0)));
  let written = false;
  if (direct) {
    try {
      await withOrderingFallback(wantSummary, (select) =>
        engine.exportQuery(
          `SELECT ${visible} FROM (${select}) AS ${q('r')} ORDER BY ${q(LABEL_ID)}`,
          output,
          queryOptions
        )
      );
      written = true;
    } catch (error) {
      if (!hasMessage(error, EMPTY_MATCH_ERROR)) throw error;
      // A delivered row of only null features: the summary needs the kept result.
      notes.push(
        'a group delivered a row whose selected features are all null, so the join ran a second time to count labels without features (summary: false skips the count)'
      );
    }
    if (written && wantSummary) {
      enter('summary');
      const file = await engine.fileTable(output.path, { format: 'parquet' });
      await summarize(file, (i) =>
        (groups[i] as GroupPlan).outputNames.map((name) => `${q(name)} IS NULL`).join(' AND ')
      );
    }
  }
  if (!written) {
    const relation: MaterializedRelation = await withOrderingFallback(false, (select) =>
      engine.materialize(select, queryOptions)
    );
    try {
      enter('export');
      const from = relation.stored ? relation.sql : `${relation.sql} AS ${q('r')}`;
      const order = relation.stored ? ` ORDER BY ${q(LABEL_ID)}` : '';
      await engine.exportQuery(`SELECT ${visible} FROM ${from}${order}`, output, queryOptions);
      if (wantSummary) {
        enter('summary');
        await summarize(from, (i) => `NOT ${q(matchedColumn(i))}`);
      }
    } finally {
      await relation.release();
    }
  }
  const ended = performance.now();
  timings[phase] = ended - phaseStarted;
  return {
    rows,
    output,
    strategy,
    columns,
    features,
    labelsWithoutFeatures,
    timings,
    elapsedMs: ended - started,
    sql,
    notes,
  };
}

export type {
  FeatureColumnSummary,
  LabelsSource,
  OutputFormat,
  TrainingSetOptions,
  TrainingSetPhase,
  TrainingSetProgress,
  TrainingSetSummary,
};
export { buildTrainingSet, outputFormatOfName };

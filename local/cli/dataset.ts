/**
 * `skewless dataset`: builds a point-in-time correct training set from a labels file (DuckDB over
 * the local offline store) or a labels table (Athena over the Glue tables), with a progress
 * display on stderr and a summary on stdout.
 */
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  openSync,
  readSync,
  statSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  buildTrainingSet,
  outputFormatOfName,
  type TrainingSetOptions,
  type TrainingSetPhase,
  type TrainingSetProgress,
  type TrainingSetSummary,
} from '../../shared/dataset/build.ts';
import { parseMaxAgeOption, resolveSelections } from '../../shared/dataset/resolve.ts';
import { SkewlessError } from '../../shared/errors.ts';
import { quoteIdent } from '../../shared/offline/dialect.ts';
import type { OfflineQueryEngine } from '../../shared/offline/engine.ts';
import { DEFAULT_ACCOUNT, DEFAULT_REGION, findGroupTable } from '../../shared/offline/layout.ts';
import { registry } from '../../shared/registry.ts';
import { makeDirectory } from '../../shared/runtime/makeDirectory.ts';
import { COMMAND_DESCRIPTIONS } from './descriptions.ts';
import { flushed } from './flushed.ts';
import { accountId, directoryPath, positiveInteger, regionName } from './parsers.ts';
import { asUserError, debugRequested, notWritableReason, UserError } from './userErrors.ts';

interface DatasetCliOptions {
  featureSet?: string;
  features?: string[];
  labelTimeColumn: string;
  entityKey: Record<string, string>;
  strictlyBefore: boolean;
  maxAge?: ReturnType<typeof parseMaxAgeOption>;
  asOfWriteTime: boolean;
  writeTimeCutoff?: Date;
  deleteRule: 'service' | 'sdk';
  out: string;
  format?: 'parquet' | 'csv';
  columnSeparator: string;
  dataDir: string;
  account: string;
  region: string;
  engine: 'duckdb' | 'athena';
  strategy: 'auto' | 'asof' | 'portable';
  threads?: number;
  memoryLimit?: string;
  tempDir?: string;
  athenaWorkgroup: string;
  athenaOutput?: string;
  athenaDatabase: string;
  athenaCatalog: string;
  athenaTable: Record<string, string>;
  progress: boolean;
  json: boolean;
  explain: boolean;
}

/** Where the command writes: replaceable in tests. */
interface DatasetIo {
  readonly out: { write(text: string): unknown };
  readonly err: { write(text: string): unknown; readonly isTTY?: boolean };
}

function list(value: string, previous: string[] | undefined): string[] {
  return [
    ...(previous ?? []),
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  ];
}

function pairs(value: string, previous: Record<string, string>): Record<string, string> {
  const out = { ...previous };
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) {
      throw new InvalidArgumentError(`"${part}" is not name=value`);
    }
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

function maxAge(value: string): ReturnType<typeof parseMaxAgeOption> {
  try {
    return parseMaxAgeOption(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function instant(value: string): Date {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError('expected an ISO-8601 instant');
  return d;
}

/** A `memory_limit` DuckDB takes (it refuses others only with "Failed to set config"). */
function memorySize(value: string): string {
  if (!/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(value.trim())) {
    throw new InvalidArgumentError('expected a size such as 4GB, 512MB or 2GiB');
  }
  return value.trim();
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const PHASE_TEXT: Record<TrainingSetProgress['phase'], string> = {
  prepare: 'reading labels and resolving tables',
  join: 'point-in-time join',
  export: 'writing the output',
  summary: 'counting nulls',
};

const INTERRUPTED_TEXT: Record<TrainingSetPhase, string> = {
  prepare: 'while reading the labels',
  join: 'during the point-in-time join',
  export: 'while writing the output',
  summary: 'while counting nulls',
};

/** The output file's modification time; undefined when there is none (or it is not local). */
function outputStamp(path: string): number | undefined {
  return statSync(path, { throwIfNoEntry: false })?.mtimeMs;
}

/**
 * The build stopped by Ctrl-C (SIGINT): the shell's exit code for it, 130.
 *
 * @param outputTouched - whether the output file changed since the build began: the output can
 *   be written during the join itself (straight from the join, shared/dataset/build.ts), so the
 *   phase alone does not tell whether a partial file was left
 */
class DatasetInterrupted extends SkewlessError {
  readonly exitCode = 130;
  constructor(phase: TrainingSetPhase, out: string, outputTouched: boolean, cause: unknown) {
    const outcome =
      phase === 'summary'
        ? `${out} is complete, the null counts were skipped`
        : outputTouched
          ? `${out} may be partial; run the command again`
          : `nothing was written to ${out}`;
    super(`interrupted ${INTERRUPTED_TEXT[phase]}: ${outcome}`, { cause });
    this.name = 'DatasetInterrupted';
  }
}

/**
 * The progress display: on a terminal one line redrawn in place (spinner, phase, elapsed time,
 * DuckDB's percentage or Athena's state and bytes scanned); otherwise one line per phase.
 */
function progressDisplay(err: DatasetIo['err'], enabled: boolean) {
  let frame = 0;
  let lastPhase: string | undefined;
  let lastDraw = 0;
  const tty = err.isTTY === true;
  return {
    update(p: TrainingSetProgress): void {
      if (!enabled) return;
      const seconds = (p.elapsedMs / 1000).toFixed(1);
      const detail =
        p.percentage !== undefined
          ? ` ${p.percentage.toFixed(0)}%`
          : p.engineState !== undefined && p.engineState !== 'RUNNING'
            ? ` ${p.engineState}`
            : '';
      const scanned =
        p.bytesScanned === undefined ? '' : `, ${(p.bytesScanned / 1e6).toFixed(1)} MB scanned`;
      if (tty) {
        const now = performance.now();
        if (p.phase === lastPhase && now - lastDraw < 80) return;
        lastDraw = now;
        frame = (frame + 1) % SPINNER.length;
        err.write(
          `\r\x1b[2K${SPINNER[frame]} ${PHASE_TEXT[p.phase]}${detail}${scanned} (${seconds} s)`
        );
      } else if (p.phase !== lastPhase) {
        err.write(`dataset: ${PHASE_TEXT[p.phase]} (${seconds} s)\n`);
      }
      lastPhase = p.phase;
    },
    done(): void {
      if (enabled && tty) err.write('\r\x1b[2K');
    },
  };
}

/**
 * The summary as text.
 *
 * @param replaced - the output file existed before the build, and the build replaced it (as
 *   DuckDB's COPY and `aws s3 cp` do): said in the first line, so a mistyped `-o` that hit
 *   another file is seen
 */
function formatSummary(summary: TrainingSetSummary, replaced = false): string {
  const lines: string[] = [];
  const seconds = summary.elapsedMs / 1000;
  const rows = summary.rows;
  const count = rows === undefined ? 'the' : rows.toLocaleString('en-US');
  const { path, format } = summary.output;
  lines.push(
    `${replaced ? `Replaced ${path} with ${count} rows` : `Wrote ${count} rows to ${path}`} (${format}) in ${seconds.toFixed(2)} s` +
      (rows === undefined || seconds === 0
        ? ''
        : ` — ${Math.round(rows / seconds).toLocaleString('en-US')} rows/s`) +
      ` [${summary.strategy}]`
  );
  for (const note of summary.notes) lines.push(`Note: ${note}`);
  const t = summary.timings;
  lines.push(
    `Time: prepare ${(t.prepare / 1000).toFixed(2)} s, join ${(t.join / 1000).toFixed(2)} s, export ${(t.export / 1000).toFixed(2)} s, summary ${(t.summary / 1000).toFixed(2)} s`
  );
  if (summary.features.length > 0) {
    lines.push('', 'Labels without features, per group:');
    for (const [group, n] of Object.entries(summary.labelsWithoutFeatures)) {
      lines.push(`  ${group.padEnd(32)} ${n.toLocaleString('en-US')}`);
    }
    const width = Math.max(...summary.features.map((f) => f.column.length), 7);
    lines.push('', `${'feature'.padEnd(width)}  nulls`);
    for (const f of summary.features) {
      lines.push(`${f.column.padEnd(width)}  ${(f.nullShare * 100).toFixed(2).padStart(6)}%`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** `db.table` or `table` as a quoted table expression. */
function tableExpression(name: string): string {
  return name
    .split('.')
    .map((part) => quoteIdent(part))
    .join('.');
}

async function openEngine(
  options: DatasetCliOptions,
  onStatement: (sql: string) => void
): Promise<OfflineQueryEngine> {
  if (options.engine === 'duckdb') {
    const { createDuckDbEngine } = await import('../../shared/offline/duckdb.ts');
    return createDuckDbEngine({
      dataDir: options.dataDir,
      account: options.account,
      region: options.region,
      threads: options.threads,
      memoryLimit: options.memoryLimit,
      tempDirectory: options.tempDir,
      onStatement,
    });
  }
  const [{ AthenaClient }, { AthenaEngine }] = await Promise.all([
    import('@aws-sdk/client-athena'),
    import('../../shared/offline/athena.ts'),
  ]);
  return new AthenaEngine({
    client: new AthenaClient({ region: options.region }),
    workGroup: options.athenaWorkgroup,
    outputLocation: options.athenaOutput,
    database: options.athenaDatabase,
    catalog: options.athenaCatalog,
    tables: Object.keys(options.athenaTable).length > 0 ? options.athenaTable : undefined,
    onStatement,
  });
}

/**
 * The output file's name must say its format (or --format does), and its folder must be one this
 * command can create: a typo such as `-o train.xls` would otherwise get Parquet under a name that
 * says otherwise, and a path under a file the bare EEXIST of mkdir.
 */
function prepareOutputFile(out: string, format: DatasetCliOptions['format'], labels: string): void {
  // `-o labels.csv` (a habit from tools that write beside their input) would replace the labels
  // with the training set: the same file by any spelling of its path, or a hard link to it.
  const target = statSync(out, { throwIfNoEntry: false });
  const source = statSync(labels);
  if (target !== undefined && target.dev === source.dev && target.ino === source.ino) {
    throw new UserError(
      `the output ${out} is the labels file ${labels}: the training set would overwrite the labels`,
      'pass another path with -o, --out (the default is training-set.parquet)'
    );
  }
  if (format === undefined && outputFormatOfName(out) === undefined) {
    throw new UserError(
      `cannot tell the output format from the name ${out}`,
      'name it .parquet or .csv (.csv.gz compressed), or pass --format parquet|csv'
    );
  }
  if (existsSync(out) && statSync(out).isDirectory()) {
    throw new UserError(
      `cannot write the training set to ${out}: it is a directory`,
      'pass a file path with -o, --out'
    );
  }
  const folder = dirname(resolve(out));
  try {
    makeDirectory(folder);
  } catch (error) {
    const why = notWritableReason(error, folder) ?? (error as Error).message;
    throw new UserError(
      `cannot create the folder ${folder} for the training set: ${why}`,
      'pass an -o, --out path in a folder you can write',
      { cause: error }
    );
  }
  // A folder on a read-only mount: DuckDB's COPY would fail only after the join, with its own
  // "IO Error: Cannot open file".
  try {
    accessSync(folder, constants.W_OK);
  } catch (error) {
    throw new UserError(
      `cannot write the training set to ${out}: ${notWritableReason(error, folder) ?? `${folder} is not writable`}`,
      'pass an -o, --out path in a folder you can write',
      { cause: error }
    );
  }
}

/**
 * Refuses a labels file DuckDB would fail on with a multi-line error quoting its SQL: a name that
 * says no format (the build reads it as Parquet), a ".parquet" that is no Parquet, an empty file.
 */
function checkLabelsFile(labels: string): void {
  const format = outputFormatOfName(labels);
  const table = 'labels are a Parquet or CSV file (with a header row)';
  if (format === undefined) {
    throw new UserError(
      `cannot tell the format of the labels file ${labels}: its name ends in neither .parquet/.pq nor .csv/.csv.gz`,
      `${table}: name it so, or convert it`
    );
  }
  if (statSync(labels).size === 0) {
    throw new UserError(`the labels file ${labels} is empty`, `${table} of one row per label`);
  }
  if (format === 'parquet') {
    const head = Buffer.alloc(4);
    const fd = openSync(labels, 'r');
    try {
      readSync(fd, head, 0, 4, 0);
    } finally {
      closeSync(fd);
    }
    if (head.toString('latin1') !== 'PAR1') {
      throw new UserError(
        `the labels file ${labels} is not a Parquet file (it does not start with PAR1)`,
        'give a Parquet file, or name a CSV file .csv'
      );
    }
  }
}

/** Athena's region when --region is not given: the environment's, as the SDK reads it. */
function athenaRegion(): string {
  return process.env.AWS_REGION ?? DEFAULT_REGION;
}

async function runDataset(
  labels: string,
  options: DatasetCliOptions,
  io: DatasetIo
): Promise<void> {
  if ((options.featureSet === undefined) === (options.features === undefined)) {
    throw new InvalidArgumentError('give exactly one of --feature-set or --features');
  }
  if (options.engine === 'duckdb' && !existsSync(labels)) {
    throw new UserError(
      `no such labels file: ${labels}`,
      `the path is relative to ${process.cwd()}; labels for the demo's entities: npx node examples/dataset/demo-labels.ts labels.csv`
    );
  }
  if (options.engine === 'duckdb' && !statSync(labels).isFile()) {
    throw new UserError(
      `not a file: ${labels} is a directory`,
      'give the labels file itself (Parquet or CSV)'
    );
  }
  if (options.engine === 'duckdb') checkLabelsFile(labels);
  if (options.engine === 'duckdb') {
    // A wrong --data-dir (or a command run from another directory) would otherwise give every
    // label null features and exit 0: the engine reads a missing offline store as empty groups.
    const direct = join(options.dataDir, 'offline-store');
    const nested = join(options.dataDir, 'store', 'offline-store');
    if (!existsSync(direct) && !existsSync(nested)) {
      throw new UserError(
        `no offline store under ${options.dataDir} (neither ${direct} nor ${nested} exists)`,
        "pass the data directory of the stack that wrote the features (npm start's is .skewless in the directory it ran in) with --data-dir <dir>"
      );
    }
    // Likewise an account or region the store's layout does not have: no group's table is found.
    const root = existsSync(direct) ? direct : nested;
    const selected = resolveSelections(
      {
        featureSet:
          options.featureSet === undefined ? undefined : registry.getSet(options.featureSet),
        features: options.features,
      },
      [...registry.groups.values()]
    ).map((s) => s.group.name);
    const location = { root, account: options.account, region: options.region };
    if (selected.every((name) => findGroupTable(location, name) === undefined)) {
      throw new UserError(
        `no offline table of ${selected.join(', ')} under ${root} for account ${options.account}, region ${options.region}`,
        "pass the account and region of the store that wrote them (--account, --region; npm start's are 000000000000 and us-east-1), or its --data-dir"
      );
    }
    prepareOutputFile(options.out, options.format, labels);
  }
  const statements: string[] = [];
  const engine = await openEngine(options, (sql) => statements.push(sql));
  const controller = new AbortController();
  const onSignal = (): void => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  const display = progressDisplay(io.err, options.progress);
  let phase: TrainingSetPhase = 'prepare';
  const outputBefore = outputStamp(options.out);
  try {
    const build: TrainingSetOptions = {
      engine,
      labels: options.engine === 'athena' ? { table: tableExpression(labels) } : labels,
      featureSet: options.featureSet,
      features: options.features,
      groups: [...registry.groups.values()],
      labelTimeColumn: options.labelTimeColumn,
      entityKeyMap: options.entityKey,
      strictlyBefore: options.strictlyBefore,
      maxAge: options.maxAge,
      asOfWriteTime: options.asOfWriteTime,
      writeTimeCutoff: options.writeTimeCutoff,
      deleteRule: options.deleteRule,
      output: { path: options.out, format: options.format },
      columnSeparator: options.columnSeparator,
      strategy: options.strategy,
      onProgress: (p) => {
        phase = p.phase;
        display.update(p);
      },
      signal: controller.signal,
    };
    let summary: TrainingSetSummary;
    try {
      summary = await buildTrainingSet(build);
    } catch (error) {
      // Every engine rejects an aborted statement the same way (OfflineQueryError CANCELLED);
      // the user pressed Ctrl-C, so say what that left behind instead.
      if (controller.signal.aborted) {
        const touched = outputStamp(options.out) !== outputBefore;
        throw new DatasetInterrupted(phase, options.out, touched, error);
      }
      throw error;
    }
    display.done();
    if (options.explain) io.err.write(`${statements.join(';\n\n')};\n`);
    // The summary follows the phases even when both streams share a slow pipe.
    await flushed(io.err);
    const replaced = options.engine === 'duckdb' && outputBefore !== undefined;
    io.out.write(
      options.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary, replaced)
    );
  } finally {
    display.done();
    process.off('SIGINT', onSignal);
    await engine.close();
  }
}

/**
 * Adds `dataset` to the program.
 *
 * @example
 * ```typescript
 * const program = new Command();
 * registerDatasetCommand(program);
 * await program.parseAsync(['node', 'skewless', 'dataset', 'labels.parquet', '--feature-set', 'fraud_model_v3', '--label-time-column', 'event_time']);
 * ```
 */
function registerDatasetCommand(
  program: Command,
  io: DatasetIo = { out: process.stdout, err: process.stderr }
): void {
  program
    .command('dataset')
    .description(COMMAND_DESCRIPTIONS.dataset)
    .argument('<labels>', 'labels: a Parquet or CSV file (duckdb), or a [database.]table (athena)')
    .option(
      '--feature-set <name>',
      `a feature set of the schema module (${[...registry.sets.keys()].join(', ')})`
    )
    .option(
      '--features <group.feature,...>',
      'features to join, comma-separated (repeatable)',
      list
    )
    .requiredOption('--label-time-column <column>', 'label column holding the label event time')
    .addOption(
      new Option('--entity-key <group=column,...>', 'label column of a group’s record identifier')
        .argParser(pairs)
        .default({}, 'the identifier’s own name')
    )
    .option('--strictly-before', 'only feature rows strictly older than the label', false)
    .option(
      '--max-age <spec>',
      'no value older than label time − max age: "schema" (the groups’ maxAge), a duration (2d, 12h, 30m, 90s) or group=duration,...',
      maxAge
    )
    .option(
      '--as-of-write-time',
      'ignore rows written after the label time (no leakage from backfills)',
      false
    )
    .option(
      '--write-time-cutoff <instant>',
      'ignore rows written after this ISO-8601 instant (reproducible rebuilds)',
      instant
    )
    .addOption(
      new Option(
        '--delete-rule <rule>',
        'service: a delete hides the record until a newer put; sdk: it hides all earlier history (Python SDK)'
      )
        .choices(['service', 'sdk'])
        .default('service')
    )
    .option(
      '-o, --out <path>',
      'output file (duckdb; an existing file is replaced, and the summary says so) or empty s3:// prefix (athena)',
      'training-set.parquet'
    )
    .addOption(
      new Option('--format <format>', 'output format (default: from the extension)').choices([
        'parquet',
        'csv',
      ])
    )
    .option(
      '--column-separator <text>',
      'output feature columns are <group><separator><feature>',
      '.'
    )
    .option(
      '-d, --data-dir <dir>',
      'embedded store data directory (offline store in <dir>/offline-store or <dir>/store/offline-store)',
      directoryPath,
      '.skewless'
    )
    .option('--account <id>', 'account id of the offline layout', accountId, DEFAULT_ACCOUNT)
    .option(
      '--region <region>',
      `region of the offline layout (default: ${DEFAULT_REGION}, the embedded store's) / of Athena (default: ${athenaRegion()}, from AWS_REGION)`,
      regionName
    )
    .addOption(
      new Option('--engine <engine>', 'SQL engine').choices(['duckdb', 'athena']).default('duckdb')
    )
    .addOption(
      new Option(
        '--strategy <strategy>',
        'auto: ASOF on DuckDB unless --as-of-write-time; portable: the SQL Athena runs'
      )
        .choices(['auto', 'asof', 'portable'])
        .default('auto')
    )
    .option('--threads <n>', 'DuckDB threads (default: all cores)', positiveInteger)
    .option(
      '--memory-limit <size>',
      'DuckDB memory_limit, e.g. 4GB (default: 80% of RAM); beyond it DuckDB spills to --temp-dir',
      memorySize
    )
    .option('--temp-dir <dir>', 'where DuckDB spills (default: .tmp in the working directory)')
    .option('--athena-workgroup <name>', 'Athena work group', 'primary')
    .option(
      '--athena-output <s3uri>',
      'Athena query results location (unless the work group sets one)'
    )
    .option('--athena-database <name>', 'Athena session database', 'sagemaker_featurestore')
    .option('--athena-catalog <name>', 'Athena data catalog', 'AwsDataCatalog')
    .addOption(
      new Option('--athena-table <group=table,...>', 'Glue table of a group')
        .argParser(pairs)
        .default({}, 'DescribeFeatureGroup’s DataCatalogConfig')
    )
    .option('--no-progress', 'no progress display on stderr')
    .option('--json', 'print the summary as JSON', false)
    .option('--explain', 'print the SQL statements run, on stderr', false)
    .addHelpText(
      'after',
      `
Examples:
  skewless dataset labels.parquet --feature-set fraud_model_v3 --label-time-column event_time -o train.parquet
  skewless dataset labels.csv --features fraud-cards.txn_count_7d,fraud-merchants.mcc \\
      --label-time-column label_time --max-age schema --as-of-write-time -o train.csv
  skewless dataset ml.fraud_labels --engine athena --feature-set fraud_model_v3 --label-time-column event_time \\
      --athena-output s3://my-bucket/athena/ -o "s3://my-bucket/training-sets/$(date -u +%F)/"`
    )
    .action(
      async (labels: string, parsed: Omit<DatasetCliOptions, 'region'> & { region?: string }) => {
        // The embedded store writes its layout under its own --region (us-east-1 unless told), not
        // the SDK's: an AWS user's AWS_REGION must not send a local build to a layout never written.
        const region =
          parsed.region ?? (parsed.engine === 'athena' ? athenaRegion() : DEFAULT_REGION);
        const options: DatasetCliOptions = { ...parsed, region };
        try {
          await runDataset(labels, options, io);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          const user = asUserError(error);
          const debug = debugRequested(process.argv.slice(2));
          // The build's own errors are one line; the engine's may be a page (DuckDB's CSV sniffer
          // lists a dozen read_csv settings a user of this command cannot pass): its first line.
          const [first = message] = message.split('\n');
          const cut = user === undefined && first !== message && !debug;
          io.err.write(`dataset: ${user === undefined ? first : message}\n`);
          const hint =
            error instanceof DatasetInterrupted
              ? undefined
              : cut
                ? "run again with --debug for the engine's whole message"
                : (user?.hint ??
                  'the labels and options are described in skewless dataset --help and docs/training-sets.md');
          if (hint !== undefined) io.err.write(`  hint: ${hint}\n`);
          // The stack behind --debug, as every other command (local/cli/userErrors.ts).
          if (debug) {
            io.err.write(`${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
          }
          process.exitCode = error instanceof DatasetInterrupted ? error.exitCode : 1;
        }
      }
    );
}

export type { DatasetIo };
export { registerDatasetCommand };

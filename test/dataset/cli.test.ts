// calendar-fixed: offline history: no TTL offline, label times fixed against their own rows.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatasetIo, registerDatasetCommand } from '../../local/cli/dataset.ts';
import { cards, merchants } from '../../shared/definitions.ts';
import { createDuckDbEngine } from '../../shared/offline/duckdb.ts';
import { fixtureDataPath, writeOfflineRows } from '../helpers/offlineFixtures.ts';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skewless-cli-'));
  const put = (
    values: Record<string, string | number | bigint>,
    iso: string,
    isDeleted = false
  ) => ({
    values,
    writeTime: new Date(iso),
    apiInvocationTime: new Date(iso),
    isDeleted,
  });
  await writeOfflineRows({
    dataDir: dir,
    group: cards,
    rows: [
      put(
        { card_id: '000123', event_time: '2026-01-01T00:00:00.000Z', txn_count_7d: 1n },
        '2026-01-01T00:00:00Z'
      ),
      put(
        { card_id: '000123', event_time: '2026-01-02T00:00:00.000Z', txn_count_7d: 2n },
        '2026-01-02T00:00:00Z'
      ),
      put(
        { card_id: '000124', event_time: '2026-01-01T00:00:00.000Z', txn_count_7d: 9n },
        '2026-01-01T00:00:00Z'
      ),
      put(
        { card_id: '000124', event_time: '2026-01-01T12:00:00.000Z' },
        '2026-01-01T12:00:00Z',
        true
      ),
    ],
  });
  await writeOfflineRows({
    dataDir: dir,
    group: merchants,
    rows: [
      put(
        { merchant_id: 'm1', event_time: '2026-01-01T00:00:00.000Z', mcc: '5411' },
        '2026-01-01T00:00:00Z'
      ),
    ],
  });
  writeFileSync(
    join(dir, 'labels.csv'),
    'card,merchant_id,label_time,is_fraud\n000123,m1,2026-01-01T06:00:00Z,0\n000123,m1,2026-01-03T00:00:00Z,1\n000124,m2,2026-01-02T00:00:00Z,0\n'
  );
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function run(
  args: string[],
  onErr: (text: string) => void = () => {}
): Promise<{ out: string; err: string; exitCode: number }> {
  let out = '';
  let err = '';
  const io: DatasetIo = {
    out: { write: (t: string) => (out += t) },
    err: {
      write: (t: string) => {
        err += t;
        onErr(t);
      },
      isTTY: false,
    },
  };
  const program = new Command().exitOverride();
  registerDatasetCommand(program, io);
  const before = process.exitCode;
  process.exitCode = 0;
  await program.parseAsync(['node', 'skewless', 'dataset', ...args]);
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = before;
  return { out, err, exitCode };
}

/** The hint of an error the build found in the labels or options. */
const BUILD_HINT =
  'the labels and options are described in skewless dataset --help and docs/training-sets.md';

/** A build of `features` (default: one card feature) from `labels` into `<data dir>/<out>`. */
function buildArgs(
  out: string,
  features = 'fraud-cards.txn_count_7d',
  labels = join(dir, 'labels.csv')
): string[] {
  return [
    labels,
    '--features',
    features,
    '--label-time-column',
    'label_time',
    '--entity-key',
    'fraud-cards=card',
    '--data-dir',
    dir,
    '--out',
    join(dir, out),
  ];
}

describe('skewless dataset', () => {
  it('builds a CSV training set from CSV labels, with phases on stderr and a summary on stdout', async () => {
    const outPath = join(dir, 'train.csv');
    const { out, err, exitCode } = await run(
      buildArgs('train.csv', 'fraud-cards.txn_count_7d,fraud-merchants.mcc')
    );
    expect(exitCode).toBe(0);
    expect(err).toContain('dataset: point-in-time join');
    expect(err).toContain('dataset: writing the output');
    expect(out).toMatch(/Wrote 3 rows to .*train\.csv \(csv\)/);
    expect(out).toMatch(/fraud-cards\s+1/); // 000124 is deleted at label time
    expect(out).toMatch(/fraud-merchants\s+1/); // m2 has no rows
    const engine = await createDuckDbEngine();
    const { rows } = await engine.queryAll(
      `SELECT * FROM read_csv('${outPath}', all_varchar = true)`
    );
    await engine.close();
    expect(rows).toEqual([
      {
        card: '000123',
        merchant_id: 'm1',
        label_time: expect.stringMatching(/^2026-01-01[T ]06:00:00/),
        is_fraud: '0',
        'fraud-cards.txn_count_7d': '1',
        'fraud-merchants.mcc': '5411',
      },
      {
        card: '000123',
        merchant_id: 'm1',
        label_time: expect.stringMatching(/^2026-01-03/),
        is_fraud: '1',
        'fraud-cards.txn_count_7d': '2',
        'fraud-merchants.mcc': '5411',
      },
      {
        card: '000124',
        merchant_id: 'm2',
        label_time: expect.stringMatching(/^2026-01-02/),
        is_fraud: '0',
        'fraud-cards.txn_count_7d': null,
        'fraud-merchants.mcc': null,
      },
    ]);
  });

  it('replaces an existing output file, as DuckDB COPY and aws s3 cp do, and says so', async () => {
    // Prepare: yesterday's set where tonight's goes
    const outPath = join(dir, 'nightly.csv');
    writeFileSync(outPath, 'yesterday\n');
    // Act
    const { out, exitCode } = await run(buildArgs('nightly.csv'));
    // Assess
    expect(exitCode).toBe(0);
    expect(out.split('\n')[0]).toContain(`Replaced ${outPath} with 3 rows (csv) in `);
    expect(readFileSync(outPath, 'utf8')).not.toContain('yesterday');
    // A new file is written, not replaced.
    rmSync(outPath);
    expect((await run(buildArgs('nightly.csv'))).out).toMatch(
      /^Wrote 3 rows to .*nightly\.csv \(csv\)/
    );
  });

  it('prints the summary as JSON and the SQL with --explain; max age and strict options apply', async () => {
    const { out, err, exitCode } = await run([
      ...buildArgs(join('new-dir', 'train.parquet')),
      '--max-age',
      'fraud-cards=12h',
      '--strictly-before',
      '--json',
      '--explain',
      '--no-progress',
      '--memory-limit',
      '256MB',
      '--temp-dir',
      join(dir, 'spill'),
    ]);
    expect(exitCode).toBe(0);
    const summary = JSON.parse(out) as {
      rows: number;
      labelsWithoutFeatures: Record<string, number>;
      strategy: string;
    };
    expect(summary.rows).toBe(3);
    // Label 2 (2026-01-03) sees the 2026-01-02 row, 24 h old: beyond 12 h.
    expect(summary.labelsWithoutFeatures).toEqual({ 'fraud-cards': 2 });
    expect(summary.strategy).toBe('asof');
    expect(err).toContain('ASOF LEFT JOIN');
    expect(err).toContain("INTERVAL '43200' SECOND");
    expect(err).not.toContain('dataset: point-in-time join');
    // The labels above sit at no row's event time, where --strictly-before changes nothing. A
    // label at a row's own event time gets that row, or with the option the one before it (a day
    // older: beyond the 12 h).
    const atEvent = join(dir, 'labels-at-event.csv');
    writeFileSync(atEvent, 'card,label_time\n000123,2026-01-02T00:00:00Z\n');
    const withoutFeatures = async (strict: string[]) => {
      const result = await run([
        ...buildArgs('at-event.csv', 'fraud-cards.txn_count_7d', atEvent),
        '--max-age',
        'fraud-cards=12h',
        '--json',
        '--no-progress',
        ...strict,
      ]);
      expect(result.exitCode, result.err).toBe(0);
      return JSON.parse(result.out).labelsWithoutFeatures;
    };
    expect(await withoutFeatures([])).toEqual({ 'fraud-cards': 0 });
    expect(await withoutFeatures(['--strictly-before'])).toEqual({ 'fraud-cards': 1 });
  });

  it('--column-separator names the output columns <group><separator><feature>', async () => {
    const { exitCode, err } = await run([
      ...buildArgs('separator.csv'),
      '--column-separator',
      '__',
      '--no-progress',
    ]);
    expect(exitCode, err).toBe(0);
    const [header] = readFileSync(join(dir, 'separator.csv'), 'utf8').split('\n');
    expect(header?.split(',')).toContain('fraud-cards__txn_count_7d');
  });

  it('--delete-rule sdk hides the rows before a delete from a label older than it', async () => {
    // 000124 is put at 00:00 and deleted at 12:00; a label at 06:00 sits between them.
    const labels = join(dir, 'labels-before-delete.csv');
    writeFileSync(labels, 'card,label_time\n000124,2026-01-01T06:00:00Z\n');
    const withoutFeatures = async (rule: string) => {
      const result = await run([
        ...buildArgs('delete-rule.csv', 'fraud-cards.txn_count_7d', labels),
        '--delete-rule',
        rule,
        '--json',
        '--no-progress',
      ]);
      expect(result.exitCode, result.err).toBe(0);
      return JSON.parse(result.out).labelsWithoutFeatures;
    };
    // service: the put serves the label until the delete; sdk: the delete hides it whatever the time.
    expect(await withoutFeatures('service')).toEqual({ 'fraud-cards': 0 });
    expect(await withoutFeatures('sdk')).toEqual({ 'fraud-cards': 1 });
  });

  it('--strategy portable runs the window-function SQL, not the ASOF JOIN auto picks on DuckDB', async () => {
    const explain = async (strategy: string[]) => {
      const result = await run([
        ...buildArgs('strategy.csv'),
        ...strategy,
        '--json',
        '--explain',
        '--no-progress',
      ]);
      expect(result.exitCode, result.err).toBe(0);
      return { strategy: JSON.parse(result.out).strategy, sql: result.err };
    };
    const auto = await explain([]);
    expect(auto.strategy).toBe('asof');
    expect(auto.sql).toContain('ASOF LEFT JOIN');
    const portable = await explain(['--strategy', 'portable']);
    expect(portable.strategy).toBe('portable');
    expect(portable.sql).not.toContain('ASOF');
  });

  it('--strategy asof runs the ASOF JOIN and, unlike auto, refuses --as-of-write-time in one line', async () => {
    const strategyArgs = (more: string[]) => [
      ...buildArgs('strategy-asof.csv'),
      ...more,
      '--json',
      '--explain',
      '--no-progress',
    ];
    const asof = await run(strategyArgs(['--strategy', 'asof']));
    expect(asof.exitCode, asof.err).toBe(0);
    expect(JSON.parse(asof.out).strategy).toBe('asof');
    expect(asof.err).toContain('ASOF LEFT JOIN');
    // auto falls back to the portable SQL for --as-of-write-time; an explicit asof cannot.
    const auto = await run(strategyArgs(['--as-of-write-time']));
    expect(auto.exitCode, auto.err).toBe(0);
    expect(JSON.parse(auto.out).strategy).toBe('portable');
    const refused = await run(strategyArgs(['--strategy', 'asof', '--as-of-write-time']));
    expect(refused.exitCode).toBe(1);
    expect(refused.out).toBe('');
    expect(refused.err).not.toMatch(/^\s+at /m);
    expect(refused.err.trimEnd().split('\n').slice(-2)).toEqual([
      'dataset: asOfWriteTime (CLI: --as-of-write-time) needs the portable strategy (CLI: --strategy portable or auto): an ASOF join takes one inequality',
      `  hint: ${BUILD_HINT}`,
    ]);
  });

  it('--threads, --memory-limit and --temp-dir are set on DuckDB (shown by --explain)', async () => {
    const spill = join(dir, 'spill-settings');
    const { exitCode, err } = await run([
      ...buildArgs('settings.csv'),
      '--threads',
      '3',
      '--memory-limit',
      '300MB',
      '--temp-dir',
      spill,
      '--explain',
      '--no-progress',
    ]);
    expect(exitCode, err).toBe(0);
    expect(err).toContain('SET threads = 3;');
    expect(err).toContain("SET memory_limit = '300MB';");
    expect(err).toContain(`SET temp_directory = '${spill}';`);
  });

  it('--as-of-write-time and --write-time-cutoff leave out a row written after the label or the cutoff', async () => {
    // Times relative to the clock: a row at 3 h ago written then, and a backfill of 2 h ago
    // written 30 min ago, after the label (1 h ago) and after the cutoff (90 min ago).
    const store = mkdtempSync(join(tmpdir(), 'skewless-cli-written-'));
    try {
      const now = Date.now();
      const ago = (minutes: number) => new Date(now - minutes * 60_000);
      const row = (eventMinutesAgo: number, writtenMinutesAgo: number, count: bigint) => ({
        values: {
          card_id: '000200',
          event_time: ago(eventMinutesAgo).toISOString(),
          txn_count_7d: count,
        },
        writeTime: ago(writtenMinutesAgo),
        apiInvocationTime: ago(writtenMinutesAgo),
        isDeleted: false,
      });
      await writeOfflineRows({
        dataDir: store,
        group: cards,
        rows: [row(180, 180, 1n), row(120, 30, 2n)],
      });
      const labels = join(store, 'labels.csv');
      writeFileSync(labels, `card,label_time\n000200,${ago(60).toISOString()}\n`);
      const countServed = async (options: string[]) => {
        const out = join(store, 'train.csv');
        const args = buildArgs('unused.csv', 'fraud-cards.txn_count_7d', labels);
        args[args.indexOf('--data-dir') + 1] = store;
        args[args.indexOf('--out') + 1] = out;
        const result = await run([...args, ...options, '--no-progress']);
        expect(result.exitCode, result.err).toBe(0);
        const engine = await createDuckDbEngine();
        const { rows } = await engine.queryAll(
          `SELECT "fraud-cards.txn_count_7d" AS n FROM read_csv('${out}', all_varchar = true)`
        );
        await engine.close();
        return rows.map((r) => r.n);
      };
      expect(await countServed([])).toEqual(['2']);
      expect(await countServed(['--as-of-write-time'])).toEqual(['1']);
      expect(await countServed(['--write-time-cutoff', ago(90).toISOString()])).toEqual(['1']);
    } finally {
      rmSync(store, { recursive: true, force: true });
    }
  });

  it('says in one line what Ctrl-C left behind, with exit code 130', async () => {
    // SIGINT as a phase begins: its statement is aborted before DuckDB starts it.
    const interruptAt = (phase: string) => (text: string) => {
      if (text.startsWith(`dataset: ${phase}`)) process.emit('SIGINT');
    };
    const duringJoin = await run(buildArgs('never.csv'), interruptAt('point-in-time join'));
    expect(duringJoin.exitCode).toBe(130);
    expect(duringJoin.out).toBe('');
    expect(duringJoin.err.split('\n').filter((l) => !/ \(\d+\.\d s\)$/.test(l))).toEqual([
      `dataset: interrupted during the point-in-time join: nothing was written to ${join(dir, 'never.csv')}`,
      '',
    ]);
    expect(existsSync(join(dir, 'never.csv'))).toBe(false);
    const duringSummary = await run(buildArgs('done.csv'), interruptAt('counting nulls'));
    expect(duringSummary.exitCode).toBe(130);
    expect(duringSummary.err).toContain(
      `dataset: interrupted while counting nulls: ${join(dir, 'done.csv')} is complete, the null counts were skipped`
    );
    expect(existsSync(join(dir, 'done.csv'))).toBe(true);
    // Written straight from the join (Parquet), the output can appear while the join runs: a file
    // that changed during the build is called partial, whatever the phase.
    const started = await run(buildArgs('started.parquet'), (text) => {
      if (!text.startsWith('dataset: point-in-time join')) return;
      writeFileSync(join(dir, 'started.parquet'), '');
      process.emit('SIGINT');
    });
    expect(started.exitCode).toBe(130);
    expect(started.err).toContain(
      `dataset: interrupted during the point-in-time join: ${join(dir, 'started.parquet')} may be partial; run the command again`
    );
    expect(process.listenerCount('SIGINT')).toBe(0);
  });

  it('reports errors on stderr with exit code 1', async () => {
    const { err, exitCode } = await run([
      join(dir, 'labels.csv'),
      '--features',
      'fraud-cards.nope',
      '--label-time-column',
      'label_time',
      '--data-dir',
      dir,
    ]);
    expect(exitCode).toBe(1);
    expect(err).toMatch(/dataset: Unknown feature "fraud-cards.nope"/);
    const both = await run([join(dir, 'labels.csv'), '--label-time-column', 'label_time']);
    expect(both.exitCode).toBe(1);
    expect(both.err).toContain('exactly one of --feature-set or --features');
  });

  it("names the identifier column the labels lack, not the engine's binder error", async () => {
    const args = buildArgs('nokey.csv');
    args.splice(args.indexOf('--entity-key'), 2);
    const { out, err, exitCode } = await run(args);
    expect(exitCode).toBe(1);
    expect(out).toBe('');
    expect(err.trimEnd().split('\n').slice(-2)).toEqual([
      'dataset: labels have no column "card_id" for the record identifier of fraud-cards; add it or map it with entityKeyMap (CLI: --entity-key fraud-cards=<column>)',
      `  hint: ${BUILD_HINT}`,
    ]);
  });

  it('refuses an --entity-key for a group the build does not join (a typo)', async () => {
    const args = buildArgs('typo.csv');
    args[args.indexOf('fraud-cards=card')] = 'fraud-card=card';
    const { err, exitCode } = await run(args);
    expect(exitCode).toBe(1);
    expect(err.trimEnd().split('\n').slice(-2)).toEqual([
      'dataset: entityKeyMap (CLI: --entity-key) names "fraud-card", which is not a selected feature group (selected: fraud-cards)',
      `  hint: ${BUILD_HINT}`,
    ]);
  });

  it('refuses a --max-age for a group the build does not join (a typo would leave no max age)', async () => {
    const { out, err, exitCode } = await run([
      ...buildArgs('typo-age.csv'),
      '--max-age',
      'fraud-card=2d',
    ]);
    expect(exitCode).toBe(1);
    expect(out).toBe('');
    expect(err.trimEnd().split('\n').slice(-2)).toEqual([
      'dataset: maxAge (CLI: --max-age) names "fraud-card", which is not a selected feature group (selected: fraud-cards)',
      `  hint: ${BUILD_HINT}`,
    ]);
  });

  it('reads the embedded store’s layout (us-east-1) whatever AWS_REGION says, unless --region is given', async () => {
    // Prepare: an AWS user's shell (the store, npm start's or skewless store's, writes us-east-1
    // unless its own --region says otherwise; AWS_REGION is the SDK's, Athena's)
    const saved = process.env.AWS_REGION;
    process.env.AWS_REGION = 'eu-west-1';
    try {
      // Act
      const built = await run([...buildArgs('region-env.csv'), '--no-progress']);
      const given = await run([...buildArgs('region-given.csv'), '--region', 'eu-west-1']);
      // Assess
      expect(built.err).not.toContain('no offline table');
      expect(built.exitCode).toBe(0);
      expect(given.exitCode).toBe(1);
      expect(given.err).toContain('for account 000000000000, region eu-west-1');
    } finally {
      if (saved === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = saved;
    }
  });

  it('refuses an account or region whose offline tables the store does not have (no set of nulls)', async () => {
    const { err, exitCode } = await run([...buildArgs('other.csv'), '--account', '111111111111']);
    expect(exitCode).toBe(1);
    expect(err.trimEnd().split('\n')).toEqual([
      `dataset: no offline table of fraud-cards under ${join(dir, 'offline-store')} for account 111111111111, region us-east-1`,
      "  hint: pass the account and region of the store that wrote them (--account, --region; npm start's are 000000000000 and us-east-1), or its --data-dir",
    ]);
  });

  it('refuses a directory given as the labels file, in one line', async () => {
    const args = buildArgs('never.csv');
    args[0] = dir;
    const { err, exitCode } = await run(args);
    expect(exitCode).toBe(1);
    expect(err.trimEnd().split('\n')).toEqual([
      `dataset: not a file: ${dir} is a directory`,
      '  hint: give the labels file itself (Parquet or CSV)',
    ]);
    // A missing file: where its path is read from, and how to make labels for the demo.
    args[0] = 'no-such-labels.csv';
    const missing = await run(args);
    expect(missing.exitCode).toBe(1);
    expect(missing.err.trimEnd().split('\n')).toEqual([
      'dataset: no such labels file: no-such-labels.csv',
      `  hint: the path is relative to ${process.cwd()}; labels for the demo's entities: npx node examples/dataset/demo-labels.ts labels.csv`,
    ]);
  });

  it('refuses an output name that names no format (-o train.xls would get Parquet), unless --format says', async () => {
    const { out, err, exitCode } = await run(buildArgs('train.xls'));
    expect(exitCode).toBe(1);
    expect(out).toBe('');
    expect(err.trimEnd().split('\n')).toEqual([
      `dataset: cannot tell the output format from the name ${join(dir, 'train.xls')}`,
      '  hint: name it .parquet or .csv (.csv.gz compressed), or pass --format parquet|csv',
    ]);
    expect(existsSync(join(dir, 'train.xls'))).toBe(false);
    const given = await run([...buildArgs('train.data'), '--format', 'csv']);
    expect(given.exitCode).toBe(0);
    expect(given.out).toMatch(/Wrote 3 rows to .*train\.data \(csv\)/);
  });

  it('says in one line when the output folder cannot be made (a file on its path)', async () => {
    writeFileSync(join(dir, 'a-file'), 'x');
    const { err, exitCode } = await run(buildArgs(join('a-file', 'train.csv')));
    expect(exitCode).toBe(1);
    expect(err.trimEnd().split('\n')).toEqual([
      `dataset: cannot create the folder ${join(dir, 'a-file')} for the training set: it is a file, not a directory`,
      '  hint: pass an -o, --out path in a folder you can write',
    ]);
  });

  it('says in one line when the output folder cannot be made under /proc (Node recursive mkdir hung there)', async () => {
    const args = buildArgs('unused.csv');
    args[args.indexOf('--out') + 1] = '/proc/x/train.csv';
    const { err, exitCode } = await run(args);
    expect(exitCode).toBe(1);
    expect(err.trimEnd().split('\n')).toEqual([
      'dataset: cannot create the folder /proc/x for the training set: no directory can be created in /proc',
      '  hint: pass an -o, --out path in a folder you can write',
    ]);
  });

  it('refuses an output path that is the labels file (the build would overwrite the labels)', async () => {
    const labels = join(dir, 'own-labels.csv');
    const text = readFileSync(join(dir, 'labels.csv'), 'utf8');
    writeFileSync(labels, text);
    const args = buildArgs('unused.csv');
    args[0] = labels;
    // The same file by another spelling of its path.
    args[args.indexOf('--out') + 1] = `${dir}/./own-labels.csv`;
    const { out, err, exitCode } = await run(args);
    expect(exitCode).toBe(1);
    expect(out).toBe('');
    expect(err.trimEnd().split('\n')).toEqual([
      `dataset: the output ${dir}/./own-labels.csv is the labels file ${labels}: the training set would overwrite the labels`,
      '  hint: pass another path with -o, --out (the default is training-set.parquet)',
    ]);
    expect(readFileSync(labels, 'utf8')).toBe(text);
  });

  it.each([
    [
      'labels.json',
      '{"card":"000123"}\n',
      'cannot tell the format of the labels file {path}: its name ends in neither .parquet/.pq nor .csv/.csv.gz',
      'labels are a Parquet or CSV file (with a header row): name it so, or convert it',
    ],
    [
      'not-parquet.parquet',
      'card,label_time\n000123,2026-01-01T00:00:00Z\n',
      'the labels file {path} is not a Parquet file (it does not start with PAR1)',
      'give a Parquet file, or name a CSV file .csv',
    ],
    [
      'empty.csv',
      '',
      'the labels file {path} is empty',
      'labels are a Parquet or CSV file (with a header row) of one row per label',
    ],
  ])(
    'refuses labels %s in one line with a hint, not the engine error',
    async (name, text, message, hint) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      const args = buildArgs('never.csv');
      args[0] = path;
      const { out, err, exitCode } = await run(args);
      expect(exitCode).toBe(1);
      expect(out).toBe('');
      expect(err.trimEnd().split('\n')).toEqual([
        `dataset: ${message.replace('{path}', path)}`,
        `  hint: ${hint}`,
      ]);
    }
  );

  it("prints the first line of an engine error, not DuckDB's page of advice (the rest with --debug)", async () => {
    const path = join(dir, 'binary.csv');
    // Bytes that are no text: DuckDB's CSV sniffer finds no dialect.
    writeFileSync(path, Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 131 + 7) % 256)));
    const args = buildArgs('never.csv');
    args[0] = path;
    const { out, err, exitCode } = await run([...args, '--no-progress']);
    expect(exitCode).toBe(1);
    expect(out).toBe('');
    expect(err.trimEnd().split('\n')).toEqual([
      `dataset: Invalid Input Error: Error when sniffing file "${path}".`,
      "  hint: run again with --debug for the engine's whole message",
    ]);
  });

  it('says in one line which folder of a group it cannot list, instead of leaving its rows out', async () => {
    // Prepare: a store whose card table holds a file named data where its folder should be
    const broken = mkdtempSync(join(tmpdir(), 'skewless-cli-unlisted-'));
    try {
      const data = fixtureDataPath({ dataDir: broken, group: cards });
      mkdirSync(dirname(data), { recursive: true });
      writeFileSync(data, '');
      const args = buildArgs('short.csv');
      args[args.indexOf('--data-dir') + 1] = broken;
      // Act
      const { out, err, exitCode } = await run([...args, '--no-progress']);
      // --debug is read from the command line, before the command's own options (as main does)
      const argv = process.argv;
      process.argv = [...argv, '--debug'];
      const debug = await run([...args, '--no-progress']).finally(() => {
        process.argv = argv;
      });
      // Assess: one line and a hint, no stack; the stack with --debug
      expect(exitCode).toBe(1);
      expect(out).toBe('');
      expect(err.trimEnd().split('\n')).toEqual([
        `dataset: cannot list the offline files in ${data} (not a directory, ENOTDIR): the rows under it would be left out`,
        '  hint: every folder and link under a group’s data directory holds its rows: make it readable by this user (or remove a broken link, or move what is not the group’s out of the store), then run again',
      ]);
      expect(debug.err).toContain('OfflineFilesUnreadableError: cannot list');
      expect(debug.err).toMatch(/\n\s+at /);
      expect(existsSync(join(dir, 'short.csv'))).toBe(false);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });

  it('refuses a data directory without an offline store instead of writing a set of nulls', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'skewless-cli-empty-'));
    try {
      const args = buildArgs('nulls.csv');
      args[args.indexOf('--data-dir') + 1] = empty;
      const { out, err, exitCode } = await run(args);
      expect(exitCode).toBe(1);
      expect(out).toBe('');
      expect(err.trimEnd().split('\n')).toEqual([
        `dataset: no offline store under ${empty} (neither ${join(empty, 'offline-store')} nor ${join(empty, 'store', 'offline-store')} exists)`,
        "  hint: pass the data directory of the stack that wrote the features (npm start's is .skewless in the directory it ran in) with --data-dir <dir>",
      ]);
      expect(existsSync(join(dir, 'nulls.csv'))).toBe(false);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

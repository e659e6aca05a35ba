// calendar-fixed: offline history generated around a fixed origin; no TTL offline.
/**
 * Training-set throughput: 1M labels × 10M offline rows of the fraud domain, DuckDB over the
 * offline layout (hourly hive partitions), feature set `fraud_model_v3` (16 features, 3 groups),
 * against a hand-written DuckDB ASOF JOIN on the same files in the same run; a run with DuckDB's
 * memory bounded (spilling); the same at twice the size; and a tenth of it over 18 months of hourly
 * partitions (the nightly rebuild's history). Goals (issues 8, 16): ≥ 1M label
 * rows/s and ≤ 1.1× the baseline. Each build runs in a fresh child process (its own peak RSS).
 * Bounded: fixed sizes, one temp dir, removed afterwards. Run alone:
 * `node_modules/.bin/node bench/dataset.ts`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { buildTrainingSet, type TrainingSetSummary } from '../shared/dataset/build.ts';
import { cards, fraudModelV3, merchants, transactions } from '../shared/definitions.ts';
import { quoteString } from '../shared/offline/dialect.ts';
import { createDuckDbEngine } from '../shared/offline/duckdb.ts';
import { DEFAULT_ACCOUNT, DEFAULT_REGION } from '../shared/offline/layout.ts';
import { benchSizeOrExit, runAlone } from './harness.ts';
import type { Bench, BenchRow } from './types.ts';

const EPOCH = 1_767_225_600; // 2026-01-01T00:00:00Z: creation time and start of the data
/**
 * Days of history the offline rows spread over, one hive partition per hour and group (default
 * 10: 240 files per group). 540 is the 18 months of a nightly training rebuild: ~13,000 files per
 * group, where listing and reading every file's schema weigh as much as the join.
 */
const DAYS = benchSizeOrExit('SKEWLESS_BENCH_DATASET_DAYS', 10);
/**
 * The long-history row: 18 months of hourly partitions (~13,000 files per group) at a tenth of
 * the rows, where listing and binding the files weigh as much as the join.
 */
const LONG_HISTORY_DAYS = 540;
const LONG_HISTORY_SCALE = 0.1;
const GOAL_ROWS_PER_SECOND = 1_000_000;
const LABEL_EVERY = 4; // 1M labels out of 4M transactions
/** Size factor (1 = the figure of the issue); a smaller one checks the bench quickly. */
const SCALE = benchSizeOrExit('SKEWLESS_BENCH_DATASET_SCALE', 1, { fraction: true });

/** Sizes of the fixture at scale 1 (1M labels × 10M rows); `scale` multiplies the counts. */
function fixtureSizes(scale: number) {
  // Whole counts: scales multiply in floating point (the long-history row at 0.1 of a 0.1 run is
  // 0.010000000000000002), and DuckDB's range() takes integers only.
  const count = (n: number): number => Math.round(n * scale);
  const transactions = count(4_000_000 / LABEL_EVERY) * LABEL_EVERY;
  const cards = count(100_000);
  const merchants = count(9_950);
  const sizes = {
    transactions,
    deletedTransactions: count(5_000),
    cards,
    cardSnapshots: 50,
    resentCardRows: count(5_000), // duplicates: same card and event time, later api time
    merchants,
    merchantSnapshots: 100,
    labels: transactions / LABEL_EVERY,
  };
  return {
    ...sizes,
    featureRows:
      sizes.transactions +
      sizes.deletedTransactions +
      sizes.cards * sizes.cardSnapshots +
      sizes.resentCardRows +
      sizes.merchants * sizes.merchantSnapshots,
  };
}

function tablePath(root: string, group: string): string {
  return join(
    root,
    'offline-store',
    DEFAULT_ACCOUNT,
    'sagemaker',
    DEFAULT_REGION,
    'offline-store',
    `${group}-${EPOCH}`,
    'data'
  );
}

const ISO = "strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ')";
/** Hour index since EPOCH: the files are partitioned by it, then the directories renamed. */
const HOUR = `(epoch_us(ts) - ${EPOCH}000000) // 3600000000 AS hi`;
const COPY_OPTIONS = 'FORMAT parquet, PARTITION_BY (hi), OVERWRITE';

/**
 * `hi=N` → `year=YYYY/month=MM/day=DD/hour=HH`: partitioning by one integer and renaming 240
 * directories is twice as fast as DuckDB partitioning by four zero-padded text columns.
 */
function toHiveLayout(dataPath: string): void {
  for (const entry of readdirSync(dataPath)) {
    const m = /^hi=(-?\d+)$/.exec(entry);
    if (m === null) continue;
    const d = new Date((EPOCH + Number(m[1]) * 3600) * 1000);
    const p = (n: number, w = 2): string => String(n).padStart(w, '0');
    const target = join(
      dataPath,
      `year=${p(d.getUTCFullYear(), 4)}`,
      `month=${p(d.getUTCMonth() + 1)}`,
      `day=${p(d.getUTCDate())}`,
      `hour=${p(d.getUTCHours())}`
    );
    mkdirSync(join(target, '..'), { recursive: true });
    renameSync(join(dataPath, entry), target);
  }
}

/** Writes the three groups in the offline layout and the labels; returns the labels path. */
export async function generate(dir: string, scale = 1, days = DAYS): Promise<string> {
  const z = fixtureSizes(scale);
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const c = await instance.connect();
  const randomTime = `make_timestamp(${EPOCH}000000 + CAST(random() * ${days} * 86400000 AS BIGINT) * 1000)`;
  try {
    await c.run('SELECT setseed(0.42)');
    for (const g of [transactions, cards, merchants])
      mkdirSync(tablePath(dir, g.name), { recursive: true });
    // Transactions: one row per payment; some later deleted (delete markers one hour later).
    await c.run(`CREATE TABLE txn AS SELECT n, 'txn-' || n AS transaction_id, ${randomTime} AS ts,
        'card-' || lpad(CAST(CAST(random() * ${z.cards} AS BIGINT) AS VARCHAR), 6, '0') AS card_id,
        'm-' || lpad(CAST(CAST(random() * ${z.merchants} AS BIGINT) AS VARCHAR), 5, '0') AS merchant_id,
        round(random() * 500, 2) AS amount
      FROM range(${z.transactions}) r(n)`);
    await c.run(`COPY (
        SELECT transaction_id, ${ISO} AS event_time, card_id, merchant_id, amount, 'EUR' AS currency,
          CASE WHEN n % 3 = 0 THEN 'ecom' ELSE 'pos' END AS channel,
          CAST(n % 3 AS BIGINT) AS card_txn_count_60s, CAST(n % 7 AS BIGINT) AS card_txn_count_1h,
          CAST(n % 31 AS BIGINT) AS card_txn_count_1d, amount * 2 AS card_amount_sum_1h,
          random() * 3 AS amount_to_avg_7d_ratio,
          ts + INTERVAL 3 MINUTE AS write_time, ts + INTERVAL 40 MILLISECOND AS api_invocation_time,
          false AS is_deleted, ${HOUR}
        FROM txn
        UNION ALL
        SELECT transaction_id, ${ISO} AS event_time, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
          ts + INTERVAL 3 MINUTE, ts, true, ${HOUR}
        FROM (SELECT transaction_id, ts + INTERVAL 1 HOUR AS ts FROM txn WHERE n % ${z.transactions / z.deletedTransactions} = 1)
        ORDER BY hi
      ) TO ${quoteString(tablePath(dir, transactions.name))} (${COPY_OPTIONS})`);
    const labels = join(dir, 'labels.parquet');
    await c.run(`COPY (
        SELECT transaction_id, card_id, merchant_id, ts AS event_time, random() < 0.01 AS is_fraud
        FROM txn WHERE n % ${LABEL_EVERY} = 0 ORDER BY ts
      ) TO ${quoteString(labels)} (FORMAT parquet)`);
    await c.run('DROP TABLE txn');
    // Cards: daily-ish batch aggregates, and a few rows re-sent with a later api time.
    await c.run(`COPY (
        WITH s AS (
          SELECT c, k, 'card-' || lpad(CAST(c AS VARCHAR), 6, '0') AS card_id, ${randomTime} AS ts
          FROM range(${z.cards}) r(c), range(${z.cardSnapshots}) s(k)
        ), all_rows AS (
          SELECT *, 0 AS resent FROM s
          UNION ALL SELECT *, 1 AS resent FROM s WHERE (c * ${z.cardSnapshots} + k) % ${(z.cards * z.cardSnapshots) / z.resentCardRows} = 0
        )
        SELECT card_id, ${ISO} AS event_time, CAST(random() * 100 AS BIGINT) AS txn_count_7d,
          CAST(random() * 400 AS BIGINT) AS txn_count_30d, random() * 1000 AS amount_sum_7d,
          random() * 4000 AS amount_sum_30d, CAST(random() * 50 AS BIGINT) AS distinct_merchants_30d,
          CAST(random() * 3 AS BIGINT) AS chargebacks_365d, CAST(random() * 3000 AS BIGINT) AS card_age_days,
          'DE' AS home_country, ts + INTERVAL 20 MINUTE + resent * INTERVAL 1 HOUR AS write_time,
          ts + INTERVAL 10 MINUTE + resent * INTERVAL 1 HOUR AS api_invocation_time, false AS is_deleted,
          ${HOUR}
        FROM all_rows ORDER BY hi
      ) TO ${quoteString(tablePath(dir, cards.name))} (${COPY_OPTIONS})`);
    await c.run(`COPY (
        WITH s AS (
          SELECT 'm-' || lpad(CAST(m AS VARCHAR), 5, '0') AS merchant_id, ${randomTime} AS ts
          FROM range(${z.merchants}) r(m), range(${z.merchantSnapshots}) s(k)
        )
        SELECT merchant_id, ${ISO} AS event_time, CAST(5411 + m_hash % 20 AS VARCHAR) AS mcc, 'DE' AS country,
          CAST(random() * 1000 AS BIGINT) AS txn_count_1d, random() * 80 AS avg_amount_30d,
          random() * 0.02 AS fraud_rate_30d, random() * 0.01 AS chargeback_rate_90d,
          ts + INTERVAL 20 MINUTE AS write_time, ts + INTERVAL 10 MINUTE AS api_invocation_time,
          false AS is_deleted, ${HOUR}
        FROM (SELECT *, hash(merchant_id) AS m_hash FROM s) ORDER BY hi
      ) TO ${quoteString(tablePath(dir, merchants.name))} (${COPY_OPTIONS})`);
    for (const g of [transactions, cards, merchants]) toHiveLayout(tablePath(dir, g.name));
    return labels;
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

/** What one build in a child process reports (fresh process: its peak RSS is the build's own). */
interface ChildResult {
  readonly rows: number;
  readonly elapsedMs: number;
  /** CPU time of the process (DuckDB's threads included) during the build, ms. */
  readonly cpuMs: number;
  /** Peak resident set size of the process, bytes. */
  readonly maxRssBytes: number;
  readonly timings?: TrainingSetSummary['timings'];
}

type ChildKind = 'baseline' | 'asof';

/**
 * The baseline: the ASOF JOIN a DuckDB user would write by hand on the same files — each group's
 * Parquet read directly, event time cast once, one `ASOF LEFT JOIN` per group on (identifier,
 * event time), ties on event time left to chance, no delete rule, no label order, no summary.
 */
function baselineSql(dir: string, labels: string, out: string): string {
  const joins: string[] = [];
  const outputs: string[] = [];
  fraudModelV3.selections.forEach((s, i) => {
    const g = s.group;
    const glob = join(tablePath(dir, g.name), '**', '*.parquet');
    const features = s.features.map((f) => `"${f}"`).join(', ');
    joins.push(
      `ASOF LEFT JOIN (SELECT "${g.recordIdentifier}", CAST("${g.eventTime}" AS TIMESTAMP) AS "et", ${features} FROM read_parquet(${quoteString(glob)})) AS "g${i}" ON "g${i}"."${g.recordIdentifier}" = "l"."${g.recordIdentifier}" AND "l"."event_time" >= "g${i}"."et"`
    );
    for (const f of s.features) outputs.push(`"g${i}"."${f}" AS "${g.name}.${f}"`);
  });
  return `COPY (SELECT "l".*, ${outputs.join(', ')} FROM read_parquet(${quoteString(labels)}) AS "l" ${joins.join(' ')}) TO ${quoteString(out)} (FORMAT parquet, COMPRESSION 'snappy')`;
}

/** Runs one build in this process (the child side). */
async function runChild(
  kind: ChildKind,
  dir: string,
  out: string,
  memoryLimit: string | undefined,
  tempDirectory: string | undefined
): Promise<ChildResult> {
  const labels = join(dir, 'labels.parquet');
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  let rows = 0;
  let timings: TrainingSetSummary['timings'] | undefined;
  if (kind === 'baseline') {
    const config: Record<string, string> = {};
    if (memoryLimit !== undefined) config.memory_limit = memoryLimit;
    if (tempDirectory !== undefined) config.temp_directory = tempDirectory;
    const instance = await DuckDBInstance.create(':memory:', config);
    const c = await instance.connect();
    try {
      await c.run("SET TimeZone = 'UTC'");
      const result = await c.runAndReadAll(baselineSql(dir, labels, out));
      rows = Number(result.getRows()[0]?.[0] ?? 0);
    } finally {
      c.closeSync();
      instance.closeSync();
    }
  } else {
    const engine = await createDuckDbEngine({ dataDir: dir, memoryLimit, tempDirectory });
    try {
      const summary = await buildTrainingSet({
        engine,
        labels,
        featureSet: fraudModelV3,
        labelTimeColumn: 'event_time',
        output: { path: out },
        strategy: kind,
      });
      rows = summary.rows ?? 0;
      timings = summary.timings;
    } finally {
      await engine.close();
    }
  }
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  return {
    rows,
    elapsedMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    timings,
  };
}

/** Runs one build in a fresh Node process and returns what it reports. */
function inChild(
  kind: ChildKind,
  dir: string,
  options: { memoryLimit?: string; tempDirectory?: string } = {}
): ChildResult {
  const out = join(dir, `train-${kind}.parquet`);
  const stdout = execFileSync(
    process.execPath,
    [
      fileURLToPath(import.meta.url),
      '--child',
      kind,
      dir,
      out,
      options.memoryLimit ?? '',
      options.tempDirectory ?? '',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 }
  );
  rmSync(out, { force: true });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as ChildResult;
}

const rate = (rows: number, ms: number): number => Math.round(rows / (ms / 1000));
const rateText = (rows: number, ms: number): string =>
  `${rate(rows, ms).toLocaleString('en-US')} rows/s`;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const mib = (bytes: number): string => `${Math.round(bytes / 2 ** 20).toLocaleString('en-US')} MiB`;
const count = (n: number): string => n.toLocaleString('en-US');

/** Sums of several runs of one kind (their ratio to another kind's sums is the figure). */
function total(runs: readonly ChildResult[]) {
  return {
    rows: runs.reduce((a, r) => a + r.rows, 0),
    elapsedMs: runs.reduce((a, r) => a + r.elapsedMs, 0),
    cpuMs: runs.reduce((a, r) => a + r.cpuMs, 0),
    maxRssBytes: Math.max(...runs.map((r) => r.maxRssBytes)),
  };
}

const bench: Bench = async () => {
  const root = mkdtempSync(join(tmpdir(), 'skewless-bench-dataset-'));
  try {
    const load = loadavg()[0]?.toFixed(1) ?? '?';
    const z1 = fixtureSizes(SCALE);
    const z2 = fixtureSizes(2 * SCALE);
    const dir1 = join(root, 'x1');
    const g0 = performance.now();
    await generate(dir1, SCALE);
    const generationMs = performance.now() - g0;
    // Same files, same run, alternated (A B B A) so drift in the machine's load hits both alike.
    const base1 = [inChild('baseline', dir1)];
    const ours1 = [inChild('asof', dir1), inChild('asof', dir1)];
    base1.push(inChild('baseline', dir1));
    const b1 = total(base1);
    const o1 = total(ours1);
    const first = ours1[0] as ChildResult;
    // Memory: the same build with DuckDB held to a quarter of its unbounded peak, spilling to disk.
    const spillDir = join(root, 'spill');
    const bounded = Math.max(256, Math.round(o1.maxRssBytes / 4 / 2 ** 20));
    const spilled = inChild('asof', dir1, {
      memoryLimit: `${bounded}MB`,
      tempDirectory: spillDir,
    });
    rmSync(dir1, { recursive: true, force: true });
    // Scaling: labels × rows doubled.
    const dir2 = join(root, 'x2');
    await generate(dir2, 2 * SCALE);
    // Alternated too (A B B A): one run of each swung by ±2× with the load.
    const base2runs = [inChild('baseline', dir2)];
    const ours2runs = [inChild('asof', dir2), inChild('asof', dir2)];
    base2runs.push(inChild('baseline', dir2));
    const base2 = total(base2runs);
    const ours2 = total(ours2runs);
    rmSync(dir2, { recursive: true, force: true });
    // Long history: the nightly rebuild's 18 months, at a tenth of the rows (A B B A as well).
    const dir3 = join(root, 'long');
    await generate(dir3, LONG_HISTORY_SCALE * SCALE, LONG_HISTORY_DAYS);
    const z3 = fixtureSizes(LONG_HISTORY_SCALE * SCALE);
    const files3 = readdirSync(join(dir3, 'offline-store'), { recursive: true }).filter((f) =>
      String(f).endsWith('.parquet')
    ).length;
    const base3runs = [inChild('baseline', dir3)];
    const ours3runs = [inChild('asof', dir3), inChild('asof', dir3)];
    base3runs.push(inChild('baseline', dir3));
    const base3 = total(base3runs);
    const ours3 = total(ours3runs);
    const ratio1 = o1.elapsedMs / b1.elapsedMs;
    const cpuRatio1 = o1.cpuMs / b1.cpuMs;
    const ours1Rate = rate(o1.rows, o1.elapsedMs);
    const size1 = `${count(z1.labels)} labels × ${count(z1.featureRows)} rows`;
    const size2 = `${count(z2.labels)} labels × ${count(z2.featureRows)} rows`;
    const rows: BenchRow[] = [
      {
        metric: `Training set, skewless (DuckDB ASOF path, ${size1}), wall clock, 2 runs`,
        value: `${rateText(o1.rows, o1.elapsedMs)} (${seconds(o1.elapsedMs / 2)} per run), CPU ${seconds(o1.cpuMs / 2)} per run`,
        goal: `>= ${count(GOAL_ROWS_PER_SECOND)} rows/s`,
        met: ours1Rate >= GOAL_ROWS_PER_SECOND,
      },
      {
        metric: 'Baseline: hand-written DuckDB ASOF JOIN on the same files, same run, 2 runs',
        value: `${rateText(b1.rows, b1.elapsedMs)} (${seconds(b1.elapsedMs / 2)} per run), CPU ${seconds(b1.cpuMs / 2)} per run`,
      },
      {
        // Both: on this shared machine one wall-clock ratio can land under 1.1× by the load alone.
        metric: 'Ratio skewless / baseline (wall clock; CPU time)',
        value: `${ratio1.toFixed(2)}×; CPU ${cpuRatio1.toFixed(2)}×`,
        goal: '<= 1.1× in both',
        met: ratio1 <= 1.1 && cpuRatio1 <= 1.1,
      },
      {
        metric: 'skewless time split (first run)',
        value: first.timings
          ? `prepare ${seconds(first.timings.prepare)}, join ${seconds(first.timings.join)}, export ${seconds(first.timings.export)}, summary ${seconds(first.timings.summary)}`
          : '-',
      },
      {
        metric: `Peak RSS, ${size1} (whole process)`,
        value: `skewless ${mib(o1.maxRssBytes)}, baseline ${mib(b1.maxRssBytes)}`,
      },
      {
        metric: `Bounded memory: skewless with DuckDB memory_limit ${bounded} MB and temp_directory (spills)`,
        value: `peak RSS ${mib(spilled.maxRssBytes)}, ${rateText(spilled.rows, spilled.elapsedMs)} (${seconds(spilled.elapsedMs)}), ${count(spilled.rows)} rows`,
      },
      {
        metric: `Scaling: ${size2} (labels × rows doubled), 2 runs each`,
        value: `skewless ${rateText(ours2.rows, ours2.elapsedMs)} (${seconds(ours2.elapsedMs / 2)} per run, CPU ${seconds(ours2.cpuMs / 2)}, peak RSS ${mib(ours2.maxRssBytes)}); baseline ${rateText(base2.rows, base2.elapsedMs)} (${seconds(base2.elapsedMs / 2)} per run, CPU ${seconds(base2.cpuMs / 2)}); ratio ${(ours2.elapsedMs / base2.elapsedMs).toFixed(2)}×, CPU ${(ours2.cpuMs / base2.cpuMs).toFixed(2)}×; skewless cost vs 1× size: ${(ours2.elapsedMs / o1.elapsedMs).toFixed(2)}× time, ${(ours2.cpuMs / o1.cpuMs).toFixed(2)}× CPU`,
      },
      {
        metric: `Long history: ${count(z3.labels)} labels × ${count(z3.featureRows)} rows over ${LONG_HISTORY_DAYS} days of hourly partitions (${count(files3)} files), 2 runs each`,
        value: `skewless ${seconds(ours3.elapsedMs / 2)} per run, CPU ${seconds(ours3.cpuMs / 2)}, peak RSS ${mib(ours3.maxRssBytes)}; baseline ${seconds(base3.elapsedMs / 2)} per run, CPU ${seconds(base3.cpuMs / 2)}, peak RSS ${mib(base3.maxRssBytes)}; ratio ${(ours3.elapsedMs / base3.elapsedMs).toFixed(2)}×, CPU ${(ours3.cpuMs / base3.cpuMs).toFixed(2)}×`,
      },
      {
        metric: 'Fixture generation, 1× size (not part of the figures)',
        value: seconds(generationMs),
      },
    ];
    return {
      title: 'Point-in-time training sets (issues 8, 16)',
      method: [
        `${count(z1.featureRows)} offline rows in the service layout (hourly hive partitions over ${DAYS} days, String ISO event times): fraud-transactions ${count(z1.transactions + z1.deletedTransactions)} (incl. ${count(z1.deletedTransactions)} delete markers), fraud-cards ${count(z1.cards * z1.cardSnapshots + z1.resentCardRows)} (incl. ${count(z1.resentCardRows)} re-sent duplicates), fraud-merchants ${count(z1.merchants * z1.merchantSnapshots)}; the scaling row doubles every count; the long-history row spreads a tenth of the rows over ${LONG_HISTORY_DAYS} days (one partition per hour and group).`,
        `Labels: every ${LABEL_EVERY}th transaction (Parquet, TIMESTAMP label time); feature set fraud_model_v3 (16 features, 3 groups); output Parquet (snappy).`,
        'skewless = the whole buildTrainingSet call (views, label-key estimate, join, export in label order, summary) / label rows. Baseline = one hand-written COPY of three plain ASOF LEFT JOINs (ties on event time only, no delete rule, no order, no summary) over the same files.',
        'Each build runs in a fresh Node process (peak RSS is its own); at each size baseline and skewless alternate A B B A and the ratio is of their summed times.',
        `Load average (1 min) at start: ${load}, at end: ${loadavg()[0]?.toFixed(1) ?? '?'} (2 cores, shared machine: wall clock suffers from other processes, CPU time less; the ratio is the figure to trust).`,
      ],
      rows,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
};

export default bench;

if (import.meta.main) {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    const [, kind, dir, out, memoryLimit, tempDirectory] = args;
    const result = await runChild(
      kind as ChildKind,
      dir as string,
      out as string,
      memoryLimit || undefined,
      tempDirectory || undefined
    );
    console.log(JSON.stringify(result));
  } else {
    await runAlone(bench);
  }
}

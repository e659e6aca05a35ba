// calendar-fixed: offline history generated around a fixed origin; no TTL offline.
/**
 * Training-set throughput: 1M labels × 10M offline rows of the fraud domain, DuckDB over the
 * offline layout (hourly hive partitions), feature set `fraud_model_v3` (16 features, 3 groups).
 * Goal (issue 8): ≥ 1M output rows/s on this machine. Bounded: fixed sizes, one temp dir,
 * removed afterwards. Run alone: `node_modules/.bin/node bench/dataset.ts`.
 */
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { buildTrainingSet, type TrainingSetSummary } from '../shared/dataset/build.ts';
import { cards, fraudModelV3, merchants, transactions } from '../shared/definitions.ts';
import { quoteString } from '../shared/offline/dialect.ts';
import { createDuckDbEngine } from '../shared/offline/duckdb.ts';
import { DEFAULT_ACCOUNT, DEFAULT_REGION } from '../shared/offline/layout.ts';
import type { Bench, BenchRow } from './types.ts';

const EPOCH = 1_767_225_600; // 2026-01-01T00:00:00Z: creation time and start of the data
const DAYS = 10;
const TRANSACTIONS = 4_000_000;
const DELETED_TRANSACTIONS = 5_000;
const CARDS = 100_000;
const CARD_SNAPSHOTS = 50;
const RESENT_CARD_ROWS = 5_000; // duplicates: same card and event time, later api time
const MERCHANTS = 9_950;
const MERCHANT_SNAPSHOTS = 100;
const LABEL_EVERY = 4; // 1M labels out of 4M transactions
const GOAL_ROWS_PER_SECOND = 1_000_000;

const FEATURE_ROWS =
  TRANSACTIONS +
  DELETED_TRANSACTIONS +
  CARDS * CARD_SNAPSHOTS +
  RESENT_CARD_ROWS +
  MERCHANTS * MERCHANT_SNAPSHOTS;

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
export async function generate(dir: string): Promise<string> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const c = await instance.connect();
  const randomTime = `make_timestamp(${EPOCH}000000 + CAST(random() * ${DAYS} * 86400000 AS BIGINT) * 1000)`;
  try {
    await c.run('SELECT setseed(0.42)');
    for (const g of [transactions, cards, merchants])
      mkdirSync(tablePath(dir, g.name), { recursive: true });
    // Transactions: one row per payment; some later deleted (delete markers one hour later).
    await c.run(`CREATE TABLE txn AS SELECT n, 'txn-' || n AS transaction_id, ${randomTime} AS ts,
        'card-' || lpad(CAST(CAST(random() * ${CARDS} AS BIGINT) AS VARCHAR), 6, '0') AS card_id,
        'm-' || lpad(CAST(CAST(random() * ${MERCHANTS} AS BIGINT) AS VARCHAR), 5, '0') AS merchant_id,
        round(random() * 500, 2) AS amount
      FROM range(${TRANSACTIONS}) r(n)`);
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
        FROM (SELECT transaction_id, ts + INTERVAL 1 HOUR AS ts FROM txn WHERE n % ${TRANSACTIONS / DELETED_TRANSACTIONS} = 1)
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
          FROM range(${CARDS}) r(c), range(${CARD_SNAPSHOTS}) s(k)
        ), all_rows AS (
          SELECT *, 0 AS resent FROM s
          UNION ALL SELECT *, 1 AS resent FROM s WHERE (c * ${CARD_SNAPSHOTS} + k) % ${(CARDS * CARD_SNAPSHOTS) / RESENT_CARD_ROWS} = 0
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
          FROM range(${MERCHANTS}) r(m), range(${MERCHANT_SNAPSHOTS}) s(k)
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

interface Run {
  readonly summary: TrainingSetSummary;
  /** CPU time of this process (DuckDB's threads included) during the build, ms. */
  readonly cpuMs: number;
}

async function build(
  dir: string,
  labels: string,
  strategy: 'asof' | 'portable',
  out: string
): Promise<Run> {
  const engine = await createDuckDbEngine({ dataDir: dir });
  try {
    const cpu0 = process.cpuUsage();
    const summary = await buildTrainingSet({
      engine,
      labels,
      featureSet: fraudModelV3,
      labelTimeColumn: 'event_time',
      output: { path: out },
      strategy,
    });
    const cpu = process.cpuUsage(cpu0);
    return { summary, cpuMs: (cpu.user + cpu.system) / 1000 };
  } finally {
    await engine.close();
  }
}

const rate = (rows: number, ms: number): string =>
  `${Math.round(rows / (ms / 1000)).toLocaleString('en-US')} rows/s`;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

const bench: Bench = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skewless-bench-dataset-'));
  try {
    const load = loadavg()[0]?.toFixed(1) ?? '?';
    const g0 = performance.now();
    const labels = await generate(dir);
    const generationMs = performance.now() - g0;
    const fastRun = await build(dir, labels, 'asof', join(dir, 'train-asof.parquet'));
    const portableRun = await build(dir, labels, 'portable', join(dir, 'train-portable.parquet'));
    const fast = fastRun.summary;
    const portable = portableRun.summary;
    const labelRows = fast.rows ?? 0;
    const fastRate = labelRows / (fast.elapsedMs / 1000);
    const split = (s: TrainingSetSummary): string =>
      `prepare ${seconds(s.timings.prepare)}, join ${seconds(s.timings.join)}, export ${seconds(s.timings.export)}, summary ${seconds(s.timings.summary)}`;
    const rows: BenchRow[] = [
      {
        metric: `Training set, DuckDB ASOF path (${labelRows.toLocaleString('en-US')} labels × ${FEATURE_ROWS.toLocaleString('en-US')} rows), wall clock`,
        value: `${rate(labelRows, fast.elapsedMs)} (${seconds(fast.elapsedMs)})`,
        goal: `>= ${GOAL_ROWS_PER_SECOND.toLocaleString('en-US')} rows/s`,
        met: fastRate >= GOAL_ROWS_PER_SECOND,
      },
      {
        metric: 'ASOF path, CPU time (user+sys, both cores; less sensitive to other load)',
        value: `${seconds(fastRun.cpuMs)} → ${rate(labelRows, fastRun.cpuMs / 2)} if both cores were ours (upper bound)`,
      },
      { metric: 'ASOF path time split', value: split(fast) },
      {
        metric: 'Training set, portable SQL (the Athena text) on DuckDB, wall clock',
        value: `${rate(portable.rows ?? 0, portable.elapsedMs)} (${seconds(portable.elapsedMs)}), CPU ${seconds(portableRun.cpuMs)}`,
      },
      { metric: 'Portable path time split', value: split(portable) },
      { metric: 'Fixture generation (not part of the figure)', value: seconds(generationMs) },
    ];
    return {
      title: 'Point-in-time training sets (issue 8)',
      method: [
        `${FEATURE_ROWS.toLocaleString('en-US')} offline rows in the service layout (hourly hive partitions over ${DAYS} days, String ISO event times): fraud-transactions ${(TRANSACTIONS + DELETED_TRANSACTIONS).toLocaleString('en-US')} (incl. ${DELETED_TRANSACTIONS} delete markers), fraud-cards ${(CARDS * CARD_SNAPSHOTS + RESENT_CARD_ROWS).toLocaleString('en-US')} (incl. ${RESENT_CARD_ROWS} re-sent duplicates), fraud-merchants ${(MERCHANTS * MERCHANT_SNAPSHOTS).toLocaleString('en-US')}.`,
        `Labels: every ${LABEL_EVERY}th transaction (Parquet, TIMESTAMP label time); feature set fraud_model_v3 (16 features); output Parquet (snappy) + summary.`,
        'Figure = whole buildTrainingSet call (describe, views, join, export, summary) / label rows; one run each, fresh engine.',
        `Load average (1 min) at start: ${load}, at end: ${loadavg()[0]?.toFixed(1) ?? '?'} (2 cores, shared machine: wall clock suffers from other processes, CPU time much less).`,
      ],
      rows,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export default bench;

if (import.meta.main) {
  const section = await bench();
  console.log(`## ${section.title}`);
  for (const m of section.method) console.log(`- ${m}`);
  for (const r of section.rows) {
    console.log(
      `| ${r.metric} | ${r.value} | ${r.goal ?? ''} | ${r.met === undefined ? '' : r.met ? 'yes' : 'no'} |`
    );
  }
}

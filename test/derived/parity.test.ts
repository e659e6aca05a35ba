/**
 * THE proof of issue 10: one definition, computed identically online and in backfill.
 *
 * ≥ 100,000 synthetic payment messages (hot cards, bursts with equal event times, late and
 * out-of-order events, producer duplicates, bad records) are streamed as real-shape Kinesis events,
 * partition key = card, through the ingest handler (functions/ingest) with derived features,
 * against an embedded store that fails a share of requests (so Lambda-style partial-batch retries
 * replay records). Meanwhile, in its own process, `skewless backfill --derive` backfills the same
 * raw history offline-only into a second, empty store (its own embedded store, a local S3 that
 * exposes the store's offline files as on AWS, and the backfill function, which therefore writes
 * Parquet straight into the offline store: direct mode, the default for a Glue-format group), and
 * the point-in-time training set is built from that offline store with the training-set builder
 * (DuckDB).
 *
 * For every distinct valid payment: the values the online store returns (BatchGetRecord after
 * ingestion) must equal the training set's, feature by feature, bit for bit. Zero mismatches.
 * The training set built from the ingest store's own offline rows (first writes, late rewrites,
 * replays) must equal them too: both stores converge to the event-time replay.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import { buildTrainingSet } from '../../shared/dataset/build.ts';
import { cardVelocities, transactions } from '../../shared/definitions.ts';
import type { DeadLetter } from '../../shared/ingest/deadLetter.ts';
import { createDuckDbEngine } from '../../shared/offline/duckdb.ts';
import { createFeatureStoreClient } from '../../shared/runtime/clients.ts';
import { metrics } from '../../shared/runtime/powertools.ts';
import { batchGetOnline } from '../../shared/store/onlineReader.ts';
import { driveLikeLambda, type IngestHandler, lambdaContext } from '../helpers/kinesisEvents.ts';
import { node, processCpuSeconds, root } from '../helpers/stackProcess.ts';
import { type ChildStore, startChildStore } from './childStore.ts';
import { createDeploymentGroups, toShards } from './harness.ts';
import { paymentsStream } from './paymentsStream.ts';

const EVENTS = Number(process.env.SKEWLESS_PARITY_EVENTS ?? 100_000);
const SHARDS = 4;
const BATCH_SIZE = 5000;
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const outputs = cardVelocities.outputs.map((o) => o.feature);

let online: ChildStore;
let work: string;
let handler: IngestHandler;
let addMetric: MockInstance<typeof metrics.addMetric>;

/** Sum of a metric over every invocation so far. */
function metricTotal(name: string): number {
  return addMetric.mock.calls
    .filter(([metric]) => metric === name)
    .reduce((sum, [, , value]) => sum + value, 0);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'skewless-parity-'));
  // The ingest store fails 0.1 % of runtime requests: partial batch responses, replays. Writes go
  // 25 records per BatchWriteRecord call, so ~6,000 requests carry the stream: a handful fail.
  online = await startChildStore({ serverErrorShare: 0.001, faultSeed: 10 });
  const sagemaker = new SageMakerClient({
    endpoint: online.endpoint,
    region: 'us-east-1',
    credentials,
  });
  await createDeploymentGroups(sagemaker);
  sagemaker.destroy();
  // THE ingest handler (functions/ingest), configured from its environment as on Lambda, with
  // one SDK attempt per call so every store fault reaches the pipeline as a Lambda retry.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME: online.endpoint,
    DEFAULT_FEATURE_GROUP: transactions.name,
    DEAD_LETTER_DIR: join(work, 'dead-letters'),
    INGEST_CONCURRENCY: '64',
    INGEST_MAX_ATTEMPTS: '1',
  });
  addMetric = vi.spyOn(metrics, 'addMetric');
  ({ handler } = await import('../../functions/ingest/index.ts'));
});

afterAll(async () => {
  await online?.dispose();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

type Values = Record<string, number | null>;

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** CPU seconds the process used (sampled, Linux). */
  readonly cpuSeconds: number;
}

/**
 * `skewless backfill --derive <file> --group fraud-transactions` in its own process, with the stack
 * it runs in-process under `dataDir`: the embedded store (`<dataDir>/store`), a local S3 serving
 * the store's offline files under the groups' offline URI, and the backfill function, which
 * writes the offline store directly (no PutRecord), as it does on AWS for a Glue-format group.
 */
function backfillCli(file: string, dataDir: string): Promise<CliResult> {
  const child = spawn(
    node,
    [
      join(root, 'test/derived/backfillCli.ts'),
      'backfill',
      '--derive',
      file,
      '--group',
      transactions.name,
      '--data-dir',
      dataDir,
      '--json',
      '--no-progress',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BACKFILL_CONCURRENCY: '64', POWERTOOLS_LOG_LEVEL: 'ERROR' },
    }
  );
  let stdout = '';
  let stderr = '';
  let cpuSeconds = Number.NaN;
  // Sampled while the process lives; its last sample is its total.
  const sampler = setInterval(() => {
    const sample = processCpuSeconds(child.pid);
    if (!Number.isNaN(sample)) cpuSeconds = sample;
  }, 200);
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((done) =>
    child.once('exit', (code) => {
      clearInterval(sampler);
      done({ code, stdout, stderr, cpuSeconds });
    })
  );
}

function normalise(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'bigint' ? Number(value) : (value as number);
}

async function readOnline(
  client: SageMakerFeatureStoreRuntimeClient,
  ids: readonly string[]
): Promise<Map<string, Values>> {
  const out = new Map<string, Values>();
  for (let i = 0; i < ids.length; i += 5000) {
    const result = await batchGetOnline(client, [
      { group: transactions, recordIds: ids.slice(i, i + 5000), features: outputs },
    ]);
    expect(result.unprocessed).toEqual([]);
    for (const found of result.found) {
      const values = found.values as Record<string, unknown>;
      out.set(found.recordId, Object.fromEntries(outputs.map((f) => [f, normalise(values[f])])));
    }
  }
  return out;
}

/** The point-in-time training set of the derived features over one store's offline data. */
async function trainingSet(dataDir: string, labels: string, output: string) {
  const engine = await createDuckDbEngine({ dataDir, threads: 2 });
  try {
    const summary = await buildTrainingSet({
      engine,
      labels,
      features: outputs.map((f) => `${transactions.name}.${f}`),
      labelTimeColumn: 'event_time',
      output: { path: output },
    });
    const { rows } = await engine.queryAll(`SELECT * FROM read_parquet('${output}')`);
    return {
      rows: rows as Record<string, unknown>[],
      labelsWithoutFeatures: summary.labelsWithoutFeatures[transactions.name] ?? 0,
    };
  } finally {
    await engine.close();
  }
}

describe('Derived features: online equals backfill', () => {
  it(`streams ${EVENTS.toLocaleString('en-US')} events through ingest, backfills the same history, zero mismatches`, async () => {
    const started = performance.now();
    const cpuAtStart = process.cpuUsage();
    const messages = paymentsStream({ messages: EVENTS, endMs: Date.now() - 10 * 60_000 });
    const kinds = Object.groupBy(messages, (m) => m.kind);
    const payments = new Map<string, { event_time: string }>();
    for (const m of messages) {
      if (m.kind === 'bad') continue;
      const p = JSON.parse(m.data) as { transaction_id: string; event_time: string };
      payments.set(p.transaction_id, p);
    }

    // (b) Backfill, in its own process while the stream is ingested: the raw history as a file.
    const historyPath = join(work, 'payments.jsonl');
    writeFileSync(historyPath, `${messages.map((m) => m.data).join('\n')}\n`);
    const backfillDir = join(work, 'backfill');
    const backfillRun = backfillCli(historyPath, backfillDir);

    // (a) Online: Kinesis batches per shard, partition key = card, Lambda's retry semantics.
    const drive = await driveLikeLambda(
      (event) => handler(event, lambdaContext(900_000)),
      toShards(messages, SHARDS),
      { batchSize: BATCH_SIZE, maxInvocationsPerShard: 5000 }
    );
    expect(drive.stuckShards).toEqual([]);
    const ingested = performance.now();
    const ingestCpu = process.cpuUsage(cpuAtStart);
    const onlineStoreCpu = online.cpuSeconds();
    const reader = createFeatureStoreClient(
      { maxSockets: 16, maxAttempts: 5 },
      { endpoint: online.endpoint, region: 'us-east-1', credentials }
    );
    const ids = [...payments.keys()];
    const onlineValues = await readOnline(reader, ids);
    reader.destroy();
    expect(onlineValues.size).toBe(payments.size);
    // The stream's own offline rows (first writes, rewrites, replays), flushed to Parquet.
    await online.stop();

    const backfillResult = await backfillRun;
    expect(backfillResult.code, backfillResult.stderr).toBe(0);
    const backfill = JSON.parse(backfillResult.stdout) as {
      rowsWritten: number;
      rowsRejected: number;
      durationMs: number;
      writeMode: string;
    };
    expect(backfill.rowsWritten).toBe(payments.size);
    expect(backfill.rowsRejected).toBe(kinds.bad?.length ?? 0);
    // Parquet straight into the offline store, as on AWS (not BatchWriteRecord to the OfflineStore).
    expect(backfill.writeMode).toBe('direct');
    const backfilled = performance.now();

    // The point-in-time training set from the backfilled offline store.
    const labelsPath = join(work, 'labels.csv');
    writeFileSync(
      labelsPath,
      `transaction_id,event_time\n${[...payments].map(([id, p]) => `${id},${p.event_time}`).join('\n')}\n`
    );
    const backfillTraining = await trainingSet(
      join(backfillDir, 'store'),
      labelsPath,
      join(work, 'b.parquet')
    );
    const streamTraining = await trainingSet(online.dataDir, labelsPath, join(work, 's.parquet'));
    const rows = backfillTraining.rows;
    const built = performance.now();

    const deadLetterDir = join(work, 'dead-letters');
    const deadLetters = readdirSync(deadLetterDir)
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) =>
        readFileSync(join(deadLetterDir, f), 'utf8')
          .split('\n')
          .filter((line) => line.length > 0)
          .map((line) => JSON.parse(line) as DeadLetter)
      );

    // Compare, feature by feature.
    const compare = (training: readonly Record<string, unknown>[]) => {
      let mismatches = 0;
      const examples: unknown[] = [];
      for (const row of training) {
        const id = String(row.transaction_id);
        const got = onlineValues.get(id);
        for (const f of outputs) {
          const want = normalise(row[`${transactions.name}.${f}`]);
          const have = got?.[f] ?? null;
          if (!Object.is(want, have)) {
            mismatches++;
            if (examples.length < 5) examples.push({ id, feature: f, online: have, offline: want });
          }
        }
      }
      return { mismatches, examples };
    };
    const { mismatches, examples } = compare(rows);
    const stream = compare(streamTraining.rows);
    const nonTrivial = [...onlineValues.values()].filter(
      (v) => (v.card_txn_count_60s ?? 0) > 1
    ).length;
    const report = {
      messages: messages.length,
      kinds: Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, v?.length ?? 0])),
      distinctPayments: payments.size,
      invocations: drive.invocations,
      replayedInvocations: drive.retries,
      deliveries: drive.deliveries,
      applied: metricTotal('DerivedEventsApplied'),
      lateRewrites: metricTotal('DerivedLateRewrites'),
      duplicatesSkipped: metricTotal('DerivedDuplicates'),
      tooLate: metricTotal('DerivedTooLate'),
      evictions: metricTotal('DerivedStateEvictions'),
      deadLetters: deadLetters.length,
      deadLetteredMessages: new Set(deadLetters.map((l) => l.kinesis.sequenceNumber)).size,
      backfill: {
        rowsWritten: backfill.rowsWritten,
        rowsRejected: backfill.rowsRejected,
        writeMode: backfill.writeMode,
        seconds: Math.round(backfill.durationMs / 1000),
      },
      trainingRows: rows.length,
      paymentsWithBurst60s: nonTrivial,
      mismatches,
      streamOfflineMismatches: stream.mismatches,
      seconds: {
        ingest: Math.round((ingested - started) / 1000),
        readOnlineAndWaitForBackfill: Math.round((backfilled - ingested) / 1000),
        trainingSet: Math.round((built - backfilled) / 1000),
        total: Math.round((built - started) / 1000),
      },
      cpuSeconds: {
        testProcessDuringIngest: Math.round((ingestCpu.user + ingestCpu.system) / 1e6),
        ingestStore: Math.round(onlineStoreCpu),
        // The backfill function, its embedded store and its local S3: one process.
        backfillProcess: Math.round(backfillResult.cpuSeconds),
      },
    };
    console.log(`derived parity: ${JSON.stringify(report)}`);
    expect(examples).toEqual([]);
    expect(mismatches).toBe(0);
    expect(stream.examples).toEqual([]);
    expect(rows).toHaveLength(payments.size);
    expect(streamTraining.rows).toHaveLength(payments.size);
    expect(backfillTraining.labelsWithoutFeatures).toBe(0);
    if (EVENTS >= 100_000) {
      // At full scale the run must have exercised Lambda replays and cross-batch late rewrites
      // (smaller runs, via SKEWLESS_PARITY_EVENTS, may not reach them).
      expect(drive.retries).toBeGreaterThan(0);
      expect(report.lateRewrites).toBeGreaterThan(0);
    }
    expect(report.duplicatesSkipped).toBeGreaterThan(0);
    expect(report.tooLate).toBe(0);
    expect(report.evictions).toBe(0);
    expect(report.deadLetteredMessages).toBe(kinds.bad?.length ?? 0);
    expect(nonTrivial).toBeGreaterThan(100);
  }, 1_800_000);
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { KinesisStreamRecord } from 'aws-lambda';
import { ensureFeatureGroups } from '../local/setup/ensureFeatureGroups.ts';
import { featureGroups, transactions } from '../shared/definitions.ts';
import { toShards } from '../test/derived/harness.ts';
import { paymentsStream } from '../test/derived/paymentsStream.ts';
import { type IngestHandler, kinesisEvent, lambdaContext } from '../test/helpers/kinesisEvents.ts';
import {
  cpuPerRecord,
  formatNumber,
  ingestDefaults,
  type Phase,
  perSecond,
  runAlone,
  spawnStore,
  stopChild,
  sumPhases,
  timedPhase,
} from './harness.ts';
import type { Bench, BenchRow, BenchSection } from './types.ts';

/** The template's IngestConcurrency and IngestBatchSize defaults. */
const { concurrency: CONCURRENCY, batchSize: BATCH_SIZE } = ingestDefaults();
const SHARDS = 4;
const ROUNDS = 2;
const MESSAGES_PER_PHASE = 4_000;
const MAX_MS_PER_PHASE = 30_000;
/** Event time each phase's stream spans is about two hours; phases follow each other. */
const PHASE_SPAN_MS = 3 * 3_600_000;

/** Every shard's batches through the handler, shards in parallel, bounded in time. */
function drive(
  handler: IngestHandler,
  shards: ReadonlyMap<string, readonly KinesisStreamRecord[]>
): Promise<Phase> {
  return timedPhase(async () => {
    const deadline = performance.now() + MAX_MS_PER_PHASE;
    let records = 0;
    let failures = 0;
    await Promise.all(
      [...shards.values()].map(async (list) => {
        for (let i = 0; i < list.length && performance.now() < deadline; i += BATCH_SIZE) {
          const batch = list.slice(i, i + BATCH_SIZE);
          const response = await handler(kinesisEvent(batch), lambdaContext(120_000));
          failures += response?.batchItemFailures.length ?? 0;
          records += batch.length;
        }
      })
    );
    return { records, failures };
  });
}

/** The handler as on a cold start with `DERIVED_FEATURES` set (its own module instance). */
async function loadHandler(derived: 'on' | 'off'): Promise<IngestHandler> {
  process.env.DERIVED_FEATURES = derived;
  const module = (await import(`../functions/ingest/index.ts?derived=${derived}`)) as {
    handler: IngestHandler;
  };
  return module.handler;
}

const bench: Bench = async (): Promise<BenchSection> => {
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'bench';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  delete process.env.DEAD_LETTER_QUEUE_URL;
  const dataDir = mkdtempSync(join(tmpdir(), 'skewless-bench-derived-'));
  const deadLetterDir = mkdtempSync(join(tmpdir(), 'skewless-bench-derived-dlq-'));
  const { child, endpoint } = await spawnStore(dataDir);
  // Imported after the environment is set: Powertools reads it when the module loads.
  const { metrics } = await import('../shared/runtime/powertools.ts');
  const counted = new Map<string, number>();
  const addMetric = metrics.addMetric.bind(metrics);
  metrics.addMetric = ((name: string, unit: never, value: number) => {
    counted.set(name, (counted.get(name) ?? 0) + value);
    return addMetric(name, unit, value);
  }) as typeof metrics.addMetric;
  try {
    const sagemaker = new SageMakerClient({ endpoint });
    await ensureFeatureGroups(sagemaker, featureGroups, {
      offlineS3Uri: 's3://skewless-bench/offline-store',
      roleArn: 'arn:aws:iam::000000000000:role/skewless-offline',
    });
    sagemaker.destroy();
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME: endpoint,
      DEFAULT_FEATURE_GROUP: transactions.name,
      DEAD_LETTER_DIR: deadLetterDir,
      INGEST_CONCURRENCY: String(CONCURRENCY),
    });
    const plainHandler = await loadHandler('off');
    const derivedHandler = await loadHandler('on');
    // Phases in event-time order: the derived state of a card carries over from phase to phase.
    const phases = 2 + 2 * ROUNDS;
    let phase = 0;
    const nextStream = () => {
      phase += 1;
      const endMs = Date.now() - (phases - phase) * PHASE_SPAN_MS - 60_000;
      return toShards(paymentsStream({ messages: MESSAGES_PER_PHASE, endMs, seed: phase }), SHARDS);
    };
    await drive(plainHandler, nextStream());
    await drive(derivedHandler, nextStream());
    const plain: Phase[] = [];
    const derived: Phase[] = [];
    const stateWritesBefore = counted.get('DerivedStateWrites') ?? 0;
    const rewritesBefore = counted.get('DerivedLateRewrites') ?? 0;
    for (let round = 0; round < ROUNDS; round++) {
      plain.push(await drive(plainHandler, nextStream()));
      derived.push(await drive(derivedHandler, nextStream()));
    }
    const stateWrites = (counted.get('DerivedStateWrites') ?? 0) - stateWritesBefore;
    const rewrites = (counted.get('DerivedLateRewrites') ?? 0) - rewritesBefore;
    const p = sumPhases(plain);
    const d = sumPhases(derived);
    const ratio = perSecond(d) / perSecond(p);
    const rows: BenchRow[] = [
      {
        metric: 'Ingest without derived features (DERIVED_FEATURES=off)',
        value: `${formatNumber(perSecond(p))} records/s`,
      },
      {
        metric: 'Ingest with derived features (card velocities, state in the store)',
        value: `${formatNumber(perSecond(d))} records/s`,
      },
      {
        metric: 'With / without',
        value: `${formatNumber(ratio * 100, 1)} %`,
      },
      {
        metric: 'Client CPU per record, with / without',
        value: `${formatNumber(cpuPerRecord(d))} µs / ${formatNumber(cpuPerRecord(p))} µs`,
      },
      {
        metric: 'Extra writes per record with derived features: state / late rewrites',
        value: `${formatNumber(stateWrites / d.records, 3)} / ${formatNumber(rewrites / d.records, 3)}`,
      },
      {
        metric: 'Failed records (all phases)',
        value: String(p.failures + d.failures),
        goal: '0',
        met: p.failures + d.failures === 0,
      },
    ];
    return {
      title: 'Derived features: ingest throughput with and without',
      method: [
        `Embedded store in a child process on 127.0.0.1; the ingest handler (functions/ingest/index.ts) loaded twice as on two cold starts, DERIVED_FEATURES=off and on, INGEST_CONCURRENCY=${CONCURRENCY}.`,
        `Stream: ${formatNumber(MESSAGES_PER_PHASE)} payment messages per phase (test/derived/paymentsStream.ts: 2,000 cards of which 40 hot, bursts, late and out-of-order events, 2% producer duplicates, 0.2% bad records), partition key = card, ${SHARDS} shards driven in parallel in batches of ${BATCH_SIZE} (no retries).`,
        `After one warm-up phase each, off and on alternate over ${ROUNDS} rounds; each figure is records / time summed over its rounds; bounded to ${MAX_MS_PER_PHASE / 1000} s per phase.`,
        'With derived features each batch also reads the state of its cards (BatchGetRecord, 100 per call) and writes one state record per card; the figures include that.',
      ],
      rows,
    };
  } finally {
    metrics.addMetric = addMetric;
    await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(deadLetterDir, { recursive: true, force: true });
  }
};

export default bench;

if (import.meta.main) await runAlone(bench);

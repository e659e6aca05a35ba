/**
 * The ingest path with derived features against the embedded store: the deployment's groups
 * created through the control plane, a real ingest runtime (keep-alive SDK client, limiter,
 * in-memory dead letters) and Kinesis shards keyed by card, as a producer would write them.
 */
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { KinesisStreamRecord } from 'aws-lambda';
import { ensureFeatureGroups } from '../../local/setup/ensureFeatureGroups.ts';
import { featureGroups } from '../../shared/definitions.ts';
import type { IngestConfig } from '../../shared/ingest/config.ts';
import type { DeadLetter } from '../../shared/ingest/deadLetter.ts';
import type { DeadLetterSink } from '../../shared/ingest/deadLetterSinks.ts';
import { createIngestRuntime, type IngestRuntime } from '../../shared/ingest/ingest.ts';
import type { MetricsSink } from '../../shared/ingest/metrics.ts';
import { createFeatureStoreClient } from '../../shared/runtime/clients.ts';
import type { LogSink } from '../../shared/runtime/powertools.ts';
import { kinesisRecord } from '../helpers/kinesisEvents.ts';

const silent: LogSink = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** Counts metrics by name (the EMF sink is off in tests). */
class CountingMetrics {
  readonly totals = new Map<string, number>();

  /** The sink the ingest runtime takes. */
  get sink(): MetricsSink {
    const sink = {
      addMetric: (name: string, _unit: unknown, value: number) => {
        this.totals.set(name, (this.totals.get(name) ?? 0) + value);
      },
      addDimension: () => sink,
      addDimensions: () => sink,
      publishStoredMetrics: () => sink,
    };
    return sink as never;
  }
}

/** Collects dead letters in memory. */
class MemorySink implements DeadLetterSink {
  readonly destination = 'memory';
  readonly letters: DeadLetter[] = [];
  async deliver(letters: readonly DeadLetter[]) {
    this.letters.push(...letters);
    return letters.map(() => undefined);
  }
}

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Creates every group of the deployment (transactions, cards, merchants, card state). */
async function createDeploymentGroups(sagemaker: SageMakerClient): Promise<void> {
  await ensureFeatureGroups(sagemaker, featureGroups, {
    offlineS3Uri: 's3://local-bucket/offline',
    roleArn: 'arn:aws:iam::000000000000:role/feature-store',
  });
}

interface RuntimeOptions {
  readonly concurrency?: number;
  /** SDK attempts per call (1: every store fault reaches the pipeline as a retry). */
  readonly maxAttempts?: number;
}

interface TestRuntime {
  readonly runtime: IngestRuntime;
  readonly client: SageMakerFeatureStoreRuntimeClient;
  readonly deadLetters: MemorySink;
  readonly metrics: CountingMetrics;
}

/** A real ingest runtime against `endpoint`, bare records routed to fraud-transactions. */
function ingestRuntime(endpoint: string, options: RuntimeOptions = {}): TestRuntime {
  const concurrency = options.concurrency ?? 32;
  const config: IngestConfig = {
    defaultFeatureGroup: 'fraud-transactions',
    concurrency,
    maxAttempts: options.maxAttempts ?? 3,
    retryBaseDelayMs: undefined,
    deadlineMarginMs: 2000,
    deadLetter: { kind: 'file', dir: '/nonexistent' },
  };
  const client = createFeatureStoreClient(
    { maxSockets: concurrency, maxAttempts: options.maxAttempts ?? 3 },
    { endpoint, region: 'us-east-1', credentials }
  );
  const deadLetters = new MemorySink();
  const metrics = new CountingMetrics();
  const runtime = createIngestRuntime(config, {
    client,
    deadLetterSink: deadLetters,
    logger: silent,
    metrics: metrics.sink,
  });
  return { runtime, client, deadLetters, metrics };
}

/** Shard of a partition key: a stable hash, as Kinesis maps keys to hash ranges. */
function shardOf(partitionKey: string, shards: number): string {
  let h = 2166136261;
  for (let i = 0; i < partitionKey.length; i++) {
    h = Math.imul(h ^ partitionKey.charCodeAt(i), 16777619);
  }
  return `shardId-${String((h >>> 0) % shards).padStart(12, '0')}`;
}

/** Producer messages into per-shard Kinesis records, in order, with increasing sequence numbers. */
function toShards(
  messages: readonly { partitionKey: string; data: string }[],
  shards: number
): Map<string, KinesisStreamRecord[]> {
  const out = new Map<string, KinesisStreamRecord[]>();
  let sequence = 0n;
  for (const message of messages) {
    const shardId = shardOf(message.partitionKey, shards);
    const list = out.get(shardId) ?? [];
    sequence += 1n;
    list.push(
      kinesisRecord(Buffer.from(message.data, 'utf8').toString('base64'), {
        shardId,
        partitionKey: message.partitionKey,
        sequenceNumber: (49_590_000_000_000_000_000_000_000_000_000n + sequence).toString(),
      })
    );
    out.set(shardId, list);
  }
  return out;
}

export type { TestRuntime };
export {
  CountingMetrics,
  createDeploymentGroups,
  ingestRuntime,
  MemorySink,
  shardOf,
  silent,
  toShards,
};

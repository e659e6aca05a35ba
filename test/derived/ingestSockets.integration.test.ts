/**
 * The ingest function's calls against a slow store, through the client and limiter the function
 * builds: the derived step's state reads (BatchGetRecord) and the BatchWriteRecord writes share
 * one client, whose agent has as many sockets as INGEST_CONCURRENCY. No call may wait for a
 * socket: the wait counts against the client's request and connection timeouts, so a write queued
 * behind reads would fail as a timeout. Two batches at once, as the local stack's two shards
 * invoke one runtime in one process.
 */
import type { KinesisStreamRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestConfig } from '../../shared/ingest/config.ts';
import { ingestWithDerivedFeatures } from '../../shared/ingest/derived.ts';
import { createIngestRuntime } from '../../shared/ingest/ingest.ts';
import { countCallsInFlight } from '../helpers/callsInFlight.ts';
import { jsonData, kinesisEvent, kinesisRecord } from '../helpers/kinesisEvents.ts';
import { startTestStore, type TestStore } from '../helpers/store.ts';
import { CountingMetrics, createDeploymentGroups, MemorySink, silent } from './harness.ts';

const CONCURRENCY = 4;
/** Cards per batch: three BatchGetRecord calls of state (100 ids each) per batch. */
const CARDS = 250;

/** One payment on a card of its own, a minute ago. */
function payment(shard: string, i: number): KinesisStreamRecord {
  const card = `sockets-${shard}-${i}`;
  const value = {
    transaction_id: `${card}-tx`,
    event_time: new Date(Date.now() - 60_000).toISOString(),
    card_id: card,
    merchant_id: 'merchant-1',
    amount: 10,
    currency: 'EUR',
    channel: 'pos',
  };
  return kinesisRecord(jsonData(value), { shardId: `shardId-${shard}`, partitionKey: card });
}

describe('Function: ingestWithDerivedFeatures() through the client the ingest function builds, on a slow store', () => {
  let store: TestStore;
  const saved = { ...process.env };

  beforeAll(async () => {
    store = await startTestStore();
    await createDeploymentGroups(store.sagemaker);
    process.env.AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME = store.store.endpoint;
  });

  afterAll(async () => {
    process.env = saved;
    await store?.close();
  });

  it('never has more calls in flight, reads and writes of two batches together, than the client has sockets', async () => {
    // Prepare: every call answers after 50 ms, so calls pile up as far as the runtime lets them.
    store.store.setFaults({ latencyMs: 50 });
    const config: IngestConfig = {
      defaultFeatureGroup: 'fraud-transactions',
      concurrency: CONCURRENCY,
      maxAttempts: 3,
      retryBaseDelayMs: undefined,
      deadlineMarginMs: 2000,
      deadLetter: { kind: 'file', dir: store.dataDir },
    };
    const runtime = createIngestRuntime(config, {
      deadLetterSink: new MemorySink(),
      logger: silent,
      metrics: new CountingMetrics().sink,
    });
    const client = runtime.client;
    const calls = countCallsInFlight(client);
    const batches = ['a', 'b'].map((shard) =>
      kinesisEvent(Array.from({ length: CARDS }, (_, i) => payment(shard, i)))
    );
    try {
      // Act
      const responses = await Promise.all(
        batches.map((batch) => ingestWithDerivedFeatures(batch, runtime))
      );
      // Assess
      const sockets = calls.sockets();
      expect(responses.map((r) => r.batchItemFailures)).toEqual([[], []]);
      expect(sockets).toBe(CONCURRENCY);
      expect(runtime.limit.concurrency).toBe(CONCURRENCY);
      expect(calls.most()).toBeLessThanOrEqual(CONCURRENCY);
    } finally {
      store.store.setFaults({});
      client.destroy();
    }
  });
});

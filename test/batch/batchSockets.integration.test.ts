/**
 * A batch drop's calls against a slow store, through the client the batch function builds: the
 * next run's online reads (BatchGetRecord, 100 ids a call) overlap this run's writes
 * (BatchWriteRecord) on one client, whose agent has BACKFILL_CONCURRENCY sockets. No call may wait
 * for a socket: the wait counts against the client's request and connection timeouts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFeatureGroups } from '../../local/setup/ensureFeatureGroups.ts';
import { createBackfillDependencies } from '../../shared/backfill/dependencies.ts';
import { DropKind } from '../../shared/backfill/objectKey.ts';
import { BatchRowSink } from '../../shared/batch/batchRowSink.ts';
import { cards } from '../../shared/definitions.ts';
import { toRecord } from '../../shared/record/codec.ts';
import { countCallsInFlight } from '../helpers/callsInFlight.ts';
import { recordingEvents } from '../helpers/sinkEvents.ts';
import { startTestStore, type TestStore } from '../helpers/store.ts';

const CONCURRENCY = 8;
/** Five runs of 25 × CONCURRENCY rows, each read in two BatchGetRecord calls. */
const ROWS = 5 * 25 * CONCURRENCY;
const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

describe('Class: BatchRowSink through the client the batch function builds, on a slow store', () => {
  let store: TestStore;
  const saved = { ...process.env };

  beforeAll(async () => {
    store = await startTestStore();
    await ensureFeatureGroups(store.sagemaker, [cards], {
      offlineS3Uri: 's3://local-bucket/offline',
      roleArn: 'arn:aws:iam::000000000000:role/feature-store',
    });
    process.env.AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME = store.store.endpoint;
    process.env.BACKFILL_CONCURRENCY = String(CONCURRENCY);
    process.env.REPORTS_BUCKET = 'reports';
  });

  afterAll(async () => {
    process.env = saved;
    await store?.close();
  });

  it('never has more calls in flight, reads and writes of overlapping runs together, than the client has sockets', async () => {
    // Prepare: every call answers after 50 ms, so calls pile up as far as the sink lets them.
    store.store.setFaults({ latencyMs: 50 });
    const deps = createBackfillDependencies(
      silent,
      { addMetric: () => {} },
      { kind: DropKind.Batch }
    );
    const client = deps.featureStore;
    const calls = countCallsInFlight(client);
    const { seen, events } = recordingEvents({ rejectsUnexpected: true });
    const sink = new BatchRowSink({ client, group: cards, events, concurrency: CONCURRENCY });
    const at = new Date(Date.now() - 60_000).toISOString();
    try {
      // Act
      for (let i = 0; i < ROWS; i++) {
        await sink.add(
          i,
          toRecord(cards, { card_id: `sockets-${i}`, event_time: at, txn_count_7d: i })
        );
      }
      await sink.drain();
      // Assess
      expect(seen.failed).toEqual([]);
      expect(seen.written).toHaveLength(ROWS);
      expect(calls.sockets()).toBe(CONCURRENCY);
      expect(calls.most()).toBeLessThanOrEqual(CONCURRENCY);
    } finally {
      store.store.setFaults({});
      client.destroy();
    }
  });
});

// calendar-fixed: offline writes of fixed instants; no TTL offline.
import {
  PutRecordCommand,
  SageMakerFeatureStoreRuntimeClient,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { OfflineRecordSink } from '../../shared/backfill/recordSink.ts';
import type { SinkEvents } from '../../shared/backfill/sink.ts';
import { cards } from '../../shared/definitions.ts';
import { toRecord } from '../../shared/record/codec.ts';

const store = mockClient(SageMakerFeatureStoreRuntimeClient);
const client = new SageMakerFeatureStoreRuntimeClient({ maxAttempts: 1 });
const encoded = toRecord(cards, {
  card_id: 'c1',
  event_time: '2025-01-01T00:00:00Z',
  txn_count_7d: 3,
});

const unavailable = () =>
  new ServiceUnavailable({ message: 'try later', $metadata: { httpStatusCode: 503 } });

/** Records every outcome the sink reports. */
function recordingEvents() {
  const seen: { written: number[]; rejected: [number, string][]; failed: number[] } = {
    written: [],
    rejected: [],
    failed: [],
  };
  const events: SinkEvents = {
    written: (indices) => seen.written.push(...indices),
    rejected: (index, reason) => seen.rejected.push([index, reason]),
    failed: (indices) => seen.failed.push(...indices),
  };
  return { seen, events };
}

describe('Class: OfflineRecordSink', () => {
  beforeEach(() => {
    store.reset();
  });

  it('writes to the offline store only, one outcome per row', async () => {
    // Prepare
    store.on(PutRecordCommand).resolves({});
    const { seen, events } = recordingEvents();
    const sink = new OfflineRecordSink(client, 4, events);
    // Act
    for (let i = 0; i < 10; i++) await sink.add(i, encoded);
    await sink.drain();
    // Assess
    expect(seen.written.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sink.pending).toBe(0);
    const calls = store.commandCalls(PutRecordCommand);
    expect(calls).toHaveLength(10);
    expect(calls[0]?.args[0].input).toMatchObject({
      FeatureGroupName: 'fraud-cards',
      TargetStores: ['OfflineStore'],
      Record: encoded.record,
    });
  });

  it('turns a ValidationError into a reject and anything else into a failure, with no retry loop of its own', async () => {
    // Prepare
    store
      .on(PutRecordCommand)
      .rejectsOnce(new ValidationError({ message: 'bad record', $metadata: {} }))
      .rejectsOnce(unavailable());
    const { seen, events } = recordingEvents();
    const sink = new OfflineRecordSink(client, 1, events);
    // Act
    await sink.add(0, encoded);
    await sink.add(1, encoded);
    await sink.drain();
    // Assess: one call per row; retries belong to the SDK's retry strategy (shared/runtime/clients.ts).
    expect(seen.rejected).toEqual([[0, 'the store rejected the record: bad record']]);
    expect(seen.failed).toEqual([1]);
    expect(store.commandCalls(PutRecordCommand)).toHaveLength(2);
  });

  it('keeps at most `concurrency` writes in flight', async () => {
    // Prepare
    let inFlight = 0;
    let most = 0;
    store.on(PutRecordCommand).callsFake(async () => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight -= 1;
      return {};
    });
    const { events } = recordingEvents();
    const sink = new OfflineRecordSink(client, 3, events);
    // Act
    for (let i = 0; i < 20; i++) await sink.add(i, encoded);
    await sink.drain();
    // Assess
    expect(most).toBe(3);
  });
});

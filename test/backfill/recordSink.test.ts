// calendar-fixed: offline writes of fixed instants; no TTL offline.
import {
  BatchWriteRecordCommand,
  SageMakerFeatureStoreRuntimeClient,
  ServiceUnavailable,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { OfflineRecordSink } from '../../shared/backfill/recordSink.ts';
import type { SinkEvents } from '../../shared/backfill/sink.ts';
import { cards } from '../../shared/definitions.ts';
import { toRecord } from '../../shared/record/codec.ts';

const store = mockClient(SageMakerFeatureStoreRuntimeClient);
const client = new SageMakerFeatureStoreRuntimeClient({ maxAttempts: 1 });

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

const encodedOf = (i: number) =>
  toRecord(cards, { card_id: `c${i}`, event_time: '2025-01-01T00:00:00Z', txn_count_7d: i });

describe('Class: OfflineRecordSink', () => {
  beforeEach(() => {
    store.reset();
  });

  it('writes offline only with BatchWriteRecord, 25 rows per call, one outcome per row', async () => {
    // Prepare
    store.on(BatchWriteRecordCommand).resolves({ Errors: [], UnprocessedEntries: [] });
    const { seen, events } = recordingEvents();
    const sink = new OfflineRecordSink(client, 4, events);
    // Act
    for (let i = 0; i < 60; i++) await sink.add(i, encodedOf(i));
    await sink.drain();
    // Assess
    expect(seen.written.sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(sink.pending).toBe(0);
    const calls = store.commandCalls(BatchWriteRecordCommand);
    expect(calls.map((c) => c.args[0].input.Entries?.length)).toEqual([25, 25, 10]);
    expect(calls[0]?.args[0].input.Entries?.[0]).toMatchObject({
      FeatureGroupName: 'fraud-cards',
      TargetStores: ['OfflineStore'],
      Record: encodedOf(0).record,
    });
  });

  it('turns a per-entry ValidationError into a reject and a failed call into failures, with no retry loop of its own', async () => {
    // Prepare
    const bad = encodedOf(1);
    store
      .on(BatchWriteRecordCommand)
      .resolvesOnce({
        Errors: [
          {
            Entry: {
              FeatureGroupName: 'fraud-cards',
              Record: bad.record,
              TargetStores: ['OfflineStore'],
            },
            ErrorCode: 'ValidationError',
            ErrorMessage: 'bad record',
          },
        ],
        UnprocessedEntries: [],
      })
      .rejectsOnce(unavailable());
    const { seen, events } = recordingEvents();
    const sink = new OfflineRecordSink(client, 1, events);
    // Act
    await sink.add(0, encodedOf(0));
    await sink.add(1, bad);
    await sink.makeRoom();
    await sink.makeRoom();
    await sink.add(2, encodedOf(2));
    await sink.drain();
    // Assess: retries belong to the SDK's retry strategy (shared/runtime/clients.ts), not the sink.
    expect(seen.written).toEqual([0]);
    expect(seen.rejected).toEqual([
      [1, 'the store rejected the record: ValidationError: bad record'],
    ]);
    expect(seen.failed).toEqual([2]);
    expect(store.commandCalls(BatchWriteRecordCommand)).toHaveLength(2);
  });
});

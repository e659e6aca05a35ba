// calendar-fixed: offline writes of fixed instants; no TTL offline.
import {
  PutRecordCommand,
  SageMakerFeatureStoreRuntimeClient,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { writeOffline } from '../../shared/backfill/offlineWriter.ts';
import { cards } from '../../shared/definitions.ts';
import { toRecord } from '../../shared/record/codec.ts';

const store = mockClient(SageMakerFeatureStoreRuntimeClient);
const client = new SageMakerFeatureStoreRuntimeClient({ maxAttempts: 1 });
const encoded = toRecord(cards, {
  card_id: 'c1',
  event_time: '2025-01-01T00:00:00Z',
  txn_count_7d: 3,
});
const options = { maxAttempts: 3, deadline: Date.now() + 60_000, now: Date.now, backoffMs: 1 };

const unavailable = () =>
  new ServiceUnavailable({ message: 'try later', $metadata: { httpStatusCode: 503 } });

describe('Function: writeOffline()', () => {
  beforeEach(() => {
    store.reset();
  });

  it('writes to the offline store only', async () => {
    // Prepare
    store.on(PutRecordCommand).resolves({});
    // Act
    const outcome = await writeOffline(client, encoded, options);
    // Assess
    expect(outcome).toEqual({ kind: 'written' });
    const calls = store.commandCalls(PutRecordCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toMatchObject({
      FeatureGroupName: 'fraud-cards',
      TargetStores: ['OfflineStore'],
      Record: encoded.record,
    });
  });

  it('retries retryable failures and succeeds', async () => {
    // Prepare
    store.on(PutRecordCommand).rejectsOnce(unavailable()).rejectsOnce(unavailable()).resolves({});
    // Act
    const outcome = await writeOffline(client, encoded, options);
    // Assess
    expect(outcome).toEqual({ kind: 'written' });
    expect(store.commandCalls(PutRecordCommand)).toHaveLength(3);
  });

  it('turns a ValidationError into a reject without retrying', async () => {
    // Prepare
    store
      .on(PutRecordCommand)
      .rejects(new ValidationError({ message: 'bad record', $metadata: {} }));
    // Act
    const outcome = await writeOffline(client, encoded, options);
    // Assess
    expect(outcome).toEqual({
      kind: 'rejected',
      reason: 'the store rejected the record: bad record',
    });
    expect(store.commandCalls(PutRecordCommand)).toHaveLength(1);
  });

  it('reports a failure after the last attempt, and starts no attempt past the deadline', async () => {
    // Prepare
    store.on(PutRecordCommand).rejects(unavailable());
    // Act
    const exhausted = await writeOffline(client, encoded, options);
    const callsAfterExhausted = store.commandCalls(PutRecordCommand).length;
    store.resetHistory();
    const late = await writeOffline(client, encoded, { ...options, deadline: Date.now() - 1 });
    // Assess
    expect(exhausted.kind).toBe('failed');
    expect(callsAfterExhausted).toBe(3);
    expect(late.kind).toBe('failed');
    expect(store.commandCalls(PutRecordCommand)).toHaveLength(1);
  });
});

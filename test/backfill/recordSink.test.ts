// calendar-fixed: offline writes of fixed instants; no TTL offline.
import {
  AccessForbidden,
  BatchWriteRecordCommand,
  type BatchWriteRecordCommandOutput,
  SageMakerFeatureStoreRuntimeClient,
  ServiceUnavailable,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { OfflineRecordSink } from '../../shared/backfill/recordSink.ts';
import { StoreRefusedError } from '../../shared/backfill/sink.ts';
import { cards } from '../../shared/definitions.ts';
import { toRecord } from '../../shared/record/codec.ts';
import { callError, recordingEvents } from '../helpers/sinkEvents.ts';

const store = mockClient(SageMakerFeatureStoreRuntimeClient);
const client = new SageMakerFeatureStoreRuntimeClient({ maxAttempts: 1 });

const unavailable = () =>
  new ServiceUnavailable({ message: 'try later', $metadata: { httpStatusCode: 503 } });

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

/** A BatchWriteRecord answer listing every entry of the call in `Errors` with `code`. */
function everyEntryAnswered(code: string) {
  return (input: { Entries?: unknown[] }): BatchWriteRecordCommandOutput => ({
    Errors: (input.Entries ?? []).map((Entry) => ({
      Entry: Entry as never,
      ErrorCode: code,
      ErrorMessage: 'User: arn:aws:sts::123456789012:assumed-role/skewless-fn/fn is not authorized',
    })),
    UnprocessedEntries: [],
    $metadata: {},
  });
}

describe('Class: OfflineRecordSink, answers no retry changes', () => {
  beforeEach(() => {
    store.reset();
  });

  it.each([
    [
      'a per-entry AccessForbidden',
      'AccessForbidden',
      'the function\'s role needs sagemaker:BatchWriteRecord on "fraud-cards"',
    ],
    [
      'a per-entry ResourceNotFound',
      'ResourceNotFound',
      '"fraud-cards" is not in the feature store: deploy',
    ],
  ])(
    'reports %s as a refusal naming the first record, the group and the code',
    async (_, code, hint) => {
      // Prepare
      store.on(BatchWriteRecordCommand).callsFake(everyEntryAnswered(code));
      const { seen, events } = recordingEvents();
      const sink = new OfflineRecordSink(client, 1, events);
      // Act
      for (let i = 0; i < 3; i++) await sink.add(i, encodedOf(i));
      await sink.drain();
      // Assess
      expect(seen.failed).toEqual([0, 1, 2]);
      expect(seen.errors).toHaveLength(1);
      const error = seen.errors[0] as StoreRefusedError;
      expect(error).toBeInstanceOf(StoreRefusedError);
      expect(error.message).toBe(
        `the feature store refused BatchWriteRecord for record "c0" of feature group "fraud-cards" (${code}) and 2 more ids`
      );
      expect(error.hint).toContain(hint);
      // The store's own words (an IAM text names the role) stay out of the message, in the cause.
      expect(error.message).not.toContain('arn:aws');
      expect(String((error.cause as Error).message)).toContain('not authorized');
    }
  );

  it.each([
    [
      'AccessForbidden (403)',
      () => new AccessForbidden({ message: 'denied', $metadata: { httpStatusCode: 403 } }),
      'AccessForbidden',
    ],
    [
      "IAM's AccessDeniedException (400)",
      () => callError('AccessDeniedException', 400),
      'AccessDeniedException',
    ],
    ['ResourceNotFound (404)', () => callError('ResourceNotFound', 404), 'ResourceNotFound'],
  ])('reports a whole call answered %s as a refusal', async (_, error, code) => {
    // Prepare
    store.on(BatchWriteRecordCommand).rejects(error());
    const { seen, events } = recordingEvents();
    const sink = new OfflineRecordSink(client, 1, events);
    // Act
    await sink.add(0, encodedOf(0));
    await sink.add(1, encodedOf(1));
    await sink.drain();
    // Assess
    expect(seen.failed).toEqual([0, 1]);
    expect(seen.errors[0]).toBeInstanceOf(StoreRefusedError);
    expect((seen.errors[0] as Error).message).toBe(
      `the feature store refused BatchWriteRecord for record "c0" of feature group "fraud-cards" (${code}) and 1 more id`
    );
  });

  it.each([
    [
      'a whole call throttled (429)',
      () => store.on(BatchWriteRecordCommand).rejects(callError('ThrottlingException', 429)),
    ],
    ['a whole call answered 503', () => store.on(BatchWriteRecordCommand).rejects(unavailable())],
    [
      'a connection reset',
      () =>
        store
          .on(BatchWriteRecordCommand)
          .rejects(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })),
    ],
    [
      'throttled entries',
      () => store.on(BatchWriteRecordCommand).callsFake(everyEntryAnswered('ThrottlingException')),
    ],
    [
      'entries answered InternalFailure',
      () => store.on(BatchWriteRecordCommand).callsFake(everyEntryAnswered('InternalFailure')),
    ],
    [
      'unprocessed entries',
      () =>
        store.on(BatchWriteRecordCommand).callsFake((input: { Entries?: unknown[] }) => ({
          Errors: [],
          UnprocessedEntries: input.Entries,
        })),
    ],
  ])('keeps %s a plain failure, retried from the checkpoint', async (_, fault) => {
    // Prepare
    fault();
    const { seen, events } = recordingEvents();
    const sink = new OfflineRecordSink(client, 1, events);
    // Act
    await sink.add(0, encodedOf(0));
    await sink.drain();
    // Assess
    expect(seen.failed).toEqual([0]);
    expect(seen.errors[0]).toBeInstanceOf(Error);
    expect(seen.errors[0]).not.toBeInstanceOf(StoreRefusedError);
  });
});

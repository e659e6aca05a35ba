/**
 * The batch drop's online reads when the store answers its BatchGetRecord calls differently, call
 * by call (aws-sdk-client-mock: which call is refused or throttled is injected). The embedded
 * store never refuses a call, and a run reads its ids in calls of 100, so one run's read can be
 * refused in one call and answered in another. test/batch/batch.integration.test.ts proves the
 * refusal of every call through the real SDK over HTTP.
 */
import {
  AccessForbidden,
  BatchGetRecordCommand,
  type BatchGetRecordCommandInput,
  BatchWriteRecordCommand,
  SageMakerFeatureStoreRuntimeClient,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { StoreRefusedError } from '../../shared/backfill/sink.ts';
import { BatchRowSink } from '../../shared/batch/batchRowSink.ts';
import { cards } from '../../shared/definitions.ts';
import { type EncodedRecord, encodeRecord } from '../../shared/record/codec.ts';
import { callError, recordingEvents } from '../helpers/sinkEvents.ts';

const store = mockClient(SageMakerFeatureStoreRuntimeClient);
const client = new SageMakerFeatureStoreRuntimeClient({ maxAttempts: 1 });

function card(i: number): EncodedRecord {
  const encoded = encodeRecord(cards, {
    card_id: `c${i}`,
    event_time: new Date(Date.now() - 3_600_000),
    txn_count_7d: i,
  });
  if (!encoded.ok) throw new Error(JSON.stringify(encoded.problems));
  return encoded.value;
}

/** The first id a BatchGetRecord call reads: which of the run's calls of 100 ids it is. */
const firstIdOf = (input: BatchGetRecordCommandInput) =>
  input.Identifiers?.[0]?.RecordIdentifiersValueAsString?.[0];

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('Class: BatchRowSink, online reads refused call by call', () => {
  beforeEach(() => {
    store.reset();
    store.on(BatchWriteRecordCommand).resolves({ Errors: [], UnprocessedEntries: [] });
  });

  it.each([
    [
      'AccessForbidden (403)',
      () => new AccessForbidden({ message: 'denied', $metadata: { httpStatusCode: 403 } }),
      'AccessForbidden',
      'the function\'s role needs sagemaker:BatchGetRecord on "fraud-cards"',
    ],
    [
      'ResourceNotFound (404)',
      () => callError('ResourceNotFound', 404),
      'ResourceNotFound',
      '"fraud-cards" is not in the feature store: deploy',
    ],
    [
      'ValidationError (400)',
      () => callError('ValidationError', 400),
      'ValidationError',
      'check the function\'s role and the feature group "fraud-cards"',
    ],
  ])(
    'fails the ids of a call refused with %s as refused while another call answers and a third is throttled',
    async (_, refusal, code, hint) => {
      // Prepare: one run of 300 rows (12 calls in flight × 25) reads its ids in three calls:
      // c0… answers (no live record), c100… is refused, c200… is throttled.
      store.on(BatchGetRecordCommand).callsFake((input: BatchGetRecordCommandInput) => {
        if (firstIdOf(input) === 'c100') throw refusal();
        if (firstIdOf(input) === 'c200') throw callError('ThrottlingException', 429);
        return { Records: [], Errors: [], UnprocessedIdentifiers: [] };
      });
      const { seen, events } = recordingEvents({ rejectsUnexpected: true });
      const sink = new BatchRowSink({ client, group: cards, events, concurrency: 12 });
      // Act
      for (const i of range(0, 300)) await sink.add(i, card(i));
      await sink.drain();
      // Assess: the answered call's rows are written; the refused call's rows fail as a
      // refusal naming its first id and the code, as when every call is refused; the throttled
      // call's rows stay a plain retry.
      expect(store.commandCalls(BatchGetRecordCommand)).toHaveLength(3);
      expect(seen.written.sort((a, b) => a - b)).toEqual(range(0, 100));
      const refused = seen.failures.filter((f) => f.error instanceof StoreRefusedError);
      expect(refused).toHaveLength(1);
      expect(refused[0]?.indices).toEqual(range(100, 200));
      const error = refused[0]?.error as StoreRefusedError;
      expect(error.message).toBe(
        `the feature store refused BatchGetRecord for record "c100" of feature group "fraud-cards" (${code}) and 99 more ids`
      );
      expect(error.hint).toContain(hint);
      const retried = seen.failures.filter((f) => !(f.error instanceof StoreRefusedError));
      expect(retried.flatMap((f) => f.indices)).toEqual(range(200, 300));
      expect(String((retried[0]?.error as Error | undefined)?.message)).toMatch(
        /^OnlineReadFailed: the online value of "c2\d\d" could not be read: ThrottlingException: /
      );
    }
  );

  it('keeps a read whose calls all fail transiently (throttled, 503) a plain retry', async () => {
    // Prepare
    store.on(BatchGetRecordCommand).callsFake((input: BatchGetRecordCommandInput) => {
      throw firstIdOf(input) === 'c0'
        ? callError('ThrottlingException', 429)
        : callError('ServiceUnavailable', 503);
    });
    const { seen, events } = recordingEvents({ rejectsUnexpected: true });
    const sink = new BatchRowSink({ client, group: cards, events, concurrency: 8 });
    // Act
    for (const i of range(0, 200)) await sink.add(i, card(i));
    await sink.drain();
    // Assess
    expect(seen.written).toEqual([]);
    expect(seen.failures.flatMap((f) => f.indices).sort((a, b) => a - b)).toEqual(range(0, 200));
    expect(seen.failures.some((f) => f.error instanceof StoreRefusedError)).toBe(false);
  });
});

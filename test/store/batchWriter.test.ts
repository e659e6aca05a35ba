/**
 * BatchWriteRecord writer with the store mocked (aws-sdk-client-mock): packing, per-entry outcome
 * mapping, re-sends under the client's retry strategy, whole-call failures. The same writer is
 * proven over HTTP against the embedded store in batchWriter.integration.test.ts.
 */
import {
  BatchWriteRecordCommand,
  type BatchWriteRecordCommandInput,
  type BatchWriteRecordCommandOutput,
  SageMakerFeatureStoreRuntimeClient,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { StandardRetryStrategy } from '@smithy/core/retry';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { cards, transactions } from '../../shared/definitions.ts';
import { toRecord } from '../../shared/record/codec.ts';
import { featureStoreRetryStrategy } from '../../shared/runtime/clients.ts';
import {
  type BatchWriteEntry,
  packBatchWriteCalls,
  writeBatch,
} from '../../shared/store/batchWriter.ts';

const store = mockClient(SageMakerFeatureStoreRuntimeClient);

function client(
  maxAttempts = 3,
  retryStrategy = featureStoreRetryStrategy({ maxAttempts, retryBaseDelayMs: 1 })
): SageMakerFeatureStoreRuntimeClient {
  return new SageMakerFeatureStoreRuntimeClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    retryStrategy,
  });
}

/** A client and its retry strategy, whose client-wide quota a test reads (`getCapacity`). */
function clientWithQuota(): {
  client: SageMakerFeatureStoreRuntimeClient;
  quota: StandardRetryStrategy;
} {
  const quota = featureStoreRetryStrategy({
    maxAttempts: 3,
    retryBaseDelayMs: 1,
  }) as StandardRetryStrategy;
  return { client: client(3, quota), quota };
}

const now = new Date();
function entry(i: number, extra: Partial<BatchWriteEntry<number>> = {}): BatchWriteEntry<number> {
  return {
    ref: i,
    record: toRecord(cards, {
      card_id: `card-${i}`,
      event_time: now.toISOString(),
      txn_count_7d: i,
    } as never),
    ...extra,
  };
}

/** The wire entry the writer sends for `e` (what the store echoes back). */
function wire(e: BatchWriteEntry<number>) {
  return { FeatureGroupName: e.record.featureGroup, Record: e.record.record };
}

/**
 * The store's `Errors` item rejecting a payment echoed normalised (its amount written otherwise,
 * not byte-identical to what was sent).
 */
function amountRejectedNormalised(
  payment: ReturnType<typeof toRecord>,
  amount: string
): NonNullable<BatchWriteRecordCommandOutput['Errors']>[number] {
  const echo = payment.record.map((v) =>
    v.FeatureName === 'amount' ? { ...v, ValueAsString: amount } : v
  );
  return {
    Entry: { FeatureGroupName: transactions.name, Record: echo },
    ErrorCode: 'ValidationError',
    ErrorMessage: 'amount out of range',
  };
}

beforeEach(() => {
  store.reset();
});

describe('packBatchWriteCalls', () => {
  it('cuts at 25 entries and at the request byte bound, in order, never an empty call', () => {
    const entries = Array.from({ length: 60 }, (_, i) => entry(i));
    expect(packBatchWriteCalls(entries).map((c) => c.length)).toEqual([25, 25, 10]);
    expect(packBatchWriteCalls(entries, 10).map((c) => c.length)).toEqual([10, 10, 10, 10, 10, 10]);
    const oneEach = packBatchWriteCalls(entries.slice(0, 3), 25, 1);
    expect(oneEach.map((c) => c.map((e) => e.ref))).toEqual([[0], [1], [2]]);
    expect(packBatchWriteCalls([])).toEqual([]);
  });
});

describe('writeBatch', () => {
  it('maps success, validation errors and unprocessed entries back to their refs', async () => {
    const entries = Array.from({ length: 30 }, (_, i) => entry(i));
    const seen: number[] = [];
    store.on(BatchWriteRecordCommand).callsFake((input: BatchWriteRecordCommandInput) => {
      const sent = input.Entries ?? [];
      seen.push(sent.length);
      const ids = sent.map(
        (e) => e.Record?.find((v) => v.FeatureName === 'card_id')?.ValueAsString
      );
      // First round: card-3 is invalid, card-4 throttled, card-5 unprocessed; re-sends succeed.
      return {
        Errors: sent
          .filter((_, k) => ids[k] === 'card-3' || (ids[k] === 'card-4' && seen.length <= 2))
          .map((e) => ({
            Entry: e,
            ErrorCode: e.Record?.some((v) => v.ValueAsString === 'card-3')
              ? 'ValidationError'
              : 'ThrottlingException',
            ErrorMessage: 'per entry',
          })),
        UnprocessedEntries: sent.filter((_, k) => ids[k] === 'card-5' && seen.length <= 2),
      };
    });
    const outcomes = await writeBatch(client(), entries);
    expect(seen).toEqual([25, 5, 2]);
    expect(outcomes.map((o) => o.ref)).toEqual(entries.map((e) => e.ref));
    expect(outcomes[3]).toMatchObject({ status: 'rejected', code: 'ValidationError' });
    expect(outcomes.filter((o) => o.status === 'written')).toHaveLength(29);
    expect(outcomes[4]?.status).toBe('written');
    expect(outcomes[5]?.status).toBe('written');
  });

  it('reports entries the store keeps throttling as retry once the strategy gives up', async () => {
    const entries = [entry(0), entry(1)];
    let calls = 0;
    store.on(BatchWriteRecordCommand).callsFake((input: BatchWriteRecordCommandInput) => {
      calls++;
      return { Errors: [], UnprocessedEntries: input.Entries?.slice(0, 1) };
    });
    const outcomes = await writeBatch(client(3), entries);
    // One first call, then 2 re-sends of the unprocessed entry: 3 attempts in all.
    expect(calls).toBe(3);
    expect(outcomes[0]).toMatchObject({ status: 'retry', code: 'Unprocessed' });
    expect(outcomes[1]?.status).toBe('written');
  });

  it('does not re-send entries when retryEntries is false', async () => {
    store.on(BatchWriteRecordCommand).resolves({
      Errors: [{ Entry: wire(entry(0)), ErrorCode: 'InternalFailure', ErrorMessage: 'oops' }],
    });
    const outcomes = await writeBatch(client(), [entry(0)], { retryEntries: false });
    expect(store.commandCalls(BatchWriteRecordCommand)).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ status: 'retry', code: 'InternalFailure' });
  });

  it('a whole call failing with 5xx makes every entry of that call retry, others written', async () => {
    const entries = Array.from({ length: 30 }, (_, i) => entry(i));
    store
      .on(BatchWriteRecordCommand)
      .rejectsOnce(new ServiceUnavailable({ message: 'down', $metadata: {} }))
      .resolves({ Errors: [], UnprocessedEntries: [] });
    const outcomes = await writeBatch(client(), entries, { concurrency: 1 });
    expect(outcomes.slice(0, 25).every((o) => o.status === 'retry')).toBe(true);
    expect(outcomes[0]).toMatchObject({ code: 'ServiceUnavailable', message: 'down' });
    expect(outcomes.slice(25).every((o) => o.status === 'written')).toBe(true);
  });

  it('marks refused an entry the store still answers with a code no retry changes after the re-sends, never a throttled, failed or unprocessed one', async () => {
    const entries = [entry(0), entry(1), entry(2), entry(3), entry(4)];
    const codes = ['AccessForbidden', 'ResourceNotFound', 'ThrottlingException', 'InternalFailure'];
    store.on(BatchWriteRecordCommand).callsFake((input: BatchWriteRecordCommandInput) => ({
      Errors: (input.Entries ?? []).flatMap((e) => {
        const i = Number(e.Record?.find((v) => v.FeatureName === 'txn_count_7d')?.ValueAsString);
        return i < codes.length ? [{ Entry: e, ErrorCode: codes[i], ErrorMessage: 'no' }] : [];
      }),
      UnprocessedEntries: (input.Entries ?? []).filter((e) =>
        e.Record?.some((v) => v.ValueAsString === 'card-4')
      ),
    }));
    const outcomes = await writeBatch(client(2), entries);
    // The refused entries settle at the first answer; the others are re-sent once (2 attempts).
    expect(store.commandCalls(BatchWriteRecordCommand)).toHaveLength(2);
    expect(
      outcomes.map((o) => [o.status, o.status === 'written' ? '' : o.code, 'refused' in o])
    ).toEqual([
      ['retry', 'AccessForbidden', true],
      ['retry', 'ResourceNotFound', true],
      ['retry', 'ThrottlingException', false],
      ['retry', 'InternalFailure', false],
      ['retry', 'Unprocessed', false],
    ]);
  });

  it.each([['AccessForbidden'], ['AccessDeniedException'], ['ResourceNotFound']])(
    'does not re-send an entry the store answered %s (the same answer would come back), only the throttled ones',
    async (code) => {
      // Prepare: entry 0 refused at every attempt, entry 1 throttled once, entry 2 written.
      const sent: string[][] = [];
      let throttled = false;
      store.on(BatchWriteRecordCommand).callsFake((input: BatchWriteRecordCommandInput) => {
        const ids = (input.Entries ?? []).map((e) => String(e.Record?.[0]?.ValueAsString));
        sent.push(ids);
        const Errors = (input.Entries ?? []).flatMap((e, i) => {
          if (ids[i] === 'card-0') return [{ Entry: e, ErrorCode: code, ErrorMessage: 'no' }];
          if (ids[i] !== 'card-1' || throttled) return [];
          throttled = true;
          return [{ Entry: e, ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }];
        });
        return { Errors, UnprocessedEntries: [] };
      });
      // Act
      const outcomes = await writeBatch(client(3), [entry(0), entry(1), entry(2)]);
      // Assess: only the throttled entry went out again; the refused one is still a `retry`
      // (ingest reports its Kinesis record for a retry: the stream stalls and alarms).
      expect(sent).toEqual([['card-0', 'card-1', 'card-2'], ['card-1']]);
      expect(outcomes.map((o) => o.status)).toEqual(['retry', 'written', 'written']);
      expect(outcomes[0]).toMatchObject({ code, refused: true });
    }
  );

  it.each([
    ['an AccessForbidden entry', 'refused'],
    ['a ValidationError entry', 'rejected'],
    ['a whole call failing with 503', 'failed'],
  ])(
    'does not credit the retry quota when the re-sent entry ends as %s, only when it is written',
    async (_, ending) => {
      // Prepare: card-0 throttled on the first call; its re-send answered as `ending`.
      const { client: quotaClient, quota } = clientWithQuota();
      let calls = 0;
      store.on(BatchWriteRecordCommand).callsFake((input: BatchWriteRecordCommandInput) => {
        calls++;
        const first = input.Entries?.[0];
        if (calls === 1)
          return {
            Errors: [{ Entry: first, ErrorCode: 'ThrottlingException', ErrorMessage: 'slow' }],
          };
        if (ending === 'failed') throw new ServiceUnavailable({ message: 'down', $metadata: {} });
        const code = ending === 'refused' ? 'AccessForbidden' : 'ValidationError';
        return { Errors: [{ Entry: first, ErrorCode: code, ErrorMessage: 'no' }] };
      });
      const full = quota.getCapacity();
      // Act
      const outcomes = await writeBatch(quotaClient, [entry(0), entry(1)]);
      // Assess: the one re-send spent the throttling retry cost, and nothing gave it back.
      expect(calls).toBe(2);
      expect(outcomes.map((o) => o.status)).toEqual([
        ending === 'rejected' ? 'rejected' : 'retry',
        'written',
      ]);
      expect(quota.getCapacity()).toBeLessThan(full);
    }
  );

  it('credits nothing when no entry was re-sent: the SDK credits each call that succeeded itself', async () => {
    // Prepare: a quota below full (a throttled call elsewhere spent a retry's cost)
    const { client: quotaClient, quota } = clientWithQuota();
    const elsewhere = await quota.acquireInitialRetryToken('elsewhere');
    await quota.refreshRetryTokenForRetry(elsewhere, { errorType: 'THROTTLING' });
    const spent = quota.getCapacity();
    store.on(BatchWriteRecordCommand).resolves({ Errors: [] });
    // Act
    const outcomes = await writeBatch(quotaClient, [entry(0), entry(1)]);
    // Assess: written at the first call, and the quota is as it was (the mock has no SDK
    // middleware, whose own credit for the call is not this writer's to give)
    expect(outcomes.map((o) => o.status)).toEqual(['written', 'written']);
    expect(quota.getCapacity()).toBe(spent);
  });

  it('credits the retry quota back once the re-sent entry is written', async () => {
    const { client: quotaClient, quota } = clientWithQuota();
    store
      .on(BatchWriteRecordCommand)
      .resolvesOnce({ UnprocessedEntries: [wire(entry(0))] })
      .resolves({ Errors: [] });
    const full = quota.getCapacity();
    const outcomes = await writeBatch(quotaClient, [entry(0), entry(1)]);
    expect(outcomes.map((o) => o.status)).toEqual(['written', 'written']);
    expect(quota.getCapacity()).toBe(full);
  });

  it.each([
    ['AccessForbidden', 403, true],
    ['AccessDeniedException', 400, true],
    ['ResourceNotFound', 404, true],
    ['ThrottlingException', 429, false],
    ['InternalFailure', 500, false],
  ])(
    'a whole call answered %s (%i) makes its entries retry, refused: %s',
    async (name, status, refused) => {
      store
        .on(BatchWriteRecordCommand)
        .rejects(Object.assign(new Error('no'), { name, $metadata: { httpStatusCode: status } }));
      const outcomes = await writeBatch(client(1), [entry(0), entry(1)]);
      expect(outcomes.map((o) => o.status)).toEqual(['retry', 'retry']);
      expect(outcomes.map((o) => o.status !== 'written' && o.refused === true)).toEqual([
        refused,
        refused,
      ]);
    }
  );

  it('a whole call rejected with ValidationError is split to name the bad entry', async () => {
    const entries = [entry(0), entry(1), entry(2)];
    store.on(BatchWriteRecordCommand).callsFake((input: BatchWriteRecordCommandInput) => {
      const bad = input.Entries?.some((e) => e.Record?.some((v) => v.ValueAsString === 'card-1'));
      if (bad) throw new ValidationError({ message: 'card-1 is wrong', $metadata: {} });
      return { Errors: [], UnprocessedEntries: [] };
    });
    const outcomes = await writeBatch(client(), entries);
    expect(outcomes.map((o) => o.status)).toEqual(['written', 'rejected', 'written']);
    expect(outcomes[1]).toMatchObject({ code: 'ValidationError', message: 'card-1 is wrong' });
    expect(store.commandCalls(BatchWriteRecordCommand)).toHaveLength(4);
  });

  it('sends TargetStores and TTL per entry', async () => {
    store.on(BatchWriteRecordCommand).resolves({ Errors: [], UnprocessedEntries: [] });
    await writeBatch(client(), [
      entry(0, { targetStores: ['OfflineStore'] }),
      entry(1, { ttl: { unit: 'Days', value: 2 } }),
    ]);
    const sent = store.commandCalls(BatchWriteRecordCommand)[0]?.args[0].input.Entries;
    expect(sent?.[0]?.TargetStores).toEqual(['OfflineStore']);
    expect(sent?.[0]?.TtlDuration).toBeUndefined();
    expect(sent?.[1]?.TtlDuration).toEqual({ Unit: 'Days', Value: 2 });
  });

  it('an aborted signal ends every entry as retry without waiting', async () => {
    const controller = new AbortController();
    store.on(BatchWriteRecordCommand).callsFake((input: BatchWriteRecordCommandInput) => {
      controller.abort();
      return { Errors: [], UnprocessedEntries: input.Entries };
    });
    const outcomes = await writeBatch(client(10), [entry(0), entry(1)], {
      abortSignal: controller.signal,
    });
    expect(store.commandCalls(BatchWriteRecordCommand)).toHaveLength(1);
    expect(outcomes.map((o) => o.status)).toEqual(['retry', 'retry']);
  });

  it('matches an echo that is not byte-identical by its identifier and event time features, not by a value another feature holds', async () => {
    // Prepare: two payments at the same instant; the second one's card_id is the first one's
    // transaction id. The store rejects the second and echoes it normalised (amount 10.50).
    const at = new Date().toISOString();
    const first = toRecord(transactions, { transaction_id: 'tx-2', event_time: at, amount: 3 });
    const second = toRecord(transactions, {
      transaction_id: 'tx-1',
      event_time: at,
      card_id: 'tx-2',
      amount: 10.5,
    });
    store
      .on(BatchWriteRecordCommand)
      .resolves({ Errors: [amountRejectedNormalised(second, '10.50')] });
    // Act
    const outcomes = await writeBatch(client(), [
      { ref: 0, record: first },
      { ref: 1, record: second },
    ]);
    // Assess: the echoed entry is the one rejected; the other one was written.
    expect(outcomes.map((o) => o.status)).toEqual(['written', 'rejected']);
  });

  it('matches byte-identical echoes before falling back, so a fallback never takes an entry another echo names exactly', async () => {
    // Prepare: two versions of one payment at one instant. The store lists the second, normalised
    // (amount 5.0), as rejected, and the first, byte-identical, as unprocessed.
    const at = new Date().toISOString();
    const first = toRecord(transactions, { transaction_id: 'tx-1', event_time: at, amount: 3 });
    const second = toRecord(transactions, { transaction_id: 'tx-1', event_time: at, amount: 5 });
    store.on(BatchWriteRecordCommand).resolves({
      Errors: [amountRejectedNormalised(second, '5.0')],
      UnprocessedEntries: [{ FeatureGroupName: transactions.name, Record: first.record }],
    });
    // Act
    const outcomes = await writeBatch(
      client(),
      [
        { ref: 0, record: first },
        { ref: 1, record: second },
      ],
      { retryEntries: false }
    );
    // Assess: the first is the unprocessed one, the second the rejected one; neither 'written'
    expect(outcomes.map((o) => o.status)).toEqual(['retry', 'rejected']);
  });

  it('re-sends each entry alone when an echo that is not byte-identical fits two of them (no guess)', async () => {
    // Prepare: two versions of one payment at one instant, neither echoed byte for byte. The
    // store rejects the second (amount 5) and echoes it normalised (5.0): by identifier and event
    // time the echo fits both; taking the first would reject the good version and call the bad
    // one written, a record in neither the store nor the rejects.
    const at = new Date().toISOString();
    const first = toRecord(transactions, { transaction_id: 'tx-1', event_time: at, amount: 3 });
    const second = toRecord(transactions, { transaction_id: 'tx-1', event_time: at, amount: 5 });
    const calls: string[][] = [];
    store.on(BatchWriteRecordCommand).callsFake((input: BatchWriteRecordCommandInput) => {
      const amounts = (input.Entries ?? []).map(
        (e) => e.Record?.find((v) => v.FeatureName === 'amount')?.ValueAsString ?? ''
      );
      calls.push(amounts);
      return { Errors: amounts.includes('5') ? [amountRejectedNormalised(second, '5.0')] : [] };
    });
    // Act
    const outcomes = await writeBatch(client(), [
      { ref: 0, record: first },
      { ref: 1, record: second },
    ]);
    // Assess: each sent again in a call of its own, in order, whose answer can only be its own
    expect(outcomes.map((o) => o.status)).toEqual(['written', 'rejected']);
    expect(calls).toEqual([['3', '5'], ['3'], ['5']]);
  });

  it('takes a second echo fitting the entries sent again alone as theirs, leaving the others written', async () => {
    // Prepare: both versions echoed normalised (throttled), beside another payment written at once
    const at = new Date().toISOString();
    const first = toRecord(transactions, { transaction_id: 'tx-1', event_time: at, amount: 3 });
    const second = toRecord(transactions, { transaction_id: 'tx-1', event_time: at, amount: 5 });
    const other = toRecord(transactions, { transaction_id: 'tx-2', event_time: at, amount: 7 });
    let call = 0;
    store.on(BatchWriteRecordCommand).callsFake(() => {
      call += 1;
      if (call > 1) return { Errors: [] };
      const throttled = (payment: typeof first, amount: string) => ({
        ...amountRejectedNormalised(payment, amount),
        ErrorCode: 'ThrottlingException',
      });
      return { Errors: [throttled(first, '3.0'), throttled(second, '5.0')] };
    });
    // Act
    const outcomes = await writeBatch(client(), [
      { ref: 0, record: first },
      { ref: 1, record: second },
      { ref: 2, record: other },
    ]);
    // Assess: the two sent again alone; the other payment not taken for unattributed
    expect(outcomes.map((o) => o.status)).toEqual(['written', 'written', 'written']);
    expect(store.commandCalls(BatchWriteRecordCommand)).toHaveLength(3);
  });

  it('an answer listing an entry that matches none sent leaves the others unknown (retry)', async () => {
    store.on(BatchWriteRecordCommand).resolves({
      Errors: [
        {
          Entry: { FeatureGroupName: 'other', Record: [] },
          ErrorCode: 'ValidationError',
          ErrorMessage: '?',
        },
      ],
    });
    const outcomes = await writeBatch(client(), [entry(0)]);
    expect(outcomes[0]).toMatchObject({ status: 'retry', code: 'Unattributed' });
  });
});

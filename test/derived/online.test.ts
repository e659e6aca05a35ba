/**
 * Derived features on the ingest path, against the embedded store: values written with the
 * record, late events rewriting the records they change, replayed batches that never
 * double-count, the too-late and conflict rules, and the entity-level failure rule that keeps the
 * state and the written records in step.
 */
import {
  BatchGetRecordCommand,
  BatchWriteRecordCommand,
  PutRecordCommand,
  type SageMakerFeatureStoreRuntimeClient,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { KinesisStreamRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transactions } from '../../shared/definitions.ts';
import { ingestWithDerivedFeatures } from '../../shared/ingest/derived.ts';
import type { LogSink } from '../../shared/runtime/powertools.ts';
import { getOnlineRecord } from '../../shared/store/onlineReader.ts';
import { kinesisEvent, kinesisRecord } from '../helpers/kinesisEvents.ts';
import { refuseReads, startTestStore, type TestStore } from '../helpers/store.ts';
import { createDeploymentGroups, ingestRuntime, type TestRuntime } from './harness.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** A recent base time: the transactions group expires records 30 days after their event time. */
const BASE = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;

let test: TestStore;
let sequence = 0;

beforeAll(async () => {
  test = await startTestStore();
  await createDeploymentGroups(test.sagemaker);
});

afterAll(async () => {
  await test?.close();
});

function payment(id: string, card: string, offsetMs: number, amount = 10) {
  return {
    transaction_id: id,
    event_time: new Date(BASE + offsetMs).toISOString(),
    card_id: card,
    merchant_id: 'merchant-1',
    amount,
    currency: 'EUR',
    channel: 'pos',
  };
}

function record(value: unknown, partitionKey: string): KinesisStreamRecord {
  sequence += 1;
  return kinesisRecord(Buffer.from(JSON.stringify(value)).toString('base64'), {
    partitionKey,
    sequenceNumber: String(10n ** 30n + BigInt(sequence)),
  });
}

async function online(client: SageMakerFeatureStoreRuntimeClient, id: string) {
  const found = await getOnlineRecord(client, transactions, id, undefined);
  return found?.values as Record<string, unknown> | undefined;
}

function counts(values: Record<string, unknown> | undefined) {
  return {
    n60s: Number(values?.card_txn_count_60s),
    n1h: Number(values?.card_txn_count_1h),
    sum1h: values?.card_amount_sum_1h,
  };
}

function runtime(): TestRuntime {
  return ingestRuntime(test.store.endpoint, { maxAttempts: 1 });
}

/** Whole calls of `tr.client` for which `throttled(command)` holds fail with a 429 ThrottlingException. */
function throttleCalls(tr: TestRuntime, throttled: (command: unknown) => boolean): void {
  const original = tr.client.send.bind(tr.client);
  tr.client.send = ((command: unknown, options?: unknown) =>
    throttled(command)
      ? Promise.reject(
          Object.assign(new Error('throttled'), {
            name: 'ThrottlingException',
            $metadata: { httpStatusCode: 429 },
          })
        )
      : original(command as never, options as never)) as typeof tr.client.send;
}

describe('Function: ingestWithDerivedFeatures()', () => {
  it('writes each payment with its velocities, ignoring what the producer put in them', async () => {
    const { runtime: rt, client, metrics } = runtime();
    const response = await ingestWithDerivedFeatures(
      kinesisEvent([
        record(payment('a-1', 'card-a', 0, 10), 'card-a'),
        record({ ...payment('a-2', 'card-a', 30_000, 20), card_txn_count_60s: 999 }, 'card-a'),
        record(payment('a-3', 'card-a', 61_000, 40), 'card-a'),
      ]),
      rt
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(counts(await online(client, 'a-1'))).toEqual({ n60s: 1, n1h: 1, sum1h: 10 });
    expect(counts(await online(client, 'a-2'))).toEqual({ n60s: 2, n1h: 2, sum1h: 30 });
    expect(counts(await online(client, 'a-3'))).toEqual({ n60s: 2, n1h: 3, sum1h: 70 });
    const ratio = (await online(client, 'a-3'))?.amount_to_avg_7d_ratio;
    expect(ratio).toBe(40 / (70 / 3));
    // Three events applied to one card's state, saved once; nothing late, repeated or evicted.
    const derived = [...metrics.totals].filter(([name]) => name.startsWith('Derived'));
    const { DerivedStateMaxBytes: stateBytes, ...counted } = Object.fromEntries(derived);
    expect(counted).toEqual({ DerivedEventsApplied: 3, DerivedStateWrites: 1 });
    expect(stateBytes).toBeGreaterThan(0);
  });

  it('rewrites the already-written payments a late one changes, in a later batch', async () => {
    const { runtime: rt, client, metrics } = runtime();
    await ingestWithDerivedFeatures(
      kinesisEvent([
        record(payment('b-1', 'card-b', 0), 'card-b'),
        record(payment('b-3', 'card-b', 50_000), 'card-b'),
      ]),
      rt
    );
    expect(counts(await online(client, 'b-3')).n60s).toBe(2);
    // b-2 happened between them but arrives a batch later.
    await ingestWithDerivedFeatures(
      kinesisEvent([record(payment('b-2', 'card-b', 20_000), 'card-b')]),
      rt
    );
    expect(counts(await online(client, 'b-2')).n60s).toBe(2);
    expect(counts(await online(client, 'b-3')).n60s).toBe(3);
    expect(metrics.totals.get('DerivedLateRewrites')).toBe(1);
  });

  it('never double-counts a replayed batch or a duplicate payment', async () => {
    const { runtime: rt, client, metrics } = runtime();
    const batch = [
      record(payment('c-1', 'card-c', 0), 'card-c'),
      record(payment('c-2', 'card-c', 1000), 'card-c'),
      record(payment('c-1', 'card-c', 0), 'card-c'),
    ];
    await ingestWithDerivedFeatures(kinesisEvent(batch), rt);
    await ingestWithDerivedFeatures(kinesisEvent(batch), rt);
    await ingestWithDerivedFeatures(
      kinesisEvent([record(payment('c-3', 'card-c', 2000), 'card-c')]),
      rt
    );
    expect(counts(await online(client, 'c-2')).n60s).toBe(2);
    expect(counts(await online(client, 'c-3')).n60s).toBe(3);
    expect(metrics.totals.get('DerivedDuplicates')).toBe(4);
  });

  it('writes a too-late payment without velocities and dead-letters conflicting ids', async () => {
    const { runtime: rt, client, deadLetters, metrics } = runtime();
    await ingestWithDerivedFeatures(
      kinesisEvent([
        record(payment('d-1', 'card-d', 0), 'card-d'),
        record(payment('d-2', 'card-d', 1000), 'card-d'),
      ]),
      rt
    );
    // Two conflicts and one too-late event: counts a metric read from the other cannot match.
    const response = await ingestWithDerivedFeatures(
      kinesisEvent([
        // Allowed lateness is one day: 25 hours before the card's latest payment is too late.
        record({ ...payment('d-0', 'card-d', -25 * HOUR), card_txn_count_60s: 7 }, 'card-d'),
        record(payment('d-1', 'card-d', 0, 99), 'card-d'),
        record(payment('d-2', 'card-d', 1000, 98), 'card-d'),
      ]),
      rt
    );
    expect(response.batchItemFailures).toEqual([]);
    const late = await online(client, 'd-0');
    expect(late?.transaction_id).toBe('d-0');
    expect(late?.card_txn_count_60s).toBeUndefined();
    expect(metrics.totals.get('DerivedTooLate')).toBe(1);
    expect(metrics.totals.get('DerivedConflicts')).toBe(2);
    expect(deadLetters.letters).toHaveLength(2);
    expect(deadLetters.letters[0]?.reason).toContain('already applied with different content');
    expect((await online(client, 'd-1'))?.amount).toBe(10);
  });

  it('leaves a redelivered event alone once its id has aged out of the state', async () => {
    const { runtime: rt, client, metrics } = runtime();
    const DAY = 24 * HOUR;
    const old = payment('f-1', 'card-f', -10 * DAY);
    await ingestWithDerivedFeatures(kinesisEvent([record(old, 'card-f')]), rt);
    // Nine days later: f-1 is beyond window + lateness (8 d) and leaves the state.
    await ingestWithDerivedFeatures(
      kinesisEvent([record(payment('f-2', 'card-f', -DAY), 'card-f')]),
      rt
    );
    await ingestWithDerivedFeatures(
      kinesisEvent([record(old, 'card-f'), record(payment('f-0', 'card-f', -5 * DAY), 'card-f')]),
      rt
    );
    expect(counts(await online(client, 'f-1')).n60s).toBe(1);
    expect((await online(client, 'f-0'))?.card_txn_count_60s).toBeUndefined();
    expect(metrics.totals.get('DerivedTooLate')).toBe(1);
    expect(metrics.totals.get('DerivedDuplicates')).toBe(1);
  });

  it('keeps the state of payments older than its TTL between batches (a stream catching up)', async () => {
    // Payments 10.5 days old (the state group's TTL is 10 days), e.g. a consumer back from an
    // outage: the state saved after the first batch must still be there for the second.
    const { runtime: rt, client } = runtime();
    const DAY = 24 * HOUR;
    await ingestWithDerivedFeatures(
      kinesisEvent([record(payment('o-1', 'card-o', -10.5 * DAY, 10), 'card-o')]),
      rt
    );
    await ingestWithDerivedFeatures(
      kinesisEvent([record(payment('o-2', 'card-o', -10.5 * DAY + 30_000, 20), 'card-o')]),
      rt
    );
    expect(counts(await online(client, 'o-2'))).toEqual({ n60s: 2, n1h: 2, sum1h: 30 });
    // The state outlives now by the group's TTL, not its (old) event time.
    const state = await client.send(
      new BatchGetRecordCommand({
        Identifiers: [
          { FeatureGroupName: 'fraud-card-state', RecordIdentifiersValueAsString: ['card-o'] },
        ],
        ExpirationTimeResponse: 'Enabled',
      })
    );
    const expiresAt = Date.parse(state.Records?.[0]?.ExpiresAt ?? '');
    expect(expiresAt).toBeGreaterThanOrEqual(Date.now() + 10 * DAY - HOUR);
  });

  it('starts a card whose stored state is unreadable over from an empty state, counting one reset', async () => {
    // Prepare: the card's state record holds text that is not a state (a corrupted write).
    const { runtime: rt, client, metrics } = runtime();
    await client.send(
      new PutRecordCommand({
        FeatureGroupName: 'fraud-card-state',
        Record: [
          { FeatureName: 'card_id', ValueAsString: 'card-u' },
          { FeatureName: 'event_time', ValueAsString: new Date(BASE).toISOString() },
          { FeatureName: 'state', ValueAsString: '{not a state' },
        ],
      })
    );
    // Act: two payments, so no count a metric read from another could match.
    const response = await ingestWithDerivedFeatures(
      kinesisEvent([
        record(payment('u-1', 'card-u', 1000), 'card-u'),
        record(payment('u-2', 'card-u', 2000), 'card-u'),
      ]),
      rt
    );
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(counts(await online(client, 'u-2')).n60s).toBe(2);
    const derived = [...metrics.totals].filter(([name]) => name.startsWith('Derived'));
    const { DerivedStateMaxBytes: _, ...counted } = Object.fromEntries(derived);
    expect(counted).toEqual({
      DerivedStateResets: 1,
      DerivedEventsApplied: 2,
      DerivedStateWrites: 1,
    });
  });

  it('reports every record of an entity whose state could not be saved, then converges on retry', async () => {
    const tr = runtime();
    let failStateWrites = true;
    throttleCalls(
      tr,
      (command) =>
        failStateWrites &&
        command instanceof BatchWriteRecordCommand &&
        command.input.Entries?.some((e) => e.FeatureGroupName === 'fraud-card-state') === true
    );
    const batch = [
      record(payment('e-1', 'card-e', 0), 'card-e'),
      record(payment('e-2', 'card-e', 1000), 'card-e'),
    ];
    const first = await ingestWithDerivedFeatures(kinesisEvent(batch), tr.runtime);
    expect(first.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      batch.map((r) => r.kinesis.sequenceNumber)
    );
    failStateWrites = false;
    const retry = await ingestWithDerivedFeatures(kinesisEvent(batch), tr.runtime);
    expect(retry.batchItemFailures).toEqual([]);
    await ingestWithDerivedFeatures(
      kinesisEvent([record(payment('e-3', 'card-e', 2000), 'card-e')]),
      tr.runtime
    );
    expect(counts(await online(tr.client, 'e-3')).n60s).toBe(3);
  });
  it('reports an entity only from its first failed record, saves the state before it, and converges', async () => {
    const tr = runtime();
    const original = tr.client.send.bind(tr.client);
    let failG2 = true;
    // g-2's write is throttled once (an Errors item); g-1 and g-3 are written.
    tr.client.send = (async (command: unknown, options?: unknown) => {
      const output = await original(command as never, options as never);
      if (failG2 && command instanceof BatchWriteRecordCommand) {
        const entry = command.input.Entries?.find((e) =>
          e.Record?.some((v) => v.ValueAsString === 'g-2')
        );
        if (entry !== undefined) {
          failG2 = false;
          return {
            ...(output as object),
            Errors: [{ Entry: entry, ErrorCode: 'ThrottlingException', ErrorMessage: 'slow' }],
          };
        }
      }
      return output;
    }) as typeof tr.client.send;
    const other = record(payment('h-1', 'card-h', 0), 'card-h');
    const batch = [
      record(payment('g-1', 'card-g', 0), 'card-g'),
      other,
      record(payment('g-2', 'card-g', 1000), 'card-g'),
      record(payment('g-3', 'card-g', 2000), 'card-g'),
    ];
    const first = await ingestWithDerivedFeatures(kinesisEvent(batch), tr.runtime);
    // g-1 (before the failure) and h-1 (another entity) are not reported: the checkpoint moves.
    expect(first.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      [batch[2], batch[3]].map((r) => r?.kinesis.sequenceNumber)
    );
    // Lambda redelivers from g-2: the saved state holds g-1 only, so nothing is double-counted.
    const retry = await ingestWithDerivedFeatures(kinesisEvent(batch.slice(2)), tr.runtime);
    expect(retry.batchItemFailures).toEqual([]);
    expect(counts(await online(tr.client, 'g-1')).n60s).toBe(1);
    expect(counts(await online(tr.client, 'g-2')).n60s).toBe(2);
    expect(counts(await online(tr.client, 'g-3')).n60s).toBe(3);
    await ingestWithDerivedFeatures(
      kinesisEvent([record(payment('g-4', 'card-g', 3000), 'card-g')]),
      tr.runtime
    );
    expect(counts(await online(tr.client, 'g-4')).n60s).toBe(4);
  });

  it('turns a throttled state read into a retry of that batch, never a function error', async () => {
    const tr = runtime();
    let failReads = true;
    throttleCalls(tr, (command) => failReads && command instanceof BatchGetRecordCommand);
    const batch = [
      record(payment('k-1', 'card-k', 0), 'card-k'),
      record(payment('k-2', 'card-k', 1000), 'card-k'),
    ];
    const first = await ingestWithDerivedFeatures(kinesisEvent(batch), tr.runtime);
    expect(first.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      batch.map((r) => r.kinesis.sequenceNumber)
    );
    failReads = false;
    const retry = await ingestWithDerivedFeatures(kinesisEvent(batch), tr.runtime);
    expect(retry.batchItemFailures).toEqual([]);
    expect(counts(await online(tr.client, 'k-2')).n60s).toBe(2);
  });
  it('turns a state read the store refuses (an AccessForbidden Errors item) into a retry of its records, logged with the group, the entity and the code', async () => {
    // As a write the store refuses with AccessForbidden (docs/ingest.md): never dead-lettered
    // nor guessed from an empty state; Lambda retries the records, then hands them to the
    // on-failure destination after IngestMaxRetryAttempts, and the deployment alarms.
    const tr = runtime();
    const warnings: { message: string; fields: unknown }[] = [];
    const logger: LogSink = {
      ...tr.runtime.logger,
      warn: (message: string, fields?: unknown) => warnings.push({ message, fields }),
    } as LogSink;
    const restore = refuseReads(
      tr.client,
      'AccessForbidden',
      (group) => group === 'fraud-card-state'
    );
    const batch = [
      record(payment('r-1', 'card-r', 0), 'card-r'),
      record(payment('r-2', 'card-r', 1000), 'card-r'),
    ];
    const first = await ingestWithDerivedFeatures(kinesisEvent(batch), { ...tr.runtime, logger });
    expect(first.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      batch.map((r) => r.kinesis.sequenceNumber)
    );
    expect(await online(tr.client, 'r-1')).toBeUndefined();
    expect(tr.deadLetters.letters).toEqual([]);
    expect(warnings).toContainEqual({
      message: 'derived state not read; its records are retried',
      fields: expect.objectContaining({
        stateGroup: 'fraud-card-state',
        entity: 'card-r',
        reason: expect.stringMatching(/^AccessForbidden: /),
      }),
    });
    restore();
    const retry = await ingestWithDerivedFeatures(kinesisEvent(batch), tr.runtime);
    expect(retry.batchItemFailures).toEqual([]);
    expect(counts(await online(tr.client, 'r-2')).n60s).toBe(2);
  });

  it("dead-letters a far-future payment, so it cannot poison its card's state", async () => {
    const tr = runtime();
    const poison = record(payment('p-2999', 'card-p', 0), 'card-p');
    // The same payment dated in 2999 (year far beyond MAX_EVENT_TIME_SKEW_SECONDS).
    const future = record(
      { ...payment('p-2999', 'card-p', 0), event_time: '2999-01-01T00:00:00.000Z' },
      'card-p'
    );
    const first = await ingestWithDerivedFeatures(kinesisEvent([future]), tr.runtime);
    expect(first.batchItemFailures).toEqual([]);
    expect(tr.deadLetters.letters.map((l) => l.stage)).toEqual(['validate']);
    expect(tr.deadLetters.letters[0]?.reason).toContain('MAX_EVENT_TIME_SKEW_SECONDS');
    // Real payments of the card after it still get their velocities (not "too late").
    await ingestWithDerivedFeatures(
      kinesisEvent([poison, record(payment('p-1', 'card-p', 1000), 'card-p')]),
      tr.runtime
    );
    expect(counts(await online(tr.client, 'p-1')).n60s).toBe(2);
  });
});

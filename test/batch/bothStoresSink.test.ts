/**
 * The both-stores sink against the embedded store, through the real SDK over HTTP: what it
 * writes online and offline for rows newer, older and equal to the online values, repeated
 * identifiers across concurrent runs, a dry run that writes nothing, and injected throttling.
 */
import {
  BatchWriteRecordCommand,
  GetRecordCommand,
  PutRecordCommand,
  SageMakerFeatureStoreRuntimeClient,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import pLimit from 'p-limit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BothStoresSink } from '../../shared/batch/bothStoresSink.ts';
import { cards } from '../../shared/definitions.ts';
import { type EncodedRecord, encodeRecord } from '../../shared/record/codec.ts';
import { featureStoreRetryStrategy } from '../../shared/runtime/clients.ts';
import { createSchemaGroups, offlineRows } from '../backfill/fixtures.ts';
import { refuseReads, startTestStore, type TestStore } from '../helpers/store.ts';

const HOUR = 3_600_000;

function card(id: string, atMs: number, txnCount7d: number): EncodedRecord {
  const encoded = encodeRecord(cards, {
    card_id: id,
    event_time: new Date(atMs),
    txn_count_7d: txnCount7d,
  });
  if (!encoded.ok) throw new Error(JSON.stringify(encoded.problems));
  return encoded.value;
}

describe('Class: BothStoresSink (embedded store)', () => {
  let store: TestStore;
  let now: number;

  beforeAll(async () => {
    store = await startTestStore();
    await createSchemaGroups(store);
  });

  afterAll(async () => {
    await store?.close();
  });

  beforeEach(() => {
    now = Date.now();
  });

  async function seed(record: EncodedRecord): Promise<void> {
    await store.runtime.send(
      new PutRecordCommand({ FeatureGroupName: cards.name, Record: record.record })
    );
  }

  async function onlineOf(id: string): Promise<Record<string, string> | undefined> {
    const out = await store.runtime.send(
      new GetRecordCommand({ FeatureGroupName: cards.name, RecordIdentifierValueAsString: id })
    );
    if (out.Record === undefined) return undefined;
    return Object.fromEntries(out.Record.map((v) => [v.FeatureName, v.ValueAsString]));
  }

  it('keeps the newest online, writes every row offline and counts each row by its effect', async () => {
    // Prepare
    const prefix = `s${now}`;
    await seed(card(`${prefix}-a`, now - 24 * HOUR, 1));
    await seed(card(`${prefix}-b`, now - 24 * HOUR, 1));
    const offlineBefore = (await offlineRows(store, cards.name)).length;
    const sink = new BothStoresSink(store.runtime, cards, { limit: pLimit(4) });
    const runA = [
      card(`${prefix}-a`, now - 2 * HOUR, 2), // newer: changed
      card(`${prefix}-b`, now - 48 * HOUR, 9), // older: stays
      card(`${prefix}-c`, now - HOUR, 3), // new identifier: changed
    ].map((record, i) => ({ ref: `A${i}`, record }));
    const runB = [
      card(`${prefix}-a`, now - 3 * HOUR, 7), // older than run A's: stays
      card(`${prefix}-a`, now - HOUR, 4), // newest: changed
      card(`${prefix}-c`, now - HOUR, 3), // same as run A's: unchanged
    ].map((record, i) => ({ ref: `B${i}`, record }));
    // Act: both runs at once; they share identifiers, so B reads what A wrote.
    const [a, b] = await Promise.all([sink.write(runA), sink.write(runB)]);
    // Assess
    expect(a).toEqual([
      { status: 'written', ref: 'A0', effect: 'changed' },
      { status: 'written', ref: 'A1', effect: 'stayed' },
      { status: 'written', ref: 'A2', effect: 'changed' },
    ]);
    expect(b).toEqual([
      { status: 'written', ref: 'B0', effect: 'stayed' },
      { status: 'written', ref: 'B1', effect: 'changed' },
      { status: 'written', ref: 'B2', effect: 'unchanged' },
    ]);
    expect(await onlineOf(`${prefix}-a`)).toMatchObject({ txn_count_7d: '4' });
    expect(await onlineOf(`${prefix}-b`)).toMatchObject({ txn_count_7d: '1' });
    expect(await onlineOf(`${prefix}-c`)).toMatchObject({ txn_count_7d: '3' });
    const offline = (await offlineRows(store, cards.name)).filter((r) =>
      String(r.card_id).startsWith(prefix)
    );
    // The two seeds, then all six rows of the drop.
    expect(offline).toHaveLength(8);
    expect((await offlineRows(store, cards.name)).length - offlineBefore).toBe(6);
    expect(
      offline
        .filter((r) => r.card_id === `${prefix}-a`)
        .map((r) => String(r.txn_count_7d))
        .sort()
    ).toEqual(['1', '2', '4', '7']);
  });

  it('writes the rows of one identifier at one event time in file order, even when the earlier one is slow or throttled', async () => {
    // Prepare: a nightly job's output that repeats a card at the same event time with a
    // corrected value; 30 other cards between them put the two in different calls. The call
    // carrying the first value answers 200 ms late in run A and is throttled whole in run B.
    const prefix = `o${now}`;
    const at = now - HOUR;
    const carries = (command: unknown, id: string) =>
      command instanceof BatchWriteRecordCommand &&
      (command.input.Entries ?? []).some(
        (entry) =>
          entry.Record?.some((v) => v.FeatureName === 'card_id' && v.ValueAsString === id) &&
          entry.Record?.some((v) => v.FeatureName === 'txn_count_7d' && v.ValueAsString === '1')
      );
    const send = store.runtime.send.bind(store.runtime);
    const faulty = Object.create(store.runtime) as typeof store.runtime;
    let throttled = 0;
    faulty.send = ((command: unknown, options?: unknown) => {
      if (carries(command, `${prefix}-slow`)) {
        return new Promise((done) => setTimeout(done, 200)).then(() =>
          send(command as never, options as never)
        );
      }
      if (carries(command, `${prefix}-throttled`) && throttled++ === 0) {
        return Promise.reject(
          Object.assign(new Error('Rate exceeded'), {
            name: 'ThrottlingException',
            $metadata: { httpStatusCode: 429 },
          })
        );
      }
      return send(command as never, options as never);
    }) as typeof store.runtime.send;
    const sink = new BothStoresSink(faulty, cards, { limit: pLimit(4) });
    const drop = (id: string) => [
      { ref: 0, record: card(id, at, 1) },
      ...Array.from({ length: 30 }, (_, i) => ({ ref: i + 1, record: card(`${id}-${i}`, at, 0) })),
      { ref: 31, record: card(id, at, 2) },
    ];
    // Act: run B's retry pass writes what the first pass left, in file order.
    const slow = await sink.write(drop(`${prefix}-slow`));
    const throttledRun = drop(`${prefix}-throttled`);
    const first = await sink.write(throttledRun);
    const retried = first.filter((o) => o.status === 'retry').map((o) => o.ref);
    const second = await sink.write(throttledRun.filter((r) => retried.includes(r.ref)));
    // Assess: the later row is online and is the offline store's latest row (what a
    // point-in-time training set and the audit read).
    expect(slow.every((o) => o.status === 'written')).toBe(true);
    expect(first.find((o) => o.ref === 31)).toMatchObject({
      status: 'retry',
      code: 'EarlierRowNotWritten',
    });
    expect(second.every((o) => o.status === 'written')).toBe(true);
    await store.store.flush();
    for (const id of [`${prefix}-slow`, `${prefix}-throttled`]) {
      expect(await onlineOf(id)).toMatchObject({ txn_count_7d: '2' });
      const rows = (await offlineRows(store, cards.name))
        .filter((r) => r.card_id === id)
        .sort((a, b) => Number(b.api_invocation_time) - Number(a.api_invocation_time));
      expect(rows.map((r) => String(r.txn_count_7d))).toEqual(['2', '1']);
    }
  });

  it('holds back, refused with the id, the code and the call, a row whose online value the store refuses to read (AccessForbidden), and writes it once the read is allowed', async () => {
    // As a write the store refuses with AccessForbidden: the drop fails at once, resumable,
    // naming the id, the group and the code (docs/batch.md), never a row written blind.
    const prefix = `f${now}`;
    const restore = refuseReads(
      store.runtime,
      'AccessForbidden',
      (_, id) => id === `${prefix}-refused`
    );
    const sink = new BothStoresSink(store.runtime, cards, { limit: pLimit(4) });
    const rows = [
      { ref: 0, record: card(`${prefix}-ok`, now - HOUR, 1) },
      { ref: 1, record: card(`${prefix}-refused`, now - HOUR, 2) },
    ];
    const offlineBefore = (await offlineRows(store, cards.name)).length;
    try {
      // Act
      const first = await sink.write(rows);
      restore();
      const second = await sink.write([rows[1] as (typeof rows)[number]]);
      // Assess
      expect(first).toEqual([
        { status: 'written', ref: 0, effect: 'changed' },
        {
          status: 'retry',
          ref: 1,
          code: 'AccessForbidden',
          refused: true,
          refusedCall: 'BatchGetRecord',
          message: expect.stringMatching(
            new RegExp(
              `^the online value of "${prefix}-refused" could not be read: AccessForbidden: `
            )
          ),
        },
      ]);
      expect(second).toEqual([{ status: 'written', ref: 1, effect: 'changed' }]);
      expect(await onlineOf(`${prefix}-refused`)).toMatchObject({ txn_count_7d: '2' });
      expect((await offlineRows(store, cards.name)).length - offlineBefore).toBe(2);
    } finally {
      restore();
    }
  });

  it('dry run: counts what a real run would do and writes nothing', async () => {
    // Prepare
    const prefix = `d${now}`;
    await seed(card(`${prefix}-a`, now - 24 * HOUR, 1));
    const offlineBefore = (await offlineRows(store, cards.name)).length;
    const sink = new BothStoresSink(store.runtime, cards, { limit: pLimit(4), dryRun: true });
    // Act: the repeated identifier falls in two runs, the second one after the first.
    const first = await sink.write([
      { ref: 0, record: card(`${prefix}-a`, now - HOUR, 2) },
      { ref: 1, record: card(`${prefix}-b`, now - HOUR, 2) },
    ]);
    const second = await sink.write([
      { ref: 2, record: card(`${prefix}-a`, now - 2 * HOUR, 3) },
      { ref: 3, record: card(`${prefix}-b`, now - HOUR, 2) },
    ]);
    // Assess
    expect(
      [...first, ...second].map((o) => (o.status === 'written' ? o.effect : o.status))
    ).toEqual(['changed', 'changed', 'stayed', 'unchanged']);
    expect(await onlineOf(`${prefix}-a`)).toMatchObject({ txn_count_7d: '1' });
    expect(await onlineOf(`${prefix}-b`)).toBeUndefined();
    expect((await offlineRows(store, cards.name)).length).toBe(offlineBefore);
  });

  it('under throttling (adaptive retries): every row ends written or retry, and a retry pass completes the drop exactly once', async () => {
    // Prepare: a tenth of the entries throttled one by one, 2% of the calls throttled whole;
    // the client in the SDK's adaptive mode, as the batch function builds it.
    const prefix = `t${now}`;
    const client = new SageMakerFeatureStoreRuntimeClient({
      endpoint: store.store.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      retryStrategy: featureStoreRetryStrategy({ maxAttempts: 2, adaptive: true }),
    });
    const rows = Array.from({ length: 80 }, (_, i) => ({
      ref: i,
      // 40 identifiers twice: the second row of each is the newer one.
      record: card(`${prefix}-${i % 40}`, now - (i < 40 ? 2 : 1) * HOUR, i),
    }));
    const sink = new BothStoresSink(client, cards, { limit: pLimit(4) });
    store.store.setFaults({ entryThrottle: 0.1, throttle: 0.02, seed: 7 });
    let first: Awaited<ReturnType<typeof sink.write<number>>>;
    try {
      // Act: first pass under faults, in runs of 20 rows.
      const runs = [0, 20, 40, 60].map((at) => sink.write(rows.slice(at, at + 20)));
      first = (await Promise.all(runs)).flat();
    } finally {
      store.store.setFaults({});
    }
    const retries = first.filter((o) => o.status === 'retry').map((o) => o.ref);
    const second = await sink.write(rows.filter((r) => retries.includes(r.ref)));
    client.destroy();
    // Assess
    expect(retries.length).toBeGreaterThan(0);
    expect(first.filter((o) => o.status === 'rejected')).toEqual([]);
    expect(second.every((o) => o.status === 'written')).toBe(true);
    expect(first.length + second.length - retries.length).toBe(rows.length);
    const offline = (await offlineRows(store, cards.name)).filter((r) =>
      String(r.card_id).startsWith(`${prefix}-`)
    );
    expect(offline.map((r) => Number(r.txn_count_7d)).sort((a, b) => a - b)).toEqual(
      rows.map((r) => r.ref)
    );
    for (const i of [0, 17, 39]) {
      expect(await onlineOf(`${prefix}-${i}`)).toMatchObject({ txn_count_7d: String(i + 40) });
    }
    // The adaptive rate limiter slows the client after throttles: ~10 s here, by design.
  }, 60_000);
});

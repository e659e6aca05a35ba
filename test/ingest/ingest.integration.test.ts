/**
 * The bundled ingest handler (dist-equivalent index.mjs) against the embedded store over HTTP,
 * with real-shape Kinesis events: values land online and offline, replays and out-of-order
 * events keep the latest by event time, and every kind of bad input is dead-lettered with its
 * reason while the rest of the batch is written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cards, transactions } from '../../shared/definitions.ts';
import { batchGetOnline, getOnlineRecord } from '../../shared/store/onlineReader.ts';
import {
  jsonData,
  jsonRecord,
  kinesisEvent,
  kinesisRecord,
  lambdaContext,
  transaction,
} from '../helpers/kinesisEvents.ts';
import { offlineRows } from '../store/duck.ts';
import { type IngestFixture, startIngestFixture } from './fixture.ts';

let fx: IngestFixture;

beforeAll(async () => {
  fx = await startIngestFixture();
});
afterAll(async () => {
  await fx?.close();
});

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

async function online(id: string) {
  return (await getOnlineRecord(fx.store.runtime, transactions, id, undefined))?.values;
}

describe('Ingest function (bundled) against the embedded store', () => {
  it('writes values online and, after the flush, offline, for bare records and envelopes', async () => {
    // Prepare
    const ids = Array.from({ length: 40 }, (_, i) => `land-${i}`);
    const eventTime = minutesAgo(5);
    const event = kinesisEvent([
      ...ids.map((id, i) =>
        jsonRecord(transaction(id, { amount: i + 0.25, event_time: eventTime }))
      ),
      jsonRecord({
        featureGroup: 'fraud-cards',
        record: {
          card_id: 'card-land',
          event_time: eventTime,
          txn_count_7d: 7,
          home_country: 'DE',
        },
      }),
    ]);
    // Act
    const response = await fx.handler(event, lambdaContext());
    await fx.store.store.flush();
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const read = await batchGetOnline(fx.store.runtime, [{ group: transactions, recordIds: ids }]);
    expect(read.found).toHaveLength(40);
    for (const found of read.found) {
      const i = Number(found.recordId.split('-')[1]);
      expect(found.values).toMatchObject({
        amount: i + 0.25,
        card_txn_count_1d: 3n,
        channel: 'ecom',
      });
    }
    const card = await getOnlineRecord(fx.store.runtime, cards, 'card-land', undefined);
    expect(card?.values).toMatchObject({
      txn_count_7d: 7n,
      home_country: 'DE',
      event_time: eventTime,
    });
    const rows = await offlineRows(fx.store.store.offlineDataPath('fraud-transactions'));
    const offline = new Map(
      rows.filter((r) => ids.includes(String(r.transaction_id))).map((r) => [r.transaction_id, r])
    );
    expect(offline.size).toBe(40);
    expect(offline.get('land-7')).toMatchObject({
      amount: 7.25,
      event_time: eventTime,
      card_txn_count_1d: 3n,
    });
  });

  it('leaves the online store unchanged when a batch is replayed; offline gets duplicate rows', async () => {
    // Prepare
    const ids = ['replay-a', 'replay-b', 'replay-c'];
    const event = kinesisEvent(
      ids.map((id) => jsonRecord(transaction(id, { event_time: minutesAgo(3) })))
    );
    await fx.handler(event, lambdaContext());
    const before = await Promise.all(ids.map(online));
    // Act
    const response = await fx.handler(event, lambdaContext());
    await fx.store.store.flush();
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await Promise.all(ids.map(online))).toEqual(before);
    const rows = (await offlineRows(fx.store.store.offlineDataPath('fraud-transactions'))).filter(
      (r) => r.transaction_id === 'replay-a'
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]?.event_time).toBe(rows[1]?.event_time);
    expect(rows[0]?.amount).toBe(rows[1]?.amount);
  });

  it('keeps the latest by event time online, whatever the order within and across batches', async () => {
    // Prepare: within one batch (written concurrently), newest first; then an older one later.
    const versions = [
      transaction('order-1', { amount: 3, event_time: minutesAgo(1) }),
      transaction('order-1', { amount: 1, event_time: minutesAgo(3) }),
      transaction('order-1', { amount: 2, event_time: minutesAgo(2) }),
    ];
    // Act
    const first = await fx.handler(
      kinesisEvent(versions.map((v) => jsonRecord(v))),
      lambdaContext()
    );
    const late = await fx.handler(
      kinesisEvent([jsonRecord(transaction('order-1', { amount: 0, event_time: minutesAgo(10) }))]),
      lambdaContext()
    );
    // Assess
    expect(first?.batchItemFailures).toEqual([]);
    expect(late?.batchItemFailures).toEqual([]);
    expect((await online('order-1'))?.amount).toBe(3);
  });

  const oversized = { channel: 'x'.repeat(200 * 1024), currency: 'y'.repeat(200 * 1024) };
  const withKey = (key: string) =>
    base64(
      JSON.stringify(transaction('proto', { event_time: minutesAgo(1) })).replace(
        '{',
        `{"${key}": {"isAdmin": true},`
      )
    );
  const withUnsafeInteger = () =>
    base64(
      JSON.stringify(transaction('unsafe', { event_time: minutesAgo(1) })).replace(
        '"card_txn_count_1d":3',
        '"card_txn_count_1d":9007199254740993'
      )
    );

  it.each([
    ['invalid base64', () => 'eyJ0cmFuc2FjdGlvbl9pZCI6!!', 'decode', 'data is not valid base64'],
    ['invalid JSON', () => base64('{"transaction_id": "t1", '), 'parse', 'data is not valid JSON'],
    [
      'JSON that is not an object',
      () => jsonData([transaction('arr')]),
      'parse',
      'payload must be a JSON object: (data)=[{',
    ],
    [
      'an unknown group',
      () => jsonData({ featureGroup: 'fraud-devices', record: { id: 'd1' } }),
      'route',
      'unknown feature group: (envelope).featureGroup="fraud-devices"',
    ],
    [
      'a missing identifier',
      () => jsonData(transaction('x', { transaction_id: undefined })),
      'validate',
      'transaction_id=undefined: record identifier is required',
    ],
    [
      'a missing event time',
      () => jsonData(transaction('no-time', { event_time: undefined })),
      'validate',
      'event_time=undefined: event time is required',
    ],
    [
      'a malformed event time',
      () => jsonData(transaction('bad-time', { event_time: '2026-13-01T00:00:00Z' })),
      'validate',
      'event_time="2026-13-01T00:00:00Z": month 13 is not 01-12',
    ],
    [
      'wrong types',
      () =>
        jsonData(transaction('types', { amount: true, card_txn_count_1h: '1.5', currency: 978 })),
      'validate',
      'amount=true: Fractional value must be a number or decimal string, not boolean; currency=978: String value must be a string, not number; card_txn_count_1h="1.5": Integral value must be a base-10 integer',
    ],
    [
      'an unsafe integer',
      withUnsafeInteger,
      'validate',
      'card_txn_count_1d=9007199254740992: Integral value is beyond 2^53',
    ],
    [
      'NaN (as the string JSON must carry it in)',
      () => jsonData(transaction('nan', { amount: 'NaN' })),
      'validate',
      'amount="NaN": Fractional value must be a decimal number',
    ],
    [
      'an oversized record',
      () => jsonData(transaction('big', oversized)),
      'validate',
      'record exceeds the 358400-byte (350 KB) limit',
    ],
    [
      'a __proto__ key',
      () => withKey('__proto__'),
      'validate',
      '__proto__={"isAdmin":true}: forbidden key "__proto__"',
    ],
    [
      'a constructor key',
      () => withKey('constructor'),
      'validate',
      'constructor={"isAdmin":true}: forbidden key "constructor"',
    ],
    [
      'unknown features',
      () => jsonData(transaction('unknown', { device_id: 'd1', ip: '10.0.0.1' })),
      'validate',
      'device_id="d1": unknown feature; "fraud-transactions" defines',
    ],
  ])(
    'dead-letters %s with its reason and writes the rest of the batch',
    async (name, data, stage, reason) => {
      // Prepare
      const tag = name.replace(/\W+/g, '-');
      const good = [`${tag}-before`, `${tag}-after`];
      const bad = kinesisRecord(data(), {
        partitionKey: `bad-${tag}`,
        shardId: 'shardId-000000000003',
      });
      const event = kinesisEvent([
        jsonRecord(transaction(good[0] as string, { event_time: minutesAgo(1) })),
        bad,
        jsonRecord(transaction(good[1] as string, { event_time: minutesAgo(1) })),
      ]);
      // Act
      const response = await fx.handler(event, lambdaContext());
      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      const letters = fx
        .deadLetters()
        .filter((l) => l.kinesis.sequenceNumber === bad.kinesis.sequenceNumber);
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({
        stage,
        reason: expect.stringContaining(reason),
        kinesis: {
          shardId: 'shardId-000000000003',
          sequenceNumber: bad.kinesis.sequenceNumber,
          partitionKey: `bad-${tag}`,
          eventSourceArn: bad.eventSourceARN,
        },
        payload: { encoding: 'base64', data: bad.kinesis.data, truncated: false },
      });
      expect(letters[0]?.kinesis.approximateArrivalTime).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      for (const id of good) expect((await online(id))?.transaction_id).toBe(id);
    }
  );

  it('dead-letters every problem of a record at once, with the group and identifier', async () => {
    // Prepare
    const bad = jsonRecord(
      transaction('many', { event_time: 'later', amount: 'NaN', channel: 7, extra: 1 })
    );
    // Act
    await fx.handler(kinesisEvent([bad]), lambdaContext());
    // Assess
    const letter = fx
      .deadLetters()
      .find((l) => l.kinesis.sequenceNumber === bad.kinesis.sequenceNumber);
    expect(letter).toMatchObject({ featureGroup: 'fraud-transactions', recordIdentifier: 'many' });
    expect(letter?.problems.map((p) => p.feature).sort()).toEqual([
      'amount',
      'channel',
      'event_time',
      'extra',
    ]);
  });
});

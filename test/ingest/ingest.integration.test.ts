/**
 * The bundled ingest handler (dist-equivalent index.cjs) against the embedded store over HTTP,
 * with real-shape Kinesis events: values land online and offline, replays and out-of-order
 * events keep the latest by event time, and every kind of bad input is dead-lettered with its
 * reason while the rest of the batch is written.
 */
import {
  CreateFeatureGroupCommand,
  type CreateFeatureGroupCommandInput,
  DeleteFeatureGroupCommand,
  DescribeFeatureGroupCommand,
} from '@aws-sdk/client-sagemaker';
import { GetRecordCommand, PutRecordCommand } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cards, merchants, transactions } from '../../shared/definitions.ts';
import { createFeatureGroupInput } from '../../shared/schema/awsDefinitions.ts';
import { batchGetOnline, getOnlineRecord } from '../../shared/store/onlineReader.ts';
import {
  driveLikeLambda,
  jsonData,
  jsonRecord,
  kinesisEvent,
  kinesisRecord,
  kplAggregatedData,
  lambdaContext,
  shardRecords,
  transaction,
} from '../helpers/kinesisEvents.ts';
import { offlineRows } from '../helpers/offlineRows.ts';
import { type IngestFixture, startIngestFixture } from './fixture.ts';

let fx: IngestFixture;

beforeAll(async () => {
  // Short jittered backoff instead of the SDK's standard delays (1 s base for throttling), so the
  // test that injects entry throttling stays fast; the retry strategy is the same.
  fx = await startIngestFixture({ INGEST_RETRY_BASE_DELAY_MS: '5' });
});
afterAll(async () => {
  await fx?.close();
});

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

async function online(id: string) {
  return (await getOnlineRecord(fx.store.runtime, transactions, id, undefined))?.values;
}

/** When the online record of `id` expires, epoch milliseconds (NaN when it is not served). */
async function expiresAt(id: string): Promise<number> {
  const answer = await fx.store.runtime.send(
    new GetRecordCommand({
      FeatureGroupName: transactions.name,
      RecordIdentifierValueAsString: id,
      ExpirationTimeResponse: 'Enabled',
    })
  );
  return Date.parse(answer.ExpiresAt ?? '');
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

  it('rewrites the online record with its identical values when a batch is replayed; offline gets duplicate rows', async () => {
    // Prepare
    const ids = ['replay-a', 'replay-b', 'replay-c'];
    const eventTime = minutesAgo(3);
    const event = kinesisEvent(
      ids.map((id) => jsonRecord(transaction(id, { event_time: eventTime })))
    );
    await fx.handler(event, lambdaContext());
    const before = await Promise.all(ids.map(online));
    // Identical values cannot show whether the replay wrote online again or left the record
    // alone. The expiry can: put the record back online-only with a one-hour TtlDuration (values
    // untouched), so only a rewrite by the replay (the group's 30-day TTL) moves ExpiresAt back.
    const hour = 3_600_000;
    for (const id of ids) {
      const stored = await fx.store.runtime.send(
        new GetRecordCommand({
          FeatureGroupName: transactions.name,
          RecordIdentifierValueAsString: id,
        })
      );
      await fx.store.runtime.send(
        new PutRecordCommand({
          FeatureGroupName: transactions.name,
          Record: stored.Record,
          TargetStores: ['OnlineStore'],
          TtlDuration: { Unit: 'Hours', Value: 1 },
        })
      );
    }
    expect(await Promise.all(ids.map(expiresAt))).toEqual(
      ids.map(() => Date.parse(eventTime) + hour)
    );
    // Act
    const response = await fx.handler(event, lambdaContext());
    await fx.store.store.flush();
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await Promise.all(ids.map(online))).toEqual(before);
    expect(await Promise.all(ids.map(expiresAt))).toEqual(
      ids.map(() => Date.parse(eventTime) + 30 * 24 * hour)
    );
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
      'transaction_id: record identifier is required',
    ],
    [
      'a missing event time',
      () => jsonData(transaction('no-time', { event_time: undefined })),
      'validate',
      'event_time: event time is required',
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
      'card_txn_count_1d: Integral value is a JSON number beyond ±(2^53 − 1), which cannot be read exactly (JSON parsers round it): send it as a JSON string of its digits',
    ],
    [
      'a lone surrogate in the record identifier (JSON "\\ud800")',
      () => jsonData(transaction('u-\ud800', { event_time: minutesAgo(1) })),
      'validate',
      'transaction_id="u-\\ud800": record identifier: String value is not valid Unicode (a lone surrogate, U+D800), which UTF-8 cannot encode',
    ],
    [
      'a lone surrogate in a String value',
      () =>
        jsonData(transaction('lone-currency', { event_time: minutesAgo(1), currency: 'E\udc00' })),
      'validate',
      'currency="E\\udc00": String value is not valid Unicode (a lone surrogate, U+DC00), which UTF-8 cannot encode',
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
      'a KPL-aggregated record (Lambda does not de-aggregate)',
      () => kplAggregatedData([transaction('kpl-1'), transaction('kpl-2')]),
      'decode',
      'data is a KPL-aggregated record',
    ],
    [
      'bytes that are not UTF-8 (a Windows-1252 é)',
      () => Buffer.from('{"transaction_id": "caf\xe9-1"}', 'latin1').toString('base64'),
      'decode',
      'data is not UTF-8 text: (data)="28 bytes": invalid byte 0xE9 at offset 23',
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
  it('dead-letters a lone surrogate at validation: the record is named by its id unless the id holds it, nothing is written under U+FFFD', async () => {
    // Prepare
    const inValue = jsonRecord(
      transaction('lone-named', { event_time: minutesAgo(1), channel: '\ud83d' })
    );
    const inId = jsonRecord(transaction('lone-\udbff', { event_time: minutesAgo(1) }));
    // Act
    const response = await fx.handler(kinesisEvent([inValue, inId]), lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const letterOf = (r: typeof inValue) =>
      fx.deadLetters().find((l) => l.kinesis.sequenceNumber === r.kinesis.sequenceNumber);
    expect(letterOf(inValue)).toMatchObject({
      stage: 'validate',
      featureGroup: 'fraud-transactions',
      recordIdentifier: 'lone-named',
      // Shown escaped, as JSON writes it: the letter's readers cannot print it either.
      problems: [{ feature: 'channel', value: '"\\ud83d"' }],
    });
    expect(letterOf(inId)).toMatchObject({
      stage: 'validate',
      featureGroup: 'fraud-transactions',
      recordIdentifier: null,
    });
    expect(await online('lone-named')).toBeUndefined();
    expect(await online('lone-\ufffd')).toBeUndefined();
  });

  it('dead-letters a record dated beyond MAX_EVENT_TIME_SKEW_SECONDS ahead of the clock, naming the time and the bound', async () => {
    // Prepare: default bound 300 s; one record a minute ahead (kept), one a day ahead.
    const near = jsonRecord(
      transaction('skew-near', { event_time: new Date(Date.now() + 60_000).toISOString() })
    );
    const far = jsonRecord(
      transaction('skew-far', { event_time: new Date(Date.now() + 86_400_000).toISOString() })
    );
    // Act
    const response = await fx.handler(kinesisEvent([near, far]), lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect((await online('skew-near'))?.transaction_id).toBe('skew-near');
    expect(await online('skew-far')).toBeUndefined();
    const letter = fx
      .deadLetters()
      .find((l) => l.kinesis.sequenceNumber === far.kinesis.sequenceNumber);
    expect(letter).toMatchObject({
      stage: 'validate',
      featureGroup: 'fraud-transactions',
      recordIdentifier: 'skew-far',
      payload: { data: far.kinesis.data },
    });
    expect(letter?.reason).toMatch(
      /event_time=.*event time \S+Z is 86\d{3} s ahead of the clock .*at most 300 s ahead is accepted \(MAX_EVENT_TIME_SKEW_SECONDS\)/
    );
  });

  it('dead-letters an event time in epoch milliseconds, naming the unit and the instant it reads as', async () => {
    // Prepare: a Java/Kafka producer's System.currentTimeMillis() in an envelope for fraud-cards.
    const nowMs = Date.now();
    const millis = jsonRecord({
      featureGroup: 'fraud-cards',
      record: { card_id: 'card-millis', event_time: nowMs, txn_count_7d: 3 },
    });
    // Act
    const response = await fx.handler(kinesisEvent([millis]), lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const letter = fx
      .deadLetters()
      .find((l) => l.kinesis.sequenceNumber === millis.kinesis.sequenceNumber);
    expect(letter?.stage).toBe('validate');
    expect(letter?.reason).toContain(
      `event_time=${nowMs}: epoch seconds ${nowMs} are past 9999-12-31T23:59:59Z: it reads as epoch milliseconds (${new Date(nowMs).toISOString()}); send epoch seconds (divide by 1000) or ISO-8601`
    );
  });

  it('maps a BatchWriteRecord answer mixing written, rejected and unprocessed entries back to the records; redelivery writes each record once', async () => {
    // Prepare: the deployed fraud-merchants group lacks a feature the definitions have (drift),
    // so the store itself rejects records that carry it (ValidationError per entry).
    await recreateWithout(merchants, 'chargeback_rate_90d');
    const eventTime = minutesAgo(2);
    const good = Array.from({ length: 60 }, (_, i) => `mixed-${i}`);
    const payloads = [
      ...good.map((id) => jsonData(transaction(id, { event_time: eventTime }))),
      ...Array.from({ length: 10 }, (_, i) =>
        jsonData({
          featureGroup: 'fraud-merchants',
          record: {
            merchant_id: `m-mixed-${i}`,
            event_time: eventTime,
            country: 'FR',
            ...(i % 2 === 0 ? { chargeback_rate_90d: 0.01 } : {}),
          },
        })
      ),
    ];
    const records = shardRecords('shardId-000000000009', payloads);
    const rejected = new Set(
      records
        .slice(60)
        .filter((_, i) => i % 2 === 0)
        .map((r) => r.kinesis.sequenceNumber)
    );
    // 30 % of entries answered throttled, 30 % unprocessed, 10 % of calls throttled whole.
    fx.store.store.setFaults({ entryThrottle: 0.3, entryUnprocessed: 0.3, throttle: 0.1, seed: 5 });
    // Act
    let stats: Awaited<ReturnType<typeof driveLikeLambda>>;
    try {
      stats = await driveLikeLambda(fx.handler, new Map([['shardId-000000000009', records]]), {
        batchSize: 100,
        maxInvocationsPerShard: 30,
      });
    } finally {
      fx.store.store.setFaults({});
    }
    await fx.store.store.flush();
    // Assess: Lambda had to redeliver, and got through.
    expect(stats.retries).toBeGreaterThan(0);
    expect(stats.stuckShards).toEqual([]);
    expect(stats.functionErrors).toBe(0);
    // The store's rejections are dead-lettered once each, with the store's reason.
    const letters = fx.deadLetters().filter((l) => l.kinesis.shardId === 'shardId-000000000009');
    expect(new Set(letters.map((l) => l.kinesis.sequenceNumber))).toEqual(rejected);
    expect(letters).toHaveLength(rejected.size);
    expect(letters[0]).toMatchObject({
      stage: 'store',
      featureGroup: 'fraud-merchants',
      reason: expect.stringMatching(
        /^the store rejected the record: ValidationError: .*chargeback_rate_90d/
      ),
    });
    // Every other record is online and offline exactly once, redeliveries notwithstanding.
    const read = await batchGetOnline(fx.store.runtime, [
      { group: transactions, recordIds: good },
      { group: merchants, recordIds: [1, 3, 5, 7, 9].map((i) => `m-mixed-${i}`) },
    ]);
    expect(read.found).toHaveLength(65);
    const rows = (await offlineRows(fx.store.store.offlineDataPath('fraud-transactions'))).filter(
      (r) => String(r.transaction_id).startsWith('mixed-')
    );
    expect(rows.map((r) => r.transaction_id).sort()).toEqual([...good].sort());
    const merchantRows = await offlineRows(fx.store.store.offlineDataPath('fraud-merchants'));
    expect(merchantRows.filter((r) => String(r.merchant_id).startsWith('m-mixed-'))).toHaveLength(
      5
    );
  });
});

/** Replace a group in the store by one without `feature` (a deployment that drifted). */
async function recreateWithout(group: typeof merchants, feature: string): Promise<void> {
  const sagemaker = fx.store.sagemaker;
  await sagemaker.send(new DeleteFeatureGroupCommand({ FeatureGroupName: group.name }));
  // Wait until the name is free (a store with a realistic lifecycle deletes asynchronously).
  for (let i = 0; i < 200; i++) {
    try {
      await sagemaker.send(new DescribeFeatureGroupCommand({ FeatureGroupName: group.name }));
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const input = createFeatureGroupInput(group, {
    offlineS3Uri: 's3://skewless-local/offline-store',
    roleArn: 'arn:aws:iam::000000000000:role/skewless-offline',
  }) as unknown as CreateFeatureGroupCommandInput;
  await sagemaker.send(
    new CreateFeatureGroupCommand({
      ...input,
      FeatureDefinitions: input.FeatureDefinitions?.filter((d) => d.FeatureName !== feature),
    })
  );
  for (let i = 0; i < 200; i++) {
    const out = await sagemaker.send(
      new DescribeFeatureGroupCommand({ FeatureGroupName: group.name })
    );
    if (out.FeatureGroupStatus === 'Created') return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

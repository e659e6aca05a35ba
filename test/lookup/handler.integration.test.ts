/**
 * The lookup handler with real-shape API Gateway proxy events, reading the embedded feature
 * store through the real SDK over HTTP (AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME).
 */

import { DeleteFeatureGroupCommand } from '@aws-sdk/client-sagemaker';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFeatureGroups } from '../../local/setup/ensureFeatureGroups.ts';
import { cards, merchants, transactions } from '../../shared/definitions.ts';
import { defineFeatureGroup } from '../../shared/schema/index.ts';
import { withMetrics } from '../helpers/addedMetrics.ts';
import {
  apiGatewayEvent,
  batchGetEvent,
  getRecordEvent,
  lambdaContext,
  vectorsEvent,
} from '../helpers/apiGatewayEvents.ts';
import { validateAnswer } from './openapi.ts';
import { type LookupStore, startLookupStore } from './storeFixture.ts';

type Handler = (event: APIGatewayProxyEvent, context: unknown) => Promise<APIGatewayProxyResult>;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SPECIAL_IDS = ['card/0001', '100%', 'card 0002', 'carte-€-ü-日本', 'a+b', '%2F'];
const BATCH_IDS = Array.from({ length: 1000 }, (_, i) => `b-${String(i).padStart(4, '0')}`);

let store: LookupStore;
let handler: Handler;
const storeLog: string[] = [];
/** The instant the seeded records' event times are relative to. */
let seededAt: number;

const iso = (ms: number) => new Date(ms).toISOString();

/** Every route's answer is the same 500 with our `message` (a store problem, not the caller's). */
function expectSame500(answers: readonly Awaited<ReturnType<typeof invoke>>[], message: string) {
  for (const answer of answers) {
    expect(answer.statusCode).toBe(500);
    expect(answer.body).toEqual({
      statusCode: 500,
      error: 'InternalServerError',
      message,
      requestId: answer.requestId,
    });
  }
}

async function invoke(event: APIGatewayProxyEvent): Promise<{
  statusCode: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  requestId: string;
}> {
  const result = await handler(event, lambdaContext());
  const body = JSON.parse(result.body);
  // Every answer the document describes must fit its schema.
  const problems = validateAnswer(event.httpMethod, event.resource, result.statusCode, body);
  expect(problems ?? []).toEqual([]);
  return {
    statusCode: result.statusCode,
    headers: result.headers as Record<string, string>,
    body,
    requestId: event.requestContext.requestId,
  };
}

function batchCalls(): number {
  return storeLog.filter((line) => line.includes(' BatchGetRecord ')).length;
}

async function putMany(ids: readonly string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(
      ids
        .slice(i, i + 50)
        .map((card_id, j) =>
          store.put(cards, { card_id, event_time: new Date(), txn_count_7d: i + j })
        )
    );
  }
}

beforeAll(async () => {
  store = await startLookupStore({
    logLevel: 'debug',
    logger: {
      debug: (m) => storeLog.push(m),
      info: () => {},
      warn: () => {},
      error: () => {},
    },
  });
  process.env.AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME = store.store.endpoint;
  process.env.LOOKUP_STORE_RETRIES = '1';
  // The store's 1 s default is a latency budget, tested in storeTimeout.test.ts. Here it is not
  // under test, and reading the 6.8 MB answer below took longer than 1 s on a loaded machine
  // (the full suite on two shared cores): a 503 instead of the 400 under test.
  process.env.LOOKUP_STORE_TIMEOUT_MS = '10000';
  const now = Date.now();
  seededAt = now;
  await store.put(cards, {
    card_id: 'card-1',
    event_time: iso(now - HOUR),
    txn_count_7d: 14,
    txn_count_30d: '9007199254740993',
    amount_sum_7d: 1234.5,
    home_country: 'DE',
  });
  for (const card_id of SPECIAL_IDS) {
    await store.put(cards, { card_id, event_time: iso(now), txn_count_7d: 1 });
  }
  await store.put(cards, { card_id: 'old-card', event_time: iso(now - 3 * DAY), txn_count_7d: 2 });
  // Written 100 days ago with the group's 90-day TTL: expired on arrival.
  await store.put(cards, { card_id: 'expired', event_time: iso(now - 100 * DAY), txn_count_7d: 3 });
  await store.put(cards, { card_id: 'soft', event_time: iso(now - HOUR), txn_count_7d: 4 });
  await store.remove(cards, 'soft', iso(now), 'SoftDelete');
  await store.put(cards, { card_id: 'hard', event_time: iso(now - HOUR), txn_count_7d: 5 });
  await store.remove(cards, 'hard', iso(now), 'HardDelete');
  await store.put(transactions, {
    transaction_id: 'tx-1',
    event_time: iso(now - 60_000),
    card_id: 'card-1',
    merchant_id: 'm-1',
    amount: 42.5,
    channel: 'ecom',
    card_txn_count_60s: 1,
    card_txn_count_1h: 2,
    card_txn_count_1d: 3,
    card_amount_sum_1h: 99.5,
    amount_to_avg_7d_ratio: 1.25,
  });
  await store.put(transactions, {
    transaction_id: 'tx-old',
    event_time: iso(now - 2 * HOUR),
    card_id: 'old-card',
    merchant_id: 'm-1',
    amount: 10,
    channel: 'pos',
  });
  await store.put(merchants, {
    merchant_id: 'm-1',
    event_time: iso(now - HOUR),
    mcc: '5411',
    fraud_rate_30d: 0.01,
    chargeback_rate_90d: 0.002,
  });
  await putMany(BATCH_IDS);
  ({ handler } = (await import('../../functions/lookup/index.ts')) as unknown as {
    handler: Handler;
  });
});

afterAll(async () => {
  await store?.close();
});

describe('GET /feature-groups/{featureGroup}/records/{recordId}', () => {
  it('answers 200 with schema-typed values and the request id', async () => {
    // Act
    const { statusCode, headers, body, requestId } = await invoke(
      getRecordEvent('fraud-cards', 'card-1')
    );
    // Assess
    expect(statusCode).toBe(200);
    expect(headers['x-request-id']).toBe(requestId);
    expect(headers['content-type']).toBe('application/json');
    expect(body).toEqual({
      featureGroup: 'fraud-cards',
      recordId: 'card-1',
      eventTime: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      features: {
        card_id: 'card-1',
        event_time: body.eventTime,
        txn_count_7d: 14,
        txn_count_30d: '9007199254740993',
        amount_sum_7d: 1234.5,
        home_country: 'DE',
      },
    });
  });

  it.each(SPECIAL_IDS)(
    'finds the URL-encoded id %j (path parameters arrive decoded)',
    async (id) => {
      // Prepare
      const event = getRecordEvent('fraud-cards', id);
      // Act
      const { statusCode, body } = await invoke(event);
      // Assess
      expect(event.path).toContain(encodeURIComponent(id));
      expect(statusCode).toBe(200);
      expect(body.recordId).toBe(id);
    }
  );

  it('returns a subset from a comma list and repeated features (multi-value query)', async () => {
    // Act
    const { statusCode, body } = await invoke(
      getRecordEvent('fraud-cards', 'card-1', {
        features: ['txn_count_7d,amount_sum_7d', 'home_country'],
      })
    );
    // Assess
    expect(statusCode).toBe(200);
    expect(body.features).toEqual({ txn_count_7d: 14, amount_sum_7d: 1234.5, home_country: 'DE' });
    expect(body.eventTime).toEqual(expect.any(String));
  });

  it('includes expiresAt with expiration=true', async () => {
    // Act
    const { body } = await invoke(getRecordEvent('fraud-cards', 'card-1', { expiration: 'true' }));
    // Assess: the group's TTL is 90 days from the event time.
    const expected = Date.parse(body.eventTime as string) + 90 * DAY;
    expect(Date.parse(body.expiresAt as string)).toBe(expected);
  });

  it('addresses a group by ARN', async () => {
    // Act
    const { statusCode, body } = await invoke(
      getRecordEvent('arn:aws:sagemaker:us-east-1:000000000000:feature-group/fraud-cards', 'card-1')
    );
    // Assess
    expect(statusCode).toBe(200);
    expect(body.featureGroup).toBe('fraud-cards');
  });

  it.each([
    ['never written', 'nobody'],
    ['past its TTL', 'expired'],
    ['soft-deleted', 'soft'],
    ['hard-deleted', 'hard'],
  ])('answers 404 for a record %s', async (_, id) => {
    // Act
    const { statusCode, body, requestId } = await invoke(getRecordEvent('fraud-cards', id));
    // Assess
    expect(statusCode).toBe(404);
    expect(body).toEqual({
      statusCode: 404,
      error: 'NotFound',
      message: `No live record "${id}" in feature group "fraud-cards"`,
      requestId,
    });
  });

  it('answers 404 once the store clock passes a per-record TTL', async () => {
    // Prepare
    await store.put(
      cards,
      { card_id: 'short-ttl', event_time: new Date(), txn_count_7d: 1 },
      {
        unit: 'Seconds',
        value: 30,
      }
    );
    const before = await invoke(getRecordEvent('fraud-cards', 'short-ttl'));
    // Act
    store.clock.advance(31_000);
    const after = await invoke(getRecordEvent('fraud-cards', 'short-ttl'));
    // Assess
    expect(before.statusCode).toBe(200);
    expect(after.statusCode).toBe(404);
  });

  it.each([
    ['an unknown group', getRecordEvent('fraud-cardz', 'x'), 'Unknown feature group "fraud-cardz"'],
    [
      'an internal group (derived-feature state)',
      getRecordEvent('fraud-card-state', 'card-1'),
      'Unknown feature group "fraud-card-state"; known: fraud-transactions, fraud-cards, fraud-merchants',
    ],
    [
      'an unknown feature',
      getRecordEvent('fraud-cards', 'card-1', { features: 'txn_count_7d,nope' }),
      'Unknown feature "nope" in feature group "fraud-cards"',
    ],
    [
      'an empty feature list',
      getRecordEvent('fraud-cards', 'card-1', { features: '' }),
      'Query parameter features must list non-empty feature names',
    ],
    [
      'a record id over 2 KB',
      getRecordEvent('fraud-cards', 'x'.repeat(2049)),
      'Path parameter recordId is longer than 2048 bytes (UTF-8)',
    ],
    [
      'an unknown query parameter',
      getRecordEvent('fraud-cards', 'card-1', { feature: 'txn_count_7d' }),
      'Unknown query parameter "feature"; allowed: features, expiration',
    ],
    [
      'a bad expiration flag',
      getRecordEvent('fraud-cards', 'card-1', { expiration: 'yes' }),
      'Query parameter expiration must be true or false',
    ],
  ])('answers 400 for %s', async (_, event, message) => {
    // Act
    const { statusCode, body, requestId } = await invoke(event);
    // Assess
    expect(statusCode).toBe(400);
    expect(body.error).toBe('BadRequest');
    expect(body.message).toContain(message);
    expect(body.requestId).toBe(requestId);
  });
});

describe('POST /feature-groups/batch-get', () => {
  it.each([
    ['no identifiers', { identifiers: [] }],
    ['identifiers without ids', { identifiers: [{ featureGroup: 'fraud-cards', recordIds: [] }] }],
  ])('answers a batch of 0 ids (%s) without calling the store', async (_, body) => {
    // Prepare
    const callsBefore = batchCalls();
    // Act
    const response = await invoke(batchGetEvent(body));
    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.body).toEqual({ records: [], notFound: [], unprocessed: [] });
    expect(batchCalls()).toBe(callsBefore);
  });

  it.each([1, 100, 101, 1000])('reads a batch of %i ids in calls of at most 100', async (size) => {
    // Prepare
    const ids = BATCH_IDS.slice(0, size);
    const callsBefore = batchCalls();
    // Act
    const { statusCode, body } = await invoke(
      batchGetEvent({ identifiers: [{ featureGroup: 'fraud-cards', recordIds: ids }] })
    );
    // Assess
    expect(statusCode).toBe(200);
    const records = body.records as { recordId: string; features: { txn_count_7d: number } }[];
    expect(records.map((r) => r.recordId).sort()).toEqual(ids);
    expect(records.find((r) => r.recordId === 'b-0000')?.features.txn_count_7d).toBe(0);
    expect(body.notFound).toEqual([]);
    expect(body.unprocessed).toEqual([]);
    expect(batchCalls() - callsBefore).toBe(Math.ceil(size / 100));
  });

  it('splits ids into found and notFound across groups, with feature subsets', async () => {
    // Act
    const { statusCode, body } = await invoke(
      batchGetEvent({
        identifiers: [
          {
            featureGroup: 'fraud-cards',
            recordIds: ['card-1', 'expired', 'soft', 'hard', 'nobody', 'card-1'],
            features: ['txn_count_30d'],
          },
          { featureGroup: 'fraud-merchants', recordIds: ['m-1'] },
        ],
        expiration: true,
      })
    );
    // Assess
    expect(statusCode).toBe(200);
    expect(body.records).toEqual([
      {
        featureGroup: 'fraud-cards',
        recordId: 'card-1',
        eventTime: expect.any(String),
        features: { txn_count_30d: '9007199254740993' },
        expiresAt: expect.any(String),
      },
      expect.objectContaining({
        featureGroup: 'fraud-merchants',
        recordId: 'm-1',
        features: expect.objectContaining({ mcc: '5411', fraud_rate_30d: 0.01 }),
      }),
    ]);
    expect(body.notFound).toEqual(
      ['expired', 'soft', 'hard', 'nobody'].map((recordId) => ({
        featureGroup: 'fraud-cards',
        recordId,
      }))
    );
  });

  it('ignores a leading UTF-8 byte order mark, as ingest and backfill do (text and base64 bodies)', async () => {
    // Prepare
    const json = JSON.stringify({
      identifiers: [{ featureGroup: 'fraud-cards', recordIds: ['card-1'] }],
    });
    const text = batchGetEvent(json);
    text.body = `\uFEFF${json}`;
    const base64 = batchGetEvent(json);
    base64.body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)]).toString(
      'base64'
    );
    base64.isBase64Encoded = true;
    // Act
    const answers = [await invoke(text), await invoke(base64)];
    // Assess
    for (const { statusCode, body } of answers) {
      expect(statusCode).toBe(200);
      expect((body.records as { recordId: string }[]).map((r) => r.recordId)).toEqual(['card-1']);
    }
  });

  it('answers 400 for a base64-encoded body that is not UTF-8 (a Windows-1252 é), not a miss for another id', async () => {
    // Prepare: read leniently, the id would be "caf\ufffd", a card that is not the one asked for.
    const event = batchGetEvent('');
    event.body = Buffer.from(
      '{"identifiers":[{"featureGroup":"fraud-cards","recordIds":["caf\xe9"]}]}',
      'latin1'
    ).toString('base64');
    event.isBase64Encoded = true;
    // Act
    const { statusCode, body } = await invoke(event);
    // Assess
    expect(statusCode).toBe(400);
    expect(body.message).toBe(
      'Request body is not valid UTF-8 (invalid byte 0xE9 at offset 63): JSON text is UTF-8 (RFC 8259)'
    );
  });

  it('accepts a base64-encoded body (binary media types)', async () => {
    // Act
    const { statusCode, body } = await invoke(
      batchGetEvent(
        { identifiers: [{ featureGroup: 'fraud-cards', recordIds: ['carte-€-ü-日本'] }] },
        { base64: true }
      )
    );
    // Assess
    expect(statusCode).toBe(200);
    expect((body.records as { recordId: string }[])[0]?.recordId).toBe('carte-€-ü-日本');
  });

  it.each([
    [
      '1,001 ids',
      { identifiers: [{ featureGroup: 'fraud-cards', recordIds: [...BATCH_IDS, 'one-more'] }] },
      'Too many record ids: at most 1000 per request, got 1001',
    ],
    ['not JSON', '{"identifiers": [', 'Request body is not valid JSON'],
    ['a JSON array', '[]', 'Request body must be a JSON object'],
    ['no identifiers', { ids: [] }, 'Request body has unknown member "ids"'],
    [
      'a non-string id',
      { identifiers: [{ featureGroup: 'fraud-cards', recordIds: ['a', 7] }] },
      'identifiers[0].recordIds[1] must be a string',
    ],
    [
      'an empty id',
      { identifiers: [{ featureGroup: 'fraud-cards', recordIds: [''] }] },
      'identifiers[0].recordIds[0] must not be empty',
    ],
    [
      'a lone surrogate',
      '{"identifiers":[{"featureGroup":"fraud-cards","recordIds":["\\ud800"]}]}',
      'identifiers[0].recordIds[0] is not valid Unicode (a lone surrogate, U+D800), which UTF-8 cannot encode',
    ],
    [
      'a lone low surrogate after a valid character',
      '{"identifiers":[{"featureGroup":"fraud-cards","recordIds":["a","c-\\udc00"]}]}',
      'identifiers[0].recordIds[1] is not valid Unicode (a lone surrogate, U+DC00), which UTF-8 cannot encode',
    ],
    [
      'an unknown group',
      { identifiers: [{ featureGroup: 'nope', recordIds: ['a'] }] },
      'Unknown feature group "nope"',
    ],
    [
      'an internal group (derived-feature state)',
      { identifiers: [{ featureGroup: 'fraud-card-state', recordIds: ['card-1'] }] },
      'Unknown feature group "fraud-card-state"; known: fraud-transactions, fraud-cards, fraud-merchants',
    ],
    [
      'an unknown feature',
      { identifiers: [{ featureGroup: 'fraud-cards', recordIds: ['a'], features: ['mcc'] }] },
      'Unknown feature "mcc" in feature group "fraud-cards"',
    ],
    [
      'a group listed twice',
      {
        identifiers: [
          { featureGroup: 'fraud-cards', recordIds: ['a'] },
          { featureGroup: 'fraud-cards', recordIds: ['b'] },
        ],
      },
      'feature group "fraud-cards" is listed twice',
    ],
  ])('answers 400 for %s', async (_, requestBody, message) => {
    // Act
    const { statusCode, body } = await invoke(batchGetEvent(requestBody));
    // Assess
    expect(statusCode).toBe(400);
    expect(body.message).toContain(message);
  });

  it("answers 400 naming the size when the answer would exceed Lambda's 6 MB response payload", async () => {
    // Prepare: 20 cards with a 340 KB String feature (the service allows 350 KB per value) make
    // a 6.8 MB answer, which Lambda refuses to return: API Gateway would answer a bare 502.
    const big = 'x'.repeat(340_000);
    const ids = Array.from({ length: 20 }, (_, i) => `big-${i}`);
    for (const card_id of ids) {
      await store.put(cards, { card_id, event_time: new Date(), home_country: big });
    }
    // Act
    const tooBig = await invoke(
      batchGetEvent({ identifiers: [{ featureGroup: 'fraud-cards', recordIds: ids }] })
    );
    const subset = await invoke(
      batchGetEvent({
        identifiers: [{ featureGroup: 'fraud-cards', recordIds: ids, features: ['txn_count_7d'] }],
      })
    );
    // Assess
    expect(tooBig.statusCode).toBe(400);
    expect(tooBig.body.message).toMatch(
      /^The answer would be 6\.8 MB \(\d{1,3}(,\d{3})+ bytes as Lambda returns it\), over the 6,291,556 bytes a Lambda function can return through API Gateway: ask for fewer ids \(this request: 20\) or a feature subset$/
    );
    expect(subset.statusCode).toBe(200);
  });

  it('answers 400 for a missing body', async () => {
    // Prepare
    const event = batchGetEvent(undefined);
    // Act
    const { statusCode, body } = await invoke(event);
    // Assess
    expect(event.body).toBeNull();
    expect(statusCode).toBe(400);
    expect(body.message).toBe('A JSON request body is required');
  });
});

describe('POST /feature-sets/{featureSet}/vectors', () => {
  it('answers each entity with its vector, missing and stale features, in one batched read', async () => {
    // Prepare
    const callsBefore = batchCalls();
    // Act
    const { statusCode, body } = await invoke(
      vectorsEvent('fraud_model_v3', {
        entities: [
          { transaction_id: 'tx-1', card_id: 'card-1', merchant_id: 'm-1' },
          { transaction_id: 'tx-old', card_id: 'old-card', merchant_id: 'm-1' },
          { transaction_id: 'tx-none', card_id: 'soft', merchant_id: 'm-1' },
        ],
      })
    );
    // Assess
    expect(statusCode).toBe(200);
    expect(batchCalls() - callsBefore).toBe(1);
    const names = body.featureNames as string[];
    expect(names).toHaveLength(16);
    expect(names[0]).toBe('fraud-transactions.amount');
    const [fresh, old, absent] = body.vectors as {
      entity: Record<string, string>;
      values: unknown[];
      missing: string[];
      stale: string[];
      eventTimes: Record<string, string>;
    }[];
    const featureValue = (v: { values: unknown[] } | undefined, name: string) =>
      v?.values[names.indexOf(name)];
    expect(fresh?.entity).toEqual({
      transaction_id: 'tx-1',
      card_id: 'card-1',
      merchant_id: 'm-1',
    });
    expect(featureValue(fresh, 'fraud-transactions.amount')).toBe(42.5);
    expect(featureValue(fresh, 'fraud-transactions.channel')).toBe('ecom');
    expect(featureValue(fresh, 'fraud-cards.txn_count_30d')).toBe('9007199254740993');
    expect(featureValue(fresh, 'fraud-merchants.mcc')).toBe('5411');
    expect(fresh?.missing).toEqual([
      'fraud-cards.distinct_merchants_30d',
      'fraud-cards.chargebacks_365d',
      'fraud-cards.card_age_days',
    ]);
    expect(fresh?.stale).toEqual([]);
    // Each group's entry is the event time of the record it read (tx-1 a minute old, card-1 and
    // m-1 an hour old), in the order of the set's selections.
    expect(Object.entries(fresh?.eventTimes ?? {})).toEqual([
      ['fraud-transactions', iso(seededAt - 60_000)],
      ['fraud-cards', iso(seededAt - HOUR)],
      ['fraud-merchants', iso(seededAt - HOUR)],
    ]);
    // tx-old is 2 h old (maxAge 1 h), old-card 3 days (maxAge 2 days): every present value stale.
    expect(old?.stale).toContain('fraud-transactions.amount');
    expect(old?.stale).toContain('fraud-cards.txn_count_7d');
    expect(old?.stale.some((n) => n.startsWith('fraud-merchants.'))).toBe(false);
    expect(absent?.missing).toEqual(expect.arrayContaining(['fraud-cards.txn_count_7d']));
    expect(featureValue(absent, 'fraud-cards.txn_count_7d')).toBeNull();
    expect(body.unprocessed).toEqual([]);
  });

  it('answers 0 entities without calling the store', async () => {
    // Prepare
    const callsBefore = batchCalls();
    // Act
    const { statusCode, body } = await invoke(vectorsEvent('fraud_model_v3', { entities: [] }));
    // Assess
    expect(statusCode).toBe(200);
    expect(body.vectors).toEqual([]);
    expect(batchCalls()).toBe(callsBefore);
  });

  it('accepts a base64-encoded body', async () => {
    // Act
    const { statusCode, body } = await invoke(
      vectorsEvent(
        'fraud_model_v3',
        { entities: [{ transaction_id: 'tx-1', card_id: 'card/0001', merchant_id: 'm-1' }] },
        { base64: true }
      )
    );
    // Assess
    expect(statusCode).toBe(200);
    expect((body.vectors as { entity: { card_id: string } }[])[0]?.entity.card_id).toBe(
      'card/0001'
    );
  });

  it.each([
    [
      'an unknown feature set',
      'fraud_model_v9',
      { entities: [] },
      'Unknown feature set "fraud_model_v9"',
    ],
    [
      'a missing entity key',
      'fraud_model_v3',
      { entities: [{ transaction_id: 't', card_id: 'c' }] },
      'entities[0] lacks entity key "merchant_id"',
    ],
    [
      'an unknown entity key',
      'fraud_model_v3',
      { entities: [{ transaction_id: 't', card_id: 'c', merchant_id: 'm', cardid: 'x' }] },
      'entities[0] has unknown member "cardid"',
    ],
    [
      'a non-string key value',
      'fraud_model_v3',
      { entities: [{ transaction_id: 't', card_id: 1, merchant_id: 'm' }] },
      'entities[0].card_id must be a string',
    ],
    [
      'too many entities',
      'fraud_model_v3',
      { entities: Array.from({ length: 1001 }, () => ({})) },
      'Too many entities: at most 1000 per request, got 1001',
    ],
  ])('answers 400 for %s', async (_, set, requestBody, message) => {
    // Act
    const { statusCode, body } = await invoke(vectorsEvent(set, requestBody));
    // Assess
    expect(statusCode).toBe(400);
    expect(body.message).toContain(message);
  });
});

describe('store failures', () => {
  it('answers 429 with Retry-After when the store throttles', async () => {
    // Prepare
    store.store.setFaults({ throttle: 1 });
    try {
      // Act
      const { statusCode, headers, body, requestId } = await invoke(
        getRecordEvent('fraud-cards', 'card-1')
      );
      // Assess
      expect(statusCode).toBe(429);
      expect(headers['retry-after']).toBe('1');
      expect(body).toEqual({
        statusCode: 429,
        error: 'TooManyRequests',
        message: 'The feature store is throttling reads; retry after backing off',
        requestId,
      });
    } finally {
      store.store.setFaults({});
    }
  });

  it.each([
    ['answers 5xx', 1, { serverError: 1 }],
    // A connection broken before any answer is retried once at once (stale keep-alive socket).
    ['drops the connection', 2, { drop: 1 }],
  ])('answers 503 when the store %s, after %i attempt(s)', async (_, attempts, faults) => {
    // Prepare
    store.store.setFaults(faults);
    const linesBefore = storeLog.length;
    try {
      // Act
      const { statusCode, body } = await invoke(getRecordEvent('fraud-cards', 'card-1'));
      // Assess
      expect(statusCode).toBe(503);
      expect(body.error).toBe('ServiceUnavailable');
      const calls = storeLog.slice(linesBefore).filter((l) => l.includes('GetRecord'));
      expect(calls).toHaveLength(attempts);
    } finally {
      store.store.setFaults({});
    }
  });

  it('answers 429 for a batch whose every call is throttled', async () => {
    // Prepare
    store.store.setFaults({ throttle: 1 });
    try {
      // Act
      const { statusCode } = await invoke(
        batchGetEvent({ identifiers: [{ featureGroup: 'fraud-cards', recordIds: BATCH_IDS }] })
      );
      // Assess
      expect(statusCode).toBe(429);
    } finally {
      store.store.setFaults({});
    }
  });

  it('lists the ids of throttled calls as unprocessed and still answers the others', async () => {
    // Prepare: a seeded half of the ten calls is throttled.
    store.store.setFaults({ throttle: 0.5, seed: 7 });
    try {
      // Act
      const { statusCode, body } = await invoke(
        batchGetEvent({ identifiers: [{ featureGroup: 'fraud-cards', recordIds: BATCH_IDS }] })
      );
      // Assess
      expect(statusCode).toBe(200);
      const found = (body.records as { recordId: string }[]).map((r) => r.recordId);
      const unprocessed = body.unprocessed as { recordId: string; reason: string }[];
      expect(found.length).toBeGreaterThan(0);
      expect(unprocessed.length).toBeGreaterThan(0);
      expect(found.length + unprocessed.length).toBe(1000);
      expect(new Set([...found, ...unprocessed.map((u) => u.recordId)]).size).toBe(1000);
      expect(unprocessed[0]?.reason).toMatch(/^ThrottlingException: /);
    } finally {
      store.store.setFaults({});
    }
  });
});

describe("the store's UnprocessedIdentifiers (ids it could not read in time)", () => {
  it('lists them as unprocessed with the reason, every id in exactly one list', async () => {
    // Prepare
    const ids = [...BATCH_IDS.slice(0, 999), 'nobody'];
    store.store.setFaults({ identifierUnprocessed: 0.4, seed: 11 });
    try {
      // Act
      const { statusCode, body } = await invoke(
        batchGetEvent({
          identifiers: [{ featureGroup: 'fraud-cards', recordIds: ids }],
        })
      );
      // Assess
      expect(statusCode).toBe(200);
      const found = (body.records as { recordId: string }[]).map((r) => r.recordId);
      const notFound = (body.notFound as { recordId: string }[]).map((r) => r.recordId);
      const unprocessed = body.unprocessed as { recordId: string; reason: string }[];
      expect(unprocessed.length / ids.length).toBeCloseTo(0.4, 1);
      expect([...found, ...notFound, ...unprocessed.map((u) => u.recordId)].sort()).toEqual(
        ids.sort()
      );
      expect(unprocessed[0]?.reason).toBe('unprocessed by the store (throttled); retry');
    } finally {
      store.store.setFaults({});
    }
  });

  it.each([
    [
      'batch-get',
      batchGetEvent({ identifiers: [{ featureGroup: 'fraud-cards', recordIds: BATCH_IDS }] }),
    ],
    [
      'vectors',
      vectorsEvent('fraud_model_v3', {
        entities: [{ transaction_id: 'tx-1', card_id: 'card-1', merchant_id: 'm-1' }],
      }),
    ],
  ])(
    'answers %s with 429 when the store read none of the ids, as when every call is throttled',
    async (_, event) => {
      // Prepare
      store.store.setFaults({ identifierUnprocessed: 1 });
      try {
        // Act
        const { statusCode, headers, body } = await invoke(event);
        // Assess: not a 200 whose vectors are all missing, which a model would score as such.
        expect(statusCode).toBe(429);
        expect(headers['retry-after']).toBe('1');
        expect(body.error).toBe('TooManyRequests');
      } finally {
        store.store.setFaults({});
      }
    }
  );
});

describe('store failures (vectors)', () => {
  const entities = Array.from({ length: 60 }, (_, i) => ({
    transaction_id: `tx-n${i}`,
    card_id: BATCH_IDS[i] as string,
    merchant_id: 'm-1',
  }));

  beforeAll(async () => {
    // Every id of the read is in the store, so a feature listed missing can only be the
    // throttled chunk's doing, and every answered one has a value to check.
    await Promise.all(
      entities.map(({ transaction_id, card_id }, i) =>
        store.put(transactions, {
          transaction_id,
          event_time: new Date(),
          card_id,
          merchant_id: 'm-1',
          amount: i + 0.5,
          channel: 'ecom',
        })
      )
    );
  });

  it('answers 429 when the one batched read is throttled', async () => {
    // Prepare
    store.store.setFaults({ throttle: 1 });
    try {
      // Act
      const { statusCode } = await invoke(vectorsEvent('fraud_model_v3', { entities }));
      // Assess
      expect(statusCode).toBe(429);
    } finally {
      store.store.setFaults({});
    }
  });

  it('lists the reads of a throttled chunk as unprocessed and their features as missing; the other chunk answers its values', async () => {
    // Prepare: 121 distinct ids make two calls; with this seed exactly one is throttled.
    store.store.setFaults({ throttle: 0.5, seed: 1 });
    try {
      // Act
      const { statusCode, body } = await invoke(vectorsEvent('fraud_model_v3', { entities }));
      // Assess
      expect(statusCode).toBe(200);
      const unprocessed = body.unprocessed as {
        featureGroup: string;
        recordId: string;
        reason: string;
      }[];
      expect(unprocessed.length).toBeGreaterThan(0);
      expect(unprocessed.length).toBeLessThan(121);
      expect(unprocessed[0]?.reason).toMatch(/^ThrottlingException: /);
      const unread = new Set(unprocessed.map((u) => `${u.featureGroup}|${u.recordId}`));
      expect(unread.size).toBe(unprocessed.length);
      const names = body.featureNames as string[];
      const vectors = body.vectors as {
        entity: Record<string, string>;
        values: unknown[];
        missing: string[];
      }[];
      expect(vectors).toHaveLength(entities.length);
      // Per entity and group: the read was unprocessed (every feature missing, no value) or
      // answered with the entity's own stored value.
      const expectRead = (
        v: (typeof vectors)[number],
        group: string,
        recordId: string,
        feature: string,
        stored: unknown
      ) => {
        const name = `${group}.${feature}`;
        const ofGroup = names.filter((n) => n.startsWith(`${group}.`));
        if (unread.has(`${group}|${recordId}`)) {
          expect(v.missing).toEqual(expect.arrayContaining(ofGroup));
          expect(ofGroup.map((n) => v.values[names.indexOf(n)])).toEqual(ofGroup.map(() => null));
        } else {
          expect(v.missing).not.toContain(name);
          expect(v.values[names.indexOf(name)]).toEqual(stored);
        }
      };
      vectors.forEach((v, i) => {
        expect(v.entity).toEqual(entities[i]);
        expectRead(v, 'fraud-transactions', `tx-n${i}`, 'amount', i + 0.5);
        expectRead(v, 'fraud-cards', BATCH_IDS[i] as string, 'txn_count_7d', i);
        expectRead(v, 'fraud-merchants', 'm-1', 'mcc', '5411');
      });
    } finally {
      store.store.setFaults({});
    }
  });
});

/** The outcome counts among `added` (LookupOk, LookupNotFound…: Lookup* but the latency). */
function outcomeCounts(added: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(added).filter(([name]) => name.startsWith('Lookup') && name !== 'LookupLatency')
  );
}

describe('outcome counts', () => {
  it('counts each answer under its status: 5 ok, 4 bad requests, 3 not found, 2 throttled, 1 unavailable', async () => {
    // Prepare: a count per outcome that no other outcome has.
    const times = (n: number, event: () => APIGatewayProxyEvent) =>
      Array.from({ length: n }, event);
    const withFaults = async (faults: Parameters<typeof store.store.setFaults>[0], n: number) => {
      store.store.setFaults(faults);
      try {
        for (const event of times(n, () => getRecordEvent('fraud-cards', 'card-1'))) {
          await invoke(event);
        }
      } finally {
        store.store.setFaults({});
      }
    };
    // Act
    const [, added] = await withMetrics(async () => {
      for (const event of [
        ...times(5, () => getRecordEvent('fraud-cards', 'card-1')),
        ...times(4, () => getRecordEvent('no-such-group', 'card-1')),
        ...times(3, () => getRecordEvent('fraud-cards', 'never-written')),
      ]) {
        await invoke(event);
      }
      await withFaults({ throttle: 1 }, 2);
      await withFaults({ serverError: 1 }, 1);
    });
    // Assess
    expect(outcomeCounts(added)).toEqual({
      LookupOk: 5,
      LookupBadRequest: 4,
      LookupNotFound: 3,
      LookupThrottled: 2,
      LookupUnavailable: 1,
    });
  });
});

describe('routing', () => {
  it('answers 404 for a resource the API does not define', async () => {
    // Act
    const { statusCode, body } = await invoke(
      apiGatewayEvent({
        method: 'DELETE',
        resource: '/feature-groups/batch-get',
        path: '/feature-groups/batch-get',
      })
    );
    // Assess
    expect(statusCode).toBe(404);
    expect(body.message).toBe('No route DELETE /feature-groups/batch-get');
  });
});

// Near the end on purpose: it recreates a group in the store.
describe('a group the store has with fewer features than the schema module (a deploy in progress)', () => {
  it('answers the same 500 naming the group on GET, batch-get and vectors, not features missing', async () => {
    // Prepare: fraud-merchants recreated without chargeback_rate_90d, as it stands on AWS while
    // a deploy that adds the feature has updated the function but not yet the feature group.
    await store.sagemaker.send(
      new DeleteFeatureGroupCommand({ FeatureGroupName: 'fraud-merchants' })
    );
    const { chargeback_rate_90d: _, ...older } = merchants.features;
    await ensureFeatureGroups(
      store.sagemaker,
      [defineFeatureGroup({ ...merchants, features: older, batch: merchants.batch })],
      {
        offlineS3Uri: 's3://local-bucket/offline-store',
        roleArn: 'arn:aws:iam::000000000000:role/skewless-local-offline-store',
      }
    );
    await store.put(merchants, { merchant_id: 'm-1', event_time: new Date(), mcc: '5411' });
    const message =
      'Feature group "fraud-merchants" in the feature store does not have every feature the schema module defines for it (the store refused the read as invalid): deploy the feature groups generated from shared/definitions.ts, or wait for their update to finish';
    // Act
    const get = await invoke(
      getRecordEvent('fraud-merchants', 'm-1', { features: 'chargeback_rate_90d' })
    );
    const batch = await invoke(
      batchGetEvent({
        identifiers: [
          { featureGroup: 'fraud-cards', recordIds: ['card-1'] },
          {
            featureGroup: 'fraud-merchants',
            recordIds: ['m-1'],
            features: ['chargeback_rate_90d'],
          },
        ],
      })
    );
    const vectors = await invoke(
      vectorsEvent('fraud_model_v3', {
        entities: [{ transaction_id: 'tx-1', card_id: 'card-1', merchant_id: 'm-1' }],
      })
    );
    // Assess
    expectSame500([get, batch, vectors], message);
  });
});

// Last on purpose: it deletes a group from the store.
describe('a group defined in the schema module but missing from the store', () => {
  it('answers the same 500 naming the group on GET, batch-get and vectors', async () => {
    // Prepare
    await store.sagemaker.send(
      new DeleteFeatureGroupCommand({ FeatureGroupName: 'fraud-merchants' })
    );
    const message =
      'Feature group "fraud-merchants" is defined but not available in the feature store (not created, not ready yet, or deleted)';
    // Act
    const [[get, batch, vectors], added] = await withMetrics(async () => [
      await invoke(getRecordEvent('fraud-merchants', 'merchant-1')),
      await invoke(
        batchGetEvent({
          identifiers: [
            { featureGroup: 'fraud-cards', recordIds: ['card-1'] },
            { featureGroup: 'fraud-merchants', recordIds: ['merchant-1', 'merchant-2'] },
          ],
        })
      ),
      await invoke(
        vectorsEvent('fraud_model_v3', {
          entities: [{ transaction_id: 't-1', card_id: 'card-1', merchant_id: 'merchant-1' }],
        })
      ),
    ]);
    // Assess
    expectSame500([get, batch, vectors], message);
    // A deployment problem, counted apart from a store that is down (LookupUnavailable).
    expect(outcomeCounts(added)).toEqual({ LookupError: 3 });
  });
});

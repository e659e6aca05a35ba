/**
 * Groups whose record identifier is Integral or Fractional: the lookup must ask the store for the
 * id exactly as the writers stored it (the schema module encodes `42.0` as `42`), and refuse an
 * id that is no value of that type with a 400 naming the member, instead of a silent 404 or an
 * all-missing vector. Real-shape proxy events, the real SDK over HTTP, the embedded store.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFeatureGroups } from '../../local/setup/ensureFeatureGroups.ts';
import { cards } from '../../shared/definitions.ts';
import { LookupCatalog } from '../../shared/lookup/catalog.ts';
import { toHttpError } from '../../shared/lookup/errors.ts';
import { findRoute } from '../../shared/lookup/routes.ts';
import { createLookupService, type LookupService } from '../../shared/lookup/service.ts';
import { toRecord } from '../../shared/record/codec.ts';
import { SchemaRegistry } from '../../shared/registry.ts';
import { defineFeatureSet, select } from '../../shared/schema/index.ts';
import { putEncodedRecord } from '../../shared/store/writer.ts';
import { batchGetEvent, getRecordEvent, vectorsEvent } from '../helpers/apiGatewayEvents.ts';
import { numberKeyedGroups } from '../helpers/numberKeyedGroups.ts';
import { startTestStore, type TestStore } from '../helpers/store.ts';

const { accounts, scores } = numberKeyedGroups('lookup');

const accountSet = defineFeatureSet({
  name: 'accounts_v1',
  description: 'Both groups',
  selections: [select(accounts, ['balance']), select(scores, ['hits'])],
});

/** A String-keyed group beside a number-keyed one (only for requests refused before the read). */
const mixedSet = defineFeatureSet({
  name: 'mixed_v1',
  description: 'A String and an Integral record identifier',
  selections: [select(accounts, ['balance']), select(cards, ['txn_count_7d'])],
});

let store: TestStore;
let service: LookupService;

/** Serve one proxy event; an error becomes its HTTP answer, as the lookup edge does it. */
async function serve(event: APIGatewayProxyEvent): Promise<{ status: number; body: unknown }> {
  const route = findRoute(event.httpMethod, event.resource);
  if (route === undefined) throw new Error(`no route for ${event.resource}`);
  try {
    return { status: 200, body: await service.serve(route, event) };
  } catch (error) {
    const http = toHttpError(error);
    return { status: http.statusCode, body: http.toJSON() };
  }
}

beforeAll(async () => {
  store = await startTestStore();
  await ensureFeatureGroups(store.sagemaker, [accounts, scores], {
    offlineS3Uri: 's3://local-bucket/offline-store',
    roleArn: 'arn:aws:iam::000000000000:role/skewless-local-offline-store',
  });
  const eventTime = new Date();
  // Written the way every Skewless writer writes: through the schema module's encoder.
  for (const record of [
    toRecord(accounts, { account_id: 7, event_time: eventTime, balance: 1.5 }),
    toRecord(scores, { score_key: 42, event_time: eventTime, hits: 3 }),
  ]) {
    await putEncodedRecord(store.runtime, record, { targetStores: ['OnlineStore'] });
  }
  service = createLookupService({
    client: store.runtime,
    catalog: new LookupCatalog(
      new SchemaRegistry([accounts, scores, cards], [accountSet, mixedSet])
    ),
    limits: { maxBatchIds: 1000, maxVectorEntities: 1000 },
  });
});

afterAll(async () => {
  await store?.close();
});

describe('record ids of Integral and Fractional record identifiers', () => {
  it.each([
    ['lookup-accounts', '007', 'an Integral id with leading zeros'],
    ['lookup-accounts', '+7', 'an Integral id with a sign'],
    ['lookup-scores', '42.0', "a Fractional id as Python's str(float) writes it"],
    ['lookup-scores', '4.2e1', 'a Fractional id in exponent notation'],
  ])('GET finds %s record %j (%s), as the writers encoded it', async (group, id) => {
    // Act
    const { status, body } = await serve(getRecordEvent(group, id));
    // Assess
    expect(status).toBe(200);
    expect(body).toMatchObject({ featureGroup: group });
  });

  it.each([
    [
      'strings',
      {
        identifiers: [
          { featureGroup: 'lookup-accounts', recordIds: ['007', '7', '8'] },
          { featureGroup: 'lookup-scores', recordIds: ['42.0'] },
        ],
      },
    ],
    [
      // As vectors take them; 7.0 and "007" are the record written as 7.
      'JSON numbers',
      '{"identifiers":[{"featureGroup":"lookup-accounts","recordIds":[7.0,"007",8]},' +
        '{"featureGroup":"lookup-scores","recordIds":[4.2e1]}]}',
    ],
  ])(
    'batch-get reads each spelling of one id once (%s), under the id the store holds',
    async (_, request) => {
      // Act
      const { status, body } = await serve(batchGetEvent(request));
      // Assess
      expect(status).toBe(200);
      expect(body).toEqual({
        records: [
          expect.objectContaining({ featureGroup: 'lookup-accounts', recordId: '7' }),
          expect.objectContaining({ featureGroup: 'lookup-scores', recordId: '42' }),
        ],
        notFound: [{ featureGroup: 'lookup-accounts', recordId: '8' }],
        unprocessed: [],
      });
    }
  );

  it('vectors read each group with its own encoding and echo the entity as sent', async () => {
    // Act
    const { status, body } = await serve(
      vectorsEvent('accounts_v1', { entities: [{ account_id: '007', score_key: '42.0' }] })
    );
    // Assess
    expect(status).toBe(200);
    expect(body).toMatchObject({
      vectors: [
        { entity: { account_id: '007', score_key: '42.0' }, values: [1.5, 3], missing: [] },
      ],
    });
  });

  it.each([
    [
      'JSON numbers',
      '{"entities":[{"account_id":7,"score_key":42}]}',
      { account_id: 7, score_key: 42 },
    ],
    [
      'a whole number with a fraction part',
      '{"entities":[{"account_id":7.0,"score_key":4.2e1}]}',
      { account_id: 7, score_key: 42 },
    ],
  ])(
    'vectors take %s for number-typed record identifiers, read as the writers encoded them',
    async (_, body, entity) => {
      // Act
      const { status, body: answer } = await serve(vectorsEvent('accounts_v1', body));
      // Assess
      expect(status).toBe(200);
      expect(answer).toMatchObject({ vectors: [{ entity, values: [1.5, 3], missing: [] }] });
    }
  );

  it.each([
    [
      getRecordEvent('lookup-accounts', 'abc'),
      'Path parameter recordId "abc" is not a record id of feature group "lookup-accounts": its record identifier "account_id" is Integral (Integral value must be a base-10 integer)',
    ],
    [
      getRecordEvent('lookup-accounts', '7.0'),
      'Path parameter recordId "7.0" is not a record id of feature group "lookup-accounts": its record identifier "account_id" is Integral',
    ],
    [getRecordEvent('lookup-accounts', '9223372036854775808'), 'outside the signed 64-bit range'],
    [
      batchGetEvent({ identifiers: [{ featureGroup: 'lookup-scores', recordIds: ['1', 'NaN'] }] }),
      'identifiers[0].recordIds[1] "NaN" is not a record id of feature group "lookup-scores": its record identifier "score_key" is Fractional',
    ],
    [
      vectorsEvent('accounts_v1', { entities: [{ account_id: '7', score_key: 'card-1' }] }),
      'entities[0].score_key "card-1" is not a record id of feature group "lookup-scores": its record identifier "score_key" is Fractional',
    ],
    [
      vectorsEvent('accounts_v1', { entities: [{ account_id: 7.5, score_key: 1 }] }),
      'entities[0].account_id 7.5 is not a record id of feature group "lookup-accounts": its record identifier "account_id" is Integral (Integral value must be a whole number)',
    ],
    [
      // JSON.parse rounds it to 2^53: the id would silently be another one. The message names
      // the member, not the rounded value (9007199254740992 is not what was sent).
      vectorsEvent('accounts_v1', '{"entities":[{"account_id":9007199254740993,"score_key":1}]}'),
      'entities[0].account_id is a JSON number beyond ±(2^53 − 1), which cannot be read exactly (JSON parsers round it): send it as a JSON string of its digits; the record identifier "account_id" of feature group "lookup-accounts" is Integral',
    ],
    [
      vectorsEvent('mixed_v1', { entities: [{ account_id: 7, card_id: 42 }] }),
      'entities[0].card_id must be a string: the record identifier "card_id" of feature group "fraud-cards" is String',
    ],
    [
      vectorsEvent('mixed_v1', { entities: [{ account_id: true, card_id: 'c-1' }] }),
      'entities[0].account_id must be a string',
    ],
    [
      batchGetEvent({ identifiers: [{ featureGroup: 'lookup-accounts', recordIds: [7, 7.5] }] }),
      'identifiers[0].recordIds[1] 7.5 is not a record id of feature group "lookup-accounts": its record identifier "account_id" is Integral (Integral value must be a whole number)',
    ],
    [
      batchGetEvent(
        '{"identifiers":[{"featureGroup":"lookup-accounts","recordIds":[9007199254740993]}]}'
      ),
      'identifiers[0].recordIds[0] is a JSON number beyond ±(2^53 − 1), which cannot be read exactly (JSON parsers round it): send it as a JSON string of its digits',
    ],
    [
      batchGetEvent({ identifiers: [{ featureGroup: 'fraud-cards', recordIds: ['c-1', 42] }] }),
      'identifiers[0].recordIds[1] must be a string: the record identifier "card_id" of feature group "fraud-cards" is String',
    ],
    [
      batchGetEvent({ identifiers: [{ featureGroup: 'lookup-accounts', recordIds: [null] }] }),
      'identifiers[0].recordIds[0] must be a string',
    ],
  ])('answers 400 naming the member for an id of the wrong type (%#)', async (event, message) => {
    // Act
    const { status, body } = await serve(event);
    // Assess
    expect(status).toBe(400);
    const text = (body as { message: string }).message;
    expect(text).toContain(message);
    // Words for TypeScript callers and a value the caller never sent mean nothing over HTTP.
    expect(text).not.toContain('bigint');
    expect(text).not.toContain('9007199254740992');
  });
});

// calendar-fixed: the fixed event times (2024) are data compared with each other, in records without a TTL; a record given a TTL is dated from the test clock or in 2999.
/**
 * The runtime API through the real `@aws-sdk/client-sagemaker-featurestore-runtime` client over
 * HTTP against the embedded store: online/offline semantics (contract §5), validation and errors.
 */

import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  BatchGetRecordCommand,
  BatchWriteRecordCommand,
  ConflictException,
  DeleteRecordCommand,
  type DeleteRecordCommandInput,
  type FeatureValue,
  GetRecordCommand,
  type GetRecordCommandInput,
  ListRecordsCommand,
  PutRecordCommand,
  type PutRecordCommandInput,
  paginateListRecords,
  ResourceNotFound,
  type SageMakerFeatureStoreRuntimeClient,
  type SageMakerFeatureStoreRuntimeServiceException,
  UpdateRecordCommand,
  ValidationError,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offlineRows } from '../helpers/offlineRows.ts';
import {
  createGroup,
  startTestStore,
  type TestClock,
  type TestStore,
  testClock,
} from '../helpers/store.ts';

let t: TestStore;
let rt: SageMakerFeatureStoreRuntimeClient;
const clock: TestClock = testClock();

type Fields = Record<string, string>;

function record(fields: Fields): FeatureValue[] {
  return Object.entries(fields).map(([FeatureName, ValueAsString]) => ({
    FeatureName,
    ValueAsString,
  }));
}

function put(group: string, fields: Fields, extra: Partial<PutRecordCommandInput> = {}) {
  return rt.send(
    new PutRecordCommand({ FeatureGroupName: group, Record: record(fields), ...extra })
  );
}

async function get(group: string, id: string, extra: Partial<GetRecordCommandInput> = {}) {
  return rt.send(
    new GetRecordCommand({ FeatureGroupName: group, RecordIdentifierValueAsString: id, ...extra })
  );
}

async function getMap(group: string, id: string): Promise<Record<string, unknown> | undefined> {
  const out = await get(group, id);
  return out.Record === undefined
    ? undefined
    : Object.fromEntries(
        out.Record.map((f) => [f.FeatureName, f.ValueAsString ?? f.ValueAsStringList])
      );
}

function del(
  group: string,
  id: string,
  eventTime: string,
  extra: Partial<DeleteRecordCommandInput> = {}
) {
  return rt.send(
    new DeleteRecordCommand({
      FeatureGroupName: group,
      RecordIdentifierValueAsString: id,
      EventTime: eventTime,
      ...extra,
    })
  );
}

/** Asserts the promise rejects with the SDK exception class `type` and a matching message. */
async function rejects(
  promise: Promise<unknown>,
  type: new (...args: never[]) => SageMakerFeatureStoreRuntimeServiceException,
  message: RegExp
): Promise<SageMakerFeatureStoreRuntimeServiceException> {
  const error = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e
  );
  expect(error).toBeInstanceOf(type);
  const e = error as SageMakerFeatureStoreRuntimeServiceException;
  expect(e.name).toBe(type.name);
  expect(e.message).toMatch(message);
  return e;
}

async function offlineOf(group: string, id?: string) {
  await t.store.flush();
  const rows = await offlineRows(t.store.offlineDataPath(group));
  return id === undefined ? rows : rows.filter((r) => r.id === id);
}

beforeAll(async () => {
  t = await startTestStore({ clock });
  rt = t.runtime;
  await createGroup(t.sagemaker, 'orders', {
    amount: 'Integral',
    price: 'Fractional',
    note: 'String',
  });
  await createGroup(
    t.sagemaker,
    'online-only',
    { amount: 'Integral' },
    { OfflineStoreConfig: undefined }
  );
  await createGroup(t.sagemaker, 'offline-only', {}, { OnlineStoreConfig: undefined });
  await createGroup(
    t.sagemaker,
    'ttl-default',
    {},
    { OnlineStoreConfig: { EnableOnlineStore: true, TtlDuration: { Unit: 'Hours', Value: 1 } } }
  );
  await createGroup(
    t.sagemaker,
    'v2',
    { amount: 'Integral', note: 'String' },
    { OnlineStoreConfig: { EnableOnlineStore: true, StorageType: 'Standard_V2' } }
  );
  await t.sagemaker.send(
    // InMemory groups hold collections and have no offline store.
    new (await import('@aws-sdk/client-sagemaker')).CreateFeatureGroupCommand({
      FeatureGroupName: 'mem',
      RecordIdentifierFeatureName: 'id',
      EventTimeFeatureName: 'ts',
      FeatureDefinitions: [
        { FeatureName: 'id', FeatureType: 'Integral' },
        { FeatureName: 'ts', FeatureType: 'Fractional' },
        { FeatureName: 'tags', FeatureType: 'String', CollectionType: 'List' },
        { FeatureName: 'codes', FeatureType: 'Integral', CollectionType: 'Set' },
        {
          FeatureName: 'embedding',
          FeatureType: 'Fractional',
          CollectionType: 'Vector',
          CollectionConfig: { VectorConfig: { Dimension: 3 } },
        },
      ],
      OnlineStoreConfig: { EnableOnlineStore: true, StorageType: 'InMemory' },
    })
  );
});

afterAll(async () => {
  await t?.close();
});

describe('PutRecord / GetRecord', () => {
  it('round-trips values verbatim and restricts features with FeatureNames', async () => {
    await put('orders', {
      id: 'p1',
      event_time: '2024-01-01T00:00:00Z',
      amount: '+42',
      price: '10.0',
    });
    expect(await getMap('orders', 'p1')).toEqual({
      id: 'p1',
      event_time: '2024-01-01T00:00:00Z',
      amount: '+42',
      price: '10.0',
    });
    const some = await get('orders', 'p1', { FeatureNames: ['amount', 'id'] });
    expect(some.Record).toEqual([
      { FeatureName: 'id', ValueAsString: 'p1' },
      { FeatureName: 'amount', ValueAsString: '+42' },
    ]);
    expect(some.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers GetRecord naming every feature of a 2,500-feature group (a ~200 KB query string)', async () => {
    // The service allows 2,500 features of 64-character names per group; FeatureNames go in the
    // query string. Node's default 16 KiB header limit answered 431 with no body (UnknownError).
    const names = Array.from({ length: 2_498 }, (_, i) =>
      `f${String(i).padStart(4, '0')}`.padEnd(64, 'x')
    );
    await createGroup(t.sagemaker, 'wide', Object.fromEntries(names.map((n) => [n, 'Integral'])), {
      OfflineStoreConfig: undefined,
    });
    await rt.send(
      new PutRecordCommand({
        FeatureGroupName: 'wide',
        Record: record({
          id: 'w1',
          event_time: '2024-01-01T00:00:00Z',
          ...Object.fromEntries(names.map((n, i) => [n, String(i)])),
        }),
      })
    );
    const out = await get('wide', 'w1', { FeatureNames: ['id', 'event_time', ...names] });
    expect(out.Record).toHaveLength(2_500);
    expect(out.Record?.at(-1)).toEqual({ FeatureName: names.at(-1), ValueAsString: '2497' });
  });

  it('answers a never-written identifier with no Record', async () => {
    const out = await get('orders', 'never-written');
    expect(out.Record).toBeUndefined();
  });

  it('accepts identifiers with spaces, slashes and unicode, and group ARNs', async () => {
    const arn = 'arn:aws:sagemaker:us-east-1:000000000000:feature-group/orders';
    const id = 'a b/c&d+e?f=ü';
    await put(arn, { id, event_time: '2024-01-01T00:00:00Z' });
    expect((await getMap('orders', id))?.id).toBe(id);
    await rejects(
      get('arn:aws:sagemaker:us-east-1:111111111111:feature-group/orders', id),
      ResourceNotFound,
      /can't find a FeatureGroup/
    );
  });

  it('is a full overwrite: features absent from the newer record disappear', async () => {
    await put('orders', { id: 'p2', event_time: '2024-01-01T00:00:00Z', amount: '1', note: 'x' });
    await put('orders', { id: 'p2', event_time: '2024-01-02T00:00:00Z', amount: '2' });
    expect(await getMap('orders', 'p2')).toEqual({
      id: 'p2',
      event_time: '2024-01-02T00:00:00Z',
      amount: '2',
    });
  });

  it('keeps the online record on an older event time but writes the older one offline', async () => {
    await put('orders', { id: 'old', event_time: '2024-03-01T10:00:00Z', amount: '2' });
    await put('orders', { id: 'old', event_time: '2024-03-01T09:00:00.123456789Z', amount: '1' });
    expect(await getMap('orders', 'old')).toMatchObject({
      event_time: '2024-03-01T10:00:00Z',
      amount: '2',
    });
    const rows = await offlineOf('orders', 'old');
    expect(rows.map((r) => [r.event_time, r.amount])).toEqual([
      ['2024-03-01T10:00:00Z', 2n],
      ['2024-03-01T09:00:00.123456789Z', 1n],
    ]);
  });

  it('overwrites on an equal event time (later call wins, §11.1)', async () => {
    await put('orders', { id: 'tie', event_time: '2024-03-01T10:00:00Z', amount: '1' });
    await put('orders', { id: 'tie', event_time: '2024-03-01T10:00:00.000Z', amount: '2' });
    expect((await getMap('orders', 'tie'))?.amount).toBe('2');
  });

  it('compares event times as instants, not strings', async () => {
    await put('orders', { id: 'inst', event_time: '2024-03-01T10:00:00.5Z', amount: '1' });
    await put('orders', { id: 'inst', event_time: '2024-03-01T10:00:00.49999Z', amount: '2' });
    expect((await getMap('orders', 'inst'))?.amount).toBe('1');
  });

  it('supports collections on InMemory groups and Fractional event times', async () => {
    await rt.send(
      new PutRecordCommand({
        FeatureGroupName: 'mem',
        Record: [
          { FeatureName: 'id', ValueAsString: '7' },
          { FeatureName: 'ts', ValueAsString: '1767225600.5' },
          { FeatureName: 'tags', ValueAsStringList: ['a', 'b', 'a'] },
          { FeatureName: 'codes', ValueAsStringList: ['1', '2'] },
          { FeatureName: 'embedding', ValueAsStringList: ['0.1', '0.2', '0.3'] },
        ],
      })
    );
    expect(await getMap('mem', '7')).toEqual({
      id: '7',
      ts: '1767225600.5',
      tags: ['a', 'b', 'a'],
      codes: ['1', '2'],
      embedding: ['0.1', '0.2', '0.3'],
    });
    await put('mem', { id: '7', ts: '1767225600.25' });
    expect((await getMap('mem', '7'))?.ts).toBe('1767225600.5');
  });
});

describe('validation', () => {
  const base = { id: 'v1', event_time: '2024-01-01T00:00:00Z' };

  it('rejects a value of the wrong type, naming the feature', async () => {
    await rejects(
      put('orders', { ...base, amount: '12.5' }),
      ValidationError,
      /feature 'amount' \(Integral\): value "12.5" is not a 64-bit signed integer/
    );
    await rejects(
      put('orders', { ...base, price: 'cheap' }),
      ValidationError,
      /feature 'price' \(Fractional\): value "cheap" is not a valid Fractional/
    );
  });

  it('rejects NaN, infinity and int64 overflow', async () => {
    await rejects(put('orders', { ...base, price: 'NaN' }), ValidationError, /'price'.*NaN/);
    await rejects(
      put('orders', { ...base, price: 'Infinity' }),
      ValidationError,
      /'price'.*infinite/
    );
    await rejects(
      put('orders', { ...base, price: '1e400' }),
      ValidationError,
      /'price'.*overflows/
    );
    await rejects(
      put('orders', { ...base, amount: '9223372036854775808' }),
      ValidationError,
      /'amount'.*overflows a 64-bit signed integer/
    );
    await put('orders', { ...base, amount: '-9223372036854775808' });
  });

  it('rejects an unknown feature', async () => {
    await rejects(
      put('orders', { ...base, colour: 'red' }),
      ValidationError,
      /feature 'colour' is not defined in feature group 'orders'/
    );
  });

  it('rejects a record without identifier or event time', async () => {
    await rejects(
      put('orders', { event_time: '2024-01-01T00:00:00Z', amount: '1' }),
      ValidationError,
      /record identifier feature 'id' is missing/
    );
    await rejects(
      put('orders', { id: 'v2', amount: '1' }),
      ValidationError,
      /event time feature 'event_time' is missing/
    );
    await rejects(put('orders', { ...base, id: '' }), ValidationError, /'id'.*must not be empty/);
  });

  it('accepts only Z event times with 0-9 fraction digits', async () => {
    for (const ok of [
      '2024-01-01T00:00:00Z',
      '2024-01-01T00:00:00.1Z',
      '2024-01-01T00:00:00.123456789Z',
    ]) {
      await put('orders', { ...base, event_time: ok });
    }
    for (const bad of [
      '2024-01-01T00:00:00+00:00',
      '2024-01-01 00:00:00Z',
      '2024-01-01T00:00:00.1234567890Z',
      '2024-02-30T00:00:00Z',
      '1704067200',
    ]) {
      await rejects(
        put('orders', { ...base, event_time: bad }),
        ValidationError,
        /event time feature 'event_time' \(String\)/
      );
    }
    await rejects(
      put('mem', { id: '1', ts: '2024-01-01T00:00:00Z' }),
      ValidationError,
      /'ts' \(Fractional\).*not a valid Fractional event time/
    );
  });

  it('rejects ValueAsString/ValueAsStringList mismatches and duplicate features', async () => {
    await rejects(
      rt.send(
        new PutRecordCommand({
          FeatureGroupName: 'orders',
          Record: [...record(base), { FeatureName: 'note', ValueAsStringList: ['a'] }],
        })
      ),
      ValidationError,
      /feature 'note' \(String\): is a scalar feature and needs ValueAsString/
    );
    await rejects(
      put('mem', { id: '1', ts: '1', tags: 'a' }),
      ValidationError,
      /feature 'tags' \(List of String\): is a collection feature and needs ValueAsStringList/
    );
    await rejects(
      rt.send(
        new PutRecordCommand({
          FeatureGroupName: 'orders',
          Record: [...record(base), { FeatureName: 'id', ValueAsString: 'again' }],
        })
      ),
      ValidationError,
      /feature 'id' appears more than once/
    );
  });

  it('validates collection contents (element type, Set duplicates, Vector dimension)', async () => {
    const send = (f: FeatureValue) =>
      rt.send(
        new PutRecordCommand({
          FeatureGroupName: 'mem',
          Record: [...record({ id: '1', ts: '1' }), f],
        })
      );
    await rejects(
      send({ FeatureName: 'codes', ValueAsStringList: ['1', 'x'] }),
      ValidationError,
      /'codes'.*element 1/
    );
    await rejects(
      send({ FeatureName: 'codes', ValueAsStringList: ['1', '1'] }),
      ValidationError,
      /duplicate/
    );
    await rejects(
      send({ FeatureName: 'embedding', ValueAsStringList: ['1'] }),
      ValidationError,
      /exactly 3 elements/
    );
    // The service's item count (0-358,400), which a list of empty strings reaches far below the
    // record size limit.
    await rejects(
      send({ FeatureName: 'tags', ValueAsStringList: Array.from({ length: 358_401 }, () => '') }),
      ValidationError,
      /'tags'.*ValueAsStringList has 358401 elements; at most 358400 are allowed/
    );
    await send({
      FeatureName: 'tags',
      ValueAsStringList: Array.from({ length: 358_400 }, () => ''),
    });
  });

  it('enforces the size limits of §5.8', async () => {
    await rejects(
      put('orders', { ...base, id: 'x'.repeat(2049) }),
      ValidationError,
      /'id'.*larger than 2048 bytes/
    );
    await rejects(
      put('orders', { ...base, note: 'é'.repeat(180_000) }),
      ValidationError,
      /'note'.*larger than 358400 bytes/
    );
    await rejects(
      rt.send(
        new PutRecordCommand({
          FeatureGroupName: 'mem',
          Record: [
            ...record({ id: '1', ts: '1' }),
            {
              FeatureName: 'tags',
              ValueAsStringList: Array.from({ length: 4 }, () => 'y'.repeat(100_000)),
            },
          ],
        })
      ),
      ValidationError,
      /record is larger than 358400 bytes/
    );
    // The limit is in UTF-8 bytes: 3 × 60,000 CJK characters are 540 KB, though only 180,000
    // characters long (each value alone is under the 350 KB value limit).
    await createGroup(t.sagemaker, 'texts', { a: 'String', b: 'String', c: 'String' });
    const cjk = '日'.repeat(60_000);
    await rejects(
      put('texts', { ...base, a: cjk, b: cjk, c: cjk }),
      ValidationError,
      /record is larger than 358400 bytes/
    );
    await rejects(
      rt.send(
        new PutRecordCommand({
          FeatureGroupName: 'mem',
          Record: [
            ...record({ id: '2', ts: '1' }),
            {
              FeatureName: 'tags',
              ValueAsStringList: Array.from({ length: 60_000 }, () => '日本'),
            },
          ],
        })
      ),
      ValidationError,
      /record is larger than 358400 bytes/
    );
  });

  it('reports every problem of a record in one message', async () => {
    const e = await rejects(
      put('orders', { id: 'v3', event_time: 'yesterday', amount: 'x', colour: 'red' }),
      ValidationError,
      /'colour'/
    );
    expect(e.message).toMatch(/'amount'/);
    expect(e.message).toMatch(/'event_time'/);
    expect(e.$metadata.httpStatusCode).toBe(400);
  });
});

describe('missing feature groups', () => {
  it('answers PutRecord and DeleteRecord with ValidationError "Resource Not Found"', async () => {
    const message =
      /^Resource Not Found: Amazon SageMaker can't find a FeatureGroup with name \[nope\]\.$/;
    await rejects(
      put('nope', { id: 'a', event_time: '2024-01-01T00:00:00Z' }),
      ValidationError,
      message
    );
    await rejects(del('nope', 'a', '2024-01-01T00:00:00Z'), ValidationError, message);
  });

  it('answers GetRecord, ListRecords and UpdateRecord with ResourceNotFound (404)', async () => {
    const e = await rejects(
      get('nope', 'a'),
      ResourceNotFound,
      /can't find a FeatureGroup with name \[nope\]/
    );
    expect(e.$metadata.httpStatusCode).toBe(404);
    await rejects(
      rt.send(new ListRecordsCommand({ FeatureGroupName: 'nope' })),
      ResourceNotFound,
      /nope/
    );
    await rejects(
      rt.send(
        new UpdateRecordCommand({
          FeatureGroupName: 'nope',
          RecordIdentifierValueAsString: 'a',
          Features: record({ note: 'x' }),
        })
      ),
      ResourceNotFound,
      /nope/
    );
  });

  it('rejects malformed group names before looking them up', async () => {
    await rejects(get('bad name!', 'a'), ValidationError, /failed to satisfy constraint/);
  });

  it('answers GetRecord on an offline-only group with ResourceNotFound', async () => {
    await rejects(get('offline-only', 'a'), ResourceNotFound, /does not have an online store/);
  });
});

describe('TTL', () => {
  function nowIso(offsetMs = 0): string {
    return new Date(clock.now() + offsetMs).toISOString();
  }

  it('hides a record once EventTime + TtlDuration has passed (checked at read)', async () => {
    // The clock is held: following the wall clock, a stall of over a second (a loaded machine)
    // before the read one second before expiry found the record already expired.
    await clock.held(async () => {
      const eventTime = nowIso();
      await put(
        'orders',
        { id: 'ttl1', event_time: eventTime },
        { TtlDuration: { Unit: 'Seconds', Value: 30 } }
      );
      const withExpiry = await get('orders', 'ttl1', { ExpirationTimeResponse: 'Enabled' });
      expect(Date.parse(withExpiry.ExpiresAt ?? '')).toBe(Date.parse(eventTime) + 30_000);
      expect(
        (await get('orders', 'ttl1', { ExpirationTimeResponse: 'Disabled' })).ExpiresAt
      ).toBeUndefined();
      expect((await get('orders', 'ttl1')).ExpiresAt).toBeUndefined();
      clock.advance(29_000);
      expect((await get('orders', 'ttl1')).Record).toBeDefined();
      clock.advance(1_001);
      expect((await get('orders', 'ttl1')).Record).toBeUndefined();
      const batch = await rt.send(
        new BatchGetRecordCommand({
          Identifiers: [{ FeatureGroupName: 'orders', RecordIdentifiersValueAsString: ['ttl1'] }],
        })
      );
      expect(batch.Records).toEqual([]);
      expect(batch.Errors).toEqual([]);
    });
  });

  it('serves a record until its ExpiresAt to the nanosecond, on every read', async () => {
    await clock.held(async () => {
      // Prepare: an event time 1 ns after a millisecond; ExpiresAt is 1 ns after a millisecond too.
      const eventTime = nowIso().replace('Z', '000001Z');
      await put(
        'orders',
        { id: 'ttl-ns', event_time: eventTime },
        { TtlDuration: { Unit: 'Seconds', Value: 30 } }
      );
      const reads = async () => {
        const one = await get('orders', 'ttl-ns', { ExpirationTimeResponse: 'Enabled' });
        const batch = await rt.send(
          new BatchGetRecordCommand({
            Identifiers: [
              { FeatureGroupName: 'orders', RecordIdentifiersValueAsString: ['ttl-ns'] },
            ],
          })
        );
        const list = await rt.send(new ListRecordsCommand({ FeatureGroupName: 'orders' }));
        return {
          get: one.Record !== undefined,
          expiresAt: one.ExpiresAt,
          batch: (batch.Records ?? []).length === 1,
          list: (list.RecordIdentifiers ?? []).includes('ttl-ns'),
        };
      };
      // Act: the clock at the millisecond ExpiresAt falls in, then one millisecond later.
      clock.advance(30_000);
      const atTheMillisecond = await reads();
      clock.advance(1);
      const after = await reads();
      // Assess: still before ExpiresAt, so still served; then gone everywhere.
      const expiresAt = new Date(Date.parse(eventTime) + 30_000).toISOString();
      expect(atTheMillisecond).toEqual({
        get: true,
        expiresAt: expiresAt.replace('Z', '000001Z'),
        batch: true,
        list: true,
      });
      expect(after).toEqual({ get: false, expiresAt: undefined, batch: false, list: false });
    });
  });

  it('counts from the event time, not the write time', async () => {
    await put(
      'orders',
      { id: 'ttl2', event_time: nowIso(-120_000) },
      { TtlDuration: { Unit: 'Minutes', Value: 1 } }
    );
    expect((await get('orders', 'ttl2')).Record).toBeUndefined();
  });

  it('uses the group default unless the request sets a TTL', async () => {
    const eventTime = nowIso();
    await put('ttl-default', { id: 'd1', event_time: eventTime });
    await put(
      'ttl-default',
      { id: 'd2', event_time: eventTime },
      { TtlDuration: { Unit: 'Days', Value: 1 } }
    );
    const d1 = await get('ttl-default', 'd1', { ExpirationTimeResponse: 'Enabled' });
    const d2 = await get('ttl-default', 'd2', { ExpirationTimeResponse: 'Enabled' });
    expect(Date.parse(d1.ExpiresAt ?? '')).toBe(Date.parse(eventTime) + 3_600_000);
    expect(Date.parse(d2.ExpiresAt ?? '')).toBe(Date.parse(eventTime) + 86_400_000);
    clock.advance(3_600_001);
    expect((await get('ttl-default', 'd1')).Record).toBeUndefined();
    expect((await get('ttl-default', 'd2')).Record).toBeDefined();
  });

  it('lets an expired record be replaced by an older write (expiry is a hard delete)', async () => {
    const eventTime = nowIso(-10_000);
    await put(
      'orders',
      { id: 'ttl3', event_time: eventTime, amount: '1' },
      { TtlDuration: { Unit: 'Seconds', Value: 1 } }
    );
    await put('orders', { id: 'ttl3', event_time: nowIso(-20_000), amount: '2' });
    expect((await getMap('orders', 'ttl3'))?.amount).toBe('2');
  });

  it('rejects TTL on a group without online store and malformed TTLs', async () => {
    await rejects(
      put(
        'offline-only',
        { id: 'x', event_time: nowIso() },
        { TtlDuration: { Unit: 'Seconds', Value: 5 } }
      ),
      ValidationError,
      /has no online store/
    );
    await rejects(
      put(
        'orders',
        { id: 'x', event_time: nowIso() },
        { TtlDuration: { Unit: 'Seconds', Value: 0 } }
      ),
      ValidationError,
      /TtlDuration.Value 0 must be an integer from 1 to 2147483647/
    );
  });

  it('validates TtlDuration to the model bounds (a 32-bit Value) and answers a far ExpiresAt', async () => {
    for (const ttl of [
      { Unit: 'Days', Value: 2_147_483_648 },
      { Unit: 'Weeks', Value: 1e12 },
      { Unit: 'Hours', Value: 1.5 },
    ] as const) {
      await rejects(
        put('orders', { id: 'ttl-big', event_time: nowIso() }, { TtlDuration: ttl }),
        ValidationError,
        /TtlDuration.Value .* must be an integer from 1 to 2147483647/
      );
    }
    // The largest TTL the model allows ends millions of years after the year 9999: ExpiresAt is
    // answered as the last instant an ISO-8601 time can name, never "0NaN-…".
    await put(
      'orders',
      { id: 'ttl-max', event_time: nowIso() },
      { TtlDuration: { Unit: 'Weeks', Value: 2_147_483_647 } }
    );
    const out = await get('orders', 'ttl-max', { ExpirationTimeResponse: 'Enabled' });
    expect(out.Record).toBeDefined();
    expect(out.ExpiresAt).toBe('9999-12-31T23:59:59.999Z');
  });

  it('never fails a read because of stored data (a TTL stored before it was bounded)', async () => {
    await put('orders', { id: 'ttl-stored', event_time: nowIso() });
    // What `{Weeks, 10^12}` left in the database before the bound: 6.048e17 seconds.
    const db = new DatabaseSync(join(t.dataDir, 'store.sqlite'));
    try {
      db.exec('PRAGMA busy_timeout = 5000');
      db.prepare(
        "UPDATE online SET ttl_s = 604800000000000000, exp_ms = 1e30 WHERE rid = 'ttl-stored'"
      ).run();
    } finally {
      db.close();
    }
    const out = await get('orders', 'ttl-stored', { ExpirationTimeResponse: 'Enabled' });
    expect(out.Record).toBeDefined();
    expect(out.ExpiresAt).toBe('9999-12-31T23:59:59.999Z');
  });

  it('expiry hard-deletes online and appends a deleted record offline at ExpiresAt', async () => {
    const eventTime = nowIso();
    await put(
      'orders',
      { id: 'ttl-expiry', event_time: eventTime, amount: '5' },
      { TtlDuration: { Unit: 'Seconds', Value: 30 } }
    );
    clock.advance(31_000);
    expect((await get('orders', 'ttl-expiry')).Record).toBeUndefined();
    const rows = await offlineOf('orders', 'ttl-expiry');
    expect(rows.map((r) => [r.event_time, r.is_deleted, r.amount])).toEqual([
      [eventTime, false, 5n],
      [new Date(Date.parse(eventTime) + 30_000).toISOString(), true, null],
    ]);
    // Hard-deleted: gone from ListRecords, even with soft-deleted records included.
    const all = await rt.send(
      new ListRecordsCommand({ FeatureGroupName: 'orders', IncludeSoftDeletedRecords: true })
    );
    expect(all.RecordIdentifiers).not.toContain('ttl-expiry');
  });
});

describe('DeleteRecord', () => {
  it('SoftDelete keeps a tombstone online and appends a delete marker offline', async () => {
    await put('orders', { id: 'sd', event_time: '2024-05-01T00:00:00Z', amount: '1', note: 'n' });
    await del('orders', 'sd', '2024-05-02T00:00:00Z');
    expect((await get('orders', 'sd')).Record).toBeUndefined();
    const all = await rt.send(
      new ListRecordsCommand({ FeatureGroupName: 'orders', IncludeSoftDeletedRecords: true })
    );
    expect(all.RecordIdentifiers).toContain('sd');
    const live = await rt.send(new ListRecordsCommand({ FeatureGroupName: 'orders' }));
    expect(live.RecordIdentifiers).not.toContain('sd');
    // An older put is historic (the tombstone keeps the delete's event time); a newer one revives.
    await put('orders', { id: 'sd', event_time: '2024-05-01T12:00:00Z', amount: '2' });
    expect((await get('orders', 'sd')).Record).toBeUndefined();
    await put('orders', { id: 'sd', event_time: '2024-05-03T00:00:00Z', amount: '3' });
    expect((await getMap('orders', 'sd'))?.amount).toBe('3');
    const rows = await offlineOf('orders', 'sd');
    expect(rows.map((r) => [r.event_time, r.is_deleted, r.amount, r.note])).toEqual([
      ['2024-05-01T00:00:00Z', false, 1n, 'n'],
      ['2024-05-02T00:00:00Z', true, null, null],
      ['2024-05-01T12:00:00Z', false, 2n, null],
      ['2024-05-03T00:00:00Z', false, 3n, null],
    ]);
  });

  it('SoftDelete with an older event time changes nothing online but still appends a marker', async () => {
    await put('orders', { id: 'sd-old', event_time: '2024-05-02T00:00:00Z', amount: '1' });
    await del('orders', 'sd-old', '2024-05-01T00:00:00Z');
    expect((await getMap('orders', 'sd-old'))?.amount).toBe('1');
    const rows = await offlineOf('orders', 'sd-old');
    expect(rows.map((r) => r.is_deleted)).toEqual([false, true]);
  });

  it('a delete at the record’s own event time does not apply: the record stands, online and first in the offline order', async () => {
    await put('orders', { id: 'tie', event_time: '2024-05-02T00:00:00Z', amount: '1' });
    await del('orders', 'tie', '2024-05-02T00:00:00Z');
    expect((await getMap('orders', 'tie'))?.amount).toBe('1');
    // A put at a tombstone's own event time revives the record.
    await put('orders', { id: 'tie-revive', event_time: '2024-05-01T00:00:00Z', amount: '1' });
    await del('orders', 'tie-revive', '2024-05-02T00:00:00Z');
    await put('orders', { id: 'tie-revive', event_time: '2024-05-02T00:00:00Z', amount: '2' });
    expect((await getMap('orders', 'tie-revive'))?.amount).toBe('2');
    // The offline "latest" order (event time DESC, live before deleted, api time DESC) agrees.
    await t.store.flush();
    const latest = await offlineRows(
      t.store.offlineDataPath('orders'),
      'event_time DESC, is_deleted ASC, api_invocation_time DESC'
    );
    for (const id of ['tie', 'tie-revive']) {
      const first = latest.find((r) => r.id === id);
      expect([first?.is_deleted, first?.amount]).toEqual([false, id === 'tie' ? 1n : 2n]);
    }
  });

  it('HardDelete removes the record; a later older put brings it back', async () => {
    await put('orders', { id: 'hd', event_time: '2024-05-02T00:00:00Z', amount: '1' });
    await del('orders', 'hd', '2024-05-03T00:00:00Z', { DeletionMode: 'HardDelete' });
    expect((await get('orders', 'hd')).Record).toBeUndefined();
    const all = await rt.send(
      new ListRecordsCommand({ FeatureGroupName: 'orders', IncludeSoftDeletedRecords: true })
    );
    expect(all.RecordIdentifiers).not.toContain('hd');
    await put('orders', { id: 'hd', event_time: '2024-01-01T00:00:00Z', amount: '2' });
    expect((await getMap('orders', 'hd'))?.amount).toBe('2');
    const rows = await offlineOf('orders', 'hd');
    expect(rows.map((r) => [r.event_time, r.is_deleted])).toEqual([
      ['2024-05-02T00:00:00Z', false],
      ['2024-05-03T00:00:00Z', true],
      ['2024-01-01T00:00:00Z', false],
    ]);
  });

  it('HardDelete with an event time not later than the stored one is a ValidationError and writes nothing', async () => {
    await put('orders', { id: 'hd-old', event_time: '2024-05-02T00:00:00Z', amount: '1' });
    await rejects(
      del('orders', 'hd-old', '2024-05-02T00:00:00Z', { DeletionMode: 'HardDelete' }),
      ValidationError,
      /HardDelete .* not later than/
    );
    expect((await getMap('orders', 'hd-old'))?.amount).toBe('1');
    expect((await offlineOf('orders', 'hd-old')).map((r) => r.is_deleted)).toEqual([false]);
  });

  it('honours TargetStores and validates its inputs', async () => {
    await put('orders', { id: 'del-ts', event_time: '2024-05-02T00:00:00Z' });
    await del('orders', 'del-ts', '2024-05-03T00:00:00Z', { TargetStores: ['OfflineStore'] });
    expect((await get('orders', 'del-ts')).Record).toBeDefined();
    await del('orders', 'del-ts', '2024-05-04T00:00:00Z', {
      TargetStores: ['OnlineStore'],
      DeletionMode: 'HardDelete',
    });
    expect((await get('orders', 'del-ts')).Record).toBeUndefined();
    expect((await offlineOf('orders', 'del-ts')).map((r) => [r.event_time, r.is_deleted])).toEqual([
      ['2024-05-02T00:00:00Z', false],
      ['2024-05-03T00:00:00Z', true],
    ]);
    await rejects(
      del('orders', 'x', 'soon'),
      ValidationError,
      /EventTime for event time feature 'event_time'/
    );
    await rejects(
      del('orders', 'x', '2024-05-02T00:00:00Z', { DeletionMode: 'Shred' as 'HardDelete' }),
      ValidationError,
      /DeletionMode "Shred"/
    );
  });
});

describe('TargetStores', () => {
  it('OfflineStore only: nothing online; a later OnlineStore put with the same event time appears', async () => {
    const fields = { id: 'ts1', event_time: '2024-06-01T00:00:00Z', amount: '5' };
    await put('orders', fields, { TargetStores: ['OfflineStore'] });
    expect((await get('orders', 'ts1')).Record).toBeUndefined();
    await put('orders', fields, { TargetStores: ['OnlineStore'] });
    expect((await getMap('orders', 'ts1'))?.amount).toBe('5');
    expect(await offlineOf('orders', 'ts1')).toHaveLength(1);
  });

  it('OnlineStore only: online, not offline', async () => {
    await put(
      'orders',
      { id: 'ts2', event_time: '2024-06-01T00:00:00Z' },
      { TargetStores: ['OnlineStore'] }
    );
    expect((await get('orders', 'ts2')).Record).toBeDefined();
    expect(await offlineOf('orders', 'ts2')).toHaveLength(0);
  });

  it('defaults to the stores the group has', async () => {
    await put('online-only', { id: 'ts3', event_time: '2024-06-01T00:00:00Z' });
    expect((await get('online-only', 'ts3')).Record).toBeDefined();
    await put('offline-only', { id: 'ts3', event_time: '2024-06-01T00:00:00Z' });
    expect(await offlineOf('offline-only', 'ts3')).toHaveLength(1);
  });

  it('rejects stores the group does not have, duplicates and unknown values', async () => {
    const fields = { id: 'ts4', event_time: '2024-06-01T00:00:00Z' };
    await rejects(
      put('online-only', fields, { TargetStores: ['OfflineStore'] }),
      ValidationError,
      /^\[OfflineStore\] of FeatureGroup: 'online-only' are not enabled, however they are specified in target store\.$/
    );
    await rejects(
      put('offline-only', fields, { TargetStores: ['OnlineStore', 'OfflineStore'] }),
      ValidationError,
      /\[OnlineStore\] of FeatureGroup: 'offline-only' are not enabled/
    );
    await rejects(
      put('orders', fields, { TargetStores: ['OnlineStore', 'OnlineStore'] }),
      ValidationError,
      /more than once/
    );
    await rejects(
      put('orders', fields, { TargetStores: ['Elsewhere' as 'OnlineStore'] }),
      ValidationError,
      /"Elsewhere"/
    );
    await rejects(put('orders', fields, { TargetStores: [] }), ValidationError, /1 or 2/);
  });
});

describe('BatchGetRecord', () => {
  beforeAll(async () => {
    for (const id of ['b1', 'b2', 'b3']) {
      await put('orders', {
        id,
        event_time: '2024-07-01T00:00:00Z',
        amount: id.slice(1),
        note: id,
      });
    }
  });

  it('returns found records, omits missing ids and reports unknown groups per identifier', async () => {
    const out = await rt.send(
      new BatchGetRecordCommand({
        Identifiers: [
          {
            FeatureGroupName: 'orders',
            RecordIdentifiersValueAsString: ['b1', 'missing', 'b3'],
            FeatureNames: ['amount'],
          },
          { FeatureGroupName: 'ghost', RecordIdentifiersValueAsString: ['g1', 'g2'] },
          {
            FeatureGroupName: 'arn:aws:sagemaker:us-east-1:000000000000:feature-group/orders',
            RecordIdentifiersValueAsString: ['b2'],
          },
        ],
      })
    );
    expect(out.Records).toEqual([
      {
        FeatureGroupName: 'orders',
        RecordIdentifierValueAsString: 'b1',
        Record: [{ FeatureName: 'amount', ValueAsString: '1' }],
      },
      {
        FeatureGroupName: 'orders',
        RecordIdentifierValueAsString: 'b3',
        Record: [{ FeatureName: 'amount', ValueAsString: '3' }],
      },
      {
        FeatureGroupName: 'arn:aws:sagemaker:us-east-1:000000000000:feature-group/orders',
        RecordIdentifierValueAsString: 'b2',
        Record: record({ id: 'b2', event_time: '2024-07-01T00:00:00Z', amount: '2', note: 'b2' }),
      },
    ]);
    expect(out.Errors).toEqual(
      ['g1', 'g2'].map((id) => ({
        FeatureGroupName: 'ghost',
        RecordIdentifierValueAsString: id,
        ErrorCode: 'ResourceNotFound',
        ErrorMessage:
          "Resource Not Found: Amazon SageMaker can't find a FeatureGroup with name [ghost].",
      }))
    );
    expect(out.UnprocessedIdentifiers).toEqual([]);
  });

  it('rejects more than 100 identifiers', async () => {
    const ids = Array.from({ length: 101 }, (_, i) => `id-${i}`);
    await rejects(
      rt.send(
        new BatchGetRecordCommand({
          Identifiers: [{ FeatureGroupName: 'orders', RecordIdentifiersValueAsString: ids }],
        })
      ),
      ValidationError,
      /1 to 100 strings/
    );
    await rejects(
      rt.send(
        new BatchGetRecordCommand({
          Identifiers: [
            { FeatureGroupName: 'orders', RecordIdentifiersValueAsString: ids.slice(0, 60) },
            { FeatureGroupName: 'orders', RecordIdentifiersValueAsString: ids.slice(60, 101) },
          ],
        })
      ),
      ValidationError,
      /at most 100 records per call; this request asks for 101/
    );
    const hundred = await rt.send(
      new BatchGetRecordCommand({
        Identifiers: [
          { FeatureGroupName: 'orders', RecordIdentifiersValueAsString: ids.slice(0, 100) },
        ],
      })
    );
    expect(hundred.Records).toEqual([]);
  });

  it('returns ExpiresAt when asked', async () => {
    await put(
      'orders',
      { id: 'b-ttl', event_time: '2999-01-01T00:00:00Z' },
      { TtlDuration: { Unit: 'Weeks', Value: 1 } }
    );
    const out = await rt.send(
      new BatchGetRecordCommand({
        Identifiers: [
          { FeatureGroupName: 'orders', RecordIdentifiersValueAsString: ['b-ttl', 'b1'] },
        ],
        ExpirationTimeResponse: 'Enabled',
      })
    );
    expect(out.Records?.map((r) => r.ExpiresAt)).toEqual(['2999-01-08T00:00:00.000Z', undefined]);
  });
});

describe('BatchWriteRecord', () => {
  it('writes valid entries and reports the failing ones per entry', async () => {
    const good = {
      FeatureGroupName: 'orders',
      Record: record({ id: 'bw1', event_time: '2999-01-01T00:00:00Z', amount: '1' }),
    };
    const noId = {
      FeatureGroupName: 'orders',
      Record: record({ event_time: '2024-08-01T00:00:00Z' }),
    };
    const ghost = {
      FeatureGroupName: 'ghost',
      Record: record({ id: 'bw2', event_time: '2024-08-01T00:00:00Z' }),
    };
    const ttl = {
      FeatureGroupName: 'orders',
      Record: record({ id: 'bw3', event_time: '2999-01-01T00:00:00Z' }),
      TtlDuration: { Unit: 'Days' as const, Value: 2 },
    };
    const fallback = {
      FeatureGroupName: 'orders',
      Record: record({ id: 'bw4', event_time: '2999-01-01T00:00:00Z' }),
    };
    const out = await rt.send(
      new BatchWriteRecordCommand({
        Entries: [good, noId, ghost, ttl, fallback],
        TtlDuration: { Unit: 'Days', Value: 1 },
      })
    );
    expect(out.Errors).toEqual([
      {
        Entry: noId,
        ErrorCode: 'ValidationError',
        ErrorMessage: expect.stringMatching(/record identifier feature 'id' is missing/),
      },
      {
        Entry: ghost,
        ErrorCode: 'ResourceNotFound',
        ErrorMessage: expect.stringMatching(/\[ghost\]/),
      },
    ]);
    expect(out.UnprocessedEntries).toEqual([]);
    expect((await getMap('orders', 'bw1'))?.amount).toBe('1');
    const expiry = async (id: string) =>
      (await get('orders', id, { ExpirationTimeResponse: 'Enabled' })).ExpiresAt;
    expect(await expiry('bw3')).toBe('2999-01-03T00:00:00.000Z');
    expect(await expiry('bw4')).toBe('2999-01-02T00:00:00.000Z');
  });

  it('rejects an empty or oversized batch as a whole', async () => {
    await rejects(
      rt.send(new BatchWriteRecordCommand({ Entries: [] })),
      ValidationError,
      /1 to 25 entries/
    );
    const entry = {
      FeatureGroupName: 'orders',
      Record: record({ id: 'x', event_time: '2024-08-01T00:00:00Z' }),
    };
    await rejects(
      rt.send(new BatchWriteRecordCommand({ Entries: Array.from({ length: 26 }, () => entry) })),
      ValidationError,
      /1 to 25 entries/
    );
  });
});

describe('text that is not valid Unicode (a lone UTF-16 surrogate)', () => {
  // JSON "\ud800" parses to a lone surrogate, which UTF-8 (what the service stores) cannot
  // encode: the store refuses it, naming the field, rather than store another id or value.
  const lone = 'u-\ud800';

  it('refuses it in the record identifier and in a String value at PutRecord, writing nothing', async () => {
    await rejects(
      put('orders', { id: lone, event_time: '2024-09-01T00:00:00Z' }),
      ValidationError,
      /Invalid record for FeatureGroup \[orders\]: feature 'id' \(String\): value "u-\\ud800" is not valid Unicode \(a lone surrogate, U\+D800\)/
    );
    await rejects(
      put('orders', { id: 'ls-note', event_time: '2024-09-01T00:00:00Z', note: 'x\udc00y' }),
      ValidationError,
      /feature 'note' \(String\): value "x\\udc00y" is not valid Unicode \(a lone surrogate, U\+DC00\)/
    );
    // Nothing was stored under the id the store would have made of it (U+FFFD) either.
    expect(await getMap('orders', 'u-\ufffd')).toBeUndefined();
    expect(await getMap('orders', 'ls-note')).toBeUndefined();
  });

  it('refuses it per entry at BatchWriteRecord, writing the other entries', async () => {
    const good = {
      FeatureGroupName: 'orders',
      Record: record({ id: 'ls-good', event_time: '2024-09-01T00:00:00Z' }),
    };
    const badId = {
      FeatureGroupName: 'orders',
      Record: record({ id: lone, event_time: '2024-09-01T00:00:00Z' }),
    };
    const badList = {
      FeatureGroupName: 'mem',
      Record: [
        { FeatureName: 'id', ValueAsString: '7' },
        { FeatureName: 'ts', ValueAsString: '1700000000' },
        { FeatureName: 'tags', ValueAsStringList: ['ok', '\ud83d'] },
      ],
    };
    const out = await rt.send(new BatchWriteRecordCommand({ Entries: [good, badId, badList] }));
    expect(out.Errors).toEqual([
      {
        Entry: badId,
        ErrorCode: 'ValidationError',
        ErrorMessage: expect.stringMatching(
          /feature 'id' \(String\): value "u-\\ud800" is not valid Unicode/
        ),
      },
      {
        Entry: badList,
        ErrorCode: 'ValidationError',
        ErrorMessage: expect.stringMatching(
          /feature 'tags' \(List of String\): element 1: value "\\ud83d" is not valid Unicode \(a lone surrogate, U\+D83D\)/
        ),
      },
    ]);
    expect(await getMap('orders', 'ls-good')).toBeDefined();
    expect(await getMap('orders', 'u-\ufffd')).toBeUndefined();
  });

  it('answers a read or delete by such an id with ValidationError, not a miss', async () => {
    // A record whose id is U+FFFD, what a lone surrogate turns into when forced into UTF-8.
    await put('orders', { id: 'u-\ufffd', event_time: '2024-09-01T00:00:00Z', note: 'other' });
    await rejects(
      rt.send(
        new BatchGetRecordCommand({
          Identifiers: [
            { FeatureGroupName: 'orders', RecordIdentifiersValueAsString: ['b1', lone] },
          ],
        })
      ),
      ValidationError,
      /Identifiers\[0\]\.RecordIdentifiersValueAsString\[1\]: value "u-\\ud800" is not valid Unicode \(a lone surrogate, U\+D800\)/
    );
    // GetRecord and DeleteRecord carry the id in the query string, as UTF-8 percent-encoded:
    // the SDK cannot encode a lone surrogate at all; the bytes a lenient client would send
    // (ED A0 80, the surrogate's code point in UTF-8 form) are no UTF-8.
    await expect(get('orders', lone)).rejects.toThrow(URIError);
    const raw = async (method: string, query: string) => {
      const res = await fetch(`${t.store.endpoint}/FeatureGroup/orders?${query}`, { method });
      return { status: res.status, body: (await res.json()) as { message?: string } };
    };
    const invalid = {
      status: 400,
      body: {
        message:
          'Query parameter RecordIdentifierValueAsString is not valid Unicode once percent-decoded: the bytes are not UTF-8 (a lone surrogate cannot be encoded in UTF-8)',
      },
    };
    expect(await raw('GET', 'RecordIdentifierValueAsString=u-%ED%A0%80')).toMatchObject(invalid);
    expect(
      await raw(
        'DELETE',
        'RecordIdentifierValueAsString=u-%ED%A0%80&EventTime=2024-10-01T00:00:00Z'
      )
    ).toMatchObject(invalid);
    expect(await getMap('orders', 'u-\ufffd')).toMatchObject({ note: 'other' });
  });

  it('refuses it at UpdateRecord, in the id and in a feature value', async () => {
    await put('v2', { id: 'u-\ufffd', event_time: '2024-09-01T00:00:00Z', note: 'kept' });
    await rejects(
      rt.send(
        new UpdateRecordCommand({
          FeatureGroupName: 'v2',
          RecordIdentifierValueAsString: lone,
          Features: [{ FeatureName: 'note', ValueAsString: 'changed' }],
        })
      ),
      ValidationError,
      /RecordIdentifierValueAsString: value "u-\\ud800" is not valid Unicode \(a lone surrogate, U\+D800\)/
    );
    await rejects(
      rt.send(
        new UpdateRecordCommand({
          FeatureGroupName: 'v2',
          RecordIdentifierValueAsString: 'u-\ufffd',
          Features: [{ FeatureName: 'note', ValueAsString: '\udfff' }],
        })
      ),
      ValidationError,
      /feature 'note' \(String\): value "\\udfff" is not valid Unicode \(a lone surrogate, U\+DFFF\)/
    );
    expect(await getMap('v2', 'u-\ufffd')).toMatchObject({ note: 'kept' });
  });

  it('refuses a request body that is not UTF-8 (a Windows-1252 é) as it refuses one that is not JSON, storing nothing under U+FFFD', async () => {
    // Prepare: what a client writing Windows-1252 sends; no SDK does (they encode UTF-8).
    const body = Buffer.from(
      JSON.stringify({ Record: record({ id: 'caf\xe9', event_time: '2024-09-01T00:00:00Z' }) }),
      'latin1'
    );
    const send = async (method: string, path: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${t.store.endpoint}${path}`, { method, body, headers });
      const text = await res.text();
      return {
        status: res.status,
        type: res.headers.get('x-amzn-errortype'),
        body: (text === '' ? {} : JSON.parse(text)) as object,
      };
    };
    // Act
    const putRecord = await send('PUT', '/FeatureGroup/orders');
    const controlPlane = await send('POST', '/', {
      'X-Amz-Target': 'SageMaker.DescribeFeatureGroup',
      'Content-Type': 'application/x-amz-json-1.1',
    });
    // Assess
    const message =
      'The request body is not valid UTF-8 (invalid byte 0xE9 at offset 51): JSON text is UTF-8 (RFC 8259)';
    expect(putRecord).toMatchObject({ status: 400, type: 'ValidationError', body: { message } });
    expect(controlPlane).toMatchObject({
      status: 400,
      type: 'ValidationException',
      body: { message },
    });
    expect(await getMap('orders', 'caf\ufffd')).toBeUndefined();
  });
});

describe('UpdateRecord', () => {
  it('updates only the features sent and keeps the event time when omitted', async () => {
    await put('v2', { id: 'u1', event_time: '2999-09-01T00:00:00Z', amount: '1', note: 'a' });
    await rt.send(
      new UpdateRecordCommand({
        FeatureGroupName: 'v2',
        RecordIdentifierValueAsString: 'u1',
        Features: record({ note: 'b' }),
      })
    );
    expect(await getMap('v2', 'u1')).toEqual({
      id: 'u1',
      event_time: '2999-09-01T00:00:00Z',
      amount: '1',
      note: 'b',
    });
    await rt.send(
      new UpdateRecordCommand({
        FeatureGroupName: 'v2',
        RecordIdentifierValueAsString: 'u1',
        Features: record({ event_time: '2999-09-02T00:00:00Z', amount: '2' }),
        TtlDuration: { Unit: 'Weeks', Value: 1000 },
      })
    );
    expect(await getMap('v2', 'u1')).toEqual({
      id: 'u1',
      event_time: '2999-09-02T00:00:00Z',
      amount: '2',
      note: 'b',
    });
    const withTtl = await get('v2', 'u1', { ExpirationTimeResponse: 'Enabled' });
    expect(withTtl.ExpiresAt).toBe(
      new Date(Date.parse('2999-09-02T00:00:00Z') + 1000 * 604_800_000).toISOString()
    );
  });

  it('answers ConflictException for an older event time', async () => {
    await put('v2', { id: 'u2', event_time: '2024-09-02T00:00:00Z', amount: '1' });
    const e = await rejects(
      rt.send(
        new UpdateRecordCommand({
          FeatureGroupName: 'v2',
          RecordIdentifierValueAsString: 'u2',
          Features: record({ event_time: '2024-09-01T00:00:00Z', amount: '2' }),
        })
      ),
      ConflictException,
      /older than the EventTime/
    );
    expect(e.$metadata.httpStatusCode).toBe(409);
    expect((await getMap('v2', 'u2'))?.amount).toBe('1');
  });

  it('answers ResourceNotFound for a soft-deleted or missing record', async () => {
    await put('v2', { id: 'u3', event_time: '2024-09-01T00:00:00Z', amount: '1' });
    await del('v2', 'u3', '2024-09-02T00:00:00Z');
    const update = (id: string) =>
      rt.send(
        new UpdateRecordCommand({
          FeatureGroupName: 'v2',
          RecordIdentifierValueAsString: id,
          Features: record({ amount: '2' }),
        })
      );
    await rejects(update('u3'), ResourceNotFound, /Record \[u3\] not found/);
    await rejects(update('never'), ResourceNotFound, /Record \[never\] not found/);
  });

  it('rejects TTL without event time and Standard groups', async () => {
    await put('v2', { id: 'u4', event_time: '2024-09-01T00:00:00Z' });
    await rejects(
      rt.send(
        new UpdateRecordCommand({
          FeatureGroupName: 'v2',
          RecordIdentifierValueAsString: 'u4',
          Features: record({ amount: '2' }),
          TtlDuration: { Unit: 'Days', Value: 1 },
        })
      ),
      ValidationError,
      /TtlDuration requires the event time feature/
    );
    await rejects(
      rt.send(
        new UpdateRecordCommand({
          FeatureGroupName: 'orders',
          RecordIdentifierValueAsString: 'p1',
          Features: record({ note: 'x' }),
        })
      ),
      ValidationError,
      /Standard_V2 or InMemory/
    );
  });
});

describe('ListRecords', () => {
  it('pages through every identifier with paginateListRecords', async () => {
    await createGroup(t.sagemaker, 'listing', {}, { OfflineStoreConfig: undefined });
    const ids = Array.from({ length: 25 }, (_, i) => `L${String(i).padStart(2, '0')}`);
    await rt.send(
      new BatchWriteRecordCommand({
        Entries: ids.slice(0, 20).map((id) => ({
          FeatureGroupName: 'listing',
          Record: record({ id, event_time: '2024-01-01T00:00:00Z' }),
        })),
      })
    );
    for (const id of ids.slice(20))
      await put('listing', { id, event_time: '2024-01-01T00:00:00Z' });
    await del('listing', 'L03', '2024-01-02T00:00:00Z');
    const pages: string[][] = [];
    for await (const page of paginateListRecords(
      { client: rt, pageSize: 10 },
      { FeatureGroupName: 'listing' }
    )) {
      pages.push(page.RecordIdentifiers ?? []);
    }
    expect(pages.map((p) => p.length)).toEqual([10, 10, 4]);
    expect(pages.flat()).toEqual(ids.filter((id) => id !== 'L03'));
    const withDeleted: string[] = [];
    for await (const page of paginateListRecords(
      { client: rt, pageSize: 7 },
      { FeatureGroupName: 'listing', IncludeSoftDeletedRecords: true }
    )) {
      withDeleted.push(...(page.RecordIdentifiers ?? []));
    }
    expect(withDeleted).toEqual(ids);
  });

  it('rejects a foreign NextToken and an out-of-range MaxResults', async () => {
    await rejects(
      rt.send(new ListRecordsCommand({ FeatureGroupName: 'orders', NextToken: 'abc' })),
      ValidationError,
      /NextToken/
    );
    await rejects(
      rt.send(new ListRecordsCommand({ FeatureGroupName: 'orders', MaxResults: 101 })),
      ValidationError,
      /MaxResults/
    );
  });
});

// calendar-fixed: payload parsing of fixed instants; no clock involved.
import { describe, expect, it } from 'vitest';
import {
  decodeKinesisData,
  parseIngestPayload,
  routePayload,
} from '../../shared/ingest/payload.ts';
import { registry, SchemaRegistry } from '../../shared/registry.ts';
import { jsonData, kplAggregatedData, transaction } from '../helpers/kinesisEvents.ts';
import { numberKeyedGroups } from '../helpers/numberKeyedGroups.ts';

const options = { registry, defaultFeatureGroup: 'fraud-transactions' };
const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** The rejection of a payload that must fail. */
function rejectionOf(
  data: string,
  routeOptions: Parameters<typeof parseIngestPayload>[1] = options
) {
  const result = parseIngestPayload(data, routeOptions);
  if (result.ok) throw new Error('expected a rejection');
  return result.rejection;
}

describe('Function: decodeKinesisData()', () => {
  it('decodes base64 JSON into the value it carries', () => {
    // Prepare
    const data = jsonData({ a: 1 });
    // Act
    const result = decodeKinesisData(data);
    // Assess
    expect(result).toEqual({ ok: true, value: { a: 1 } });
  });

  it.each([
    ['characters outside the alphabet', '!!!notbase64!!!'],
    ['a length that is not a multiple of 4', 'eyJhIjox'.slice(0, 7)],
    ['URL-safe characters', 'ab-_'],
  ])('rejects %s as invalid base64', (_case, data) => {
    // Act
    const result = decodeKinesisData(data);
    // Assess
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.rejection.stage).toBe('decode');
      expect(result.rejection.reason).toContain('data is not valid base64');
    }
  });

  it('rejects bytes that are not UTF-8', () => {
    // Act
    const result = decodeKinesisData(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64'));
    // Assess
    expect(result.ok || result.rejection.reason).toContain(
      'data is not UTF-8 text: (data)="4 bytes": invalid byte 0xFF at offset 1'
    );
  });

  it('rejects a KPL-aggregated record naming the aggregation, not as invalid UTF-8', () => {
    // Prepare: what the Kinesis Producer Library puts on the stream with aggregation on (its
    // default); Lambda delivers it as one record without de-aggregating it.
    const data = kplAggregatedData([transaction('kpl-1'), transaction('kpl-2')]);
    // Act
    const result = decodeKinesisData(data);
    // Assess
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.rejection.stage).toBe('decode');
      expect(result.rejection.reason).toMatch(/^data is a KPL-aggregated record/);
      expect(result.rejection.reason).toContain('AggregationEnabled');
      expect(result.rejection.problems[0]?.feature).toBe('(data)');
    }
  });

  it('rejects JSON nested deeper than 64 levels at the parse stage, and reads 64', () => {
    // Prepare: an object holding 63 nested arrays is 64 levels; one more array is 65.
    const nested = (levels: number) =>
      base64(`{"x":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`);
    // Act
    const deepest = decodeKinesisData(nested(64));
    const tooDeep = decodeKinesisData(nested(65));
    // Assess
    expect(deepest.ok).toBe(true);
    expect(tooDeep.ok || tooDeep.rejection.stage).toBe('parse');
    expect(tooDeep.ok || tooDeep.rejection.reason).toMatch(/^data nests deeper than 64 levels/);
  });

  it('rejects empty data and names the JSON error of invalid JSON', () => {
    // Act
    const empty = decodeKinesisData('');
    const invalid = decodeKinesisData(base64('{"transaction_id": "t1",'));
    // Assess
    expect(empty.ok || empty.rejection.reason).toContain('data is empty');
    expect(invalid.ok || invalid.rejection.stage).toBe('parse');
    expect(invalid.ok || invalid.rejection.reason).toMatch(/data is not valid JSON: .*JSON/);
  });
});

describe('Function: routePayload()', () => {
  it('routes a bare record to the default group and an envelope to the group it names', () => {
    // Act
    const bare = routePayload(transaction('t1'), options);
    const enveloped = routePayload(
      {
        featureGroup: 'arn:aws:sagemaker:us-east-1:000000000000:feature-group/fraud-cards',
        record: { card_id: 'c1' },
      },
      options
    );
    // Assess
    expect(bare.ok && bare.value.group.name).toBe('fraud-transactions');
    expect(bare.ok && bare.value.enveloped).toBe(false);
    expect(enveloped.ok && enveloped.value.group.name).toBe('fraud-cards');
    expect(enveloped.ok && enveloped.value.input).toEqual({ card_id: 'c1' });
  });

  it.each([
    ['an array', [1, 2], 'got an array'],
    ['a number', 42, 'got number'],
    ['null', null, 'got null'],
    ['a string', 'hello', 'got string'],
  ])('rejects JSON that is %s', (_case, value, detail) => {
    // Act
    const result = routePayload(value, options);
    // Assess
    expect(result.ok || result.rejection.reason).toContain('payload must be a JSON object');
    expect(result.ok || result.rejection.reason).toContain(detail);
  });

  it('names the known groups when the envelope names an unknown one', () => {
    // Act
    const result = routePayload({ featureGroup: 'fraud-devices', record: {} }, options);
    // Assess
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.rejection.stage).toBe('route');
      expect(result.rejection.reason).toBe(
        'unknown feature group: (envelope).featureGroup="fraud-devices": known: fraud-transactions, fraud-cards, fraud-merchants'
      );
    }
  });

  it('refuses an envelope for an internal group (the derived state is written by the handler only)', () => {
    // Act
    const byName = routePayload(
      { featureGroup: 'fraud-card-state', record: { card_id: 'c1' } },
      options
    );
    const byArn = routePayload(
      {
        featureGroup: 'arn:aws:sagemaker:us-east-1:000000000000:feature-group/fraud-card-state',
        record: { card_id: 'c1' },
      },
      options
    );
    // Assess
    for (const result of [byName, byArn]) {
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.rejection.stage).toBe('route');
        expect(result.rejection.reason).toMatch(
          /^unknown feature group: .*known: fraud-transactions, fraud-cards, fraud-merchants$/
        );
      }
    }
  });

  it('reports every problem of a malformed envelope', () => {
    // Act
    const result = routePayload({ featureGroup: 7, record: [], extra: true }, options);
    // Assess
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.rejection.problems.map((p) => p.feature)).toEqual([
        '(envelope).extra',
        '(envelope).featureGroup',
        '(envelope).record',
      ]);
    }
  });

  it('rejects a bare record when no default group is configured', () => {
    // Act
    const result = routePayload(transaction('t1'), { registry });
    // Assess
    expect(result.ok || result.rejection.reason).toContain(
      'bare record but no DEFAULT_FEATURE_GROUP is configured'
    );
  });
});

describe('Function: parseIngestPayload()', () => {
  it('validates and encodes a good record', () => {
    // Act
    const result = parseIngestPayload(
      jsonData(transaction('t1', { event_time: '2026-01-02T03:04:05Z' })),
      options
    );
    // Assess
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.value.encoded.recordIdentifier).toBe('t1');
      expect(result.value.encoded.eventTime).toBe('2026-01-02T03:04:05.000Z');
    }
  });

  it.each([
    [
      'missing identifier',
      { transaction_id: undefined },
      'transaction_id: record identifier is required',
    ],
    ['missing event time', { event_time: undefined }, 'event_time: event time is required'],
    [
      'malformed event time',
      { event_time: 'yesterday' },
      'event_time="yesterday": event time must be ISO-8601',
    ],
    [
      'impossible event time',
      { event_time: '2026-02-30T00:00:00Z' },
      'event_time="2026-02-30T00:00:00Z": day 30 does not exist in 2026-02',
    ],
    [
      'a wrong type',
      { amount: 'forty' },
      'amount="forty": Fractional value must be a decimal number',
    ],
    [
      'an object for a string',
      { currency: { code: 'EUR' } },
      'currency={"code":"EUR"}: String value must be a string, not object',
    ],
    [
      'a fraction for an Integral',
      { card_txn_count_1h: 2.5 },
      'card_txn_count_1h=2.5: Integral value must be a whole number',
    ],
    ['NaN', { amount: 'NaN' }, 'amount="NaN": Fractional value must be a decimal number'],
    [
      'Infinity',
      { amount: 'Infinity' },
      'amount="Infinity": Fractional value must be a decimal number',
    ],
    [
      'an unknown feature',
      { device_id: 'd1' },
      'device_id="d1": unknown feature; "fraud-transactions" defines',
    ],
  ])('rejects %s with the feature, value and reason', (_case, overrides, expected) => {
    // Act
    const rejected = rejectionOf(jsonData(transaction('t1', overrides)));
    // Assess
    expect(rejected.stage).toBe('validate');
    expect(rejected.featureGroup).toBe('fraud-transactions');
    expect(rejected.reason).toContain(expected);
  });

  it('rejects an unsafe integer that JSON.parse would round, worded for a JSON producer', () => {
    // Prepare: the literal text 9007199254740993 (2^53 + 1), as a producer in another language sends it.
    const text = JSON.stringify(transaction('t1', { card_txn_count_1d: 0 })).replace(
      '"card_txn_count_1d":0',
      '"card_txn_count_1d":9007199254740993'
    );
    // Act
    const rejected = rejectionOf(base64(text));
    // Assess: the record and the feature are named, the rounded value JSON.parse made of it
    // (…992) is not shown as what was sent, and the hint is JSON's, not TypeScript's.
    expect(rejected).toMatchObject({
      stage: 'validate',
      featureGroup: 'fraud-transactions',
      recordIdentifier: 't1',
      reason:
        'invalid record for feature group "fraud-transactions": card_txn_count_1d: Integral value is a JSON number beyond ±(2^53 − 1), which cannot be read exactly (JSON parsers round it): send it as a JSON string of its digits',
    });
    expect(JSON.stringify(rejected)).not.toContain('9007199254740992');
  });

  it('accepts the same integer sent as a JSON string of its digits, exactly', () => {
    // Prepare: what the rejection above tells the producer to send.
    const data = jsonData(transaction('t1', { card_txn_count_1d: '9007199254740993' }));
    // Act
    const parsed = parseIngestPayload(data, options);
    // Assess
    expect(parsed.ok && parsed.value.encoded.record).toContainEqual({
      FeatureName: 'card_txn_count_1d',
      ValueAsString: '9007199254740993',
    });
  });

  it.each(['__proto__', 'constructor'])('rejects a %s key at any depth', (key) => {
    // Prepare: written as text, since an object literal would not keep the key as data.
    const text = JSON.stringify(transaction('t1')).replace(
      '{',
      `{"${key}": {"polluted": true}, "card_id_meta": {"${key}": 1},`
    );
    // Act
    const rejected = rejectionOf(base64(text));
    // Assess: reported with the schema module's problems, at the validate stage (docs/ingest.md)
    expect(rejected.stage).toBe('validate');
    expect(rejected.reason).toContain(`${key}={"polluted":true}: forbidden key "${key}"`);
    expect(rejected.reason).toContain(`card_id_meta.${key}=1: forbidden key "${key}"`);
    expect(rejected.reason).toContain('card_id_meta={');
    // The record the schema module validates is a copy without the key: no inherited "polluted"
    // (`input.__proto__ = …` would have set the copy's prototype), no own "constructor".
    const decoded = decodeKinesisData(base64(text));
    const routed = decoded.ok ? routePayload(decoded.value, options) : decoded;
    if (!routed.ok) throw new Error('expected the record to be routed');
    const { input } = routed.value;
    expect(Object.getPrototypeOf(input)).toBe(Object.prototype);
    expect(Object.hasOwn(input, key)).toBe(false);
    expect(input.polluted).toBeUndefined();
  });

  it('rejects an oversized value and an oversized record (over 350 KB)', () => {
    // Prepare: one value over the limit; two values each under it but over it together.
    const big = transaction('t1', { channel: 'x'.repeat(360 * 1024) });
    const wide = transaction('t2', {
      channel: 'x'.repeat(200 * 1024),
      currency: 'y'.repeat(200 * 1024),
    });
    // Act
    const value = rejectionOf(jsonData(big));
    const record = rejectionOf(jsonData(wide));
    // Assess
    expect(value.reason).toContain('value exceeds 358400 bytes');
    expect(record.reason).toContain('record exceeds the 358400-byte (350 KB) limit');
  });

  it('reports every problem of a record at once and keeps a valid identifier', () => {
    // Act
    const rejected = rejectionOf(
      jsonData(
        transaction('t9', { event_time: 'soon', amount: 'NaN', card_txn_count_60s: 'x', extra: 1 })
      )
    );
    // Assess
    expect(rejected.problems.map((p) => p.feature).sort()).toEqual(
      ['amount', 'card_txn_count_60s', 'event_time', 'extra'].sort()
    );
    expect(rejected.recordIdentifier).toBe('t9');
  });
});

describe('Function: parseIngestPayload() for a group keyed by a number', () => {
  const { accounts, scores } = numberKeyedGroups('ingest');
  const numberKeyed = { registry: new SchemaRegistry([accounts, scores], []) };
  const at = '2026-01-02T03:04:05Z';
  const envelope = (featureGroup: string, record: Record<string, unknown>) =>
    jsonData({ featureGroup, record });

  it.each([
    ['an Integral id sent as a JSON number', 'ingest-accounts', { account_id: 7 }, '7'],
    ['an Integral id sent as 7.0', 'ingest-accounts', { account_id: 7.0 }, '7'],
    ['an Integral id sent as the string "007"', 'ingest-accounts', { account_id: '007' }, '7'],
    ['a Fractional id sent as a JSON number', 'ingest-scores', { score_key: 0.25 }, '0.25'],
    ['a Fractional id sent as the string "42.0"', 'ingest-scores', { score_key: '42.0' }, '42'],
  ])('names the record of %s as the writers encode it', (_case, group, id, expected) => {
    // Prepare: the record is refused for another feature than its id.
    const feature = group === 'ingest-accounts' ? { balance: 'lots' } : { hits: 1.5 };
    // Act
    const rejected = rejectionOf(
      envelope(group, { ...id, event_time: at, ...feature }),
      numberKeyed
    );
    // Assess: the id is the one the store would hold, not left out for not being a JSON string.
    expect(rejected).toMatchObject({
      stage: 'validate',
      featureGroup: group,
      recordIdentifier: expected,
    });
  });

  it.each([
    [
      'a fraction for an Integral id',
      { account_id: 7.5 },
      'account_id=7.5: record identifier: Integral value must be a whole number',
    ],
    [
      'a text that is no integer',
      { account_id: 'abc' },
      'account_id="abc": record identifier: Integral value must be a base-10 integer',
    ],
    [
      'a boolean',
      { account_id: true },
      'account_id=true: record identifier: Integral value must be a number, bigint or digit string, not boolean',
    ],
  ])('says the id is the problem for %s, showing what was sent', (_case, id, expected) => {
    // Act
    const rejected = rejectionOf(
      envelope('ingest-accounts', { ...id, event_time: at, balance: 1 }),
      numberKeyed
    );
    // Assess: no id is named (there is none the writers would store), the problem says why.
    expect(rejected.recordIdentifier).toBeUndefined();
    expect(rejected.reason).toBe(`invalid record for feature group "ingest-accounts": ${expected}`);
  });

  it('says the id is the problem for an Integral id beyond 2^53, without the rounded value', () => {
    // Prepare: the literal text 9007199254740993 (2^53 + 1).
    const text = JSON.stringify({
      featureGroup: 'ingest-accounts',
      record: { account_id: 0, event_time: at },
    }).replace('"account_id":0', '"account_id":9007199254740993');
    // Act
    const rejected = rejectionOf(base64(text), numberKeyed);
    // Assess
    expect(rejected.recordIdentifier).toBeUndefined();
    expect(rejected.reason).toBe(
      'invalid record for feature group "ingest-accounts": account_id: record identifier: Integral value is a JSON number beyond ±(2^53 − 1), which cannot be read exactly (JSON parsers round it): send it as a JSON string of its digits'
    );
    expect(JSON.stringify(rejected)).not.toContain('9007199254740992');
    // No value in hand to show: null, as the backfill's rejects say it, not the text "undefined"
    expect(rejected.problems).toEqual([
      { feature: 'account_id', value: null, reason: expect.stringContaining('record identifier') },
    ]);
  });

  it('gives a missing identifier no value (null) in the dead letter, not the text "undefined"', () => {
    // Act
    const rejected = rejectionOf(
      base64(JSON.stringify({ featureGroup: 'ingest-accounts', record: { event_time: at } })),
      numberKeyed
    );
    // Assess
    expect(rejected.problems).toEqual([
      { feature: 'account_id', value: null, reason: 'record identifier is required' },
    ]);
  });

  it('names the record when only a forbidden key refuses it', () => {
    // Prepare
    const text = JSON.stringify({
      featureGroup: 'ingest-accounts',
      record: { account_id: 42, event_time: at },
    }).replace('"account_id"', '"__proto__":{},"account_id"');
    // Act
    const rejected = rejectionOf(base64(text), numberKeyed);
    // Assess
    expect(rejected.recordIdentifier).toBe('42');
  });
});

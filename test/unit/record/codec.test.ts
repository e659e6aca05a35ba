// calendar-fixed: encoding of fixed instants; the one clock comparison (the skew bound) uses an injected clock.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { transactions } from '../../../shared/definitions.ts';
import { RecordValidationError } from '../../../shared/errors.ts';
import {
  encodeRecord,
  encodeRecordIdentifier,
  extendRecord,
  fromRecord,
  toRecord,
} from '../../../shared/record/codec.ts';
import { defineFeatureGroup, feature } from '../../../shared/schema/index.ts';

const scalars = defineFeatureGroup({
  name: 'codec-scalars',
  description: 'Every scalar type',
  recordIdentifier: 'id',
  eventTime: 'ts',
  features: {
    id: feature.string('id'),
    ts: feature.string('event time'),
    n: feature.integral('an int64'),
    x: feature.fractional('a double'),
    s: feature.string('a string'),
  },
  offline: {},
});

const collections = defineFeatureGroup({
  name: 'codec-collections',
  description: 'Every collection type',
  recordIdentifier: 'id',
  eventTime: 'ts',
  features: {
    id: feature.integral('numeric id'),
    ts: feature.fractional('epoch seconds'),
    ints: feature.list('Integral', 'a list of int64'),
    strs: feature.set('String', 'a set of strings'),
    emb: feature.vector(3, 'an embedding'),
  },
  online: { storageType: 'InMemory' },
});

const ts = '2026-03-04T05:06:07.089Z';
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const double = fc.double({ noNaN: true, noDefaultInfinity: true });

function problems(group: Parameters<typeof encodeRecord>[0], input: unknown) {
  const r = encodeRecord(group, input);
  if (r.ok) throw new Error('expected problems');
  return r.problems;
}

describe('Function: encodeRecord() / fromRecord()', () => {
  it('round-trips every scalar type (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 50 }),
        int64,
        double,
        fc.string(),
        (id, n, x, s) => {
          const encoded = toRecord(scalars, { id, ts, n, x, s });
          const decoded = fromRecord(scalars, encoded.record);
          // -0 is written as "0": one canonical text per value, so it reads back as 0.
          expect(decoded).toEqual({ id, ts, n, x: x === 0 ? 0 : x, s });
        }
      ),
      { numRuns: 300 }
    );
  });

  it('writes a Fractional given as text in its one canonical form, whatever the notation (property)', () => {
    fc.assert(
      fc.property(double, (x) => {
        const canonical = String(x === 0 ? 0 : x);
        const forms = [String(x), x.toExponential(), ` ${String(x)} `];
        if (x >= 0) forms.push(`+${String(x)}`);
        for (const form of forms) {
          const encoded = toRecord(scalars, { id: 'a', ts, x: form }).record;
          expect(encoded.find((fv) => fv.FeatureName === 'x')?.ValueAsString).toBe(canonical);
        }
      }),
      { numRuns: 300 }
    );
    expect(problems(scalars, { id: 'a', ts, x: 'NaN' })[0]?.reason).toBe(
      'Fractional value must be a decimal number'
    );
    expect(problems(scalars, { id: 'a', ts, x: 'Infinity' })[0]?.reason).toBe(
      'Fractional value must be a decimal number'
    );
  });

  it('round-trips int64 given as digit strings and safe numbers (property)', () => {
    fc.assert(
      fc.property(int64, (n) => {
        expect(
          fromRecord(scalars, toRecord(scalars, { id: 'a', ts, n: n.toString() }).record).n
        ).toBe(n);
      })
    );
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(fromRecord(scalars, toRecord(scalars, { id: 'a', ts, n }).record).n).toBe(BigInt(n));
      })
    );
  });

  it('round-trips List, Set and Vector collections (property)', () => {
    fc.assert(
      fc.property(
        fc.array(int64, { maxLength: 20 }),
        fc.uniqueArray(fc.string(), { maxLength: 20 }),
        fc.tuple(double, double, double),
        (ints, strs, emb) => {
          const encoded = toRecord(collections, { id: 7n, ts: 1767225600.5, ints, strs, emb });
          expect(encoded.eventTime).toBe('1767225600.5');
          // -0 is written as "0" (one canonical text per value), so it reads back as 0.
          const canonical = emb.map((v) => (v === 0 ? 0 : v));
          expect(fromRecord(collections, encoded.record)).toEqual({
            id: 7n,
            ts: 1767225600.5,
            ints,
            strs,
            emb: canonical,
          });
        }
      ),
      { numRuns: 200 }
    );
  });

  it('writes the event time in one normalised form whatever the producer sent', () => {
    expect(toRecord(scalars, { id: 'a', ts: '2026-03-04T07:06:07.089+02:00' }).eventTime).toBe(ts);
    expect(toRecord(scalars, { id: 'a', ts: 1772600767.089 }).eventTime).toBe(ts);
  });

  it('skips null and undefined non-key features, as AWS ingesters do', () => {
    const encoded = toRecord(scalars, { id: 'a', ts, n: null, x: undefined });
    expect(encoded.record.map((f) => f.FeatureName)).toEqual(['id', 'ts']);
  });

  it.each([
    ['a non-object record', [1, 2], '(record)', 'record must be a JSON object, not an array'],
    ['null', null, '(record)', 'record must be a JSON object, not null'],
    ['a missing identifier', { ts }, 'id', 'record identifier is required'],
    ['an empty identifier', { id: '', ts }, 'id', 'record identifier must not be empty'],
    ['a missing event time', { id: 'a' }, 'ts', 'event time is required'],
    [
      'a malformed event time',
      { id: 'a', ts: '2026-99-01T00:00:00Z' },
      'ts',
      'month 99 is not 01-12',
    ],
    ['an unsafe integer', { id: 'a', ts, n: 2 ** 53 + 2 }, 'n', 'beyond 2^53'],
    [
      'a fractional Integral',
      { id: 'a', ts, n: 1.5 },
      'n',
      'Integral value must be a whole number',
    ],
    [
      'an int64 overflow',
      { id: 'a', ts, n: '9223372036854775808' },
      'n',
      'outside the signed 64-bit range',
    ],
    ['a non-digit Integral', { id: 'a', ts, n: '12abc' }, 'n', 'must be a base-10 integer'],
    [
      "a whole number as a float's text (pandas' integer column with missing values)",
      { id: 'a', ts, n: '-3.00' },
      'n',
      "Integral value must be a base-10 integer, not a float's text (pandas writes an integer column that has missing values as float64: cast it with .astype('Int64') before writing)",
    ],
    ['NaN', { id: 'a', ts, x: Number.NaN }, 'x', 'must not be NaN'],
    ['Infinity', { id: 'a', ts, x: Number.POSITIVE_INFINITY }, 'x', 'must be finite'],
    ['the text NaN', { id: 'a', ts, x: 'NaN' }, 'x', 'must be a decimal number'],
    [
      'a number for a String',
      { id: 'a', ts, s: 42 },
      's',
      'String value must be a string, not number',
    ],
    ['an object for a Fractional', { id: 'a', ts, x: {} }, 'x', 'not object'],
    ['an unknown feature', { id: 'a', ts, nope: 1 }, 'nope', 'unknown feature'],
    [
      'a __proto__ key',
      JSON.parse(`{"id":"a","ts":"${ts}","__proto__":{"x":1}}`),
      '__proto__',
      'unknown feature',
    ],
    ['a constructor key', { id: 'a', ts, constructor: 'x' }, 'constructor', 'unknown feature'],
    [
      'an oversized identifier',
      { id: 'i'.repeat(2049), ts },
      'id',
      'record identifier exceeds 2048 bytes',
    ],
    // UTF-8 has no form for it: the store would keep U+FFFD, another id than the one written.
    [
      'a lone high surrogate in the identifier',
      { id: 'u-\ud800', ts },
      'id',
      'String value is not valid Unicode (a lone surrogate, U+D800), which UTF-8 cannot encode',
    ],
    [
      'a lone low surrogate in a String',
      { id: 'a', ts, s: 'x\udc00y' },
      's',
      'String value is not valid Unicode (a lone surrogate, U+DC00), which UTF-8 cannot encode',
    ],
  ])('rejects %s with the field and reason', (_, input, field, reason) => {
    const found = problems(scalars, input);
    expect(found.find((p) => p.feature === field)?.reason ?? found).toContain(reason);
  });

  it.each([
    [
      'a Set with duplicates',
      { id: 1, ts: 1, strs: ['a', 'a'] },
      'strs',
      'Set value contains duplicate elements',
    ],
    [
      'a Vector of the wrong length',
      { id: 1, ts: 1, emb: [1, 2] },
      'emb',
      'exactly 3 elements (got 2)',
    ],
    [
      'a List longer than the service takes',
      { id: 1, ts: 1, ints: Array.from({ length: 358_401 }, () => 0) },
      'ints',
      'List has 358401 elements; at most 358400 are allowed',
    ],
    [
      'a List with a bad element',
      { id: 1, ts: 1, ints: [1, 'x'] },
      'ints',
      'element 1: Integral value must be a base-10 integer',
    ],
    [
      'a Set with a lone surrogate',
      { id: 1, ts: 1, strs: ['a', 'b\ud83d'] },
      'strs',
      'element 1: String value is not valid Unicode (a lone surrogate, U+D83D), which UTF-8 cannot encode',
    ],
    [
      'a scalar for a List',
      { id: 1, ts: 1, ints: 5 },
      'ints',
      'List value must be an array, not number',
    ],
  ])('rejects %s', (_, input, field, reason) => {
    expect(problems(collections, input).find((p) => p.feature === field)?.reason).toContain(reason);
  });

  it('encodes no record identifier holding a lone surrogate, and one holding a surrogate pair as it is', () => {
    expect(encodeRecordIdentifier(scalars, 'u-\udfff')).toEqual({
      ok: false,
      reason:
        'String value is not valid Unicode (a lone surrogate, U+DFFF), which UTF-8 cannot encode',
    });
    expect(encodeRecordIdentifier(scalars, 'u-\ud83d\ude00')).toEqual({
      ok: true,
      text: 'u-\ud83d\ude00',
    });
  });

  it('rejects a single value over 350 KB', () => {
    expect(problems(scalars, { id: 'a', ts, s: 'x'.repeat(350 * 1024 + 1) })).toEqual([
      expect.objectContaining({ feature: 's', reason: 'value exceeds 358400 bytes' }),
    ]);
  });

  it('rejects a record over 350 KB made of values that each fit', () => {
    const wide = defineFeatureGroup({
      name: 'codec-wide',
      description: 'Two large strings',
      recordIdentifier: 'id',
      eventTime: 'ts',
      features: {
        id: feature.string('id'),
        ts: feature.string('t'),
        a: feature.string('a'),
        b: feature.string('b'),
      },
      offline: {},
    });
    const half = 'x'.repeat(200 * 1024);
    expect(toRecord(wide, { id: 'a', ts, a: half }).sizeBytes).toBeGreaterThan(200 * 1024);
    expect(problems(wide, { id: 'a', ts, a: half, b: half })).toEqual([
      expect.objectContaining({
        feature: '(record)',
        reason: 'record exceeds the 358400-byte (350 KB) limit',
      }),
    ]);
  });

  it('reports every problem of a record at once', () => {
    const error = (() => {
      try {
        toRecord(scalars, { ts: 'bad', n: 1.5, x: Number.NaN, extra: true } as never);
      } catch (e) {
        return e as RecordValidationError;
      }
      throw new Error('expected a throw');
    })();
    expect(error).toBeInstanceOf(RecordValidationError);
    expect(error.problems.map((p) => p.feature).sort()).toEqual(['extra', 'id', 'n', 'ts', 'x']);
    expect(error.message).toContain('Invalid record for feature group "codec-scalars"');
  });

  it('encodes the shipped example domain', () => {
    const encoded = toRecord(transactions, {
      transaction_id: 't1',
      event_time: ts,
      card_id: 'c1',
      amount: 12.5,
      card_txn_count_60s: 3,
    });
    expect(encoded.recordIdentifier).toBe('t1');
    expect(encoded.record).toContainEqual({ FeatureName: 'amount', ValueAsString: '12.5' });
  });

  it('refuses to decode a feature the schema does not define', () => {
    expect(() => fromRecord(scalars, [{ FeatureName: 'ghost', ValueAsString: '1' }])).toThrow(
      'ghost="1": not defined in the schema module'
    );
  });
  it('rejects an event time more than the bound ahead of the (injected) clock, naming both', () => {
    const clock = Date.parse(ts);
    const bound = { maxSkewSeconds: 300, now: () => clock };
    const at = (offsetSeconds: number) => new Date(clock + offsetSeconds * 1000).toISOString();
    expect(encodeRecord(scalars, { id: 'a', ts: at(300) }, { eventTimeBound: bound }).ok).toBe(
      true
    );
    const late = encodeRecord(scalars, { id: 'a', ts: at(301) }, { eventTimeBound: bound });
    expect(late.ok).toBe(false);
    expect(late.ok ? [] : late.problems).toEqual([
      {
        feature: 'ts',
        value: at(301),
        reason: `event time ${at(301)} is 301 s ahead of the clock (${ts}); at most 300 s ahead is accepted (MAX_EVENT_TIME_SKEW_SECONDS)`,
      },
    ]);
    // One millisecond past the bound: whole seconds would say "300 s ahead; at most 300 s".
    const edge = new Date(clock + 300_001).toISOString();
    const justPast = encodeRecord(scalars, { id: 'a', ts: edge }, { eventTimeBound: bound });
    expect(justPast.ok ? '' : justPast.problems[0]?.reason).toBe(
      `event time ${edge} is 300.001 s ahead of the clock (${ts}); at most 300 s ahead is accepted (MAX_EVENT_TIME_SKEW_SECONDS)`
    );
    const poison = encodeRecord(
      scalars,
      { id: 'a', ts: '2999-01-01T00:00:00Z' },
      { eventTimeBound: bound }
    );
    expect(poison.ok ? '' : poison.problems[0]?.reason).toMatch(
      /^event time 2999-01-01T00:00:00.000Z is \d+ s ahead/
    );
    // Without a bound (records Skewless builds itself) any valid time is accepted.
    expect(encodeRecord(scalars, { id: 'a', ts: '2999-01-01T00:00:00Z' }).ok).toBe(true);
  });
});

describe('Function: extendRecord()', () => {
  const value = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    int64,
    double,
    fc.string({ maxLength: 20 }),
    fc.constant('not a number'),
    fc.constant(Number.NaN)
  );

  it('equals encodeRecord of the base values plus the extra ones, problems included (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.record({ n: value, x: value, s: value }, { requiredKeys: [] }),
        fc.record({ n: value, x: value, s: value, unknown: value }, { requiredKeys: [] }),
        (id, baseValues, extra) => {
          const base = encodeRecord(scalars, { id, ts, ...baseValues });
          if (!base.ok) return;
          const input = Object.fromEntries(
            base.value.record.map((fv) => [fv.FeatureName, fv.ValueAsString])
          );
          expect(extendRecord(scalars, base.value, extra)).toEqual(
            encodeRecord(scalars, { ...input, ...extra })
          );
        }
      ),
      { numRuns: 500 }
    );
  });

  it('adds collections and sizes the record as encodeRecord does, over the 350 KB limit too', () => {
    const base = toRecord(collections, { id: 7n, ts: 1767225600.5, ints: [1n, 2n] });
    expect(extendRecord(collections, base, { strs: ['a', 'b'], emb: [1, 2, 3] })).toEqual(
      encodeRecord(collections, {
        id: '7',
        ts: '1767225600.5',
        ints: ['1', '2'],
        strs: ['a', 'b'],
        emb: [1, 2, 3],
      })
    );
    const big = 'x'.repeat(200_000);
    const large = toRecord(scalars, { id: 'a', ts, s: big });
    const over = extendRecord(scalars, large, { x: 1, n: 2, id: undefined });
    expect(over).toEqual(encodeRecord(scalars, { id: undefined, ts, s: big, x: 1, n: 2 }));
    expect(over.ok).toBe(false);
    const tooBig = toRecord(defineLarge(), { id: 'a', ts, a: big });
    const result = extendRecord(defineLarge(), tooBig, { b: big });
    expect(result.ok).toBe(false);
    expect(result).toEqual(encodeRecord(defineLarge(), { id: 'a', ts, a: big, b: big }));
  });
});

function defineLarge() {
  return defineFeatureGroup({
    name: 'codec-large',
    description: 'Two large strings',
    recordIdentifier: 'id',
    eventTime: 'ts',
    features: {
      id: feature.string('id'),
      ts: feature.string('event time'),
      a: feature.string('a'),
      b: feature.string('b'),
    },
    offline: {},
  });
}

// calendar-fixed: derived values and lateness are functions of event times only (lateness counts from an entity's latest event, not the clock); these events reach no store, so their group's 30-day TTL never applies.
/**
 * A test group with one derived feature per aggregation (several windows, ties, excludeCurrent,
 * row-level arithmetic, Integral widening), random histories for fast-check, and a brute-force
 * oracle written straight from the documented semantics, independent of the engine.
 */
import fc from 'fast-check';
import {
  type DerivedDefinition,
  defineDerivedFeatures,
  defineDerivedStateGroup,
} from '../../shared/derived/index.ts';
import type { EncodedRecord } from '../../shared/record/codec.ts';
import { toRecord } from '../../shared/record/codec.ts';
import { formatIsoEventTime } from '../../shared/record/eventTime.ts';
import { defineFeatureGroup, feature } from '../../shared/schema/index.ts';

const testEvents = defineFeatureGroup({
  name: 'derived-test-events',
  description: 'events of the derived-feature tests',
  recordIdentifier: 'id',
  eventTime: 'ts',
  features: {
    id: feature.string('event id'),
    ts: feature.string('event time'),
    card: feature.string('entity'),
    amount: feature.fractional('a double, sometimes absent'),
    qty: feature.integral('an integer, sometimes absent'),
    merchant: feature.string('a string, sometimes absent'),
    n_5s: feature.integral('count 5s'),
    n_prev_5s: feature.integral('count 5s excluding the event'),
    n_20s_fractional: feature.fractional('count 20s into a Fractional feature'),
    sum_amount_10s: feature.fractional('sum amount 10s'),
    sum_qty_10s: feature.integral('sum qty 10s'),
    mean_amount_10s: feature.fractional('mean amount 10s'),
    min_amount_10s: feature.fractional('min amount 10s'),
    max_qty_20s: feature.integral('max qty 20s'),
    distinct_merchant_20s: feature.integral('distinct merchants 20s'),
    last_merchant_prev_20s: feature.string('previous merchant 20s'),
    last_amount_5s: feature.fractional('last amount 5s'),
    amount_to_mean_20s: feature.fractional('amount / mean amount 20s'),
    qty_minus_min_5s: feature.integral('qty - min qty 5s'),
  },
  online: { ttl: { unit: 'Days', value: 30 } },
  offline: {},
});

const testState = defineDerivedStateGroup({
  name: 'derived-test-state',
  description: 'state of the derived-feature tests',
  entity: 'card',
});

interface DefinitionOptions {
  readonly allowedLateness?: `${number}s`;
  readonly maxStateBytes?: number;
}

/** The test definition; options vary lateness and the state budget. */
function testDefinition(options: DefinitionOptions = {}): DerivedDefinition {
  return defineDerivedFeatures(testEvents, {
    name: 'derived-test',
    entity: 'card',
    state: testState,
    allowedLateness: options.allowedLateness ?? '3600s',
    maxStateBytes: options.maxStateBytes,
    features: (f) => ({
      n_5s: f.count('5s'),
      n_prev_5s: f.count('5s', { excludeCurrent: true }),
      n_20s_fractional: f.count('20s'),
      sum_amount_10s: f.sum('amount', '10s'),
      sum_qty_10s: f.sum('qty', '10s'),
      mean_amount_10s: f.mean('amount', '10s'),
      min_amount_10s: f.min('amount', '10s'),
      max_qty_20s: f.max('qty', '20s'),
      distinct_merchant_20s: f.distinctCount('merchant', '20s'),
      last_merchant_prev_20s: f.last('merchant', '20s', { excludeCurrent: true }),
      last_amount_5s: f.last('amount', '5s'),
      amount_to_mean_20s: f.ratio(f.value('amount'), f.mean('amount', '20s')),
      qty_minus_min_5s: f.difference(f.value('qty'), f.min('qty', '5s')),
    }),
  }) as DerivedDefinition;
}

/** A raw event as a producer sends it. */
interface RawEvent {
  readonly id: string;
  /** Event time, epoch nanoseconds. */
  readonly time: bigint;
  readonly card: string;
  readonly amount?: number;
  readonly qty?: number;
  readonly merchant?: string;
}

const BASE_NANOS = BigInt(Date.parse('2026-03-01T23:59:50.000Z')) * 1_000_000n;
const NANOS_PER_MS = 1_000_000n;

function encode(event: RawEvent): EncodedRecord {
  return toRecord(testEvents, {
    id: event.id,
    ts: formatIsoEventTime(event.time),
    card: event.card,
    amount: event.amount,
    qty: event.qty,
    merchant: event.merchant,
  });
}

/**
 * Random histories: few cards, few ids (many shared prefixes), times on a 250 ms grid over 40 s so
 * that ties and exact window boundaries are common, plus an occasional nanosecond offset.
 */
const rawEventArb = fc.record(
  {
    idNumber: fc.integer({ min: 0, max: 10_000 }),
    slot: fc.integer({ min: 0, max: 160 }),
    nanos: fc.oneof({ weight: 5, arbitrary: fc.constant(0n) }, fc.bigInt({ min: -1n, max: 1n })),
    card: fc.constantFrom('card-a', 'card-b', 'card-c'),
    amount: fc.option(
      fc.oneof(
        fc.integer({ min: 1, max: 100_000 }).map((c) => c / 100),
        fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true })
      ),
      { nil: undefined, freq: 6 }
    ),
    qty: fc.option(fc.integer({ min: -5, max: 1000 }), { nil: undefined, freq: 6 }),
    merchant: fc.option(fc.constantFrom('m1', 'm2', 'm3', 'm4'), { nil: undefined, freq: 6 }),
  },
  { requiredKeys: ['idNumber', 'slot', 'nanos', 'card'] }
);

/** Distinct events (unique ids). */
const historyArb = fc
  .uniqueArray(rawEventArb, { selector: (e) => e.idNumber, minLength: 1, maxLength: 60 })
  .map((rows) =>
    rows.map(
      (r): RawEvent => ({
        id: `e${r.idNumber}`,
        time: BASE_NANOS + BigInt(r.slot) * 250n * NANOS_PER_MS + r.nanos,
        card: r.card,
        ...(r.amount === undefined ? {} : { amount: Object.is(r.amount, -0) ? 0 : r.amount }),
        ...(r.qty === undefined ? {} : { qty: r.qty }),
        ...(r.merchant === undefined ? {} : { merchant: r.merchant }),
      })
    )
  );

type OracleValue = number | string | undefined;

const SECOND = 1_000_000_000n;

/** Window members straight from the definition of the semantics, in (time, id) order. */
function members(
  all: readonly RawEvent[],
  e: RawEvent,
  seconds: number,
  excludeCurrent = false
): RawEvent[] {
  const lower = e.time - BigInt(seconds) * SECOND;
  return all
    .filter(
      (x) =>
        x.card === e.card &&
        x.time > lower &&
        (x.time < e.time || (x.time === e.time && x.id <= e.id)) &&
        !(excludeCurrent && x.id === e.id)
    )
    .sort((a, b) => (a.time === b.time ? (a.id < b.id ? -1 : 1) : a.time < b.time ? -1 : 1));
}

function present<K extends 'amount' | 'qty' | 'merchant'>(rows: RawEvent[], key: K) {
  return rows.map((r) => r[key]).filter((v): v is NonNullable<RawEvent[K]> => v !== undefined);
}

function sum(values: number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

function intOrAbsent(v: number | undefined): OracleValue {
  return v !== undefined && Number.isSafeInteger(v) ? v : undefined;
}

function finiteOrAbsent(v: number | undefined): OracleValue {
  return v !== undefined && Number.isFinite(v) ? v : undefined;
}

/** The expected derived values of `e`, given every distinct event of the history. */
function oracle(all: readonly RawEvent[], e: RawEvent): Record<string, OracleValue> {
  const w5 = members(all, e, 5);
  const w10 = members(all, e, 10);
  const w20 = members(all, e, 20);
  const amounts10 = present(w10, 'amount');
  const amounts20 = present(w20, 'amount');
  const qty5 = present(w5, 'qty');
  const qty20 = present(w20, 'qty');
  const mean20 = amounts20.length === 0 ? undefined : sum(amounts20) / amounts20.length;
  const min5 = qty5.length === 0 ? undefined : Math.min(...qty5);
  const prevMerchants = present(members(all, e, 20, true), 'merchant');
  const amounts5 = present(w5, 'amount');
  return {
    n_5s: w5.length,
    n_prev_5s: members(all, e, 5, true).length,
    n_20s_fractional: w20.length,
    sum_amount_10s: finiteOrAbsent(sum(amounts10)),
    sum_qty_10s: intOrAbsent(sum(present(w10, 'qty'))),
    mean_amount_10s: finiteOrAbsent(
      amounts10.length === 0 ? undefined : sum(amounts10) / amounts10.length
    ),
    min_amount_10s: amounts10.length === 0 ? undefined : Math.min(...amounts10),
    max_qty_20s: qty20.length === 0 ? undefined : Math.max(...qty20),
    distinct_merchant_20s: new Set(present(w20, 'merchant')).size,
    last_merchant_prev_20s: prevMerchants.at(-1),
    last_amount_5s: amounts5.at(-1),
    amount_to_mean_20s: finiteOrAbsent(
      e.amount === undefined || mean20 === undefined || mean20 === 0 ? undefined : e.amount / mean20
    ),
    qty_minus_min_5s: intOrAbsent(
      e.qty === undefined || min5 === undefined ? undefined : e.qty - min5
    ),
  };
}

export type { OracleValue, RawEvent };
export { BASE_NANOS, encode, historyArb, oracle, testDefinition, testEvents, testState };

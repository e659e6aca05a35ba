/**
 * The entity state's documented edges: window boundaries to the nanosecond, ties, duplicates and
 * conflicts, the too-late rule, pruning, the byte budget (eviction and its horizon) and unreadable
 * stored state.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ApplyOutcome,
  computeDerived,
  type DerivedEvent,
  DerivedStateError,
  EntityState,
  eventOfRecord,
} from '../../shared/derived/index.ts';
import { BASE_NANOS, encode, type RawEvent, testDefinition } from './fixtures.ts';

const SECOND = 1_000_000_000n;
const definition = testDefinition();

function at(seconds: number, id: string, extra: Partial<RawEvent> = {}): RawEvent {
  return {
    id,
    time: BASE_NANOS + BigInt(Math.round(seconds * 1000)) * 1_000_000n,
    card: 'c',
    ...extra,
  };
}

function ev(raw: RawEvent, def = definition): DerivedEvent {
  return eventOfRecord(def, encode(raw)) as DerivedEvent;
}

describe('window boundaries and ties', () => {
  it('excludes an event exactly one window old and includes one a nanosecond younger', () => {
    const e = ev(at(10, 'e'));
    const exactlyFive = ev(at(5, 'a'));
    const justInside = ev({ ...at(5, 'b'), time: BASE_NANOS + 5n * SECOND + 1n });
    const values = computeDerived(definition, [exactlyFive, justInside, e], e);
    expect(values.n_5s).toBe(2);
    expect(values.n_prev_5s).toBe(1);
  });

  it('breaks ties on equal event time by event id: a smaller id is before, a larger after', () => {
    const a = ev(at(1, 'a', { amount: 1 }));
    const b = ev(at(1, 'b', { amount: 2 }));
    const c = ev(at(1, 'c', { amount: 4 }));
    const history = [a, b, c];
    expect(computeDerived(definition, history, a).n_5s).toBe(1);
    expect(computeDerived(definition, history, b).sum_amount_10s).toBe(3);
    expect(computeDerived(definition, history, c).last_amount_5s).toBe(4);
  });
});

describe('EntityState.apply()', () => {
  it('applies a redelivery once and refuses a conflicting version of an applied id', () => {
    const state = EntityState.empty(definition, 'c');
    expect(state.apply(ev(at(1, 'x', { amount: 5 }))).outcome).toBe(ApplyOutcome.Applied);
    expect(state.apply(ev(at(1, 'x', { amount: 5 }))).outcome).toBe(ApplyOutcome.Duplicate);
    expect(state.apply(ev(at(1, 'x', { amount: 6 }))).outcome).toBe(ApplyOutcome.Conflict);
    expect(state.apply(ev(at(2, 'x', { amount: 5 }))).outcome).toBe(ApplyOutcome.Conflict);
    expect(state.events).toHaveLength(1);
  });

  it('reports the event and the later events within the longest window as affected', () => {
    const state = EntityState.empty(definition, 'c');
    for (const [s, id] of [
      [0, 'a'],
      [10, 'b'],
      [19.9, 'c'],
      [20, 'd'],
      [30, 'e'],
    ] as const) {
      state.apply(ev(at(s, id)));
    }
    const late = state.apply(ev(at(0, 'late')));
    expect(late.outcome).toBe(ApplyOutcome.Applied);
    // Longest window 20 s: events at t < 0 + 20 s (and after the late one) are rewritten.
    expect(late.affected.map((e) => e.id)).toEqual(['late', 'b', 'c']);
  });

  it('refuses events older than the latest event time minus the allowed lateness', () => {
    const def = testDefinition({ allowedLateness: '5s' });
    const state = EntityState.empty(def, 'c');
    state.apply(ev(at(100, 'latest'), def));
    expect(state.apply(ev(at(95, 'boundary'), def)).outcome).toBe(ApplyOutcome.Applied);
    const tooLate = ev({ ...at(95, 'older'), time: BASE_NANOS + 95n * SECOND - 1n }, def);
    expect(state.apply(tooLate).outcome).toBe(ApplyOutcome.TooLate);
    expect(state.events.map((e) => e.id)).toEqual(['boundary', 'latest']);
  });

  it('prunes events no future window can reach: older than latest − window − lateness', () => {
    const def = testDefinition({ allowedLateness: '5s' });
    const state = EntityState.empty(def, 'c');
    state.apply(ev(at(0, 'old'), def));
    state.apply(ev(at(1, 'kept'), def));
    state.apply(ev(at(25, 'now'), def));
    // 25 s − 20 s − 5 s = 0 s: the event at 0 s is at the cutoff and goes.
    expect(state.compact()).toEqual({ pruned: 1, evicted: 0 });
    expect(state.events.map((e) => e.id)).toEqual(['kept', 'now']);
  });
});

describe('the byte budget', () => {
  it('evicts the oldest events, keeps the serialised state within budget, refuses events not after the horizon', () => {
    const def = testDefinition({ maxStateBytes: 1024 });
    fc.assert(
      fc.property(fc.integer({ min: 20, max: 200 }), (n) => {
        const state = EntityState.empty(def, 'c');
        let evicted = 0;
        for (let i = 0; i < n; i++) {
          state.apply(
            ev(at(i / 100, `event-${String(i).padStart(4, '0')}`, { merchant: 'm1' }), def)
          );
          evicted += state.compact().evicted;
        }
        const text = state.serialize();
        expect(Buffer.byteLength(text)).toBeLessThanOrEqual(1024);
        expect(Buffer.byteLength(text)).toBeLessThanOrEqual(state.estimatedBytes);
        expect(evicted + state.events.length).toBe(n);
        expect(evicted).toBeGreaterThan(0);
        const horizon = state.horizon;
        if (horizon === undefined) throw new Error('an eviction leaves a horizon');
        const back = EntityState.parse(def, 'c', text);
        expect(back.horizon).toEqual(horizon);
        // At the horizon's own time the order is by id: an id before the horizon's ('behind' <
        // 'event-…') is not after it, too late; one after it is applied. Both cases, so a refusal
        // by time alone is caught.
        const atHorizon = (id: string) => ev({ id, time: horizon.time, card: 'c' }, def);
        expect(back.apply(atHorizon('behind')).outcome).toBe(ApplyOutcome.TooLate);
        expect(back.apply(atHorizon(`${horizon.id}-after`)).outcome).toBe(ApplyOutcome.Applied);
      }),
      { numRuns: 20 }
    );
  });
});

describe('EntityState.parse()', () => {
  it.each([
    ['not JSON', '{', 'is not JSON'],
    ['another version', '{"v":2,"f":[],"m":"0","b":"0","e":[]}', 'is not a version 1 state'],
    ['a malformed tuple', '{"v":1,"f":[],"m":"0","b":"0","e":[[1]]}', 'is malformed'],
  ])('throws DerivedStateError for %s', (_, text, message) => {
    expect(() => EntityState.parse(definition, 'c', text)).toThrow(DerivedStateError);
    expect(() => EntityState.parse(definition, 'c', text)).toThrow(message);
  });

  it('reads raw features by name, so a reordered or extended definition keeps old events', () => {
    const state = EntityState.empty(definition, 'c');
    state.apply(ev(at(1, 'a', { amount: 2.5, merchant: 'm2' })));
    const json = JSON.parse(state.serialize()) as { f: string[]; e: unknown[][] };
    json.f = [...json.f].reverse();
    json.e = json.e.map(([id, t, ...values]) => [id, t, ...values.reverse()]);
    const back = EntityState.parse(definition, 'c', JSON.stringify(json));
    expect(back.events).toEqual(state.events);
  });
});

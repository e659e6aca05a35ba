/**
 * Every aggregation against the brute-force oracle (fast-check): random histories with ties on
 * event time, exact window boundaries, absent values, duplicates and out-of-order arrival, through
 * the pure function, the entity state (batches, store round trips, rewrites after late events) and
 * the backfill replay. All must equal the oracle exactly, bit for bit.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ApplyOutcome,
  compareEvents,
  computeDerived,
  type DerivedEvent,
  type DerivedValues,
  EntityState,
  eventOfRecord,
  replayDerived,
} from '../../shared/derived/index.ts';
import { fromRecord } from '../../shared/record/codec.ts';
import {
  encode,
  historyArb,
  oracle,
  type RawEvent,
  testDefinition,
  testEvents,
} from './fixtures.ts';

const definition = testDefinition();
const outputNames = definition.outputs.map((o) => o.feature);

function eventOf(raw: RawEvent): DerivedEvent {
  const event = eventOfRecord(definition, encode(raw));
  if (event === undefined) throw new Error('test events always have an entity');
  return event;
}

function expected(all: readonly RawEvent[], raw: RawEvent) {
  const values = oracle(all, raw);
  // −0 has no text of its own on the wire ("0"), so the engine writes 0.
  return Object.fromEntries(outputNames.map((n) => [n, values[n] === 0 ? 0 : values[n]]));
}

/** Same shape as the engine's output, with every output named. */
function normalised(values: DerivedValues) {
  return Object.fromEntries(outputNames.map((n) => [n, values[n]]));
}

function historiesByCard(all: readonly RawEvent[]): Map<string, DerivedEvent[]> {
  const byCard = new Map<string, DerivedEvent[]>();
  for (const raw of all) {
    const list = byCard.get(raw.card) ?? [];
    list.push(eventOf(raw));
    byCard.set(raw.card, list);
  }
  for (const list of byCard.values()) list.sort(compareEvents);
  return byCard;
}

/** An arrival order: a permutation of the history with duplicates (retries) mixed in. */
const arrivalArb = historyArb.chain((history) =>
  fc
    .tuple(
      fc.shuffledSubarray(history, { minLength: history.length, maxLength: history.length }),
      fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 15 }),
      fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 20 })
    )
    .map(([order, duplicates, batchSizes]) => {
      const arrivals = [...order];
      for (const [which, where] of duplicates) {
        const again = history[which % history.length] as RawEvent;
        arrivals.splice(where % (arrivals.length + 1), 0, again);
      }
      return { history, arrivals, batchSizes };
    })
);

describe('computeDerived() against the oracle', () => {
  it('equals the oracle for every event, every aggregation, every window', () => {
    fc.assert(
      fc.property(historyArb, (history) => {
        const byCard = historiesByCard(history);
        for (const raw of history) {
          const values = computeDerived(definition, byCard.get(raw.card) ?? [], eventOf(raw));
          expect(normalised(values)).toEqual(expected(history, raw));
        }
      }),
      { numRuns: 300 }
    );
  });

  it('gives the same values whether or not the history already holds the event', () => {
    fc.assert(
      fc.property(historyArb, (history) => {
        const byCard = historiesByCard(history);
        for (const raw of history) {
          const event = eventOf(raw);
          const without = (byCard.get(raw.card) ?? []).filter((x) => x.id !== event.id);
          expect(normalised(computeDerived(definition, without, event))).toEqual(
            expected(history, raw)
          );
        }
      }),
      { numRuns: 150 }
    );
  });

  it('ignores events after the event: its value is final once its past is known', () => {
    fc.assert(
      fc.property(historyArb, (history) => {
        const byCard = historiesByCard(history);
        for (const raw of history) {
          const event = eventOf(raw);
          const past = (byCard.get(raw.card) ?? []).filter((x) => compareEvents(x, event) <= 0);
          expect(computeDerived(definition, past, event)).toEqual(
            computeDerived(definition, byCard.get(raw.card) ?? [], event)
          );
        }
      }),
      { numRuns: 100 }
    );
  });
});

describe('EntityState: out-of-order arrival, duplicates, batches and store round trips', () => {
  it('converges to the oracle: the last value written for each event equals event-time replay', () => {
    fc.assert(
      fc.property(arrivalArb, ({ history, arrivals, batchSizes }) => {
        const stored = new Map<string, string>();
        const written = new Map<string, DerivedValues>();
        let offset = 0;
        let batch = 0;
        while (offset < arrivals.length) {
          const size = batchSizes[batch++ % batchSizes.length] ?? 1;
          const slice = arrivals.slice(offset, offset + size);
          offset += size;
          // One invocation: load each card's state, apply in arrival order, write dirty values once.
          const states = new Map<string, EntityState>();
          const dirty = new Map<string, DerivedEvent>();
          for (const raw of slice) {
            let state = states.get(raw.card);
            if (state === undefined) {
              const text = stored.get(raw.card);
              state =
                text === undefined
                  ? EntityState.empty(definition, raw.card)
                  : EntityState.parse(definition, raw.card, text);
              states.set(raw.card, state);
            }
            const result = state.apply(eventOf(raw));
            expect(result.outcome).not.toBe(ApplyOutcome.Conflict);
            expect(result.outcome).not.toBe(ApplyOutcome.TooLate);
            for (const e of result.affected) dirty.set(e.id, e);
          }
          for (const e of dirty.values()) {
            written.set(e.id, (states.get(e.entity) as EntityState).valuesOf(e));
          }
          for (const [card, state] of states) stored.set(card, state.serialize());
        }
        for (const raw of history) {
          expect(normalised(written.get(raw.id) ?? {})).toEqual(expected(history, raw));
        }
      }),
      { numRuns: 300 }
    );
  });

  it('round-trips through its serialised form unchanged', () => {
    fc.assert(
      fc.property(historyArb, (history) => {
        for (const [card, events] of historiesByCard(history)) {
          const state = EntityState.empty(definition, card);
          for (const e of events.toReversed()) state.apply(e);
          const text = state.serialize();
          const back = EntityState.parse(definition, card, text);
          expect(back.events).toEqual(state.events);
          expect(back.maxTime).toBe(state.maxTime);
          expect(back.serialize()).toBe(text);
          expect(Buffer.byteLength(text)).toBeLessThanOrEqual(state.estimatedBytes);
        }
      }),
      { numRuns: 100 }
    );
  });
});

describe('replayDerived() against the oracle', () => {
  it('writes each distinct event once with the oracle values, whatever the input order', () => {
    fc.assert(
      fc.property(arrivalArb, ({ history, arrivals }) => {
        const { records, stats } = replayDerived(definition, arrivals.map(encode));
        expect(stats.derived).toBe(history.length);
        expect(stats.duplicates).toBe(arrivals.length - history.length);
        expect(records).toHaveLength(history.length);
        const byId = new Map(history.map((r) => [r.id, r]));
        for (const record of records) {
          const decoded = fromRecord(testEvents, record.record) as Record<string, unknown>;
          const raw = byId.get(record.recordIdentifier) as RawEvent;
          const want = expected(history, raw);
          for (const name of outputNames) {
            const got = decoded[name];
            expect(typeof got === 'bigint' ? Number(got) : got).toEqual(want[name]);
          }
        }
      }),
      { numRuns: 200 }
    );
  });
});

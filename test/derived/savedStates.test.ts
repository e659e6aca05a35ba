/**
 * The states a container keeps between batches: reused only for the exact text it saved, taken
 * out while a batch works on them, bounded in size; and a state so reused behaves exactly as the
 * one parsed from the same text.
 */
import { describe, expect, it } from 'vitest';
import { EntityState, eventOfRecord } from '../../shared/derived/index.ts';
import { SavedStates } from '../../shared/derived/savedStates.ts';
import { BASE_NANOS, encode, testDefinition } from './fixtures.ts';

const definition = testDefinition();

function stateWith(card: string, ids: readonly string[]): EntityState {
  const state = EntityState.empty(definition, card);
  ids.forEach((id, i) => {
    const event = eventOfRecord(
      definition,
      encode({ id, time: BASE_NANOS + BigInt(i) * 1_000_000_000n, card, amount: i + 1 })
    );
    if (event !== undefined) state.apply(event);
  });
  return state;
}

describe('Class: SavedStates', () => {
  it('gives a kept state back only for the exact text it was kept with, and only once', () => {
    const saved = new SavedStates();
    const state = stateWith('c', ['a', 'b']);
    const text = state.serialize();
    saved.put('c', text, state);
    expect(saved.take('c', `${text} `)).toBeUndefined();
    // A mismatch drops the entry: it is stale.
    expect(saved.take('c', text)).toBeUndefined();
    saved.put('c', text, state);
    expect(saved.take('c', text)).toBe(state);
    // Taken out: a batch may change it; nothing is handed out twice.
    expect(saved.take('c', text)).toBeUndefined();
    expect(saved.size).toEqual({ states: 0, chars: 0 });
  });

  it('keeps the most recently kept states within its bound', () => {
    const a = stateWith('a', ['a1']);
    const b = stateWith('b', ['b1']);
    const c = stateWith('c', ['c1', 'c2']);
    const [ta, tb, tc] = [a.serialize(), b.serialize(), c.serialize()];
    // Room for the two most recent (c's text is the longest): putting c evicts a only, so b is
    // still kept when it is forgotten below.
    const saved = new SavedStates(tb.length + tc.length);
    saved.put('a', ta, a);
    saved.put('b', tb, b);
    saved.put('c', tc, c);
    expect(saved.size).toEqual({ states: 2, chars: tb.length + tc.length });
    expect(saved.take('a', ta)).toBeUndefined();
    expect(saved.take('c', tc)).toBe(c);
    saved.forget('b');
    expect(saved.size).toEqual({ states: 0, chars: 0 });
    expect(saved.take('b', tb)).toBeUndefined();
  });

  it('a state kept after saving behaves as the state parsed from its text', () => {
    const kept = stateWith('c', ['a', 'b', 'c']);
    const text = kept.serialize();
    const parsed = EntityState.parse(definition, 'c', text);
    const late = eventOfRecord(
      definition,
      encode({ id: 'a0', time: BASE_NANOS + 500_000_000n, card: 'c', amount: 9 })
    );
    if (late === undefined) throw new Error('no event');
    const fromKept = kept.apply(late);
    const fromParsed = parsed.apply(late);
    expect(fromKept.outcome).toBe('applied');
    expect(fromKept.affected.length).toBeGreaterThan(1);
    expect(fromKept.outcome).toBe(fromParsed.outcome);
    expect(fromKept.affected.map((e) => kept.valuesOf(e))).toEqual(
      fromParsed.affected.map((e) => parsed.valuesOf(e))
    );
    expect(kept.serialize()).toBe(parsed.serialize());
    expect(kept.estimatedBytes).toBe(parsed.estimatedBytes);
  });
});

/**
 * THE computation of derived values: one pure function, used by the ingest path (online) and by
 * the backfill alike, so the two cannot drift.
 *
 * Semantics, for an event `e` of entity `k` and a window of length `w`: the window holds every
 * event `x` of `k` (duplicates by event id once) with
 *
 *     t_e − w  <  t_x   and   (t_x, id_x) ≤ (t_e, id_e)
 *
 * i.e. open at the old end, closed at the event itself, ties on equal event time broken by event
 * id (code unit order). The event is in its own window unless the aggregation says
 * `excludeCurrent`. Aggregates fold the members in that order, so sums are bit-identical however
 * the events arrived.
 */
import type { CompiledExpr, DerivedDefinition } from './define.ts';
import { compareEvents, type DerivedEvent } from './events.ts';
import { Aggregation, ExprKind } from './expressions.ts';

/** A derived value: a number for Integral and Fractional features, text for String. */
type DerivedValue = number | string;

/** Feature name → value; `undefined` means the feature is absent from the record. */
type DerivedValues = Readonly<Record<string, DerivedValue | undefined>>;

/** Index of the first event of `history` whose key is greater than the event's key. */
function upperBound(history: readonly DerivedEvent[], event: DerivedEvent): number {
  let lo = 0;
  let hi = history.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareEvents(history[mid] as DerivedEvent, event) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first event in `history[0, end)` whose time is after `after`. */
function firstAfter(history: readonly DerivedEvent[], end: number, after: bigint): number {
  let lo = 0;
  let hi = end;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((history[mid] as DerivedEvent).time <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Where the event sits in its entity's history. */
interface Position {
  readonly history: readonly DerivedEvent[];
  readonly event: DerivedEvent;
  /** `history[0, end)` are the events with key ≤ the event's key. */
  readonly end: number;
  /** Whether `history[end − 1]` is the event itself (otherwise it is appended logically). */
  readonly inHistory: boolean;
}

/**
 * The members of an aggregation's window in event order: `history[start, stop)` followed by the
 * event itself when it is not in the history and counts itself.
 */
function membersOf(position: Position, windowNanos: bigint, excludeCurrent: boolean) {
  const { history, event, end, inHistory } = position;
  const start = firstAfter(history, end, event.time - windowNanos);
  const stop = inHistory && excludeCurrent ? end - 1 : end;
  const tail = !inHistory && !excludeCurrent ? event : undefined;
  return { start: Math.min(start, stop), stop, tail };
}

function aggregate(
  position: Position,
  node: Extract<CompiledExpr, { kind: 'aggregation' }>
): DerivedValue | undefined {
  const { history } = position;
  const { start, stop, tail } = membersOf(position, node.windowNanos, node.excludeCurrent);
  const slot = node.slot;
  // Members in event order without copying: history[start, stop), then the tail.
  switch (node.aggregation) {
    case Aggregation.Count:
      return stop - start + (tail === undefined ? 0 : 1);
    case Aggregation.Sum:
    case Aggregation.Mean: {
      let sum = 0;
      let present = 0;
      for (let i = start; i < stop; i++) {
        const v = (history[i] as DerivedEvent).numbers[slot];
        if (v === undefined) continue;
        sum += v;
        present += 1;
      }
      const last = tail?.numbers[slot];
      if (last !== undefined) {
        sum += last;
        present += 1;
      }
      if (node.aggregation === Aggregation.Sum) return sum;
      return present === 0 ? undefined : sum / present;
    }
    case Aggregation.Min:
    case Aggregation.Max: {
      let best: number | undefined;
      const isMin = node.aggregation === Aggregation.Min;
      const count = stop - start + (tail === undefined ? 0 : 1);
      for (let i = 0; i < count; i++) {
        const v = memberAt(history, start, stop, tail, i).numbers[slot];
        if (v === undefined) continue;
        if (best === undefined || (isMin ? v < best : v > best)) best = v;
      }
      return best;
    }
    case Aggregation.DistinctCount: {
      const seen = new Set<string>();
      const count = stop - start + (tail === undefined ? 0 : 1);
      for (let i = 0; i < count; i++) {
        const v = memberAt(history, start, stop, tail, i).values[slot];
        if (typeof v === 'string') seen.add(v);
      }
      return seen.size;
    }
    case Aggregation.Last: {
      const count = stop - start + (tail === undefined ? 0 : 1);
      for (let i = count - 1; i >= 0; i--) {
        const x = memberAt(history, start, stop, tail, i);
        const v = node.numeric ? x.numbers[slot] : x.values[slot];
        if (typeof v === 'number' || typeof v === 'string') return v;
      }
      return undefined;
    }
  }
}

/** The `i`-th member of a window: `history[start, stop)`, then the tail. */
function memberAt(
  history: readonly DerivedEvent[],
  start: number,
  stop: number,
  tail: DerivedEvent | undefined,
  i: number
): DerivedEvent {
  return (i < stop - start ? history[start + i] : tail) as DerivedEvent;
}

function evaluate(position: Position, node: CompiledExpr): DerivedValue | undefined {
  switch (node.kind) {
    case ExprKind.Aggregation:
      return aggregate(position, node);
    case ExprKind.Field: {
      const v = node.numeric ? position.event.numbers[node.slot] : position.event.values[node.slot];
      return typeof v === 'number' || typeof v === 'string' ? v : undefined;
    }
    case ExprKind.Ratio:
    case ExprKind.Difference: {
      const left = evaluate(position, node.left);
      const right = evaluate(position, node.right);
      if (typeof left !== 'number' || typeof right !== 'number') return undefined;
      if (node.kind === ExprKind.Difference) return left - right;
      return right === 0 ? undefined : left / right;
    }
  }
}

/** A value the feature can hold: finite, a safe integer for Integral features, −0 as 0. */
function admissible(
  value: DerivedValue | undefined,
  featureType: string
): DerivedValue | undefined {
  if (typeof value !== 'number') return value;
  if (!Number.isFinite(value)) return undefined;
  if (featureType === 'Integral' && !Number.isSafeInteger(value)) return undefined;
  // The wire has one text per number and writes −0 as "0"; so does the engine.
  return value === 0 ? 0 : value;
}

/**
 * The derived values of one event, from its entity's history.
 *
 * `history` is the entity's events sorted by {@link compareEvents} with unique ids; it may or may
 * not contain `event` itself (it is counted once either way). Events after `event` in the history
 * never influence the result, so the value of an event is fixed once every event before it is
 * known, whatever the arrival order: online and backfill agree by construction.
 *
 * A value is absent (`undefined`) when the expression has no value: a mean, min, max or last with
 * no event carrying the field, a ratio with an absent operand or a zero denominator, or a result
 * that is not finite (or not a safe integer for an Integral feature).
 *
 * @example
 * ```typescript
 * const values = computeDerived(cardVelocities, history, event);
 * // { card_txn_count_60s: 3, card_amount_sum_1h: 127.5, amount_to_avg_7d_ratio: 1.12, ... }
 * ```
 */
function computeDerived(
  definition: DerivedDefinition,
  history: readonly DerivedEvent[],
  event: DerivedEvent
): DerivedValues {
  const end = upperBound(history, event);
  const inHistory = end > 0 && (history[end - 1] as DerivedEvent).id === event.id;
  const position: Position = { history, event, end, inHistory };
  const values: Record<string, DerivedValue | undefined> = {};
  for (const output of definition.outputs) {
    values[output.feature] = admissible(evaluate(position, output.compiled), output.featureType);
  }
  return values;
}

export type { DerivedValue, DerivedValues };
export { computeDerived, upperBound };

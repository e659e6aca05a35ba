/**
 * The state of one entity: its recent events, exactly (not tiles), in event order. Applying an
 * event tells which already-applied events it changes (late and out-of-order arrivals), so the
 * caller can rewrite them; compaction bounds the state in time (window + allowed lateness) and
 * in bytes (the record limit).
 */
import { SkewlessError } from '../errors.ts';
import { computeDerived, type DerivedValues, upperBound } from './compute.ts';
import type { DerivedDefinition } from './define.ts';
import {
  compareEvents,
  type DerivedEvent,
  makeEvent,
  sameEvent,
  type WireValue,
} from './events.ts';

/** What applying an event did. */
const ApplyOutcome = {
  /** New event, now in the state. */
  Applied: 'applied',
  /** Same id and same content as an applied event: a redelivery, nothing changes. */
  Duplicate: 'duplicate',
  /** Same id as an applied event but different content: refused, the applied one stays. */
  Conflict: 'conflict',
  /**
   * Older than the entity's latest event time minus the allowed lateness, or not after an event
   * evicted for size: its window may reach events the state no longer has. Not applied.
   */
  TooLate: 'tooLate',
} as const;
type ApplyOutcome = (typeof ApplyOutcome)[keyof typeof ApplyOutcome];

interface ApplyResult {
  readonly outcome: ApplyOutcome;
  /**
   * For `applied`: the event and every already-applied event whose values it changes (later in
   * event order and less than the longest window after it), in event order.
   */
  readonly affected: readonly DerivedEvent[];
}

/** Event key `(time, id)`. */
interface EventKey {
  readonly time: bigint;
  readonly id: string;
}

interface CompactResult {
  /** Events dropped because no future window can reach them. */
  readonly pruned: number;
  /** Events dropped, oldest first, to keep the serialised state within its byte budget. */
  readonly evicted: number;
}

/** A stored state that cannot be read back. */
class DerivedStateError extends SkewlessError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DerivedStateError';
  }
}

const FORMAT_VERSION = 1;
/**
 * Upper bound of an event's time field in the serialised form (a delta of up to 2^53 ns as digits,
 * or a quoted decimal beyond it) plus separators: the byte estimate never undercounts.
 */
const TIME_FIELD_BYTES = 24;
/** Deltas up to this are written as JSON numbers, larger ones as quoted decimals. */
const MAX_SAFE_DELTA = BigInt(Number.MAX_SAFE_INTEGER);

/** Serialised layout (`v` 1). Times are epoch nanoseconds as decimal text, events as tuples. */
interface StateJson {
  /** Format version. */
  v: number;
  /** Raw feature names, in tuple order after id and time. */
  f: string[];
  /** Latest event time applied. */
  m: string;
  /** Base of the event time deltas. */
  b: string;
  /** Newest event evicted for size, `[time, id]`; events not after it are too late. */
  h?: [string, string];
  /** Events `[id, time − base, ...values]`, in event order; an absent value is null. */
  e: unknown[][];
}

/** UTF-8 bytes of `JSON.stringify(value)`, without building the text for plain ASCII strings. */
function jsonBytes(value: WireValue | null): number {
  if (typeof value === 'string') {
    let plain = true;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      // Printable ASCII other than `"` and `\` is written as is; anything else may be escaped.
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        plain = false;
        break;
      }
    }
    if (plain) return value.length + 2;
  } else if (value === null) return 4;
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** UTF-8 bytes of the event's tuple `[id, ...values]` as JSON, plus the time field's bound. */
function eventBytes(event: DerivedEvent): number {
  let bytes = 2 + jsonBytes(event.id) + TIME_FIELD_BYTES;
  for (const value of event.values) bytes += 1 + jsonBytes(value ?? null);
  return bytes;
}

/**
 * An event's tuple in the serialised form without its time (which depends on the state's base),
 * built at the first save that needs it and kept with the state, so a hot entity's hundreds of
 * events are not stringified again at every save.
 */
interface EventText {
  /** JSON of the id. */
  readonly id: string;
  /** `,` and the JSON of each value (null when absent), in slot order. */
  readonly values: string;
}

function eventText(event: DerivedEvent): EventText {
  // `JSON.stringify` writes an absent (undefined) array element as null.
  const values = JSON.stringify(event.values);
  return {
    id: JSON.stringify(event.id),
    values: values.length > 2 ? `,${values.slice(1, -1)}` : '',
  };
}

function headerBytes(definition: DerivedDefinition): number {
  return Buffer.byteLength(JSON.stringify(definition.rawFeatures), 'utf8') + 160;
}

/**
 * One entity's state. Not thread-safe by design: the caller processes one entity's events one at
 * a time, in stream order (Kinesis orders them per partition key).
 *
 * @example
 * ```typescript
 * const state = EntityState.empty(cardVelocities, 'card-0001');
 * const { outcome, affected } = state.apply(event);
 * for (const e of affected) write(e, state.valuesOf(e));
 * const json = state.serialize();
 * ```
 */
class EntityState {
  readonly definition: DerivedDefinition;
  readonly entity: string;
  private readonly list: DerivedEvent[] = [];
  private readonly byId = new Map<string, DerivedEvent>();
  private readonly sizes = new Map<DerivedEvent, number>();
  private readonly texts = new Map<DerivedEvent, EventText>();
  private bytes = 0;
  private latest: bigint | undefined;
  private evictedThrough: EventKey | undefined;

  private constructor(definition: DerivedDefinition, entity: string) {
    this.definition = definition;
    this.entity = entity;
  }

  /** A state with no events. */
  static empty(definition: DerivedDefinition, entity: string): EntityState {
    return new EntityState(definition, entity);
  }

  /**
   * A state read back from {@link EntityState.serialize}. Raw features are matched by name, so a
   * definition that gained a feature reads old events with it absent.
   *
   * @throws DerivedStateError when the text is not a state of this format
   */
  static parse(definition: DerivedDefinition, entity: string, text: string): EntityState {
    let json: StateJson;
    try {
      json = JSON.parse(text) as StateJson;
    } catch (error) {
      throw new DerivedStateError(`state of "${entity}" is not JSON`, { cause: error });
    }
    if (
      typeof json !== 'object' ||
      json === null ||
      json.v !== FORMAT_VERSION ||
      !Array.isArray(json.f) ||
      !Array.isArray(json.e) ||
      typeof json.m !== 'string' ||
      typeof json.b !== 'string'
    ) {
      throw new DerivedStateError(`state of "${entity}" is not a version ${FORMAT_VERSION} state`);
    }
    const state = new EntityState(definition, entity);
    try {
      const base = BigInt(json.b);
      const slotOf = json.f.map((name) => definition.rawFeatures.indexOf(name));
      const slots = definition.rawFeatures.length;
      for (const tuple of json.e) {
        if (!Array.isArray(tuple)) throw new Error('malformed event tuple');
        const id: unknown = tuple[0];
        const delta: unknown = tuple[1];
        if (typeof id !== 'string' || (typeof delta !== 'number' && typeof delta !== 'string')) {
          throw new Error('malformed event tuple');
        }
        const values = new Array<WireValue | undefined>(slots).fill(undefined);
        for (let i = 2; i < tuple.length; i++) {
          const slot = slotOf[i - 2] ?? -1;
          const value: unknown = tuple[i];
          if (slot >= 0 && value !== null) values[slot] = value as WireValue;
        }
        state.insert(makeEvent(definition, id, base + BigInt(delta), entity, values));
      }
      state.latest = BigInt(json.m);
      if (json.h !== undefined) state.evictedThrough = { time: BigInt(json.h[0]), id: json.h[1] };
    } catch (error) {
      throw new DerivedStateError(
        `state of "${entity}" is malformed: ${(error as Error).message}`,
        {
          cause: error,
        }
      );
    }
    return state;
  }

  /** The applied events, in event order. */
  get events(): readonly DerivedEvent[] {
    return this.list;
  }

  /** The latest event time applied, or undefined for a new entity. */
  get maxTime(): bigint | undefined {
    return this.latest;
  }

  /** The newest event evicted for size, if any. */
  get horizon(): EventKey | undefined {
    return this.evictedThrough;
  }

  /** Upper bound of the serialised size in bytes. */
  get estimatedBytes(): number {
    return headerBytes(this.definition) + this.bytes;
  }

  /** The applied event with this id, if any. */
  get(id: string): DerivedEvent | undefined {
    return this.byId.get(id);
  }

  /**
   * Apply one event (see {@link ApplyOutcome}). Event time decides everything; the clock is
   * never read.
   */
  apply(event: DerivedEvent): ApplyResult {
    if (event.entity !== this.entity) {
      throw new Error(`event of entity "${event.entity}" applied to state of "${this.entity}"`);
    }
    const existing = this.byId.get(event.id);
    if (existing !== undefined) {
      return {
        outcome: sameEvent(existing, event) ? ApplyOutcome.Duplicate : ApplyOutcome.Conflict,
        affected: [],
      };
    }
    if (this.isTooLate(event)) return { outcome: ApplyOutcome.TooLate, affected: [] };
    const index = this.insert(event);
    if (this.latest === undefined || event.time > this.latest) this.latest = event.time;
    const reach = event.time + this.definition.longestWindowNanos;
    let stop = index + 1;
    while (stop < this.list.length && (this.list[stop] as DerivedEvent).time < reach) stop++;
    return { outcome: ApplyOutcome.Applied, affected: this.list.slice(index, stop) };
  }

  /** Whether an event would be refused as too late (see {@link ApplyOutcome.TooLate}). */
  isTooLate(event: EventKey): boolean {
    if (
      this.latest !== undefined &&
      event.time < this.latest - this.definition.allowedLatenessNanos
    ) {
      return true;
    }
    return this.evictedThrough !== undefined && compareEvents(event, this.evictedThrough) <= 0;
  }

  /** The derived values of an event from this state (see `computeDerived`). */
  valuesOf(event: DerivedEvent): DerivedValues {
    return computeDerived(this.definition, this.list, event);
  }

  /**
   * Drop what no future value can need: events at or before `latest − longest window − allowed
   * lateness` (any event still accepted has its window after that). Then, while the serialised
   * state would exceed its budget, evict the oldest events and remember the newest evicted; from
   * then on, windows reaching before it are truncated and events not after it are too late.
   */
  compact(): CompactResult {
    if (this.latest === undefined) return { pruned: 0, evicted: 0 };
    const cutoff =
      this.latest - this.definition.longestWindowNanos - this.definition.allowedLatenessNanos;
    let pruned = 0;
    while (pruned < this.list.length && (this.list[pruned] as DerivedEvent).time <= cutoff) {
      this.forget(this.list[pruned] as DerivedEvent);
      pruned++;
    }
    let evicted = 0;
    const budget = this.definition.maxStateBytes - headerBytes(this.definition);
    let bytes = this.bytes;
    while (pruned + evicted < this.list.length && bytes > budget) {
      const oldest = this.list[pruned + evicted] as DerivedEvent;
      bytes -= this.sizes.get(oldest) ?? 0;
      this.forget(oldest);
      this.evictedThrough = { time: oldest.time, id: oldest.id };
      evicted++;
    }
    if (pruned + evicted > 0) this.list.splice(0, pruned + evicted);
    if (this.evictedThrough !== undefined && this.evictedThrough.time <= cutoff) {
      // Events that old are too late by time alone; the marker is no longer needed.
      this.evictedThrough = undefined;
    }
    return { pruned, evicted };
  }

  /**
   * Compact, then the state as compact JSON (the state group's `state` feature): the text
   * `JSON.stringify` gives for the {@link StateJson} object, assembled from each event's cached
   * tuple text.
   */
  serialize(): string {
    this.compact();
    const base = this.list[0]?.time ?? this.latest ?? 0n;
    const horizon =
      this.evictedThrough === undefined
        ? ''
        : `,"h":${JSON.stringify([String(this.evictedThrough.time), this.evictedThrough.id])}`;
    let events = '';
    for (let i = 0; i < this.list.length; i++) {
      const event = this.list[i] as DerivedEvent;
      const text = this.textOf(event);
      const delta = event.time - base;
      const time = delta <= MAX_SAFE_DELTA ? String(delta) : `"${delta}"`;
      events += `${i === 0 ? '' : ','}[${text.id},${time}${text.values}]`;
    }
    return `{"v":${FORMAT_VERSION},"f":${JSON.stringify(this.definition.rawFeatures)},"m":"${this.latest ?? 0n}","b":"${base}"${horizon},"e":[${events}]}`;
  }

  private textOf(event: DerivedEvent): EventText {
    let text = this.texts.get(event);
    if (text === undefined) {
      text = eventText(event);
      this.texts.set(event, text);
    }
    return text;
  }

  private insert(event: DerivedEvent): number {
    const last = this.list[this.list.length - 1];
    // Events mostly come in event order (a stored state always does): append without a search.
    const index =
      last === undefined || compareEvents(last, event) < 0
        ? this.list.length
        : upperBound(this.list, event);
    if (index === this.list.length) this.list.push(event);
    else this.list.splice(index, 0, event);
    this.byId.set(event.id, event);
    const size = eventBytes(event);
    this.sizes.set(event, size);
    this.bytes += size;
    return index;
  }

  private forget(event: DerivedEvent): void {
    this.byId.delete(event.id);
    this.bytes -= this.sizes.get(event) ?? 0;
    this.sizes.delete(event);
    this.texts.delete(event);
  }
}

export type { ApplyResult, CompactResult, EventKey };
export { ApplyOutcome, DerivedStateError, EntityState };

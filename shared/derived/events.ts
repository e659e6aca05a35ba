/**
 * Events as the derived-feature engine sees them: a record of the source group reduced to its
 * event id, event time, entity and the wire values of its other raw features. Both paths build
 * events from records validated by the schema module, so they see the same canonical values.
 */
import type { FeatureValue } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { EncodedRecord } from '../record/codec.ts';
import type { DerivedDefinition } from './define.ts';

/** A feature value as it travels: scalar text, or the texts of a collection. */
type WireValue = string | readonly string[];

/** One event of one entity. */
interface DerivedEvent {
  /** The source record's identifier: duplicates share it and are applied once. */
  readonly id: string;
  /** Event time, epoch nanoseconds. */
  readonly time: bigint;
  /** The entity key (the entity feature's wire text). */
  readonly entity: string;
  /** Wire values of `definition.rawFeatures`, by slot; undefined when the record lacks one. */
  readonly values: readonly (WireValue | undefined)[];
  /** The numeric scalars among `values`, parsed once, by slot. */
  readonly numbers: readonly (number | undefined)[];
}

/**
 * The one order of events: by event time, then by event id (UTF-16 code unit order, as `<` on
 * strings). Every window boundary and tie is decided by it.
 */
function compareEvents(a: Pick<DerivedEvent, 'time' | 'id'>, b: Pick<DerivedEvent, 'time' | 'id'>) {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  if (a.id === b.id) return 0;
  return a.id < b.id ? -1 : 1;
}

function isNumericSlot(definition: DerivedDefinition, slot: number): boolean {
  const spec = definition.source.features[definition.rawFeatures[slot] ?? ''];
  return (
    spec !== undefined &&
    spec.collection === undefined &&
    (spec.type === 'Integral' || spec.type === 'Fractional')
  );
}

/** Numeric-slot flags of a definition, computed once per definition. */
const numericSlotsCache = new WeakMap<DerivedDefinition, readonly boolean[]>();

function numericSlots(definition: DerivedDefinition): readonly boolean[] {
  let slots = numericSlotsCache.get(definition);
  if (slots === undefined) {
    slots = definition.rawFeatures.map((_, i) => isNumericSlot(definition, i));
    numericSlotsCache.set(definition, slots);
  }
  return slots;
}

/**
 * An event from its parts. `values` are wire values by slot of `definition.rawFeatures`.
 *
 * @example
 * ```typescript
 * const event = makeEvent(cardVelocities, 'txn-1', 1_767_225_600_000_000_000n, 'card-1', [
 *   'merchant-1', '42.5', 'EUR', 'pos',
 * ]);
 * ```
 */
function makeEvent(
  definition: DerivedDefinition,
  id: string,
  time: bigint,
  entity: string,
  values: readonly (WireValue | undefined)[]
): DerivedEvent {
  const numeric = numericSlots(definition);
  const numbers = values.map((v, slot) =>
    numeric[slot] === true && typeof v === 'string' ? Number(v) : undefined
  );
  return { id, time, entity, values, numbers };
}

/** Slot of each raw feature of a definition, computed once per definition. */
const rawSlotsCache = new WeakMap<DerivedDefinition, ReadonlyMap<string, number>>();

function rawSlots(definition: DerivedDefinition): ReadonlyMap<string, number> {
  let slots = rawSlotsCache.get(definition);
  if (slots === undefined) {
    slots = new Map(definition.rawFeatures.map((name, slot) => [name, slot]));
    rawSlotsCache.set(definition, slots);
  }
  return slots;
}

function wireValue(fv: FeatureValue): WireValue | undefined {
  return fv.ValueAsString ?? fv.ValueAsStringList;
}

/**
 * The event of a validated record of the source group, or undefined when the record has no
 * entity value (it is then written without derived values, online and in backfill alike).
 */
function eventOfRecord(
  definition: DerivedDefinition,
  encoded: EncodedRecord
): DerivedEvent | undefined {
  const slotOf = rawSlots(definition);
  const values = new Array<WireValue | undefined>(definition.rawFeatures.length).fill(undefined);
  let entity: WireValue | undefined;
  for (let i = 0; i < encoded.record.length; i++) {
    const fv = encoded.record[i] as FeatureValue;
    const value = wireValue(fv);
    if (fv.FeatureName === undefined || value === undefined) continue;
    if (fv.FeatureName === definition.entity) entity = value;
    const slot = slotOf.get(fv.FeatureName);
    if (slot !== undefined) values[slot] = value;
  }
  if (typeof entity !== 'string' || entity.length === 0) return undefined;
  return makeEvent(
    definition,
    encoded.recordIdentifier,
    encoded.eventTimeEpochNanos,
    entity,
    values
  );
}

function sameWireValue(a: WireValue | undefined, b: WireValue | undefined): boolean {
  if (a === b) return true;
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  return a.every((v, i) => v === b[i]);
}

/** True when two events with the same id are the same event (a redelivery, not a conflict). */
function sameEvent(a: DerivedEvent, b: DerivedEvent): boolean {
  return (
    a.id === b.id &&
    a.time === b.time &&
    a.entity === b.entity &&
    a.values.length === b.values.length &&
    a.values.every((v, i) => sameWireValue(v, b.values[i]))
  );
}

export type { DerivedEvent, WireValue };
export { compareEvents, eventOfRecord, makeEvent, sameEvent };

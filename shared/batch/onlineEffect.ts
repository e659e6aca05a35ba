/**
 * What a batch drop does to the online store, decided before anything is written: pure and
 * synchronous, so every rule is unit-testable without a store.
 *
 * The rows of a drop are accounted for **in file order, as if each were put on its own**: a row
 * whose event time is newer than the identifier's current online value changes it; one with the
 * same event time and the same values leaves it unchanged; one with the same event time and other
 * values overwrites it (the service's rule: a put with event time >= the stored one wins online);
 * an older one leaves the online value where it is (it goes to the offline store only, as the
 * service does with an older PutRecord).
 *
 * Writes follow from that: every row goes to the offline store; per identifier, only the row that
 * ends up online is written to the online store too, once. So a file repeating an identifier costs
 * one online write for it (the service's per-identifier write limit), and the online result does
 * not depend on the order in which concurrent calls land.
 */
import { isDeepStrictEqual } from 'node:util';
import type { TargetStore } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { EncodedRecord } from '../record/codec.ts';
import { fromRecord } from '../record/codec.ts';
import { parseEventTime } from '../record/eventTime.ts';
import type { FeatureGroup } from '../schema/index.ts';

/** The effect of one row on the online store. */
const OnlineEffect = {
  /** Newer than the online value (or none), or same event time with other values: replaces it. */
  Changed: 'changed',
  /** Same event time and same values as the online value: nothing changes. */
  Unchanged: 'unchanged',
  /** Older than the online value: the online value stays, the row goes offline only. */
  Stayed: 'stayed',
} as const;
type OnlineEffect = (typeof OnlineEffect)[keyof typeof OnlineEffect];

/** An online value as far as the comparison needs it. */
interface OnlineVersion {
  readonly eventTimeNanos: bigint;
  /** The decoded feature values except the event time, in a comparable form. */
  readonly values: Readonly<Record<string, unknown>>;
}

/** One validated row of a drop. */
interface BatchRow<Ref> {
  readonly ref: Ref;
  readonly record: EncodedRecord;
}

/** A row with its effect and the stores it is written to. */
interface PlannedRow<Ref> extends BatchRow<Ref> {
  readonly effect: OnlineEffect;
  /** `undefined`: both stores of the group (the row that ends up online); else offline only. */
  readonly targetStores: readonly TargetStore[] | undefined;
}

const OFFLINE_ONLY: readonly TargetStore[] = Object.freeze(['OfflineStore']);

/** Decoded values without the event time (compared as an instant instead). */
function comparableValues(group: FeatureGroup, decoded: Record<string, unknown>) {
  const { [group.eventTime]: _eventTime, ...rest } = decoded;
  return rest;
}

/**
 * The online version a record would become once written.
 *
 * @example
 * ```typescript
 * const version = versionOfRecord(cards, encoded); // { eventTimeNanos: 17…n, values: {…} }
 * ```
 */
function versionOfRecord(group: FeatureGroup, record: EncodedRecord): OnlineVersion {
  return {
    eventTimeNanos: record.eventTimeEpochNanos,
    values: comparableValues(group, fromRecord(group, record.record) as Record<string, unknown>),
  };
}

/**
 * The version of a record read from the online store (decoded by the schema module); undefined
 * when its event time cannot be read, which then counts as "no online value".
 */
function versionOfOnline(
  group: FeatureGroup,
  values: Readonly<Record<string, unknown>>
): OnlineVersion | undefined {
  const eventTime = parseEventTime(values[group.eventTime]);
  if (!eventTime.ok) return undefined;
  return { eventTimeNanos: eventTime.epochNanos, values: comparableValues(group, { ...values }) };
}

/** The effect of putting `next` over `current`, by the service's rule. */
function effectOf(current: OnlineVersion | undefined, next: OnlineVersion): OnlineEffect {
  if (current === undefined || next.eventTimeNanos > current.eventTimeNanos)
    return OnlineEffect.Changed;
  if (next.eventTimeNanos < current.eventTimeNanos) return OnlineEffect.Stayed;
  return isDeepStrictEqual(current.values, next.values)
    ? OnlineEffect.Unchanged
    : OnlineEffect.Changed;
}

/**
 * Plans the writes of a run of rows (in file order) against the current online values of their
 * identifiers. Returns the rows with their effect and target stores, in the same order, and the
 * online version of every identifier once the rows are written (for the next run of a dry run).
 *
 * @param group - the batch-fed group all rows belong to
 * @param rows - validated rows, in file order
 * @param current - identifier → its online version now (absent or undefined: no online value)
 *
 * @example
 * ```typescript
 * const { planned } = planBatchWrites(cards, rows, new Map([['card-1', online]]));
 * planned.map((p) => p.effect); // ['changed', 'stayed', …]
 * ```
 */
function planBatchWrites<Ref>(
  group: FeatureGroup,
  rows: readonly BatchRow<Ref>[],
  current: ReadonlyMap<string, OnlineVersion | undefined>
): { planned: PlannedRow<Ref>[]; after: Map<string, OnlineVersion | undefined> } {
  const after = new Map<string, OnlineVersion | undefined>();
  const effects: OnlineEffect[] = [];
  /** Identifier → index of the row that ends up online (the last one to change it). */
  const onlineRow = new Map<string, number>();
  rows.forEach((row, index) => {
    const id = row.record.recordIdentifier;
    const before = after.has(id) ? after.get(id) : current.get(id);
    const version = versionOfRecord(group, row.record);
    const effect = effectOf(before, version);
    effects.push(effect);
    if (effect === OnlineEffect.Changed) {
      after.set(id, version);
      onlineRow.set(id, index);
    } else if (!after.has(id)) {
      after.set(id, before);
    }
  });
  const planned = rows.map((row, index) => ({
    ...row,
    effect: effects[index] ?? OnlineEffect.Stayed,
    targetStores: onlineRow.get(row.record.recordIdentifier) === index ? undefined : OFFLINE_ONLY,
  }));
  return { planned, after };
}

export type { BatchRow, OnlineVersion, PlannedRow };
export { OnlineEffect, planBatchWrites, versionOfOnline, versionOfRecord };

/**
 * From events and derived values back to records of the source group, encoded by the schema
 * module exactly as a producer's record would be, so both stores receive the same bytes whichever
 * path (ingest, rewrite after a late event, backfill) wrote them.
 */
import { RecordValidationError } from '../errors.ts';
import { type EncodedRecord, encodeRecord, extendRecord } from '../record/codec.ts';
import { formatEpochSecondsEventTime, formatIsoEventTime } from '../record/eventTime.ts';
import type { DerivedValues } from './compute.ts';
import type { DerivedDefinition } from './define.ts';
import type { DerivedEvent } from './events.ts';

/**
 * The full record of an event with its derived values (absent values are left out). Every other
 * feature comes from the event as it was applied, so a rewrite reproduces the original record.
 *
 * `encoded`, when the caller has it, is the validated record the event was made from (see
 * `eventOfRecord`): its features are then taken as encoded instead of formatted and validated
 * again, with the same result.
 *
 * @throws RecordValidationError when the record cannot be encoded (e.g. over 350 KB)
 */
function derivedRecord(
  definition: DerivedDefinition,
  event: DerivedEvent,
  values: DerivedValues,
  encoded?: EncodedRecord
): EncodedRecord {
  const group = definition.source;
  const outputs: Record<string, unknown> = {};
  for (const output of definition.outputs) {
    const value = values[output.feature];
    if (value !== undefined) outputs[output.feature] = value;
  }
  if (
    encoded !== undefined &&
    encoded.recordIdentifier === event.id &&
    encoded.eventTimeEpochNanos === event.time
  ) {
    const result = extendRecord(group, withoutDerived(definition, encoded), outputs);
    if (!result.ok) throw new RecordValidationError(group.name, result.problems);
    return result.value;
  }
  const eventTimeType = group.features[group.eventTime]?.type;
  const input: Record<string, unknown> = {
    [group.recordIdentifier]: event.id,
    [group.eventTime]:
      eventTimeType === 'Fractional'
        ? formatEpochSecondsEventTime(event.time)
        : formatIsoEventTime(event.time),
    [definition.entity]: event.entity,
  };
  definition.rawFeatures.forEach((name, slot) => {
    const value = event.values[slot];
    if (value !== undefined) input[name] = value;
  });
  const result = encodeRecord(group, { ...input, ...outputs });
  if (!result.ok) throw new RecordValidationError(group.name, result.problems);
  return result.value;
}

const outputNamesCache = new WeakMap<DerivedDefinition, ReadonlySet<string>>();

/** The definition's derived feature names, computed once per definition. */
function outputNames(definition: DerivedDefinition): ReadonlySet<string> {
  let names = outputNamesCache.get(definition);
  if (names === undefined) {
    names = new Set(definition.outputs.map((o) => o.feature));
    outputNamesCache.set(definition, names);
  }
  return names;
}

/**
 * The record without any derived feature: what is written for an event that gets no derived
 * values (no entity value, or too late), so a producer-supplied value is never passed off as one.
 */
function withoutDerived(definition: DerivedDefinition, encoded: EncodedRecord): EncodedRecord {
  const outputs = outputNames(definition);
  const record = encoded.record.filter((fv) => !outputs.has(fv.FeatureName ?? ''));
  if (record.length === encoded.record.length) return encoded;
  return { ...encoded, record };
}

export { derivedRecord, withoutDerived };

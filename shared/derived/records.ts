/**
 * From events and derived values back to records of the source group, encoded by the schema
 * module exactly as a producer's record would be, so both stores receive the same bytes whichever
 * path (ingest, rewrite after a late event, backfill) wrote them.
 */
import { RecordValidationError } from '../errors.ts';
import { type EncodedRecord, encodeRecord } from '../record/codec.ts';
import { formatEpochSecondsEventTime, formatIsoEventTime } from '../record/eventTime.ts';
import type { DerivedValues } from './compute.ts';
import type { DerivedDefinition } from './define.ts';
import type { DerivedEvent } from './events.ts';

/**
 * The full record of an event with its derived values (absent values are left out). Every other
 * feature comes from the event as it was applied, so a rewrite reproduces the original record.
 *
 * @throws RecordValidationError when the record cannot be encoded (e.g. over 350 KB)
 */
function derivedRecord(
  definition: DerivedDefinition,
  event: DerivedEvent,
  values: DerivedValues
): EncodedRecord {
  const group = definition.source;
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
  for (const output of definition.outputs) {
    const value = values[output.feature];
    if (value !== undefined) input[output.feature] = value;
  }
  const result = encodeRecord(group, input);
  if (!result.ok) throw new RecordValidationError(group.name, result.problems);
  return result.value;
}

/**
 * The record without any derived feature: what is written for an event that gets no derived
 * values (no entity value, or too late), so a producer-supplied value is never passed off as one.
 */
function withoutDerived(definition: DerivedDefinition, encoded: EncodedRecord): EncodedRecord {
  const outputs = new Set(definition.outputs.map((o) => o.feature));
  const record = encoded.record.filter((fv) => !outputs.has(fv.FeatureName ?? ''));
  if (record.length === encoded.record.length) return encoded;
  return { ...encoded, record };
}

export { derivedRecord, withoutDerived };

/**
 * Record validation against a group's feature definitions (contract §5.5-§5.8). Every problem of a
 * record is collected and reported in one `ValidationError` whose message names the feature and
 * the problem, e.g. `feature 'amount' (Integral): value "12.5" is not a 64-bit signed integer`.
 */
import { notUtf8Encodable } from '../../shared/record/unicode.ts';
import { Limits } from '../../shared/schema/limits.ts';
import { type ServiceError, validationError } from './errors.ts';
import { type EventTime, parseStoreEventTime } from './eventTime.ts';
import type { FeatureDef, Group } from './group.ts';

/** A feature value as stored and returned: exactly one of the two value members. */
type StoredFeatureValue =
  | { FeatureName: string; ValueAsString: string }
  | { FeatureName: string; ValueAsStringList: string[] };

interface ValidRecord {
  readonly id: string;
  readonly et: EventTime;
  readonly etText: string;
  readonly values: StoredFeatureValue[];
}

const INTEGRAL = /^[+-]?\d+$/;
const FRACTIONAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function show(value: string): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}..."` : text;
}

/**
 * Why `value` cannot be stored, or undefined: a lone UTF-16 surrogate (shared/record/unicode.ts,
 * the schema module's codec says the same). Whether the service itself refuses it is not
 * verified: refusing it is this store's choice.
 */
function unicodeProblem(value: string): string | undefined {
  const problem = notUtf8Encodable(value);
  return problem === undefined ? undefined : `value ${show(value)} is ${problem}`;
}

/** UTF-8 size, computed only when the string could exceed `limit` (a UTF-16 unit is <= 3 bytes). */
function exceeds(text: string, limit: number): boolean {
  return text.length * 3 > limit && Buffer.byteLength(text, 'utf8') > limit;
}

/**
 * The record size the 350 KB limit is about: the UTF-8 bytes of its feature names and values
 * (what the schema module's codec counts too).
 */
function recordBytes(values: readonly StoredFeatureValue[]): number {
  let bytes = 0;
  for (const v of values) {
    bytes += Buffer.byteLength(v.FeatureName, 'utf8');
    if ('ValueAsString' in v) bytes += Buffer.byteLength(v.ValueAsString, 'utf8');
    else for (const e of v.ValueAsStringList) bytes += Buffer.byteLength(e, 'utf8');
  }
  return bytes;
}

/** Why `value` is not a valid scalar of `type`, or undefined when it is. */
function scalarProblem(type: FeatureDef['type'], value: string): string | undefined {
  if (type === 'String') {
    return exceeds(value, Limits.maxValueBytes)
      ? `value is larger than ${Limits.maxValueBytes} bytes`
      : unicodeProblem(value);
  }
  if (type === 'Integral') {
    if (!INTEGRAL.test(value)) return `value ${show(value)} is not a 64-bit signed integer`;
    if (value.length > 18) {
      const n = BigInt(value);
      if (n < INT64_MIN || n > INT64_MAX) {
        return `value ${show(value)} overflows a 64-bit signed integer (-9223372036854775808..9223372036854775807)`;
      }
    }
    return undefined;
  }
  if (!FRACTIONAL.test(value)) {
    if (/^[+-]?nan$/i.test(value)) return `value ${show(value)} is NaN, which is not allowed`;
    if (/^[+-]?inf(inity)?$/i.test(value)) {
      return `value ${show(value)} is infinite, which is not allowed`;
    }
    return `value ${show(value)} is not a valid Fractional (IEEE-754 double)`;
  }
  if (!Number.isFinite(Number(value))) {
    return `value ${show(value)} overflows an IEEE-754 double`;
  }
  return undefined;
}

function collectionProblem(def: FeatureDef, list: unknown[]): string | undefined {
  // The record size counts bytes: a list of empty strings would pass it at any length.
  if (list.length > Limits.maxCollectionElements) {
    return `ValueAsStringList has ${list.length} elements; at most ${Limits.maxCollectionElements} are allowed`;
  }
  for (let i = 0; i < list.length; i++) {
    const element = list[i];
    if (typeof element !== 'string') return `element ${i} of ValueAsStringList is not a string`;
    const p = scalarProblem(def.type, element);
    if (p !== undefined) return `element ${i}: ${p}`;
  }
  if (def.collection === 'Set' && new Set(list).size !== list.length) {
    return 'ValueAsStringList has duplicate elements, which a Set feature does not allow';
  }
  if (def.collection === 'Vector' && list.length !== def.dimension) {
    return `Vector feature needs exactly ${def.dimension} elements, got ${list.length}`;
  }
  return undefined;
}

interface CheckedFeatures {
  readonly values: StoredFeatureValue[];
  readonly byName: Map<string, StoredFeatureValue>;
  /** Every defined feature named in the list, valid or not. */
  readonly present: Set<string>;
  readonly problems: string[];
  /** UTF-16 length of the names and values in `values` (each unit is 1 to 3 UTF-8 bytes). */
  readonly units: number;
}

/** Validates a list of FeatureValue objects against the group; collects every problem. */
function checkFeatures(group: Group, list: unknown, member: string): CheckedFeatures {
  const problems: string[] = [];
  const values: StoredFeatureValue[] = [];
  const byName = new Map<string, StoredFeatureValue>();
  const present = new Set<string>();
  let units = 0;
  if (!Array.isArray(list) || list.length === 0) {
    problems.push(`${member} must be a list with at least one feature value`);
    return { values, byName, present, problems, units };
  }
  for (let i = 0; i < list.length; i++) {
    const fv = list[i] as {
      FeatureName?: unknown;
      ValueAsString?: unknown;
      ValueAsStringList?: unknown;
    } | null;
    if (typeof fv !== 'object' || fv === null) {
      problems.push(`${member}[${i}] is not a FeatureValue object`);
      continue;
    }
    const name = fv.FeatureName;
    if (typeof name !== 'string' || name === '') {
      problems.push(`${member}[${i}] has no FeatureName`);
      continue;
    }
    const def = group.features.get(name);
    if (def === undefined) {
      problems.push(`feature '${name}' is not defined in feature group '${group.name}'`);
      continue;
    }
    if (present.has(name)) {
      problems.push(`feature '${name}' appears more than once in ${member}`);
      continue;
    }
    present.add(name);
    const s = fv.ValueAsString;
    const l = fv.ValueAsStringList;
    const hasS = s !== undefined && s !== null;
    const hasL = l !== undefined && l !== null;
    const label = def.label;
    if (hasS && hasL) {
      problems.push(`${label}: set either ValueAsString or ValueAsStringList, not both`);
      continue;
    }
    let stored: StoredFeatureValue;
    if (def.collection === undefined) {
      if (hasL) {
        problems.push(
          `${label}: is a scalar feature and needs ValueAsString, but ValueAsStringList was given`
        );
        continue;
      }
      if (!hasS) {
        problems.push(`${label}: has no value (ValueAsString is missing)`);
        continue;
      }
      if (typeof s !== 'string') {
        problems.push(`${label}: ValueAsString must be a string`);
        continue;
      }
      // The event time is checked by its own, stricter parser (validateRecord, eventTimeOf).
      const p = name === group.etFeature.name ? undefined : scalarProblem(def.type, s);
      if (p !== undefined) {
        problems.push(`${label}: ${p}`);
        continue;
      }
      units += name.length + s.length;
      stored = { FeatureName: name, ValueAsString: s };
    } else {
      if (hasS) {
        problems.push(
          `${label}: is a collection feature and needs ValueAsStringList, but ValueAsString was given`
        );
        continue;
      }
      if (!Array.isArray(l)) {
        problems.push(`${label}: has no value (ValueAsStringList is missing)`);
        continue;
      }
      const p = collectionProblem(def, l);
      if (p !== undefined) {
        problems.push(`${label}: ${p}`);
        continue;
      }
      units += name.length;
      for (const e of l as string[]) units += e.length;
      stored = { FeatureName: name, ValueAsStringList: l as string[] };
    }
    values.push(stored);
    byName.set(name, stored);
  }
  return { values, byName, present, problems, units };
}

function fail(group: Group, problems: readonly string[]): ServiceError {
  return validationError(`Invalid record for FeatureGroup [${group.name}]: ${problems.join('; ')}`);
}

/** Problem with a record identifier value, or undefined. */
function identifierProblem(group: Group, id: string): string | undefined {
  const label = (): string =>
    `record identifier '${group.idFeature.name}' (${group.idFeature.type})`;
  if (id === '') return `${label()}: value must not be empty`;
  if (exceeds(id, Limits.maxRecordIdentifierBytes)) {
    return `${label()}: value is larger than ${Limits.maxRecordIdentifierBytes} bytes`;
  }
  const p = scalarProblem(group.idFeature.type, id);
  return p === undefined ? undefined : `${label()}: ${p}`;
}

/** Parses an event-time value of the group or throws a ValidationError naming the feature. */
function eventTimeOf(group: Group, text: string, member: string): EventTime {
  const parsed = parseStoreEventTime(text, group.etFeature.type);
  if (!parsed.ok) {
    throw fail(group, [
      `${member} '${group.etFeature.name}' (${group.etFeature.type}): value ${show(text)} ${parsed.reason}`,
    ]);
  }
  return parsed.value;
}

/**
 * Why the record is too large, or undefined. The limit is in UTF-8 bytes, which non-ASCII text
 * takes up to 3 times its length in; `utf16Units` (CheckedFeatures.units), when known, spares
 * counting them for a record that cannot reach the limit even at 3 bytes a unit.
 */
function recordSizeProblem(
  values: readonly StoredFeatureValue[],
  utf16Units?: number
): string | undefined {
  if (utf16Units !== undefined && utf16Units * 3 <= Limits.maxRecordBytes) return undefined;
  return recordBytes(values) > Limits.maxRecordBytes
    ? `record is larger than ${Limits.maxRecordBytes} bytes (350 KB)`
    : undefined;
}

/** Validates a whole record (PutRecord, BatchWriteRecord). */
function validateRecord(group: Group, record: unknown): ValidRecord {
  const checked = checkFeatures(group, record, 'Record');
  const problems = checked.problems;
  const idValue = checked.byName.get(group.idFeature.name);
  const etValue = checked.byName.get(group.etFeature.name);
  if (Array.isArray(record) && record.length > 0) {
    if (!checked.present.has(group.idFeature.name)) {
      problems.push(`record identifier feature '${group.idFeature.name}' is missing`);
    }
    if (!checked.present.has(group.etFeature.name)) {
      problems.push(`event time feature '${group.etFeature.name}' is missing`);
    }
  }
  let et: EventTime | undefined;
  let etText = '';
  if (etValue !== undefined && 'ValueAsString' in etValue) {
    etText = etValue.ValueAsString;
    const parsed = parseStoreEventTime(etText, group.etFeature.type);
    if (parsed.ok) et = parsed.value;
    else {
      problems.push(
        `event time feature '${group.etFeature.name}' (${group.etFeature.type}): value ${show(etText)} ${parsed.reason}`
      );
    }
  }
  let id = '';
  if (idValue !== undefined && 'ValueAsString' in idValue) {
    id = idValue.ValueAsString;
    const p = identifierProblem(group, id);
    if (p !== undefined) problems.push(p);
  }
  const sizeProblem = recordSizeProblem(checked.values, checked.units);
  if (sizeProblem !== undefined) problems.push(sizeProblem);
  if (problems.length > 0 || et === undefined) throw fail(group, problems);
  return { id, et, etText, values: checked.values };
}

export type { CheckedFeatures, StoredFeatureValue, ValidRecord };
export {
  checkFeatures,
  eventTimeOf,
  fail,
  identifierProblem,
  recordSizeProblem,
  unicodeProblem,
  validateRecord,
};

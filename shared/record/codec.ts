import type { FeatureValue } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { kindOf, type RecordProblem, RecordValidationError } from '../errors.ts';
import type { FeatureGroup, InputRecordOf, RecordOf } from '../schema/defineFeatureGroup.ts';
import { Limits } from '../schema/limits.ts';
import type { FeatureSpec } from '../schema/types.ts';
import {
  type EventTimeBound,
  eventTimeBeyondBound,
  formatEpochSecondsEventTime,
  formatIsoEventTime,
  parseEventTime,
} from './eventTime.ts';
import { notUtf8Encodable } from './unicode.ts';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INTEGER_TEXT = /^[+-]?\d+$/;
/** A whole number as a float prints it (`3.0`, `-12.00`). */
const WHOLE_FLOAT_TEXT = /^[+-]?\d+\.0+$/;
/** Decimal or scientific notation; `NaN`/`Infinity` are deliberately not matched. */
const FRACTIONAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The codec's words for an unsafe Integral number, for TypeScript callers. */
const UNSAFE_NUMBER_REASON =
  'Integral value is beyond 2^53 and cannot be exact as a JS number; send it as a string or bigint';

/**
 * The same for a value read from JSON: the number in hand is what the parser rounded, not what
 * the producer wrote, and a string of its digits is the JSON way to send it exactly.
 */
const UNSAFE_JSON_NUMBER =
  'a JSON number beyond ±(2^53 − 1), which cannot be read exactly (JSON parsers round it): send it as a JSON string of its digits';

/**
 * The same for a value read from a Parquet DOUBLE or FLOAT column: the number is what the file
 * holds, but a floating-point column cannot carry every integer beyond 2^53, so the digits
 * written may not be the ones meant; an integer column carries them all.
 */
const UNSAFE_PARQUET_NUMBER =
  'a Parquet DOUBLE or FLOAT beyond ±(2^53 − 1), where a floating-point column cannot hold every integer exactly: write the column as INT64 (or DECIMAL with scale 0)';

type ScalarResult =
  | { ok: true; text: string }
  | {
      ok: false;
      reason: string;
      /**
       * Set when the value is an integer JS number beyond ±(2^53 − 1) for an Integral: it may not
       * be the number its source wrote (a JSON parser has already rounded it), so a caller that
       * read it from JSON words its own message (the `reason` speaks to TypeScript callers).
       */
      unsafeNumber?: true;
    };

/** A record encoded for the wire, with the facts every writer needs about it. */
interface EncodedRecord {
  readonly featureGroup: string;
  readonly record: FeatureValue[];
  readonly recordIdentifier: string;
  /** The group's record identifier feature (the schema's), whose value is `recordIdentifier`. */
  readonly recordIdentifierName: string;
  /** Normalised event time as written to the wire. */
  readonly eventTime: string;
  /** The group's event time feature (the schema's), whose value is `eventTime`. */
  readonly eventTimeName: string;
  readonly eventTimeEpochNanos: bigint;
  /** Approximate size on the wire in bytes (names + values), checked against the 350 KB limit. */
  readonly sizeBytes: number;
}

type EncodeResult =
  | { readonly ok: true; readonly value: EncodedRecord }
  | { readonly ok: false; readonly problems: RecordProblem[] };

function encodeIntegral(value: unknown): ScalarResult {
  let big: bigint;
  // A safe integer is within int64 and prints the same as its BigInt: no BigInt needed.
  if (typeof value === 'number' && Number.isSafeInteger(value))
    return { ok: true, text: String(value) };
  if (typeof value === 'bigint') big = value;
  else if (typeof value === 'number') {
    if (!Number.isInteger(value))
      return { ok: false, reason: 'Integral value must be a whole number' };
    if (!Number.isSafeInteger(value)) {
      return {
        ok: false,
        reason: UNSAFE_NUMBER_REASON,
        unsafeNumber: true,
      };
    }
    big = BigInt(value);
  } else if (typeof value === 'string') {
    if (!INTEGER_TEXT.test(value)) {
      return {
        ok: false,
        reason: WHOLE_FLOAT_TEXT.test(value)
          ? // The service reads Integral text as a long: "3.0" fails there too (zero skew).
            "Integral value must be a base-10 integer, not a float's text (pandas writes an integer column that has missing values as float64: cast it with .astype('Int64') before writing)"
          : 'Integral value must be a base-10 integer',
      };
    }
    big = BigInt(value);
  } else {
    return {
      ok: false,
      reason: `Integral value must be a number, bigint or digit string, not ${kindOf(value)}`,
    };
  }
  if (big < INT64_MIN || big > INT64_MAX)
    return { ok: false, reason: 'Integral value is outside the signed 64-bit range' };
  return { ok: true, text: big.toString() };
}

function encodeFractional(value: unknown): ScalarResult {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string') {
    // Already the canonical text of a finite double (what every Skewless writer sends): as is.
    const canonical = Number(value);
    if (Number.isFinite(canonical) && String(canonical) === value) return { ok: true, text: value };
    if (!FRACTIONAL_TEXT.test(value.trim()))
      return { ok: false, reason: 'Fractional value must be a decimal number' };
    n = Number(value);
  } else if (typeof value === 'bigint') {
    n = Number(value);
  } else {
    return {
      ok: false,
      reason: `Fractional value must be a number or decimal string, not ${kindOf(value)}`,
    };
  }
  if (Number.isNaN(n)) return { ok: false, reason: 'Fractional value must not be NaN' };
  if (!Number.isFinite(n))
    return { ok: false, reason: 'Fractional value must be finite (not ±Infinity)' };
  // One canonical text per double, so both stores and every reader see the same bytes.
  return { ok: true, text: String(n) };
}

function encodeString(value: unknown): ScalarResult {
  if (typeof value !== 'string')
    return { ok: false, reason: `String value must be a string, not ${kindOf(value)}` };
  if (Buffer.byteLength(value, 'utf8') > Limits.maxValueBytes) {
    return { ok: false, reason: `value exceeds ${Limits.maxValueBytes} bytes` };
  }
  // A lone surrogate has no UTF-8 form: the store would refuse it (the embedded one) or keep
  // U+FFFD (an offline file written directly), another value than the one sent.
  const unencodable = notUtf8Encodable(value);
  if (unencodable !== undefined) return { ok: false, reason: `String value is ${unencodable}` };
  return { ok: true, text: value };
}

const SCALAR_ENCODERS = {
  String: encodeString,
  Integral: encodeIntegral,
  Fractional: encodeFractional,
} as const;

/**
 * The wire text of a record identifier given as text (or, for an Integral or Fractional one, as
 * a number), exactly as every writer encodes it: a String id as it is, an Integral or Fractional
 * one through the same encoder as the records (`007` is `7`, `42.0` is `42`). A reader that looks
 * an id up must ask for this text: the store compares identifiers as strings, so any other
 * spelling misses the record.
 *
 * @example
 * ```typescript
 * import { encodeRecordIdentifier } from './shared/record/codec.ts';
 * encodeRecordIdentifier(accounts, '007'); // { ok: true, text: '7' } (accounts: an Integral id)
 * ```
 */
function encodeRecordIdentifier(group: FeatureGroup, value: string | number): ScalarResult {
  const spec = group.features[group.recordIdentifier] as FeatureSpec;
  return SCALAR_ENCODERS[spec.type](value);
}

function encodeFeature(
  spec: FeatureSpec,
  value: unknown
):
  | { ok: true; fv: Omit<FeatureValue, 'FeatureName'> }
  | { ok: false; reason: string; unsafeNumber?: true } {
  const encodeScalar = SCALAR_ENCODERS[spec.type];
  if (spec.collection === undefined) {
    const r = encodeScalar(value);
    return r.ok ? { ok: true, fv: { ValueAsString: r.text } } : r;
  }
  if (!Array.isArray(value))
    return { ok: false, reason: `${spec.collection} value must be an array, not ${kindOf(value)}` };
  if (spec.collection === 'Vector' && value.length !== spec.dimension) {
    return {
      ok: false,
      reason: `Vector must have exactly ${spec.dimension} elements (got ${value.length})`,
    };
  }
  // Empty or one-character elements fit the record size long after the service's item count.
  if (value.length > Limits.maxCollectionElements) {
    return {
      ok: false,
      reason: `${spec.collection} has ${value.length} elements; at most ${Limits.maxCollectionElements} are allowed`,
    };
  }
  const texts: string[] = [];
  for (let i = 0; i < value.length; i++) {
    const r = encodeScalar(value[i]);
    if (!r.ok) return { ...r, reason: `element ${i}: ${r.reason}` };
    texts.push(r.text);
  }
  if (spec.collection === 'Set' && new Set(texts).size !== texts.length) {
    return { ok: false, reason: 'Set value contains duplicate elements' };
  }
  return { ok: true, fv: { ValueAsStringList: texts } };
}

interface EncodeOptions {
  /**
   * Rejects an event time more than `maxSkewSeconds` ahead of `now()` (issue 13 §3). Every writer
   * of producer data passes it (ingest, backfill, batch: `MAX_EVENT_TIME_SKEW_SECONDS`); records
   * Skewless builds itself (derived state, tests) leave it out.
   */
  readonly eventTimeBound?: EventTimeBound;
}

/**
 * Validate and encode a typed record for `PutRecord`. Reports **every** problem of the record
 * (unknown features, missing identifier or event time, type errors, limits, an event time beyond
 * `options.eventTimeBound`), never only the first. Null and undefined non-key values are skipped,
 * as AWS's own ingesters do.
 */
function encodeRecord(
  group: FeatureGroup,
  input: unknown,
  options: EncodeOptions = {}
): EncodeResult {
  const problems: RecordProblem[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    problems.push({
      feature: '(record)',
      value: input,
      reason: `record must be a JSON object, not ${kindOf(input)}`,
    });
    return { ok: false, problems };
  }
  const source = input as Record<string, unknown>;
  const record: FeatureValue[] = [];
  let recordIdentifier = '';
  let eventTime = '';
  let eventTimeEpochNanos = 0n;
  let sizeBytes = 0;
  const keys = Object.keys(source);
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k] as string;
    if (!Object.hasOwn(group.features, key)) {
      problems.push({
        feature: key,
        value: source[key],
        reason: `unknown feature; "${group.name}" defines ${group.featureNames.join(', ')}`,
      });
    }
  }
  // Indexed loops: this runs for every record of every path (ingest, backfill, derived).
  for (let f = 0; f < group.featureNames.length; f++) {
    const name = group.featureNames[f] as string;
    const spec = group.features[name] as FeatureSpec;
    const value = Object.hasOwn(source, name) ? source[name] : undefined;
    const isKey = name === group.recordIdentifier || name === group.eventTime;
    if (value === undefined || value === null) {
      if (isKey) {
        const role = name === group.recordIdentifier ? 'record identifier' : 'event time';
        problems.push({ feature: name, value, reason: `${role} is required` });
      }
      continue;
    }
    if (name === group.eventTime) {
      const parsed = parseEventTime(value);
      if (!parsed.ok) {
        problems.push({ feature: name, value, reason: parsed.reason });
        continue;
      }
      const beyond =
        options.eventTimeBound === undefined
          ? undefined
          : eventTimeBeyondBound(parsed.epochNanos, options.eventTimeBound);
      if (beyond !== undefined) {
        problems.push({ feature: name, value, reason: beyond });
        continue;
      }
      eventTimeEpochNanos = parsed.epochNanos;
      eventTime =
        spec.type === 'String'
          ? formatIsoEventTime(parsed.epochNanos)
          : formatEpochSecondsEventTime(parsed.epochNanos);
      record.push({ FeatureName: name, ValueAsString: eventTime });
      sizeBytes += name.length + eventTime.length;
      continue;
    }
    const encoded = encodeFeature(spec, value);
    if (!encoded.ok) {
      problems.push({
        feature: name,
        value,
        // Said of the identifier, as its other problems are: the record has no id to be named by.
        reason:
          name === group.recordIdentifier ? `record identifier: ${encoded.reason}` : encoded.reason,
        ...(encoded.unsafeNumber === true ? { unsafeNumber: true } : {}),
      });
      continue;
    }
    const fv = { FeatureName: name, ...encoded.fv };
    if (name === group.recordIdentifier) {
      recordIdentifier = fv.ValueAsString ?? '';
      if (recordIdentifier.length === 0) {
        problems.push({ feature: name, value, reason: 'record identifier must not be empty' });
      } else if (Buffer.byteLength(recordIdentifier, 'utf8') > Limits.maxRecordIdentifierBytes) {
        problems.push({
          feature: name,
          value,
          reason: `record identifier exceeds ${Limits.maxRecordIdentifierBytes} bytes`,
        });
      }
    }
    sizeBytes += Buffer.byteLength(name) + valueBytes(fv);
    record.push(fv);
  }
  if (sizeBytes > Limits.maxRecordBytes) {
    problems.push({
      feature: '(record)',
      value: `${sizeBytes} bytes`,
      reason: `record exceeds the ${Limits.maxRecordBytes}-byte (350 KB) limit`,
    });
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: {
      featureGroup: group.name,
      record,
      recordIdentifier,
      recordIdentifierName: group.recordIdentifier,
      eventTime,
      eventTimeName: group.eventTime,
      eventTimeEpochNanos,
      sizeBytes,
    },
  };
}

/** Problems with the codec's words for an unsafe Integral number replaced by `words`. */
function unsafeNumbersWorded(
  problems: readonly RecordProblem[],
  words: string,
  keepValue: boolean
): RecordProblem[] {
  return problems.map((p) =>
    p.unsafeNumber === true
      ? {
          feature: p.feature,
          value: keepValue ? p.value : undefined,
          reason: p.reason.replace(UNSAFE_NUMBER_REASON, `Integral value is ${words}`),
          unsafeNumber: true,
        }
      : p
  );
}

/**
 * The problems of a record read from JSON (an ingest payload, a JSON Lines row), worded for its
 * producer: an Integral JSON number beyond ±(2^53 − 1) is said to be one, with no value (the one
 * in hand is what the parser rounded, not what was sent) and the hint to send a JSON string of its
 * digits; every other problem as it is.
 *
 * @example
 * ```typescript
 * import { encodeRecord, jsonInputProblems } from './shared/record/codec.ts';
 * const result = encodeRecord(transactions, JSON.parse(line));
 * if (!result.ok) reject(jsonInputProblems(result.problems));
 * // card_txn_count_1d: Integral value is a JSON number beyond ±(2^53 − 1), which cannot be read …
 * ```
 */
function jsonInputProblems(problems: readonly RecordProblem[]): RecordProblem[] {
  return unsafeNumbersWorded(problems, UNSAFE_JSON_NUMBER, false);
}

/**
 * The problems of a record read from a Parquet file, worded for its writer: an Integral value
 * from a DOUBLE or FLOAT column beyond ±(2^53 − 1) is said to be one, with the value the file
 * holds and the hint to write the column as INT64 (or DECIMAL with scale 0); every other problem
 * as it is (INT64 and DECIMAL columns never have this problem: they are read exactly).
 *
 * @example
 * ```typescript
 * import { encodeRecord, parquetInputProblems } from './shared/record/codec.ts';
 * const result = encodeRecord(cards, row.values);
 * if (!result.ok) reject(parquetInputProblems(result.problems));
 * // txn_count_7d=1e+20: Integral value is a Parquet DOUBLE or FLOAT beyond ±(2^53 − 1), …
 * ```
 */
function parquetInputProblems(problems: readonly RecordProblem[]): RecordProblem[] {
  return unsafeNumbersWorded(problems, UNSAFE_PARQUET_NUMBER, true);
}

/** The wire values of an encoded record as an input `encodeRecord` accepts again. */
function wireInput(record: readonly FeatureValue[]): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const fv of record) {
    if (fv.FeatureName !== undefined)
      input[fv.FeatureName] = fv.ValueAsString ?? fv.ValueAsStringList;
  }
  return input;
}

/**
 * A record of `group` made of an already-encoded record and more features: the same result as
 * {@link encodeRecord} on `base`'s wire values plus `extra` (null and undefined values skipped),
 * without parsing and validating `base`'s values again. `base` must come from `encodeRecord` for
 * this group; `extra` adds features `base` does not have (the derived features of an event, say).
 * Anything out of the ordinary — an invalid, unknown or already present feature, the size limit —
 * is answered by encoding the whole input, so problems read exactly as `encodeRecord` reports them.
 *
 * @example
 * ```typescript
 * const base = encodeRecord(transactions, payment);
 * if (base.ok) extendRecord(transactions, base.value, { card_txn_count_60s: 3 });
 * ```
 */
function extendRecord(
  group: FeatureGroup,
  base: EncodedRecord,
  extra: Readonly<Record<string, unknown>>
): EncodeResult {
  const whole = () => encodeRecord(group, { ...wireInput(base.record), ...extra });
  if (base.featureGroup !== group.name) return whole();
  const keys = Object.keys(extra);
  for (let k = 0; k < keys.length; k++) {
    if (!Object.hasOwn(group.features, keys[k] as string)) return whole();
  }
  const record: FeatureValue[] = [];
  let sizeBytes = 0;
  let next = 0;
  for (let f = 0; f < group.featureNames.length; f++) {
    const name = group.featureNames[f] as string;
    const given = Object.hasOwn(extra, name);
    const value = given ? extra[name] : undefined;
    const present = value !== undefined && value !== null;
    const fv = base.record[next];
    if (fv !== undefined && fv.FeatureName === name) {
      // `extra` would replace (or, with null, remove) it: not an addition.
      if (given) return whole();
      next++;
      record.push(fv);
      // Sized as encodeRecord sizes it.
      sizeBytes +=
        name === group.eventTime
          ? name.length + (fv.ValueAsString ?? '').length
          : Buffer.byteLength(name) + valueBytes(fv);
      continue;
    }
    if (!present) continue;
    if (name === group.recordIdentifier || name === group.eventTime) return whole();
    const encoded = encodeFeature(group.features[name] as FeatureSpec, value);
    if (!encoded.ok) return whole();
    const added = { FeatureName: name, ...encoded.fv };
    sizeBytes += Buffer.byteLength(name) + valueBytes(added);
    record.push(added);
  }
  if (next !== base.record.length || sizeBytes > Limits.maxRecordBytes) return whole();
  return {
    ok: true,
    value: {
      featureGroup: group.name,
      record,
      recordIdentifier: base.recordIdentifier,
      recordIdentifierName: group.recordIdentifier,
      eventTime: base.eventTime,
      eventTimeName: group.eventTime,
      eventTimeEpochNanos: base.eventTimeEpochNanos,
      sizeBytes,
    },
  };
}

function valueBytes(fv: FeatureValue): number {
  if (fv.ValueAsString !== undefined) return Buffer.byteLength(fv.ValueAsString, 'utf8');
  let total = 0;
  for (const v of fv.ValueAsStringList ?? []) total += Buffer.byteLength(v, 'utf8');
  return total;
}

/**
 * Typed convenience over {@link encodeRecord}: returns the wire `Record` or throws
 * {@link RecordValidationError} with every problem.
 */
function toRecord<G extends FeatureGroup>(group: G, input: InputRecordOf<G>): EncodedRecord {
  const result = encodeRecord(group, input);
  if (!result.ok) throw new RecordValidationError(group.name, result.problems);
  return result.value;
}

function decodeScalar(spec: FeatureSpec, text: string): string | bigint | number {
  if (spec.type === 'Integral') return BigInt(text);
  if (spec.type === 'Fractional') return Number(text);
  return text;
}

/**
 * Decode a wire `Record` (from GetRecord / BatchGetRecord) into the group's typed record.
 * Features the store returns that the definition no longer has are reported, not dropped silently.
 */
function fromRecord<G extends FeatureGroup>(
  group: G,
  record: readonly FeatureValue[]
): RecordOf<G> {
  const out: Record<string, unknown> = {};
  const problems: RecordProblem[] = [];
  for (const fv of record) {
    const name = fv.FeatureName ?? '';
    const spec = Object.hasOwn(group.features, name) ? group.features[name] : undefined;
    if (spec === undefined) {
      problems.push({
        feature: name,
        value: fv.ValueAsString ?? fv.ValueAsStringList,
        reason: 'not defined in the schema module',
      });
      continue;
    }
    try {
      if (spec.collection === undefined) {
        if (fv.ValueAsString === undefined) throw new Error('expected ValueAsString');
        out[name] = decodeScalar(spec, fv.ValueAsString);
      } else {
        if (fv.ValueAsStringList === undefined) throw new Error('expected ValueAsStringList');
        out[name] = fv.ValueAsStringList.map((t) => decodeScalar(spec, t));
      }
    } catch (error) {
      problems.push({
        feature: name,
        value: fv.ValueAsString ?? fv.ValueAsStringList,
        reason: (error as Error).message,
      });
    }
  }
  if (problems.length > 0) throw new RecordValidationError(group.name, problems);
  return out as RecordOf<G>;
}

export type { EncodedRecord, EncodeOptions, EncodeResult, ScalarResult };
export {
  encodeRecord,
  encodeRecordIdentifier,
  extendRecord,
  fromRecord,
  jsonInputProblems,
  parquetInputProblems,
  toRecord,
  UNSAFE_JSON_NUMBER,
  wireInput,
};

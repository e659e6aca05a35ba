/**
 * From Kinesis bytes to a validated, encoded record: decode (base64, UTF-8), parse (JSON object,
 * no prototype keys), route (envelope or bare record to its feature group) and validate (the
 * schema module's `encodeRecord`, every problem reported). Each step returns a value, never
 * throws: a bad record is an expected outcome here, not an exception.
 */
import { kindOf, type RecordProblem } from '../errors.ts';
import {
  type EncodedRecord,
  encodeRecord,
  encodeRecordIdentifier,
  jsonInputProblems,
} from '../record/codec.ts';
import type { EventTimeBound } from '../record/eventTime.ts';
import { MAX_NESTING_DEPTH, nestsDeeperThan } from '../record/jsonDepth.ts';
import { notUtf8 } from '../record/unicode.ts';
import type { SchemaRegistry } from '../registry.ts';
import type { FeatureGroup } from '../schema/index.ts';
import { IngestStage, type Rejection, rejection } from './errors.ts';

/** Keys that would reach `Object.prototype` if a consumer ever merged the object naively. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
const ENVELOPE_KEYS: ReadonlySet<string> = new Set(['featureGroup', 'record']);
/** Refuses bytes that are not UTF-8; strips a leading BOM, as docs/ingest.md promises. */
const utf8 = new TextDecoder('utf-8', { fatal: true });
/**
 * The magic bytes that open a Kinesis Producer Library (KPL) aggregated record. Lambda delivers
 * such a record as one Kinesis record without de-aggregating it (see docs/ingest.md, "KPL
 * aggregation", for why the pipeline does not de-aggregate either).
 */
const KPL_AGGREGATION_MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);

type Step<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly rejection: Rejection };

/** A payload routed to its group, not yet validated. */
interface RoutedPayload {
  readonly group: FeatureGroup;
  /** The record object as sent (an own-properties copy without forbidden keys). */
  readonly input: Readonly<Record<string, unknown>>;
  /** Forbidden keys found in the record, reported together with the validation problems. */
  readonly forbidden: readonly RecordProblem[];
  /** True when the payload was an envelope `{"featureGroup", "record"}`. */
  readonly enveloped: boolean;
}

interface RouteOptions {
  readonly registry: SchemaRegistry;
  /** Group of bare records; without it, only envelopes are accepted. */
  readonly defaultFeatureGroup?: string;
  /** Far-future event times are rejected (`MAX_EVENT_TIME_SKEW_SECONDS`); none when undefined. */
  readonly eventTimeBound?: EventTimeBound;
}

/**
 * Kinesis `data` (base64) to the JSON value it carries. Rejects non-canonical base64,
 * KPL-aggregated records, bytes that are not UTF-8, empty data and text that is not JSON.
 */
function decodeKinesisData(data: string): Step<unknown> {
  const bytes = Buffer.from(data, 'base64');
  // Buffer.from skips invalid characters silently; a round trip catches any of them.
  if (data.length % 4 !== 0 || bytes.toString('base64') !== data) {
    return reject(
      IngestStage.Decode,
      'data is not valid base64',
      '(data)',
      data,
      'expected standard base64 with padding (RFC 4648)'
    );
  }
  if (bytes.subarray(0, KPL_AGGREGATION_MAGIC.length).equals(KPL_AGGREGATION_MAGIC)) {
    // Not a corrupt record but a producer setting: say so, or the letter reads "not UTF-8".
    return reject(
      IngestStage.Decode,
      'data is a KPL-aggregated record (starts with the magic bytes F3 89 9A C2)',
      '(data)',
      `${bytes.length} bytes`,
      'Lambda does not de-aggregate Kinesis Producer Library records; set AggregationEnabled=false ' +
        'in the producer, and redrive the user records of this letter de-aggregated'
    );
  }
  // Decoded leniently, a Windows-1252 é would become U+FFFD: another id, another value. The
  // fatal decoder checks the bytes as it decodes; notUtf8 names the bad byte of those it refuses.
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return reject(
      IngestStage.Decode,
      'data is not UTF-8 text',
      '(data)',
      `${bytes.length} bytes`,
      `${notUtf8(bytes)} (Windows-1252 or Latin-1 text?): the producer must send its JSON as UTF-8`
    );
  }
  if (text.trim().length === 0) {
    return reject(IngestStage.Parse, 'data is empty', '(data)', text, 'expected a JSON object');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return reject(
      IngestStage.Parse,
      'data is not valid JSON',
      '(data)',
      text,
      String((error as Error).message)
    );
  }
  if (nestsDeeperThan(value, MAX_NESTING_DEPTH)) {
    return reject(
      IngestStage.Parse,
      `data nests deeper than ${MAX_NESTING_DEPTH} levels`,
      '(data)',
      `${bytes.length} bytes`,
      'a record holds flat features (values or lists of values), not deeply nested JSON'
    );
  }
  return { ok: true, value };
}

/**
 * A parsed JSON value to its feature group and record object. An object with a `featureGroup`
 * key is an envelope `{"featureGroup": "<name or ARN>", "record": {...}}`; any other object is
 * a bare record for `defaultFeatureGroup`.
 */
function routePayload(value: unknown, options: RouteOptions): Step<RoutedPayload> {
  if (!isPlainObject(value)) {
    return reject(
      IngestStage.Parse,
      'payload must be a JSON object',
      '(data)',
      value,
      `got ${kindOf(value)}`
    );
  }
  const enveloped = Object.hasOwn(value, 'featureGroup');
  if (!enveloped) {
    if (options.defaultFeatureGroup === undefined) {
      return reject(
        IngestStage.Route,
        'bare record but no DEFAULT_FEATURE_GROUP is configured',
        '(envelope)',
        Object.keys(value),
        'send {"featureGroup": "<name>", "record": {...}}'
      );
    }
    return routeTo(options.defaultFeatureGroup, value, false, options);
  }
  const problems: RecordProblem[] = [];
  for (const key of Object.keys(value)) {
    if (!ENVELOPE_KEYS.has(key)) {
      problems.push({
        feature: `(envelope).${key}`,
        value: value[key],
        reason: 'unknown envelope key; expected featureGroup and record',
      });
    }
  }
  const name = value.featureGroup;
  if (typeof name !== 'string' || name.length === 0) {
    problems.push({
      feature: '(envelope).featureGroup',
      value: name,
      reason: 'must be a non-empty string',
    });
  }
  const record = Object.hasOwn(value, 'record') ? value.record : undefined;
  if (!isPlainObject(record)) {
    problems.push({
      feature: '(envelope).record',
      value: record,
      reason: `must be a JSON object, not ${kindOf(record)}`,
    });
  }
  if (problems.length > 0 || typeof name !== 'string' || !isPlainObject(record)) {
    return { ok: false, rejection: rejection(IngestStage.Route, 'malformed envelope', problems) };
  }
  return routeTo(name, record, true, options);
}

function routeTo(
  name: string,
  record: Record<string, unknown>,
  enveloped: boolean,
  options: RouteOptions
): Step<RoutedPayload> {
  // Internal groups (derived-feature state) are written by the handler itself, never by a
  // producer: a hand-made state record would corrupt every derived value of its entity.
  const group = options.registry.findExternalGroup(name);
  if (group === undefined) {
    const known = [...options.registry.externalGroups.keys()].join(', ');
    return reject(
      IngestStage.Route,
      'unknown feature group',
      '(envelope).featureGroup',
      name,
      `known: ${known}`
    );
  }
  const forbidden: RecordProblem[] = [];
  collectForbiddenKeys(record, '', forbidden);
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(record)) {
    if (!FORBIDDEN_KEYS.has(key)) input[key] = record[key];
  }
  return { ok: true, value: { group, input, forbidden, enveloped } };
}

/**
 * Validate a routed record with the schema module. The rejection lists forbidden keys and every
 * validation problem together.
 */
function validatePayload(
  routed: RoutedPayload,
  eventTimeBound?: EventTimeBound
): Step<EncodedRecord> {
  const result = encodeRecord(routed.group, routed.input, { eventTimeBound });
  if (result.ok && routed.forbidden.length === 0) return result;
  // Worded for a JSON producer: an Integral number beyond ±(2^53 − 1) is not shown as the value
  // JSON.parse rounded it to (the dead letter keeps the Kinesis data as it was received).
  const validation = result.ok ? [] : jsonInputProblems(result.problems);
  const id = result.ok ? result.value.recordIdentifier : namedIdentifier(routed, result.problems);
  return {
    ok: false,
    rejection: rejection(
      IngestStage.Validate,
      `invalid record for feature group "${routed.group.name}"`,
      [...routed.forbidden, ...validation],
      { featureGroup: routed.group.name, ...(id === undefined ? {} : { recordIdentifier: id }) }
    ),
  };
}

/**
 * The identifier of a refused record as the writers encode it (an Integral `007` or `7.0` is
 * `7`), whether it was sent as a JSON string or number; none when the identifier is itself one
 * of the problems.
 */
function namedIdentifier(
  routed: RoutedPayload,
  problems: readonly RecordProblem[]
): string | undefined {
  const name = routed.group.recordIdentifier;
  const sent = routed.input[name];
  if (typeof sent !== 'string' && typeof sent !== 'number') return undefined;
  if (problems.some((p) => p.feature === name)) return undefined;
  const encoded = encodeRecordIdentifier(routed.group, sent);
  return encoded.ok ? encoded.text : undefined;
}

/** What {@link parseIngestPayload} gives for one Kinesis record. */
type ParsedPayload = Step<{ routed: RoutedPayload; encoded: EncodedRecord }>;

/** Decode, route and validate in one call: what the record handler does before transform. */
function parseIngestPayload(data: string, options: RouteOptions): ParsedPayload {
  const decoded = decodeKinesisData(data);
  if (!decoded.ok) return decoded;
  const routed = routePayload(decoded.value, options);
  if (!routed.ok) return routed;
  const encoded = validatePayload(routed.value, options.eventTimeBound);
  if (!encoded.ok) return encoded;
  return { ok: true, value: { routed: routed.value, encoded: encoded.value } };
}

function collectForbiddenKeys(value: unknown, path: string, out: RecordProblem[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      collectForbiddenKeys(item, `${path}[${i}]`, out);
    });
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const key of Object.keys(value)) {
    const child = (value as Record<string, unknown>)[key];
    const childPath = path === '' ? key : `${path}.${key}`;
    if (FORBIDDEN_KEYS.has(key)) {
      out.push({
        feature: childPath,
        value: child,
        reason: `forbidden key "${key}" (prototype pollution guard)`,
      });
    }
    collectForbiddenKeys(child, childPath, out);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function reject<T>(
  stage: Rejection['stage'],
  summary: string,
  feature: string,
  value: unknown,
  detail: string
): Step<T> {
  return {
    ok: false,
    rejection: rejection(stage, summary, [{ feature, value, reason: detail }]),
  };
}

export type { ParsedPayload, RoutedPayload, RouteOptions, Step };
export { decodeKinesisData, parseIngestPayload, routePayload, validatePayload };

/**
 * Response shaping: decoded records (schema-typed, Integral as bigint) into JSON-ready values.
 * Integral values inside ±(2^53 − 1) become JSON numbers, larger ones decimal strings (a JSON
 * number would silently lose digits in most clients); Fractional values are numbers, String
 * values strings and collections arrays of the same.
 */
import { epochNanosToMillis, formatIsoEventTime, parseEventTime } from '../record/eventTime.ts';
import type { OnlineRecord } from '../store/onlineReader.ts';
import type { GroupPlan } from './catalog.ts';

type JsonScalar = string | number | null;
type JsonValue = JsonScalar | JsonScalar[];

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** `formatIsoEventTime`'s millisecond form, which `Date.parse` reads exactly. */
const CANONICAL_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const MIN_SAFE = -MAX_SAFE;

/**
 * One decoded feature value as JSON: bigint within ±(2^53 − 1) → number, beyond → string.
 *
 * @example
 * ```typescript
 * import { toJsonValue } from './shared/lookup/views.ts';
 * toJsonValue(42n); // 42
 * toJsonValue(2n ** 60n); // '1152921504606846976'
 * ```
 */
function toJsonValue(value: unknown): JsonValue {
  if (typeof value === 'bigint') {
    return value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : value.toString();
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map((v) => toJsonValue(v) as JsonScalar);
  return null;
}

/** A record as the API returns it. */
interface RecordView {
  readonly featureGroup: string;
  readonly recordId: string;
  /** ISO-8601 UTC, whatever the event-time feature's type. */
  readonly eventTime: string;
  readonly features: Record<string, JsonValue>;
  /** Present when expiration was asked for: the TTL instant, or null when the record has none. */
  expiresAt?: string | null;
}

/** The event time of a decoded record as ISO-8601 UTC; undefined when absent or invalid. */
function isoEventTime(
  plan: GroupPlan,
  values: Readonly<Record<string, unknown>>
): string | undefined {
  const raw = values[plan.eventTimeFeature];
  if (typeof raw === 'string' && CANONICAL_ISO.test(raw)) return raw;
  const parsed = parseEventTime(raw);
  return parsed.ok ? formatIsoEventTime(parsed.epochNanos) : undefined;
}

/** The event time of a decoded record as epoch ms and ISO-8601; undefined when absent/invalid. */
function eventTimeOf(
  plan: GroupPlan,
  values: Readonly<Record<string, unknown>>
): { readonly iso: string; readonly epochMs: number } | undefined {
  const raw = values[plan.eventTimeFeature];
  // Skewless writers store this exact form; anything else is parsed and normalised.
  if (typeof raw === 'string' && CANONICAL_ISO.test(raw))
    return { iso: raw, epochMs: Date.parse(raw) };
  const parsed = parseEventTime(raw);
  if (!parsed.ok) return undefined;
  return {
    iso: formatIsoEventTime(parsed.epochNanos),
    epochMs: epochNanosToMillis(parsed.epochNanos),
  };
}

/**
 * Shape a decoded record for the API. `requested` is the caller's feature subset (undefined: all
 * the store returned); the event-time feature, always read, is left out of `features` unless
 * the caller asked for it.
 *
 * @example
 * ```typescript
 * import { catalog } from './shared/lookup/catalog.ts';
 * import { recordView } from './shared/lookup/views.ts';
 * const plan = catalog.group('fraud-cards');
 * recordView(plan, { group: plan.group, recordId: 'c1', values: { card_id: 'c1', event_time: '2026-01-01T00:00:00.000Z', txn_count_7d: 3n } }, undefined, false);
 * // { featureGroup: 'fraud-cards', recordId: 'c1', eventTime: '2026-01-01T00:00:00.000Z', features: { card_id: 'c1', event_time: '2026-01-01T00:00:00.000Z', txn_count_7d: 3 } }
 * ```
 */
function recordView(
  plan: GroupPlan,
  record: OnlineRecord,
  requested: ReadonlySet<string> | undefined,
  expiration: boolean
): RecordView {
  const values = record.values as Readonly<Record<string, unknown>>;
  const features: Record<string, JsonValue> = {};
  for (const name in values) {
    if (requested !== undefined && !requested.has(name)) continue;
    features[name] = toJsonValue(values[name]);
  }
  const view: RecordView = {
    featureGroup: plan.name,
    recordId: record.recordId,
    eventTime: isoEventTime(plan, values) ?? String(values[plan.eventTimeFeature] ?? ''),
    features,
  };
  if (expiration) view.expiresAt = record.expiresAt ?? null;
  return view;
}

export type { JsonScalar, JsonValue, RecordView };
export { eventTimeOf, recordView, toJsonValue };

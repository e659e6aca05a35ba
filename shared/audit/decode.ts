/**
 * Offline result rows and online records, reduced to what the comparison needs: the identifier,
 * the event time in epoch nanoseconds, the deleted flag and the feature values decoded through the
 * schema module. Both sides go through `fromRecord`, so `10.0` read back from Parquet or Athena's
 * text and `10` from the online store decode to the same number and never count as a difference.
 */
import type { FeatureValue } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { RecordValidationError } from '../errors.ts';
import type { SqlValue } from '../offline/engine.ts';
import { fromRecord } from '../record/codec.ts';
import { parseEventTime } from '../record/eventTime.ts';
import type { FeatureGroup } from '../schema/index.ts';
import { offlineFeatureNames } from './sql.ts';

/** The latest offline state of one identifier. */
interface OfflineLatest {
  readonly recordId: string;
  /** The event time as stored (ISO text, or epoch seconds rendered as text). */
  readonly eventTime: string;
  readonly eventTimeNanos: bigint;
  readonly deleted: boolean;
  /** Decoded scalar features (delete markers carry only the identifier and event time). */
  readonly values: Readonly<Record<string, unknown>>;
}

/** A row the schema module could not decode, with the reason. */
interface UndecodableRow {
  readonly recordId: string;
  readonly reason: string;
}

/** An engine value as the wire text the schema module decodes (`undefined` for SQL NULL). */
function cellText(value: SqlValue | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/**
 * Epoch nanoseconds of an event time as either store returns it: ISO text, epoch seconds as text
 * or a number (Athena may render doubles in scientific notation, which the strict parser refuses).
 */
function eventTimeNanos(value: unknown): bigint | undefined {
  const parsed = parseEventTime(value);
  if (parsed.ok) return parsed.epochNanos;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
    const fallback = parseEventTime(Number(value));
    if (fallback.ok) return fallback.epochNanos;
  }
  return undefined;
}

function isTrue(value: SqlValue | undefined): boolean {
  return value === true || value === 'true' || value === 1;
}

/**
 * Decodes one offline result row (scalar features + `is_deleted`, as selected by the audit SQL).
 *
 * @returns the latest state, or the reason the row cannot be read
 */
function decodeOfflineRow(
  group: FeatureGroup,
  row: Readonly<Record<string, SqlValue>>
): { ok: true; value: OfflineLatest } | { ok: false; problem: UndecodableRow } {
  const recordId = cellText(row[group.recordIdentifier]) ?? '';
  const eventTime = cellText(row[group.eventTime]);
  const nanos = eventTimeNanos(row[group.eventTime] ?? undefined);
  if (eventTime === undefined || nanos === undefined) {
    return {
      ok: false,
      problem: { recordId, reason: `event time ${String(eventTime)} cannot be parsed` },
    };
  }
  const deleted = isTrue(row.is_deleted);
  if (deleted) {
    return { ok: true, value: { recordId, eventTime, eventTimeNanos: nanos, deleted, values: {} } };
  }
  const record: FeatureValue[] = [];
  for (const name of offlineFeatureNames(group)) {
    const text = cellText(row[name]);
    if (text !== undefined) record.push({ FeatureName: name, ValueAsString: text });
  }
  try {
    const values = fromRecord(group, record) as Record<string, unknown>;
    return { ok: true, value: { recordId, eventTime, eventTimeNanos: nanos, deleted, values } };
  } catch (error) {
    if (!(error instanceof RecordValidationError)) throw error;
    return { ok: false, problem: { recordId, reason: error.message } };
  }
}

/** A decoded value as report text (bigint and numbers as their decimal form). */
function valueText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return JSON.stringify(value.map((v) => valueText(v)));
  return String(value);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === undefined || a === null) return b === undefined || b === null;
  if (typeof a === 'number' && typeof b === 'number') {
    return a === b || (Number.isNaN(a) && Number.isNaN(b));
  }
  return a === b;
}

/**
 * The scalar features whose decoded values differ between the offline row and the online record,
 * the event time excepted (compared as an instant elsewhere). A feature null on one side and
 * absent on the other is equal: the online store omits what the offline store writes as NULL.
 */
function differingFeatures(
  group: FeatureGroup,
  offline: Readonly<Record<string, unknown>>,
  online: Readonly<Record<string, unknown>>
): { name: string; offline: string | null; online: string | null }[] {
  const differences: { name: string; offline: string | null; online: string | null }[] = [];
  for (const name of offlineFeatureNames(group)) {
    if (name === group.eventTime) continue;
    if (!sameValue(offline[name], online[name])) {
      differences.push({
        name,
        offline: valueText(offline[name]),
        online: valueText(online[name]),
      });
    }
  }
  return differences;
}

export type { OfflineLatest, UndecodableRow };
export { cellText, decodeOfflineRow, differingFeatures, eventTimeNanos };

/**
 * Strict event-time parsing for the store (contract §5.5). The shared parser in
 * `shared/record/eventTime.ts` is lenient on purpose (it normalises what producers send); the
 * service is not, so the store accepts only:
 *   - String event times: `yyyy-MM-ddTHH:mm:ss[.f{1,9}]Z` (literal `Z`, no offsets);
 *   - Fractional event times: decimal epoch seconds, `-?\d{1,12}(\.\d{1,9})?`.
 * Event times are kept as whole seconds plus nanoseconds (two safe integers), which compare
 * exactly without bigint arithmetic on the hot path.
 */

import { formatIsoEventTime } from '../../shared/record/eventTime.ts';

interface EventTime {
  /** Whole seconds since the epoch (floor). */
  readonly s: number;
  /** Nanoseconds within the second, 0..999_999_999. */
  readonly ns: number;
}

type ParsedEventTime = { ok: true; value: EventTime } | { ok: false; reason: string };

const ISO_Z = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;
const EPOCH = /^(-?)(\d{1,12})(?:\.(\d{1,9}))?$/;
/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z. */
const MIN_SECONDS = -62_167_219_200;
const MAX_SECONDS = 253_402_300_799;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function fractionToNanos(fraction: string | undefined): number {
  if (fraction === undefined) return 0;
  return Number(fraction.padEnd(9, '0'));
}

function parseIsoZ(text: string): ParsedEventTime {
  const m = ISO_Z.exec(text);
  if (m === null) {
    return {
      ok: false,
      reason:
        "is not a valid String event time: expected ISO-8601 UTC 'yyyy-MM-ddTHH:mm:ssZ' or 'yyyy-MM-ddTHH:mm:ss.SSSZ' (1-9 fraction digits, literal Z, no offset)",
    };
  }
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const dim = month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  if (month < 1 || month > 12 || day < 1 || day > dim || hour > 23 || minute > 59 || second > 59) {
    return { ok: false, reason: 'is not a valid calendar date and time' };
  }
  // Date.UTC maps years 0-99 to 1900+; setUTCFullYear does not.
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year);
  return { ok: true, value: { s: date.getTime() / 1000, ns: fractionToNanos(m[7]) } };
}

function parseEpoch(text: string): ParsedEventTime {
  const m = EPOCH.exec(text);
  if (m === null) {
    return {
      ok: false,
      reason:
        'is not a valid Fractional event time: expected decimal seconds since the Unix epoch with at most 9 fraction digits',
    };
  }
  const whole = Number(m[2]);
  const ns = fractionToNanos(m[3]);
  let value: EventTime;
  if (m[1] === '-') {
    value = ns === 0 ? { s: -whole, ns: 0 } : { s: -whole - 1, ns: 1_000_000_000 - ns };
  } else {
    value = { s: whole, ns };
  }
  if (value.s < MIN_SECONDS || value.s > MAX_SECONDS) {
    return { ok: false, reason: 'is outside 0000-01-01T00:00:00Z..9999-12-31T23:59:59Z' };
  }
  return { ok: true, value };
}

function parseStoreEventTime(text: string, type: 'String' | 'Fractional'): ParsedEventTime {
  return type === 'String' ? parseIsoZ(text) : parseEpoch(text);
}

function compareEventTimes(a: EventTime, b: EventTime): number {
  return a.s !== b.s ? a.s - b.s : a.ns - b.ns;
}

/**
 * The first whole millisecond at which a record with this event time and TTL is no longer
 * served: its ExpiresAt rounded up to the millisecond. The clock counts whole milliseconds, so
 * `expiresAtMillis > now` is exactly "now is before ExpiresAt" to the nanosecond (contract §5.3,
 * and the rule of `shared/record/expiry.ts`). A float of event time + TTL in milliseconds cannot
 * say it: at 1.8e12 ms a double keeps only ~244 ns, so an ExpiresAt 1 ns after a millisecond
 * rounded to that millisecond and the record vanished 1 ms before the ExpiresAt it announced.
 */
function expiresAtMillis(t: EventTime, ttlSeconds: number): number {
  return (t.s + ttlSeconds) * 1000 + Math.ceil(t.ns / 1_000_000);
}

/** The last instant an ISO-8601 `ExpiresAt` can name (the event-time range ends there too). */
const LAST_EXPIRES_AT_NANOS = 253_402_300_799_999_000_000n; // 9999-12-31T23:59:59.999Z

/**
 * `ExpiresAt` = event time + TTL, as `yyyy-MM-ddTHH:mm:ss.SSSZ` (finer digits only if present).
 * An instant past the year 9999 (a TTL of millions of years) is answered as the last instant of
 * 9999: a read never fails because of what is stored.
 */
function formatExpiresAt(t: EventTime, ttlSeconds: number): string {
  const nanos = (BigInt(t.s) + BigInt(Math.trunc(ttlSeconds))) * 1_000_000_000n + BigInt(t.ns);
  return formatIsoEventTime(nanos > LAST_EXPIRES_AT_NANOS ? LAST_EXPIRES_AT_NANOS : nanos);
}

/** The offline file a journal row goes to within a flush batch: its table and hourly partition. */
function offlineFileKey(tableId: number, partition: string): string {
  return `${tableId}|${partition}`;
}

export type { EventTime, ParsedEventTime };
export { compareEventTimes, expiresAtMillis, formatExpiresAt, offlineFileKey, parseStoreEventTime };

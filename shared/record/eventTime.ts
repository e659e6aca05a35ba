/**
 * Event time parsing and normalisation. Every event time is reduced to epoch nanoseconds (bigint,
 * so fractional seconds up to 9 digits survive) and written back in the one form the service
 * accepts, `yyyy-MM-dd'T'HH:mm:ss.SSS[SSS[SSS]]Z` for String event times or decimal epoch seconds
 * for Fractional ones. Both stores therefore receive byte-identical event times.
 */

const NANOS_PER_SECOND = 1_000_000_000n;
const NANOS_PER_MILLI = 1_000_000n;
/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z: the service's event-time range. */
const MIN_EPOCH_NANOS = -62_167_219_200n * NANOS_PER_SECOND;
const MAX_EPOCH_NANOS = 253_402_300_800n * NANOS_PER_SECOND - 1n;

const ISO_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;
const EPOCH_PATTERN = /^-?\d{1,15}(?:\.\d{1,9})?$/;

type EventTimeResult = { ok: true; epochNanos: bigint } | { ok: false; reason: string };

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeap(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function inRange(epochNanos: bigint): EventTimeResult {
  if (epochNanos < MIN_EPOCH_NANOS || epochNanos > MAX_EPOCH_NANOS) {
    return {
      ok: false,
      reason: 'event time is outside 0000-01-01T00:00:00Z..9999-12-31T23:59:59Z',
    };
  }
  return { ok: true, epochNanos };
}

/** Date, time, optional fraction, optional zone, with a space or a `T` between date and time. */
const NEAR_ISO_PATTERN =
  /^\d{4}-\d{2}-\d{2}([ T])\d{2}:\d{2}:\d{2}(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * What is wrong with a time that is almost ISO-8601, the way pandas and SQL clients print one
 * (`2026-01-01 10:00:00`, no zone): a space for the `T`, a missing zone. A time without a zone
 * names no instant, so it is refused rather than guessed as UTC.
 */
function almostIsoHint(text: string): string {
  const m = NEAR_ISO_PATTERN.exec(text);
  if (m === null) return '';
  const faults = [
    ...(m[1] === ' ' ? ['a space where ISO-8601 has "T"'] : []),
    ...(m[2] === undefined ? ['no zone (Z or ±HH:MM), so no instant'] : []),
    ...(m[2] !== undefined && m[2] !== 'Z' && !m[2].includes(':') ? ['a zone without ":"'] : []),
  ];
  if (faults.length === 0) return '';
  return `; this one has ${faults.join(' and ')} (pandas: write UTC times with to_csv(date_format='%Y-%m-%dT%H:%M:%S.%fZ'))`;
}

function parseIso(text: string): EventTimeResult {
  const m = ISO_PATTERN.exec(text);
  if (m === null) {
    return {
      ok: false,
      reason: `event time must be ISO-8601 (yyyy-MM-ddTHH:mm:ss[.fraction] with Z or ±HH:MM) or epoch seconds${almostIsoHint(text)}`,
    };
  }
  const [, y, mo, d, h, mi, s, frac, zone] = m as unknown as string[];
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12) return { ok: false, reason: `month ${mo} is not 01-12` };
  const dim = daysInMonth(year, month);
  if (day < 1 || day > dim) return { ok: false, reason: `day ${d} does not exist in ${y}-${mo}` };
  if (hour > 23) return { ok: false, reason: `hour ${h} is not 00-23` };
  if (minute > 59) return { ok: false, reason: `minute ${mi} is not 00-59` };
  if (second > 59)
    return { ok: false, reason: `second ${s} is not 00-59 (leap seconds are not accepted)` };
  let offsetMinutes = 0;
  if (zone !== 'Z' && zone !== undefined) {
    const sign = zone.startsWith('-') ? -1 : 1;
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59)
      return { ok: false, reason: `offset ${zone} is not a valid UTC offset` };
    offsetMinutes = sign * (oh * 60 + om);
  }
  // Date.UTC handles years 0-99 as 1900+; setUTCFullYear avoids that trap.
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year);
  const wholeMs = BigInt(date.getTime()) - BigInt(offsetMinutes) * 60_000n;
  const fraction = BigInt((frac ?? '').padEnd(9, '0') || '0');
  return inRange(wholeMs * NANOS_PER_MILLI + fraction);
}

/** Finer epoch units a producer may send instead of seconds (Java, Kafka, Go), in nanoseconds. */
const FINER_EPOCH_UNITS = [
  ['milliseconds', 1_000_000n, 'divide by 1000'],
  ['microseconds', 1_000n, 'divide by 1,000,000'],
  ['nanoseconds', 1n, 'divide by 1,000,000,000'],
] as const;

/**
 * Why a non-negative epoch number too large for seconds is refused, naming the finer unit it
 * reads as (the first whose instant is within the event-time range) and that instant: epoch
 * milliseconds read as seconds are tens of thousands of years ahead.
 */
function beyondRangeAsSeconds(wholeDigits: string, shown: string): string {
  const prefix = `epoch seconds ${shown} are past 9999-12-31T23:59:59Z`;
  for (const [unit, nanosPerUnit, fix] of FINER_EPOCH_UNITS) {
    const nanos = BigInt(wholeDigits) * nanosPerUnit;
    if (nanos <= MAX_EPOCH_NANOS) {
      return `${prefix}: it reads as epoch ${unit} (${formatIsoEventTime(nanos)}); send epoch seconds (${fix}) or ISO-8601`;
    }
  }
  return `${prefix}; send epoch seconds or ISO-8601`;
}

/**
 * Epoch seconds from decimal text; `shown` is the value as the producer sent it (a number is
 * parsed from its `toFixed` text), for the messages.
 */
function parseEpochSeconds(text: string, shown: string = text): EventTimeResult {
  if (!EPOCH_PATTERN.test(text)) {
    // More integer digits than any epoch-seconds instant up to the year 9999 (a unit mix-up)?
    const digits = /^(\d{16,})(?:\.\d*)?$/.exec(text);
    return {
      ok: false,
      reason:
        digits?.[1] !== undefined
          ? beyondRangeAsSeconds(digits[1], shown)
          : 'epoch seconds must be a decimal number with at most 9 fractional digits',
    };
  }
  const negative = text.startsWith('-');
  const [whole = '0', frac = ''] = (negative ? text.slice(1) : text).split('.');
  const nanos = BigInt(whole) * NANOS_PER_SECOND + BigInt(frac.padEnd(9, '0') || '0');
  if (!negative && nanos > MAX_EPOCH_NANOS) {
    return { ok: false, reason: beyondRangeAsSeconds(whole, shown) };
  }
  return inRange(negative ? -nanos : nanos);
}

const DIGIT_0 = 48;

/** The number written by `length` ASCII digits at `at`, or -1 if one is not a digit. */
function digitsAt(text: string, at: number, length: number): number {
  let n = 0;
  for (let i = at; i < at + length; i++) {
    const d = text.charCodeAt(i) - DIGIT_0;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * The canonical form every Skewless writer produces, `yyyy-MM-ddTHH:mm:ss.SSSZ` (years 100-9999),
 * read without a regular expression or a Date object; undefined for anything else (invalid fields
 * included), which takes the general path and its messages.
 */
function parseCanonicalIso(text: string): bigint | undefined {
  if (
    text.length !== 24 ||
    text[4] !== '-' ||
    text[7] !== '-' ||
    text[10] !== 'T' ||
    text[13] !== ':' ||
    text[16] !== ':' ||
    text[19] !== '.' ||
    text[23] !== 'Z'
  ) {
    return undefined;
  }
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  const milli = digitsAt(text, 20, 3);
  if (
    year < 100 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month) ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 59 ||
    milli < 0
  ) {
    return undefined;
  }
  return BigInt(Date.UTC(year, month - 1, day, hour, minute, second, milli)) * NANOS_PER_MILLI;
}

/**
 * Parse an event time from what producers send: ISO-8601 with `Z` or an offset (fraction up to 9
 * digits), epoch seconds as a number or a decimal string, or a `Date`.
 */
function parseEventTime(value: unknown): EventTimeResult {
  if (typeof value === 'string') {
    const canonical = parseCanonicalIso(value);
    if (canonical !== undefined) return { ok: true, epochNanos: canonical };
    // Digits (and a dot) only: epoch seconds; anything else must be ISO-8601.
    if (/^-?[\d.]+$/.test(value)) return parseEpochSeconds(value);
    return parseIso(value);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { ok: false, reason: 'event time must be a finite number' };
    // Numbers carry at most microsecond precision at current epochs; toFixed(6) avoids float noise.
    return parseEpochSeconds(value.toFixed(6), String(value));
  }
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) return { ok: false, reason: 'event time is an invalid Date' };
    return inRange(BigInt(ms) * NANOS_PER_MILLI);
  }
  return {
    ok: false,
    reason: `event time must be a string, number or Date, not ${value === null ? 'null' : typeof value}`,
  };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** `yyyy-MM-ddTHH:mm:ss.SSSZ`, with 6 or 9 fraction digits only when finer precision exists. */
function formatIsoEventTime(epochNanos: bigint): string {
  let ms = epochNanos / NANOS_PER_MILLI;
  let subMilli = epochNanos % NANOS_PER_MILLI;
  if (subMilli < 0n) {
    subMilli += NANOS_PER_MILLI;
    ms -= 1n;
  }
  const date = new Date(Number(ms));
  const year = date.getUTCFullYear();
  // toISOString writes the same text for years 0-9999 (six digits and a sign beyond).
  const base = year >= 0 && year <= 9999 ? date.toISOString().slice(0, 23) : formatBase(date);
  if (subMilli === 0n) return `${base}Z`;
  const sub = pad(Number(subMilli), 6);
  return sub.endsWith('000') ? `${base}${sub.slice(0, 3)}Z` : `${base}${sub}Z`;
}

function formatBase(date: Date): string {
  return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}T${pad(
    date.getUTCHours(),
    2
  )}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}.${pad(date.getUTCMilliseconds(), 3)}`;
}

/** Decimal epoch seconds without trailing zeros, e.g. `1767225600.5`. */
function formatEpochSecondsEventTime(epochNanos: bigint): string {
  const negative = epochNanos < 0n;
  const abs = negative ? -epochNanos : epochNanos;
  const whole = abs / NANOS_PER_SECOND;
  const frac = (abs % NANOS_PER_SECOND).toString().padStart(9, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/** Default of `MAX_EVENT_TIME_SKEW_SECONDS`: 5 minutes, as streaming systems allow for clock skew. */
const DEFAULT_MAX_EVENT_TIME_SKEW_SECONDS = 300;

/**
 * How far ahead of the clock an event time may be. A record dated in the future (a producer's
 * wrong clock, a unit mix-up, year 2999) would otherwise be served as the latest value until that
 * date, and set its entity's derived state so late that every real event after it is "too late".
 */
interface EventTimeBound {
  /** Seconds ahead of `now()` an event time may be (`MAX_EVENT_TIME_SKEW_SECONDS`). */
  readonly maxSkewSeconds: number;
  /** The clock, epoch milliseconds (injectable for tests). */
  readonly now: () => number;
}

/**
 * Why an event time is beyond the bound, naming the event time, the clock and the bound; undefined
 * when it is within.
 *
 * @example
 * ```typescript
 * const bound = { maxSkewSeconds: 300, now: () => Date.now() };
 * eventTimeBeyondBound(BigInt(Date.now() + 3_600_000) * 1_000_000n, bound);
 * // 'event time 20…Z is 3600 s ahead of the clock (20…Z); at most 300 s ahead is accepted (MAX_EVENT_TIME_SKEW_SECONDS)'
 * ```
 */
function eventTimeBeyondBound(epochNanos: bigint, bound: EventTimeBound): string | undefined {
  const nowMs = bound.now();
  const limit =
    (BigInt(Math.floor(nowMs)) + BigInt(bound.maxSkewSeconds) * 1000n) * NANOS_PER_MILLI;
  if (epochNanos <= limit) return undefined;
  const aheadNanos = epochNanos - BigInt(Math.floor(nowMs)) * NANOS_PER_MILLI;
  const wholeSeconds = aheadNanos / NANOS_PER_SECOND;
  // Just past the bound, whole seconds would read "300 s ahead; at most 300 s": say by how much.
  const ahead =
    wholeSeconds > BigInt(bound.maxSkewSeconds)
      ? `${wholeSeconds}`
      : formatEpochSecondsEventTime(
          ((aheadNanos + NANOS_PER_MILLI - 1n) / NANOS_PER_MILLI) * NANOS_PER_MILLI
        );
  return `event time ${formatIsoEventTime(epochNanos)} is ${ahead} s ahead of the clock (${new Date(nowMs).toISOString()}); at most ${bound.maxSkewSeconds} s ahead is accepted (MAX_EVENT_TIME_SKEW_SECONDS)`;
}

/** Milliseconds since the epoch (truncated), for arithmetic with `Date.now()`. */
function epochNanosToMillis(epochNanos: bigint): number {
  return Number(epochNanos / NANOS_PER_MILLI);
}

export type { EventTimeBound, EventTimeResult };
export {
  DEFAULT_MAX_EVENT_TIME_SKEW_SECONDS,
  epochNanosToMillis,
  eventTimeBeyondBound,
  formatEpochSecondsEventTime,
  formatIsoEventTime,
  NANOS_PER_MILLI,
  NANOS_PER_SECOND,
  parseEventTime,
};

/**
 * The online store's TTL rule, once for every Skewless reader that judges expiry itself (the
 * audit, `skewless put`'s warning): a record's `ExpiresAt` is its event time + TTL, and the store
 * serves it while the clock is before that instant; at `ExpiresAt` it is gone (contract §5.3).
 * Compared in nanoseconds, as the store compares: an event time with sub-millisecond digits
 * expires that fraction of a millisecond after the millisecond it falls in, not at it.
 */
import { type Duration, durationSeconds } from '../schema/index.ts';
import { NANOS_PER_MILLI, NANOS_PER_SECOND, parseEventTime } from './eventTime.ts';

/** `ExpiresAt` of a record with this event time under this TTL, epoch nanoseconds. */
function expiresAtNanos(eventTimeNanos: bigint, ttl: Duration): bigint {
  return eventTimeNanos + BigInt(durationSeconds(ttl)) * NANOS_PER_SECOND;
}

/** An `ExpiresAt` as the store answers it (ISO-8601, `Z`), epoch nanoseconds; undefined if not one. */
function parseExpiresAt(text: string): bigint | undefined {
  const parsed = parseEventTime(text);
  return parsed.ok ? parsed.epochNanos : undefined;
}

/** True when a record expiring at `expiresAt` (epoch ns) is no longer served at `nowMs`. */
function isExpiredAt(expiresAt: bigint, nowMs: number): boolean {
  return expiresAt <= BigInt(Math.floor(nowMs)) * NANOS_PER_MILLI;
}

export { expiresAtNanos, isExpiredAt, parseExpiresAt };

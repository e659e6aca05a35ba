// calendar-fixed: parsing and formatting of fixed instants; the clock is read only for a current instant to encode.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatEpochSecondsEventTime,
  formatIsoEventTime,
  parseEventTime,
} from '../../../shared/record/eventTime.ts';

const parse = (v: unknown) => {
  const r = parseEventTime(v);
  if (!r.ok) throw new Error(r.reason);
  return r.epochNanos;
};

describe('Function: parseEventTime()', () => {
  it.each([
    ['2026-01-02T03:04:05Z', '2026-01-02T03:04:05.000Z'],
    ['2026-01-02T03:04:05.1Z', '2026-01-02T03:04:05.100Z'],
    ['2026-01-02T03:04:05.123456Z', '2026-01-02T03:04:05.123456Z'],
    ['2026-01-02T03:04:05.123456789Z', '2026-01-02T03:04:05.123456789Z'],
    ['2026-01-02T05:04:05+02:00', '2026-01-02T03:04:05.000Z'],
    ['2026-01-01T23:30:00-05:30', '2026-01-02T05:00:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
  ])('normalises %s to %s', (input, expected) => {
    expect(formatIsoEventTime(parse(input))).toBe(expected);
  });

  it.each([
    [1767225600, '2026-01-01T00:00:00.000Z'],
    [1767225600.5, '2026-01-01T00:00:00.500Z'],
    ['1767225600.25', '2026-01-01T00:00:00.250Z'],
    [new Date('2026-01-01T00:00:00.007Z'), '2026-01-01T00:00:00.007Z'],
  ])('accepts epoch seconds and Dates: %s', (input, expected) => {
    expect(formatIsoEventTime(parse(input))).toBe(expected);
  });

  it.each([
    ['2026-13-01T00:00:00Z', 'month 13 is not 01-12'],
    ['2026-02-30T00:00:00Z', 'day 30 does not exist in 2026-02'],
    ['2025-02-29T00:00:00Z', 'day 29 does not exist in 2025-02'],
    ['2026-01-01T24:00:00Z', 'hour 24 is not 00-23'],
    ['2026-01-01T00:60:00Z', 'minute 60 is not 00-59'],
    ['2026-01-01T00:00:60Z', 'second 60 is not 00-59'],
    ['2026-01-01T00:00:00', 'event time must be ISO-8601'],
    ['2026-01-01 00:00:00Z', 'event time must be ISO-8601'],
    ['1.2.3', 'epoch seconds must be a decimal number'],
    ['2026-01-01T00:00:00.1234567891Z', 'event time must be ISO-8601'],
    [
      'yesterday',
      'event time must be ISO-8601 (yyyy-MM-ddTHH:mm:ss[.fraction] with Z or ±HH:MM) or epoch seconds',
    ],
    [Number.NaN, 'event time must be a finite number'],
    [Number.POSITIVE_INFINITY, 'event time must be a finite number'],
    [null, 'event time must be a string, number or Date, not null'],
    [true, 'event time must be a string, number or Date, not boolean'],
    [new Date('x'), 'event time is an invalid Date'],
    ['-99999999999999', 'outside 0000-01-01T00:00:00Z..9999-12-31T23:59:59Z'],
    ['99999999999999999999999999999', 'past 9999-12-31T23:59:59Z; send epoch seconds or ISO-8601'],
  ])('rejects %s with a specific reason', (input, reason) => {
    const r = parseEventTime(input);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain(reason);
  });

  it.each([
    [
      '2026-01-01 10:00:00',
      'a space where ISO-8601 has "T" and no zone (Z or ±HH:MM), so no instant',
    ],
    ['2026-01-01 10:00:00.250Z', 'a space where ISO-8601 has "T"'],
    ['2026-01-01T10:00:00', 'no zone (Z or ±HH:MM), so no instant'],
    ['2026-01-01 10:00:00+0200', 'a space where ISO-8601 has "T" and a zone without ":"'],
  ])(
    'says what is wrong with the almost-ISO time %s (pandas and SQL clients print them)',
    (input, fault) => {
      const r = parseEventTime(input);
      expect(!r.ok && r.reason).toBe(
        `event time must be ISO-8601 (yyyy-MM-ddTHH:mm:ss[.fraction] with Z or ±HH:MM) or epoch seconds; this one has ${fault} (pandas: write UTC times with to_csv(date_format='%Y-%m-%dT%H:%M:%S.%fZ'))`
      );
    }
  );

  describe('epoch numbers in a finer unit than seconds (Java, Kafka, Go producers)', () => {
    const nowMs = Date.now();
    const iso = formatIsoEventTime(BigInt(nowMs) * 1_000_000n);
    it.each([
      ['milliseconds', nowMs, 'divide by 1000'],
      ['microseconds', nowMs * 1000, 'divide by 1,000,000'],
      ['nanoseconds', BigInt(nowMs) * 1_000_000n, 'divide by 1,000,000,000'],
    ])('names the unit a value in epoch %s reads as, and the instant', (unit, value, fix) => {
      // As a JSON number (nanoseconds only as text: a number that large has lost digits) and as
      // a decimal string, as a CSV or JSON Lines backfill carries it.
      const inputs = typeof value === 'bigint' ? [String(value)] : [value, String(value)];
      for (const input of inputs) {
        const r = parseEventTime(input);
        expect(r.ok).toBe(false);
        expect(!r.ok && r.reason).toBe(
          `epoch seconds ${input} are past 9999-12-31T23:59:59Z: it reads as epoch ${unit} (${iso}); send epoch seconds (${fix}) or ISO-8601`
        );
      }
    });
  });

  it('round-trips every instant through both wire forms (property)', () => {
    const min = -62_167_219_200n * 1_000_000_000n;
    const max = 253_402_300_800n * 1_000_000_000n - 1n;
    fc.assert(
      fc.property(fc.bigInt({ min, max }), (nanos) => {
        expect(parse(formatIsoEventTime(nanos))).toBe(nanos);
        expect(parse(formatEpochSecondsEventTime(nanos))).toBe(nanos);
      }),
      { numRuns: 500 }
    );
  });

  it('agrees with Date for millisecond instants (property)', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1970-01-01'), max: new Date('9999-12-31'), noInvalidDate: true }),
        (d) => {
          expect(formatIsoEventTime(parse(d.toISOString()))).toBe(
            d.toISOString().replace(/^\+0*/, '')
          );
        }
      )
    );
  });
});

describe('Canonical event-time text (the form every writer produces)', () => {
  const pad = (n: number, width: number) => String(n).padStart(width, '0');

  it('reads yyyy-MM-ddTHH:mm:ss.SSSZ as the calendar does, and rejects impossible fields with their reason (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 24 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 999 }),
        (year, month, day, hour, minute, second, milli) => {
          const text = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}.${pad(milli, 3)}Z`;
          // The calendar's own verdict: the fields survive a round trip through Date.
          const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, milli));
          date.setUTCFullYear(year);
          const valid =
            month >= 1 &&
            date.getUTCMonth() === month - 1 &&
            date.getUTCDate() === day &&
            date.getUTCHours() === hour &&
            date.getUTCMinutes() === minute &&
            date.getUTCSeconds() === second;
          const result = parseEventTime(text);
          expect(result.ok).toBe(valid);
          if (result.ok) expect(result.epochNanos).toBe(BigInt(date.getTime()) * 1_000_000n);
          else expect(result.reason).toMatch(/month|day|hour|minute|second/);
        }
      ),
      { numRuns: 2000 }
    );
  });

  it('writes every instant as the field-by-field formatting would (property)', () => {
    const min = -62_167_219_200n * 1_000_000_000n;
    const max = 253_402_300_800n * 1_000_000_000n - 1n;
    const reference = (nanos: bigint) => {
      let ms = nanos / 1_000_000n;
      let sub = nanos % 1_000_000n;
      if (sub < 0n) {
        sub += 1_000_000n;
        ms -= 1n;
      }
      const d = new Date(Number(ms));
      const base = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}`;
      if (sub === 0n) return `${base}Z`;
      const digits = pad(Number(sub), 6);
      return digits.endsWith('000') ? `${base}${digits.slice(0, 3)}Z` : `${base}${digits}Z`;
    };
    fc.assert(
      fc.property(fc.bigInt({ min, max }), (nanos) => {
        expect(formatIsoEventTime(nanos)).toBe(reference(nanos));
      }),
      { numRuns: 2000 }
    );
    expect(formatIsoEventTime(min)).toBe('0000-01-01T00:00:00.000Z');
    expect(formatIsoEventTime(max)).toBe('9999-12-31T23:59:59.999999999Z');
  });
});

// calendar-fixed: parsing and formatting of fixed instants; no clock involved.
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
    [1e13, 'outside 0000-01-01T00:00:00Z..9999-12-31T23:59:59Z'],
  ])('rejects %s with a specific reason', (input, reason) => {
    const r = parseEventTime(input);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain(reason);
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

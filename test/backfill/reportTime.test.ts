import { describe, expect, it } from 'vitest';
import { reportTime } from '../../shared/backfill/reportTime.ts';

describe('Function: reportTime()', () => {
  it('gives one invocation its duration, and more the work first, then the span that includes the stops', () => {
    expect(reportTime({ durationMs: 3_140, activeMs: 3_100, invocations: 1 })).toBe('3.1 s');
    // Ctrl-C in the evening, resumed at the next start in the morning
    expect(reportTime({ durationMs: 43_200_000, activeMs: 8_900, invocations: 2 })).toBe(
      '8.9 s of work in 2 invocations, 12.0h since it started'
    );
    // A span under two minutes keeps its tenths of a second
    expect(reportTime({ durationMs: 95_000, activeMs: 4_200, invocations: 2 })).toBe(
      '4.2 s of work in 2 invocations, 95.0 s since it started'
    );
  });
});

import { shortDuration } from '../shortDuration.ts';
import type { BackfillReport } from './types.ts';

/**
 * A finished drop's time for a summary line. One invocation: its duration (`3.1 s`). More (a drop
 * resumed at the next start after Ctrl-C or a crash, or continued in a new invocation): the work
 * first, then the span since it started, which includes the time between invocations — a
 * backfill stopped in the evening and resumed in the morning did seconds of work, not hours. A
 * span of two minutes or more is given in the unit that fits it (`12.0h`, not `43200.0 s`).
 *
 * @example
 * ```typescript
 * reportTime({ durationMs: 43_200_000, activeMs: 8_900, invocations: 2 });
 * // '8.9 s of work in 2 invocations, 12.0h since it started'
 * ```
 */
function reportTime(
  report: Pick<BackfillReport, 'durationMs' | 'activeMs' | 'invocations'>
): string {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return report.invocations > 1
    ? `${seconds(report.activeMs)} of work in ${report.invocations} invocations, ${report.durationMs < 120_000 ? seconds(report.durationMs) : shortDuration(report.durationMs / 1000)} since it started`
    : seconds(report.durationMs);
}

export { reportTime };

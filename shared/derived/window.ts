/**
 * Window lengths of derived features. Event times are epoch nanoseconds (bigint) everywhere in
 * Skewless, so windows are too: a boundary comparison never rounds.
 */
import { NANOS_PER_SECOND } from '../record/eventTime.ts';
import { SECONDS_PER_UNIT } from '../schema/limits.ts';
import type { Duration } from '../schema/types.ts';

/** Compact window text: `60s`, `15m`, `1h`, `1d`, `7d`, `2w` (a positive integer and a unit). */
type WindowText = `${number}${'s' | 'm' | 'h' | 'd' | 'w'}`;

/** A window as written in a definition: compact text or the schema module's {@link Duration}. */
type WindowSpec = WindowText | Duration;

const SECONDS_PER_SUFFIX = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 } as const;
const WINDOW_TEXT = /^([1-9]\d{0,9})([smhdw])$/;

/** The longest window a definition may use: 366 days (state would not fit a record anyway). */
const MAX_WINDOW_SECONDS = 366 * 86_400;

type WindowResult = { ok: true; nanos: bigint } | { ok: false; reason: string };

/**
 * A window's length in nanoseconds, or why it is not a window.
 *
 * @example
 * ```typescript
 * windowNanos('60s'); // { ok: true, nanos: 60_000_000_000n }
 * windowNanos({ unit: 'Days', value: 7 }); // { ok: true, nanos: 604_800_000_000_000n }
 * ```
 */
function windowNanos(spec: unknown): WindowResult {
  let seconds: number;
  if (typeof spec === 'string') {
    const match = WINDOW_TEXT.exec(spec);
    if (match === null) {
      return {
        ok: false,
        reason: `window "${spec}" must be a positive integer and a unit s, m, h, d or w (e.g. 60s, 1h, 7d)`,
      };
    }
    seconds = Number(match[1]) * SECONDS_PER_SUFFIX[match[2] as keyof typeof SECONDS_PER_SUFFIX];
  } else if (typeof spec === 'object' && spec !== null && 'unit' in spec && 'value' in spec) {
    const { unit, value } = spec as Duration;
    if (!Object.hasOwn(SECONDS_PER_UNIT, unit)) {
      return {
        ok: false,
        reason: `window unit "${unit}" is not one of ${Object.keys(SECONDS_PER_UNIT).join(', ')}`,
      };
    }
    if (!Number.isSafeInteger(value) || value < 1) {
      return { ok: false, reason: `window value must be an integer >= 1 (got ${value})` };
    }
    seconds = value * SECONDS_PER_UNIT[unit];
  } else {
    return { ok: false, reason: 'window must be text such as "1h" or a { unit, value } duration' };
  }
  if (seconds > MAX_WINDOW_SECONDS) {
    return { ok: false, reason: `window of ${seconds} s exceeds the maximum of 366 days` };
  }
  return { ok: true, nanos: BigInt(seconds) * NANOS_PER_SECOND };
}

/** The shortest text for a window length, for messages and docs: `3600000000000n` → `1h`. */
function formatWindow(nanos: bigint): string {
  const seconds = nanos / NANOS_PER_SECOND;
  if (seconds * NANOS_PER_SECOND !== nanos) return `${nanos}ns`;
  for (const [suffix, size] of [
    ['w', 604_800n],
    ['d', 86_400n],
    ['h', 3600n],
    ['m', 60n],
  ] as const) {
    if (seconds % size === 0n) return `${seconds / size}${suffix}`;
  }
  return `${seconds}s`;
}

export type { WindowResult, WindowSpec, WindowText };
export { formatWindow, windowNanos };

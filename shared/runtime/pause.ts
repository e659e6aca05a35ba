import { setTimeout as delay } from 'node:timers/promises';

/**
 * Waits `ms`, or until `signal` aborts, whichever comes first, and never rejects for the abort:
 * for loops that end their round themselves once aborted (the caller checks the signal). Node's
 * abortable timer underneath, which would reject with an `AbortError`.
 *
 * @example
 * ```typescript
 * import { pause } from './shared/runtime/pause.ts';
 * const controller = new AbortController();
 * setTimeout(() => controller.abort(), 10);
 * await pause(60_000, controller.signal); // resolves after ~10 ms
 * ```
 */
async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (error) {
    if (!signal?.aborted) throw error;
  }
}

export { pause };

/**
 * Watches the metrics the in-process functions add to the one Powertools `Metrics` of
 * shared/runtime/powertools.ts (the calls pass through; EMF output stays off in tests).
 */
import { vi } from 'vitest';
import { metrics } from '../../shared/runtime/powertools.ts';

/**
 * `act`'s result and the metrics the functions added while it ran, summed per name (one
 * invocation or several: each adds its own share).
 */
async function withMetrics<T>(act: () => Promise<T>): Promise<[T, Record<string, number>]> {
  const added = vi.spyOn(metrics, 'addMetric');
  try {
    const result = await act();
    const sums: Record<string, number> = {};
    for (const [name, , value] of added.mock.calls) sums[name] = (sums[name] ?? 0) + value;
    return [result, sums];
  } finally {
    added.mockRestore();
  }
}

export { withMetrics };

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

/** What Powertools logs (stderr) when an invocation publishes no metric at all. */
const NO_METRICS_WARNING = 'No application metrics to publish';

/**
 * `act`'s result and how many times Powertools warned, while it ran, that an invocation published
 * no metric. Those warnings are kept off the test output; other stderr output passes through.
 */
async function withEmptyPublishWarnings<T>(act: () => Promise<T>): Promise<[T, number]> {
  let warnings = 0;
  const write = process.stderr.write.bind(process.stderr);
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation(((chunk, ...rest) => {
    if (String(chunk).includes(NO_METRICS_WARNING)) {
      warnings++;
      return true;
    }
    return write(chunk, ...(rest as []));
  }) as typeof process.stderr.write);
  try {
    return [await act(), warnings];
  } finally {
    spy.mockRestore();
  }
}

export { withEmptyPublishWarnings };

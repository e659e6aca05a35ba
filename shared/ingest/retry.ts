/**
 * An optional SDK retry strategy for PutRecord: exponential backoff with full jitter from a
 * configurable base, no retry quota. Used when `INGEST_RETRY_BASE_DELAY_MS` is set (tests,
 * benchmarks, or a store known to throttle in short bursts); otherwise the SDK's standard mode
 * applies unchanged. The invocation deadline still bounds every wait: the SDK races its retry
 * sleeps with the request's abort signal.
 */
import type { SageMakerFeatureStoreRuntimeClientConfig } from '@aws-sdk/client-sagemaker-featurestore-runtime';

type RetryStrategyOption = NonNullable<SageMakerFeatureStoreRuntimeClientConfig['retryStrategy']>;

interface BackoffOptions {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  /** Upper bound of the first retry's delay; doubles per retry. */
  readonly baseDelayMs: number;
  /** Cap of any single delay. */
  readonly maxDelayMs?: number;
  /** Uniform [0, 1) draw, for deterministic tests. */
  readonly random?: () => number;
}

interface Token {
  getRetryCount(): number;
  getRetryDelay(): number;
}

const RETRYABLE = new Set(['THROTTLING', 'TRANSIENT']);

function token(retryCount: number, delayMs: number): Token {
  return { getRetryCount: () => retryCount, getRetryDelay: () => delayMs };
}

/**
 * Build the strategy. Retries what the SDK classifies as throttling or transient (5xx, network,
 * timeouts), as the standard mode does.
 *
 * @example
 * ```typescript
 * import { createFeatureStoreClient } from '../runtime/clients.ts';
 * import { jitteredBackoff } from './retry.ts';
 *
 * const client = createFeatureStoreClient({}, { retryStrategy: jitteredBackoff({ maxAttempts: 5, baseDelayMs: 20 }) });
 * ```
 */
function jitteredBackoff(options: BackoffOptions): RetryStrategyOption {
  const maxDelayMs = options.maxDelayMs ?? 20_000;
  const random = options.random ?? Math.random;
  return {
    acquireInitialRetryToken: async () => token(0, 0),
    refreshRetryTokenForRetry: async (previous: Token, errorInfo: { errorType: string }) => {
      const retries = previous.getRetryCount();
      if (!RETRYABLE.has(errorInfo.errorType) || retries + 1 >= options.maxAttempts) {
        throw new Error('no retry');
      }
      const ceiling = Math.min(maxDelayMs, options.baseDelayMs * 2 ** retries);
      return token(retries + 1, Math.floor(random() * ceiling));
    },
    recordSuccess: () => undefined,
  } as unknown as RetryStrategyOption;
}

export type { BackoffOptions };
export { jitteredBackoff };

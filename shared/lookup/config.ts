/**
 * The lookup function's configuration, read once at cold start (fail fast on a bad value), and
 * the Feature Store client it reads with: keep-alive, short timeout, and a retry policy built for
 * a 10 ms budget.
 */
import type {
  SageMakerFeatureStoreRuntimeClient,
  SageMakerFeatureStoreRuntimeClientConfig,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { createFeatureStoreClient } from '../runtime/clients.ts';
import { getIntegerFromEnv, getOptionalStringFromEnv } from '../runtime/env.ts';
import type { RequestLimits } from './requests.ts';

/** Everything the lookup reads from the environment. */
interface LookupConfig extends RequestLimits {
  /** Per store call, ms (`LOOKUP_STORE_TIMEOUT_MS`, default 1000). */
  readonly storeTimeoutMs: number;
  /** Immediate retries of a call that failed before any answer (`LOOKUP_STORE_RETRIES`, default 1). */
  readonly storeRetries: number;
  /** Keep-alive sockets to the store (`LOOKUP_STORE_MAX_SOCKETS`, default 64). */
  readonly storeMaxSockets: number;
  /** `Access-Control-Allow-Origin` of every answer; undefined keeps CORS off (`LOOKUP_CORS_ALLOW_ORIGIN`). */
  readonly corsAllowOrigin: string | undefined;
}

/** The documented ceiling of `LOOKUP_MAX_BATCH_IDS` and `LOOKUP_MAX_VECTOR_ENTITIES`. */
const MAX_IDS_CEILING = 10_000;

/**
 * Read the lookup configuration from `process.env`.
 *
 * @example
 * ```typescript
 * import { lookupConfigFromEnv } from './shared/lookup/config.ts';
 * process.env.LOOKUP_MAX_BATCH_IDS = '5000';
 * lookupConfigFromEnv().maxBatchIds; // 5000
 * ```
 * @throws ConfigurationError for a value out of range
 */
function lookupConfigFromEnv(): LookupConfig {
  return Object.freeze({
    maxBatchIds: getIntegerFromEnv('LOOKUP_MAX_BATCH_IDS', 1000, 1, MAX_IDS_CEILING),
    maxVectorEntities: getIntegerFromEnv('LOOKUP_MAX_VECTOR_ENTITIES', 1000, 1, MAX_IDS_CEILING),
    storeTimeoutMs: getIntegerFromEnv('LOOKUP_STORE_TIMEOUT_MS', 1000, 1, 30_000),
    storeRetries: getIntegerFromEnv('LOOKUP_STORE_RETRIES', 1, 0, 3),
    storeMaxSockets: getIntegerFromEnv('LOOKUP_STORE_MAX_SOCKETS', 64, 1, 1024),
    corsAllowOrigin: getOptionalStringFromEnv('LOOKUP_CORS_ALLOW_ORIGIN'),
  });
}

type RetryStrategy = Extract<
  NonNullable<SageMakerFeatureStoreRuntimeClientConfig['retryStrategy']>,
  { acquireInitialRetryToken: unknown }
>;
type RetryToken = Awaited<ReturnType<RetryStrategy['acquireInitialRetryToken']>>;
type RetryErrorInfo = Parameters<RetryStrategy['refreshRetryTokenForRetry']>[1];

/** Socket errors of a keep-alive connection that died while idle (e.g. a frozen container). */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE']);

/**
 * Retry at once, at most `retries` times, and only calls whose connection broke before any
 * answer (a keep-alive socket reset while the container was frozen). Throttling, 5xx answers and
 * timeouts are not retried: the SDK's standard backoff (a random wait of up to 50 ms after a 5xx,
 * up to 1 s after throttling, doubling per attempt) would spend the caller's whole 10 ms budget,
 * so the lookup fails fast with 429/503 and the caller decides.
 */
function failFastRetryStrategy(retries: number): RetryStrategy {
  const token = (count: number): RetryToken => ({
    getRetryCount: () => count,
    getRetryDelay: () => 0,
  });
  return {
    acquireInitialRetryToken: async () => token(0),
    refreshRetryTokenForRetry: async (previous: RetryToken, info: RetryErrorInfo) => {
      const error = info.error as { $metadata?: { httpStatusCode?: number }; code?: string };
      const answered = error?.$metadata?.httpStatusCode !== undefined;
      if (answered || !STALE_SOCKET_CODES.has(error?.code ?? '')) throw info.error;
      if (previous.getRetryCount() >= retries) throw info.error;
      return token(previous.getRetryCount() + 1);
    },
    recordSuccess: () => {},
  };
}

/**
 * The lookup's Feature Store client: keep-alive sockets, `storeTimeoutMs` per call and the
 * fail-fast retry policy. The endpoint comes from the SDK's configuration
 * (`AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME` for the embedded store).
 *
 * @example
 * ```typescript
 * import { createLookupStoreClient, lookupConfigFromEnv } from './shared/lookup/config.ts';
 * const client = createLookupStoreClient(lookupConfigFromEnv());
 * ```
 */
function createLookupStoreClient(
  config: Pick<LookupConfig, 'storeTimeoutMs' | 'storeRetries' | 'storeMaxSockets'>
): SageMakerFeatureStoreRuntimeClient {
  return createFeatureStoreClient(
    {
      maxSockets: config.storeMaxSockets,
      maxAttempts: config.storeRetries + 1,
      requestTimeoutMs: config.storeTimeoutMs,
    },
    { retryStrategy: failFastRetryStrategy(config.storeRetries) }
  );
}

export type { LookupConfig };
export { createLookupStoreClient, failFastRetryStrategy, lookupConfigFromEnv };

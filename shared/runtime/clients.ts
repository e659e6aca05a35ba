import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  SageMakerFeatureStoreRuntimeClient,
  type SageMakerFeatureStoreRuntimeClientConfig,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import {
  AdaptiveRetryStrategy,
  ConfiguredRetryStrategy,
  MAXIMUM_RETRY_DELAY,
  StandardRetryStrategy,
} from '@smithy/core/retry';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * SDK clients, built once per container (module scope) and reused across invocations.
 * Keep-alive agents sized for the concurrency the handlers use, so calls in flight reuse
 * connections instead of paying a TLS handshake each. The endpoint comes from the SDK's own
 * configuration (AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME for the embedded store).
 *
 * Retries: this module is the project's one retry layer (issue 15). Every Feature Store client
 * gets the SDK's own retry strategy from {@link featureStoreRetryStrategy}; nothing retries on
 * top of it. The BatchWriteRecord writer (`shared/store/batchWriter.ts`) re-sends throttled and
 * unprocessed entries under the same strategy object (same attempts, backoff and retry quota).
 */
interface ClientOptions {
  /** Sockets per host; match the number of requests in flight. */
  readonly maxSockets?: number;
  /** Total attempts per call including the first (default 3, the SDK's). */
  readonly maxAttempts?: number;
  /**
   * Base of the exponential backoff with full jitter, in ms (retry n waits a uniform draw in
   * [0, base × 2^(n-1)), capped at 20 s). Undefined keeps the SDK's standard delays
   * (50 ms base, 1 s for throttling).
   */
  readonly retryBaseDelayMs?: number;
  /**
   * The SDK's adaptive mode: the standard retries plus a client-side rate limiter that slows
   * every call of the client down when the store throttles, and speeds up again as calls
   * succeed. For bulk writers that would otherwise spend a table's on-demand throughput in
   * retries (batch features). Ignores `retryBaseDelayMs`.
   */
  readonly adaptive?: boolean;
  /** Per-request timeout in ms. */
  readonly requestTimeoutMs?: number;
}

function keepAliveHandler(options: ClientOptions): NodeHttpHandler {
  const maxSockets = options.maxSockets ?? 64;
  return new NodeHttpHandler({
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
    connectionTimeout: 2_000,
    requestTimeout: options.requestTimeoutMs ?? 5_000,
  });
}

/**
 * The SDK retry strategy every Feature Store client uses: the standard mode (throttling, 5xx,
 * network errors and timeouts retried; a client-wide retry quota so a failing store is not
 * hammered), with its delays replaced by jittered exponential backoff from `retryBaseDelayMs`
 * when one is given.
 *
 * @example
 * ```typescript
 * import { featureStoreRetryStrategy } from './clients.ts';
 *
 * const strategy = featureStoreRetryStrategy({ maxAttempts: 5, retryBaseDelayMs: 20 });
 * ```
 */
function featureStoreRetryStrategy(
  options: Pick<ClientOptions, 'maxAttempts' | 'retryBaseDelayMs' | 'adaptive'> = {}
): StandardRetryStrategy | AdaptiveRetryStrategy {
  const maxAttempts = options.maxAttempts ?? 3;
  if (options.adaptive === true) return new AdaptiveRetryStrategy(maxAttempts);
  const base = options.retryBaseDelayMs;
  if (base === undefined) return new StandardRetryStrategy(maxAttempts);
  // `attempt` is the attempt about to be made (2 for the first retry).
  return new ConfiguredRetryStrategy(maxAttempts, (attempt) =>
    Math.floor(Math.random() * Math.min(MAXIMUM_RETRY_DELAY, base * 2 ** (attempt - 2)))
  );
}

function createFeatureStoreClient(
  options: ClientOptions = {},
  config: SageMakerFeatureStoreRuntimeClientConfig = {}
): SageMakerFeatureStoreRuntimeClient {
  return new SageMakerFeatureStoreRuntimeClient({
    requestHandler: keepAliveHandler(options),
    retryStrategy: featureStoreRetryStrategy(options),
    ...config,
  });
}

export type { ClientOptions };
export { createFeatureStoreClient, featureStoreRetryStrategy, keepAliveHandler };

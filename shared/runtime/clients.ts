import {
  SageMakerFeatureStoreRuntimeClient,
  type SageMakerFeatureStoreRuntimeClientConfig,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { fromEnv } from '@aws-sdk/credential-provider-env';
import {
  AdaptiveRetryStrategy,
  ConfiguredRetryStrategy,
  MAXIMUM_RETRY_DELAY,
  StandardRetryStrategy,
} from '@smithy/core/retry';
import { NodeHttpHandler } from '@smithy/node-http-handler';

type CredentialsProvider = ReturnType<typeof fromEnv>;

// Not `import { Agent } from 'node:http'`: in an ES module (the CLI and `npm start` run this file
// as one) that builds node:http's ES facade, which reads every export, and its lazy `WebSocket`
// getter then loads undici: ~20 ms of CPU in every `skewless get` (BENCHMARKS.md, CLI start-up).
// The Lambda bundles are CommonJS, where either form is a plain require.
const { Agent: HttpAgent } = process.getBuiltinModule('node:http');
const { Agent: HttpsAgent } = process.getBuiltinModule('node:https');

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
  /**
   * Sockets per host; match the number of requests in flight (bound every call of the client by
   * one limiter of that size: a call waiting for a socket has its timeouts running).
   */
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
    // Without it the SDK only logs a WARN line when the timeout passes and keeps waiting: a store
    // that accepted the connection and never answered held a lookup until the function's own
    // timeout, and `skewless audit` forever. A timeout is a TimeoutError the retry strategy retries.
    throwOnRequestTimeout: true,
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

/**
 * Credentials for a client built inside Lambda: the runtime puts the function role's credentials
 * in the environment, so the SDK's default chain (SSO, ini files, process, web identity, IMDS —
 * loaded on first use and bundled for nothing) is skipped. Those providers are `External` in the
 * template's esbuild options, so a bundle never reaches them. Outside Lambda (CLI, local stack,
 * tests) `undefined` keeps the SDK's default chain.
 */
function runtimeCredentials(env: NodeJS.ProcessEnv = process.env): CredentialsProvider | undefined {
  return env.AWS_LAMBDA_FUNCTION_NAME === undefined ? undefined : fromEnv();
}

/** Settings every client shares: today the credentials of {@link runtimeCredentials}. */
function baseClientConfig(): { credentials?: CredentialsProvider } {
  const credentials = runtimeCredentials();
  return credentials === undefined ? {} : { credentials };
}

/**
 * A client built on first use, then reused: a function that may never need it (a dead-letter
 * queue, a continuation queue) does not pay for its configuration at cold start.
 */
function lazyClient<T>(create: () => T): () => T {
  let client: T | undefined;
  return () => {
    client ??= create();
    return client;
  };
}

function createFeatureStoreClient(
  options: ClientOptions = {},
  config: SageMakerFeatureStoreRuntimeClientConfig = {}
): SageMakerFeatureStoreRuntimeClient {
  return new SageMakerFeatureStoreRuntimeClient({
    ...baseClientConfig(),
    requestHandler: keepAliveHandler(options),
    retryStrategy: featureStoreRetryStrategy(options),
    ...config,
  });
}

export type { ClientOptions };
export {
  baseClientConfig,
  createFeatureStoreClient,
  featureStoreRetryStrategy,
  keepAliveHandler,
  lazyClient,
  runtimeCredentials,
};

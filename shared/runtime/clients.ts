import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  SageMakerFeatureStoreRuntimeClient,
  type SageMakerFeatureStoreRuntimeClientConfig,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * SDK clients, built once per container (module scope) and reused across invocations.
 * Keep-alive agents sized for the concurrency the handlers use, so PutRecord calls in flight
 * reuse connections instead of paying a TLS handshake each. The endpoint comes from the SDK's
 * own configuration (AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME for the embedded store).
 */
interface ClientOptions {
  /** Sockets per host; match the number of requests in flight. */
  readonly maxSockets?: number;
  /** Total attempts per call including the first (SDK standard retry mode with backoff). */
  readonly maxAttempts?: number;
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

function createFeatureStoreClient(
  options: ClientOptions = {},
  config: SageMakerFeatureStoreRuntimeClientConfig = {}
): SageMakerFeatureStoreRuntimeClient {
  return new SageMakerFeatureStoreRuntimeClient({
    requestHandler: keepAliveHandler(options),
    maxAttempts: options.maxAttempts ?? 3,
    retryMode: 'standard',
    ...config,
  });
}

export type { ClientOptions };
export { createFeatureStoreClient, keepAliveHandler };

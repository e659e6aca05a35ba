/**
 * How many calls a Feature Store client has in flight at most, against the sockets its agent has:
 * for the tests that prove no call waits for a socket (the wait counts against the client's
 * request and connection timeouts).
 */
import type { SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { NodeHttpHandler } from '@smithy/node-http-handler';

interface CallsInFlight {
  /** The most calls in flight at once so far. */
  readonly most: () => number;
  /** The `maxSockets` of the client's HTTP agent. */
  readonly sockets: () => number | undefined;
}

/**
 * Counts `client`'s calls in flight from the moment each is handed to the HTTP handler, waiting
 * for a socket included.
 */
function countCallsInFlight(client: SageMakerFeatureStoreRuntimeClient): CallsInFlight {
  let inFlight = 0;
  let most = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      try {
        return await next(args);
      } finally {
        inFlight -= 1;
      }
    },
    { step: 'finalizeRequest', name: 'countCallsInFlight' }
  );
  return {
    most: () => most,
    sockets: () =>
      (client.config.requestHandler as NodeHttpHandler).httpHandlerConfigs().httpAgent?.maxSockets,
  };
}

export { countCallsInFlight };

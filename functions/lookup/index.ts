/**
 * Lookup function: API Gateway REST (proxy integration) → GetRecord / BatchGetRecord on the
 * online store. Three routes (see openapi.yaml): one record, a batch of records, and a feature
 * set's vectors. Reads only; writes nothing.
 *
 * Everything per container is built here at module scope (client with keep-alive sockets,
 * catalog of the definitions, configuration); a request only routes, parses, reads and shapes.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { catalog } from '../../shared/lookup/catalog.ts';
import { createLookupStoreClient, lookupConfigFromEnv } from '../../shared/lookup/config.ts';
import { LookupMetric, lookupEdge, requestIdOf } from '../../shared/lookup/edge.ts';
import { NotFoundError } from '../../shared/lookup/errors.ts';
import { okResponse, type ProxyResult } from '../../shared/lookup/responses.ts';
import { findRoute } from '../../shared/lookup/routes.ts';
import { createLookupService } from '../../shared/lookup/service.ts';
import { logger, metrics } from '../../shared/runtime/powertools.ts';

const config = lookupConfigFromEnv();
const responseOptions = { corsAllowOrigin: config.corsAllowOrigin };
const service = createLookupService({
  client: createLookupStoreClient(config),
  catalog,
  limits: config,
  onStoreLatency: (ms) => metrics.addMetric(LookupMetric.StoreLatency, MetricUnit.Milliseconds, ms),
});

async function lookup(
  event: APIGatewayProxyEvent,
  context: Context,
  options?: { signal?: AbortSignal }
): Promise<ProxyResult> {
  const route = findRoute(event.httpMethod, event.resource);
  if (route === undefined) {
    throw new NotFoundError(`No route ${event.httpMethod} ${event.resource}`);
  }
  const body = await service.serve(route, event, options?.signal);
  return okResponse(route, body, requestIdOf(event, context), responseOptions);
}

/**
 * The Lambda entry point (`index.handler`). Middy's early-timeout timer is off: every store call
 * is bounded by LOOKUP_STORE_TIMEOUT_MS (1 s), far inside the function's 10 s timeout, and the
 * per-request timer would be pure overhead on the inference path.
 */
export const handler = middy<APIGatewayProxyEvent, ProxyResult>(lookup, {
  timeoutEarlyInMillis: 0,
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .use(lookupEdge({ logger, metrics, response: responseOptions }));

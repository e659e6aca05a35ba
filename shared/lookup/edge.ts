/**
 * The lookup's one edge, as a Middy middleware: it times every request, maps whatever the
 * handler throws to an HTTP answer ({@link toHttpError}), logs by severity, and records
 * `LookupLatency` (ms) and one outcome count (`LookupOk`, `LookupBadRequest`, `LookupNotFound`,
 * `LookupThrottled`, `LookupUnavailable`, `LookupError`) for all routes and per `route`.
 */
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { LogSink } from '../runtime/powertools.ts';
import { toHttpError } from './errors.ts';
import { errorResponse, type ProxyResult, type ResponseOptions } from './responses.ts';
import { findRoute } from './routes.ts';

/** The members of the proxy event the edge reads. */
interface EdgeEvent {
  readonly httpMethod?: string;
  readonly resource?: string;
  readonly requestContext?: { readonly requestId?: string } | null;
}

interface LookupEdgeOptions {
  readonly logger: LogSink;
  readonly metrics: Pick<Metrics, 'addMetric' | 'addDimensions'>;
  readonly response?: ResponseOptions;
}

type EdgeInternal = { lookupStartedAt?: number };

/** Metric names of the lookup's latencies; template.yaml's dashboard reads the same names. */
const LookupMetric = {
  /** The whole request, edge to edge (ms). */
  Latency: 'LookupLatency',
  /** The store's answer to one read (ms), added by the function's `onStoreLatency`. */
  StoreLatency: 'StoreLatency',
} as const;

const OUTCOME_BY_STATUS: Readonly<Record<number, string>> = {
  200: 'Ok',
  400: 'BadRequest',
  404: 'NotFound',
  429: 'Throttled',
  500: 'Error',
  503: 'Unavailable',
};

/**
 * The request id every answer carries: API Gateway's (what the caller sees as
 * `x-amzn-RequestId` and in access logs), else Lambda's.
 */
function requestIdOf(
  event: EdgeEvent | null | undefined,
  context: { readonly awsRequestId?: string } | null | undefined
): string {
  return event?.requestContext?.requestId || context?.awsRequestId || '';
}

/**
 * Middy middleware of the lookup edge. Attach it last (closest to the handler), after the
 * Powertools logger and metrics middlewares, so its `onError` runs first and the metrics it adds
 * are flushed by `logMetrics`.
 *
 * The `onError` phase sets the response without returning it, so the Powertools middlewares'
 * own `onError` still run.
 *
 * @example
 * ```typescript
 * import middy from '@middy/core';
 * import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
 * import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
 * import { logger, metrics } from './shared/runtime/powertools.ts';
 * import { lookupEdge } from './shared/lookup/edge.ts';
 *
 * export const handler = middy(lookup)
 *   .use(injectLambdaContext(logger))
 *   .use(logMetrics(metrics))
 *   .use(lookupEdge({ logger, metrics }));
 * ```
 */
function lookupEdge(
  options: LookupEdgeOptions
): MiddlewareObj<EdgeEvent, ProxyResult, Error, Context, EdgeInternal> {
  const { logger, metrics } = options;
  const responseOptions = options.response ?? {};

  function record(event: EdgeEvent, startedAt: number | undefined, statusCode: number): void {
    const route = findRoute(event.httpMethod ?? '', event.resource ?? '')?.operationId ?? 'unknown';
    const outcome = OUTCOME_BY_STATUS[statusCode] ?? `Status${statusCode}`;
    // Two rollups: all routes (what the dashboard graphs) and per route. The outcome is in the
    // metric name, not a third dimension set: EMF sets sharing a key make Powertools warn on
    // every invocation.
    metrics.addDimensions({});
    metrics.addDimensions({ route });
    if (startedAt !== undefined) {
      metrics.addMetric(
        LookupMetric.Latency,
        MetricUnit.Milliseconds,
        performance.now() - startedAt
      );
    }
    metrics.addMetric(`Lookup${outcome}`, MetricUnit.Count, 1);
  }

  return {
    name: 'lookupEdge',
    before: function lookupEdgeBefore(request) {
      request.internal.lookupStartedAt = performance.now();
    },
    after: function lookupEdgeAfter(request) {
      record(request.event, request.internal.lookupStartedAt, request.response?.statusCode ?? 200);
    },
    onError: function lookupEdgeOnError(request) {
      const error = toHttpError(request.error);
      const requestId = requestIdOf(request.event, request.context);
      const detail = {
        statusCode: error.statusCode,
        resource: request.event?.resource,
        requestId,
      };
      if (error.statusCode === 429 || error.statusCode === 503) {
        // Expected under load or outage: one line, no stack, so a storm does not flood the logs.
        const cause = error.cause as { name?: string; message?: string } | undefined;
        logger.warn('Feature store refused the read', {
          ...detail,
          cause: `${cause?.name}: ${cause?.message}`,
        });
      } else if (error.statusCode >= 500) {
        logger.error('Lookup failed', { ...detail, error: error.cause ?? error });
      } else if (error.statusCode === 404) {
        logger.debug(error.message, detail);
      } else {
        logger.info(error.message, detail);
      }
      request.response = errorResponse(error, requestId, responseOptions);
      record(request.event ?? {}, request.internal.lookupStartedAt, error.statusCode);
    },
  };
}

export type { EdgeEvent, LookupEdgeOptions };
export { LookupMetric, lookupEdge, requestIdOf };

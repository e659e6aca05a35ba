/**
 * The lookup API's routes: one table, read by the handler (dispatch on API Gateway's `resource`
 * and `httpMethod`), by the local front (path matching, as API Gateway does it) and by the tests
 * that hold `openapi.yaml` and `template.yaml` to the same three operations.
 */

/** One operation of the API. `resource` is API Gateway's resource path template. */
interface Route {
  /** The OpenAPI `operationId`, also the `route` metric dimension. */
  readonly operationId: string;
  readonly method: 'GET' | 'POST';
  readonly resource: string;
}

const Routes = {
  getRecord: {
    operationId: 'getRecord',
    method: 'GET',
    resource: '/feature-groups/{featureGroup}/records/{recordId}',
  },
  batchGetRecords: {
    operationId: 'batchGetRecords',
    method: 'POST',
    resource: '/feature-groups/batch-get',
  },
  getFeatureVectors: {
    operationId: 'getFeatureVectors',
    method: 'POST',
    resource: '/feature-sets/{featureSet}/vectors',
  },
} as const satisfies Record<string, Route>;

const ROUTE_LIST: readonly Route[] = Object.values(Routes);

/** `METHOD resource` → route: the handler's O(1) dispatch table. */
const ROUTE_BY_KEY: ReadonlyMap<string, Route> = new Map(
  ROUTE_LIST.map((route) => [`${route.method} ${route.resource}`, route])
);

/**
 * The route API Gateway matched, from the proxy event's `httpMethod` and `resource`.
 *
 * @example
 * ```typescript
 * import { findRoute } from './shared/lookup/routes.ts';
 * findRoute('POST', '/feature-groups/batch-get')?.operationId; // 'batchGetRecords'
 * ```
 */
function findRoute(method: string, resource: string): Route | undefined {
  return ROUTE_BY_KEY.get(`${method} ${resource}`);
}

interface ResourceMatch {
  readonly route: Route;
  /** Decoded once, as API Gateway does; null when the route has no parameters (as on AWS). */
  readonly pathParameters: Record<string, string> | null;
}

/** A path segment that is not valid percent-encoding (API Gateway answers such paths itself). */
class MalformedPathError extends Error {
  constructor(segment: string) {
    super(`Path segment "${segment}" is not valid percent-encoding`);
    this.name = 'MalformedPathError';
  }
}

const TEMPLATES = ROUTE_LIST.map((route) => ({
  route,
  segments: route.resource.split('/').slice(1),
}));

/**
 * Match a raw (still percent-encoded) request path against the routes the way API Gateway REST
 * APIs do: the path is split on `/` first, so `%2F` stays inside one segment, then each
 * `{parameter}` segment is percent-decoded exactly once (`+` stays a plus sign). Literal
 * segments compare as sent. Returns undefined when no route has this path and method.
 *
 * @throws MalformedPathError when a parameter segment is not valid percent-encoding
 */
function matchResource(method: string, rawPath: string): ResourceMatch | undefined {
  const segments = rawPath.split('/').slice(1);
  for (const { route, segments: template } of TEMPLATES) {
    if (route.method !== method || template.length !== segments.length) continue;
    let params: Record<string, string> | null = null;
    let matched = true;
    for (let i = 0; i < template.length; i++) {
      const expected = template[i] as string;
      const actual = segments[i] as string;
      if (expected.startsWith('{')) {
        if (actual === '') {
          matched = false;
          break;
        }
        params ??= {};
        params[expected.slice(1, -1)] = decodeSegment(actual);
      } else if (expected !== actual) {
        matched = false;
        break;
      }
    }
    if (matched) return { route, pathParameters: params };
  }
  return undefined;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new MalformedPathError(segment);
  }
}

export type { ResourceMatch, Route };
export { findRoute, MalformedPathError, matchResource, ROUTE_LIST };

/**
 * The proxy results the lookup answers with: JSON bodies, the request id on every answer
 * (`x-request-id`, and `requestId` in error bodies), CORS only when configured.
 */
import { LAMBDA_RESPONSE_MAX_BYTES, oversizedLambdaResponse } from '../runtime/lambdaPayload.ts';
import { BadRequestError, type HttpError } from './errors.ts';
import type { Route } from './routes.ts';

/** The API Gateway REST proxy result (the members the lookup sets). */
interface ProxyResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded?: boolean;
}

/** Options every answer shares, fixed at cold start. */
interface ResponseOptions {
  /** `Access-Control-Allow-Origin` value; undefined sends no CORS header. */
  readonly corsAllowOrigin?: string | undefined;
}

function headersFor(requestId: string, options: ResponseOptions): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'x-request-id': requestId,
  };
  if (options.corsAllowOrigin !== undefined) {
    headers['access-control-allow-origin'] = options.corsAllowOrigin;
    headers.vary = 'Origin';
  }
  return headers;
}

/**
 * A JSON answer.
 *
 * @example
 * ```typescript
 * import { jsonResponse } from './shared/lookup/responses.ts';
 * jsonResponse(200, { ok: true }, 'req-1').headers['x-request-id']; // 'req-1'
 * ```
 */
function jsonResponse(
  statusCode: number,
  body: unknown,
  requestId: string,
  options: ResponseOptions = {}
): ProxyResult {
  return { statusCode, headers: headersFor(requestId, options), body: JSON.stringify(body) };
}

/** What the caller can drop to make an answer smaller, by route. */
function howToShrink(route: Route, body: unknown): string {
  const answer = body as {
    records?: unknown[];
    notFound?: unknown[];
    unprocessed?: unknown[];
    vectors?: unknown[];
  };
  switch (route.operationId) {
    case 'batchGetRecords': {
      const ids =
        (answer.records?.length ?? 0) +
        (answer.notFound?.length ?? 0) +
        (answer.unprocessed?.length ?? 0);
      return `fewer ids (this request: ${ids}) or a feature subset`;
    }
    case 'getFeatureVectors':
      return `fewer entities (this request: ${answer.vectors?.length ?? 0})`;
    default:
      return 'a feature subset';
  }
}

/**
 * The 200 answer of `route`, unless it is more than Lambda can return: on AWS the invocation
 * would fail and API Gateway answer a bare 502, so the caller gets a 400 saying how large the
 * answer is and what to ask for instead.
 *
 * @example
 * ```typescript
 * import { okResponse } from './shared/lookup/responses.ts';
 * import { findRoute } from './shared/lookup/routes.ts';
 * okResponse(findRoute('POST', '/feature-groups/batch-get')!, { records: [] }, 'req-1').statusCode; // 200
 * ```
 * @throws BadRequestError when the answer exceeds Lambda's 6,291,556-byte response payload
 */
function okResponse(
  route: Route,
  body: unknown,
  requestId: string,
  options: ResponseOptions = {}
): ProxyResult {
  const response = jsonResponse(200, body, requestId, options);
  const bytes = oversizedLambdaResponse(response);
  if (bytes !== undefined) {
    throw new BadRequestError(
      `The answer would be ${(bytes / 1_000_000).toFixed(1)} MB (${bytes.toLocaleString('en-US')} bytes as Lambda returns it), over the ${LAMBDA_RESPONSE_MAX_BYTES.toLocaleString('en-US')} bytes a Lambda function can return through API Gateway: ask for ${howToShrink(route, body)}`
    );
  }
  return response;
}

/** The answer for an error: its status, its headers (`Retry-After`) and its JSON body. */
function errorResponse(
  error: HttpError,
  requestId: string,
  options: ResponseOptions = {}
): ProxyResult {
  const response = jsonResponse(error.statusCode, error.toJSON(requestId), requestId, options);
  Object.assign(response.headers, error.headers);
  return response;
}

export type { ProxyResult, ResponseOptions };
export { errorResponse, jsonResponse, okResponse };

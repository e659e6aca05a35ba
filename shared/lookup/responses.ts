/**
 * The proxy results the lookup answers with: JSON bodies, the request id on every answer
 * (`x-request-id`, and `requestId` in error bodies), CORS only when configured.
 */
import type { HttpError } from './errors.ts';

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
export { errorResponse, jsonResponse };

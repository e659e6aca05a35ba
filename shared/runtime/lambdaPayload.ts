/**
 * Lambda's limits on a synchronous invocation's payloads. What it returns: the result as the runtime serialises
 * it (`JSON.stringify`, UTF-8) must be at most 6,291,556 bytes, else the invocation fails with
 * "Response payload size exceeded maximum allowed payload size (6291556 bytes)" and API Gateway
 * answers the caller a bare 502. For a proxy result the body is a JSON string inside that JSON,
 * so its quotes count twice: a 4.8 MB body of JSON can already be too large. What it is invoked
 * with, the event serialised the same way, must be at most 6,291,456 bytes; API Gateway answers a
 * larger request 413 `Request Too Long` without invoking the function.
 */

/** The most bytes a synchronous Lambda invocation returns. */
const LAMBDA_RESPONSE_MAX_BYTES = 6_291_556;
/** The most bytes a synchronous Lambda invocation is invoked with. */
const LAMBDA_REQUEST_MAX_BYTES = 6_291_456;

/** A UTF-16 unit serialises to at most 6 bytes (`\u001f`); room for status and headers besides. */
const MAX_BYTES_PER_UNIT = 6;
const ENVELOPE_BYTES = 16_384;

/**
 * The bytes of `result` as Lambda returns it when that is over {@link LAMBDA_RESPONSE_MAX_BYTES},
 * else undefined. Serialises again only when the body is long enough to possibly be over (about
 * 1 MB), so the inference hot path pays one length comparison.
 *
 * @example
 * ```typescript
 * import { oversizedLambdaResponse } from './shared/runtime/lambdaPayload.ts';
 * oversizedLambdaResponse({ statusCode: 200, body: '{}' }); // undefined
 * ```
 */
function oversizedLambdaResponse(result: { readonly body?: unknown }): number | undefined {
  return oversized(result, LAMBDA_RESPONSE_MAX_BYTES);
}

/**
 * The bytes of a proxy event as Lambda receives it when that is over
 * {@link LAMBDA_REQUEST_MAX_BYTES}, else undefined (same shortcut on the body's length).
 */
function oversizedLambdaRequest(event: { readonly body?: unknown }): number | undefined {
  return oversized(event, LAMBDA_REQUEST_MAX_BYTES);
}

function oversized(payload: { readonly body?: unknown }, limit: number): number | undefined {
  const body = payload.body;
  const units =
    typeof body === 'string' ? body.length : body === null ? 0 : Number.POSITIVE_INFINITY;
  if (units * MAX_BYTES_PER_UNIT + ENVELOPE_BYTES <= limit) return undefined;
  const bytes = Buffer.byteLength(JSON.stringify(payload) ?? '', 'utf8');
  return bytes > limit ? bytes : undefined;
}

export {
  LAMBDA_REQUEST_MAX_BYTES,
  LAMBDA_RESPONSE_MAX_BYTES,
  oversizedLambdaRequest,
  oversizedLambdaResponse,
};

/**
 * Lambda's limit on what a synchronous invocation returns: the result as the runtime serialises
 * it (`JSON.stringify`, UTF-8) must be at most 6,291,556 bytes, else the invocation fails with
 * "Response payload size exceeded maximum allowed payload size (6291556 bytes)" and API Gateway
 * answers the caller a bare 502. For a proxy result the body is a JSON string inside that JSON,
 * so its quotes count twice: a 4.8 MB body of JSON can already be too large.
 */

/** The most bytes a synchronous Lambda invocation returns. */
const LAMBDA_RESPONSE_MAX_BYTES = 6_291_556;

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
  const body = result.body;
  const units = typeof body === 'string' ? body.length : Number.POSITIVE_INFINITY;
  if (units * MAX_BYTES_PER_UNIT + ENVELOPE_BYTES <= LAMBDA_RESPONSE_MAX_BYTES) return undefined;
  const bytes = Buffer.byteLength(JSON.stringify(result) ?? '', 'utf8');
  return bytes > LAMBDA_RESPONSE_MAX_BYTES ? bytes : undefined;
}

export { LAMBDA_RESPONSE_MAX_BYTES, oversizedLambdaResponse };

/**
 * HTTP request → API Gateway REST proxy event (payload format 1.0), the way API Gateway builds it
 * for a Lambda proxy integration:
 *
 * - `path` stays as the client sent it (percent-encoded, stage removed); `pathParameters` are
 *   each decoded once, after the path was split on `/` (so `%2F` stays inside a parameter);
 * - `queryStringParameters` keeps the last value of a repeated key, and
 *   `multiValueQueryStringParameters` all of them, decoded; both are null without a query;
 * - `headers` keeps the client's casing and the last value, `multiValueHeaders` every value;
 * - the body is a UTF-8 string (bytes that are not UTF-8 become U+FFFD) unless its content type is
 *   one of the API's binary media types, in which case it is base64 with `isBase64Encoded: true`.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { ResourceMatch } from '../../shared/lookup/routes.ts';

interface HttpRequestParts {
  readonly method: string;
  /** Path without the stage and without the query, still percent-encoded. */
  readonly path: string;
  /** Raw query string without `?` ('' when none). */
  readonly query: string;
  /** Node's `rawHeaders`: name, value, name, value… in the client's casing. */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  readonly sourceIp: string;
  readonly stage: string;
  readonly port: number;
  readonly binaryMediaTypes: readonly string[];
}

const API_ID = 'local000000';
const ACCOUNT_ID = '000000000000';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `09/Apr/2015:12:34:56 +0000`, API Gateway's `requestTime` format. */
function requestTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(
    date.getUTCHours()
  )}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

function appendValue(map: Record<string, string[]>, key: string, value: string): void {
  const values = map[key];
  if (values === undefined) map[key] = [value];
  else values.push(value);
}

function parseQuery(query: string): {
  single: Record<string, string> | null;
  multi: Record<string, string[]> | null;
} {
  if (query === '') return { single: null, multi: null };
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [key, value] of new URLSearchParams(query)) {
    single[key] = value;
    appendValue(multi, key, value);
  }
  return { single, multi };
}

function parseHeaders(rawHeaders: readonly string[]): {
  single: Record<string, string>;
  multi: Record<string, string[]>;
} {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] as string;
    single[name] = value;
    appendValue(multi, name, value);
  }
  return { single, multi };
}

function headerValue(headers: Record<string, string>, name: string): string | undefined {
  for (const key in headers) if (key.toLowerCase() === name) return headers[key];
  return undefined;
}

function isBinary(contentType: string | undefined, binaryMediaTypes: readonly string[]): boolean {
  if (contentType === undefined || binaryMediaTypes.length === 0) return false;
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return binaryMediaTypes.some((pattern) => {
    const p = pattern.toLowerCase();
    if (p === '*/*') return true;
    if (p.endsWith('/*')) return type.startsWith(p.slice(0, -1));
    return p === type;
  });
}

/**
 * Build the proxy event API Gateway would pass to the Lambda for this request and route.
 *
 * @example
 * ```typescript
 * import { matchResource } from './shared/lookup/routes.ts';
 * import { buildProxyEvent } from './local/api/proxyEvent.ts';
 * const match = matchResource('GET', '/feature-groups/fraud-cards/records/a%2Fb');
 * if (match) buildProxyEvent({ method: 'GET', path: '/feature-groups/fraud-cards/records/a%2Fb', query: '', rawHeaders: [], body: Buffer.alloc(0), sourceIp: '127.0.0.1', stage: 'v1', port: 3000, binaryMediaTypes: [] }, match).pathParameters; // { featureGroup: 'fraud-cards', recordId: 'a/b' }
 * ```
 */
function buildProxyEvent(parts: HttpRequestParts, match: ResourceMatch): APIGatewayProxyEvent {
  const now = new Date();
  const requestId = randomUUID();
  const headers = parseHeaders(parts.rawHeaders);
  // API Gateway adds the forwarding headers the client did not send.
  for (const [name, value] of [
    ['X-Forwarded-For', parts.sourceIp],
    ['X-Forwarded-Port', String(parts.port)],
    ['X-Forwarded-Proto', 'http'],
  ] as const) {
    if (headerValue(headers.single, name.toLowerCase()) === undefined) {
      headers.single[name] = value;
      headers.multi[name] = [value];
    }
  }
  const query = parseQuery(parts.query);
  const hasBody = parts.body.length > 0;
  const binary =
    hasBody && isBinary(headerValue(headers.single, 'content-type'), parts.binaryMediaTypes);
  const host = headerValue(headers.single, 'host') ?? `127.0.0.1:${parts.port}`;
  return {
    resource: match.route.resource,
    path: parts.path,
    httpMethod: parts.method,
    headers: headers.single,
    multiValueHeaders: headers.multi,
    queryStringParameters: query.single,
    multiValueQueryStringParameters: query.multi,
    pathParameters: match.pathParameters,
    stageVariables: null,
    requestContext: {
      accountId: ACCOUNT_ID,
      apiId: API_ID,
      authorizer: undefined,
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
      extendedRequestId: requestId.replaceAll('-', '').slice(0, 16),
      httpMethod: parts.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: parts.sourceIp,
        user: null,
        userAgent: headerValue(headers.single, 'user-agent') ?? null,
        userArn: null,
      },
      path: `/${parts.stage}${parts.path}`,
      protocol: 'HTTP/1.1',
      requestId,
      requestTime: requestTime(now),
      requestTimeEpoch: now.getTime(),
      resourceId: 'local',
      resourcePath: match.route.resource,
      stage: parts.stage,
    },
    // A text payload is decoded as UTF-8 with each invalid byte sequence as U+FFFD, not refused:
    // what API Gateway does for a body outside binaryMediaTypes (binary uploads arrive "corrupted"
    // with U+FFFD, the well-known symptom of a REST API without them). Not verified against AWS
    // here, nor whether it replaces sequence by sequence exactly as Node does. The template sets
    // no BinaryMediaTypes, so the lookup handler's 400 for a body that is not UTF-8 (base64 only)
    // never fires behind it: a Windows-1252 é in an id is a miss for "caf\ufffd", here as there.
    body: hasBody ? parts.body.toString(binary ? 'base64' : 'utf8') : null,
    isBase64Encoded: binary,
  };
}

export type { HttpRequestParts };
export { buildProxyEvent };

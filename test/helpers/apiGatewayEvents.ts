/**
 * Factories for real-shape API Gateway REST proxy events (payload 1.0) and a Lambda context, as
 * AWS delivers them to LookupFunction: `path` percent-encoded as sent, `pathParameters` decoded,
 * `queryStringParameters` with the last value and `multiValueQueryStringParameters` with all,
 * null members where AWS sends null, a full `requestContext` with an IAM caller.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { createLambdaContext } from '../../shared/runtime/lambdaContext.ts';

type Query = Readonly<Record<string, string | readonly string[]>>;

interface EventOptions {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly resource: string;
  /** Path as the client sent it (percent-encoded), without the stage. */
  readonly path: string;
  readonly pathParameters?: Record<string, string> | null;
  readonly query?: Query;
  /** A string is sent as is; anything else as JSON. */
  readonly body?: unknown;
  /** Send the body base64-encoded with `isBase64Encoded: true` (binary media types). */
  readonly base64?: boolean;
  readonly headers?: Record<string, string>;
}

function queryMembers(query: Query | undefined): {
  single: Record<string, string> | null;
  multi: Record<string, string[]> | null;
} {
  if (query === undefined || Object.keys(query).length === 0) return { single: null, multi: null };
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(query)) {
    const values = typeof value === 'string' ? [value] : [...value];
    multi[key] = values;
    single[key] = values.at(-1) ?? '';
  }
  return { single, multi };
}

/** A proxy event for any method and resource. */
function apiGatewayEvent(options: EventOptions): APIGatewayProxyEvent {
  const requestId = randomUUID();
  const now = Date.now();
  const headers: Record<string, string> = {
    Accept: 'application/json',
    Host: 'abcdef1234.execute-api.us-east-1.amazonaws.com',
    'User-Agent': 'aws-sdk-js/3 fraud-endpoint',
    // calendar-fixed: a signature header API Gateway checked; the function never reads it.
    'X-Amz-Date': '20260101T000000Z',
    Authorization:
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123',
    'X-Amzn-Trace-Id': 'Root=1-67891233-abcdef012345678912345678',
    'X-Forwarded-For': '198.51.100.7',
    'X-Forwarded-Port': '443',
    'X-Forwarded-Proto': 'https',
    ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
    ...options.headers,
  };
  const query = queryMembers(options.query);
  let body: string | null = null;
  if (options.body !== undefined) {
    const text = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    body = options.base64 ? Buffer.from(text, 'utf8').toString('base64') : text;
  }
  return {
    resource: options.resource,
    path: options.path,
    httpMethod: options.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: query.single,
    multiValueQueryStringParameters: query.multi,
    pathParameters: options.pathParameters ?? null,
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abcdef1234',
      authorizer: undefined,
      domainName: 'abcdef1234.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abcdef1234',
      extendedRequestId: 'a1b2c3d4e5f6g7h8',
      httpMethod: options.method,
      identity: {
        accessKey: 'AKIDEXAMPLE',
        accountId: '123456789012',
        apiKey: null,
        apiKeyId: null,
        caller: 'AIDAEXAMPLE:fraud-endpoint',
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '198.51.100.7',
        user: 'AIDAEXAMPLE:fraud-endpoint',
        userAgent: 'aws-sdk-js/3 fraud-endpoint',
        userArn: 'arn:aws:sts::123456789012:assumed-role/fraud-endpoint/fraud-endpoint',
      },
      path: `/v1${options.path}`,
      protocol: 'HTTP/1.1',
      requestId,
      requestTime: '01/Jan/2026:00:00:00 +0000',
      requestTimeEpoch: now,
      resourceId: 'a1b2c3',
      resourcePath: options.resource,
      stage: 'v1',
    },
    body,
    isBase64Encoded: options.base64 === true,
  };
}

/** `GET /feature-groups/{featureGroup}/records/{recordId}`; ids are encoded in `path` only. */
function getRecordEvent(
  featureGroup: string,
  recordId: string,
  query?: Query
): APIGatewayProxyEvent {
  return apiGatewayEvent({
    method: 'GET',
    resource: '/feature-groups/{featureGroup}/records/{recordId}',
    path: `/feature-groups/${encodeURIComponent(featureGroup)}/records/${encodeURIComponent(recordId)}`,
    pathParameters: { featureGroup, recordId },
    query,
  });
}

/** `POST /feature-groups/batch-get`. */
function batchGetEvent(body: unknown, options: { base64?: boolean } = {}): APIGatewayProxyEvent {
  return apiGatewayEvent({
    method: 'POST',
    resource: '/feature-groups/batch-get',
    path: '/feature-groups/batch-get',
    body,
    base64: options.base64,
  });
}

/** `POST /feature-sets/{featureSet}/vectors`. */
function vectorsEvent(
  featureSet: string,
  body: unknown,
  options: { base64?: boolean } = {}
): APIGatewayProxyEvent {
  return apiGatewayEvent({
    method: 'POST',
    resource: '/feature-sets/{featureSet}/vectors',
    path: `/feature-sets/${encodeURIComponent(featureSet)}/vectors`,
    pathParameters: { featureSet },
    body,
    base64: options.base64,
  });
}

/** A Lambda context for LookupFunction, with its deadline (10 s in template.yaml) or `timeoutMs`. */
function lambdaContext(timeoutMs = 10_000): Context {
  return createLambdaContext('skewless-LookupFunction-abc', timeoutMs);
}

export type { EventOptions, Query };
export { apiGatewayEvent, batchGetEvent, getRecordEvent, lambdaContext, vectorsEvent };

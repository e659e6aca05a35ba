/**
 * The local front of the lookup API: what `sam local start-api` does for LookupApi, in-process.
 * An HTTP server on 127.0.0.1 turns each request into a real-shape API Gateway REST proxy event
 * (see `proxyEvent.ts`), invokes the lookup handler with a Lambda-like context and writes the
 * proxy result back. Like API Gateway it answers by itself: the CORS preflight (OPTIONS) as the
 * template's mock does, 403 "Missing Authentication Token" for a path or method with no route,
 * 413 past the 10 MB payload limit or for an event over Lambda's 6 MB request payload, 502 when
 * the handler throws, answers something that is not a proxy result, or one over Lambda's 6 MB
 * response payload.
 *
 * Invocations run one at a time, as in one Lambda execution environment: the handler's logger
 * and metrics are module singletons that hold per-invocation state (context keys, the EMF
 * buffer), so two interleaved invocations would log each other's request ids and mix metrics.
 * Requests that arrive meanwhile wait their turn; HTTP parsing and event building still overlap.
 *
 * SigV4 is not verified locally (the embedded stack has no IAM). Paths may carry the stage
 * (`/v1/feature-groups/...`, as on AWS) or not (as `sam local start-api` serves them).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { MalformedPathError, matchResource } from '../../shared/lookup/routes.ts';
import { getIntegerFromEnv, getOptionalStringFromEnv } from '../../shared/runtime/env.ts';
import { createLambdaContext } from '../../shared/runtime/lambdaContext.ts';
import {
  oversizedLambdaRequest,
  oversizedLambdaResponse,
} from '../../shared/runtime/lambdaPayload.ts';
import { reportCliError } from '../cli/userErrors.ts';
import { closeServer } from '../runtime/closeServer.ts';
import { buildProxyEvent } from './proxyEvent.ts';

/** A proxy-integration handler, as Lambda would call it. */
type ProxyHandler = (
  event: APIGatewayProxyEvent,
  context: Context
) => Promise<APIGatewayProxyResult | undefined | unknown>;

/** The port of the front run alone when `PORT` is unset: `npm start`'s. */
const DEFAULT_FRONT_PORT = 3000;

/**
 * The port `node local/api/front.ts` listens on: `PORT`, 0 (a free one, printed) to 65535.
 *
 * @throws ConfigurationError naming the variable, the value and the range, for anything else
 * (`PORT=abc` would otherwise reach listen() as NaN)
 */
function lookupFrontPortFromEnv(): number {
  // PORT is this front's own, not a function's: the hint points at where it is documented.
  return getIntegerFromEnv(
    'PORT',
    DEFAULT_FRONT_PORT,
    0,
    65_535,
    'docs/lookup.md, "Calling it locally", lists it'
  );
}

/** Requests in flight at close get this long to finish before their connections are closed. */
const CLOSE_GRACE_MS = 5_000;

interface LookupFrontOptions {
  /** TCP port on `host`; 0 picks a free one (`npm start` uses 3000). */
  readonly port: number;
  /** Interface to bind (default 127.0.0.1). */
  readonly host?: string;
  /** The handler to invoke; default: `functions/lookup/index.ts`, imported on first start. */
  readonly handler?: ProxyHandler;
  /** The API's stage name, in `requestContext` and as an optional path prefix (default `v1`). */
  readonly stage?: string;
  /** Content types API Gateway would pass base64-encoded (the template sets none). */
  readonly binaryMediaTypes?: readonly string[];
  /** The function's timeout for `getRemainingTimeInMillis()` (default 10 s, as in template.yaml). */
  readonly timeoutMs?: number;
  /**
   * The preflight's `Access-Control-Allow-Origin` (template parameter `ApiCorsAllowOrigin`);
   * default `LOOKUP_CORS_ALLOW_ORIGIN`, the variable the function's own answers use. None: CORS off.
   */
  readonly corsAllowOrigin?: string;
}

interface LookupFront {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * What the OPTIONS mock SAM generates for `LookupApi.Cors` answers (template.yaml; a test holds
 * these to it): 200, these headers, the mock's `{}` body. The function is not invoked.
 */
const PREFLIGHT_HEADERS = {
  'access-control-allow-methods': 'GET,POST,OPTIONS',
  'access-control-allow-headers': 'Content-Type,Authorization,X-Amz-Date,X-Amz-Security-Token',
  'access-control-max-age': '600',
} as const;
const PREFLIGHT_BODY = '{}\n';

/** API Gateway's payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

function gatewayError(
  res: ServerResponse,
  statusCode: number,
  errorType: string,
  message: string,
  requestId: string
): void {
  const body = JSON.stringify({ message });
  res.writeHead(statusCode, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-amzn-errortype': errorType,
    'x-amzn-requestid': requestId,
    'x-request-id': requestId,
  });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

/** What API Gateway takes as a proxy result; anything else is "Malformed Lambda proxy response". */
function isProxyResult(value: unknown): value is APIGatewayProxyResult {
  if (typeof value !== 'object' || value === null) return false;
  const { statusCode, body } = value as { statusCode?: unknown; body?: unknown };
  return (
    typeof statusCode === 'number' &&
    (body === undefined || body === null || typeof body === 'string')
  );
}

function writeResult(res: ServerResponse, result: APIGatewayProxyResult, requestId: string): void {
  const body =
    result.body === undefined || result.body === null
      ? Buffer.alloc(0)
      : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    headers[name] = values.map(String);
  }
  headers['x-amzn-RequestId'] = requestId;
  headers['content-length'] = String(body.length);
  res.writeHead(result.statusCode, headers);
  res.end(body);
}

/**
 * Start the local front of the lookup API.
 *
 * @example
 * ```typescript
 * import { startLookupFront } from './local/api/front.ts';
 * const front = await startLookupFront({ port: 3000 });
 * // curl -s http://127.0.0.1:3000/feature-groups/fraud-cards/records/card-0001
 * await front.close();
 * ```
 */
async function startLookupFront(options: LookupFrontOptions): Promise<LookupFront> {
  const handler =
    options.handler ??
    ((await import('../../functions/lookup/index.ts')).handler as unknown as ProxyHandler);
  const stage = options.stage ?? 'v1';
  const stagePrefix = `/${stage}/`;
  const binaryMediaTypes = options.binaryMediaTypes ?? [];
  const timeoutMs = options.timeoutMs ?? 10_000;
  const host = options.host ?? '127.0.0.1';
  const corsAllowOrigin =
    options.corsAllowOrigin ?? getOptionalStringFromEnv('LOOKUP_CORS_ALLOW_ORIGIN');
  let previous: Promise<unknown> = Promise.resolve();
  /** Runs after every earlier invocation settled (one execution environment). */
  const invoke = (event: APIGatewayProxyEvent, context: Context): Promise<unknown> => {
    const run = previous.then(() => handler(event, context));
    previous = run.catch(() => undefined);
    return run;
  };

  function preflight(res: ServerResponse): void {
    const requestId = randomUUID();
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(PREFLIGHT_BODY),
      ...PREFLIGHT_HEADERS,
      ...(corsAllowOrigin === undefined ? {} : { 'access-control-allow-origin': corsAllowOrigin }),
      'x-amzn-requestid': requestId,
    });
    res.end(PREFLIGHT_BODY);
  }

  async function serve(req: IncomingMessage, res: ServerResponse, port: number): Promise<void> {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    let path = q < 0 ? target : target.slice(0, q);
    const query = q < 0 ? '' : target.slice(q + 1);
    if (path.startsWith(stagePrefix)) path = path.slice(stagePrefix.length - 1);
    const method = req.method ?? 'GET';
    let match: ReturnType<typeof matchResource>;
    try {
      if (method === 'OPTIONS') {
        // Browsers never sign a preflight: the mock answers it for every resource of the API.
        if ((matchResource('GET', path) ?? matchResource('POST', path)) !== undefined) {
          req.resume();
          preflight(res);
          return;
        }
      }
      match = matchResource(method, path);
    } catch (error) {
      if (!(error instanceof MalformedPathError)) throw error;
      gatewayError(res, 400, 'BadRequestException', error.message, randomUUID());
      return;
    }
    if (match === undefined) {
      req.resume();
      gatewayError(
        res,
        403,
        'MissingAuthenticationTokenException',
        'Missing Authentication Token',
        randomUUID()
      );
      return;
    }
    const body = await readBody(req);
    if (body === undefined) {
      gatewayError(res, 413, 'RequestTooLongException', 'Request Too Long', randomUUID());
      return;
    }
    const event = buildProxyEvent(
      {
        method,
        path,
        query,
        rawHeaders: req.rawHeaders,
        body,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        stage,
        port,
        binaryMediaTypes,
      },
      match
    );
    const requestId = event.requestContext.requestId;
    // Lambda refuses an event over 6 MB serialised; API Gateway answers it as too long.
    if (oversizedLambdaRequest(event) !== undefined) {
      gatewayError(res, 413, 'BadRequestException', 'Request Too Long', requestId);
      return;
    }
    let result: unknown;
    try {
      result = await invoke(event, createLambdaContext('LookupFunction', timeoutMs));
    } catch {
      // API Gateway's answer to a function error; the handler logged the cause itself.
      gatewayError(res, 502, 'InternalServerErrorException', 'Internal server error', requestId);
      return;
    }
    // A result Lambda could not return (over 6 MB serialised) fails the invocation on AWS.
    if (!isProxyResult(result) || oversizedLambdaResponse(result) !== undefined) {
      gatewayError(res, 502, 'InternalServerErrorException', 'Internal server error', requestId);
      return;
    }
    writeResult(res, result, requestId);
  }

  let listeningPort = 0;
  const server = createServer((req, res) => {
    serve(req, res, listeningPort).catch(() => {
      if (!res.headersSent) {
        gatewayError(res, 500, 'InternalServerErrorException', 'Internal server error', '');
      } else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  listeningPort = port;
  return {
    url: `http://${host}:${port}`,
    port,
    // A client whose request never finishes (its body stops arriving) would otherwise hold the
    // close, and with it npm start's Ctrl-C, until Node's request timeout (300 s).
    close: () => closeServer(server, CLOSE_GRACE_MS),
  };
}

if (import.meta.main) {
  // Run alone against a local store (docs/lookup.md), as the CLI does: the store ignores
  // signatures, but the SDK still wants a region and credentials, which a newcomer has none of.
  process.env.AWS_REGION ??= process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  if (process.env.AWS_ACCESS_KEY_ID === undefined && process.env.AWS_PROFILE === undefined) {
    process.env.AWS_ACCESS_KEY_ID = 'local';
    process.env.AWS_SECRET_ACCESS_KEY = 'local';
  }
  try {
    const front = await startLookupFront({ port: lookupFrontPortFromEnv() });
    console.log(`lookup API on ${front.url}`);
    process.once('SIGINT', () => void front.close());
    process.once('SIGTERM', () => void front.close());
  } catch (error) {
    // As the CLI: a bad PORT or a port in use is one line and a hint, a stack only with --debug.
    process.exitCode = reportCliError(error, process.argv.slice(2));
  }
}

export type { LookupFront, LookupFrontOptions, ProxyHandler };
export { lookupFrontPortFromEnv, startLookupFront };

/**
 * HTTP front end: one endpoint serves the runtime API (restJson1, routed on the raw path so an
 * ARN's encoded `/` never splits a segment) and the control plane (awsJson1_1, `POST /` with
 * `X-Amz-Target: SageMaker.*`). Every answer carries `x-amzn-RequestId`; errors use the envelope
 * every AWS client understands: `x-amzn-ErrorType: <code>` plus `{"__type","message"}`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { notUtf8 } from '../../shared/record/unicode.ts';
import type { StoreContext } from './context.ts';
import { CONTROL_PLANE_OPERATIONS } from './controlPlane.ts';
import { ErrorCode, ServiceError } from './errors.ts';
import type { FaultInjector } from './faults.ts';
import type { StoreLogger } from './logger.ts';
import {
  batchGetRecord,
  batchWriteRecord,
  deleteRecord,
  getRecord,
  listRecords,
  putRecord,
  type Query,
  updateRecord,
} from './runtime.ts';

/** Largest request body accepted (BatchWriteRecord: 25 records of 350 KB, JSON-escaped). */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
const JSON_TYPE = 'application/json';
const AMZ_JSON_TYPE = 'application/x-amz-json-1.1';

type RuntimeOp =
  | 'PutRecord'
  | 'GetRecord'
  | 'DeleteRecord'
  | 'BatchGetRecord'
  | 'BatchWriteRecord'
  | 'UpdateRecord'
  | 'ListRecords';

interface Route {
  readonly op: RuntimeOp | 'ControlPlane';
  /** Raw (still percent-encoded) group segment, for operations with a path label. */
  readonly group?: string;
}

const FEATURE_GROUP_PREFIX = '/FeatureGroup/';

function route(method: string | undefined, path: string): Route | undefined {
  if (path.startsWith(FEATURE_GROUP_PREFIX)) {
    const rest = path.slice(FEATURE_GROUP_PREFIX.length);
    const slash = rest.indexOf('/');
    if (slash === -1) {
      if (rest === '') return undefined;
      if (method === 'PUT') return { op: 'PutRecord', group: rest };
      if (method === 'GET') return { op: 'GetRecord', group: rest };
      if (method === 'DELETE') return { op: 'DeleteRecord', group: rest };
      return undefined;
    }
    const group = rest.slice(0, slash);
    const tail = rest.slice(slash);
    if (method === 'POST' && tail === '/ListRecords') return { op: 'ListRecords', group };
    if (method === 'POST' && tail === '/Record') return { op: 'UpdateRecord', group };
    return undefined;
  }
  if (method === 'POST') {
    if (path === '/BatchGetRecord') return { op: 'BatchGetRecord' };
    if (path === '/BatchWriteRecord') return { op: 'BatchWriteRecord' };
    if (path === '/') return { op: 'ControlPlane' };
  }
  return undefined;
}

/** A `%` not followed by two hex digits. */
const BROKEN_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // Escapes that are fine but bytes that are not UTF-8: e.g. ED A0 80, the form a lone
    // surrogate (U+D800) would take, which UTF-8 does not allow.
    throw new ServiceError(
      ErrorCode.ValidationError,
      BROKEN_ESCAPE.test(text)
        ? `${what} is not valid percent-encoding`
        : `${what} is not valid Unicode once percent-decoded: the bytes are not UTF-8 (a lone surrogate cannot be encoded in UTF-8)`
    );
  }
}

/** RFC 3986 query parsing: `+` is a literal plus (clients send spaces as %20). */
function parseQuery(raw: string): Query {
  const query: Query = {};
  if (raw === '') return query;
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decode(eq === -1 ? pair : pair.slice(0, eq), 'A query parameter name');
    const value = eq === -1 ? '' : decode(pair.slice(eq + 1), `Query parameter ${key}`);
    const list = query[key];
    if (list === undefined) query[key] = [value];
    else list.push(value);
  }
  return query;
}

function parseBody(body: Buffer | undefined, code: ErrorCode): unknown {
  if (body === undefined || body.length === 0) return undefined;
  // Read leniently, a Windows-1252 é would be stored as U+FFFD: another id, another value.
  const invalid = notUtf8(body);
  if (invalid !== undefined) {
    throw new ServiceError(
      code,
      `The request body is not valid UTF-8 (${invalid}): JSON text is UTF-8 (RFC 8259)`
    );
  }
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new ServiceError(code, 'The request body is not valid JSON');
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function createHandler(ctx: StoreContext, faults: FaultInjector, logger: StoreLogger): Handler {
  const debug = logger.enabled('debug');

  function send(
    req: IncomingMessage,
    res: ServerResponse,
    started: number,
    op: string,
    status: number,
    body: string,
    contentType: string,
    errorCode?: string
  ): void {
    const requestId = randomUUID();
    const headers: Record<string, string | number> = {
      'Content-Type': contentType,
      'Content-Length': Buffer.byteLength(body),
      'x-amzn-RequestId': requestId,
    };
    if (errorCode !== undefined) headers['x-amzn-ErrorType'] = errorCode;
    res.writeHead(status, headers);
    res.end(body);
    if (debug) {
      logger.debug(
        `${req.method} ${req.url} -> ${status}${errorCode === undefined ? '' : ` ${errorCode}`} ${op} ${(performance.now() - started).toFixed(2)}ms ${requestId}`
      );
    }
  }

  function sendError(
    req: IncomingMessage,
    res: ServerResponse,
    started: number,
    op: string,
    error: unknown,
    contentType: string
  ): void {
    let failure: ServiceError;
    if (error instanceof ServiceError) failure = error;
    else {
      logger.error(
        `${op} failed unexpectedly: ${error instanceof Error ? error.stack : String(error)}`
      );
      failure = new ServiceError(ErrorCode.InternalFailure, 'An internal error occurred.');
    }
    const body = JSON.stringify({ __type: failure.code, message: failure.message });
    send(req, res, started, op, failure.status, body, contentType, failure.code);
  }

  function runControlPlane(
    req: IncomingMessage,
    res: ServerResponse,
    started: number,
    body: Buffer | undefined
  ): void {
    const target = req.headers['x-amz-target'];
    const name =
      typeof target === 'string' && target.startsWith('SageMaker.') ? target.slice(10) : undefined;
    const op = name === undefined ? undefined : CONTROL_PLANE_OPERATIONS[name];
    const label = name ?? 'ControlPlane';
    try {
      if (op === undefined) {
        throw new ServiceError(
          ErrorCode.UnknownOperationException,
          `Unknown or unsupported operation ${JSON.stringify(target ?? null)}; this store implements SageMaker.${Object.keys(CONTROL_PLANE_OPERATIONS).join(', SageMaker.')}`,
          400
        );
      }
      const input = parseBody(body, ErrorCode.ValidationException) ?? {};
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        throw new ServiceError(
          ErrorCode.ValidationException,
          'The request body must be a JSON object'
        );
      }
      const output = op(ctx, input as Record<string, unknown>);
      send(req, res, started, label, 200, JSON.stringify(output), AMZ_JSON_TYPE);
    } catch (error) {
      sendError(req, res, started, label, error, AMZ_JSON_TYPE);
    }
  }

  function runRuntime(
    req: IncomingMessage,
    res: ServerResponse,
    started: number,
    r: Route,
    rawQuery: string,
    body: Buffer | undefined
  ): void {
    const op = r.op;
    try {
      const group =
        r.group === undefined ? '' : decode(r.group, 'The FeatureGroupName path segment');
      let output: string;
      switch (op) {
        case 'GetRecord':
          output = getRecord(ctx, group, parseQuery(rawQuery));
          break;
        case 'BatchGetRecord':
          output = batchGetRecord(ctx, parseBody(body, ErrorCode.ValidationError), () =>
            faults.decideIdentifier()
          );
          break;
        case 'ListRecords':
          output = listRecords(ctx, group, parseBody(body, ErrorCode.ValidationError));
          break;
        default: {
          const apiMicros = ctx.apiMicros();
          output = ctx.db.write(() => {
            switch (op) {
              case 'PutRecord':
                return putRecord(ctx, group, parseBody(body, ErrorCode.ValidationError), apiMicros);
              case 'DeleteRecord':
                return deleteRecord(ctx, group, parseQuery(rawQuery), apiMicros);
              case 'UpdateRecord':
                return updateRecord(
                  ctx,
                  group,
                  parseBody(body, ErrorCode.ValidationError),
                  apiMicros
                );
              default:
                return batchWriteRecord(
                  ctx,
                  parseBody(body, ErrorCode.ValidationError),
                  () => ctx.apiMicros(),
                  () => faults.decideEntry()
                );
            }
          });
          // Answer only once the change (online row + offline journal) is committed.
          ctx.db.afterCommit((error) => {
            if (error === undefined) send(req, res, started, op, 200, output, JSON_TYPE);
            else sendError(req, res, started, op, error, JSON_TYPE);
          });
          return;
        }
      }
      send(req, res, started, op, 200, output, JSON_TYPE);
    } catch (error) {
      sendError(req, res, started, op, error, JSON_TYPE);
    }
  }

  function dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    started: number,
    body: Buffer | undefined
  ): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const rawQuery = q === -1 ? '' : url.slice(q + 1);
    const r = route(req.method, path);
    if (r === undefined) {
      sendError(
        req,
        res,
        started,
        'Unknown',
        new ServiceError(
          ErrorCode.UnknownOperationException,
          `No operation for ${req.method} ${path}`
        ),
        JSON_TYPE
      );
      return;
    }
    if (r.op === 'ControlPlane') {
      runControlPlane(req, res, started, body);
      return;
    }
    const decision = faults.decide();
    if (decision.kind === 'none' && decision.delayMs === 0) {
      runRuntime(req, res, started, r, rawQuery, body);
      return;
    }
    const act = (): void => {
      if (decision.kind === 'drop') {
        if (debug) logger.debug(`${req.method} ${req.url} -> connection dropped (fault) ${r.op}`);
        req.socket.destroy();
      } else if (decision.kind === 'error') {
        const message =
          decision.code === 'ThrottlingException'
            ? 'Rate exceeded (injected fault)'
            : 'Injected fault';
        sendError(req, res, started, r.op, new ServiceError(decision.code, message), JSON_TYPE);
      } else {
        runRuntime(req, res, started, r, rawQuery, body);
      }
    };
    if (decision.delayMs > 0) setTimeout(act, decision.delayMs);
    else act();
  }

  return (req, res) => {
    const started = debug ? performance.now() : 0;
    let body: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        tooLarge = true;
        return;
      }
      if (body === undefined) body = chunk;
      else {
        chunks ??= [body];
        chunks.push(chunk);
      }
    });
    req.on('end', () => {
      if (tooLarge) {
        sendError(
          req,
          res,
          started,
          'Unknown',
          new ServiceError(
            ErrorCode.ValidationError,
            `The request body exceeds ${MAX_BODY_BYTES} bytes`
          ),
          JSON_TYPE
        );
        return;
      }
      dispatch(req, res, started, chunks === undefined ? body : Buffer.concat(chunks));
    });
  };
}

export { createHandler };

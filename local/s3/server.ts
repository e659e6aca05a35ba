/**
 * The S3 REST routes of the local server (path-style, and `<bucket>.localhost` virtual hosts):
 * buckets (Create/Head/Delete/List, versioning), objects (Put incl. aws-chunked streaming
 * uploads and If-None-Match/If-Match, Get with Range incl. suffix ranges and If-Match/
 * If-None-Match, Head, Delete, DeleteObjects), ListObjectsV2 (and V1) with prefix, delimiter,
 * continuation and `encoding-type=url`, and multipart uploads (what `aws s3 cp` uses above 8 MB).
 * Signatures are not checked. Anything else answers 501 NotImplemented.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AwsChunkedDecoder, isAwsChunked, storedContentEncoding } from './awsChunked.ts';
import { invalidArgument, S3Error } from './errors.ts';
import {
  compareKeys,
  etagMatches,
  type LocalS3Storage,
  type ObjectAttributes,
  type StoredVersion,
  type WriteConditions,
} from './storage.ts';
import { type XmlNode, xmlDocument, xmlElements, xmlEscape, xmlText } from './xml.ts';

/** What the server tells its owner after an object is created. */
interface ObjectCreatedNotice {
  readonly bucket: string;
  readonly key: string;
  readonly version: StoredVersion;
  readonly versioned: boolean;
  readonly eventName: 'ObjectCreated:Put' | 'ObjectCreated:CompleteMultipartUpload';
}

interface RouteContext {
  readonly storage: LocalS3Storage;
  readonly region: string;
  readonly onCreated: (notice: ObjectCreatedNotice) => void;
}

interface Target {
  readonly bucket: string | undefined;
  readonly key: string | undefined;
  readonly query: URLSearchParams;
}

const MAX_LIST_KEYS = 1000;
const MAX_SMALL_BODY_BYTES = 1024 * 1024;

function parseTarget(req: IncomingMessage): Target {
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const rawPath = q < 0 ? raw : raw.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const host = (req.headers.host ?? '').replace(/:\d+$/, '');
  if (host.endsWith('.localhost')) {
    const bucket = host.slice(0, -'.localhost'.length);
    const key = decodeURIComponent(rawPath.slice(1));
    return { bucket, key: key === '' ? undefined : key, query };
  }
  const slash = rawPath.indexOf('/', 1);
  if (rawPath === '/' || rawPath === '') return { bucket: undefined, key: undefined, query };
  if (slash < 0) return { bucket: decodeURIComponent(rawPath.slice(1)), key: undefined, query };
  const bucket = decodeURIComponent(rawPath.slice(1, slash));
  const key = decodeURIComponent(rawPath.slice(slash + 1));
  return { bucket, key: key === '' ? undefined : key, query };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function baseHeaders(res: ServerResponse, region: string): void {
  res.setHeader('x-amz-request-id', randomBytes(8).toString('hex').toUpperCase());
  res.setHeader('x-amz-id-2', randomBytes(24).toString('base64'));
  res.setHeader('x-amz-bucket-region', region);
  res.setHeader('Server', 'SkewlessLocalS3');
}

function sendXml(res: ServerResponse, status: number, xml: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/xml');
  res.setHeader('Content-Length', Buffer.byteLength(xml));
  res.end(xml);
}

function sendEmpty(res: ServerResponse, status: number): void {
  res.statusCode = status;
  res.setHeader('Content-Length', 0);
  res.end();
}

function sendError(req: IncomingMessage, res: ServerResponse, error: S3Error): void {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  res.statusCode = error.status;
  if (req.method === 'HEAD' || error.status === 304) {
    res.setHeader('Content-Length', 0);
    res.end();
    return;
  }
  const parts = [
    `<Code>${xmlEscape(error.code)}</Code>`,
    `<Message>${xmlEscape(error.message)}</Message>`,
    error.key === undefined ? '' : `<Key>${xmlEscape(error.key)}</Key>`,
    error.bucket === undefined ? '' : `<BucketName>${xmlEscape(error.bucket)}</BucketName>`,
    `<RequestId>${res.getHeader('x-amz-request-id') ?? ''}</RequestId>`,
  ];
  sendXml(
    res,
    error.status,
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${parts.join('')}</Error>`
  );
}

async function readSmallBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of decodedBody(req)) {
    size += (chunk as Buffer).length;
    if (size > MAX_SMALL_BODY_BYTES) throw invalidArgument('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The request body without aws-chunked framing. */
function decodedBody(req: IncomingMessage): Readable {
  if (!isAwsChunked(req.headers)) return req;
  const decoder = new AwsChunkedDecoder();
  req.on('error', (error) => decoder.destroy(error));
  req.pipe(decoder);
  return decoder;
}

function httpDate(iso: string): string {
  return new Date(iso).toUTCString();
}

function objectAttributes(req: IncomingMessage): ObjectAttributes {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) {
      metadata[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(',') : value;
    }
  }
  return {
    contentType: header(req, 'content-type'),
    contentEncoding: storedContentEncoding(header(req, 'content-encoding')),
    metadata,
  };
}

function writeConditions(req: IncomingMessage): WriteConditions {
  return { ifNoneMatch: header(req, 'if-none-match'), ifMatch: header(req, 'if-match') };
}

async function receiveBody(ctx: RouteContext, req: IncomingMessage) {
  const staged = await ctx.storage.stage(decodedBody(req));
  const contentMd5 = header(req, 'content-md5');
  if (
    contentMd5 !== undefined &&
    Buffer.from(staged.md5, 'hex').toString('base64') !== contentMd5
  ) {
    ctx.storage.discard(staged);
    throw new S3Error(
      'BadDigest',
      400,
      'The Content-MD5 you specified did not match what we received.'
    );
  }
  const decodedLength = header(req, 'x-amz-decoded-content-length');
  if (decodedLength !== undefined && Number(decodedLength) !== staged.size) {
    ctx.storage.discard(staged);
    throw new S3Error(
      'IncompleteBody',
      400,
      'You did not provide the number of bytes specified by the Content-Length HTTP header'
    );
  }
  return staged;
}

function versionHeader(res: ServerResponse, versioned: boolean, version: StoredVersion): void {
  if (versioned) res.setHeader('x-amz-version-id', version.versionId);
}

async function putObject(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string,
  key: string
): Promise<void> {
  ctx.storage.bucket(bucket);
  const staged = await receiveBody(ctx, req);
  const version = ctx.storage.commit(
    bucket,
    key,
    staged,
    staged.md5,
    objectAttributes(req),
    writeConditions(req)
  );
  const versioned = ctx.storage.bucket(bucket).versioning !== undefined;
  res.setHeader('ETag', `"${version.etag}"`);
  versionHeader(res, versioned, version);
  sendEmpty(res, 200);
  ctx.onCreated({ bucket, key, version, versioned, eventName: 'ObjectCreated:Put' });
}

type ByteRange = { start: number; end: number } | 'unsatisfiable' | undefined;

/** One `bytes=` range (S3 serves no multi-range requests and ignores malformed ones). */
function parseRange(value: string | undefined, size: number): ByteRange {
  if (value === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (m === null) return undefined;
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size) return 'unsatisfiable';
  if (end < start) return undefined;
  return { start, end };
}

function objectHeaders(res: ServerResponse, version: StoredVersion, versioned: boolean): void {
  res.setHeader('ETag', `"${version.etag}"`);
  res.setHeader('Last-Modified', httpDate(version.lastModified));
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Content-Type', version.contentType ?? 'binary/octet-stream');
  if (version.contentEncoding !== undefined)
    res.setHeader('Content-Encoding', version.contentEncoding);
  for (const [name, value] of Object.entries(version.metadata))
    res.setHeader(`x-amz-meta-${name}`, value);
  versionHeader(res, versioned, version);
}

async function getObject(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string,
  key: string,
  query: URLSearchParams,
  withBody: boolean
): Promise<void> {
  const version = ctx.storage.version(bucket, key, query.get('versionId') ?? undefined);
  const versioned = ctx.storage.bucket(bucket).versioning !== undefined;
  const ifMatch = header(req, 'if-match');
  if (ifMatch !== undefined && !etagMatches(ifMatch, version.etag)) {
    throw new S3Error(
      'PreconditionFailed',
      412,
      'At least one of the pre-conditions you specified did not hold',
      { bucket, key }
    );
  }
  objectHeaders(res, version, versioned);
  const ifNoneMatch = header(req, 'if-none-match');
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, version.etag)) {
    sendEmpty(res, 304);
    return;
  }
  const partNumber = query.get('partNumber');
  if (partNumber !== null && partNumber !== '1') {
    throw new S3Error('InvalidPartNumber', 416, 'The requested partnumber is not satisfiable');
  }
  const range = parseRange(header(req, 'range'), version.size);
  if (range === 'unsatisfiable') {
    res.setHeader('Content-Range', `bytes */${version.size}`);
    throw new S3Error('InvalidRange', 416, 'The requested range is not satisfiable');
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? version.size - 1;
  const length = Math.max(0, end - start + 1);
  res.statusCode = range === undefined ? 200 : 206;
  if (range !== undefined) res.setHeader('Content-Range', `bytes ${start}-${end}/${version.size}`);
  res.setHeader('Content-Length', length);
  if (!withBody || length === 0) {
    res.end();
    return;
  }
  await pipeline(ctx.storage.read(bucket, key, version, start, end), res);
}

interface ListOptions {
  readonly prefix: string;
  readonly delimiter: string;
  /** Exclusive lower bound. */
  readonly after: string;
  /** Keys under this common prefix were already returned as that prefix. */
  readonly skipPrefix: string | undefined;
  readonly maxKeys: number;
}

interface Listing {
  readonly contents: string[];
  readonly commonPrefixes: string[];
  readonly truncated: boolean;
  /** The last key or common prefix returned, to continue from. */
  readonly last: { after: string; skipPrefix: string | undefined } | undefined;
}

/** Lists keys with S3's semantics: keys and common prefixes together count towards max-keys. */
function listKeys(keys: readonly string[], options: ListOptions): Listing {
  const contents: string[] = [];
  const commonPrefixes: string[] = [];
  let last: Listing['last'];
  let truncated = false;
  let lastPrefix = options.skipPrefix;
  for (const key of keys) {
    if (options.after !== '' && compareKeys(key, options.after) <= 0) continue;
    if (!key.startsWith(options.prefix)) continue;
    if (lastPrefix !== undefined && key.startsWith(lastPrefix)) continue;
    let prefix: string | undefined;
    if (options.delimiter !== '') {
      const at = key.indexOf(options.delimiter, options.prefix.length);
      if (at >= 0) prefix = key.slice(0, at + options.delimiter.length);
    }
    if (contents.length + commonPrefixes.length >= options.maxKeys) {
      truncated = true;
      break;
    }
    if (prefix !== undefined) {
      commonPrefixes.push(prefix);
      lastPrefix = prefix;
      last = { after: prefix, skipPrefix: prefix };
    } else {
      contents.push(key);
      last = { after: key, skipPrefix: undefined };
    }
  }
  return { contents, commonPrefixes, truncated, last };
}

function maxKeysOf(query: URLSearchParams): number {
  const raw = query.get('max-keys');
  if (raw === null) return MAX_LIST_KEYS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw invalidArgument('Provided max-keys not an integer or within integer range');
  return Math.min(n, MAX_LIST_KEYS);
}

function listObjects(
  ctx: RouteContext,
  res: ServerResponse,
  bucket: string,
  query: URLSearchParams
): void {
  const keys = ctx.storage.sortedKeys(bucket);
  const urlEncoded = query.get('encoding-type') === 'url';
  const enc = (s: string) => (urlEncoded ? encodeURIComponent(s).replace(/%2F/g, '/') : s);
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter') ?? '';
  const maxKeys = maxKeysOf(query);
  const v2 = query.get('list-type') === '2';
  let after = '';
  let skipPrefix: string | undefined;
  const token = query.get('continuation-token');
  if (v2 && token !== null) {
    try {
      const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
        after: string;
        skipPrefix?: string;
      };
      after = parsed.after;
      skipPrefix = parsed.skipPrefix;
    } catch {
      throw invalidArgument('The continuation token provided is incorrect');
    }
  } else if (v2) {
    after = query.get('start-after') ?? '';
  } else {
    after = query.get('marker') ?? '';
    if (delimiter !== '' && after.endsWith(delimiter)) skipPrefix = after;
  }
  const listing = listKeys(keys, { prefix, delimiter, after, skipPrefix, maxKeys });
  const contents: XmlNode[] = listing.contents.map((key) => {
    const version = ctx.storage.version(bucket, key);
    return {
      Key: enc(key),
      LastModified: version.lastModified,
      ETag: `"${version.etag}"`,
      Size: version.size,
      StorageClass: 'STANDARD',
    };
  });
  const body: Record<string, XmlNode[keyof XmlNode]> = {
    Name: bucket,
    Prefix: enc(prefix),
    Delimiter: delimiter === '' ? undefined : enc(delimiter),
    MaxKeys: maxKeys,
    EncodingType: urlEncoded ? 'url' : undefined,
    IsTruncated: listing.truncated,
  };
  if (v2) {
    body.KeyCount = listing.contents.length + listing.commonPrefixes.length;
    body.ContinuationToken = token ?? undefined;
    body.StartAfter = query.get('start-after') ?? undefined;
    if (listing.truncated && listing.last !== undefined) {
      body.NextContinuationToken = Buffer.from(JSON.stringify(listing.last)).toString('base64url');
    }
  } else {
    body.Marker = query.get('marker') ?? '';
    if (listing.truncated && delimiter !== '' && listing.last !== undefined)
      body.NextMarker = enc(listing.last.after);
  }
  body.Contents = contents;
  body.CommonPrefixes = listing.commonPrefixes.map((p) => ({ Prefix: enc(p) }));
  sendXml(res, 200, xmlDocument('ListBucketResult', body));
}

async function deleteObjects(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string
): Promise<void> {
  const xml = await readSmallBody(req);
  const quiet = xmlText(xml, 'Quiet') === 'true';
  const deleted: XmlNode[] = [];
  for (const object of xmlElements(xml, 'Object')) {
    const key = xmlText(object, 'Key') ?? '';
    const versionId = xmlText(object, 'VersionId');
    ctx.storage.deleteObject(bucket, key, versionId);
    if (!quiet) deleted.push({ Key: key, VersionId: versionId });
  }
  sendXml(res, 200, xmlDocument('DeleteResult', { Deleted: deleted }));
}

async function bucketRoute(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string,
  query: URLSearchParams
): Promise<void> {
  switch (req.method) {
    case 'PUT': {
      if (query.has('versioning')) {
        const status = xmlText(await readSmallBody(req), 'Status');
        if (status !== 'Enabled' && status !== 'Suspended') {
          throw new S3Error(
            'IllegalVersioningConfigurationException',
            400,
            'The versioning configuration specified in the request is invalid.'
          );
        }
        ctx.storage.setVersioning(bucket, status);
        return sendEmpty(res, 200);
      }
      if ([...query.keys()].length > 0) break;
      await readSmallBody(req);
      ctx.storage.createBucket(bucket);
      res.setHeader('Location', `/${bucket}`);
      return sendEmpty(res, 200);
    }
    case 'HEAD':
      ctx.storage.bucket(bucket);
      return sendEmpty(res, 200);
    case 'DELETE':
      ctx.storage.deleteBucket(bucket);
      return sendEmpty(res, 204);
    case 'POST':
      if (query.has('delete')) return deleteObjects(ctx, req, res, bucket);
      break;
    case 'GET': {
      const b = ctx.storage.bucket(bucket);
      if (query.has('versioning')) {
        return sendXml(res, 200, xmlDocument('VersioningConfiguration', { Status: b.versioning }));
      }
      if (query.has('location')) {
        const constraint = ctx.region === 'us-east-1' ? '' : ctx.region;
        return sendXml(
          res,
          200,
          `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${xmlEscape(constraint)}</LocationConstraint>`
        );
      }
      const unsupported = [
        'uploads',
        'acl',
        'policy',
        'tagging',
        'notification',
        'lifecycle',
        'cors',
      ];
      if (unsupported.some((q) => query.has(q))) break;
      return listObjects(ctx, res, bucket, query);
    }
  }
  throw new S3Error(
    'NotImplemented',
    501,
    'A header or query you provided implies functionality that is not implemented'
  );
}

async function objectRoute(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string,
  key: string,
  query: URLSearchParams
): Promise<void> {
  const uploadId = query.get('uploadId');
  switch (req.method) {
    case 'PUT':
      if (
        header(req, 'x-amz-copy-source') !== undefined ||
        query.has('tagging') ||
        query.has('acl')
      )
        break;
      if (uploadId !== null) {
        const partNumber = Number(query.get('partNumber'));
        const staged = await receiveBody(ctx, req);
        ctx.storage.putPart(bucket, key, uploadId, partNumber, staged);
        res.setHeader('ETag', `"${staged.md5}"`);
        return sendEmpty(res, 200);
      }
      return putObject(ctx, req, res, bucket, key);
    case 'GET':
      if (uploadId !== null || query.has('tagging') || query.has('acl') || query.has('attributes'))
        break;
      return getObject(ctx, req, res, bucket, key, query, true);
    case 'HEAD':
      return getObject(ctx, req, res, bucket, key, query, false);
    case 'DELETE':
      if (uploadId !== null) {
        ctx.storage.abortUpload(bucket, key, uploadId);
        return sendEmpty(res, 204);
      }
      ctx.storage.bucket(bucket);
      ctx.storage.deleteObject(bucket, key, query.get('versionId') ?? undefined);
      return sendEmpty(res, 204);
    case 'POST': {
      if (query.has('uploads')) {
        ctx.storage.bucket(bucket);
        const id = ctx.storage.createUpload(bucket, key, objectAttributes(req));
        return sendXml(
          res,
          200,
          xmlDocument('InitiateMultipartUploadResult', { Bucket: bucket, Key: key, UploadId: id })
        );
      }
      if (uploadId === null) break;
      const xml = await readSmallBody(req);
      const parts = xmlElements(xml, 'Part').map((p) => ({
        partNumber: Number(xmlText(p, 'PartNumber')),
        etag: xmlText(p, 'ETag') ?? '',
      }));
      const version = await ctx.storage.completeUpload(
        bucket,
        key,
        uploadId,
        parts,
        writeConditions(req)
      );
      const versioned = ctx.storage.bucket(bucket).versioning !== undefined;
      versionHeader(res, versioned, version);
      sendXml(
        res,
        200,
        xmlDocument('CompleteMultipartUploadResult', {
          Location: `/${bucket}/${key}`,
          Bucket: bucket,
          Key: key,
          ETag: `"${version.etag}"`,
        })
      );
      ctx.onCreated({
        bucket,
        key,
        version,
        versioned,
        eventName: 'ObjectCreated:CompleteMultipartUpload',
      });
      return;
    }
  }
  throw new S3Error(
    'NotImplemented',
    501,
    'A header or query you provided implies functionality that is not implemented'
  );
}

function listBuckets(ctx: RouteContext, res: ServerResponse): void {
  const buckets = ctx.storage
    .listBuckets()
    .map((b) => ({ Name: b.name, CreationDate: b.createdAt }));
  sendXml(
    res,
    200,
    xmlDocument('ListAllMyBucketsResult', {
      Owner: { ID: 'local', DisplayName: 'local' },
      Buckets: { Bucket: buckets },
    })
  );
}

/**
 * The request listener of the local S3 server.
 *
 * @example
 * ```typescript
 * import { createServer } from 'node:http';
 * import { createS3RequestListener } from './local/s3/server.ts';
 * import { LocalS3Storage } from './local/s3/storage.ts';
 * const storage = new LocalS3Storage('/tmp/s3');
 * createServer(createS3RequestListener({ storage, region: 'us-east-1', onCreated: () => {} }));
 * ```
 */
function createS3RequestListener(ctx: RouteContext) {
  return async function s3RequestListener(
    req: IncomingMessage,
    res: ServerResponse
  ): Promise<void> {
    baseHeaders(res, ctx.region);
    try {
      const { bucket, key, query } = parseTarget(req);
      if (bucket === undefined) {
        if (req.method !== 'GET')
          throw new S3Error(
            'MethodNotAllowed',
            405,
            'The specified method is not allowed against this resource.'
          );
        listBuckets(ctx, res);
      } else if (key === undefined) {
        await bucketRoute(ctx, req, res, bucket, query);
      } else {
        await objectRoute(ctx, req, res, bucket, key, query);
      }
    } catch (error) {
      const s3Error =
        error instanceof S3Error
          ? error
          : error instanceof URIError
            ? invalidArgument('Invalid URI encoding')
            : new S3Error(
                'InternalError',
                500,
                `We encountered an internal error: ${(error as Error).message}`
              );
      // Drain what the client still sends so the connection stays usable.
      if (!req.complete) req.resume();
      sendError(req, res, s3Error);
    }
  };
}

export type { ObjectCreatedNotice, RouteContext };
export { createS3RequestListener };

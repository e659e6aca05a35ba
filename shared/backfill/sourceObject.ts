import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { AsyncBuffer } from 'hyparquet';
import { SkewlessError } from '../errors.ts';
import type { SourceObject } from './types.ts';

/**
 * Reads the exact object version a backfill is about, never the whole object at once: text
 * formats as a byte stream from an offset (resumed with a ranged GET if the connection drops
 * mid-file), Parquet through ranged GETs of the footer and column chunks. Every request pins
 * the version (`VersionId` on a versioned bucket, `If-Match: <ETag>` otherwise), so an
 * overwrite during a long backfill is detected instead of mixing two files.
 */

/** The source object is gone or was replaced: the backfill cannot finish and says so. */
class SourceUnavailableError extends SkewlessError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SourceUnavailableError';
  }
}

const GONE = new Set([
  'NoSuchKey',
  'NoSuchVersion',
  'NotFound',
  'PreconditionFailed',
  'NoSuchBucket',
]);
const MAX_STREAM_RESTARTS = 5;

function pin(source: SourceObject): { VersionId?: string; IfMatch?: string } {
  return source.versionId !== undefined && source.versionId !== 'null'
    ? { VersionId: source.versionId }
    : { IfMatch: `"${source.etag}"` };
}

function gone(error: unknown, source: SourceObject): SourceUnavailableError | undefined {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (!GONE.has(e.name ?? '') && status !== 404 && status !== 412) return undefined;
  return new SourceUnavailableError(
    `s3://${source.bucket}/${source.key} (${source.versionId !== undefined ? `version ${source.versionId}` : `ETag ${source.etag}`}) is no longer readable: ${e.name ?? status}; it was deleted or overwritten during the backfill`,
    { cause: error }
  );
}

/** What HeadObject says about the source. */
interface SourceFacts {
  readonly size: number;
  readonly contentEncoding: string | undefined;
}

/**
 * HeadObject of the pinned version.
 *
 * @throws SourceUnavailableError when the version no longer exists
 */
async function headSource(s3: S3Client, source: SourceObject): Promise<SourceFacts> {
  try {
    const out = await s3.send(
      new HeadObjectCommand({ Bucket: source.bucket, Key: source.key, ...pin(source) })
    );
    return { size: out.ContentLength ?? source.size, contentEncoding: out.ContentEncoding };
  } catch (error) {
    throw gone(error, source) ?? error;
  }
}

/**
 * The bytes of the source from `start` to its end. A connection that fails mid-file is
 * re-opened at the next unread byte (up to 5 times in a row, with backoff); reading stops
 * early when the consumer stops iterating.
 *
 * @example
 * ```typescript
 * import { S3Client } from '@aws-sdk/client-s3';
 * import { sourceBytes } from './shared/backfill/sourceObject.ts';
 * const source = { bucket: 'b', key: 'backfill/fraud-cards/a.csv', etag: 'abc', size: 1000 };
 * for await (const chunk of sourceBytes(new S3Client({}), source, 0)) console.log(chunk.length);
 * ```
 */
async function* sourceBytes(
  s3: S3Client,
  source: SourceObject,
  start: number
): AsyncGenerator<Buffer> {
  let offset = start;
  let restarts = 0;
  while (offset < source.size) {
    let body: (AsyncIterable<Buffer> & { destroy?: () => void }) | undefined;
    try {
      const out = await s3.send(
        new GetObjectCommand({
          Bucket: source.bucket,
          Key: source.key,
          Range: `bytes=${offset}-`,
          ...pin(source),
        })
      );
      body = out.Body as unknown as AsyncIterable<Buffer> & { destroy?: () => void };
      for await (const chunk of body) {
        offset += chunk.length;
        restarts = 0;
        yield chunk;
      }
      return;
    } catch (error) {
      const unavailable = gone(error, source);
      if (unavailable !== undefined) throw unavailable;
      restarts += 1;
      if (restarts > MAX_STREAM_RESTARTS) throw error;
      await sleep(100 * 2 ** restarts);
    } finally {
      body?.destroy?.();
    }
  }
}

/**
 * An `AsyncBuffer` (hyparquet's file abstraction) over ranged GETs of the pinned version: the
 * Parquet reader fetches the footer and then one row group's column chunks at a time.
 */
function sourceAsyncBuffer(s3: S3Client, source: SourceObject, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(startByte: number, endByte?: number): Promise<ArrayBuffer> {
      const end = Math.min(endByte ?? size, size);
      if (end <= startByte) return new ArrayBuffer(0);
      try {
        const out = await s3.send(
          new GetObjectCommand({
            Bucket: source.bucket,
            Key: source.key,
            Range: `bytes=${startByte}-${end - 1}`,
            ...pin(source),
          })
        );
        const bytes = await (
          out.Body as { transformToByteArray(): Promise<Uint8Array> }
        ).transformToByteArray();
        return bytes.buffer.slice(
          bytes.byteOffset,
          bytes.byteOffset + bytes.byteLength
        ) as ArrayBuffer;
      } catch (error) {
        throw gone(error, source) ?? error;
      }
    },
  };
}

export type { SourceFacts };
export { headSource, SourceUnavailableError, sourceAsyncBuffer, sourceBytes };

import { Transform, type TransformCallback } from 'node:stream';

/**
 * Decoder of the `aws-chunked` content encoding that SDKs and the AWS CLI use for streaming
 * uploads (`x-amz-content-sha256: STREAMING-…`): `<hex size>[;chunk-signature=…]\r\n<data>\r\n`
 * repeated, a zero-size chunk, optional trailers (`x-amz-checksum-crc32:…`) and a blank line.
 * Signatures are not verified (the local server ignores authentication); the payload is
 * passed through and the trailers are kept for inspection.
 */

const CRLF = Buffer.from('\r\n');
/** A chunk header longer than this is not a chunk header: fail instead of buffering forever. */
const MAX_HEADER_BYTES = 4096;

const State = {
  Size: 'size',
  Data: 'data',
  DataEnd: 'dataEnd',
  Trailer: 'trailer',
  Done: 'done',
} as const;
type State = (typeof State)[keyof typeof State];

/** Thrown (as a stream error) when the body is not valid aws-chunked framing. */
class AwsChunkedFramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AwsChunkedFramingError';
  }
}

/**
 * A Transform from aws-chunked framing to the decoded payload.
 *
 * @example
 * ```typescript
 * import { pipeline } from 'node:stream/promises';
 * import { AwsChunkedDecoder } from './local/s3/awsChunked.ts';
 * const decoder = new AwsChunkedDecoder();
 * await pipeline(request, decoder, fileStream);
 * console.log(decoder.trailers['x-amz-checksum-crc32']);
 * ```
 */
class AwsChunkedDecoder extends Transform {
  /** Trailing headers after the last chunk, lower-cased names. */
  readonly trailers: Record<string, string> = {};
  private state: State = State.Size;
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    // Some clients end after the zero chunk without the final blank line: accept that.
    if (this.state === State.Done || this.state === State.Trailer) callback();
    else
      callback(new AwsChunkedFramingError(`aws-chunked body ended inside a chunk (${this.state})`));
  }

  private consume(input: Buffer): void {
    let offset = 0;
    while (offset < input.length) {
      if (this.state === State.Data) {
        const take = Math.min(this.remaining, input.length - offset);
        this.push(input.subarray(offset, offset + take));
        offset += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = State.DataEnd;
        continue;
      }
      if (this.state === State.Done) {
        offset = input.length;
        break;
      }
      const lineEnd = input.indexOf(CRLF, offset);
      if (lineEnd < 0) break;
      const line = input.toString('latin1', offset, lineEnd);
      offset = lineEnd + 2;
      this.onLine(line);
    }
    const rest = input.subarray(offset);
    if (rest.length > MAX_HEADER_BYTES && this.state !== State.Data) {
      throw new AwsChunkedFramingError('aws-chunked header line too long');
    }
    this.pending = Buffer.from(rest);
  }

  private onLine(line: string): void {
    if (this.state === State.DataEnd) {
      if (line !== '') throw new AwsChunkedFramingError('missing CRLF after chunk data');
      this.state = State.Size;
      return;
    }
    if (this.state === State.Size) {
      const size = Number.parseInt(line.split(';', 1)[0] ?? '', 16);
      if (!Number.isSafeInteger(size) || size < 0) {
        throw new AwsChunkedFramingError(`invalid chunk size line "${line.slice(0, 80)}"`);
      }
      this.remaining = size;
      this.state = size === 0 ? State.Trailer : State.Data;
      return;
    }
    // Trailer section: `name:value` lines up to a blank line.
    if (line === '') {
      this.state = State.Done;
      return;
    }
    const colon = line.indexOf(':');
    if (colon > 0)
      this.trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
}

/** True when a request body is aws-chunked framed, by its headers. */
function isAwsChunked(headers: Record<string, string | string[] | undefined>): boolean {
  const encoding = String(headers['content-encoding'] ?? '');
  const sha = String(headers['x-amz-content-sha256'] ?? '');
  return (
    encoding.split(',').some((e) => e.trim() === 'aws-chunked') || sha.startsWith('STREAMING-')
  );
}

/** The content encoding to store: the request's, without the `aws-chunked` transfer framing. */
function storedContentEncoding(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const kept = header
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '' && e !== 'aws-chunked');
  return kept.length === 0 ? undefined : kept.join(',');
}

export { AwsChunkedDecoder, AwsChunkedFramingError, isAwsChunked, storedContentEncoding };

import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  AwsChunkedDecoder,
  AwsChunkedFramingError,
  isAwsChunked,
  storedContentEncoding,
} from '../../local/s3/awsChunked.ts';

async function decode(
  parts: string[]
): Promise<{ body: string; trailers: Record<string, string> }> {
  const decoder = new AwsChunkedDecoder();
  const chunks: Buffer[] = [];
  for await (const chunk of Readable.from(parts.map((p) => Buffer.from(p))).pipe(decoder)) {
    chunks.push(chunk as Buffer);
  }
  return { body: Buffer.concat(chunks).toString(), trailers: decoder.trailers };
}

describe('Class: AwsChunkedDecoder', () => {
  it('decodes signed chunks split anywhere across network reads', async () => {
    // Prepare: SigV4 streaming framing, cut in the middle of headers and data.
    const framed =
      '5;chunk-signature=aaaa\r\nhello\r\n6;chunk-signature=bbbb\r\n world\r\n0;chunk-signature=cccc\r\n\r\n';
    const parts = [framed.slice(0, 3), framed.slice(3, 27), framed.slice(27, 40), framed.slice(40)];
    // Act
    const { body } = await decode(parts);
    // Assess
    expect(body).toBe('hello world');
  });

  it('keeps the trailing checksum headers of unsigned streaming uploads', async () => {
    // Act
    const { body, trailers } = await decode([
      '3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n',
    ]);
    // Assess
    expect(body).toBe('abc');
    expect(trailers).toEqual({ 'x-amz-checksum-crc32': 'NSRBwg==' });
  });

  it('fails a body that ends inside a chunk', async () => {
    // Act
    const result = decode(['a\r\nabc']);
    // Assess
    await expect(result).rejects.toBeInstanceOf(AwsChunkedFramingError);
  });

  it('recognises aws-chunked requests and strips the framing from the stored encoding', () => {
    expect(isAwsChunked({ 'content-encoding': 'aws-chunked' })).toBe(true);
    expect(isAwsChunked({ 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' })).toBe(
      true
    );
    expect(isAwsChunked({ 'content-encoding': 'gzip' })).toBe(false);
    expect(storedContentEncoding('aws-chunked,gzip')).toBe('gzip');
    expect(storedContentEncoding('aws-chunked')).toBeUndefined();
  });
});

// calendar-fixed: a file body for a CLI upload; the time is data.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalS3 } from '../../local/s3/index.ts';
import { decodeEventKey, encodeEventKey } from '../../local/s3/notification.ts';
import {
  BACKFILL_BUCKET,
  REPORTS_BUCKET,
  s3ClientFor,
  startTestS3,
  type TestS3,
} from '../helpers/s3Events.ts';

const run = promisify(execFile);
const md5 = (data: Buffer | string) => createHash('md5').update(data).digest('hex');

async function text(out: { Body?: { transformToString(): Promise<string> } }): Promise<string> {
  return (await out.Body?.transformToString()) ?? '';
}

async function failure(promise: Promise<unknown>): Promise<{ name: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

describe('Function: startLocalS3()', () => {
  let s3: TestS3;
  const events: S3Event[] = [];

  beforeAll(async () => {
    s3 = await startTestS3({ onObjectCreated: (event) => void events.push(event) });
  });
  afterAll(async () => {
    await s3.close();
  });

  it('stores and returns objects byte for byte, including streamed (aws-chunked) uploads', async () => {
    // Prepare
    const key = 'objects/stream.bin';
    const bytes = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 256));
    // Act
    const put = await s3.client.send(
      new PutObjectCommand({
        Bucket: REPORTS_BUCKET,
        Key: key,
        Body: Readable.from([bytes.subarray(0, 40_000), bytes.subarray(40_000)]),
        ContentLength: bytes.length,
      })
    );
    const got = await s3.client.send(new GetObjectCommand({ Bucket: REPORTS_BUCKET, Key: key }));
    const body = Buffer.from((await got.Body?.transformToByteArray()) ?? []);
    // Assess
    expect(put.ETag).toBe(`"${md5(bytes)}"`);
    expect(body.equals(bytes)).toBe(true);
    expect(got.ContentLength).toBe(bytes.length);
  });

  it('serves byte ranges, suffix ranges and open-ended ranges like S3', async () => {
    // Prepare
    await s3.client.send(
      new PutObjectCommand({ Bucket: REPORTS_BUCKET, Key: 'r.txt', Body: '0123456789' })
    );
    const get = (Range: string) =>
      s3.client.send(new GetObjectCommand({ Bucket: REPORTS_BUCKET, Key: 'r.txt', Range }));
    // Act
    const middle = await get('bytes=2-4');
    const suffix = await get('bytes=-3');
    const longSuffix = await get('bytes=-50');
    const open = await get('bytes=7-');
    const beyond = await failure(get('bytes=10-'));
    // Assess
    expect([await text(middle), middle.ContentRange]).toEqual(['234', 'bytes 2-4/10']);
    expect([await text(suffix), suffix.ContentRange]).toEqual(['789', 'bytes 7-9/10']);
    expect(await text(longSuffix)).toBe('0123456789');
    expect(await text(open)).toBe('789');
    expect(beyond).toEqual({ name: 'InvalidRange', status: 416 });
  });

  it('answers HeadObject, and NoSuchKey / NotFound / NoSuchBucket for what does not exist', async () => {
    // Act
    await s3.client.send(
      new PutObjectCommand({
        Bucket: REPORTS_BUCKET,
        Key: 'h.txt',
        Body: 'abc',
        ContentType: 'text/plain',
      })
    );
    const head = await s3.client.send(
      new HeadObjectCommand({ Bucket: REPORTS_BUCKET, Key: 'h.txt' })
    );
    const missingGet = s3.client.send(
      new GetObjectCommand({ Bucket: REPORTS_BUCKET, Key: 'nope' })
    );
    // Assess
    expect(head).toMatchObject({
      ContentLength: 3,
      ContentType: 'text/plain',
      ETag: `"${md5('abc')}"`,
    });
    await expect(missingGet).rejects.toBeInstanceOf(NoSuchKey);
    expect(
      await failure(s3.client.send(new HeadObjectCommand({ Bucket: REPORTS_BUCKET, Key: 'nope' })))
    ).toEqual({ name: 'NotFound', status: 404 });
    expect(
      await failure(s3.client.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'x' })))
    ).toEqual({ name: 'NoSuchBucket', status: 404 });
  });

  it('lists with prefix, delimiter (nested prefixes too) and continuation tokens', async () => {
    // Prepare
    const bucket = 'listing-bucket';
    await s3.client.send(new CreateBucketCommand({ Bucket: bucket }));
    const keys = ['a/1.csv', 'a/b/2.csv', 'a/b/c/3.csv', 'a/d/4.csv', 'a/5.csv', 'z.csv'];
    for (const Key of keys)
      await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }));
    // Act
    const nested = await s3.client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'a/', Delimiter: '/' })
    );
    const deeper = await s3.client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'a/b/', Delimiter: '/' })
    );
    const pages: string[][] = [];
    let token: string | undefined;
    for (let page = 0; page < 10; page++) {
      const out = await s3.client.send(
        new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 2, ContinuationToken: token })
      );
      pages.push((out.Contents ?? []).map((c) => c.Key ?? ''));
      token = out.NextContinuationToken;
      if (!out.IsTruncated) break;
    }
    const after = await s3.client.send(
      new ListObjectsV2Command({ Bucket: bucket, StartAfter: 'a/d/4.csv' })
    );
    // Assess
    expect(nested.Contents?.map((c) => c.Key)).toEqual(['a/1.csv', 'a/5.csv']);
    expect(nested.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/b/', 'a/d/']);
    expect(nested.KeyCount).toBe(4);
    expect(deeper.Contents?.map((c) => c.Key)).toEqual(['a/b/2.csv']);
    expect(deeper.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/b/c/']);
    expect(pages).toEqual([
      ['a/1.csv', 'a/5.csv'],
      ['a/b/2.csv', 'a/b/c/3.csv'],
      ['a/d/4.csv', 'z.csv'],
    ]);
    expect(after.Contents?.map((c) => c.Key)).toEqual(['z.csv']);
  });

  it('creates, heads, lists buckets and deletes objects', async () => {
    // Act
    await s3.client.send(new CreateBucketCommand({ Bucket: 'another-bucket' }));
    await s3.client.send(new HeadBucketCommand({ Bucket: 'another-bucket' }));
    const buckets = await s3.client.send(new ListBucketsCommand({}));
    await s3.client.send(
      new PutObjectCommand({ Bucket: 'another-bucket', Key: 'd.txt', Body: 'x' })
    );
    await s3.client.send(new DeleteObjectCommand({ Bucket: 'another-bucket', Key: 'd.txt' }));
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: 'another-bucket' }));
    // Assess
    expect(buckets.Buckets?.map((b) => b.Name)).toEqual(
      expect.arrayContaining(['another-bucket', BACKFILL_BUCKET, REPORTS_BUCKET])
    );
    expect(listed.KeyCount).toBe(0);
    expect(
      await failure(s3.client.send(new HeadBucketCommand({ Bucket: 'missing-bucket' })))
    ).toMatchObject({ status: 404 });
  });

  it('lets exactly one of many concurrent If-None-Match: * puts create a key', async () => {
    // Act
    const attempts = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        s3.client.send(
          new PutObjectCommand({
            Bucket: REPORTS_BUCKET,
            Key: 'claim',
            Body: `owner-${i}`,
            IfNoneMatch: '*',
          })
        )
      )
    );
    // Assess
    const won = attempts.filter((a) => a.status === 'fulfilled');
    const lost = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.map((l) => (l.reason as { name: string }).name)).toEqual(
      Array(11).fill('PreconditionFailed')
    );
  });

  it('never serves a mix of two writes: a read racing a replacing put gets one whole body', async () => {
    // Prepare: bodies of growing length, so a read cut to an earlier size is not valid JSON.
    const body = (i: number) => JSON.stringify({ i, pad: 'x'.repeat(100 + i * 50) });
    await s3.client.send(
      new PutObjectCommand({ Bucket: REPORTS_BUCKET, Key: 'race', Body: body(0) })
    );
    // Act: 40 replacing puts and 40 reads, interleaved.
    const reads: Promise<string>[] = [];
    const writes: Promise<unknown>[] = [];
    for (let i = 1; i <= 40; i++) {
      writes.push(
        s3.client.send(new PutObjectCommand({ Bucket: REPORTS_BUCKET, Key: 'race', Body: body(i) }))
      );
      reads.push(
        s3.client.send(new GetObjectCommand({ Bucket: REPORTS_BUCKET, Key: 'race' })).then(text)
      );
    }
    await Promise.all(writes);
    // Assess: every read is one of the bodies written, whole.
    for (const read of await Promise.all(reads)) {
      const { i } = JSON.parse(read) as { i: number };
      expect(read).toBe(body(i));
    }
  });

  it('replaces an object with If-Match only while its ETag is unchanged', async () => {
    // Prepare
    const first = await s3.client.send(
      new PutObjectCommand({ Bucket: REPORTS_BUCKET, Key: 'cas', Body: 'v1' })
    );
    // Act
    const second = await s3.client.send(
      new PutObjectCommand({ Bucket: REPORTS_BUCKET, Key: 'cas', Body: 'v2', IfMatch: first.ETag })
    );
    const stale = await failure(
      s3.client.send(
        new PutObjectCommand({
          Bucket: REPORTS_BUCKET,
          Key: 'cas',
          Body: 'v3',
          IfMatch: first.ETag,
        })
      )
    );
    const staleGet = await failure(
      s3.client.send(
        new GetObjectCommand({ Bucket: REPORTS_BUCKET, Key: 'cas', IfMatch: first.ETag })
      )
    );
    // Assess
    expect(second.ETag).toBe(`"${md5('v2')}"`);
    expect(stale).toEqual({ name: 'PreconditionFailed', status: 412 });
    expect(staleGet).toEqual({ name: 'PreconditionFailed', status: 412 });
    expect(
      await text(await s3.client.send(new GetObjectCommand({ Bucket: REPORTS_BUCKET, Key: 'cas' })))
    ).toBe('v2');
  });

  it('keeps every version on a versioned bucket and reads each by its version id', async () => {
    // Act
    const v1 = await s3.client.send(
      new PutObjectCommand({ Bucket: BACKFILL_BUCKET, Key: 'v.txt', Body: 'one' })
    );
    const v2 = await s3.client.send(
      new PutObjectCommand({ Bucket: BACKFILL_BUCKET, Key: 'v.txt', Body: 'two' })
    );
    const old = await s3.client.send(
      new GetObjectCommand({ Bucket: BACKFILL_BUCKET, Key: 'v.txt', VersionId: v1.VersionId })
    );
    const current = await s3.client.send(
      new GetObjectCommand({ Bucket: BACKFILL_BUCKET, Key: 'v.txt' })
    );
    // Assess
    expect(v1.VersionId).toMatch(/^[\w-]{20,}$/);
    expect(v2.VersionId).not.toBe(v1.VersionId);
    expect(await text(old)).toBe('one');
    expect([await text(current), current.VersionId]).toEqual(['two', v2.VersionId]);
  });

  it('assembles multipart uploads and rejects undersized parts', async () => {
    // Prepare
    const key = 'multi.bin';
    const part1 = Buffer.alloc(5 * 1024 * 1024, 1);
    const part2 = Buffer.from('tail');
    const { UploadId } = await s3.client.send(
      new CreateMultipartUploadCommand({ Bucket: REPORTS_BUCKET, Key: key })
    );
    const p1 = await s3.client.send(
      new UploadPartCommand({
        Bucket: REPORTS_BUCKET,
        Key: key,
        UploadId,
        PartNumber: 1,
        Body: part1,
      })
    );
    const p2 = await s3.client.send(
      new UploadPartCommand({
        Bucket: REPORTS_BUCKET,
        Key: key,
        UploadId,
        PartNumber: 2,
        Body: part2,
      })
    );
    // Act
    const done = await s3.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: REPORTS_BUCKET,
        Key: key,
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag },
            { PartNumber: 2, ETag: p2.ETag },
          ],
        },
      })
    );
    const small = await s3.client.send(
      new CreateMultipartUploadCommand({ Bucket: REPORTS_BUCKET, Key: 'small' })
    );
    const s1 = await s3.client.send(
      new UploadPartCommand({
        Bucket: REPORTS_BUCKET,
        Key: 'small',
        UploadId: small.UploadId,
        PartNumber: 1,
        Body: 'a',
      })
    );
    const s2 = await s3.client.send(
      new UploadPartCommand({
        Bucket: REPORTS_BUCKET,
        Key: 'small',
        UploadId: small.UploadId,
        PartNumber: 2,
        Body: 'b',
      })
    );
    const tooSmall = await failure(
      s3.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: REPORTS_BUCKET,
          Key: 'small',
          UploadId: small.UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: s1.ETag },
              { PartNumber: 2, ETag: s2.ETag },
            ],
          },
        })
      )
    );
    const got = await s3.client.send(new GetObjectCommand({ Bucket: REPORTS_BUCKET, Key: key }));
    // Assess
    const expectedEtag = md5(
      Buffer.concat([Buffer.from(md5(part1), 'hex'), Buffer.from(md5(part2), 'hex')])
    );
    expect(done.ETag).toBe(`"${expectedEtag}-2"`);
    expect(
      Buffer.from((await got.Body?.transformToByteArray()) ?? []).equals(
        Buffer.concat([part1, part2])
      )
    ).toBe(true);
    expect(tooSmall).toEqual({ name: 'EntityTooSmall', status: 400 });
  });

  it('assembles an upload of many parts (aws s3 cp of a large backfill) without a listener-leak warning', async () => {
    // Prepare: 8 parts of 5 MiB, each its own byte
    const key = 'many-parts.bin';
    const parts = Array.from({ length: 8 }, (_, i) => Buffer.alloc(5 * 1024 * 1024, i + 1));
    const { UploadId } = await s3.client.send(
      new CreateMultipartUploadCommand({ Bucket: REPORTS_BUCKET, Key: key })
    );
    const uploaded = [];
    for (const [i, Body] of parts.entries()) {
      const { ETag } = await s3.client.send(
        new UploadPartCommand({
          Bucket: REPORTS_BUCKET,
          Key: key,
          UploadId,
          PartNumber: i + 1,
          Body,
        })
      );
      uploaded.push({ PartNumber: i + 1, ETag });
    }
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    // Act
    try {
      await s3.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: REPORTS_BUCKET,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: uploaded },
        })
      );
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    const got = await s3.client.send(new GetObjectCommand({ Bucket: REPORTS_BUCKET, Key: key }));
    // Assess
    expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
    expect(
      Buffer.from((await got.Body?.transformToByteArray()) ?? []).equals(Buffer.concat(parts))
    ).toBe(true);
  });

  it('notifies ObjectCreated:Put with a real-shape record and the key URL-encoded as S3 does', async () => {
    // Prepare
    events.length = 0;
    const key = 'backfill/fraud-cards/Q1 2025=final (v2).csv';
    // Act
    const put = await s3.client.send(
      new PutObjectCommand({ Bucket: BACKFILL_BUCKET, Key: key, Body: 'card_id\n' })
    );
    await s3.client.send(
      new PutObjectCommand({ Bucket: BACKFILL_BUCKET, Key: key, Body: 'card_id\nc1\n' })
    );
    await s3.server.settled();
    // Assess
    expect(events).toHaveLength(2);
    const [first, second] = events.map((e) => e.Records[0]);
    expect(first).toMatchObject({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventName: 'ObjectCreated:Put',
      s3: {
        s3SchemaVersion: '1.0',
        bucket: { name: BACKFILL_BUCKET, arn: `arn:aws:s3:::${BACKFILL_BUCKET}` },
        object: {
          key: 'backfill/fraud-cards/Q1+2025%3Dfinal+%28v2%29.csv',
          size: 8,
          eTag: md5('card_id\n'),
          versionId: put.VersionId,
        },
      },
    });
    expect(decodeEventKey(first?.s3.object.key ?? '')).toBe(key);
    expect(BigInt(`0x${second?.s3.object.sequencer}`)).toBeGreaterThan(
      BigInt(`0x${first?.s3.object.sequencer}`)
    );
    expect(encodeEventKey('a b/c+d')).toBe('a+b/c%2Bd');
  });

  it('accepts uploads from the AWS CLI (aws s3 cp), single-part and multipart', async () => {
    // Prepare
    events.length = 0;
    const dir = mkdtempSync(join(tmpdir(), 'skewless-cli-'));
    const small = join(dir, 'cards.csv');
    const large = join(dir, 'large.bin');
    writeFileSync(small, 'card_id,event_time\ncard-1,2025-01-01T00:00:00Z\n');
    const largeBytes = Buffer.alloc(8.5 * 1024 * 1024);
    for (let i = 0; i < largeBytes.length; i += 4096) largeBytes.writeUInt32BE(i, i);
    writeFileSync(large, largeBytes);
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_DEFAULT_REGION: 'us-east-1',
    };
    const cp = (file: string, key: string) =>
      run(
        'aws',
        [
          's3',
          'cp',
          file,
          `s3://${BACKFILL_BUCKET}/${key}`,
          '--endpoint-url',
          s3.server.endpoint,
          '--only-show-errors',
        ],
        { env }
      );
    try {
      // Act
      await cp(small, 'backfill/cli/cli small.csv');
      await cp(large, 'backfill/cli/large.bin');
      await s3.server.settled();
      const listed = await s3.client.send(
        new ListObjectsV2Command({ Bucket: BACKFILL_BUCKET, Prefix: 'backfill/cli/' })
      );
      const smallBack = await s3.client.send(
        new GetObjectCommand({ Bucket: BACKFILL_BUCKET, Key: 'backfill/cli/cli small.csv' })
      );
      const largeBack = await s3.client.send(
        new GetObjectCommand({ Bucket: BACKFILL_BUCKET, Key: 'backfill/cli/large.bin' })
      );
      // Assess
      expect(await text(smallBack)).toBe(readFileSync(small, 'utf8'));
      expect(md5(Buffer.from((await largeBack.Body?.transformToByteArray()) ?? []))).toBe(
        md5(readFileSync(large))
      );
      expect(listed.Contents?.map((c) => c.Key)).toEqual([
        'backfill/cli/cli small.csv',
        'backfill/cli/large.bin',
      ]);
      expect(events.map((e) => e.Records[0]?.eventName).sort()).toEqual([
        'ObjectCreated:CompleteMultipartUpload',
        'ObjectCreated:Put',
      ]);
      expect(
        events.find((e) => e.Records[0]?.eventName === 'ObjectCreated:Put')?.Records[0]?.s3.object
      ).toMatchObject({
        key: 'backfill/cli/cli+small.csv',
        size: readFileSync(small).length,
        eTag: md5(readFileSync(small)),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('keeps buckets and objects across a restart on the same data dir', async () => {
    // Prepare
    const dataDir = mkdtempSync(join(tmpdir(), 'skewless-s3-restart-'));
    const first = await startLocalS3({ port: 0, dataDir, buckets: ['kept-bucket'] });
    const client1 = s3ClientFor(first.endpoint);
    await client1.send(
      new PutObjectCommand({ Bucket: 'kept-bucket', Key: 'k/1.txt', Body: 'persisted' })
    );
    client1.destroy();
    await first.close();
    // Act
    const second = await startLocalS3({ port: 0, dataDir });
    const client2 = s3ClientFor(second.endpoint);
    const got = await client2.send(new GetObjectCommand({ Bucket: 'kept-bucket', Key: 'k/1.txt' }));
    // Assess
    expect(await text(got)).toBe('persisted');
    client2.destroy();
    await second.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
});

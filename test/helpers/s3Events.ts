/**
 * Real-shape events and a local S3 for the backfill tests: S3 `ObjectCreated` notifications
 * (built by the same code the local S3 server uses), SQS continuation events, a Lambda
 * `Context` with a controllable budget, and a started local S3 with a real `S3Client`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Context, S3Event, SQSEvent } from 'aws-lambda';
import { type LocalS3, type LocalS3Options, startLocalS3 } from '../../local/s3/index.ts';
import { type CreatedObject, objectCreatedEvent } from '../../local/s3/notification.ts';
import { localContext, sqsEventOf } from '../../shared/backfill/continuation.ts';
import type { ContinuationMessage, SourceObject } from '../../shared/backfill/types.ts';

const BACKFILL_BUCKET = 'skewless-backfill';
const REPORTS_BUCKET = 'skewless-reports';

/** An `ObjectCreated:Put` notification for one object (defaults fill the rest). */
function s3PutEvent(object: Partial<CreatedObject> & Pick<CreatedObject, 'key'>): S3Event {
  return objectCreatedEvent({
    bucket: BACKFILL_BUCKET,
    size: 0,
    eTag: 'd41d8cd98f00b204e9800998ecf8427e',
    sequencer: '0062E99A88DC407460',
    ...object,
  });
}

/** The notification of an object already put (its key, size, ETag and version as S3 answered). */
function s3PutEventOf(source: SourceObject): S3Event {
  return s3PutEvent({
    key: source.key,
    size: source.size,
    eTag: source.etag,
    versionId: source.versionId,
  });
}

/** An SQS event carrying continuation messages, as the queue's event source delivers it. */
function continuationEvent(...messages: ContinuationMessage[]): SQSEvent {
  return sqsEventOf(messages);
}

/**
 * The continuation docs/backfill.md ("Resuming a failed backfill") tells a user to send once the
 * cause of a resumable failure is fixed, as the queue delivers it.
 */
function resumeEvent(source: SourceObject, generation = 0): SQSEvent {
  return continuationEvent({
    type: 'skewless.backfill.continue',
    source,
    reason: 'retry',
    generation,
    resume: true,
  });
}

/** A Lambda context whose remaining time starts at `remainingMs` and runs down with the clock. */
function lambdaContext(remainingMs = 900_000): Context {
  return localContext(remainingMs);
}

interface TestS3 {
  readonly server: LocalS3;
  readonly client: S3Client;
  readonly dataDir: string;
  close(): Promise<void>;
}

/** An S3 client for a local endpoint: path-style, dummy credentials, one attempt. */
function s3ClientFor(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
}

/** Starts a local S3 in a fresh temp dir with the backfill (versioned) and reports buckets. */
async function startTestS3(options: Partial<LocalS3Options> = {}): Promise<TestS3> {
  const dataDir = mkdtempSync(join(tmpdir(), 'skewless-s3-'));
  const server = await startLocalS3({
    port: 0,
    dataDir,
    buckets: [{ name: BACKFILL_BUCKET, versioning: true }, REPORTS_BUCKET],
    ...options,
  });
  const client = s3ClientFor(server.endpoint);
  return {
    server,
    client,
    dataDir,
    close: async () => {
      client.destroy();
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Puts `body` under `key` in the backfill bucket, waits until the notification it triggers and
 * every continuation (`continuations.idle()`) are done, and returns the object as the handler saw it.
 */
async function uploadAndSettle(
  s3: TestS3,
  continuations: { idle(): Promise<void> },
  key: string,
  body: string | Buffer,
  extra: { ContentEncoding?: string } = {}
): Promise<SourceObject> {
  const out = await s3.client.send(
    new PutObjectCommand({ Bucket: BACKFILL_BUCKET, Key: key, Body: body, ...extra })
  );
  await s3.server.settled();
  await continuations.idle();
  return {
    bucket: BACKFILL_BUCKET,
    key,
    versionId: out.VersionId,
    etag: (out.ETag ?? '').replace(/"/g, ''),
    size: Buffer.byteLength(body),
  };
}

export type { TestS3 };
export {
  BACKFILL_BUCKET,
  continuationEvent,
  lambdaContext,
  REPORTS_BUCKET,
  resumeEvent,
  s3ClientFor,
  s3PutEvent,
  s3PutEventOf,
  startTestS3,
  uploadAndSettle,
};

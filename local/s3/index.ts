/**
 * A small S3-compatible server on 127.0.0.1 for the embedded default: the real
 * `@aws-sdk/client-s3` (path-style) and `aws s3 …` talk to it unchanged, and every created
 * object raises an in-process `ObjectCreated` notification of the exact shape Lambda receives.
 * It replaces s3rver, whose defects (aws-chunked bodies stored verbatim, wrong suffix ranges,
 * nested prefixes missing from delimiter listings) break Parquet footers and streaming uploads.
 */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { S3Event } from 'aws-lambda';
import { makeDirectory } from '../../shared/runtime/makeDirectory.ts';
import { closeServer } from '../runtime/closeServer.ts';
import { objectCreatedEvent, sequencerFrom } from './notification.ts';
import { createS3RequestListener, type ObjectCreatedNotice } from './server.ts';
import { type BucketMount, LocalS3Storage } from './storage.ts';

const HOST = '127.0.0.1';
/** Uploads and downloads in flight at close get this long to finish before they are cut. */
const CLOSE_GRACE_MS = 2_000;

interface LocalS3Options {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  readonly port?: number;
  /** Where buckets and objects are kept; created if missing, reloaded on restart. */
  readonly dataDir: string;
  /** Region in events, `x-amz-bucket-region` and GetBucketLocation (default us-east-1). */
  readonly region?: string;
  /**
   * Called once per created object (PutObject, CompleteMultipartUpload) with a one-record
   * `S3Event`, after the upload has been answered, as S3 notifications are asynchronous.
   * A rejection is written to stderr.
   */
  readonly onObjectCreated?: (event: S3Event) => void | Promise<void>;
  /**
   * Buckets to create at start (existing ones are kept): a name, or a name with versioning on
   * (as the template's backfill bucket has).
   */
  readonly buckets?: readonly (string | { name: string; versioning?: boolean })[];
  /**
   * Buckets served from a directory another component writes (the embedded store's offline
   * files), keys under `prefix` only: see `BucketMount` in storage.ts.
   */
  readonly mounts?: readonly ({ bucket: string } & BucketMount)[];
}

interface LocalS3 {
  /** `http://127.0.0.1:<port>`: `endpoint` + `forcePathStyle: true`, or `--endpoint-url`. */
  readonly endpoint: string;
  readonly port: number;
  readonly dataDir: string;
  /** Resolves when every notification raised so far has been handled. */
  settled(): Promise<void>;
  /** Stops listening, waits for notifications in progress, closes connections. */
  close(): Promise<void>;
}

/**
 * Starts the local S3 server.
 *
 * @example
 * ```typescript
 * import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
 * import { startLocalS3 } from './local/s3/index.ts';
 * const s3 = await startLocalS3({
 *   port: 0,
 *   dataDir: '.skewless/s3',
 *   buckets: [{ name: 'skewless-backfill', versioning: true }],
 *   onObjectCreated: (event) => console.log(event.Records[0]?.s3.object.key),
 * });
 * const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true });
 * await client.send(new PutObjectCommand({ Bucket: 'skewless-backfill', Key: 'a.csv', Body: 'x' }));
 * await s3.close();
 * ```
 */
async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const dataDir = resolve(options.dataDir);
  makeDirectory(dataDir);
  const region = options.region ?? 'us-east-1';
  const storage = new LocalS3Storage(dataDir);
  for (const b of options.buckets ?? []) {
    const bucket = typeof b === 'string' ? { name: b } : b;
    storage.createBucket(bucket.name);
    if (bucket.versioning === true) storage.setVersioning(bucket.name, 'Enabled');
  }
  for (const { bucket, ...mount } of options.mounts ?? []) storage.mountBucket(bucket, mount);
  const pending = new Set<Promise<void>>();
  // Sequencers must grow across restarts too: start from the clock.
  let sequence = BigInt(Date.now()) * 1000n;
  const reportError = (error: unknown): void => {
    process.stderr.write(`local S3: notification handler failed: ${String(error)}\n`);
  };

  const onCreated = (notice: ObjectCreatedNotice): void => {
    const listener = options.onObjectCreated;
    if (listener === undefined) return;
    sequence += 1n;
    const event = objectCreatedEvent({
      bucket: notice.bucket,
      key: notice.key,
      size: notice.version.size,
      eTag: notice.version.etag,
      versionId: notice.versioned ? notice.version.versionId : undefined,
      sequencer: sequencerFrom(sequence),
      eventName: notice.eventName,
      region,
    });
    const delivery = new Promise<void>((done) => setImmediate(done))
      .then(() => listener(event))
      .catch(reportError)
      .finally(() => pending.delete(delivery));
    pending.add(delivery);
  };

  const server: Server = createServer(
    { keepAliveTimeout: 30_000 },
    createS3RequestListener({ storage, region, onCreated })
  );
  const port = await new Promise<number>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, HOST, () => {
      server.off('error', fail);
      done((server.address() as AddressInfo).port);
    });
  });

  const settled = async (): Promise<void> => {
    // Handlers may create objects themselves (reports): wait until nothing is left.
    while (pending.size > 0) await Promise.allSettled([...pending]);
  };
  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    await closeServer(server, CLOSE_GRACE_MS);
    await settled();
  };

  return {
    endpoint: `http://${HOST}:${port}`,
    port,
    dataDir,
    settled,
    close: () => {
      closing ??= close();
      return closing;
    },
  };
}

export type { LocalS3, LocalS3Options };
export { startLocalS3 };

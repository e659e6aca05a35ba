import { randomBytes } from 'node:crypto';
import type { S3Event, S3EventRecord } from 'aws-lambda';

/**
 * S3 event notifications in the exact shape Lambda receives them (event version 2.1), so the
 * local server, the CLI and the tests hand the backfill handler what AWS would.
 */

/**
 * Encodes an object key the way S3 writes it into event notifications: form-URL-encoding, so a
 * space becomes `+` and reserved characters are percent-encoded, while `/` stays readable.
 * Handlers decode it with `decodeURIComponent(key.replace(/\+/g, ' '))`.
 *
 * @example
 * ```typescript
 * import { encodeEventKey } from './local/s3/notification.ts';
 * encodeEventKey('backfill/fraud-cards/2025 Q1=final.csv');
 * // 'backfill/fraud-cards/2025+Q1%3Dfinal.csv'
 * ```
 */
function encodeEventKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/%20/g, '+')
    .replace(/%2F/g, '/')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Reverses {@link encodeEventKey}: what a handler must do with `s3.object.key`. */
function decodeEventKey(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

/** The facts of one created object that go into its notification. */
interface CreatedObject {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  /** Hex MD5 (or multipart ETag) without quotes, as notifications carry it. */
  readonly eTag: string;
  /** Present only for versioned buckets, as on AWS. */
  readonly versionId?: string;
  /** Hex string that orders the events of one key; S3 pads and compares it. */
  readonly sequencer: string;
  readonly eventName?: 'ObjectCreated:Put' | 'ObjectCreated:CompleteMultipartUpload';
  readonly region?: string;
  readonly eventTime?: Date;
  readonly sourceIp?: string;
}

/**
 * One `Records[]` entry of an `ObjectCreated` notification.
 *
 * @example
 * ```typescript
 * const record = objectCreatedRecord({
 *   bucket: 'skewless-backfill', key: 'backfill/fraud-cards/a.csv', size: 42,
 *   eTag: 'd41d8cd98f00b204e9800998ecf8427e', sequencer: '0062E99A88DC407460',
 * });
 * ```
 */
function objectCreatedRecord(object: CreatedObject): S3EventRecord {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const s3Object: S3EventRecord['s3']['object'] = {
    key: encodeEventKey(object.key),
    size: object.size,
    eTag: object.eTag,
    sequencer: object.sequencer,
  };
  if (object.versionId !== undefined) s3Object.versionId = object.versionId;
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: object.region ?? 'us-east-1',
    eventTime: (object.eventTime ?? new Date()).toISOString(),
    eventName: object.eventName ?? 'ObjectCreated:Put',
    userIdentity: { principalId: 'AWS:LOCALPRINCIPAL' },
    requestParameters: { sourceIPAddress: object.sourceIp ?? '127.0.0.1' },
    responseElements: {
      'x-amz-request-id': requestId,
      'x-amz-id-2': randomBytes(24).toString('base64'),
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'skewless-local',
      bucket: {
        name: object.bucket,
        ownerIdentity: { principalId: 'LOCALOWNER' },
        arn: `arn:aws:s3:::${object.bucket}`,
      },
      object: s3Object,
    },
  };
}

/** An `S3Event` with one record per created object. */
function objectCreatedEvent(...objects: CreatedObject[]): S3Event {
  return { Records: objects.map(objectCreatedRecord) };
}

/** Sequencers grow per server: 18 hex digits, like the ones S3 emits. */
function sequencerFrom(counter: bigint): string {
  return counter.toString(16).toUpperCase().padStart(18, '0');
}

export type { CreatedObject };
export { decodeEventKey, encodeEventKey, objectCreatedEvent, sequencerFrom };

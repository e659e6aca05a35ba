import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SkewlessError } from '../errors.ts';
import type { BackfillReport, BackfillState } from './types.ts';

/**
 * The state object of a backfill in the reports bucket, written only with S3 conditional
 * writes: created with `If-None-Match: *` (exactly one event per object version wins the
 * claim, however many deliveries race) and replaced with `If-Match: <ETag>` (compare-and-swap,
 * so only the invocation holding the lease, and holding it *now*, can move the checkpoint).
 */

/** A conditional write lost: someone else claimed or changed the state first. */
class StateConflictError extends SkewlessError {
  readonly key: string;
  constructor(key: string, options?: ErrorOptions) {
    super(`the backfill state ${key} was claimed or changed by another invocation`, options);
    this.name = 'StateConflictError';
    this.key = key;
  }
}

/** A state read back with its ETag, the token for the next compare-and-swap. */
interface VersionedState {
  readonly state: BackfillState;
  readonly etag: string;
}

function isConflict(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  // 409 ConditionalRequestConflict: S3's answer when two conditional writes overlap.
  return (
    e.name === 'PreconditionFailed' ||
    e.name === 'ConditionalRequestConflict' ||
    e.$metadata?.httpStatusCode === 412 ||
    e.$metadata?.httpStatusCode === 409
  );
}

function isMissing(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}

async function put(
  s3: S3Client,
  location: { bucket: string; key: string },
  body: unknown,
  condition: { IfNoneMatch?: string; IfMatch?: string }
): Promise<string> {
  try {
    const out = await s3.send(
      new PutObjectCommand({
        Bucket: location.bucket,
        Key: location.key,
        Body: JSON.stringify(body),
        ContentType: 'application/json',
        ...condition,
      })
    );
    return out.ETag ?? '';
  } catch (error) {
    if (isConflict(error)) throw new StateConflictError(location.key, { cause: error });
    throw error;
  }
}

/**
 * Claims a backfill by creating its state.
 *
 * @throws StateConflictError when the state exists (a repeated or concurrent event)
 * @example
 * ```typescript
 * import { S3Client } from '@aws-sdk/client-s3';
 * import { createState } from './shared/backfill/stateStore.ts';
 * declare const state: import('./shared/backfill/types.ts').BackfillState;
 * const etag = await createState(new S3Client({}), { bucket: 'reports', key: 'backfill/…/state.json' }, state);
 * ```
 */
function createState(
  s3: S3Client,
  location: { bucket: string; key: string },
  state: BackfillState
): Promise<string> {
  return put(s3, location, state, { IfNoneMatch: '*' });
}

/**
 * Replaces the state if it still has `etag`.
 *
 * @throws StateConflictError when it changed meanwhile (the lease was taken over)
 */
function replaceState(
  s3: S3Client,
  location: { bucket: string; key: string },
  state: BackfillState,
  etag: string
): Promise<string> {
  return put(s3, location, state, { IfMatch: etag });
}

/** Reads the state, or undefined when there is none. */
async function readState(
  s3: S3Client,
  location: { bucket: string; key: string }
): Promise<VersionedState | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
    const text = (await out.Body?.transformToString('utf8')) ?? '';
    return { state: JSON.parse(text) as BackfillState, etag: out.ETag ?? '' };
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** Writes the report (unconditionally: it is derived from a finished state, so rewriting is idempotent). */
async function writeReport(
  s3: S3Client,
  location: { bucket: string; key: string },
  report: BackfillReport
): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: location.bucket,
      Key: location.key,
      Body: `${JSON.stringify(report, null, 2)}\n`,
      ContentType: 'application/json',
    })
  );
}

export type { VersionedState };
export { createState, readState, replaceState, StateConflictError, writeReport };

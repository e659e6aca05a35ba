import { setTimeout as sleep } from 'node:timers/promises';
import {
  type SageMakerFeatureStoreRuntimeClient,
  TargetStore,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { EncodedRecord } from '../record/codec.ts';
import { classifyStoreError, isThrottling } from '../store/storeErrors.ts';
import { putEncodedRecord } from '../store/writer.ts';

/**
 * The backfill's only write: PutRecord with `TargetStores: ['OfflineStore']`, so the online
 * store (what the live model reads) is never touched, whatever the event times in the file.
 */
const OFFLINE_ONLY = [TargetStore.OFFLINE_STORE] as const;

/** How one row's write ended. */
type WriteOutcome =
  | { readonly kind: 'written' }
  /** The store said the record is wrong (ValidationError): a reject, never retried. */
  | { readonly kind: 'rejected'; readonly reason: string }
  /** Still failing after every attempt (throttling, 5xx, network): retried in a later invocation. */
  | { readonly kind: 'failed'; readonly error: unknown };

interface WriteOptions {
  /** Attempts in all (each a full SDK call with the SDK's own retries). */
  readonly maxAttempts: number;
  /** Epoch ms after which no new attempt starts. */
  readonly deadline: number;
  readonly now: () => number;
  /** Base of the exponential backoff between attempts (ms). */
  readonly backoffMs?: number;
}

/**
 * Writes one validated record to the offline store, retrying retryable failures with
 * exponential backoff and full jitter (longer after throttling).
 *
 * @example
 * ```typescript
 * import { createFeatureStoreClient } from './shared/runtime/clients.ts';
 * import { toRecord } from './shared/record/codec.ts';
 * import { cards } from './shared/definitions.ts';
 * import { writeOffline } from './shared/backfill/offlineWriter.ts';
 * const encoded = toRecord(cards, { card_id: 'c1', event_time: '2025-01-01T00:00:00Z' });
 * const outcome = await writeOffline(createFeatureStoreClient(), encoded, {
 *   maxAttempts: 4, deadline: Date.now() + 60_000, now: Date.now,
 * });
 * ```
 */
async function writeOffline(
  client: SageMakerFeatureStoreRuntimeClient,
  encoded: EncodedRecord,
  options: WriteOptions
): Promise<WriteOutcome> {
  const base = options.backoffMs ?? 100;
  let lastError: unknown;
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    try {
      await putEncodedRecord(client, encoded, { targetStores: OFFLINE_ONLY });
      return { kind: 'written' };
    } catch (error) {
      if (classifyStoreError(error) === 'rejected') {
        return {
          kind: 'rejected',
          reason: `the store rejected the record: ${(error as Error).message}`,
        };
      }
      lastError = error;
      if (attempt === options.maxAttempts) break;
      const ceiling = Math.min(5_000, base * 2 ** attempt * (isThrottling(error) ? 4 : 1));
      const wait = Math.random() * ceiling;
      if (options.now() + wait >= options.deadline) break;
      await sleep(wait);
    }
  }
  return { kind: 'failed', error: lastError };
}

export type { WriteOptions, WriteOutcome };
export { OFFLINE_ONLY, writeOffline };

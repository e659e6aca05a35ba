/**
 * The online side of the audit: BatchGetRecord with `ExpirationTimeResponse` over any number of
 * identifiers (through `batchGetOnline`, ≤ 100 per call), a bounded number of slices in flight,
 * one retry of what the store left unprocessed; and ListRecords to find identifiers that exist
 * only online.
 */
import {
  ListRecordsCommand,
  type SageMakerFeatureStoreRuntimeClient,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import pLimit from 'p-limit';
import type { FeatureGroup } from '../schema/index.ts';
import { batchGetOnline, type OnlineRecord } from '../store/onlineReader.ts';

/** Identifiers the store did not answer for, with the reason. */
interface UnreadIdentifier {
  readonly recordId: string;
  readonly reason: string;
}

interface OnlineReadResult {
  readonly found: readonly OnlineRecord[];
  readonly unread: readonly UnreadIdentifier[];
}

/** What the audit needs from the online store. */
interface OnlineSide {
  /** Reads the records of `recordIds` with their `ExpiresAt`; absent ones are simply not found. */
  read(group: FeatureGroup, recordIds: readonly string[]): Promise<OnlineReadResult>;
  /** Up to `limit` identifiers of the group's online store (ListRecords), in the store's order. */
  list(group: FeatureGroup, limit: number): Promise<string[]>;
}

const LIST_PAGE_SIZE = 100;
/** Identifiers per `batchGetOnline` call (its chunks of 100 run in parallel). */
const SLICE_SIZE = 500;
/** Slices in flight at once. */
const CONCURRENCY = 4;
/** Pause before retrying unprocessed identifiers, ms. */
const RETRY_DELAY_MS = 200;

/**
 * The online side over a Feature Store runtime client.
 *
 * @example
 * ```typescript
 * import { createFeatureStoreClient } from '../runtime/clients.ts';
 * import { createOnlineSide } from './online.ts';
 *
 * const online = createOnlineSide(createFeatureStoreClient());
 * const { found, unread } = await online.read(cards, ['card-1', 'card-2']);
 * ```
 */
function createOnlineSide(client: SageMakerFeatureStoreRuntimeClient): OnlineSide {
  const limit = pLimit(CONCURRENCY);

  async function readSlice(group: FeatureGroup, ids: readonly string[]): Promise<OnlineReadResult> {
    const found: OnlineRecord[] = [];
    let pending: readonly UnreadIdentifier[] = ids.map((recordId) => ({ recordId, reason: '' }));
    for (let attempt = 0; attempt < 2 && pending.length > 0; attempt++) {
      if (attempt > 0) await new Promise((done) => setTimeout(done, RETRY_DELAY_MS));
      try {
        const result = await batchGetOnline(
          client,
          [{ group, recordIds: pending.map((p) => p.recordId) }],
          { expiration: true }
        );
        found.push(...result.found);
        pending = result.unprocessed.map((u) => ({ recordId: u.recordId, reason: u.reason }));
      } catch (error) {
        const e = error as { name?: string; message?: string };
        const reason = `${e.name ?? 'Error'}: ${e.message ?? String(error)}`;
        pending = pending.map((p) => ({ recordId: p.recordId, reason }));
      }
    }
    return { found, unread: pending };
  }

  return {
    async read(group, recordIds) {
      const slices: string[][] = [];
      for (let i = 0; i < recordIds.length; i += SLICE_SIZE) {
        slices.push(recordIds.slice(i, i + SLICE_SIZE));
      }
      const results = await Promise.all(slices.map((s) => limit(() => readSlice(group, s))));
      return {
        found: results.flatMap((r) => r.found),
        unread: results.flatMap((r) => r.unread),
      };
    },
    async list(group, max) {
      const ids: string[] = [];
      let nextToken: string | undefined;
      while (ids.length < max) {
        const output = await client.send(
          new ListRecordsCommand({
            FeatureGroupName: group.name,
            MaxResults: Math.min(LIST_PAGE_SIZE, max - ids.length),
            NextToken: nextToken,
          })
        );
        ids.push(...(output.RecordIdentifiers ?? []));
        nextToken = output.NextToken;
        if (nextToken === undefined || (output.RecordIdentifiers ?? []).length === 0) break;
      }
      return ids.slice(0, max);
    },
  };
}

export type { OnlineReadResult, OnlineSide, UnreadIdentifier };
export { createOnlineSide };

/**
 * The online side of the audit: BatchGetRecord with `ExpirationTimeResponse` over any number of
 * identifiers (through `batchGetOnline`, ≤ 100 per call), a bounded number of slices in flight,
 * one retry of what the store left unprocessed (throttled, a transient `Errors` item, a call
 * throttled, failed 5xx, timed out or not answered); and ListRecords to find identifiers that
 * exist only online. An `Errors` item whose code no retry changes (AccessForbidden,
 * ResourceNotFound, ValidationError…), or a whole call failed so (IAM denies BatchGetRecord:
 * AccessDeniedException), fails the read with an {@link OnlineReadRefusedError}, hence the group's
 * audit: a group whose online store refuses the audit is not audited, and must not look like one
 * whose reads were throttled.
 */
import {
  ListRecordsCommand,
  type ListRecordsCommandOutput,
  type SageMakerFeatureStoreRuntimeClient,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import pLimit from 'p-limit';
import type { FeatureGroup } from '../schema/index.ts';
import { Limits } from '../schema/limits.ts';
import {
  batchGetOnline,
  type OnlineRecord,
  type RefusedRead,
  refusedReads,
  type UnprocessedRead,
} from '../store/onlineReader.ts';
import {
  describeRefusedIds,
  isRefusedCall,
  isThrottling,
  isTransientError,
  refusedReadMessage,
} from '../store/storeErrors.ts';

/** Identifiers the store did not answer for, with the reason. */
interface UnreadIdentifier {
  readonly recordId: string;
  readonly reason: string;
}

interface OnlineReadResult {
  readonly found: readonly OnlineRecord[];
  readonly unread: readonly UnreadIdentifier[];
}

/**
 * The store refused the audit's reads of a group in a way no retry changes: ids answered with a
 * per-identifier code such as `AccessForbidden` (the audit's role may not read the group), or a
 * whole BatchGetRecord call failed with such an error (IAM denies `sagemaker:BatchGetRecord`:
 * `AccessDeniedException`). The message names the group and the code (and the first id); the
 * store's own message (an IAM text names roles and accounts) is the cause, for the log, not the
 * report.
 */
class OnlineReadRefusedError extends Error {
  private constructor(what: string, code: string, cause: unknown) {
    super(refusedReadMessage(what, code, "the audit's"), { cause });
    this.name = 'OnlineReadRefusedError';
  }

  /** Ids answered with an `Errors` item whose code no retry changes. */
  static ofIds(refused: readonly RefusedRead[]): OnlineReadRefusedError {
    return new OnlineReadRefusedError(
      describeRefusedIds(refused),
      refused[0]?.code ?? 'Unknown',
      new Error(refused[0]?.reason)
    );
  }

  /** A BatchGetRecord call the store answered with an error no retry changes. */
  static ofCall(group: string, error: unknown): OnlineReadRefusedError {
    const code = (error as { name?: string }).name ?? 'Unknown';
    return new OnlineReadRefusedError(
      `feature group "${group}": its BatchGetRecord call failed (${code})`,
      code,
      error
    );
  }
}

/** What the audit needs from the online store. */
interface OnlineSide {
  /**
   * Reads the records of `recordIds` with their `ExpiresAt`; absent ones are simply not found,
   * ones still unprocessed after one retry are `unread`.
   *
   * @throws OnlineReadRefusedError when the store refuses an id, or a whole call, with a code no
   *   retry changes; any other failure no retry changes is thrown as it is
   */
  read(group: FeatureGroup, recordIds: readonly string[]): Promise<OnlineReadResult>;
  /**
   * Up to `limit` identifiers of the group's online store (ListRecords), in the store's order.
   * A page the store still throttles after the SDK's retries ends the scan with what the pages
   * before it listed and the reason in `stoppedBy`; any other failure is thrown.
   */
  list(group: FeatureGroup, limit: number): Promise<OnlineListResult>;
}

interface OnlineListResult {
  readonly recordIds: readonly string[];
  /** Why the scan stopped before `limit` and the end of the store, e.g. `ThrottlingException: …`. */
  readonly stoppedBy?: string;
}

const LIST_PAGE_SIZE = 100;
/** Identifiers per `batchGetOnline` call (its chunks of 100 run in parallel). */
const SLICE_SIZE = 500;
/** Slices in flight at once, over every read of one online side (one limit, shared by them). */
const CONCURRENCY = 4;
/**
 * BatchGetRecord calls one online side has in flight at most: {@link CONCURRENCY} slices of up to
 * 5 calls each (a slice retries its unprocessed ids after its calls have answered; ListRecords
 * runs after a group's reads, never beside them). The client it reads through needs a socket for
 * each: a call queued for a socket counts against the client's request timeout, which fails it.
 */
const ONLINE_CALLS_IN_FLIGHT = CONCURRENCY * Math.ceil(SLICE_SIZE / Limits.batchGetMaxIdentifiers);
/** Pause before retrying unprocessed identifiers, ms. */
const RETRY_DELAY_MS = 200;

function errorText(error: unknown): string {
  const e = error as { name?: string; message?: string };
  return `${e.name ?? 'Error'}: ${e.message ?? String(error)}`;
}

/**
 * The online side over a Feature Store runtime client.
 *
 * @example
 * ```typescript
 * import { createFeatureStoreClient } from '../runtime/clients.ts';
 * import { createOnlineSide, ONLINE_CALLS_IN_FLIGHT } from './online.ts';
 *
 * const online = createOnlineSide(createFeatureStoreClient({ maxSockets: ONLINE_CALLS_IN_FLIGHT }));
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
      let unprocessed: readonly UnprocessedRead[];
      try {
        const result = await batchGetOnline(
          client,
          [{ group, recordIds: pending.map((p) => p.recordId) }],
          { expiration: true }
        );
        found.push(...result.found);
        unprocessed = result.unprocessed;
      } catch (error) {
        // A failed call no retry changes (IAM denies BatchGetRecord, a ValidationError) fails the
        // group as a refused id does; only a throttled call, the store's 5xx or unreachable, a
        // timeout, is retried once, then its ids are unread.
        if (isRefusedCall(error)) throw OnlineReadRefusedError.ofCall(group.name, error);
        if (!isTransientError(error)) throw error;
        const reason = errorText(error);
        pending = pending.map((p) => ({ recordId: p.recordId, reason }));
        continue;
      }
      const refused = refusedReads(unprocessed);
      if (refused.length > 0) throw OnlineReadRefusedError.ofIds(refused);
      pending = unprocessed.map((u) => ({ recordId: u.recordId, reason: u.reason }));
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
        let output: ListRecordsCommandOutput;
        try {
          output = await client.send(
            new ListRecordsCommand({
              FeatureGroupName: group.name,
              MaxResults: Math.min(LIST_PAGE_SIZE, max - ids.length),
              NextToken: nextToken,
            })
          );
        } catch (error) {
          // A page still throttled after the SDK's retries must not throw away the group's whole
          // audit (freshness, staleness, the full coherence pass): the pages listed so far are
          // compared. Anything else (a missing group, no access, a store down) fails the group.
          if (!isThrottling(error)) throw error;
          return { recordIds: ids.slice(0, max), stoppedBy: errorText(error) };
        }
        ids.push(...(output.RecordIdentifiers ?? []));
        nextToken = output.NextToken;
        if (nextToken === undefined || (output.RecordIdentifiers ?? []).length === 0) break;
      }
      return { recordIds: ids.slice(0, max) };
    },
  };
}

export type { OnlineListResult, OnlineReadResult, OnlineSide, UnreadIdentifier };
export { createOnlineSide, ONLINE_CALLS_IN_FLIGHT, OnlineReadRefusedError };

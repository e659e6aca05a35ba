import {
  BatchGetRecordCommand,
  type BatchGetRecordCommandOutput,
  type BatchGetRecordIdentifier,
  GetRecordCommand,
  type SageMakerFeatureStoreRuntimeClient,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { LimitFunction } from 'p-limit';
import { fromRecord } from '../record/codec.ts';
import type { FeatureGroup, RecordOf } from '../schema/index.ts';
import { Limits } from '../schema/limits.ts';
import { isRefusedCall, isTransientErrorCode } from './storeErrors.ts';

/** One record read from the online store, decoded through the schema module. */
interface OnlineRecord<G extends FeatureGroup = FeatureGroup> {
  readonly group: G;
  readonly recordId: string;
  readonly values: RecordOf<G>;
  /** ISO instant when the record expires (only when requested). */
  readonly expiresAt?: string;
}

interface ReadOptions {
  /** Return `expiresAt` (ExpirationTimeResponse=Enabled). */
  readonly expiration?: boolean;
  readonly abortSignal?: AbortSignal;
  /**
   * batchGetOnline only: a chunk whose call fails reports its ids as `unprocessed` (reason: the
   * error) instead of failing the whole read, so one throttled chunk of ten still answers the
   * other nine. The read still throws when every chunk fails, unless `evenWhenAllFail`.
   */
  readonly tolerateChunkFailures?: boolean;
  /**
   * With `tolerateChunkFailures`: never throw for a failed call, even when every chunk fails;
   * every id is then `unprocessed`. For callers that turn a throttled read into a retry of the
   * records that needed it (the derived step of ingest) rather than a function error.
   */
  readonly evenWhenAllFail?: boolean;
  /**
   * batchGetOnline only: bounds its calls in flight. Pass the limiter of the client's other calls
   * (the ingest runtime's, which its BatchWriteRecord calls share) so that the client never has
   * more calls in flight than sockets: a call waiting for a socket has its request and connection
   * timeouts already running, and an unbounded read of many chunks would make a write wait.
   */
  readonly limit?: LimitFunction;
}

/**
 * GetRecord for one identifier. Returns undefined when the store has no live record: never
 * written, deleted, or past its TTL (the store enforces expiry at read time).
 */
async function getOnlineRecord<G extends FeatureGroup>(
  client: SageMakerFeatureStoreRuntimeClient,
  group: G,
  recordId: string,
  features: readonly string[] | undefined,
  options: ReadOptions = {}
): Promise<OnlineRecord<G> | undefined> {
  const output = await client.send(
    new GetRecordCommand({
      FeatureGroupName: group.name,
      RecordIdentifierValueAsString: recordId,
      FeatureNames: features === undefined || features.length === 0 ? undefined : [...features],
      ExpirationTimeResponse: options.expiration ? 'Enabled' : undefined,
    }),
    { abortSignal: options.abortSignal }
  );
  if (output.Record === undefined || output.Record.length === 0) return undefined;
  return { group, recordId, values: fromRecord(group, output.Record), expiresAt: output.ExpiresAt };
}

/** One group's share of a batch read. */
interface BatchReadRequest {
  readonly group: FeatureGroup;
  readonly recordIds: readonly string[];
  readonly features?: readonly string[];
}

/** One id the store did not read, with the reason and where the answer came from. */
interface UnprocessedRead {
  readonly group: string;
  readonly recordId: string;
  readonly reason: string;
  /**
   * `failedCall`: its call failed (`error`, with tolerateChunkFailures); `errorEntry`: an
   * `Errors` item of the answer; `unprocessedIdentifier`: listed in `UnprocessedIdentifiers`
   * (the store could not read it in time: throttling).
   */
  readonly source: 'failedCall' | 'errorEntry' | 'unprocessedIdentifier';
  /** The `ErrorCode` of an `errorEntry` (e.g. `AccessForbidden`, `ThrottlingException`). */
  readonly errorCode?: string;
  readonly error?: unknown;
}

/** An id the store refused to read (see {@link refusedReads}), with its `errorCode` as `code`. */
interface RefusedRead extends UnprocessedRead {
  readonly code: string;
}

interface BatchReadResult {
  readonly found: OnlineRecord[];
  /** Ids the store answered for with no live record. */
  readonly notFound: { group: string; recordId: string }[];
  /** Ids the store did not process (a failed call, an error entry, or unprocessed), with the reason. */
  readonly unprocessed: UnprocessedRead[];
}

/**
 * Split requests into BatchGetRecord calls of at most 100 identifiers in all (the service quota),
 * keeping each group's feature selection, in the order given.
 */
function chunkBatchRequests(requests: readonly BatchReadRequest[]): BatchGetRecordIdentifier[][] {
  const chunks: BatchGetRecordIdentifier[][] = [];
  let current: BatchGetRecordIdentifier[] = [];
  let count = 0;
  for (const request of requests) {
    let offset = 0;
    while (offset < request.recordIds.length) {
      const room = Limits.batchGetMaxIdentifiers - count;
      const ids = request.recordIds.slice(offset, offset + room);
      current.push({
        FeatureGroupName: request.group.name,
        RecordIdentifiersValueAsString: [...ids],
        FeatureNames:
          request.features === undefined || request.features.length === 0
            ? undefined
            : [...request.features],
      });
      count += ids.length;
      offset += ids.length;
      if (count === Limits.batchGetMaxIdentifiers) {
        chunks.push(current);
        current = [];
        count = 0;
      }
    }
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * BatchGetRecord over any number of ids and groups: chunks of ≤ 100 run in parallel; every id
 * ends in exactly one of `found`, `notFound` or `unprocessed`. An `Errors` item of any code is
 * `unprocessed` with its `errorCode`: whether to read it again is the caller's to decide, and
 * {@link refusedReads} picks those no retry changes (`AccessForbidden`, `ValidationError`,
 * `ResourceNotFound`, a code we do not know). This function never retries.
 */
async function batchGetOnline(
  client: SageMakerFeatureStoreRuntimeClient,
  requests: readonly BatchReadRequest[],
  options: ReadOptions = {}
): Promise<BatchReadResult> {
  const groups = new Map(requests.map((r) => [r.group.name, r.group]));
  const chunks = chunkBatchRequests(requests);
  const limit = options.limit;
  const calls = chunks.map((identifiers) => {
    const call = () =>
      client.send(
        new BatchGetRecordCommand({
          Identifiers: identifiers,
          ExpirationTimeResponse: options.expiration ? 'Enabled' : undefined,
        }),
        { abortSignal: options.abortSignal }
      );
    return limit === undefined ? call() : limit(call);
  });
  const result: BatchReadResult = { found: [], notFound: [], unprocessed: [] };
  const accounted = new Set<string>();
  const key = (group: string, id: string) => `${group}\u0000${id}`;
  let outputs: BatchGetRecordCommandOutput[];
  if (options.tolerateChunkFailures) {
    const settled = await Promise.allSettled(calls);
    const failed = settled.find((s) => s.status === 'rejected');
    if (
      failed !== undefined &&
      !options.evenWhenAllFail &&
      settled.every((s) => s.status === 'rejected')
    )
      throw failed.reason;
    outputs = [];
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') outputs.push(s.value);
      else {
        const error = s.reason as { name?: string; message?: string };
        for (const identifier of chunks[i] ?? []) {
          for (const id of identifier.RecordIdentifiersValueAsString ?? []) {
            accounted.add(key(identifier.FeatureGroupName ?? '', id));
            result.unprocessed.push({
              group: identifier.FeatureGroupName ?? '',
              recordId: id,
              reason: `${error.name ?? 'Error'}: ${error.message ?? 'the store call failed'}`,
              source: 'failedCall',
              error: s.reason,
            });
          }
        }
      }
    });
  } else {
    outputs = await Promise.all(calls);
  }
  for (const output of outputs) {
    for (const r of output.Records ?? []) {
      const group = groups.get(r.FeatureGroupName ?? '');
      if (
        group === undefined ||
        r.RecordIdentifierValueAsString === undefined ||
        r.Record === undefined
      )
        continue;
      accounted.add(key(group.name, r.RecordIdentifierValueAsString));
      result.found.push({
        group,
        recordId: r.RecordIdentifierValueAsString,
        values: fromRecord(group, r.Record),
        expiresAt: r.ExpiresAt,
      });
    }
    for (const e of output.Errors ?? []) {
      const group = e.FeatureGroupName ?? '';
      const id = e.RecordIdentifierValueAsString ?? '';
      accounted.add(key(group, id));
      result.unprocessed.push({
        group,
        recordId: id,
        reason: `${e.ErrorCode}: ${e.ErrorMessage}`,
        source: 'errorEntry',
        errorCode: e.ErrorCode ?? 'Unknown',
      });
    }
    for (const u of output.UnprocessedIdentifiers ?? []) {
      for (const id of u.RecordIdentifiersValueAsString ?? []) {
        accounted.add(key(u.FeatureGroupName ?? '', id));
        result.unprocessed.push({
          group: u.FeatureGroupName ?? '',
          recordId: id,
          reason: 'unprocessed by the store (throttled); retry',
          source: 'unprocessedIdentifier',
        });
      }
    }
  }
  for (const request of requests) {
    for (const id of request.recordIds) {
      if (!accounted.has(key(request.group.name, id))) {
        accounted.add(key(request.group.name, id));
        result.notFound.push({ group: request.group.name, recordId: id });
      }
    }
  }
  return result;
}

/**
 * The ids of a batch read's `unprocessed` the store refused with a code no retry changes, with
 * that code: an `Errors` item whose code is not transient (see `isTransientErrorCode`), or a whole
 * call refused (`isRefusedCall`: AccessForbidden, IAM's AccessDeniedException, ResourceNotFound,
 * ValidationError…, a `failedCall` of `tolerateChunkFailures`, the error's name as the code): one
 * call of a read can be refused while another answers, and its ids are refused as surely as an
 * `Errors` item's. Reading them again gets the same answer, so a reader must report them, not
 * retry them as throttled ids; a call throttled, failed with a 5xx or unanswered may succeed again.
 */
function refusedReads(unprocessed: readonly UnprocessedRead[]): RefusedRead[] {
  return unprocessed.flatMap((u): RefusedRead[] => {
    if (u.errorCode !== undefined && !isTransientErrorCode(u.errorCode))
      return [{ ...u, code: u.errorCode }];
    if (u.source === 'failedCall' && isRefusedCall(u.error))
      return [{ ...u, code: (u.error as { name?: string }).name ?? 'Unknown' }];
    return [];
  });
}

export type {
  BatchReadRequest,
  BatchReadResult,
  OnlineRecord,
  ReadOptions,
  RefusedRead,
  UnprocessedRead,
};
export { batchGetOnline, getOnlineRecord, refusedReads };

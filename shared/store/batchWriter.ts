/**
 * BatchWriteRecord writer: the one way Skewless writes many records (ingest, derived state,
 * backfill fallback, batch features).
 *
 * Entries (feature group, encoded record, optional TargetStores / TTL, and a caller reference)
 * are packed into calls of ≤ 25 entries and ≤ 5 MiB (estimated), run with bounded concurrency,
 * and every entry comes back with exactly one outcome, keyed by its caller reference:
 *
 * - `written` — the store accepted it;
 * - `rejected` — the store said the record itself is wrong (`ValidationError`,
 *   `ConflictException`): retrying can never succeed, it belongs in a dead letter / reject file;
 * - `retry` — not written yet: throttled or failed entry, `UnprocessedEntries`, or a whole call that
 *   failed (throttling, 5xx, network, abort) after the SDK's retries. The caller retries later
 *   (Kinesis: `batchItemFailures`). With `refused: true` the store answered with a code no retry
 *   changes (AccessForbidden, ResourceNotFound, IAM's AccessDeniedException…): a deployment to
 *   fix. Ingest still retries those (the stream stalls and alarms rather than dead-lettering
 *   every record); a backfill fails at once, resumable (docs/backfill.md).
 *
 * Retries: one layer, the client's own SDK retry strategy (`shared/runtime/clients.ts`). A whole
 * call is retried by the SDK inside `client.send`. Entries the store answered one by one with a
 * transient code (throttled or 5xx `Errors` items, `UnprocessedEntries`) are re-sent by this
 * writer, in fresh calls, under a token of that same strategy object: same max attempts, same
 * backoff, same client-wide retry quota, credited back only when the last round of re-sends wrote
 * an entry. Once the strategy refuses (attempts or quota exhausted), they end as `retry`. A call
 * that failed whole after the SDK's retries is not re-sent, and neither is an entry the store
 * refused (`refused: true` at its first answer).
 *
 * Whole-call rejections (a `ValidationError` for the request) cannot be attributed to one entry,
 * so a rejected multi-entry call is split into single-entry calls, which name the bad entry.
 * Likewise entries an answer's echo cannot tell apart (two versions of one record at one instant,
 * echoed not byte for byte) are sent again at once, each in a call of its own, in call order:
 * not a retry (whatever `retryEntries` says, outside the strategy's attempts and quota), but the
 * only way to learn which of them the store listed; a transient answer to one of those calls is
 * then re-sent as above.
 */
import {
  BatchWriteRecordCommand,
  type BatchWriteRecordCommandOutput,
  type BatchWriteRecordEntry,
  type SageMakerFeatureStoreRuntimeClient,
  type TargetStore,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import pLimit, { type LimitFunction } from 'p-limit';
import type { EncodedRecord } from '../record/codec.ts';
import { pause } from '../runtime/pause.ts';
import type { Duration } from '../schema/index.ts';
import { Limits } from '../schema/limits.ts';
import { classifyStoreError, isRefusedCall, isTransientErrorCode } from './storeErrors.ts';

/** One record to write. */
interface BatchWriteEntry<Ref> {
  /** The caller's handle for this entry (a Kinesis sequence number, a row number…). */
  readonly ref: Ref;
  /** A record validated and encoded by the schema module (it names its feature group). */
  readonly record: EncodedRecord;
  /** Default: every store of the group. `['OfflineStore']` for backfills. */
  readonly targetStores?: readonly TargetStore[];
  /** Overrides the group's default TTL for this record. */
  readonly ttl?: Duration;
}

/** What happened to one entry. */
type BatchWriteOutcome<Ref> =
  | { readonly status: 'written'; readonly ref: Ref; readonly record: EncodedRecord }
  | {
      readonly status: 'rejected' | 'retry';
      readonly ref: Ref;
      readonly record: EncodedRecord;
      /** The store's error code (`ValidationError`, `ThrottlingException`, `Unprocessed`…). */
      readonly code: string;
      /** Why, in words: the store's message or the call's error. */
      readonly message: string;
      /** `retry` only: the store's answer was a code no retry changes (see the module's doc). */
      readonly refused?: true;
    };

interface BatchWriterOptions {
  /**
   * Bounds the BatchWriteRecord calls in flight; pass one limiter to share the bound with other
   * calls of the same client (default: a fresh limiter of `concurrency`).
   */
  readonly limit?: LimitFunction;
  /** Calls in flight when no `limit` is given (default 8). */
  readonly concurrency?: number;
  /** Aborts every call (e.g. the Lambda deadline); aborted entries end as `retry`. */
  readonly abortSignal?: AbortSignal;
  /**
   * Re-send throttled / unprocessed entries under the client's retry strategy (default true).
   * False reports them as `retry` at once (entries an answer cannot tell apart are still sent
   * again alone, to learn their outcomes: see the module's doc).
   */
  readonly retryEntries?: boolean;
}

const DEFAULT_CONCURRENCY = 8;
/**
 * Estimated request body bytes per call. The service documents 25 entries of ≤ 350 KB each but no
 * request-size figure; this keeps a call of large records from growing to ~9 MB. A single entry
 * larger than this still goes alone in its own call.
 */
const MAX_REQUEST_BYTES = 5 * 1024 * 1024;
/** JSON around one FeatureValue (`{"FeatureName":"","ValueAsString":""},`). */
const FEATURE_VALUE_OVERHEAD = 40;
/** JSON around one entry (group name key, TargetStores, TtlDuration, braces). */
const ENTRY_OVERHEAD = 160;

/** Error codes of per-entry `Errors` items that mean "the record is wrong, never retry". */
function entryErrorKind(code: string): 'rejected' | 'retry' {
  return classifyStoreError({ name: code }) === 'rejected' ? 'rejected' : 'retry';
}

/** Estimated request bytes of one entry, from the record's own size estimate. */
function entryBytes(entry: BatchWriteEntry<unknown>): number {
  return (
    entry.record.sizeBytes +
    entry.record.record.length * FEATURE_VALUE_OVERHEAD +
    entry.record.featureGroup.length +
    ENTRY_OVERHEAD
  );
}

/**
 * Pack entries, in order, into calls of ≤ `maxEntries` and ≤ `maxBytes` (estimated).
 *
 * @example
 * ```typescript
 * const calls = packBatchWriteCalls(entries, 25, 5 * 1024 * 1024); // [[e0…e24], [e25…]]
 * ```
 */
function packBatchWriteCalls<E>(
  entries: readonly E[],
  maxEntries: number = Limits.batchWriteMaxEntries,
  maxBytes: number = MAX_REQUEST_BYTES,
  entryOf: (item: E) => BatchWriteEntry<unknown> = (item) => item as BatchWriteEntry<unknown>
): E[][] {
  const calls: E[][] = [];
  let current: E[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = entryBytes(entryOf(entry));
    if (current.length > 0 && (current.length >= maxEntries || bytes + size > maxBytes)) {
      calls.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) calls.push(current);
  return calls;
}

function requestEntry(entry: BatchWriteEntry<unknown>): BatchWriteRecordEntry {
  return {
    FeatureGroupName: entry.record.featureGroup,
    Record: entry.record.record,
    TargetStores: entry.targetStores === undefined ? undefined : [...entry.targetStores],
    TtlDuration:
      entry.ttl === undefined ? undefined : { Unit: entry.ttl.unit, Value: entry.ttl.value },
  };
}

function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof Error) return { code: error.name, message: error.message };
  return { code: 'Error', message: String(error) };
}

/** Minimal view of the SDK's retry strategy (RetryStrategyV2). */
interface RetryToken {
  getRetryCount(): number;
  getRetryDelay(): number;
}
interface EntryRetryStrategy {
  acquireInitialRetryToken(scope: string): Promise<RetryToken>;
  refreshRetryTokenForRetry(
    token: RetryToken,
    errorInfo: { errorType: 'THROTTLING' | 'TRANSIENT'; error?: unknown }
  ): Promise<RetryToken>;
  recordSuccess(token: RetryToken): void;
}

/** The client's configured retry strategy, when it is a token-based (V2) one. */
async function retryStrategyOf(
  client: SageMakerFeatureStoreRuntimeClient
): Promise<EntryRetryStrategy | undefined> {
  const provider = (client.config as { retryStrategy?: unknown } | undefined)?.retryStrategy;
  const strategy = typeof provider === 'function' ? await provider() : provider;
  const s = strategy as Partial<EntryRetryStrategy> | undefined;
  return typeof s?.acquireInitialRetryToken === 'function' &&
    typeof s.refreshRetryTokenForRetry === 'function'
    ? (s as EntryRetryStrategy)
    : undefined;
}

/**
 * One call. Per-call AbortController linked to the caller's signal, so the SDK's listeners sit on
 * a signal that lives as long as the call (a signal shared by hundreds of calls would pile them up).
 */
async function sendCall(
  client: SageMakerFeatureStoreRuntimeClient,
  entries: readonly BatchWriteEntry<unknown>[],
  signal: AbortSignal | undefined
): Promise<BatchWriteRecordCommandOutput> {
  const controller = signal === undefined ? undefined : new AbortController();
  const forward = (): void => controller?.abort(signal?.reason);
  if (signal?.aborted) forward();
  signal?.addEventListener('abort', forward, { once: true });
  try {
    return await client.send(new BatchWriteRecordCommand({ Entries: entries.map(requestEntry) }), {
      abortSignal: controller?.signal,
    });
  } finally {
    signal?.removeEventListener('abort', forward);
  }
}

type Pending<Ref> = { readonly index: number; readonly entry: BatchWriteEntry<Ref> };

/** The outcome of one call's entries: index → outcome, plus the entries to re-send. */
interface CallResult<Ref> {
  readonly settled: [number, BatchWriteOutcome<Ref>][];
  readonly again: [Pending<Ref>, { code: string; message: string }][];
}

/** A call's answer mapped to its entries, and the entries it cannot tell apart (see below). */
interface MappedCall<Ref> extends CallResult<Ref> {
  /**
   * Entries an echo that is not byte-identical fits more than one of (same group, identifier and
   * event time): which of them the store listed is unknown, so each is sent again alone, in call
   * order, where the answer can only be its own.
   */
  readonly unattributable: readonly Pending<Ref>[];
}

interface WireEntry {
  FeatureGroupName?: string;
  Record?: { FeatureName?: string; ValueAsString?: string; ValueAsStringList?: string[] }[];
}

/**
 * The identity of an entry as the store echoes it in `Errors` / `UnprocessedEntries`: its group
 * and its feature values, in any order.
 */
function wireKey(entry: WireEntry | undefined): string {
  const values = (entry?.Record ?? []).map(
    (v) =>
      `${v.FeatureName ?? ''}\u0001${v.ValueAsString ?? ''}\u0001${(v.ValueAsStringList ?? []).join('\u0002')}`
  );
  return `${entry?.FeatureGroupName ?? ''}\u0000${values.sort().join('\u0000')}`;
}

/**
 * Map a BatchWriteRecord answer back to its entries: an entry not listed in `Errors` nor in
 * `UnprocessedEntries` was written. Listed entries are matched by content (identical copies in
 * one call are interchangeable and matched in order), or, for an echo that is not byte-identical
 * (matched after every byte-identical one), by group and the values of the group's record
 * identifier and event time features: the one such entry not listed yet. When several fit (two
 * versions of one record at one instant), none is guessed: they are returned as `unattributable`,
 * neither written nor failed (a guess could call the failed version written: in neither the store
 * nor the rejects).
 */
function mapCallOutput<Ref>(
  call: readonly Pending<Ref>[],
  output: BatchWriteRecordCommandOutput
): MappedCall<Ref> {
  const settled: [number, BatchWriteOutcome<Ref>][] = [];
  const again: CallResult<Ref>['again'] = [];
  /** Settles an entry: written, or with its failure (status, code, message). */
  const settle = (
    p: Pending<Ref>,
    failure?: Omit<Extract<BatchWriteOutcome<Ref>, { code: string }>, 'ref' | 'record'>
  ): void => {
    const { ref, record } = p.entry;
    settled.push([
      p.index,
      failure === undefined ? { status: 'written', ref, record } : { ...failure, ref, record },
    ]);
  };
  const errors = output.Errors ?? [];
  const unprocessed = output.UnprocessedEntries ?? [];
  if (errors.length > 0 || unprocessed.length > 0) {
    const byKey = new Map<string, Pending<Ref>[]>();
    for (const p of call) {
      const key = wireKey(requestEntry(p.entry) as WireEntry);
      const list = byKey.get(key);
      if (list === undefined) byKey.set(key, [p]);
      else list.push(p);
    }
    // Every echo is matched byte for byte first, then the others fall back: a fallback taken
    // first could take the entry a later echo names exactly (two versions of one record at one
    // instant), leaving that echo's entry unlisted and so 'written'.
    const echoes = [
      ...errors.map((error) => error.Entry as WireEntry | undefined),
      ...unprocessed.map((entry) => entry as WireEntry),
    ];
    const matched = echoes.map((entry) => byKey.get(wireKey(entry))?.shift());
    const listed = new Set(matched.filter((p) => p !== undefined));
    const unattributable = new Set<Pending<Ref>>();
    let unmatched = 0;
    echoes.forEach((entry, i) => {
      if (matched[i] !== undefined) return;
      // Echo not byte-identical (e.g. normalised values): same group, and the same values of
      // the group's identifier and event time features. By name: an entry whose identifier is
      // merely some other feature's value in the echo (a card id in a payment) is another record.
      const echoed = (name: string): string | undefined =>
        entry?.Record?.find((v) => v.FeatureName === name)?.ValueAsString;
      const fits = (p: Pending<Ref>): boolean =>
        p.entry.record.featureGroup === entry?.FeatureGroupName &&
        echoed(p.entry.record.recordIdentifierName) === p.entry.record.recordIdentifier &&
        echoed(p.entry.record.eventTimeName) === p.entry.record.eventTime;
      const near = call.filter((p) => !listed.has(p) && !unattributable.has(p) && fits(p));
      if (near.length === 1) {
        matched[i] = near[0];
        listed.add(near[0] as Pending<Ref>);
      } else if (near.length > 1) {
        for (const p of near) unattributable.add(p);
      } else if (!call.some((p) => unattributable.has(p) && fits(p))) {
        // (An echo fitting entries already sent again alone is theirs: it is answered then.)
        unmatched++;
      }
    });
    errors.forEach((error, i) => {
      const p = matched[i];
      if (p === undefined) return;
      const code = error.ErrorCode ?? 'Unknown';
      const message = error.ErrorMessage ?? 'the store reported an error for this entry';
      if (entryErrorKind(code) === 'rejected') {
        settle(p, { status: 'rejected', code, message });
      } else if (isTransientErrorCode(code)) {
        again.push([p, { code, message }]);
      } else {
        // Refused (AccessForbidden, ResourceNotFound…): a re-send gets the same answer and would
        // only spend the client-wide retry quota that throttled entries and calls need. Still a
        // `retry`, so ingest reports the record and the stream stalls and alarms as before.
        settle(p, { status: 'retry', code, message, refused: true });
      }
    });
    for (const p of matched.slice(errors.length)) {
      if (p === undefined) continue;
      again.push([
        p,
        { code: 'Unprocessed', message: 'listed in UnprocessedEntries by the store' },
      ]);
    }
    for (const p of call) {
      if (listed.has(p) || unattributable.has(p)) continue;
      if (unmatched === 0) {
        settle(p);
      } else {
        // The answer lists entries we cannot attribute: an unlisted entry may be one of them.
        settle(p, {
          status: 'retry',
          code: 'Unattributed',
          message: `the store listed ${unmatched} entr${unmatched === 1 ? 'y' : 'ies'} matching none sent; outcome unknown`,
        });
      }
    }
    return { settled, again, unattributable: [...unattributable] };
  }
  for (const p of call) settle(p);
  return { settled, again, unattributable: [] };
}

/**
 * Write entries with BatchWriteRecord. Resolves with one outcome per entry, in the order given
 * (`outcomes[i]` is for `entries[i]`); never rejects for a store failure — failures are outcomes.
 *
 * @example
 * ```typescript
 * import { writeBatch } from './shared/store/batchWriter.ts';
 *
 * const outcomes = await writeBatch(client, rows.map((row) => ({
 *   ref: row.line, record: row.encoded, targetStores: ['OfflineStore'],
 * })), { concurrency: 4 });
 * for (const o of outcomes) {
 *   if (o.status === 'rejected') reject(o.ref, `${o.code}: ${o.message}`); // never retry
 *   else if (o.status === 'retry') retryLater(o.ref);                     // throttled, 5xx…
 * }
 * ```
 */
async function writeBatch<Ref>(
  client: SageMakerFeatureStoreRuntimeClient,
  entries: readonly BatchWriteEntry<Ref>[],
  options: BatchWriterOptions = {}
): Promise<BatchWriteOutcome<Ref>[]> {
  const outcomes = new Array<BatchWriteOutcome<Ref>>(entries.length);
  if (entries.length === 0) return outcomes;
  const limit = options.limit ?? pLimit(options.concurrency ?? DEFAULT_CONCURRENCY);
  const signal = options.abortSignal;
  const strategy = options.retryEntries === false ? undefined : await retryStrategyOf(client);
  let token = await strategy?.acquireInitialRetryToken('sagemaker-featurestore:BatchWriteRecord');

  const runCall = async (call: Pending<Ref>[]): Promise<CallResult<Ref>> => {
    try {
      const output = await sendCall(
        client,
        call.map((p) => p.entry),
        signal
      );
      const mapped = mapCallOutput(call, output);
      const { settled, again } = mapped;
      // One at a time, in call order: two versions of one record at one instant are written in
      // the order given, as in the call.
      for (const p of mapped.unattributable) {
        const alone = await runCall([p]);
        settled.push(...alone.settled);
        again.push(...alone.again);
      }
      return { settled, again };
    } catch (error) {
      const { code, message } = describeError(error);
      if (classifyStoreError(error) === 'rejected' && call.length > 1) {
        // One bad entry can fail the whole request: find it with one call per entry.
        const parts = await Promise.all(call.map((p) => runCall([p])));
        return {
          settled: parts.flatMap((r) => r.settled),
          again: parts.flatMap((r) => r.again),
        };
      }
      const status = classifyStoreError(error) === 'rejected' ? 'rejected' : 'retry';
      const refused = status === 'retry' && isRefusedCall(error) ? { refused: true as const } : {};
      return {
        settled: call.map((p) => [
          p.index,
          { status, ref: p.entry.ref, record: p.entry.record, code, message, ...refused },
        ]),
        again: [],
      };
    }
  };

  let pending: Pending<Ref>[] = entries.map((entry, index) => ({ index, entry }));
  for (;;) {
    const calls = packBatchWriteCalls(
      pending,
      Limits.batchWriteMaxEntries,
      MAX_REQUEST_BYTES,
      (p) => p.entry
    );
    const results = await Promise.all(calls.map((call) => limit(() => runCall(call))));
    const again: CallResult<Ref>['again'] = [];
    let wroteAny = false;
    for (const result of results) {
      for (const [index, outcome] of result.settled) {
        outcomes[index] = outcome;
        if (outcome.status === 'written') wroteAny = true;
      }
      again.push(...result.again);
    }
    if (again.length === 0) {
      // Credit the strategy (the quota the re-sends spent; the adaptive mode's sending rate) only
      // when entries were re-sent and this last round wrote one, as the SDK credits only a call
      // that succeeded: a round whose entries were all refused, rejected or failed whole is no
      // success. Without re-sends there is nothing of this writer's to credit: the SDK credited
      // each call that succeeded itself, and a second credit would refill the quota twice.
      if (token !== undefined && token.getRetryCount() > 0 && wroteAny) {
        strategy?.recordSuccess(token);
      }
      break;
    }
    let retryToken: RetryToken | undefined;
    if (strategy !== undefined && token !== undefined && !signal?.aborted) {
      try {
        retryToken = await strategy.refreshRetryTokenForRetry(token, {
          errorType: 'THROTTLING',
        });
      } catch {
        retryToken = undefined; // attempts or the retry quota exhausted
      }
    }
    if (retryToken === undefined || signal?.aborted) {
      for (const [p, why] of again) {
        outcomes[p.index] = { status: 'retry', ref: p.entry.ref, record: p.entry.record, ...why };
      }
      break;
    }
    token = retryToken;
    await pause(retryToken.getRetryDelay(), signal);
    pending = again.map(([p]) => p).sort((a, b) => a.index - b.index);
  }
  return outcomes;
}

/**
 * Coalesces single writes into {@link writeBatch} runs: every entry given during one turn of the
 * event loop goes out in the same run (packed into calls of ≤ 25), and each caller gets its own
 * entry's outcome. Lets per-record code (one Kinesis record at a time) write with
 * BatchWriteRecord without knowing about its neighbours.
 *
 * @example
 * ```typescript
 * const queue = new BatchWriteQueue(client, { limit, abortSignal });
 * const outcomes = await Promise.all(records.map((record, i) => queue.write({ ref: i, record })));
 * ```
 */
class BatchWriteQueue {
  readonly #client: SageMakerFeatureStoreRuntimeClient;
  readonly #options: BatchWriterOptions;
  #pending: {
    entry: BatchWriteEntry<unknown>;
    resolve: (outcome: BatchWriteOutcome<unknown>) => void;
  }[] = [];

  constructor(client: SageMakerFeatureStoreRuntimeClient, options: BatchWriterOptions = {}) {
    this.#client = client;
    this.#options = options;
  }

  /** Resolves with the entry's outcome; never rejects (failures are outcomes). */
  write<Ref>(entry: BatchWriteEntry<Ref>): Promise<BatchWriteOutcome<Ref>> {
    return new Promise((resolve) => {
      if (this.#pending.length === 0) setImmediate(() => void this.#flush());
      this.#pending.push({
        entry,
        resolve: resolve as (outcome: BatchWriteOutcome<unknown>) => void,
      });
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    let outcomes: BatchWriteOutcome<unknown>[];
    try {
      outcomes = await writeBatch(
        this.#client,
        batch.map((p) => p.entry),
        this.#options
      );
    } catch (error) {
      // writeBatch turns store failures into outcomes; anything else still must not strand callers.
      const { code, message } = describeError(error);
      outcomes = batch.map((p) => ({
        status: 'retry',
        ref: p.entry.ref,
        record: p.entry.record,
        code,
        message,
      }));
    }
    batch.forEach((p, i) => {
      p.resolve(outcomes[i] as BatchWriteOutcome<unknown>);
    });
  }
}

export type { BatchWriteEntry, BatchWriteOutcome, BatchWriterOptions };
export { BatchWriteQueue, packBatchWriteCalls, writeBatch };

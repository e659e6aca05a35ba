/**
 * Writes validated rows of a batch drop to both stores with BatchWriteRecord (the one writer,
 * `shared/store/batchWriter.ts`), after reading the online values of their identifiers to know
 * what each row does online (`onlineEffect.ts`): the row that ends up online for an identifier
 * goes to both stores, every other row to the offline store only.
 *
 * Runs of rows may be written concurrently; runs sharing an identifier are serialised on it, so a
 * later run reads the online value an earlier run wrote and the counts stay exact. Within a run,
 * rows of one identifier at one event time are written in file order (see
 * `inFileOrderPerInstant`).
 */
import type { SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { LimitFunction } from 'p-limit';
import type { RefusedCall } from '../backfill/chunkedSink.ts';
import type { EncodedRecord } from '../record/codec.ts';
import type { FeatureGroup } from '../schema/index.ts';
import { writeBatch } from '../store/batchWriter.ts';
import { batchGetOnline, refusedReads } from '../store/onlineReader.ts';
import {
  type BatchRow,
  type OnlineEffect,
  type OnlineVersion,
  planBatchWrites,
  versionOfOnline,
} from './onlineEffect.ts';

/** What happened to one row. */
type BatchRowOutcome<Ref> =
  | { readonly status: 'written'; readonly ref: Ref; readonly effect: OnlineEffect }
  | {
      readonly status: 'rejected' | 'retry';
      readonly ref: Ref;
      readonly code: string;
      readonly message: string;
      /** The store answered `code`, which no retry changes, to this call (see ChunkOutcome). */
      readonly refused?: true;
      readonly refusedCall?: RefusedCall;
    };

interface BothStoresSinkOptions {
  /** Bounds the BatchWriteRecord / BatchGetRecord calls in flight (shared by every run). */
  readonly limit: LimitFunction;
  /**
   * Dry run: read online, count, write nothing. The online versions the drop would leave are
   * kept in memory (one entry per identifier seen) so repeated identifiers count as in a real run.
   */
  readonly dryRun?: boolean;
  /** Aborts store calls (the invocation's deadline); aborted rows end as `retry`. */
  readonly abortSignal?: AbortSignal;
}

/**
 * The both-stores sink of one drop (one feature group).
 *
 * @example
 * ```typescript
 * import pLimit from 'p-limit';
 * const sink = new BothStoresSink(client, cards, { limit: pLimit(8) });
 * const outcomes = await sink.write(rows); // [{ status: 'written', ref, effect: 'changed' }, …]
 * ```
 */
class BothStoresSink {
  private readonly client: SageMakerFeatureStoreRuntimeClient;
  private readonly group: FeatureGroup;
  private readonly options: BothStoresSinkOptions;
  /** Identifier → the run writing it now. */
  private readonly busy = new Map<string, Promise<void>>();
  /** Dry run only: identifier → the online version the drop has led to so far. */
  private readonly simulated = new Map<string, OnlineVersion | undefined>();

  constructor(
    client: SageMakerFeatureStoreRuntimeClient,
    group: FeatureGroup,
    options: BothStoresSinkOptions
  ) {
    this.client = client;
    this.group = group;
    this.options = options;
  }

  /**
   * Writes a run of rows (in file order; every row of this group) and resolves with one outcome
   * per row, in the same order. Never rejects for a store failure: failures are outcomes.
   */
  async write<Ref>(rows: readonly BatchRow<Ref>[]): Promise<BatchRowOutcome<Ref>[]> {
    const ids = [...new Set(rows.map((r) => r.record.recordIdentifier))];
    const waitFor = ids.map((id) => this.busy.get(id)).filter((p) => p !== undefined);
    let release = (): void => {};
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    for (const id of ids) this.busy.set(id, mine);
    try {
      await Promise.all(waitFor);
      return await this.writeRun(rows, ids);
    } finally {
      for (const id of ids) if (this.busy.get(id) === mine) this.busy.delete(id);
      release();
    }
  }

  private async readOnline(ids: readonly string[]): Promise<{
    current: Map<string, OnlineVersion | undefined>;
    unread: Map<string, string>;
    /** Unread ids the store refused with a code no retry changes → that code. */
    refused: Map<string, string>;
  }> {
    const current = new Map<string, OnlineVersion | undefined>();
    const unread = new Map<string, string>();
    const refused = new Map<string, string>();
    const toRead = this.options.dryRun ? ids.filter((id) => !this.simulated.has(id)) : ids;
    if (this.options.dryRun) for (const id of ids) current.set(id, this.simulated.get(id));
    if (toRead.length === 0) return { current, unread, refused };
    try {
      // Every failed call, even all of them, leaves its ids `unprocessed`: a call refused is
      // told apart from one throttled the same way whether or not another call answered.
      // One slot per BatchGetRecord call (not one for the whole read): the limiter has as many
      // slots as the client has sockets, and the next run's read overlaps this run's writes.
      const read = await batchGetOnline(this.client, [{ group: this.group, recordIds: toRead }], {
        tolerateChunkFailures: true,
        evenWhenAllFail: true,
        abortSignal: this.options.abortSignal,
        limit: this.options.limit,
      });
      for (const r of read.found) {
        current.set(
          r.recordId,
          versionOfOnline(this.group, r.values as Readonly<Record<string, unknown>>)
        );
      }
      for (const r of read.notFound) current.set(r.recordId, undefined);
      for (const r of read.unprocessed) unread.set(r.recordId, r.reason);
      for (const r of refusedReads(read.unprocessed)) refused.set(r.recordId, r.code);
    } catch (error) {
      // Not a call's answer (e.g. an answer that does not decode): a retry.
      const reason = `${(error as Error).name ?? 'Error'}: ${(error as Error).message}`;
      for (const id of toRead) unread.set(id, reason);
    }
    return { current, unread, refused };
  }

  private async writeRun<Ref>(
    rows: readonly BatchRow<Ref>[],
    ids: readonly string[]
  ): Promise<BatchRowOutcome<Ref>[]> {
    const { current, unread, refused } = await this.readOnline(ids);
    // Rows whose identifier could not be read are not written: their effect is unknown. A read
    // throttled or failed is a retry; one the store refused with a code no retry changes
    // (AccessForbidden…) is marked `refused`, as a write refused so is (docs/batch.md).
    const readable = rows
      .map((row, index) => ({ ref: index, record: row.record }))
      .filter((r) => !unread.has(r.record.recordIdentifier));
    const { planned, after } = planBatchWrites(this.group, readable, current);
    const outcomes: BatchRowOutcome<Ref>[] = rows.map((r) => {
      const id = r.record.recordIdentifier;
      const code = refused.get(id);
      return {
        status: 'retry',
        ref: r.ref,
        code: code ?? 'OnlineReadFailed',
        message: `the online value of "${id}" could not be read: ${unread.get(id) ?? 'unknown'}`,
        ...(code !== undefined ? { refused: true, refusedCall: 'BatchGetRecord' as const } : {}),
      };
    });
    const refOf = (index: number): Ref => (rows[index] as BatchRow<Ref>).ref;
    if (this.options.dryRun) {
      for (const [id, version] of after) this.simulated.set(id, version);
      for (const p of planned) {
        outcomes[p.ref] = { status: 'written', ref: refOf(p.ref), effect: p.effect };
      }
      return outcomes;
    }
    /** (identifier, event time) of rows not written: later rows of theirs are held back. */
    const notWritten = new Set<string>();
    for (const wave of inFileOrderPerInstant(planned)) {
      const ready = wave.filter((p) => !notWritten.has(instantOf(p.record)));
      for (const p of wave) {
        if (ready.includes(p)) continue;
        outcomes[p.ref] = {
          status: 'retry',
          ref: refOf(p.ref),
          code: 'EarlierRowNotWritten',
          message: `an earlier row of "${p.record.recordIdentifier}" at the same event time was not written; this one is written after it`,
        };
      }
      const written = await writeBatch(
        this.client,
        ready.map((p) => ({
          ref: p,
          record: p.record,
          ...(p.targetStores === undefined ? {} : { targetStores: p.targetStores }),
        })),
        { limit: this.options.limit, abortSignal: this.options.abortSignal }
      );
      for (const o of written) {
        const ref = refOf(o.ref.ref);
        if (o.status !== 'written') notWritten.add(instantOf(o.ref.record));
        outcomes[o.ref.ref] =
          o.status === 'written'
            ? { status: 'written', ref, effect: o.ref.effect }
            : {
                status: o.status,
                ref,
                code: o.code,
                message: o.message,
                ...(o.status === 'retry' && o.refused === true ? { refused: true } : {}),
              };
      }
    }
    return outcomes;
  }
}

function instantOf(record: EncodedRecord): string {
  return `${record.recordIdentifier}\u0000${record.eventTimeEpochNanos}`;
}

/**
 * The planned rows in waves that each hold at most one row per (identifier, event time), in file
 * order: the first wave the first row of each, the next the second, and so on (most drops are one
 * wave). The waves are written one after the other. Rows of one call, or of calls in flight
 * together, reach the store in any order, and at an equal event time the store keeps the last
 * write it receives: online, and offline by `api_invocation_time`. Within a wave no two rows
 * compete; across waves the file's later row is written later, so the offline store's latest row
 * (what a training set and the audit read) is the one the online store serves.
 */
function inFileOrderPerInstant<P extends { readonly record: EncodedRecord }>(
  planned: readonly P[]
): P[][] {
  const waves: P[][] = [];
  const seen = new Map<string, number>();
  for (const p of planned) {
    const key = instantOf(p.record);
    const wave = seen.get(key) ?? 0;
    seen.set(key, wave + 1);
    const list = waves[wave] ?? [];
    waves[wave] = list;
    list.push(p);
  }
  return waves;
}

export type { BatchRowOutcome, BothStoresSinkOptions };
export { BothStoresSink };

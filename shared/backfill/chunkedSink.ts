import type { EncodedRecord } from '../record/codec.ts';
import { describeRefusedIds, isAccessRefusal } from '../store/storeErrors.ts';
import { type RowSink, type SinkCheckpoint, type SinkEvents, StoreRefusedError } from './sink.ts';

/** The store call a row's refusal came from. */
type RefusedCall = 'BatchWriteRecord' | 'BatchGetRecord';

/** The outcome of one row of a chunk, as the store writers report it. */
type ChunkOutcome =
  | { readonly status: 'written'; readonly ref: number }
  | {
      readonly status: 'rejected' | 'retry';
      readonly ref: number;
      /** The store's code (`AccessForbidden`, `ThrottlingException`…) or the writer's. */
      readonly code: string;
      readonly message: string;
      /**
       * `retry` only: the store answered `code`, which no retry changes (`isRefusedCall`,
       * `refusedReads`): the backfill fails at once, resumable.
       */
      readonly refused?: true;
      /** The call refused (default `BatchWriteRecord`, as the writer's outcomes are). */
      readonly refusedCall?: RefusedCall;
    };

/** A row the store refused, named for the refusal's line (its store message is the cause). */
interface RefusedRow {
  readonly ref: number;
  readonly group: string;
  readonly recordId: string;
  readonly code: string;
  readonly message: string;
}

/** What to check when the store refuses `call` for a group, by its code. */
function refusalHint(call: RefusedCall, code: string, group: string): string {
  if (isAccessRefusal(code)) return `the function's role needs sagemaker:${call} on "${group}"`;
  if (code === 'ResourceNotFound')
    return `"${group}" is not in the feature store: deploy the feature groups generated from shared/definitions.ts`;
  return `check the function's role and the feature group "${group}"`;
}

/**
 * The buffering and backpressure of the sinks that write rows through the Feature Store API
 * (offline-only records, both-stores batch drops): rows are buffered into chunks of `chunkRows`,
 * at most `maxInFlight` chunks are written at once, and each chunk's per-row outcomes become
 * {@link SinkEvents} (written / rejected by the store / failed, retried from the checkpoint).
 * A subclass says how one row is buffered and how a chunk is written.
 */
abstract class ChunkedSink<
  Entry extends { readonly ref: number; readonly record: EncodedRecord },
  Outcome extends ChunkOutcome,
> implements RowSink
{
  protected readonly events: SinkEvents;
  private readonly chunkRows: number;
  private readonly maxInFlight: number;
  private buffer: Entry[] = [];
  private chunksInFlight = 0;
  private rowsInFlight = 0;
  private waiters: (() => void)[] = [];

  constructor(events: SinkEvents, chunkRows: number, maxInFlight: number) {
    this.events = events;
    this.chunkRows = chunkRows;
    this.maxInFlight = maxInFlight;
  }

  /** The buffered form of one validated row. */
  protected abstract entry(index: number, record: EncodedRecord): Entry;
  /** Writes one chunk; one outcome per entry (a rejected promise fails the whole chunk). */
  protected abstract writeChunk(entries: Entry[]): Promise<readonly Outcome[]>;
  abstract checkpoint(): SinkCheckpoint;
  /** Hook for what a written row means beyond "written" (e.g. its effect online). */
  protected onWritten(_outcome: Outcome & { readonly status: 'written' }): void {}

  get pending(): number {
    return this.buffer.length + this.rowsInFlight;
  }

  async add(index: number, record: EncodedRecord): Promise<void> {
    this.buffer.push(this.entry(index, record));
    if (this.buffer.length < this.chunkRows) return;
    while (this.chunksInFlight >= this.maxInFlight) await this.next();
    this.send();
  }

  async makeRoom(): Promise<void> {
    if (this.buffer.length > 0 && this.chunksInFlight < this.maxInFlight) this.send();
    else if (this.chunksInFlight > 0) await this.next();
  }

  async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      while (this.chunksInFlight >= this.maxInFlight) await this.next();
      this.send();
    }
    while (this.chunksInFlight > 0) await this.next();
  }

  canStopBefore(): boolean {
    return true;
  }

  private send(): void {
    const entries = this.buffer;
    this.buffer = [];
    this.chunksInFlight += 1;
    this.rowsInFlight += entries.length;
    void this.writeChunk(entries)
      .then(
        (outcomes) => this.report(entries, outcomes),
        (error: unknown) =>
          this.events.failed(
            entries.map((e) => e.ref),
            error
          )
      )
      .finally(() => {
        this.chunksInFlight -= 1;
        this.rowsInFlight -= entries.length;
        const waiters = this.waiters;
        this.waiters = [];
        for (const wake of waiters) wake();
      });
  }

  private report(entries: readonly Entry[], outcomes: readonly Outcome[]): void {
    const written: number[] = [];
    const failed: number[] = [];
    let failure: string | undefined;
    /** Rows refused, by call; the chunk's records are looked up only when one is refused. */
    const refused = new Map<RefusedCall, RefusedRow[]>();
    let recordOf: Map<number, EncodedRecord> | undefined;
    for (const outcome of outcomes) {
      if (outcome.status === 'written') {
        written.push(outcome.ref);
        this.onWritten(outcome as Outcome & { readonly status: 'written' });
      } else if (outcome.status === 'rejected') {
        this.events.rejected(
          outcome.ref,
          `the store rejected the record: ${outcome.code}: ${outcome.message}`
        );
      } else if (outcome.refused === true) {
        recordOf ??= new Map(entries.map((e) => [e.ref, e.record]));
        const record = recordOf.get(outcome.ref) as EncodedRecord;
        const call = outcome.refusedCall ?? 'BatchWriteRecord';
        const list = refused.get(call) ?? [];
        refused.set(call, list);
        list.push({
          ref: outcome.ref,
          group: record.featureGroup,
          recordId: record.recordIdentifier,
          code: outcome.code,
          message: outcome.message,
        });
      } else {
        failed.push(outcome.ref);
        failure = `${outcome.code}: ${outcome.message}`;
      }
    }
    if (written.length > 0) this.events.written(written);
    if (failed.length > 0) this.events.failed(failed, new Error(failure));
    for (const [call, rows] of refused) {
      const first = rows[0] as RefusedRow;
      this.events.failed(
        rows.map((r) => r.ref),
        new StoreRefusedError(
          `the feature store refused ${call} for ${describeRefusedIds(rows)}`,
          refusalHint(call, first.code, first.group),
          { cause: new Error(first.message) }
        )
      );
    }
  }

  private next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

export type { ChunkOutcome, RefusedCall };
export { ChunkedSink };

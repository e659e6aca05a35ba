/**
 * The write side of a batch drop in the backfill pipeline (`shared/backfill/sink.ts`): the
 * pipeline reads, validates, checkpoints and reports exactly as for a backfill; this sink groups
 * its rows into runs and writes each run to both stores through {@link BothStoresSink}, counting
 * what the written rows did to the online values (kept in the checkpoint, so the counts survive
 * continuations and end in the report).
 */
import type { SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import pLimit from 'p-limit';
import {
  type OnlineValueCounts,
  type RowSink,
  type SinkCheckpoint,
  type SinkEvents,
  WriteMode,
} from '../backfill/sink.ts';
import type { EncodedRecord } from '../record/codec.ts';
import type { FeatureGroup } from '../schema/index.ts';
import { Limits } from '../schema/limits.ts';
import { BothStoresSink } from './bothStoresSink.ts';
import type { BatchRow } from './onlineEffect.ts';

interface BatchRowSinkOptions {
  readonly client: SageMakerFeatureStoreRuntimeClient;
  readonly group: FeatureGroup;
  readonly events: SinkEvents;
  /** BatchWriteRecord / BatchGetRecord calls in flight. */
  readonly concurrency: number;
  /** Counts of earlier invocations (from the checkpoint). */
  readonly onlineValues?: OnlineValueCounts;
  /** Count and read online, write nothing (`skewless batch --dry-run`). */
  readonly dryRun?: boolean;
}

const NO_COUNTS: OnlineValueCounts = { changed: 0, unchanged: 0, stayed: 0 };

/**
 * Rows are written in runs of `25 × concurrency` (one BatchWriteRecord call per slot, after one
 * BatchGetRecord per 100 identifiers); two runs are in flight so reading the next run overlaps
 * writing the last one.
 */
const RUNS_IN_FLIGHT = 2;

class BatchRowSink implements RowSink {
  private readonly sink: BothStoresSink;
  private readonly events: SinkEvents;
  private readonly runRows: number;
  private counts: { changed: number; unchanged: number; stayed: number };
  private buffer: BatchRow<number>[] = [];
  private runsInFlight = 0;
  private rowsInFlight = 0;
  private waiters: (() => void)[] = [];

  constructor(options: BatchRowSinkOptions) {
    this.sink = new BothStoresSink(options.client, options.group, {
      limit: pLimit(options.concurrency),
      ...(options.dryRun === true ? { dryRun: true } : {}),
    });
    this.events = options.events;
    this.runRows = Limits.batchWriteMaxEntries * options.concurrency;
    this.counts = { ...(options.onlineValues ?? NO_COUNTS) };
  }

  get pending(): number {
    return this.buffer.length + this.rowsInFlight;
  }

  async add(index: number, record: EncodedRecord): Promise<void> {
    this.buffer.push({ ref: index, record });
    if (this.buffer.length < this.runRows) return;
    while (this.runsInFlight >= RUNS_IN_FLIGHT) await this.next();
    this.send();
  }

  async makeRoom(): Promise<void> {
    if (this.buffer.length > 0 && this.runsInFlight < RUNS_IN_FLIGHT) this.send();
    else if (this.runsInFlight > 0) await this.next();
  }

  async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      while (this.runsInFlight >= RUNS_IN_FLIGHT) await this.next();
      this.send();
    }
    while (this.runsInFlight > 0) await this.next();
  }

  canStopBefore(): boolean {
    return true;
  }

  checkpoint(): SinkCheckpoint {
    return { writeMode: WriteMode.BothStores, onlineValues: { ...this.counts } };
  }

  private send(): void {
    const rows = this.buffer;
    this.buffer = [];
    this.runsInFlight += 1;
    this.rowsInFlight += rows.length;
    void this.sink
      .write(rows)
      .then(
        (outcomes) => {
          const written: number[] = [];
          const failed: number[] = [];
          let failure: string | undefined;
          for (const outcome of outcomes) {
            if (outcome.status === 'written') {
              written.push(outcome.ref);
              this.counts[outcome.effect] += 1;
            } else if (outcome.status === 'rejected') {
              this.events.rejected(
                outcome.ref,
                `the store rejected the record: ${outcome.code}: ${outcome.message}`
              );
            } else {
              failed.push(outcome.ref);
              failure = `${outcome.code}: ${outcome.message}`;
            }
          }
          if (written.length > 0) this.events.written(written);
          if (failed.length > 0) this.events.failed(failed, new Error(failure));
        },
        (error: unknown) =>
          this.events.failed(
            rows.map((r) => r.ref),
            error
          )
      )
      .finally(() => {
        this.runsInFlight -= 1;
        this.rowsInFlight -= rows.length;
        const waiters = this.waiters;
        this.waiters = [];
        for (const wake of waiters) wake();
      });
  }

  private next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

export type { BatchRowSinkOptions };
export { BatchRowSink };

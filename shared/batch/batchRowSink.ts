/**
 * The write side of a batch drop in the backfill pipeline (`shared/backfill/sink.ts`): the
 * pipeline reads, validates, checkpoints and reports exactly as for a backfill; this sink groups
 * its rows into runs and writes each run to both stores through {@link BothStoresSink}, counting
 * what the written rows did to the online values (kept in the checkpoint, so the counts survive
 * continuations and end in the report).
 */
import type { SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import pLimit from 'p-limit';
import { ChunkedSink } from '../backfill/chunkedSink.ts';
import {
  type OnlineValueCounts,
  type SinkCheckpoint,
  type SinkEvents,
  WriteMode,
} from '../backfill/sink.ts';
import type { EncodedRecord } from '../record/codec.ts';
import type { FeatureGroup } from '../schema/index.ts';
import { Limits } from '../schema/limits.ts';
import { type BatchRowOutcome, BothStoresSink } from './bothStoresSink.ts';
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

class BatchRowSink extends ChunkedSink<BatchRow<number>, BatchRowOutcome<number>> {
  private readonly sink: BothStoresSink;
  private counts: { changed: number; unchanged: number; stayed: number };

  constructor(options: BatchRowSinkOptions) {
    super(options.events, Limits.batchWriteMaxEntries * options.concurrency, RUNS_IN_FLIGHT);
    this.sink = new BothStoresSink(options.client, options.group, {
      limit: pLimit(options.concurrency),
      ...(options.dryRun === true ? { dryRun: true } : {}),
    });
    this.counts = { ...(options.onlineValues ?? NO_COUNTS) };
  }

  checkpoint(): SinkCheckpoint {
    return { writeMode: WriteMode.BothStores, onlineValues: { ...this.counts } };
  }

  protected entry(index: number, record: EncodedRecord): BatchRow<number> {
    return { ref: index, record };
  }

  protected writeChunk(rows: BatchRow<number>[]): Promise<readonly BatchRowOutcome<number>[]> {
    return this.sink.write(rows);
  }

  protected override onWritten(outcome: BatchRowOutcome<number> & { status: 'written' }): void {
    this.counts[outcome.effect] += 1;
  }
}

export type { BatchRowSinkOptions };
export { BatchRowSink };

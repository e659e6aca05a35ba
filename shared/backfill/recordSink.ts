import {
  type SageMakerFeatureStoreRuntimeClient,
  TargetStore,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { EncodedRecord } from '../record/codec.ts';
import { Limits } from '../schema/limits.ts';
import { type BatchWriteEntry, writeBatch } from '../store/batchWriter.ts';
import { type RowSink, type SinkCheckpoint, type SinkEvents, WriteMode } from './sink.ts';

/**
 * Offline-only record writes: BatchWriteRecord (`shared/store/batchWriter.ts`, ≤ 25 entries per
 * call) with `TargetStores: ["OfflineStore"]`, so the online store (what the live model reads) is
 * never touched whatever the event times in the file. For Iceberg groups and offline stores the
 * function cannot write directly. Retries are the SDK's retry strategy (configured once in
 * `shared/runtime/clients.ts`, also used by the writer for throttled and unprocessed entries); a
 * row still not written after it is reported `failed` and retried from the checkpoint by a later
 * invocation.
 */
const OFFLINE_ONLY = [TargetStore.OFFLINE_STORE] as const;

class OfflineRecordSink implements RowSink {
  private readonly client: SageMakerFeatureStoreRuntimeClient;
  private readonly concurrency: number;
  private readonly events: SinkEvents;
  private buffer: BatchWriteEntry<number>[] = [];
  private callsInFlight = 0;
  private rowsInFlight = 0;
  private waiters: (() => void)[] = [];

  /**
   * @param concurrency - BatchWriteRecord calls in flight
   */
  constructor(client: SageMakerFeatureStoreRuntimeClient, concurrency: number, events: SinkEvents) {
    this.client = client;
    this.concurrency = concurrency;
    this.events = events;
  }

  get pending(): number {
    return this.buffer.length + this.rowsInFlight;
  }

  async add(index: number, record: EncodedRecord): Promise<void> {
    this.buffer.push({ ref: index, record, targetStores: OFFLINE_ONLY });
    if (this.buffer.length < Limits.batchWriteMaxEntries) return;
    while (this.callsInFlight >= this.concurrency) await this.next();
    this.send();
  }

  async makeRoom(): Promise<void> {
    if (this.buffer.length > 0 && this.callsInFlight < this.concurrency) this.send();
    else if (this.callsInFlight > 0) await this.next();
  }

  async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      while (this.callsInFlight >= this.concurrency) await this.next();
      this.send();
    }
    while (this.callsInFlight > 0) await this.next();
  }

  canStopBefore(): boolean {
    return true;
  }

  checkpoint(): SinkCheckpoint {
    return { writeMode: WriteMode.Records };
  }

  private send(): void {
    const entries = this.buffer;
    this.buffer = [];
    this.callsInFlight += 1;
    this.rowsInFlight += entries.length;
    void writeBatch(this.client, entries, { concurrency: 1 })
      .then(
        (outcomes) => {
          const written: number[] = [];
          const failed: number[] = [];
          let failure: string | undefined;
          for (const outcome of outcomes) {
            if (outcome.status === 'written') written.push(outcome.ref);
            else if (outcome.status === 'rejected') {
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
            entries.map((e) => e.ref),
            error
          )
      )
      .finally(() => {
        this.callsInFlight -= 1;
        this.rowsInFlight -= entries.length;
        const waiters = this.waiters;
        this.waiters = [];
        for (const wake of waiters) wake();
      });
  }

  private next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

export { OFFLINE_ONLY, OfflineRecordSink };

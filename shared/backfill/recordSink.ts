import {
  type SageMakerFeatureStoreRuntimeClient,
  TargetStore,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { EncodedRecord } from '../record/codec.ts';
import { classifyStoreError } from '../store/storeErrors.ts';
import { putEncodedRecord } from '../store/writer.ts';
import { type RowSink, type SinkCheckpoint, type SinkEvents, WriteMode } from './sink.ts';

/**
 * Offline-only record writes (`TargetStores: ["OfflineStore"]`), so the online store (what the
 * live model reads) is never touched whatever the event times in the file. For Iceberg groups
 * and offline stores the function cannot write directly. The SDK's retry strategy (configured
 * once in `shared/runtime/clients.ts`) retries throttling and 5xx; a row still failing after it
 * is reported `failed` and retried from the checkpoint by a later invocation.
 */
const OFFLINE_ONLY = [TargetStore.OFFLINE_STORE] as const;

class OfflineRecordSink implements RowSink {
  private readonly client: SageMakerFeatureStoreRuntimeClient;
  private readonly concurrency: number;
  private readonly events: SinkEvents;
  private inFlight = 0;
  private waiters: (() => void)[] = [];

  constructor(client: SageMakerFeatureStoreRuntimeClient, concurrency: number, events: SinkEvents) {
    this.client = client;
    this.concurrency = concurrency;
    this.events = events;
  }

  get pending(): number {
    return this.inFlight;
  }

  async add(index: number, record: EncodedRecord): Promise<void> {
    this.inFlight += 1;
    void putEncodedRecord(this.client, record, { targetStores: OFFLINE_ONLY }).then(
      () => this.settle(() => this.events.written([index])),
      (error: unknown) =>
        this.settle(() =>
          classifyStoreError(error) === 'rejected'
            ? this.events.rejected(
                index,
                `the store rejected the record: ${(error as Error).message}`
              )
            : this.events.failed([index], error)
        )
    );
    while (this.inFlight >= this.concurrency) await this.next();
  }

  async makeRoom(): Promise<void> {
    if (this.inFlight > 0) await this.next();
  }

  async drain(): Promise<void> {
    while (this.inFlight > 0) await this.next();
  }

  canStopBefore(): boolean {
    return true;
  }

  checkpoint(): SinkCheckpoint {
    return { writeMode: WriteMode.Records };
  }

  private settle(report: () => void): void {
    this.inFlight -= 1;
    report();
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

export { OFFLINE_ONLY, OfflineRecordSink };

import {
  type SageMakerFeatureStoreRuntimeClient,
  TargetStore,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { EncodedRecord } from '../record/codec.ts';
import { Limits } from '../schema/limits.ts';
import { type BatchWriteEntry, type BatchWriteOutcome, writeBatch } from '../store/batchWriter.ts';
import { ChunkedSink } from './chunkedSink.ts';
import { type SinkCheckpoint, type SinkEvents, WriteMode } from './sink.ts';

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

class OfflineRecordSink extends ChunkedSink<BatchWriteEntry<number>, BatchWriteOutcome<number>> {
  private readonly client: SageMakerFeatureStoreRuntimeClient;

  /**
   * @param concurrency - BatchWriteRecord calls in flight
   */
  constructor(client: SageMakerFeatureStoreRuntimeClient, concurrency: number, events: SinkEvents) {
    super(events, Limits.batchWriteMaxEntries, concurrency);
    this.client = client;
  }

  checkpoint(): SinkCheckpoint {
    return { writeMode: WriteMode.Records };
  }

  protected entry(index: number, record: EncodedRecord): BatchWriteEntry<number> {
    return { ref: index, record, targetStores: OFFLINE_ONLY };
  }

  protected writeChunk(entries: BatchWriteEntry<number>[]): Promise<BatchWriteOutcome<number>[]> {
    return writeBatch(this.client, entries, { concurrency: 1 });
  }
}

export { OfflineRecordSink };

import {
  PutRecordCommand,
  type PutRecordCommandOutput,
  type SageMakerFeatureStoreRuntimeClient,
  type TargetStore,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { EncodedRecord } from '../record/codec.ts';
import type { Duration } from '../schema/index.ts';

interface PutOptions {
  /** Default: every store of the group. `['OfflineStore']` for backfills. */
  readonly targetStores?: readonly TargetStore[];
  /** Overrides the group's default TTL for this record. */
  readonly ttl?: Duration;
  readonly abortSignal?: AbortSignal;
}

/**
 * PutRecord of a record already validated and encoded by the schema module. The SDK retries
 * throttling and 5xx with backoff; what still fails is thrown for the caller to classify
 * (see `classifyStoreError`). Resolves with the answer, whose `$metadata` tells a feature store's
 * answer from any other 2xx (PutRecord's output is empty).
 */
async function putEncodedRecord(
  client: SageMakerFeatureStoreRuntimeClient,
  encoded: EncodedRecord,
  options: PutOptions = {}
): Promise<PutRecordCommandOutput> {
  return client.send(
    new PutRecordCommand({
      FeatureGroupName: encoded.featureGroup,
      Record: encoded.record,
      TargetStores: options.targetStores === undefined ? undefined : [...options.targetStores],
      TtlDuration:
        options.ttl === undefined
          ? undefined
          : { Unit: options.ttl.unit, Value: options.ttl.value },
    }),
    { abortSignal: options.abortSignal }
  );
}

export type { PutOptions };
export { putEncodedRecord };

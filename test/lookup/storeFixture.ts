/**
 * The embedded feature store with this deployment's feature groups (created through the
 * SageMaker control plane, as CloudFormation does), plus write helpers that go through the real
 * SDK: PutRecord of schema-encoded records and DeleteRecord (soft or hard).
 */
import {
  DeleteRecordCommand,
  type DeletionMode,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { ensureFeatureGroups } from '../../local/setup/ensureFeatureGroups.ts';
import type { StoreOptions } from '../../local/store/index.ts';
import { featureGroups } from '../../shared/definitions.ts';
import { toRecord } from '../../shared/record/codec.ts';
import type { Duration, FeatureGroup, InputRecordOf } from '../../shared/schema/index.ts';
import { putEncodedRecord } from '../../shared/store/writer.ts';
import { startTestStore, type TestClock, type TestStore, testClock } from '../helpers/store.ts';

interface LookupStore extends TestStore {
  readonly clock: TestClock;
  put<G extends FeatureGroup>(group: G, record: InputRecordOf<G>, ttl?: Duration): Promise<void>;
  remove(
    group: FeatureGroup,
    recordId: string,
    eventTime: string,
    mode: DeletionMode
  ): Promise<void>;
}

/** Start a store in a temp dir with the fraud groups of `shared/definitions.ts`. */
async function startLookupStore(options: Partial<StoreOptions> = {}): Promise<LookupStore> {
  const clock = testClock();
  const test = await startTestStore({ clock, ...options });
  await ensureFeatureGroups(test.sagemaker, featureGroups, {
    offlineS3Uri: 's3://local-bucket/offline-store',
    roleArn: 'arn:aws:iam::000000000000:role/skewless-local-offline-store',
  });
  return {
    ...test,
    clock,
    put: async (group, record, ttl) => {
      await putEncodedRecord(test.runtime, toRecord(group, record), {
        targetStores: ['OnlineStore'],
        ttl,
      });
    },
    remove: async (group, recordId, eventTime, mode) => {
      await test.runtime.send(
        new DeleteRecordCommand({
          FeatureGroupName: group.name,
          RecordIdentifierValueAsString: recordId,
          EventTime: eventTime,
          DeletionMode: mode,
          TargetStores: ['OnlineStore'],
        })
      );
    },
  };
}

export type { LookupStore };
export { startLookupStore };

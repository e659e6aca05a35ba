/**
 * Feature groups and writes for the audit tests: small groups with short max ages, created in the
 * embedded store through the control plane from the schema module, and records written with the
 * real SDK (both stores, one store only, soft deletes).
 */
import {
  CreateFeatureGroupCommand,
  type CreateFeatureGroupCommandInput,
} from '@aws-sdk/client-sagemaker';
import {
  DeleteRecordCommand,
  type FeatureValue,
  PutRecordCommand,
  type TargetStore,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { waitUntilFeatureGroupCreated } from '../../local/setup/waitForFeatureGroup.ts';
import { formatIsoEventTime } from '../../shared/record/eventTime.ts';
import { createFeatureGroupInput } from '../../shared/schema/awsDefinitions.ts';
import { defineFeatureGroup, type FeatureGroup, feature } from '../../shared/schema/index.ts';
import type { TestStore } from '../helpers/store.ts';

/** Accounts: TTL one day, max age one hour. */
const accounts = defineFeatureGroup({
  name: 'audit-accounts',
  description: 'Audit test group with a TTL and a max age',
  recordIdentifier: 'account_id',
  eventTime: 'event_time',
  features: {
    account_id: feature.string('Account id'),
    event_time: feature.string('Event time'),
    balance: feature.fractional('Balance'),
    txn_count: feature.integral('Payments'),
    segment: feature.string('Segment'),
  },
  online: { ttl: { unit: 'Days', value: 1 } },
  offline: {},
  maxAge: { unit: 'Hours', value: 1 },
});

/** Devices: Fractional event time, no TTL, max age one hour (made stale by the tests). */
const devices = defineFeatureGroup({
  name: 'audit-devices',
  description: 'Audit test group with epoch-seconds event times',
  recordIdentifier: 'device_id',
  eventTime: 'seen_at',
  features: {
    device_id: feature.string('Device id'),
    seen_at: feature.fractional('Last seen, epoch seconds'),
    risk: feature.fractional('Risk score'),
  },
  online: {},
  offline: {},
  maxAge: { unit: 'Hours', value: 1 },
});

async function createGroups(store: TestStore, groups: readonly FeatureGroup[]): Promise<void> {
  for (const group of groups) {
    await store.sagemaker.send(
      new CreateFeatureGroupCommand(
        createFeatureGroupInput(group, {
          offlineS3Uri: 's3://local-bucket/offline',
          roleArn: 'arn:aws:iam::000000000000:role/feature-store',
        }) as unknown as CreateFeatureGroupCommandInput
      )
    );
    await waitUntilFeatureGroupCreated(store.sagemaker, group.name);
  }
}

/** ISO event time of an epoch-ms instant, as the schema module writes it. */
function iso(ms: number): string {
  return formatIsoEventTime(BigInt(Math.floor(ms)) * 1_000_000n);
}

interface PutOptions {
  readonly targets?: TargetStore[];
  readonly ttl?: { Unit: 'Seconds' | 'Minutes' | 'Hours' | 'Days'; Value: number };
}

/** PutRecord with raw wire values (strings), so tests can write `10.0` as well as `10`. */
async function put(
  store: TestStore,
  group: FeatureGroup,
  values: Record<string, string>,
  options: PutOptions = {}
): Promise<void> {
  const record: FeatureValue[] = Object.entries(values).map(([FeatureName, ValueAsString]) => ({
    FeatureName,
    ValueAsString,
  }));
  await store.runtime.send(
    new PutRecordCommand({
      FeatureGroupName: group.name,
      Record: record,
      TargetStores: options.targets,
      TtlDuration: options.ttl,
    })
  );
}

/** An accounts record at `atMs`. */
function account(id: string, atMs: number, balance = '10', txnCount = '3'): Record<string, string> {
  return {
    account_id: id,
    event_time: iso(atMs),
    balance,
    txn_count: txnCount,
    segment: 'retail',
  };
}

async function softDelete(
  store: TestStore,
  group: FeatureGroup,
  recordId: string,
  eventTime: string,
  targets?: TargetStore[],
  mode: 'SoftDelete' | 'HardDelete' = 'SoftDelete'
): Promise<void> {
  await store.runtime.send(
    new DeleteRecordCommand({
      FeatureGroupName: group.name,
      RecordIdentifierValueAsString: recordId,
      EventTime: eventTime,
      DeletionMode: mode,
      TargetStores: targets,
    })
  );
}

export { account, accounts, createGroups, devices, iso, put, softDelete };

import type { FeatureDefinition } from '@aws-sdk/client-sagemaker';
import type { FeatureGroup } from './defineFeatureGroup.ts';

/**
 * The service's view of a group, derived from the schema module: used both for the template's
 * `AWS::SageMaker::FeatureGroup` resources and for `CreateFeatureGroup` calls against the
 * embedded store, so both are created from the same definition.
 */

/** `FeatureDefinitions` exactly as the service and CloudFormation take them. */
function featureDefinitions(group: FeatureGroup): FeatureDefinition[] {
  return group.featureNames.map((name) => {
    const spec = group.features[name];
    if (spec === undefined) throw new Error(`unreachable: ${name}`);
    const definition: FeatureDefinition = { FeatureName: name, FeatureType: spec.type };
    if (spec.collection !== undefined) {
      definition.CollectionType = spec.collection;
      if (spec.collection === 'Vector') {
        definition.CollectionConfig = { VectorConfig: { Dimension: spec.dimension } };
      }
    }
    return definition;
  });
}

function ttlDuration(group: FeatureGroup): { Unit: string; Value: number } | undefined {
  const ttl = group.online?.ttl;
  return ttl === undefined ? undefined : { Unit: ttl.unit, Value: ttl.value };
}

/** A CloudFormation intrinsic, kept as a plain object so it compares and serialises simply. */
type Intrinsic = { Ref: string } | { 'Fn::GetAtt': [string, string] } | { 'Fn::Sub': string };

/** The template resources a feature group refers to. */
interface FeatureGroupTemplateRefs {
  /** KMS key for the online store and the offline bucket objects. */
  readonly kmsKey: Intrinsic;
  /** `s3://bucket/prefix` of the offline store. */
  readonly offlineS3Uri: Intrinsic;
  /** Role the service assumes to write the offline store. */
  readonly offlineRoleArn: Intrinsic;
}

/** Logical id in template.yaml: `fraud-cards` becomes `FraudCardsFeatureGroup`. */
function featureGroupLogicalId(group: FeatureGroup): string {
  const pascal = group.name
    .split(/[-_]+/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
  return `${pascal}FeatureGroup`;
}

/** Where a group's offline store goes and, in the template, the key that encrypts it. */
interface StorageRefs<V> {
  readonly offlineS3Uri: V;
  readonly roleArn: V;
  /** KMS key of the online store and the offline objects (template only). */
  readonly kmsKey?: V;
}

/**
 * The group's configuration as both CloudFormation and `CreateFeatureGroup` take it: the one
 * mapping from a definition, so the deployed group and the embedded store's agree.
 */
function featureGroupConfig<V>(group: FeatureGroup, refs: StorageRefs<V>): Record<string, unknown> {
  const config: Record<string, unknown> = {
    FeatureGroupName: group.name,
    Description: group.description,
    RecordIdentifierFeatureName: group.recordIdentifier,
    EventTimeFeatureName: group.eventTime,
    FeatureDefinitions: featureDefinitions(group),
  };
  if (group.online !== undefined) {
    const online: Record<string, unknown> = {
      EnableOnlineStore: true,
      StorageType: group.online.storageType,
    };
    if (refs.kmsKey !== undefined) online.SecurityConfig = { KmsKeyId: refs.kmsKey };
    const ttl = ttlDuration(group);
    if (ttl !== undefined) online.TtlDuration = ttl;
    config.OnlineStoreConfig = online;
  }
  if (group.offline !== undefined) {
    config.OfflineStoreConfig = {
      S3StorageConfig:
        refs.kmsKey === undefined
          ? { S3Uri: refs.offlineS3Uri }
          : { S3Uri: refs.offlineS3Uri, KmsKeyId: refs.kmsKey },
      TableFormat: group.offline.tableFormat,
    };
    config.RoleArn = refs.roleArn;
  }
  return config;
}

/** The `AWS::SageMaker::FeatureGroup` resource for a group. */
function featureGroupResource(
  group: FeatureGroup,
  refs: FeatureGroupTemplateRefs
): Record<string, unknown> {
  const properties = featureGroupConfig(group, {
    offlineS3Uri: refs.offlineS3Uri,
    roleArn: refs.offlineRoleArn,
    kmsKey: refs.kmsKey,
  });
  properties.ThroughputConfig = { ThroughputMode: 'OnDemand' };
  return { Type: 'AWS::SageMaker::FeatureGroup', Properties: properties };
}

/** The `CreateFeatureGroup` request for a group (the embedded store, or the SDK on AWS). */
function createFeatureGroupInput(
  group: FeatureGroup,
  options: { offlineS3Uri: string; roleArn: string }
): Record<string, unknown> {
  return featureGroupConfig(group, options);
}

export type { FeatureGroupTemplateRefs, Intrinsic };
export { createFeatureGroupInput, featureDefinitions, featureGroupLogicalId, featureGroupResource };

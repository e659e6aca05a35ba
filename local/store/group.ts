/**
 * Feature groups as the store keeps them: the persisted document (the CreateFeatureGroup input
 * after validation, plus times and status) and the in-memory view the runtime uses on every
 * request (features by name, identifier and event-time features, enabled stores, default TTL).
 */
import { SECONDS_PER_UNIT } from '../../shared/schema/limits.ts';
import { validationError } from './errors.ts';

const FeatureType = { String: 'String', Integral: 'Integral', Fractional: 'Fractional' } as const;
type FeatureType = (typeof FeatureType)[keyof typeof FeatureType];

const CollectionType = { List: 'List', Set: 'Set', Vector: 'Vector' } as const;
type CollectionType = (typeof CollectionType)[keyof typeof CollectionType];

const StorageType = {
  Standard: 'Standard',
  InMemory: 'InMemory',
  StandardV2: 'Standard_V2',
} as const;
type StorageType = (typeof StorageType)[keyof typeof StorageType];

interface TtlDurationDoc {
  Unit: keyof typeof SECONDS_PER_UNIT;
  Value: number;
}

interface FeatureDefinitionDoc {
  FeatureName: string;
  FeatureType: FeatureType;
  CollectionType?: CollectionType;
  CollectionConfig?: { VectorConfig: { Dimension: number } };
}

interface OnlineStoreConfigDoc {
  EnableOnlineStore?: boolean;
  SecurityConfig?: { KmsKeyId?: string };
  TtlDuration?: TtlDurationDoc;
  StorageType?: StorageType;
}

interface OfflineStoreConfigDoc {
  S3StorageConfig: { S3Uri: string; KmsKeyId?: string };
  DisableGlueTableCreation?: boolean;
  DataCatalogConfig?: { TableName: string; Catalog: string; Database: string };
  TableFormat?: string;
}

/** What is persisted per group (JSON in the `groups` table). Times are epoch milliseconds. */
interface GroupDoc {
  FeatureGroupName: string;
  RecordIdentifierFeatureName: string;
  EventTimeFeatureName: string;
  FeatureDefinitions: FeatureDefinitionDoc[];
  OnlineStoreConfig?: OnlineStoreConfigDoc;
  OfflineStoreConfig?: OfflineStoreConfigDoc;
  ThroughputConfig?: Record<string, unknown>;
  RoleArn?: string;
  Description?: string;
  Tags?: { Key: string; Value: string }[];
  creationTimeMs: number;
  lastModifiedTimeMs: number;
  lastUpdateStatus?: { Status: 'Successful' | 'Failed' | 'InProgress'; FailureReason?: string };
  /** Offline table directory relative to `<dataDir>/offline-store`, ending in `/data`. */
  offlineDir?: string;
}

interface FeatureDef {
  readonly name: string;
  readonly type: FeatureType;
  readonly collection: CollectionType | undefined;
  readonly dimension: number | undefined;
  /** `feature 'name' (Type)` / `feature 'name' (List of Type)`, for messages. */
  readonly label: string;
}

interface Group {
  readonly id: number;
  readonly name: string;
  readonly arn: string;
  readonly doc: GroupDoc;
  readonly features: ReadonlyMap<string, FeatureDef>;
  readonly idFeature: FeatureDef;
  readonly etFeature: FeatureDef & { type: 'String' | 'Fractional' };
  readonly online: boolean;
  readonly offline: boolean;
  readonly storageType: StorageType;
  /** Group default TTL in seconds, if any. */
  readonly ttlSeconds: number | undefined;
  /** Absolute `…/data` directory of the offline table, if the group has an offline store. */
  readonly offlineDataPath: string | undefined;
}

function groupArn(region: string, account: string, name: string): string {
  return `arn:aws:sagemaker:${region}:${account}:feature-group/${name.toLowerCase()}`;
}

const ARN_PATTERN = /^arn:aws[a-z-]*:sagemaker:([a-z0-9-]*):(\d{12}):feature-group\/(.+)$/;

/** Splits a group ARN into its parts, or undefined when the text is not a group ARN. */
function parseGroupArn(
  text: string
): { region: string; account: string; name: string } | undefined {
  const m = ARN_PATTERN.exec(text);
  if (m === null) return undefined;
  return { region: m[1] ?? '', account: m[2] ?? '', name: m[3] ?? '' };
}

/** TtlDuration → seconds; throws a ValidationError naming `where` when malformed. */
/** Largest `TtlDuration.Value` of the service model (an `integer`: 32-bit signed). */
const TTL_VALUE_MAX = 2_147_483_647;

function ttlSecondsOf(ttl: unknown, where: string): number {
  if (typeof ttl !== 'object' || ttl === null) {
    throw validationError(`${where} must be an object with Unit and Value`);
  }
  const { Unit, Value } = ttl as { Unit?: unknown; Value?: unknown };
  if (typeof Unit !== 'string' || !Object.hasOwn(SECONDS_PER_UNIT, Unit)) {
    throw validationError(
      `${where}.Unit ${JSON.stringify(Unit)} is not one of ${Object.keys(SECONDS_PER_UNIT).join(', ')}`
    );
  }
  // The model's TtlDurationValue: a 32-bit integer, at least 1.
  if (typeof Value !== 'number' || !Number.isInteger(Value) || Value < 1 || Value > TTL_VALUE_MAX) {
    throw validationError(
      `${where}.Value ${JSON.stringify(Value)} must be an integer from 1 to ${TTL_VALUE_MAX}`
    );
  }
  return Value * SECONDS_PER_UNIT[Unit as keyof typeof SECONDS_PER_UNIT];
}

/**
 * The TTL of a stored group document, without validation: a group created before TtlDuration was
 * bounded must still load (bounded here to the largest TTL the model allows).
 */
function storedTtlSeconds(ttl: TtlDurationDoc): number {
  const unit = SECONDS_PER_UNIT[ttl.Unit as keyof typeof SECONDS_PER_UNIT] ?? 1;
  const value = Math.min(Math.max(Math.trunc(Number(ttl.Value)) || 1, 1), TTL_VALUE_MAX);
  return value * unit;
}

function buildGroup(
  id: number,
  doc: GroupDoc,
  ctx: { region: string; account: string; offlineRoot: string }
): Group {
  const features = new Map<string, FeatureDef>();
  for (const d of doc.FeatureDefinitions) {
    features.set(d.FeatureName, {
      name: d.FeatureName,
      type: d.FeatureType,
      collection: d.CollectionType,
      dimension: d.CollectionConfig?.VectorConfig.Dimension,
      label: `feature '${d.FeatureName}' (${d.CollectionType === undefined ? d.FeatureType : `${d.CollectionType} of ${d.FeatureType}`})`,
    });
  }
  const idFeature = features.get(doc.RecordIdentifierFeatureName);
  const etFeature = features.get(doc.EventTimeFeatureName);
  if (idFeature === undefined || etFeature === undefined) {
    throw new Error(`corrupt group document for ${doc.FeatureGroupName}`);
  }
  const online = doc.OnlineStoreConfig?.EnableOnlineStore === true;
  const ttl = doc.OnlineStoreConfig?.TtlDuration;
  return {
    id,
    name: doc.FeatureGroupName,
    arn: groupArn(ctx.region, ctx.account, doc.FeatureGroupName),
    doc,
    features,
    idFeature,
    etFeature: etFeature as FeatureDef & { type: 'String' | 'Fractional' },
    online,
    offline: doc.OfflineStoreConfig !== undefined,
    storageType: doc.OnlineStoreConfig?.StorageType ?? StorageType.Standard,
    ttlSeconds: ttl === undefined ? undefined : storedTtlSeconds(ttl),
    offlineDataPath:
      doc.offlineDir === undefined ? undefined : `${ctx.offlineRoot}/${doc.offlineDir}`,
  };
}

export type {
  FeatureDef,
  FeatureDefinitionDoc,
  Group,
  GroupDoc,
  OfflineStoreConfigDoc,
  OnlineStoreConfigDoc,
  TtlDurationDoc,
};
export { buildGroup, CollectionType, FeatureType, parseGroupArn, StorageType, ttlSecondsOf };

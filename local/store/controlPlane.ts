/**
 * The feature-group control plane (SageMaker awsJson1_1, `X-Amz-Target: SageMaker.<Op>`):
 * CreateFeatureGroup, DescribeFeatureGroup, ListFeatureGroups, DeleteFeatureGroup and
 * UpdateFeatureGroup. Groups are persisted in SQLite at once (their offline table directory is
 * created with them) and are `Creating` for the store's `creatingMs` before they are `Created`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { FEATURE_NAME_PATTERN, Limits } from '../../shared/schema/limits.ts';
import type { StoreContext } from './context.ts';
import { ErrorCode, ServiceError } from './errors.ts';
import {
  buildGroup,
  CollectionType,
  type FeatureDefinitionDoc,
  FeatureType,
  type Group,
  type GroupDoc,
  type OfflineStoreConfigDoc,
  type OnlineStoreConfigDoc,
  StorageType,
  type TtlDurationDoc,
  ttlSecondsOf,
} from './group.ts';

/** Service pattern for feature group names (CloudFormation's is stricter, without `_`). */
const GROUP_NAME = /^[a-zA-Z0-9]([_-]*[a-zA-Z0-9]){0,63}$/;
const S3_URI = /^(https|s3):\/\/([^/]+)\/?(.*)$/;
/** Columns every offline row carries; a feature may not use these names. */
const SERVICE_COLUMNS = ['write_time', 'api_invocation_time', 'is_deleted'];
/** Hive partition keys of the offline layout; they would shadow features read with hive partitioning. */
const PARTITION_COLUMNS = ['year', 'month', 'day', 'hour'];
const MAX_FEATURE_ADDITIONS = 100;
const MAX_TAGS = 50;

type Json = Record<string, unknown>;

function invalid(message: string): ServiceError {
  return new ServiceError(ErrorCode.ValidationException, message);
}

/** The SageMaker control plane (awsJson1_1) answers every modelled client error with 400. */
function notFound(name: unknown): ServiceError {
  return new ServiceError(
    ErrorCode.ResourceNotFound,
    `Resource Not Found: Amazon SageMaker can't find a FeatureGroup with name [${String(name)}].`,
    400
  );
}

function obj(value: unknown, member: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${member} must be an object`);
  }
  return value as Json;
}

function optionalObj(value: unknown, member: string): Json | undefined {
  return value === undefined || value === null ? undefined : obj(value, member);
}

function str(value: unknown, member: string, pattern?: RegExp, max = 1024): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw invalid(`${member} must be a string of 1-${max} characters`);
  }
  if (pattern !== undefined && !pattern.test(value)) {
    throw invalid(
      `1 validation error detected: Value ${JSON.stringify(value)} at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern.source}`
    );
  }
  return value;
}

function optionalBool(value: unknown, member: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalid(`${member} must be a boolean`);
  return value;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], member: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalid(
      `1 validation error detected: Value ${JSON.stringify(value)} at '${member}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`
    );
  }
  return value as T;
}

function ttlDoc(value: unknown, member: string): TtlDurationDoc {
  try {
    ttlSecondsOf(value, member);
  } catch (error) {
    throw invalid((error as Error).message);
  }
  const { Unit, Value } = value as TtlDurationDoc;
  return { Unit, Value };
}

/**
 * Validates feature definitions (new ones, plus the existing ones for UpdateFeatureGroup).
 * Names are unique ignoring case (Glue/Hive columns are case-insensitive).
 */
function featureDefinitions(
  value: unknown,
  member: string,
  options: { inMemory: boolean; offline: boolean; existing: readonly FeatureDefinitionDoc[] }
): FeatureDefinitionDoc[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw invalid(`${member} must list at least one feature definition`);
  }
  const seen = new Set(options.existing.map((d) => d.FeatureName.toLowerCase()));
  let vectors = options.existing.filter((d) => d.CollectionType === 'Vector').length;
  const out: FeatureDefinitionDoc[] = [];
  for (const [i, raw] of value.entries()) {
    const d = obj(raw, `${member}.${i + 1}`);
    const name = str(
      d.FeatureName,
      `${member}.${i + 1}.member.featureName`,
      FEATURE_NAME_PATTERN,
      64
    );
    const lower = name.toLowerCase();
    if (SERVICE_COLUMNS.includes(lower)) {
      throw invalid(
        `Feature name '${name}' is reserved: the offline store adds a column of that name.`
      );
    }
    if (options.offline && PARTITION_COLUMNS.includes(lower)) {
      throw invalid(
        `Feature name '${name}' collides with the offline store's hive partition key '${lower}' (year/month/day/hour); choose another name.`
      );
    }
    if (seen.has(lower)) {
      throw invalid(
        `Feature name '${name}' is defined more than once (names are case-insensitive).`
      );
    }
    seen.add(lower);
    const type = oneOf(
      d.FeatureType,
      Object.values(FeatureType),
      `${member}.${i + 1}.member.featureType`
    );
    const def: FeatureDefinitionDoc = { FeatureName: name, FeatureType: type };
    if (d.CollectionType !== undefined && d.CollectionType !== null) {
      const collection = oneOf(
        d.CollectionType,
        Object.values(CollectionType),
        `${member}.${i + 1}.member.collectionType`
      );
      if (!options.inMemory) {
        throw invalid(
          `Feature '${name}': collection types (List, Set, Vector) are supported only with OnlineStoreConfig.StorageType InMemory.`
        );
      }
      def.CollectionType = collection;
      if (collection === 'Vector') {
        if (type !== 'Fractional') throw invalid(`Vector feature '${name}' must be Fractional.`);
        vectors++;
        if (vectors > 1) throw invalid('A feature group can have at most one Vector feature.');
        const config = optionalObj(d.CollectionConfig, `Feature '${name}' CollectionConfig`);
        const vector = optionalObj(config?.VectorConfig, `Feature '${name}' VectorConfig`);
        const dimension = vector?.Dimension;
        if (
          typeof dimension !== 'number' ||
          !Number.isInteger(dimension) ||
          dimension < 1 ||
          dimension > Limits.maxVectorDimension
        ) {
          throw invalid(
            `Vector feature '${name}' needs CollectionConfig.VectorConfig.Dimension from 1 to ${Limits.maxVectorDimension}.`
          );
        }
        def.CollectionConfig = { VectorConfig: { Dimension: dimension } };
      }
    } else if (d.CollectionConfig !== undefined && d.CollectionConfig !== null) {
      throw invalid(`Feature '${name}' has a CollectionConfig but no CollectionType Vector.`);
    }
    out.push(def);
  }
  if (options.existing.length + out.length > Limits.maxFeaturesPerGroup) {
    throw invalid(`A feature group can have at most ${Limits.maxFeaturesPerGroup} features.`);
  }
  return out;
}

function onlineConfig(value: unknown): OnlineStoreConfigDoc | undefined {
  const c = optionalObj(value, 'OnlineStoreConfig');
  if (c === undefined) return undefined;
  const out: OnlineStoreConfigDoc = {};
  const enable = optionalBool(c.EnableOnlineStore, 'OnlineStoreConfig.EnableOnlineStore');
  out.EnableOnlineStore = enable ?? false;
  const security = optionalObj(c.SecurityConfig, 'OnlineStoreConfig.SecurityConfig');
  if (security !== undefined) {
    out.SecurityConfig =
      security.KmsKeyId === undefined ? {} : { KmsKeyId: str(security.KmsKeyId, 'KmsKeyId') };
  }
  if (c.TtlDuration !== undefined && c.TtlDuration !== null) {
    out.TtlDuration = ttlDoc(c.TtlDuration, 'OnlineStoreConfig.TtlDuration');
  }
  if (c.StorageType !== undefined && c.StorageType !== null) {
    out.StorageType = oneOf(
      c.StorageType,
      Object.values(StorageType),
      'onlineStoreConfig.storageType'
    );
  }
  return out;
}

function offlineConfig(value: unknown): OfflineStoreConfigDoc | undefined {
  const c = optionalObj(value, 'OfflineStoreConfig');
  if (c === undefined) return undefined;
  const s3 = obj(c.S3StorageConfig, 'OfflineStoreConfig.S3StorageConfig');
  const out: OfflineStoreConfigDoc = {
    S3StorageConfig: {
      S3Uri: str(s3.S3Uri, 'offlineStoreConfig.s3StorageConfig.s3Uri', S3_URI, 1024),
    },
  };
  if (s3.KmsKeyId !== undefined && s3.KmsKeyId !== null) {
    out.S3StorageConfig.KmsKeyId = str(s3.KmsKeyId, 'KmsKeyId', undefined, 2048);
  }
  const disable = optionalBool(c.DisableGlueTableCreation, 'DisableGlueTableCreation');
  if (disable !== undefined) out.DisableGlueTableCreation = disable;
  const catalog = optionalObj(c.DataCatalogConfig, 'OfflineStoreConfig.DataCatalogConfig');
  if (catalog !== undefined) {
    out.DataCatalogConfig = {
      TableName: str(catalog.TableName, 'DataCatalogConfig.TableName', undefined, 255),
      Catalog: str(catalog.Catalog, 'DataCatalogConfig.Catalog', undefined, 255),
      Database: str(catalog.Database, 'DataCatalogConfig.Database', undefined, 255),
    };
  }
  if (c.TableFormat !== undefined && c.TableFormat !== null) {
    out.TableFormat = oneOf(
      c.TableFormat,
      ['Default', 'Glue', 'Iceberg'],
      'offlineStoreConfig.tableFormat'
    );
  }
  return out;
}

function createFeatureGroup(ctx: StoreContext, input: Json): Json {
  const name = str(input.FeatureGroupName, 'featureGroupName', GROUP_NAME, 64);
  const existing = ctx.groups.findIgnoringCase(name);
  if (existing !== undefined) {
    throw new ServiceError(
      ErrorCode.ResourceInUse,
      `Resource Already Exists: FeatureGroup with name ${existing.name} already exists. Choose a different name.`
    );
  }
  const online = onlineConfig(input.OnlineStoreConfig);
  const offline = offlineConfig(input.OfflineStoreConfig);
  const onlineEnabled = online?.EnableOnlineStore === true;
  if (!onlineEnabled && offline === undefined) {
    throw invalid(
      'Either OnlineStoreConfig with EnableOnlineStore=true or OfflineStoreConfig must be specified.'
    );
  }
  if (online?.TtlDuration !== undefined && !onlineEnabled) {
    throw invalid('OnlineStoreConfig.TtlDuration requires EnableOnlineStore=true.');
  }
  const inMemory = onlineEnabled && online?.StorageType === StorageType.InMemory;
  if (inMemory && offline !== undefined) {
    throw invalid('An InMemory online store cannot be combined with an OfflineStoreConfig.');
  }
  const definitions = featureDefinitions(input.FeatureDefinitions, 'featureDefinitions', {
    inMemory,
    offline: offline !== undefined,
    existing: [],
  });
  const idName = str(
    input.RecordIdentifierFeatureName,
    'recordIdentifierFeatureName',
    FEATURE_NAME_PATTERN,
    64
  );
  const etName = str(input.EventTimeFeatureName, 'eventTimeFeatureName', FEATURE_NAME_PATTERN, 64);
  const idDef = definitions.find((d) => d.FeatureName === idName);
  const etDef = definitions.find((d) => d.FeatureName === etName);
  if (idDef === undefined) {
    throw invalid(`RecordIdentifierFeatureName '${idName}' is not one of the FeatureDefinitions.`);
  }
  if (etDef === undefined) {
    throw invalid(`EventTimeFeatureName '${etName}' is not one of the FeatureDefinitions.`);
  }
  if (idName === etName) {
    throw invalid(
      'RecordIdentifierFeatureName and EventTimeFeatureName must be different features.'
    );
  }
  if (idDef.CollectionType !== undefined || etDef.CollectionType !== undefined) {
    throw invalid('The record identifier and event time features cannot be collections.');
  }
  if (etDef.FeatureType === 'Integral') {
    throw invalid(
      `EventTimeFeatureName '${etName}' must be of type String or Fractional, not Integral.`
    );
  }
  if (offline?.TableFormat === 'Iceberg' && etDef.FeatureType !== 'String') {
    throw invalid('Iceberg offline stores need a String event time feature.');
  }
  let creationTimeMs = ctx.clock.now();
  let offlineDir: string | undefined;
  if (offline !== undefined) {
    const epoch = freeTableEpoch(ctx, name, Math.floor(creationTimeMs / 1000));
    if (epoch * 1000 > creationTimeMs) creationTimeMs = epoch * 1000;
    offlineDir = offlineTableDir(ctx, name, epoch);
  }
  const doc: GroupDoc = {
    FeatureGroupName: name,
    RecordIdentifierFeatureName: idName,
    EventTimeFeatureName: etName,
    FeatureDefinitions: definitions,
    creationTimeMs,
    lastModifiedTimeMs: creationTimeMs,
  };
  if (online !== undefined) doc.OnlineStoreConfig = online;
  if (offline !== undefined) {
    doc.OfflineStoreConfig = offline;
    doc.offlineDir = offlineDir;
  }
  const throughput = optionalObj(input.ThroughputConfig, 'ThroughputConfig');
  if (throughput !== undefined) {
    oneOf(
      throughput.ThroughputMode,
      ['OnDemand', 'Provisioned'],
      'throughputConfig.throughputMode'
    );
    doc.ThroughputConfig = throughput;
  }
  if (input.RoleArn !== undefined && input.RoleArn !== null) {
    doc.RoleArn = str(input.RoleArn, 'RoleArn', undefined, 2048);
  }
  if (input.Description !== undefined && input.Description !== null) {
    doc.Description = str(input.Description, 'Description', undefined, Limits.maxDescriptionLength);
  }
  if (input.Tags !== undefined && input.Tags !== null) {
    if (!Array.isArray(input.Tags) || input.Tags.length > MAX_TAGS) {
      throw invalid(`Tags must be a list of at most ${MAX_TAGS} tags`);
    }
    doc.Tags = input.Tags.map((t, i) => {
      const tag = obj(t, `Tags.${i + 1}`);
      return {
        Key: str(tag.Key, `Tags.${i + 1}.Key`, undefined, 128),
        Value: typeof tag.Value === 'string' ? tag.Value : '',
      };
    });
  }
  const group = ctx.db.transaction(() => {
    const row = ctx.db.sql
      .prepare('INSERT INTO groups (name, doc) VALUES (?, ?) RETURNING id')
      .get(name, JSON.stringify(doc)) as { id: number };
    if (doc.offlineDir !== undefined) {
      ctx.db.sql
        .prepare('INSERT OR REPLACE INTO offline_tables (id, dir, columns) VALUES (?, ?, ?)')
        .run(row.id, doc.offlineDir, JSON.stringify(offlineColumns(definitions)));
    }
    return buildGroup(row.id, doc, ctx);
  });
  if (group.offlineDataPath !== undefined) mkdirSync(group.offlineDataPath, { recursive: true });
  ctx.groups.set(group);
  ctx.lifecycle.created(group.id);
  return { FeatureGroupArn: group.arn };
}

/** A group's offline table directory, relative to the offline root: `…/<group>-<epoch>/data`. */
function offlineTableDir(ctx: StoreContext, name: string, epoch: number): string {
  return `${ctx.account}/sagemaker/${ctx.region}/offline-store/${name}-${epoch}/data`;
}

/**
 * The creation second (from `epoch` on) whose offline table `<group>-<epoch>` no earlier group
 * of that name took. Offline data outlives DeleteFeatureGroup; on AWS a deletion takes a while,
 * so a group created again never shares its creation second with the one deleted. Here deletion
 * is instant: a group deleted and created again within one second would write into the old
 * group's table, so its creation time moves on to the next free second instead. Table names
 * compare without case, as Glue's do.
 */
function freeTableEpoch(ctx: StoreContext, name: string, epoch: number): number {
  const taken = ctx.db.sql.prepare(
    'SELECT 1 FROM offline_tables WHERE dir = ? COLLATE NOCASE LIMIT 1'
  );
  let free = epoch;
  for (;;) {
    const dir = offlineTableDir(ctx, name, free);
    if (taken.get(dir) === undefined && !existsSync(`${ctx.offlineRoot}/${dir}`)) return free;
    free++;
  }
}

/** The Parquet columns of a group's offline table: its scalar features, in definition order. */
function offlineColumns(definitions: readonly FeatureDefinitionDoc[]): { n: string; t: string }[] {
  return definitions
    .filter((d) => d.CollectionType === undefined)
    .map((d) => ({ n: d.FeatureName, t: d.FeatureType }));
}

function requireGroup(ctx: StoreContext, input: Json): Group {
  const name = input.FeatureGroupName;
  if (typeof name !== 'string' || name.length === 0) {
    throw invalid('FeatureGroupName is required');
  }
  const group = ctx.groups.resolve(name);
  if (group === undefined) throw notFound(name);
  return group;
}

function seconds(ms: number): number {
  return ms / 1000;
}

function describe(ctx: StoreContext, group: Group): Json {
  const doc = group.doc;
  const out: Json = {
    FeatureGroupArn: group.arn,
    FeatureGroupName: group.name,
    RecordIdentifierFeatureName: doc.RecordIdentifierFeatureName,
    EventTimeFeatureName: doc.EventTimeFeatureName,
    FeatureDefinitions: doc.FeatureDefinitions,
    CreationTime: seconds(doc.creationTimeMs),
    LastModifiedTime: seconds(doc.lastModifiedTimeMs),
  };
  if (doc.OnlineStoreConfig !== undefined) out.OnlineStoreConfig = doc.OnlineStoreConfig;
  if (doc.OfflineStoreConfig !== undefined && group.offlineDataPath !== undefined) {
    const epoch = Math.floor(doc.creationTimeMs / 1000);
    const offline: Json = {
      ...doc.OfflineStoreConfig,
      S3StorageConfig: {
        ...doc.OfflineStoreConfig.S3StorageConfig,
        // The service's form, `<S3Uri>/<account>/sagemaker/<region>/offline-store/<group>-<epoch>/data`.
        // The files are at `<dataDir>/offline-store/<account>/…/data`: a local S3 mounting
        // `<dataDir>/offline-store` at S3Uri (as `npm start` does) serves them at this very URI.
        ResolvedOutputS3Uri: `${doc.OfflineStoreConfig.S3StorageConfig.S3Uri.replace(/\/+$/, '')}/${doc.offlineDir}`,
      },
      DisableGlueTableCreation: doc.OfflineStoreConfig.DisableGlueTableCreation ?? false,
    };
    if (
      doc.OfflineStoreConfig.DataCatalogConfig === undefined &&
      offline.DisableGlueTableCreation === false
    ) {
      offline.DataCatalogConfig = {
        TableName: `${group.name}-${epoch}`,
        Catalog: 'AwsDataCatalog',
        Database: 'sagemaker_featurestore',
      };
    }
    out.OfflineStoreConfig = offline;
    out.OfflineStoreStatus = { Status: 'Active' };
  }
  out.ThroughputConfig = doc.ThroughputConfig ?? { ThroughputMode: 'OnDemand' };
  if (doc.RoleArn !== undefined) out.RoleArn = doc.RoleArn;
  out.FeatureGroupStatus = ctx.lifecycle.status(group.id);
  if (doc.lastUpdateStatus !== undefined) out.LastUpdateStatus = doc.lastUpdateStatus;
  if (doc.Description !== undefined) out.Description = doc.Description;
  if (group.online) {
    const size = ctx.db.sql
      .prepare('SELECT coalesce(sum(length(rec)), 0) AS n FROM online WHERE gid = ?')
      .get(group.id) as { n: number };
    out.OnlineStoreTotalSizeBytes = size.n;
  }
  out.NextToken = '';
  return out;
}

function describeFeatureGroup(ctx: StoreContext, input: Json): Json {
  return describe(ctx, requireGroup(ctx, input));
}

function deleteFeatureGroup(ctx: StoreContext, input: Json): Json {
  const group = requireGroup(ctx, input);
  // Online data goes with the group; offline files and pending offline rows stay (as on AWS).
  ctx.db.transaction(() => {
    ctx.db.sql.prepare('DELETE FROM online WHERE gid = ?').run(group.id);
    ctx.db.sql.prepare('DELETE FROM groups WHERE id = ?').run(group.id);
  });
  ctx.groups.delete(group);
  return {};
}

function updateFeatureGroup(ctx: StoreContext, input: Json): Json {
  const group = requireGroup(ctx, input);
  const doc: GroupDoc = structuredClone(group.doc);
  let additions: FeatureDefinitionDoc[] = [];
  if (input.FeatureAdditions !== undefined && input.FeatureAdditions !== null) {
    if (
      Array.isArray(input.FeatureAdditions) &&
      input.FeatureAdditions.length > MAX_FEATURE_ADDITIONS
    ) {
      throw invalid(`FeatureAdditions may list at most ${MAX_FEATURE_ADDITIONS} features`);
    }
    additions = featureDefinitions(input.FeatureAdditions, 'featureAdditions', {
      inMemory: group.storageType === StorageType.InMemory && group.online,
      offline: group.offline,
      existing: doc.FeatureDefinitions,
    });
    doc.FeatureDefinitions.push(...additions);
  }
  const onlineUpdate = optionalObj(input.OnlineStoreConfig, 'OnlineStoreConfig');
  if (onlineUpdate !== undefined && 'TtlDuration' in onlineUpdate) {
    if (!group.online || doc.OnlineStoreConfig === undefined) {
      throw invalid(`FeatureGroup [${group.name}] has no online store; TtlDuration cannot be set.`);
    }
    const ttl = onlineUpdate.TtlDuration as Json | null | undefined;
    const remove =
      ttl === null ||
      ttl === undefined ||
      ((ttl.Unit === undefined || ttl.Unit === null) &&
        (ttl.Value === undefined || ttl.Value === null));
    if (remove) delete doc.OnlineStoreConfig.TtlDuration;
    else doc.OnlineStoreConfig.TtlDuration = ttlDoc(ttl, 'OnlineStoreConfig.TtlDuration');
  }
  const throughput = optionalObj(input.ThroughputConfig, 'ThroughputConfig');
  if (throughput !== undefined) {
    if (throughput.ThroughputMode !== undefined) {
      oneOf(
        throughput.ThroughputMode,
        ['OnDemand', 'Provisioned'],
        'throughputConfig.throughputMode'
      );
    }
    doc.ThroughputConfig = { ...(doc.ThroughputConfig ?? {}), ...throughput };
  }
  doc.lastModifiedTimeMs = ctx.clock.now();
  doc.lastUpdateStatus = { Status: 'Successful' };
  const updated = ctx.db.transaction(() => {
    ctx.db.sql.prepare('UPDATE groups SET doc = ? WHERE id = ?').run(JSON.stringify(doc), group.id);
    if (group.offline && additions.length > 0) {
      ctx.db.sql
        .prepare('UPDATE offline_tables SET columns = ? WHERE id = ?')
        .run(JSON.stringify(offlineColumns(doc.FeatureDefinitions)), group.id);
    }
    return buildGroup(group.id, doc, ctx);
  });
  ctx.groups.set(updated);
  return { FeatureGroupArn: updated.arn };
}

const SORT_BY = ['Name', 'FeatureGroupStatus', 'OfflineStoreStatus', 'CreationTime'] as const;

function listFeatureGroups(ctx: StoreContext, input: Json): Json {
  const max = input.MaxResults ?? 10;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 100) {
    throw invalid('MaxResults must be an integer from 1 to 100');
  }
  const sortBy =
    input.SortBy === undefined ? 'CreationTime' : oneOf(input.SortBy, SORT_BY, 'sortBy');
  const order =
    input.SortOrder === undefined
      ? 'Descending'
      : oneOf(input.SortOrder, ['Ascending', 'Descending'], 'sortOrder');
  const nameContains = typeof input.NameContains === 'string' ? input.NameContains : undefined;
  const after = typeof input.CreationTimeAfter === 'number' ? input.CreationTimeAfter : undefined;
  const before =
    typeof input.CreationTimeBefore === 'number' ? input.CreationTimeBefore : undefined;
  let groups = ctx.groups.list().filter((g) => {
    const created = seconds(g.doc.creationTimeMs);
    if (nameContains !== undefined && !g.name.toLowerCase().includes(nameContains.toLowerCase())) {
      return false;
    }
    if (
      input.FeatureGroupStatusEquals !== undefined &&
      input.FeatureGroupStatusEquals !== ctx.lifecycle.status(g.id)
    ) {
      return false;
    }
    if (input.OfflineStoreStatusEquals !== undefined) {
      if (!g.offline || input.OfflineStoreStatusEquals !== 'Active') return false;
    }
    if (after !== undefined && created <= after) return false;
    if (before !== undefined && created >= before) return false;
    return true;
  });
  const key = (g: Group): string | number =>
    sortBy === 'Name'
      ? g.name
      : sortBy === 'CreationTime'
        ? g.doc.creationTimeMs
        : sortBy === 'OfflineStoreStatus'
          ? g.offline
            ? 'Active'
            : ''
          : ctx.lifecycle.status(g.id);
  groups.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    const c = ka < kb ? -1 : ka > kb ? 1 : a.id - b.id;
    return order === 'Ascending' ? c : -c;
  });
  let start = 0;
  if (input.NextToken !== undefined && input.NextToken !== null) {
    const n = Number(Buffer.from(String(input.NextToken), 'base64url').toString('utf8'));
    if (!Number.isInteger(n) || n < 0) throw invalid('NextToken is not valid');
    start = n;
  }
  const total = groups.length;
  groups = groups.slice(start, start + max);
  const out: Json = {
    FeatureGroupSummaries: groups.map((g) => ({
      FeatureGroupName: g.name,
      FeatureGroupArn: g.arn,
      CreationTime: seconds(g.doc.creationTimeMs),
      FeatureGroupStatus: ctx.lifecycle.status(g.id),
      ...(g.offline ? { OfflineStoreStatus: { Status: 'Active' } } : {}),
    })),
  };
  if (start + max < total) out.NextToken = Buffer.from(String(start + max)).toString('base64url');
  return out;
}

const CONTROL_PLANE_OPERATIONS: Record<string, (ctx: StoreContext, input: Json) => Json> = {
  CreateFeatureGroup: createFeatureGroup,
  DescribeFeatureGroup: describeFeatureGroup,
  ListFeatureGroups: listFeatureGroups,
  DeleteFeatureGroup: deleteFeatureGroup,
  UpdateFeatureGroup: updateFeatureGroup,
};

/** Loads persisted groups into the registry (at startup). */
function loadGroups(ctx: StoreContext): void {
  const rows = ctx.db.sql.prepare('SELECT id, doc FROM groups ORDER BY id').all() as {
    id: number;
    doc: string;
  }[];
  for (const row of rows) ctx.groups.set(buildGroup(row.id, JSON.parse(row.doc) as GroupDoc, ctx));
}

export { CONTROL_PLANE_OPERATIONS, loadGroups };

/**
 * Limits of SageMaker Feature Store (quotas page and service model), enforced by the schema module
 * and the embedded store alike so a record accepted locally is accepted on AWS.
 */
const Limits = {
  maxFeaturesPerGroup: 2500,
  maxNameLength: 64,
  /** Record identifier value: 2 KB. */
  maxRecordIdentifierBytes: 2048,
  /** Whole record and any single value: 350 KB. */
  maxRecordBytes: 350 * 1024,
  maxValueBytes: 350 * 1024,
  maxVectorDimension: 8192,
  /** Elements of a collection value (`ValueAsStringList`, service model: 0-358,400 items). */
  maxCollectionElements: 358_400,
  maxDescriptionLength: 128,
  batchGetMaxIdentifiers: 100,
  batchWriteMaxEntries: 25,
} as const;

/** Feature names: 1-64 chars, `[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}` (service model). */
const FEATURE_NAME_PATTERN = /^[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}$/;

/**
 * Feature group names follow CloudFormation's stricter pattern (no underscores), because the
 * template creates the groups: a name the service accepts but CloudFormation rejects would only
 * fail at deploy time.
 */
const GROUP_NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}$/;

/**
 * Column names the offline store adds to every row, plus the hive partition columns of its
 * key layout (`year=/month=/day=/hour=`), which collide with features when the Parquet is read
 * with hive partitioning (as DuckDB and Athena do).
 */
const RESERVED_FEATURE_NAMES = [
  'write_time',
  'api_invocation_time',
  'is_deleted',
  'year',
  'month',
  'day',
  'hour',
] as const;

const SECONDS_PER_UNIT = {
  Seconds: 1,
  Minutes: 60,
  Hours: 3600,
  Days: 86_400,
  Weeks: 604_800,
} as const;

export {
  FEATURE_NAME_PATTERN,
  GROUP_NAME_PATTERN,
  Limits,
  RESERVED_FEATURE_NAMES,
  SECONDS_PER_UNIT,
};

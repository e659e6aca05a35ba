export type {
  BatchFeedOptions,
  FeatureGroup,
  FeatureGroupConfig,
  InputRecordOf,
  OfflineStoreOptions,
  OnlineStoreOptions,
  RecordOf,
} from './defineFeatureGroup.ts';
export { defineFeatureGroup, durationSeconds, freshnessBound } from './defineFeatureGroup.ts';
export type { FeatureSelection, FeatureSet, FeatureSetConfig } from './defineFeatureSet.ts';
export { defineFeatureSet, select } from './defineFeatureSet.ts';
export { feature } from './feature.ts';
export { Limits, RESERVED_FEATURE_NAMES } from './limits.ts';
export type { Duration, FeatureSpec, Features } from './types.ts';
export {
  CollectionType,
  FeatureType,
  OfflineTableFormat,
  OnlineStorageType,
  TargetStore,
  TtlUnit,
} from './types.ts';

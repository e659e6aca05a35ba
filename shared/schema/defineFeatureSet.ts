import { DefinitionError } from '../errors.ts';
import type { FeatureGroup } from './defineFeatureGroup.ts';
import type { Duration } from './types.ts';

/** The features one model version reads from one group. */
interface FeatureSelection {
  readonly group: FeatureGroup;
  readonly features: readonly string[];
}

interface FeatureSetConfig {
  readonly name: string;
  readonly description: string;
  readonly selections: readonly FeatureSelection[];
  /** A value older than this (relative to the request or label time) is *stale*; defaults to each group's `maxAge`. */
  readonly maxAge?: Duration;
}

interface FeatureSet {
  readonly name: string;
  readonly description: string;
  readonly selections: readonly FeatureSelection[];
  readonly maxAge: Duration | undefined;
  /** Entity keys a caller must supply: each group's record identifier. */
  readonly entityKeys: readonly string[];
  /** `group.feature` names, in vector order. */
  readonly qualifiedFeatureNames: readonly string[];
}

const FEATURE_SET_NAME_PATTERN = /^[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}$/;

/**
 * Select features of one group for a feature set; typos are type errors.
 *
 * @example
 * ```typescript
 * select(cards, ['txn_count_7d', 'amount_sum_7d']);
 * ```
 */
function select<G extends FeatureGroup>(
  group: G,
  features: readonly (keyof G['features'] & string)[]
): FeatureSelection {
  return Object.freeze({ group, features: Object.freeze([...features]) });
}

/**
 * A named selection of features across groups: what one model version reads
 * (Feast's `FeatureService`). The lookup API serves it as a vector; the training-set builder joins it.
 */
function defineFeatureSet(config: FeatureSetConfig): FeatureSet {
  const problems: string[] = [];
  if (!FEATURE_SET_NAME_PATTERN.test(config.name)) {
    problems.push(`name must match ${FEATURE_SET_NAME_PATTERN.source}`);
  }
  if (config.selections.length === 0) problems.push('at least one group selection is required');
  const seenGroups = new Set<string>();
  const entityKeys: string[] = [];
  const qualified: string[] = [];
  for (const { group, features } of config.selections) {
    if (seenGroups.has(group.name))
      problems.push(`group "${group.name}" is selected twice; merge the selections`);
    seenGroups.add(group.name);
    if (!group.stores.includes('OnlineStore') && !group.stores.includes('OfflineStore')) {
      problems.push(`group "${group.name}" has no store`);
    }
    // The lookup serves a set's vectors: an internal group (derived-feature state) would reach
    // callers through it, although the lookup refuses it by name.
    if (group.internal) {
      problems.push(
        `group "${group.name}" is internal (only Skewless reads and writes it); select the features derived from it instead`
      );
    }
    if (features.length === 0) problems.push(`group "${group.name}": select at least one feature`);
    for (const f of features) {
      if (!Object.hasOwn(group.features, f))
        problems.push(`group "${group.name}" has no feature "${f}"`);
      qualified.push(`${group.name}.${f}`);
    }
    if (!entityKeys.includes(group.recordIdentifier)) entityKeys.push(group.recordIdentifier);
  }
  if (problems.length > 0) throw new DefinitionError(config.name, problems);
  return Object.freeze({
    name: config.name,
    description: config.description,
    selections: Object.freeze([...config.selections]),
    maxAge: config.maxAge,
    entityKeys: Object.freeze(entityKeys),
    qualifiedFeatureNames: Object.freeze(qualified),
  });
}

export type { FeatureSelection, FeatureSet, FeatureSetConfig };
export { defineFeatureSet, select };

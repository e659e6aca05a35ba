/**
 * Per-group and per-feature-set lookup tables, built once at module scope from the schema
 * module, so a request only does Map/Set look-ups: which features a group has, which one holds
 * the event time, how old a value may be before it is stale, where each selected feature sits in
 * a feature-set vector.
 */
import { UnknownNameError } from '../errors.ts';
import { registry as defaultRegistry, type SchemaRegistry } from '../registry.ts';
import type { FeatureGroup, FeatureSet, FeatureSpec, FeatureType } from '../schema/index.ts';
import { durationSeconds } from '../schema/index.ts';
import { BadRequestError } from './errors.ts';

/** What the lookup needs to know about one feature group. */
interface GroupPlan {
  readonly group: FeatureGroup;
  readonly name: string;
  readonly features: ReadonlySet<string>;
  /** The record identifier's type: ids of a non-String one are read in the writers' encoding. */
  readonly idType: FeatureType;
  /** The feature holding the event time: always read, so `eventTime` and staleness are known. */
  readonly eventTimeFeature: string;
  /** The group's `maxAge` in ms; undefined: its values never go stale. */
  readonly maxAgeMs: number | undefined;
  readonly online: boolean;
}

/** One group's share of a feature-set vector. */
interface SelectionPlan {
  readonly plan: GroupPlan;
  /** The entity key naming this group's record (the group's record identifier). */
  readonly entityKey: string;
  /** Selected features, in vector order. */
  readonly features: readonly string[];
  /** Selected features qualified as `group.feature`, in vector order. */
  readonly qualifiedNames: readonly string[];
  /** What to ask the store for: the selection plus the event-time feature. */
  readonly storeFeatures: readonly string[];
  /** Index of the first selected feature in the vector. */
  readonly offset: number;
  /** The set's max age, else the group's, in ms; undefined: never stale. */
  readonly maxAgeMs: number | undefined;
}

/** What the lookup needs to know about one feature set. */
interface SetPlan {
  readonly set: FeatureSet;
  readonly selections: readonly SelectionPlan[];
  /** `group.feature` names in vector order. */
  readonly featureNames: readonly string[];
  readonly entityKeys: readonly string[];
  readonly entityKeySet: ReadonlySet<string>;
}

function planGroup(group: FeatureGroup): GroupPlan {
  return Object.freeze({
    group,
    name: group.name,
    features: new Set(group.featureNames),
    idType: (group.features[group.recordIdentifier] as FeatureSpec).type,
    eventTimeFeature: group.eventTime,
    maxAgeMs: group.maxAge === undefined ? undefined : durationSeconds(group.maxAge) * 1000,
    online: group.online !== undefined,
  });
}

function planSet(set: FeatureSet, groups: ReadonlyMap<string, GroupPlan>): SetPlan {
  let offset = 0;
  const selections = set.selections.map((selection): SelectionPlan => {
    const plan = groups.get(selection.group.name) ?? planGroup(selection.group);
    const features = [...selection.features];
    const storeFeatures = features.includes(plan.eventTimeFeature)
      ? features
      : [...features, plan.eventTimeFeature];
    const maxAge = set.maxAge ?? selection.group.maxAge;
    const selectionPlan = Object.freeze({
      plan,
      entityKey: selection.group.recordIdentifier,
      features,
      qualifiedNames: features.map((f) => `${plan.name}.${f}`),
      storeFeatures,
      offset,
      maxAgeMs: maxAge === undefined ? undefined : durationSeconds(maxAge) * 1000,
    });
    offset += features.length;
    return selectionPlan;
  });
  return Object.freeze({
    set,
    selections,
    featureNames: set.qualifiedFeatureNames,
    entityKeys: set.entityKeys,
    entityKeySet: new Set(set.entityKeys),
  });
}

/**
 * The lookup tables of one deployment's definitions.
 *
 * @example
 * ```typescript
 * import { catalog } from './shared/lookup/catalog.ts';
 * const plan = catalog.group('fraud-cards');
 * plan.eventTimeFeature; // 'event_time'
 * ```
 */
class LookupCatalog {
  readonly #registry: SchemaRegistry;
  readonly #groups: Map<string, GroupPlan>;
  readonly #sets: Map<string, SetPlan>;

  constructor(registry: SchemaRegistry) {
    this.#registry = registry;
    // Internal groups (derived-feature state) are not served: not planned, never named.
    this.#groups = new Map(
      [...registry.externalGroups.values()].map((g) => [g.name, planGroup(g)])
    );
    this.#sets = new Map(
      [...registry.sets.values()].map((s) => [s.name, planSet(s, this.#groups)])
    );
  }

  /**
   * The plan of a group named by name or ARN.
   *
   * @throws UnknownNameError (a 400 at the edge) naming the known groups; an internal group is
   *   unknown here
   * @throws BadRequestError when the group has no online store
   */
  group(nameOrArn: string): GroupPlan {
    const plan =
      this.#groups.get(nameOrArn) ??
      this.#groups.get(this.#registry.getExternalGroup(nameOrArn).name);
    if (plan === undefined) throw new UnknownNameError('feature group', nameOrArn, []);
    if (!plan.online) {
      throw new BadRequestError(
        `Feature group "${plan.name}" has no online store; only online features can be looked up`
      );
    }
    return plan;
  }

  /**
   * The plan of a feature set.
   *
   * @throws UnknownNameError (a 400 at the edge) naming the known feature sets
   * @throws BadRequestError when a selected group has no online store
   */
  set(name: string): SetPlan {
    const plan = this.#sets.get(name);
    if (plan === undefined) throw new UnknownNameError('feature set', name, [...this.#sets.keys()]);
    const offline = plan.selections.find((s) => !s.plan.online);
    if (offline !== undefined) {
      throw new BadRequestError(
        `Feature set "${name}" selects "${offline.plan.name}", which has no online store`
      );
    }
    return plan;
  }
}

/** The catalog of this deployment's definitions (`shared/definitions.ts`). */
const catalog = new LookupCatalog(defaultRegistry);

export type { GroupPlan, SelectionPlan, SetPlan };
export { catalog, LookupCatalog };

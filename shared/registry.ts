import { featureGroups, featureSets } from './definitions.ts';
import { UnknownNameError } from './errors.ts';
import type { FeatureGroup, FeatureSet } from './schema/index.ts';

/** A feature group's ARN, as the service's API patterns it; group 1 is the name. */
const FEATURE_GROUP_ARN = /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:\d{12}:feature-group\/(.+)$/;

/**
 * Look-ups by name over the definitions file. A group may be addressed by name or by ARN
 * (`arn:aws:sagemaker:<region>:<account>:feature-group/<name>`), as the service allows.
 */
class SchemaRegistry {
  /** Every group, internal ones included (the store and the template create them all). */
  readonly groups: ReadonlyMap<string, FeatureGroup>;
  /**
   * The groups users may address: served by the lookup API, accepted as backfill and batch
   * targets. Internal groups (`internal: true`, e.g. derived-feature state) are left out.
   */
  readonly externalGroups: ReadonlyMap<string, FeatureGroup>;
  readonly sets: ReadonlyMap<string, FeatureSet>;

  constructor(groups: readonly FeatureGroup[], sets: readonly FeatureSet[]) {
    this.groups = new Map(groups.map((g) => [g.name, g]));
    this.externalGroups = new Map(groups.filter((g) => !g.internal).map((g) => [g.name, g]));
    this.sets = new Map(sets.map((s) => [s.name, s]));
    if (this.groups.size !== groups.length) throw new Error('feature group names must be unique');
    if (this.sets.size !== sets.length) throw new Error('feature set names must be unique');
  }

  /**
   * A group by name or by feature-group ARN (the service's pattern: `arn:aws…:sagemaker:<region>:
   * <12-digit account>:feature-group/<name>`); any other `arn:…` is no group (it used to match
   * on its last path segment alone: `arn:x/fraud-cards` read as fraud-cards).
   */
  findGroup(nameOrArn: string): FeatureGroup | undefined {
    if (!nameOrArn.startsWith('arn:')) return this.groups.get(nameOrArn);
    const name = FEATURE_GROUP_ARN.exec(nameOrArn)?.[1];
    return name === undefined ? undefined : this.groups.get(name);
  }

  /** @throws UnknownNameError naming the known groups */
  getGroup(nameOrArn: string): FeatureGroup {
    const group = this.findGroup(nameOrArn);
    if (group === undefined)
      throw new UnknownNameError('feature group', nameOrArn, [...this.groups.keys()]);
    return group;
  }

  /** Like {@link findGroup}, but an internal group is not found. */
  findExternalGroup(nameOrArn: string): FeatureGroup | undefined {
    const group = this.findGroup(nameOrArn);
    return group === undefined || group.internal ? undefined : group;
  }

  /**
   * Like {@link getGroup}, but an internal group is unknown, and the error names only the
   * external groups (an internal group's name never reaches a user through it).
   * @throws UnknownNameError naming the external groups
   */
  getExternalGroup(nameOrArn: string): FeatureGroup {
    const group = this.findExternalGroup(nameOrArn);
    if (group === undefined)
      throw new UnknownNameError('feature group', nameOrArn, [...this.externalGroups.keys()]);
    return group;
  }

  /** @throws UnknownNameError naming the known feature sets */
  getSet(name: string): FeatureSet {
    const set = this.sets.get(name);
    if (set === undefined) throw new UnknownNameError('feature set', name, [...this.sets.keys()]);
    return set;
  }
}

/** The registry of this deployment's definitions (`shared/definitions.ts`). */
const registry = new SchemaRegistry(featureGroups, featureSets);

export { registry, SchemaRegistry };

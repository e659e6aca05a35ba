import { featureGroups, featureSets } from './definitions.ts';
import { UnknownNameError } from './errors.ts';
import type { FeatureGroup, FeatureSet } from './schema/index.ts';

/**
 * Look-ups by name over the definitions file. A group may be addressed by name or by ARN
 * (`arn:aws:sagemaker:<region>:<account>:feature-group/<name>`), as the service allows.
 */
class SchemaRegistry {
  readonly groups: ReadonlyMap<string, FeatureGroup>;
  readonly sets: ReadonlyMap<string, FeatureSet>;

  constructor(groups: readonly FeatureGroup[], sets: readonly FeatureSet[]) {
    this.groups = new Map(groups.map((g) => [g.name, g]));
    this.sets = new Map(sets.map((s) => [s.name, s]));
    if (this.groups.size !== groups.length) throw new Error('feature group names must be unique');
    if (this.sets.size !== sets.length) throw new Error('feature set names must be unique');
  }

  findGroup(nameOrArn: string): FeatureGroup | undefined {
    const slash = nameOrArn.startsWith('arn:') ? nameOrArn.lastIndexOf('/') : -1;
    return this.groups.get(slash >= 0 ? nameOrArn.slice(slash + 1) : nameOrArn);
  }

  /** @throws UnknownNameError naming the known groups */
  getGroup(nameOrArn: string): FeatureGroup {
    const group = this.findGroup(nameOrArn);
    if (group === undefined)
      throw new UnknownNameError('feature group', nameOrArn, [...this.groups.keys()]);
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

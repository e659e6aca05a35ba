/**
 * The derived definitions of this deployment (`derivedFeatures` in `shared/definitions.ts`),
 * checked together at import time and looked up by source group.
 */
import { derivedFeatures, featureGroups } from './definitions.ts';
import { checkDerivedDefinitions, type DerivedDefinition } from './derived/define.ts';
import type { FeatureGroup } from './schema/index.ts';

/** Derived definitions by the name of their source group. */
class DerivedRegistry {
  readonly bySource: ReadonlyMap<string, DerivedDefinition>;

  constructor(definitions: readonly DerivedDefinition[], groups: readonly FeatureGroup[]) {
    checkDerivedDefinitions(definitions, groups);
    this.bySource = new Map(definitions.map((d) => [d.source.name, d]));
  }

  /** The definition whose source is this group, if any. */
  forGroup(groupName: string): DerivedDefinition | undefined {
    return this.bySource.get(groupName);
  }

  get definitions(): readonly DerivedDefinition[] {
    return [...this.bySource.values()];
  }
}

/** This deployment's derived definitions. */
const derivedRegistry = new DerivedRegistry(derivedFeatures, featureGroups);

export { DerivedRegistry, derivedRegistry };

import { describe, expect, it } from 'vitest';
import {
  cards,
  cardVelocities,
  featureGroups,
  fraudModelV3,
  transactions,
} from '../../../shared/definitions.ts';
import { DefinitionError } from '../../../shared/errors.ts';
import { registry } from '../../../shared/registry.ts';
import {
  defineFeatureGroup,
  defineFeatureSet,
  type FeatureGroupConfig,
  type Features,
  feature,
  freshnessBound,
  select,
} from '../../../shared/schema/index.ts';

const base = {
  name: 'test-group',
  description: 'A group for tests',
  recordIdentifier: 'id',
  eventTime: 'ts',
  features: {
    id: feature.string('id'),
    ts: feature.string('event time'),
    value: feature.fractional('a value'),
  },
  online: { ttl: { unit: 'Days', value: 1 } },
  offline: {},
} as const satisfies FeatureGroupConfig<Features, string, string>;

function problemsOf(
  config: Partial<FeatureGroupConfig<Features, string, string>>
): readonly string[] {
  try {
    defineFeatureGroup({ ...base, ...config } as FeatureGroupConfig<Features, string, string>);
  } catch (error) {
    expect(error).toBeInstanceOf(DefinitionError);
    return (error as DefinitionError).problems;
  }
  throw new Error('expected a DefinitionError');
}

describe('Function: defineFeatureGroup()', () => {
  it('returns a frozen definition with stores, names and defaults filled in', () => {
    const group = defineFeatureGroup(base);
    expect(Object.isFrozen(group)).toBe(true);
    expect(group.featureNames).toEqual(['id', 'ts', 'value']);
    expect(group.stores).toEqual(['OnlineStore', 'OfflineStore']);
    expect(group.online).toEqual({ ttl: { unit: 'Days', value: 1 }, storageType: 'Standard' });
    expect(group.offline).toEqual({ tableFormat: 'Glue' });
    expect(group.internal).toBe(false);
  });

  it('marks a group internal only when asked, and the derived-state group always', () => {
    expect(defineFeatureGroup({ ...base, internal: true }).internal).toBe(true);
    expect(cardVelocities.state.internal).toBe(true);
    expect(featureGroups.filter((g) => g.internal).map((g) => g.name)).toEqual([
      'fraud-card-state',
    ]);
    expect(problemsOf({ internal: 'yes' as never })).toContain(
      'internal must be true or false (got "yes")'
    );
  });

  it.each([
    [
      'identifier not declared',
      { recordIdentifier: 'nope' },
      'recordIdentifier "nope" is not a declared feature',
    ],
    [
      'event time not declared',
      { eventTime: 'nope' },
      'eventTime "nope" is not a declared feature',
    ],
    [
      'event time of type Integral',
      { features: { ...base.features, ts: feature.integral('x') } },
      'eventTime "ts" must be a scalar String or Fractional feature',
    ],
    ['group name with underscore', { name: 'bad_name' }, 'name must be 1-64 characters'],
    ['group name too long', { name: 'a'.repeat(65) }, 'name must be 1-64 characters'],
    [
      'feature name with a dot',
      { features: { ...base.features, 'a.b': feature.string('x') } },
      'feature "a.b": name must be 1-64 characters',
    ],
    [
      'reserved offline column',
      { features: { ...base.features, write_time: feature.string('x') } },
      'feature "write_time": name is reserved',
    ],
    [
      'reserved is_deleted',
      { features: { ...base.features, is_deleted: feature.string('x') } },
      'feature "is_deleted": name is reserved',
    ],
    [
      'names differing by case',
      { features: { ...base.features, Value: feature.string('x') } },
      'differs from "value" only by case',
    ],
    ['no store', { online: undefined, offline: undefined }, 'at least one store'],
    [
      'ttl of zero',
      { online: { ttl: { unit: 'Days', value: 0 } } },
      'online.ttl.value must be an integer >= 1',
    ],
    [
      'ttl with a bad unit',
      { online: { ttl: { unit: 'Years' as never, value: 1 } } },
      'online.ttl.unit "Years"',
    ],
    [
      'a collection on a Standard store',
      { features: { ...base.features, tags: feature.list('String', 'x') } },
      'collection type List needs online.storageType "InMemory"',
    ],
    [
      'a description missing',
      { features: { ...base.features, value: { ...feature.fractional(''), description: '' } } },
      'feature "value": a description is required',
    ],
    ['a batch feed without a cadence', { batch: {} as never }, 'batch.cadence is required'],
    [
      'a batch cadence of zero',
      { batch: { cadence: { unit: 'Days', value: 0 } } },
      'batch.cadence.value must be an integer >= 1 (got 0)',
    ],
    [
      'a batch delay with a bad unit',
      {
        batch: {
          cadence: { unit: 'Days', value: 1 },
          maxDelay: { unit: 'Years' as never, value: 1 },
        },
      },
      'batch.maxDelay.unit "Years"',
    ],
    [
      'a batch feed on an internal group',
      { internal: true, batch: { cadence: { unit: 'Days', value: 1 } } },
      'an internal group cannot be batch-fed',
    ],
    [
      'a batch feed on an offline-only group',
      { online: undefined, batch: { cadence: { unit: 'Days', value: 1 } } },
      'a batch-fed group needs both stores',
    ],
    [
      'a batch feed on an online-only group',
      { offline: undefined, batch: { cadence: { unit: 'Days', value: 1 } } },
      'a batch-fed group needs both stores',
    ],
    [
      'a max age shorter than the batch cadence and delay',
      {
        maxAge: { unit: 'Hours', value: 25 },
        batch: { cadence: { unit: 'Days', value: 1 }, maxDelay: { unit: 'Hours', value: 2 } },
      },
      'maxAge (25 Hours) is shorter than batch.cadence + batch.maxDelay (93600 s)',
    ],
  ])('rejects %s', (_, config, message) => {
    const problems = problemsOf(config as never);
    expect(
      problems.some((p) => p.includes(message)),
      problems.join('\n')
    ).toBe(true);
  });

  it('rejects more than 2,500 features', () => {
    const many = Object.fromEntries(
      Array.from({ length: 2501 }, (_, i) => [`f${i}`, feature.string('x')])
    );
    const problems = problemsOf({ features: { ...base.features, ...many } });
    expect(problems).toContain('2504 features exceed the limit of 2500');
  });

  it('accepts exactly 2,500 features', () => {
    const many = Object.fromEntries(
      Array.from({ length: 2497 }, (_, i) => [`f${i}`, feature.string('x')])
    );
    expect(
      defineFeatureGroup({ ...base, features: { ...base.features, ...many } }).featureNames
    ).toHaveLength(2500);
  });

  it('checks collection rules: InMemory, no offline, one Vector, dimension bounds', () => {
    const problems = problemsOf({
      features: {
        ...base.features,
        v1: feature.vector(0, 'x'),
        v2: feature.vector(9000, 'x'),
      },
      online: { storageType: 'InMemory' },
    });
    expect(problems).toContain(
      'an InMemory online store does not replicate to an offline store; drop offline or use Standard'
    );
    expect(problems).toContain('at most one Vector feature per group (found 2)');
    expect(
      problems.filter((p) => p.includes('Vector dimension must be an integer 1-8192'))
    ).toHaveLength(2);
  });

  it('accepts collections on an online-only InMemory group', () => {
    const group = defineFeatureGroup({
      ...base,
      features: { ...base.features, tags: feature.set('String', 'x'), emb: feature.vector(4, 'x') },
      online: { storageType: 'InMemory' },
      offline: undefined,
    });
    expect(group.stores).toEqual(['OnlineStore']);
  });

  it('keeps a batch feed and bounds freshness by cadence + delay, else by max age', () => {
    const nightly = defineFeatureGroup({
      ...base,
      maxAge: { unit: 'Hours', value: 26 },
      batch: { cadence: { unit: 'Days', value: 1 }, maxDelay: { unit: 'Hours', value: 2 } },
    });
    expect(nightly.batch).toEqual({
      cadence: { unit: 'Days', value: 1 },
      maxDelay: { unit: 'Hours', value: 2 },
    });
    expect(Object.isFrozen(nightly.batch)).toBe(true);
    expect(freshnessBound(nightly)).toEqual({ seconds: 93_600, from: 'batch' });
    const hourly = defineFeatureGroup({ ...base, batch: { cadence: { unit: 'Hours', value: 1 } } });
    expect(freshnessBound(hourly)).toEqual({ seconds: 3600, from: 'batch' });
    const streamed = defineFeatureGroup({ ...base, maxAge: { unit: 'Minutes', value: 5 } });
    expect(streamed.batch).toBeUndefined();
    expect(freshnessBound(streamed)).toEqual({ seconds: 300, from: 'maxAge' });
    expect(freshnessBound(defineFeatureGroup(base))).toBeUndefined();
  });

  it('declares exactly the nightly aggregate groups of the definitions batch-fed', () => {
    expect(featureGroups.filter((g) => g.batch !== undefined).map((g) => g.name)).toEqual([
      'fraud-cards',
      'fraud-merchants',
    ]);
    expect(freshnessBound(cards)).toEqual({ seconds: 86_400 + 6 * 3600, from: 'batch' });
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({ name: 'bad_name', recordIdentifier: 'nope', eventTime: 'nope2' });
    expect(problems.length).toBeGreaterThanOrEqual(3);
  });
});

describe('Function: defineFeatureSet()', () => {
  it('lists entity keys and qualified feature names in vector order', () => {
    expect(fraudModelV3.entityKeys).toEqual(['transaction_id', 'card_id', 'merchant_id']);
    expect(fraudModelV3.qualifiedFeatureNames[0]).toBe('fraud-transactions.amount');
  });

  it('rejects unknown features and a group selected twice', () => {
    expect(() =>
      defineFeatureSet({
        name: 'bad',
        description: 'x',
        selections: [select(cards, ['txn_count_7d']), select(cards, ['nope' as never])],
      })
    ).toThrow(
      /group "fraud-cards" is selected twice[\s\S]*group "fraud-cards" has no feature "nope"/
    );
  });
});

describe('Class: SchemaRegistry', () => {
  it('finds groups by name and by ARN and names the known ones when missing', () => {
    expect(registry.getGroup('fraud-cards')).toBe(cards);
    expect(
      registry.getGroup('arn:aws:sagemaker:us-east-1:000000000000:feature-group/fraud-transactions')
    ).toBe(transactions);
    expect(() => registry.getGroup('nope')).toThrow(
      'Unknown feature group "nope"; known: fraud-transactions, fraud-cards, fraud-merchants'
    );
    // Only a feature-group ARN names a group, not any ARN-like text ending in its name.
    expect(registry.findGroup('arn:x/fraud-cards')).toBeUndefined();
    expect(
      registry.findGroup('arn:aws:sagemaker:us-east-1:000000000000:endpoint/fraud-cards')
    ).toBeUndefined();
    expect(
      registry.findGroup('arn:aws-cn:sagemaker:cn-north-1:123456789012:feature-group/fraud-cards')
    ).toBe(cards);
    expect(registry.groups.size).toBe(featureGroups.length);
  });

  it('refuses a feature set that selects an internal group (the lookup would serve it)', () => {
    const state = cardVelocities.state;
    const feature = state.featureNames.find(
      (f) => f !== state.recordIdentifier && f !== state.eventTime
    );
    expect(() =>
      defineFeatureSet({
        name: 'leaks_state',
        description: 'serves the card state',
        selections: [select(state, [feature as never])],
      })
    ).toThrow(
      `group "${state.name}" is internal (only Skewless reads and writes it); select the features derived from it instead`
    );
  });

  it('hides internal groups from the external look-ups and their error messages', () => {
    expect(registry.findGroup('fraud-card-state')).toBe(cardVelocities.state);
    expect(registry.findExternalGroup('fraud-card-state')).toBeUndefined();
    expect(registry.getExternalGroup('fraud-cards')).toBe(cards);
    expect(() => registry.getExternalGroup('fraud-card-state')).toThrow(
      'Unknown feature group "fraud-card-state"; known: fraud-transactions, fraud-cards, fraud-merchants'
    );
    expect([...registry.externalGroups.keys()]).not.toContain('fraud-card-state');
  });
});

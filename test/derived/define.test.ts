/**
 * Definition-time checks of derived features: every mistake is a compile error where the types can
 * see it (`@ts-expect-error` below fails the typecheck if it is not) and, always, a specific
 * DefinitionError at import time.
 */
import { describe, expect, it } from 'vitest';
import { cardVelocities, featureGroups, transactions } from '../../shared/definitions.ts';
import {
  checkDerivedDefinitions,
  type DerivedFeaturesConfig,
  defineDerivedFeatures,
  defineDerivedStateGroup,
} from '../../shared/derived/index.ts';
import { derivedRegistry } from '../../shared/derivedRegistry.ts';
import { DefinitionError } from '../../shared/errors.ts';
import { defineFeatureGroup, feature } from '../../shared/schema/index.ts';

const state = defineDerivedStateGroup({
  name: 'define-test-state',
  description: 'state',
  entity: 'card_id',
});

type TransactionFeatures = (typeof transactions)['features'];

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DefinitionError);
    return (error as DefinitionError).problems;
  }
  throw new Error('expected a DefinitionError');
}

const base = { name: 'define-test', entity: 'card_id', state } as const;

describe('Function: defineDerivedFeatures()', () => {
  it('compiles the shipped card velocities', () => {
    expect(cardVelocities.outputs.map((o) => [o.feature, o.expression])).toEqual([
      ['card_txn_count_60s', 'count(60s)'],
      ['card_txn_count_1h', 'count(1h)'],
      ['card_txn_count_1d', 'count(1d)'],
      ['card_amount_sum_1h', 'sum(amount, 1h)'],
      ['amount_to_avg_7d_ratio', 'amount / mean(amount, 7d)'],
    ]);
    expect(cardVelocities.rawFeatures).toEqual(['merchant_id', 'amount', 'currency', 'channel']);
    expect(cardVelocities.longestWindowNanos).toBe(7n * 86_400n * 1_000_000_000n);
    expect(cardVelocities.allowedLatenessNanos).toBe(86_400n * 1_000_000_000n);
    expect(featureGroups).toContain(cardVelocities.state);
    expect(derivedRegistry.forGroup('fraud-transactions')).toBe(cardVelocities);
    expect(derivedRegistry.forGroup('fraud-cards')).toBeUndefined();
  });

  it('accepts an Integral result into a Fractional feature', () => {
    const d = defineDerivedFeatures(transactions, {
      ...base,
      features: (f) => ({ amount_to_avg_7d_ratio: f.count('7d') }),
    });
    expect(d.outputs[0]?.featureType).toBe('Fractional');
  });

  it('rejects a feature the group does not declare', () => {
    expect(
      problemsOf(() =>
        defineDerivedFeatures(transactions, {
          ...base,
          // @ts-expect-error: not a feature of fraud-transactions
          features: (f) => ({ card_txn_count_5m: f.count('5m') }),
        })
      )
    ).toEqual([
      'feature "card_txn_count_5m" is not declared in "fraud-transactions"; declare it in its features',
    ]);
  });

  it('rejects a result type the feature cannot hold', () => {
    expect(
      problemsOf(() =>
        defineDerivedFeatures(transactions, {
          ...base,
          // @ts-expect-error: a mean is Fractional, the feature is Integral
          features: (f) => ({ card_txn_count_1h: f.mean('amount', '1h') }),
        })
      )
    ).toEqual(['feature "card_txn_count_1h" is Integral but mean(amount, 1h) is Fractional']);
  });

  it('rejects a numeric aggregation of a String feature and an unknown field', () => {
    expect(
      problemsOf(() =>
        defineDerivedFeatures(transactions, {
          ...base,
          features: (f) => ({
            // @ts-expect-error: channel is a String
            card_amount_sum_1h: f.sum('channel', '1h'),
            // @ts-expect-error: no such field
            amount_to_avg_7d_ratio: f.ratio(f.value('amount'), f.mean('amount_eur', '7d')),
          }),
        })
      )
    ).toEqual([
      'feature "card_amount_sum_1h": sum: "channel" is String; this aggregation needs a numeric feature',
      'feature "amount_to_avg_7d_ratio": mean: "amount_eur" is not a feature of "fraud-transactions"',
    ]);
  });

  it('rejects malformed windows, derived inputs, key features and a bad entity', () => {
    expect(
      problemsOf(() =>
        defineDerivedFeatures(transactions, {
          ...base,
          // @ts-expect-error: amount is Fractional, not a String or Integral entity
          entity: 'amount',
          features: (f) => ({
            // @ts-expect-error: not a window
            card_txn_count_60s: f.count('60x'),
            card_txn_count_1h: f.count('0h'),
            card_amount_sum_1h: f.sum('card_txn_count_60s', '1h'),
            // @ts-expect-error: the record identifier is a String, never derived
            transaction_id: f.count('1h'),
          }),
        })
      )
    ).toEqual([
      'entity "amount" must be a scalar String or Integral feature',
      'feature "card_txn_count_60s": count: window "60x" must be a positive integer and a unit s, m, h, d or w (e.g. 60s, 1h, 7d)',
      'feature "card_txn_count_1h": count: window "0h" must be a positive integer and a unit s, m, h, d or w (e.g. 60s, 1h, 7d)',
      'feature "card_amount_sum_1h": sum: "card_txn_count_60s" is itself a derived output; derived values cannot feed derived values',
      'feature "transaction_id" is the record identifier, event time or entity; it cannot be derived',
    ]);
  });

  it('rejects a state group with an offline store, a short ttl and a budget over the record limit', () => {
    const offline = defineFeatureGroup({
      name: 'bad-state',
      description: 'offline state',
      recordIdentifier: 'card_id',
      eventTime: 'event_time',
      features: {
        card_id: feature.string('key'),
        event_time: feature.string('time'),
        state: feature.string('state'),
      },
      online: { ttl: { unit: 'Days', value: 1 } },
      offline: {},
    });
    expect(
      problemsOf(() =>
        defineDerivedFeatures(transactions, {
          ...base,
          state: offline,
          maxStateBytes: 400_000,
          features: (f) => ({ card_txn_count_1d: f.count('1d') }),
        })
      )
    ).toEqual([
      'state group "bad-state" must be online-only: an offline store would keep every state version',
      'maxStateBytes must be an integer 1024-354304 (got 400000)',
      'state group ttl must be at least the longest window plus the allowed lateness (2d), or the state expires while still needed',
    ]);
  });

  it('rejects a definition without any windowed aggregation', () => {
    expect(
      problemsOf(() =>
        defineDerivedFeatures(transactions, {
          ...base,
          features: (f) => ({ amount_to_avg_7d_ratio: f.value('amount') }),
        })
      )
    ).toEqual(['declare at least one windowed aggregation (only row-level values were given)']);
  });

  it('types the builders from the group (a config is checked like any other value)', () => {
    const config: DerivedFeaturesConfig<TransactionFeatures, object> = {
      ...base,
      features: (f) => ({ card_txn_count_1d: f.count('1d') }),
    };
    expect(defineDerivedFeatures(transactions, config).outputs).toHaveLength(1);
  });
});

describe('Function: checkDerivedDefinitions()', () => {
  it('allows one definition per source group and needs its groups listed', () => {
    const d = defineDerivedFeatures(transactions, {
      ...base,
      features: (f) => ({ card_txn_count_1d: f.count('1d') }),
    });
    expect(problemsOf(() => checkDerivedDefinitions([d, d], [transactions]))).toEqual([
      'state group "define-test-state" of "define-test" is not listed in featureGroups',
      'group "fraud-transactions" has two derived definitions; merge them into one',
      'state group "define-test-state" is used by two derived definitions',
      'state group "define-test-state" of "define-test" is not listed in featureGroups',
    ]);
    expect(() => checkDerivedDefinitions([cardVelocities], featureGroups)).not.toThrow();
  });
});

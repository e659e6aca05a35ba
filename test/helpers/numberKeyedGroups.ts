/**
 * Two feature groups keyed by a number (shared/definitions.ts has none), for the readers that
 * must ask the store for an id as the writers encoded it: `<prefix>-accounts` (Integral
 * `account_id`, feature `balance`) and `<prefix>-scores` (Fractional `score_key`, feature `hits`).
 */
import { defineFeatureGroup, feature } from '../../shared/schema/index.ts';

function numberKeyedGroups(prefix: string) {
  const accounts = defineFeatureGroup({
    name: `${prefix}-accounts`,
    description: 'Accounts keyed by an Integral id',
    recordIdentifier: 'account_id',
    eventTime: 'event_time',
    features: {
      account_id: feature.integral('Account number'),
      event_time: feature.string('When computed'),
      balance: feature.fractional('Balance'),
    },
    online: {},
    offline: {},
  });
  const scores = defineFeatureGroup({
    name: `${prefix}-scores`,
    description: 'Scores keyed by a Fractional id',
    recordIdentifier: 'score_key',
    eventTime: 'event_time',
    features: {
      score_key: feature.fractional('Score bucket'),
      event_time: feature.string('When computed'),
      hits: feature.integral('Hits'),
    },
    online: {},
    offline: {},
  });
  return { accounts, scores };
}

export { numberKeyedGroups };

/**
 * THE feature definitions of this deployment: edit this one file to make Skewless yours.
 *
 * Every other part derives from what is exported here: the handlers validate with it, the
 * template's `AWS::SageMaker::FeatureGroup` resources are generated from it (`npm run
 * gen:template`, checked in CI), the embedded store creates these groups at start, and the
 * training-set SQL selects these columns. Export every group in `featureGroups` and every
 * feature set in `featureSets`.
 *
 * The shipped example is a card-payments fraud model: one group per transaction (streamed),
 * one per card and one per merchant (nightly batch aggregates), and the feature set the model
 * reads at inference time.
 */
import { defineDerivedFeatures, defineDerivedStateGroup } from './derived/define.ts';
import { defineFeatureGroup, defineFeatureSet, feature, select } from './schema/index.ts';

/** One row per payment, streamed from Kinesis; velocities are computed per card at ingest. */
export const transactions = defineFeatureGroup({
  name: 'fraud-transactions',
  description: 'Per-transaction features of card payments, streamed at authorisation time',
  recordIdentifier: 'transaction_id',
  eventTime: 'event_time',
  features: {
    transaction_id: feature.string('Payment transaction id from the authorisation system'),
    event_time: feature.string('Authorisation time of the payment (UTC)'),
    card_id: feature.string('Tokenised card id (entity key of fraud-cards)'),
    merchant_id: feature.string('Merchant id (entity key of fraud-merchants)'),
    amount: feature.fractional('Amount in the card currency'),
    currency: feature.string('ISO-4217 currency code'),
    channel: feature.string('Entry channel: pos, ecom or moto'),
    card_txn_count_60s: feature.integral('Payments on the same card in the last 60 seconds'),
    card_txn_count_1h: feature.integral('Payments on the same card in the last hour'),
    card_txn_count_1d: feature.integral('Payments on the same card in the last day'),
    card_amount_sum_1h: feature.fractional('Amount paid with the same card in the last hour'),
    amount_to_avg_7d_ratio: feature.fractional(
      'Amount divided by the card mean amount over 7 days'
    ),
  },
  online: { ttl: { unit: 'Days', value: 30 } },
  offline: { tableFormat: 'Glue' },
  maxAge: { unit: 'Hours', value: 1 },
});

/**
 * The card velocities of each payment, derived from the payments themselves: computed at ingest
 * from the card's recent payments and replayed identically by the backfill
 * (docs/derived-features.md). Producers send the raw payment; these five features are written by
 * the engine, never by a producer.
 */
export const cardVelocities = defineDerivedFeatures(transactions, {
  name: 'card-velocities',
  description: 'Per-card payment velocities, from the payment events',
  entity: 'card_id',
  state: defineDerivedStateGroup({
    name: 'fraud-card-state',
    description: 'Recent payments per card: the state of the derived card velocities (internal)',
    entity: 'card_id',
    ttl: { unit: 'Days', value: 10 },
  }),
  allowedLateness: '1d',
  features: (f) => ({
    card_txn_count_60s: f.count('60s'),
    card_txn_count_1h: f.count('1h'),
    card_txn_count_1d: f.count('1d'),
    card_amount_sum_1h: f.sum('amount', '1h'),
    amount_to_avg_7d_ratio: f.ratio(f.value('amount'), f.mean('amount', '7d')),
  }),
});

/** Nightly batch aggregates per card (a batch-fed group: `batch/fraud-cards/` drops). */
export const cards = defineFeatureGroup({
  name: 'fraud-cards',
  description: 'Per-card batch aggregates, recomputed nightly',
  recordIdentifier: 'card_id',
  eventTime: 'event_time',
  features: {
    card_id: feature.string('Tokenised card id'),
    event_time: feature.string('End of the aggregation window (UTC)'),
    txn_count_7d: feature.integral('Payments in the last 7 days'),
    txn_count_30d: feature.integral('Payments in the last 30 days'),
    amount_sum_7d: feature.fractional('Amount paid in the last 7 days'),
    amount_sum_30d: feature.fractional('Amount paid in the last 30 days'),
    distinct_merchants_30d: feature.integral('Distinct merchants paid in the last 30 days'),
    chargebacks_365d: feature.integral('Chargebacks in the last 365 days'),
    card_age_days: feature.integral('Days since the card was issued'),
    home_country: feature.string('ISO-3166 country of the issuing bank'),
  },
  online: { ttl: { unit: 'Days', value: 90 } },
  offline: { tableFormat: 'Glue' },
  maxAge: { unit: 'Days', value: 2 },
  // Fed by the nightly job through batch/<group>/ (docs/batch.md); the audit alarms when a
  // night's drop has not landed 6 hours after the end of its window.
  batch: { cadence: { unit: 'Days', value: 1 }, maxDelay: { unit: 'Hours', value: 6 } },
});

/** Nightly batch aggregates per merchant (a batch-fed group: `batch/fraud-merchants/` drops). */
export const merchants = defineFeatureGroup({
  name: 'fraud-merchants',
  description: 'Per-merchant risk aggregates, recomputed nightly',
  recordIdentifier: 'merchant_id',
  eventTime: 'event_time',
  features: {
    merchant_id: feature.string('Merchant id'),
    event_time: feature.string('End of the aggregation window (UTC)'),
    mcc: feature.string('Merchant category code'),
    country: feature.string('ISO-3166 country of the merchant'),
    txn_count_1d: feature.integral('Payments accepted in the last day'),
    avg_amount_30d: feature.fractional('Mean payment amount over 30 days'),
    fraud_rate_30d: feature.fractional('Share of payments reported as fraud over 30 days'),
    chargeback_rate_90d: feature.fractional('Share of payments charged back over 90 days'),
  },
  online: { ttl: { unit: 'Days', value: 90 } },
  offline: { tableFormat: 'Glue' },
  maxAge: { unit: 'Days', value: 2 },
  // Fed by the nightly job through batch/<group>/ (docs/batch.md); the audit alarms when a
  // night's drop has not landed 6 hours after the end of its window.
  batch: { cadence: { unit: 'Days', value: 1 }, maxDelay: { unit: 'Hours', value: 6 } },
});

/** What fraud model v3 reads at inference time, in vector order. */
export const fraudModelV3 = defineFeatureSet({
  name: 'fraud_model_v3',
  description: 'Features of the card-fraud model, version 3',
  selections: [
    select(transactions, [
      'amount',
      'channel',
      'card_txn_count_60s',
      'card_txn_count_1h',
      'card_txn_count_1d',
      'card_amount_sum_1h',
      'amount_to_avg_7d_ratio',
    ]),
    select(cards, [
      'txn_count_7d',
      'txn_count_30d',
      'amount_sum_7d',
      'distinct_merchants_30d',
      'chargebacks_365d',
      'card_age_days',
    ]),
    select(merchants, ['mcc', 'fraud_rate_30d', 'chargeback_rate_90d']),
  ],
});

export const featureGroups = [transactions, cards, merchants, cardVelocities.state] as const;
export const featureSets = [fraudModelV3] as const;
/** Derived features, one definition per source group (docs/derived-features.md). */
export const derivedFeatures = [cardVelocities] as const;

import type { SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import pLimit from 'p-limit';
import { cards, merchants } from '../../shared/definitions.ts';
import { toRecord } from '../../shared/record/codec.ts';
import { putEncodedRecord } from '../../shared/store/writer.ts';
import type { PaymentsGenerator } from './paymentsGenerator.ts';

function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * What the nightly batch job would have written: per-card and per-merchant aggregates as of
 * midnight UTC, through PutRecord to both stores, so feature-set vectors have every group.
 */
async function seedBatchAggregates(
  client: SageMakerFeatureStoreRuntimeClient,
  generator: PaymentsGenerator,
  now = new Date()
): Promise<{ cards: number; merchants: number }> {
  const random = mulberry(7);
  const midnight = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const limit = pLimit(32);
  const countries = ['DE', 'FR', 'NL', 'US', 'GB', 'ES'];
  const mccs = ['5411', '5812', '5999', '4111', '7995', '5732'];
  const writes = [
    ...generator.cardIds.map((card_id) =>
      limit(() => {
        const txn7 = Math.floor(random() * 40);
        return putEncodedRecord(
          client,
          toRecord(cards, {
            card_id,
            event_time: midnight,
            txn_count_7d: txn7,
            txn_count_30d: txn7 * 4 + Math.floor(random() * 10),
            amount_sum_7d: Math.round(txn7 * (20 + random() * 80) * 100) / 100,
            amount_sum_30d: Math.round(txn7 * 4 * (20 + random() * 80) * 100) / 100,
            distinct_merchants_30d: Math.floor(random() * 25),
            chargebacks_365d: random() < 0.05 ? 1 + Math.floor(random() * 3) : 0,
            card_age_days: 30 + Math.floor(random() * 3000),
            home_country: countries[Math.floor(random() * countries.length)] ?? 'DE',
          })
        );
      })
    ),
    ...generator.merchantIds.map((merchant_id) =>
      limit(() =>
        putEncodedRecord(
          client,
          toRecord(merchants, {
            merchant_id,
            event_time: midnight,
            mcc: mccs[Math.floor(random() * mccs.length)] ?? '5999',
            country: countries[Math.floor(random() * countries.length)] ?? 'DE',
            txn_count_1d: Math.floor(random() * 5000),
            avg_amount_30d: Math.round((10 + random() * 150) * 100) / 100,
            fraud_rate_30d: Math.round(random() * 0.02 * 1e5) / 1e5,
            chargeback_rate_90d: Math.round(random() * 0.01 * 1e5) / 1e5,
          })
        )
      )
    ),
  ];
  await Promise.all(writes);
  return { cards: generator.cardIds.length, merchants: generator.merchantIds.length };
}

export { seedBatchAggregates };

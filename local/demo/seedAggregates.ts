/**
 * The demo's nightly batch job: per-card and per-merchant aggregates as of midnight UTC, written
 * as Parquet files and dropped under `batch/<group>/` in the local S3, exactly as a Glue job's
 * output lands on AWS. The batch function (docs/batch.md) validates them and writes both stores;
 * the only thing asked of the feature store here is whether a start's drop is already in it.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { cards, merchants } from '../../shared/definitions.ts';
import type { FeatureGroup } from '../../shared/schema/index.ts';
import { getOnlineRecord } from '../../shared/store/onlineReader.ts';
import { seededRandom } from '../runtime/seededRandom.ts';
import type { PaymentsGenerator } from './paymentsGenerator.ts';

type Cell = string | number | bigint | null;

/**
 * A Parquet file of a group's rows with the column types the schema module declares: String →
 * UTF8 text (event times as ISO-8601), Integral → INT64, Fractional → DOUBLE.
 *
 * @example
 * ```typescript
 * const body = groupParquet(cards, [{ card_id: 'card-1', event_time: '…', txn_count_7d: 3n }]);
 * ```
 */
function groupParquet(group: FeatureGroup, rows: readonly Record<string, Cell>[]): Buffer {
  const names = group.featureNames.filter((n) => group.features[n]?.collection === undefined);
  const columnData = names.map((name) => {
    const type = group.features[name]?.type;
    const data = rows.map((r) => {
      const v = r[name] ?? null;
      if (v === null) return null;
      if (type === 'Integral') return BigInt(v);
      if (type === 'Fractional') return Number(v);
      return String(v);
    });
    return {
      name,
      data,
      type: type === 'Integral' ? 'INT64' : type === 'Fractional' ? 'DOUBLE' : 'STRING',
      nullable: true,
    } as const;
  });
  return Buffer.from(parquetWriteBuffer({ columnData }));
}

/** One nightly drop: the object key under `batch/<group>/` and its Parquet bytes. */
interface NightlyFile {
  readonly group: string;
  readonly key: string;
  readonly rows: number;
  readonly body: Buffer;
}

/** The event time of the nightly drop of `now`'s day: that midnight UTC. */
function nightlyEventTime(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

/**
 * What the nightly job outputs for the generator's cards and merchants, as of midnight UTC of
 * `now` (so a restart on the same day drops the same values again: unchanged online).
 */
function nightlyAggregateFiles(generator: PaymentsGenerator, now = new Date()): NightlyFile[] {
  const random = seededRandom(7);
  const eventTime = nightlyEventTime(now).toISOString();
  const day = eventTime.slice(0, 10);
  const countries = ['DE', 'FR', 'NL', 'US', 'GB', 'ES'];
  const mccs = ['5411', '5812', '5999', '4111', '7995', '5732'];
  const pick = (list: readonly string[]) => list[Math.floor(random() * list.length)] ?? '';
  const cardRows = generator.cardIds.map((card_id) => {
    const txn7 = Math.floor(random() * 40);
    return {
      card_id,
      event_time: eventTime,
      txn_count_7d: txn7,
      txn_count_30d: txn7 * 4 + Math.floor(random() * 10),
      amount_sum_7d: Math.round(txn7 * (20 + random() * 80) * 100) / 100,
      amount_sum_30d: Math.round(txn7 * 4 * (20 + random() * 80) * 100) / 100,
      distinct_merchants_30d: Math.floor(random() * 25),
      chargebacks_365d: random() < 0.05 ? 1 + Math.floor(random() * 3) : 0,
      card_age_days: 30 + Math.floor(random() * 3000),
      home_country: pick(countries),
    };
  });
  const merchantRows = generator.merchantIds.map((merchant_id) => ({
    merchant_id,
    event_time: eventTime,
    mcc: pick(mccs),
    country: pick(countries),
    txn_count_1d: Math.floor(random() * 5000),
    avg_amount_30d: Math.round((10 + random() * 150) * 100) / 100,
    fraud_rate_30d: Math.round(random() * 0.02 * 1e5) / 1e5,
    chargeback_rate_90d: Math.round(random() * 0.01 * 1e5) / 1e5,
  }));
  return [
    {
      group: cards.name,
      key: `batch/${cards.name}/nightly-${day}.parquet`,
      rows: cardRows.length,
      body: groupParquet(cards, cardRows),
    },
    {
      group: merchants.name,
      key: `batch/${merchants.name}/nightly-${day}.parquet`,
      rows: merchantRows.length,
      body: groupParquet(merchants, merchantRows),
    },
  ];
}

/**
 * Drops the nightly aggregate files into the bucket; the bucket's `batch/` notification does
 * the rest (the batch function writes both stores).
 */
async function dropNightlyAggregates(
  s3: S3Client,
  bucket: string,
  generator: PaymentsGenerator,
  now = new Date()
): Promise<NightlyFile[]> {
  const files = nightlyAggregateFiles(generator, now);
  for (const file of files) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: file.key, Body: file.body }));
  }
  return files;
}

/**
 * Whether the store already holds the nightly drop of `now`'s day: for the cards and for the
 * merchants, one of the drop's first, middle and last identifiers is served online with its event
 * time. One identifier alone is not enough: a newer put to it (`skewless put fraud-cards
 * '{"card_id":"card-0001",…}'`, the README's example) shadows its drop value, and every start
 * after it dropped the day again. A start on a kept data dir then does not drop it again (the
 * batch function would append the same rows offline once more); a data dir whose store was wiped
 * still gets it. Asks the store, not S3: the bucket outlives a wiped store. A read that fails
 * counts as not served (when none is, the drop is made, as before).
 *
 * @example
 * ```typescript
 * if (!(await nightlyAggregatesApplied(client, generator))) await dropNightlyAggregates(s3, bucket, generator);
 * ```
 */
async function nightlyAggregatesApplied(
  client: SageMakerFeatureStoreRuntimeClient,
  generator: PaymentsGenerator,
  now = new Date()
): Promise<boolean> {
  const eventTime = nightlyEventTime(now).getTime();
  const servesDrop = async (group: FeatureGroup, id: string): Promise<boolean> => {
    const found = await getOnlineRecord(client, group, id, [group.eventTime]).catch(
      () => undefined
    );
    const served = found?.values[group.eventTime];
    return served !== undefined && served !== null && Date.parse(String(served)) === eventTime;
  };
  const dropped: readonly [FeatureGroup, readonly string[]][] = [
    [cards, generator.cardIds],
    [merchants, generator.merchantIds],
  ];
  for (const [group, ids] of dropped) {
    const sample = [...new Set([ids[0], ids[Math.floor(ids.length / 2)], ids.at(-1)])];
    let applied = false;
    for (const id of sample) {
      if (id !== undefined && (await servesDrop(group, id))) {
        applied = true;
        break;
      }
    }
    if (!applied) return false;
  }
  return true;
}

const DAY_MS = 86_400_000;

interface NightlyScheduleOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly generator: PaymentsGenerator;
  /** Milliseconds since the epoch (default `Date.now`); the schedule follows it. */
  readonly now?: () => number;
  /** After each night's drop (the batch function takes it from there). */
  readonly onDropped?: (files: readonly NightlyFile[]) => void;
  /** A night whose drop failed; the next night drops again. */
  readonly onError?: (error: unknown) => void;
}

/**
 * Runs the demo's nightly job at every following midnight UTC, as the scheduled job does on AWS.
 * Without it a stack left running past a day had only the drop made at start: the audit then
 * reported both batch-fed groups overdue (cadence 1 day + max delay 6 h after that midnight), a
 * false alarm of the demo itself. Returns the function that cancels the schedule.
 *
 * @example
 * ```typescript
 * const stop = scheduleNightlyAggregates({ s3, bucket: 'skewless-backfill', generator });
 * stop(); // on shutdown
 * ```
 */
function scheduleNightlyAggregates(options: NightlyScheduleOptions): () => void {
  const now = options.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const scheduleAfter = (instant: number) => {
    const midnight = (Math.floor(instant / DAY_MS) + 1) * DAY_MS;
    timer = setTimeout(() => void runAt(midnight), Math.max(0, midnight - now()));
  };
  const runAt = async (midnight: number) => {
    try {
      const files = await dropNightlyAggregates(
        options.s3,
        options.bucket,
        options.generator,
        new Date(midnight)
      );
      if (!stopped) options.onDropped?.(files);
    } catch (error) {
      if (!stopped) options.onError?.(error);
    }
    if (!stopped) scheduleAfter(Math.max(midnight, now()));
  };
  scheduleAfter(now());
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

export type { NightlyFile, NightlyScheduleOptions };
export {
  dropNightlyAggregates,
  nightlyAggregateFiles,
  nightlyAggregatesApplied,
  nightlyEventTime,
  scheduleNightlyAggregates,
};

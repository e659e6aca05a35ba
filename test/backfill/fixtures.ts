/**
 * Backfill test fixtures: fraud-cards rows (good and deliberately bad) written as CSV, JSON
 * Lines and Parquet, plus readers for what the backfill leaves behind (offline Parquet files,
 * the rejects object, the report).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateFeatureGroupCommand,
  type CreateFeatureGroupCommandInput,
} from '@aws-sdk/client-sagemaker';
import type { Context } from 'aws-lambda';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { waitUntilFeatureGroupCreated } from '../../local/setup/waitForFeatureGroup.ts';
import { localContext } from '../../shared/backfill/continuation.ts';
import { reportKeys } from '../../shared/backfill/objectKey.ts';
import type { BackfillReport, RejectLine, SourceObject } from '../../shared/backfill/types.ts';
import { featureGroups } from '../../shared/definitions.ts';
import { createFeatureGroupInput } from '../../shared/schema/awsDefinitions.ts';
import type { TestStore } from '../helpers/store.ts';

/** One fraud-cards row with every value as the file will carry it. */
interface CardRow {
  card_id: string | null;
  event_time: string | null;
  txn_count_7d: string | null;
  txn_count_30d: string | null;
  amount_sum_7d: string | null;
  amount_sum_30d: string | null;
  distinct_merchants_30d: string | null;
  chargebacks_365d: string | null;
  card_age_days: string | null;
  home_country: string | null;
}

const CARD_COLUMNS = [
  'card_id',
  'event_time',
  'txn_count_7d',
  'txn_count_30d',
  'amount_sum_7d',
  'amount_sum_30d',
  'distinct_merchants_30d',
  'chargebacks_365d',
  'card_age_days',
  'home_country',
] as const;

/**
 * A valid row. Event times are a minute apart: the offline store writes one file per hourly
 * partition, so a wider spread would only make the tests slower.
 */
function goodCard(prefix: string, i: number): CardRow {
  // calendar-fixed: backfilled rows are offline-only history (no TTL offline).
  const eventTime = new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString();
  return {
    card_id: `${prefix}-${i}`,
    event_time: eventTime,
    txn_count_7d: String(i % 50),
    txn_count_30d: String((i % 50) * 4),
    amount_sum_7d: (i * 1.25).toFixed(2),
    amount_sum_30d: (i * 5.5).toFixed(2),
    distinct_merchants_30d: String(i % 17),
    chargebacks_365d: String(i % 3),
    card_age_days: String(100 + i),
    home_country: i % 2 === 0 ? 'FR' : 'DE',
  };
}

/**
 * Two cards an hour old, `<prefix>-live` and `<prefix>-fresh`: inside fraud-cards' 90-day online
 * TTL and newer than an online record seeded a day ago, so a backfill that wrongly wrote online
 * would show in a read (goodCard's 2024 rows would not: past the TTL, and older than any seed).
 */
function recentCards(prefix: string): CardRow[] {
  const eventTime = new Date(Date.now() - 3_600_000).toISOString();
  return [`${prefix}-live`, `${prefix}-fresh`].map((id, i) => ({
    ...goodCard(prefix, i),
    card_id: id,
    event_time: eventTime,
  }));
}

/** Ways a row can be wrong that every format can express. */
const BAD_VARIANTS: readonly ((row: CardRow) => CardRow)[] = [
  (row) => ({ ...row, txn_count_7d: 'twelve' }),
  (row) => ({ ...row, event_time: '2025-13-45T99:00:00Z', amount_sum_7d: 'NaN' }),
  (row) => ({ ...row, card_id: null }),
  (row) => ({ ...row, event_time: null }),
  (row) => ({ ...row, card_age_days: '9223372036854775808' }),
];

/** Bad rows a typed Parquet file can hold: missing keys, an invalid time, a NaN amount. */
const PARQUET_BAD_VARIANTS: readonly ((row: CardRow) => CardRow)[] = [
  (row) => ({ ...row, card_id: null }),
  (row) => ({ ...row, event_time: null }),
  (row) => ({ ...row, amount_sum_30d: 'NaN' }),
];

interface CardFile {
  readonly rows: readonly CardRow[];
  /** card_id of every row that must reach the offline store. */
  readonly good: ReadonlySet<string>;
  /** 1-based row numbers that must be in the rejects. */
  readonly badRows: readonly number[];
}

/**
 * `count` rows, every `badEvery`-th one broken (cycling through `variants`). Parquet columns are
 * typed, so only the variants a typed column can carry apply there (see {@link PARQUET_BAD_VARIANTS}).
 */
function cardFile(
  prefix: string,
  count: number,
  badEvery = 7,
  variants: readonly ((row: CardRow) => CardRow)[] = BAD_VARIANTS
): CardFile {
  const rows: CardRow[] = [];
  const good = new Set<string>();
  const badRows: number[] = [];
  for (let i = 0; i < count; i++) {
    const row = goodCard(prefix, i);
    if (badEvery > 0 && i % badEvery === badEvery - 1) {
      const variant = variants[Math.floor(i / badEvery) % variants.length] as (
        r: CardRow
      ) => CardRow;
      rows.push(variant(row));
      badRows.push(i + 1);
    } else {
      rows.push(row);
      good.add(row.card_id as string);
    }
  }
  return { rows, good, badRows };
}

function csvField(value: string | null): string {
  if (value === null) return '';
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function toCsv(rows: readonly CardRow[]): string {
  const lines = [CARD_COLUMNS.join(',')];
  for (const row of rows) lines.push(CARD_COLUMNS.map((c) => csvField(row[c])).join(','));
  return `${lines.join('\n')}\n`;
}

/** JSON Lines with typed values (numbers as JSON numbers where they are numbers). */
function toJsonLines(rows: readonly CardRow[]): string {
  return rows
    .map((row) => {
      const out: Record<string, unknown> = {};
      for (const c of CARD_COLUMNS) {
        const v = row[c];
        if (v === null) continue;
        out[c] =
          c === 'card_id' ||
          c === 'event_time' ||
          c === 'home_country' ||
          !/^-?\d+(\.\d+)?$/.test(v) ||
          v.length > 15
            ? v
            : Number(v);
      }
      return `${JSON.stringify(out)}\n`;
    })
    .join('');
}

/**
 * Parquet with typed columns: event_time as TIMESTAMP_MICROS, counts as INT64, sums as DOUBLE.
 * Values a typed column cannot hold (text in a count) become null, which the backfill sees as a
 * missing key (rejected) or a missing feature (kept); the caller decides what is bad.
 */
function toParquet(rows: readonly CardRow[], rowGroupSize = 1000): Buffer {
  const micros = (v: string | null) => {
    if (v === null) return null;
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? null : BigInt(ms) * 1000n;
  };
  const int64 = (v: string | null) =>
    v !== null && /^-?\d+$/.test(v) && BigInt(v) < 2n ** 63n ? BigInt(v) : null;
  const double = (v: string | null) => (v === null ? null : Number(v));
  const buffer = parquetWriteBuffer({
    rowGroupSize,
    columnData: [
      { name: 'card_id', data: rows.map((r) => r.card_id) },
      { name: 'event_time', data: rows.map((r) => micros(r.event_time)) },
      { name: 'txn_count_7d', data: rows.map((r) => int64(r.txn_count_7d)) },
      { name: 'txn_count_30d', data: rows.map((r) => int64(r.txn_count_30d)) },
      { name: 'amount_sum_7d', data: rows.map((r) => double(r.amount_sum_7d)) },
      { name: 'amount_sum_30d', data: rows.map((r) => double(r.amount_sum_30d)) },
      { name: 'distinct_merchants_30d', data: rows.map((r) => int64(r.distinct_merchants_30d)) },
      { name: 'chargebacks_365d', data: rows.map((r) => int64(r.chargebacks_365d)) },
      { name: 'card_age_days', data: rows.map((r) => int64(r.card_age_days)) },
      { name: 'home_country', data: rows.map((r) => r.home_country) },
    ],
    schema: [
      { name: 'root', num_children: 10 },
      { name: 'card_id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      {
        name: 'event_time',
        type: 'INT64',
        converted_type: 'TIMESTAMP_MICROS',
        repetition_type: 'OPTIONAL',
      },
      { name: 'txn_count_7d', type: 'INT64', repetition_type: 'OPTIONAL' },
      { name: 'txn_count_30d', type: 'INT64', repetition_type: 'OPTIONAL' },
      { name: 'amount_sum_7d', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
      { name: 'amount_sum_30d', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
      { name: 'distinct_merchants_30d', type: 'INT64', repetition_type: 'OPTIONAL' },
      { name: 'chargebacks_365d', type: 'INT64', repetition_type: 'OPTIONAL' },
      { name: 'card_age_days', type: 'INT64', repetition_type: 'OPTIONAL' },
      {
        name: 'home_country',
        type: 'BYTE_ARRAY',
        converted_type: 'UTF8',
        repetition_type: 'OPTIONAL',
      },
    ],
  });
  return Buffer.from(buffer);
}

/** A clock for the handler and Lambda contexts that read it, advancing a fixed step per read. */
interface VirtualTime {
  readonly now: () => number;
  /** A context whose remaining time is measured on this clock, not the wall clock. */
  context(budgetMs: number): Context;
}

/**
 * Virtual time: every read of the clock advances it by `stepMs`, and nothing else does. With
 * contexts on the same clock an invocation's budget is a number of clock reads (about two per
 * row), so checkpoints happen every few dozen rows however fast or loaded the machine is.
 */
function virtualTime(stepMs: number): VirtualTime {
  let current = Date.now();
  const now = () => {
    current += stepMs;
    return current;
  };
  return {
    now,
    context: (budgetMs) => {
      const base = localContext(budgetMs);
      const deadline = current + budgetMs;
      return { ...base, getRemainingTimeInMillis: () => Math.max(0, deadline - now()) };
    },
  };
}

/** The groups' offline `S3Uri` in the tests. */
const OFFLINE_BUCKET = 'skewless-offline';
const OFFLINE_S3_URI = `s3://${OFFLINE_BUCKET}/offline-store`;

/**
 * The local S3 mount that serves the store's offline files at {@link OFFLINE_S3_URI}, as
 * `npm start` does: the backfill's direct mode writes the store's offline store through S3.
 */
function offlineMount(store: TestStore) {
  return {
    bucket: OFFLINE_BUCKET,
    prefix: 'offline-store/',
    directory: join(store.dataDir, 'offline-store'),
  };
}

/** Creates the schema module's groups in the embedded store. */
async function createSchemaGroups(store: TestStore): Promise<void> {
  for (const group of featureGroups) {
    await store.sagemaker.send(
      new CreateFeatureGroupCommand(
        createFeatureGroupInput(group, {
          offlineS3Uri: OFFLINE_S3_URI,
          roleArn: 'arn:aws:iam::000000000000:role/skewless-offline',
        }) as unknown as CreateFeatureGroupCommandInput
      )
    );
    await waitUntilFeatureGroupCreated(store.sagemaker, group.name);
  }
}

function parquetFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...parquetFiles(path));
    else if (entry.name.endsWith('.parquet')) out.push(path);
  }
  return out;
}

/** Every row of a group's offline store (after `store.flush()`), read back from its Parquet files. */
async function offlineRows(
  store: TestStore,
  groupName: string
): Promise<Record<string, unknown>[]> {
  await store.store.flush();
  const dir = store.store.offlineDataPath(groupName);
  if (dir === undefined) throw new Error(`${groupName} has no offline store`);
  const rows: Record<string, unknown>[] = [];
  for (const file of parquetFiles(dir)) {
    rows.push(...(await parquetReadObjects({ file: await asyncBufferFromFile(file) })));
  }
  return rows;
}

async function objectText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await out.Body?.transformToString()) ?? '';
}

/**
 * JSON Lines of `count` payments (fraud-transactions, the source of derived features) of one
 * card, listed newest first as an export sorted by date descending, an hour ago and earlier: a
 * `derive/` backfill's replay writes them oldest first, so the payment at index i of its order
 * is row (and line) `count - i` of the file. Ids are `<prefix>-<row - 1>`.
 */
function newestFirstPayments(prefix: string, count: number): string {
  const newest = Date.now() - 3_600_000;
  const lines = Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      transaction_id: `${prefix}-${i}`,
      event_time: new Date(newest - i * 1_000).toISOString(),
      card_id: `${prefix}-card`,
      merchant_id: 'm-1',
      amount: 10 + (i % 50),
      currency: 'EUR',
      channel: 'pos',
    })
  );
  return `${lines.join('\n')}\n`;
}

/** The report and rejects of a backfill, from the reports bucket. */
async function backfillOutput(
  s3: S3Client,
  reportsBucket: string,
  source: SourceObject
): Promise<{ report: BackfillReport; rejects: RejectLine[] }> {
  const keys = reportKeys(source);
  const report = JSON.parse(await objectText(s3, reportsBucket, keys.report)) as BackfillReport;
  const rejects = (await objectText(s3, reportsBucket, keys.rejects))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as RejectLine);
  return { report, rejects };
}

export type { CardFile, CardRow, VirtualTime };
export {
  BAD_VARIANTS,
  backfillOutput,
  CARD_COLUMNS,
  cardFile,
  createSchemaGroups,
  goodCard,
  newestFirstPayments,
  OFFLINE_S3_URI,
  objectText,
  offlineMount,
  offlineRows,
  PARQUET_BAD_VARIANTS,
  recentCards,
  toCsv,
  toJsonLines,
  toParquet,
  virtualTime,
};

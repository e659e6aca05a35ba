/**
 * Train/serve parity of batch features: a week of nightly drops (S3 events into the batch
 * function, both stores of the embedded store through the real SDK), with cards missing some
 * nights, older and repeated rows inside a drop and a bad row each night. After each drop the
 * test records what GetRecord serves; a label at that time must get exactly those values from the
 * point-in-time training set built over the offline store afterwards: 0 mismatches. Event times
 * are relative to the clock (the week ends yesterday).
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetRecordCommand } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { Context, S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3InvocationResult } from '../../shared/backfill/handleEvent.ts';
import { inProcessBatchContinuations } from '../../shared/backfill/index.ts';
import { buildTrainingSet } from '../../shared/dataset/build.ts';
import { cards } from '../../shared/definitions.ts';
import { quoteString } from '../../shared/offline/dialect.ts';
import { createDuckDbEngine } from '../../shared/offline/duckdb.ts';
import { type CardRow, createSchemaGroups, toCsv } from '../backfill/fixtures.ts';
import {
  BACKFILL_BUCKET,
  lambdaContext,
  REPORTS_BUCKET,
  startTestS3,
  type TestS3,
} from '../helpers/s3Events.ts';
import { startTestStore, type TestStore } from '../helpers/store.ts';

type Handler = (event: S3Event, context: Context) => Promise<S3InvocationResult>;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NIGHTS = 7;
const CARDS = 30;
const FEATURES = ['txn_count_7d', 'txn_count_30d', 'amount_sum_7d', 'home_country'] as const;

/** What GetRecord served for a card at a label time (null: nothing served). */
interface Served {
  readonly card: string;
  readonly labelTime: string;
  readonly values: Readonly<Record<(typeof FEATURES)[number], string | null>>;
}

function cardRow(card: string, atMs: number, night: number, salt: number): CardRow {
  const n = Number(card.slice(card.lastIndexOf('-') + 1));
  return {
    card_id: card,
    event_time: new Date(atMs).toISOString(),
    txn_count_7d: String((n * 7 + night * 3 + salt) % 41),
    txn_count_30d: String((n * 13 + night * 5 + salt) % 97),
    amount_sum_7d: ((n * 1.25 + night * 0.5 + salt) % 300).toFixed(2),
    amount_sum_30d: '100.5',
    distinct_merchants_30d: '4',
    chargebacks_365d: '0',
    card_age_days: String(200 + night),
    home_country: ['FR', 'DE', 'NL'][(n + night + salt) % 3] ?? 'FR',
  };
}

/**
 * Night `night`'s drop, event time `atMs`: every card but those skipped that night, then for some
 * cards an older row (2 h before, other values: stays offline only) and an exact repeat, and one
 * row without an identifier (rejected).
 */
function nightlyDrop(night: number, atMs: number): CardRow[] {
  const rows: CardRow[] = [];
  for (let i = 0; i < CARDS; i++) {
    if ((i + night) % 5 === 0) continue;
    const card = `parity-${i}`;
    rows.push(cardRow(card, atMs, night, 0));
    if (i % 7 === 0) rows.push(cardRow(card, atMs - 2 * HOUR, night, 9));
    if (i % 11 === 0) rows.push(cardRow(card, atMs, night, 0));
  }
  rows.push({ ...cardRow('parity-x', atMs, night, 0), card_id: null });
  return rows;
}

describe('Batch features: training set = what GetRecord served (a week of nightly drops)', () => {
  let store: TestStore;
  let s3: TestS3;
  let handler: Handler;
  const served: Served[] = [];
  const reports: { changed: number; unchanged: number; stayed: number; rejected: number }[] = [];

  beforeAll(async () => {
    store = await startTestStore();
    await createSchemaGroups(store);
    s3 = await startTestS3({
      onObjectCreated: async (event) => {
        const key = event.Records[0]?.s3.object.key ?? '';
        if (key.startsWith('batch/')) await handler(event, lambdaContext());
      },
    });
    process.env.AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME = store.store.endpoint;
    process.env.AWS_ENDPOINT_URL_S3 = s3.server.endpoint;
    process.env.REPORTS_BUCKET = REPORTS_BUCKET;
    delete process.env.CONTINUATION_QUEUE_URL;
    handler = (await import('../../functions/batch/index.ts')).handler as unknown as Handler;

    // The week: night 0 is eight days ago, night 6 two days ago, each at a whole second.
    const first = Math.floor((Date.now() - 8 * DAY) / 1000) * 1000;
    for (let night = 0; night < NIGHTS; night++) {
      const at = first + night * DAY;
      await s3.client.send(
        new PutObjectCommand({
          Bucket: BACKFILL_BUCKET,
          Key: `batch/fraud-cards/nightly-${night}.csv`,
          Body: toCsv(nightlyDrop(night, at)),
        })
      );
      await s3.server.settled();
      await inProcessBatchContinuations.idle();
      // Labels at the drop's own event time and half a day later (before the next night):
      // the model would have been served exactly what GetRecord answers now.
      for (let i = 0; i < CARDS; i++) {
        const card = `parity-${i}`;
        const got = await store.runtime.send(
          new GetRecordCommand({
            FeatureGroupName: cards.name,
            RecordIdentifierValueAsString: card,
          })
        );
        const value = (name: string) =>
          got.Record?.find((f) => f.FeatureName === name)?.ValueAsString ?? null;
        const values = Object.fromEntries(FEATURES.map((f) => [f, value(f)])) as Served['values'];
        for (const labelAt of [at, at + 12 * HOUR]) {
          served.push({ card, labelTime: new Date(labelAt).toISOString(), values });
        }
      }
    }
    await store.store.flush();
  }, 120_000);

  afterAll(async () => {
    await inProcessBatchContinuations.idle();
    await s3?.close();
    await store?.close();
  });

  it.each(['asof', 'portable'] as const)('has 0 mismatches (%s SQL)', async (strategy) => {
    // Prepare
    const engine = await createDuckDbEngine({ dataDir: store.dataDir, threads: 1 });
    try {
      const labels = served.map(
        (s, i) => `(${i}, ${quoteString(s.card)}, ${quoteString(s.labelTime)})`
      );
      await engine.execute(
        `CREATE OR REPLACE TABLE "labels_in" AS SELECT * FROM (VALUES ${labels.join(', ')}) AS v("n", "card_id", "label_time")`
      );
      const out = `${store.dataDir}/parity-${strategy}.parquet`;
      // Act
      await buildTrainingSet({
        engine,
        labels: { table: '"labels_in"' },
        features: FEATURES.map((f) => `fraud-cards.${f}`),
        labelTimeColumn: 'label_time',
        output: { path: out },
        strategy,
      });
      const { rows } = await engine.queryAll(
        `SELECT * FROM read_parquet(${quoteString(out)}) ORDER BY "n"`
      );
      // Assess
      const mismatches = served.filter((s, i) => {
        const row = rows[i] ?? {};
        return FEATURES.some((f) => {
          const cell = row[`fraud-cards.${f}`];
          const trained = cell === null || cell === undefined ? null : String(cell);
          return trained !== s.values[f];
        });
      });
      expect(rows).toHaveLength(NIGHTS * CARDS * 2);
      expect(mismatches).toEqual([]);
      // Not vacuous: cards absent on the first night were served nothing, then values that
      // changed from night to night.
      expect(served.filter((s) => s.values.txn_count_7d === null).length).toBeGreaterThan(0);
      const nights = new Set(
        served.filter((s) => s.card === 'parity-1').map((s) => s.values.txn_count_7d)
      );
      expect(nights.size).toBeGreaterThanOrEqual(NIGHTS - 2);
    } finally {
      await engine.close();
    }
  });

  it('reported each night what it did online (older in-drop rows stayed, repeats unchanged)', async () => {
    const { ListObjectsV2Command, GetObjectCommand } = await import('@aws-sdk/client-s3');
    const listed = await s3.client.send(
      new ListObjectsV2Command({ Bucket: REPORTS_BUCKET, Prefix: 'batch/fraud-cards/nightly-' })
    );
    for (const o of listed.Contents ?? []) {
      if (!o.Key?.endsWith('/report.json')) continue;
      const got = await s3.client.send(
        new GetObjectCommand({ Bucket: REPORTS_BUCKET, Key: o.Key })
      );
      const report = JSON.parse((await got.Body?.transformToString()) ?? '{}');
      reports.push({ ...report.onlineValues, rejected: report.rowsRejected });
    }
    expect(reports).toHaveLength(NIGHTS);
    for (const r of reports) {
      // 24 cards a night changed; cards 0, 7, 14, 21, 28 (when present) add a stayed row,
      // cards 0, 11, 22 (when present) an unchanged repeat; one bad row.
      expect(r.changed).toBe(24);
      expect(r.stayed).toBeGreaterThanOrEqual(3);
      expect(r.unchanged).toBeGreaterThanOrEqual(2);
      expect(r.rejected).toBe(1);
    }
  });
});

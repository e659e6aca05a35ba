/**
 * Batch drops end to end, over real HTTP: files put into the local S3 with the real
 * `@aws-sdk/client-s3` raise real-shape `ObjectCreated` events; `batch/` keys invoke the batch
 * function's handler, which reads the online values and writes both stores of the embedded
 * feature store with BatchWriteRecord through the real SDK. Event times are relative to the clock.
 */

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  GetRecordCommand,
  PutRecordCommand,
  SageMakerFeatureStoreRuntimeClient,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { Context, S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaymentsGenerator } from '../../local/demo/paymentsGenerator.ts';
import { dropNightlyAggregates, nightlyAggregateFiles } from '../../local/demo/seedAggregates.ts';
import type { S3InvocationResult } from '../../shared/backfill/handleEvent.ts';
import {
  type BackfillReport,
  inProcessBatchContinuations,
  loadBackfillConfig,
  type SourceObject,
} from '../../shared/backfill/index.ts';
import { reportKeys } from '../../shared/backfill/objectKey.ts';
import { cards } from '../../shared/definitions.ts';
import { encodeRecord } from '../../shared/record/codec.ts';
import {
  backfillOutput,
  type CardRow,
  createSchemaGroups,
  objectText,
  offlineRows,
  toCsv,
  toJsonLines,
  toParquet,
  virtualTime,
} from '../backfill/fixtures.ts';
import { withEmptyPublishWarnings, withMetrics } from '../helpers/addedMetrics.ts';
import {
  BACKFILL_BUCKET,
  lambdaContext,
  REPORTS_BUCKET,
  resumeEvent,
  s3PutEvent,
  s3PutEventOf,
  startTestS3,
  type TestS3,
  uploadAndSettle,
} from '../helpers/s3Events.ts';
import {
  refuseReads,
  startRefusingEndpoint,
  startTestStore,
  type TestStore,
} from '../helpers/store.ts';

type Handler = (event: S3Event, context: Context) => Promise<S3InvocationResult>;
const run = promisify(execFile);

const HOUR = 3_600_000;

/** A fraud-cards row at `atMs` whose only varying value is txn_count_7d. */
function cardRow(id: string | null, atMs: number | null, txnCount7d: string): CardRow {
  return {
    card_id: id,
    event_time: atMs === null ? null : new Date(atMs).toISOString(),
    txn_count_7d: txnCount7d,
    txn_count_30d: '40',
    amount_sum_7d: '12.5',
    amount_sum_30d: '50.25',
    distinct_merchants_30d: '3',
    chargebacks_365d: '0',
    card_age_days: '400',
    home_country: 'FR',
  };
}

describe('Batch drops from S3 to both stores (integration)', () => {
  let store: TestStore;
  let s3: TestS3;
  let batchHandler: Handler;
  let backfillHandler: Handler;
  let createBatchHandler: typeof import('../../functions/batch/index.ts').createBatchHandler;
  let uploadContext: () => Context = () => lambdaContext();

  beforeAll(async () => {
    store = await startTestStore();
    await createSchemaGroups(store);
    s3 = await startTestS3({
      onObjectCreated: async (event) => {
        const record = event.Records[0];
        if (record?.s3.bucket.name !== BACKFILL_BUCKET) return;
        // One notification filter per prefix, as in the template.
        if (record.s3.object.key.startsWith('batch/')) await batchHandler(event, uploadContext());
      },
    });
    process.env.AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME = store.store.endpoint;
    process.env.AWS_ENDPOINT_URL_S3 = s3.server.endpoint;
    process.env.REPORTS_BUCKET = REPORTS_BUCKET;
    process.env.BACKFILL_TIME_MARGIN_MS = '150';
    process.env.BACKFILL_CHECKPOINT_INTERVAL_MS = '100';
    delete process.env.CONTINUATION_QUEUE_URL;
    const batch = await import('../../functions/batch/index.ts');
    batchHandler = batch.handler as unknown as Handler;
    createBatchHandler = batch.createBatchHandler;
    backfillHandler = (await import('../../functions/backfill/index.ts'))
      .handler as unknown as Handler;
  });

  afterAll(async () => {
    await inProcessBatchContinuations.idle();
    await s3?.close();
    await store?.close();
  });

  function upload(key: string, body: string | Buffer): Promise<SourceObject> {
    return uploadAndSettle(s3, inProcessBatchContinuations, key, body);
  }

  /** Writes a row to both stores, as an earlier nightly drop would have. */
  async function seed(row: CardRow): Promise<void> {
    const values = Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null));
    const encoded = encodeRecord(cards, values);
    if (!encoded.ok) throw new Error(JSON.stringify(encoded.problems));
    await store.runtime.send(
      new PutRecordCommand({ FeatureGroupName: cards.name, Record: encoded.value.record })
    );
  }

  async function onlineOf(id: string): Promise<Record<string, string> | undefined> {
    const out = await store.runtime.send(
      new GetRecordCommand({ FeatureGroupName: cards.name, RecordIdentifierValueAsString: id })
    );
    if (out.Record === undefined) return undefined;
    return Object.fromEntries(out.Record.map((v) => [v.FeatureName ?? '', v.ValueAsString ?? '']));
  }

  async function offlineOf(prefix: string): Promise<string[]> {
    return (await offlineRows(store, cards.name))
      .filter((r) => String(r.card_id).startsWith(`${prefix}-`))
      .map((r) => `${String(r.card_id)}@${String(r.event_time)}#${String(r.txn_count_7d)}`)
      .sort();
  }

  /**
   * Five identifiers online since yesterday, and a drop of thirteen rows: newer, older, equal
   * with the same and with other values, a new identifier, repeated identifiers (an exact
   * duplicate, an older repeat, an equal-time overwrite) and four bad rows (one dated an hour
   * ahead of the clock).
   */
  function mixedDrop(prefix: string, now: number) {
    const id = (name: string) => `${prefix}-${name}`;
    const yesterday = now - 24 * HOUR;
    const seeds = ['newer', 'older', 'same', 'other', 'dup'].map((n) =>
      cardRow(id(n), yesterday, '1')
    );
    const rows = [
      cardRow(id('newer'), now - HOUR, '11'), // 1 changed
      cardRow(id('older'), now - 48 * HOUR, '12'), // 2 stayed (older than yesterday's)
      cardRow(id('same'), yesterday, '1'), // 3 unchanged (same time, same values)
      cardRow(id('other'), yesterday, '14'), // 4 changed (same time, other values)
      cardRow(id('new'), now - 2 * HOUR, '15'), // 5 changed (no online value yet)
      { ...cardRow(id('bad-count'), now - HOUR, 'twelve') }, // 6 rejected
      cardRow(id('dup'), now - HOUR, '17'), // 7 changed
      cardRow(id('dup'), now - 3 * HOUR, '18'), // 8 stayed (older than row 7)
      cardRow(id('newer'), now - HOUR, '11'), // 9 unchanged (exact repeat of row 1)
      cardRow(id('no-time'), null, '20'), // 10 rejected
      cardRow(null, now - HOUR, '21'), // 11 rejected
      cardRow(id('dup'), now - HOUR, '19'), // 12 changed (same time as row 7, other values)
      cardRow(id('future'), now + HOUR, '22'), // 13 rejected (beyond MAX_EVENT_TIME_SKEW_SECONDS)
    ];
    const written = rows.filter((_, i) => ![5, 9, 10, 12].includes(i));
    const label = (r: CardRow) =>
      `${r.card_id}@${new Date(r.event_time as string).toISOString()}#${r.txn_count_7d}`;
    return {
      seeds,
      rows,
      expectedOffline: [...seeds, ...written].map(label).sort(),
      expectedReport: {
        status: 'completed',
        featureGroup: 'fraud-cards',
        writeMode: 'both-stores',
        rowsRead: 13,
        rowsWritten: 9,
        rowsRejected: 4,
        onlineValues: { changed: 5, unchanged: 2, stayed: 2 },
      },
      expectedOnline: {
        newer: { txn_count_7d: '11', event_time: new Date(now - HOUR).toISOString() },
        older: { txn_count_7d: '1', event_time: new Date(yesterday).toISOString() },
        same: { txn_count_7d: '1', event_time: new Date(yesterday).toISOString() },
        other: { txn_count_7d: '14', event_time: new Date(yesterday).toISOString() },
        new: { txn_count_7d: '15', event_time: new Date(now - 2 * HOUR).toISOString() },
        dup: { txn_count_7d: '19', event_time: new Date(now - HOUR).toISOString() },
      } as Record<string, Record<string, string>>,
    };
  }

  async function expectDropApplied(
    prefix: string,
    drop: ReturnType<typeof mixedDrop>,
    source: SourceObject
  ) {
    const { report, rejects } = await backfillOutput(s3.client, REPORTS_BUCKET, source);
    expect(report).toMatchObject(drop.expectedReport);
    expect(await offlineOf(prefix)).toEqual(drop.expectedOffline);
    for (const [name, expected] of Object.entries(drop.expectedOnline)) {
      expect(await onlineOf(`${prefix}-${name}`), name).toMatchObject(expected);
    }
    for (const never of ['bad-count', 'no-time', 'future']) {
      expect(await onlineOf(`${prefix}-${never}`)).toBeUndefined();
    }
    return { report, rejects };
  }

  it('applies a CSV drop: latest online, every row offline, rejects and report exact', async () => {
    // Prepare
    const prefix = 'mix';
    const drop = mixedDrop(prefix, Date.now());
    for (const row of drop.seeds) await seed(row);
    // Act
    const [source, added] = await withMetrics(() =>
      upload(`batch/fraud-cards/nightly/${prefix}.csv`, toCsv(drop.rows))
    );
    // Assess
    const { report, rejects } = await expectDropApplied(prefix, drop, source);
    expect(added).toMatchObject({
      BatchRowsWritten: 9,
      BatchRowsRejected: 4,
      BatchFilesCompleted: 1,
      BatchOnlineValuesChanged: 5,
      BatchOnlineValuesUnchanged: 2,
      BatchOnlineValuesStayed: 2,
    });
    expect(added.BatchRowsPerSecond).toBeGreaterThan(0);
    expect(added.BatchResumptions).toBe(0);
    expect(added).not.toHaveProperty('BatchFilesFailed');
    expect(added).not.toHaveProperty('BatchDuplicateEvents');
    // Every name the batch's own: the backfill's (RowsWritten, RowsPerSecond…) are other graphs.
    expect(Object.keys(added).filter((name) => !name.startsWith('Batch'))).toEqual([]);
    expect(rejects.map((r) => [r.row, r.problems.map((p) => p.feature)])).toEqual([
      [6, ['txn_count_7d']],
      [10, ['event_time']],
      [11, ['card_id']],
      [13, ['event_time']],
    ]);
    expect(rejects[3]?.reason).toContain('MAX_EVENT_TIME_SKEW_SECONDS');
    expect(rejects[0]?.reason).toContain(
      'txn_count_7d="twelve": Integral value must be a base-10 integer'
    );
    expect(rejects[0]?.values).toMatchObject({ card_id: `${prefix}-bad-count` });
    expect(report).toMatchObject({ format: 'csv', resumptions: 0 });
    expect(report.rejects.key).toBe(`${source.key}/v-${source.versionId}/rejects.jsonl`);
  });

  it.each([
    { format: 'Parquet', key: 'pq.parquet', encode: (rows: CardRow[]) => toParquet(rows) },
    {
      format: 'JSON Lines (gzip)',
      key: 'jl.jsonl.gz',
      encode: (rows: CardRow[]) => gzipSync(toJsonLines(rows)),
    },
  ])('applies the same drop as $format', async ({ key, encode }) => {
    // Prepare: a typed Parquet column cannot hold "twelve": that row has no count (kept, not
    // rejected) there, so it is replaced by a row without an identifier in every format.
    const prefix = `fmt-${key.replace(/\W/g, '')}`;
    const drop = mixedDrop(prefix, Date.now());
    const rows = [...drop.rows];
    rows[5] = cardRow(null, Date.now() - HOUR, '16');
    for (const row of drop.seeds) await seed(row);
    // Act
    const source = await upload(`batch/fraud-cards/${key}`, encode(rows));
    // Assess
    const { rejects } = await expectDropApplied(prefix, drop, source);
    expect(rejects.map((r) => r.row)).toEqual([6, 10, 11, 13]);
  });

  it('rejects a JSON Lines row holding a lone surrogate (identifier or String value), naming the row and feature', async () => {
    // Prepare: JSON "\ud800" is a valid JSON escape but no Unicode text; UTF-8 has no form for it.
    const prefix = 'lone';
    const at = Date.now() - HOUR;
    const rows = [
      cardRow(`${prefix}-before`, at, '1'),
      cardRow(`${prefix}-\ud800`, at, '2'),
      { ...cardRow(`${prefix}-country`, at, '3'), home_country: 'D\udc00E' },
      cardRow(`${prefix}-after`, at, '4'),
    ];
    // Act
    const source = await upload(`batch/fraud-cards/${prefix}.jsonl`, toJsonLines(rows));
    // Assess
    const { report, rejects } = await backfillOutput(s3.client, REPORTS_BUCKET, source);
    expect(report).toMatchObject({ rowsRead: 4, rowsWritten: 2, rowsRejected: 2 });
    expect(rejects.map((r) => [r.row, r.line, r.problems.map((p) => p.feature)])).toEqual([
      [2, 2, ['card_id']],
      [3, 3, ['home_country']],
    ]);
    expect(rejects[0]?.reason).toBe(
      'card_id="lone-\\ud800": record identifier: String value is not valid Unicode (a lone surrogate, U+D800), which UTF-8 cannot encode'
    );
    expect(rejects[1]?.reason).toBe(
      'home_country="D\\udc00E": String value is not valid Unicode (a lone surrogate, U+DC00), which UTF-8 cannot encode'
    );
    expect(await offlineOf(prefix)).toEqual([
      `${prefix}-after@${new Date(at).toISOString()}#4`,
      `${prefix}-before@${new Date(at).toISOString()}#1`,
    ]);
    expect(await onlineOf(`${prefix}-country`)).toBeUndefined();
    expect((await onlineOf(`${prefix}-after`))?.txn_count_7d).toBe('4');
  });

  it('writes an object version once when its S3 event is delivered again', async () => {
    // Prepare
    const prefix = 'again';
    const drop = mixedDrop(prefix, Date.now());
    for (const row of drop.seeds) await seed(row);
    const source = await upload(`batch/fraud-cards/${prefix}.csv`, toCsv(drop.rows));
    const event = s3PutEventOf(source);
    // Act
    // The two concurrent invocations share this process's one Metrics (never so on Lambda): the
    // first to finish publishes both counts, and Powertools warns that the other has none.
    const [[again, added]] = await withEmptyPublishWarnings(() =>
      withMetrics(async () => {
        const outcomes = await Promise.all([
          batchHandler(event, lambdaContext()),
          batchHandler(event, lambdaContext()),
        ]);
        await inProcessBatchContinuations.idle();
        return outcomes;
      })
    );
    // Assess
    expect(again.flatMap((r) => r.outcomes.map((o) => o.kind))).toEqual(['duplicate', 'duplicate']);
    expect(added).toEqual({ BatchDuplicateEvents: 2 });
    await expectDropApplied(prefix, drop, source);
  });

  it('resumes mid-file across invocations with exact counts and no duplicate row', async () => {
    // Prepare: a clock advancing 1 ms per read; every invocation (200 ms budget, 150 ms margin)
    // checkpoints after a few dozen rows. 600 rows: 300 identifiers, each twice (newer second).
    const prefix = 'resume';
    const now = Date.now();
    const rows = Array.from({ length: 600 }, (_, i) =>
      cardRow(`${prefix}-${i % 300}`, now - (i < 300 ? 2 : 1) * HOUR, String(i))
    );
    const time = virtualTime(1);
    const clocked = createBatchHandler({
      now: time.now,
      config: { ...loadBackfillConfig(), concurrency: 2 },
    }) as unknown as Handler;
    const original = batchHandler;
    batchHandler = clocked;
    uploadContext = () => time.context(200);
    inProcessBatchContinuations.deliverTo(clocked as never);
    inProcessBatchContinuations.configure({ contextFactory: () => time.context(200) });
    try {
      // Act
      const [source, added] = await withMetrics(() =>
        upload(`batch/fraud-cards/${prefix}.csv`, toCsv(rows))
      );
      // Assess
      const { report } = await backfillOutput(s3.client, REPORTS_BUCKET, source);
      expect(report).toMatchObject({
        status: 'completed',
        rowsWritten: 600,
        rowsRejected: 0,
        onlineValues: { changed: 600, unchanged: 0, stayed: 0 },
      });
      expect(report.resumptions).toBeGreaterThanOrEqual(3);
      // The invocations' shares: one resumption each after the first, no duplicate event.
      expect(added).toMatchObject({
        BatchRowsWritten: 600,
        BatchResumptions: report.resumptions,
        BatchFilesCompleted: 1,
      });
      expect(added).not.toHaveProperty('BatchDuplicateEvents');
      const offline = await offlineOf(prefix);
      expect(offline).toHaveLength(600);
      expect(new Set(offline).size).toBe(600);
      for (const i of [0, 150, 299]) {
        expect(await onlineOf(`${prefix}-${i}`)).toMatchObject({ txn_count_7d: String(i + 300) });
      }
    } finally {
      batchHandler = original;
      uploadContext = () => lambdaContext();
      inProcessBatchContinuations.deliverTo(original as never);
      inProcessBatchContinuations.configure({ contextFactory: undefined });
    }
  }, 120_000);

  it.each([
    ['an id answered AccessForbidden (an Errors item)', 'AccessForbidden', 3],
    ["the whole call answered IAM's AccessDeniedException", 'AccessDeniedException', 0],
  ])(
    'fails a drop at once, resumable, when the store refuses to read %s, and resumes it exactly once after the fix',
    async (_, code, refusedRow) => {
      // Prepare: ten rows of new cards; the store refuses the online read of one id (per id) or
      // every read (IAM, over HTTP), until the role is "fixed".
      const prefix = `refused-${code}`;
      const now = Date.now();
      const rows = Array.from({ length: 10 }, (_, i) => cardRow(`${prefix}-${i}`, now - HOUR, '7'));
      let refusing = true;
      const endpoint = await startRefusingEndpoint(store.store.endpoint, (operation) =>
        refusing && code === 'AccessDeniedException' && operation === 'BatchGetRecord'
          ? { status: 400, code }
          : undefined
      );
      const featureStore = new SageMakerFeatureStoreRuntimeClient({ endpoint: endpoint.endpoint });
      const restore =
        code === 'AccessForbidden'
          ? refuseReads(featureStore, code, (__, id) => id === `${prefix}-${refusedRow}`)
          : () => {};
      const refusingHandler = createBatchHandler({ featureStore }) as unknown as Handler;
      const original = batchHandler;
      batchHandler = refusingHandler;
      inProcessBatchContinuations.deliverTo(refusingHandler as never);
      try {
        const source = await upload(`batch/fraud-cards/${prefix}.csv`, toCsv(rows));
        const failed = JSON.parse(
          await objectText(s3.client, REPORTS_BUCKET, reportKeys(source).report)
        ) as BackfillReport & { resumable?: boolean };
        refusing = false;
        restore();
        // Act: the continuation docs/backfill.md tells the user to send once the role is fixed.
        await refusingHandler(resumeEvent(source) as never, lambdaContext());
        // Assess: one invocation, no retry continuation; the reason names the first refused row.
        const more = code === 'AccessForbidden' ? '' : ' and 9 more ids';
        const notWritten = code === 'AccessForbidden' ? 1 : 10;
        expect(failed).toMatchObject({
          status: 'failed',
          resumable: true,
          invocations: 1,
          rowsRead: 10,
          rowsWritten: 10 - notWritten,
          rowsNotWritten: notWritten,
        });
        expect(failed.error).toBe(
          `the feature store refused BatchGetRecord for record "${prefix}-${refusedRow}" of feature group "fraud-cards" (${code})${more}, from row ${refusedRow + 1} (line ${refusedRow + 2}): no retry changes that answer; the function's role needs sagemaker:BatchGetRecord on "fraud-cards". The checkpoint is kept: once fixed, send a continuation message with "resume": true to go on (the rejects so far are written when it completes)`
        );
        const { report } = await backfillOutput(s3.client, REPORTS_BUCKET, source);
        expect(report).toMatchObject({ status: 'completed', rowsWritten: 10, invocations: 2 });
        const offline = await offlineOf(prefix);
        expect(offline).toHaveLength(10);
        expect(new Set(offline).size).toBe(10);
        expect(await onlineOf(`${prefix}-${refusedRow}`)).toMatchObject({ txn_count_7d: '7' });
      } finally {
        restore();
        batchHandler = original;
        inProcessBatchContinuations.deliverTo(original as never);
        featureStore.destroy();
        await endpoint.close();
      }
    }
  );

  it("applies the demo's nightly aggregates: aws s3 cp of the cards file, PutObject of both, then the same night again", async () => {
    // Prepare: the demo job's output for 40 cards and 8 merchants, the cards file on disk.
    const generator = new PaymentsGenerator({ cards: 40, merchants: 8, seed: 3 });
    const files = nightlyAggregateFiles(generator);
    const cardsFile = files.find((f) => f.group === 'fraud-cards');
    if (cardsFile === undefined) throw new Error('no cards file');
    const dir = mkdtempSync(join(tmpdir(), 'skewless-batch-awscli-'));
    const path = join(dir, 'aggregates.parquet');
    writeFileSync(path, cardsFile.body);
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_DEFAULT_REGION: 'us-east-1',
    };
    try {
      // Act: as docs/batch.md shows it, then the demo's own drop (a new version of each key).
      await run(
        'aws',
        [
          's3',
          'cp',
          path,
          `s3://${BACKFILL_BUCKET}/batch/fraud-cards/`,
          '--endpoint-url',
          s3.server.endpoint,
          '--only-show-errors',
        ],
        { env }
      );
      await s3.server.settled();
      await inProcessBatchContinuations.idle();
      await dropNightlyAggregates(s3.client, BACKFILL_BUCKET, generator);
      await s3.server.settled();
      await inProcessBatchContinuations.idle();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Assess
    /** The reports of every version of a key, oldest first. */
    const reports = async (key: string): Promise<BackfillReport[]> => {
      const listed = await s3.client.send(
        new ListObjectsV2Command({ Bucket: REPORTS_BUCKET, Prefix: `${key}/` })
      );
      const out: BackfillReport[] = [];
      for (const o of listed.Contents ?? []) {
        if (!o.Key?.endsWith('/report.json')) continue;
        const got = await s3.client.send(
          new GetObjectCommand({ Bucket: REPORTS_BUCKET, Key: o.Key })
        );
        out.push(JSON.parse((await got.Body?.transformToString()) ?? '{}') as BackfillReport);
      }
      return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    };
    const report = async (key: string, version = 0) => (await reports(key))[version];
    expect(await report('batch/fraud-cards/aggregates.parquet')).toMatchObject({
      status: 'completed',
      format: 'parquet',
      rowsWritten: 40,
      rowsRejected: 0,
      onlineValues: { changed: 40, unchanged: 0, stayed: 0 },
    });
    // The same night's values again (same event time, same values): nothing changes online.
    expect(await reports(cardsFile.key)).toHaveLength(1);
    expect(await report(cardsFile.key)).toMatchObject({
      rowsWritten: 40,
      onlineValues: { changed: 0, unchanged: 40, stayed: 0 },
    });
    const merchantsFile = files.find((f) => f.group === 'fraud-merchants');
    expect(await report(merchantsFile?.key ?? '')).toMatchObject({
      rowsWritten: 8,
      onlineValues: { changed: 8, unchanged: 0, stayed: 0 },
    });
    const first = generator.cardIds[0] ?? '';
    expect(await onlineOf(first)).toMatchObject({ card_id: first });
  });

  it('refuses groups that are not batch-fed, and each function ignores the other prefix', async () => {
    // Prepare
    const now = Date.now();
    const transactions = `transaction_id,event_time,amount\ntx-1,${new Date(now).toISOString()},10\n`;
    // Act
    const [refused, added] = await withMetrics(() =>
      upload('batch/fraud-transactions/tx.csv', transactions)
    );
    const internal = await upload('batch/fraud-card-state/state.csv', 'card_id\nc-1\n');
    const [[[toBackfill, ignoredByBackfill], [toBatch, ignoredByBatch]], warnings] =
      await withEmptyPublishWarnings(async () => [
        await withMetrics(() =>
          backfillHandler(
            s3PutEvent({ key: 'batch/fraud-cards/x.csv', eTag: 'e1', size: 10 }),
            lambdaContext()
          )
        ),
        await withMetrics(() =>
          batchHandler(
            s3PutEvent({ key: 'backfill/fraud-cards/x.csv', eTag: 'e2', size: 10 }),
            lambdaContext()
          )
        ),
      ]);
    // Assess
    const { report } = await backfillOutput(s3.client, REPORTS_BUCKET, refused);
    expect(report.status).toBe('failed');
    expect(report.error).toContain(
      'feature group "fraud-transactions" is not batch-fed, so batch/ drops cannot write its online store'
    );
    expect(report.error).toContain('batch-fed groups: fraud-cards, fraud-merchants');
    expect(report.rowsRead).toBe(0);
    expect(added).toMatchObject({ BatchFilesFailed: 1, BatchRowsWritten: 0 });
    expect(added).not.toHaveProperty('BatchFilesCompleted');
    const internalReport = (await backfillOutput(s3.client, REPORTS_BUCKET, internal)).report;
    expect(internalReport.error).toContain('unknown feature group "fraud-card-state"');
    expect(toBackfill.outcomes).toEqual([
      { kind: 'ignored', reason: 'not under backfill/<feature-group>/' },
    ]);
    expect(toBatch.outcomes).toEqual([
      { kind: 'ignored', reason: 'not under batch/<feature-group>/' },
    ]);
    // Each function counts the event it ignored under its own name, so the invocation publishes
    // a metric (Powertools warns of one that publishes none).
    expect(ignoredByBackfill).toEqual({ BackfillEventsIgnored: 1 });
    expect(ignoredByBatch).toEqual({ BatchEventsIgnored: 1 });
    expect(warnings).toBe(0);
    const transactionsOnline = await store.runtime.send(
      new GetRecordCommand({
        FeatureGroupName: 'fraud-transactions',
        RecordIdentifierValueAsString: 'tx-1',
      })
    );
    expect(transactionsOnline.Record).toBeUndefined();
  });
});

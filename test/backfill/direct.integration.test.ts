/**
 * Direct offline mode through the real SDK: files put into the local S3, real-shape S3 events and
 * SQS continuations, the handler writing Parquet objects into the group's `ResolvedOutputS3Uri`
 * (the local S3 serves the embedded store's offline files there), DuckDB / the training set and
 * the audit reading the result. Exactly once under redelivery and under an invocation that dies
 * between a part's objects and its checkpoint; the same rows as records mode, read the same way.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  GetRecordCommand,
  SageMakerFeatureStoreRuntimeClient,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { Context, S3Event } from 'aws-lambda';
import { parquetMetadata, parquetSchema } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnlineSide } from '../../shared/audit/online.ts';
import { runAudit } from '../../shared/audit/runAudit.ts';
import { inProcessContinuations } from '../../shared/backfill/continuation.ts';
import { loadBackfillConfig } from '../../shared/backfill/index.ts';
import { reportKeys } from '../../shared/backfill/objectKey.ts';
import type {
  BackfillState,
  ContinuationMessage,
  SourceObject,
} from '../../shared/backfill/types.ts';
import { buildTrainingSet } from '../../shared/dataset/build.ts';
import { cards } from '../../shared/definitions.ts';
import { quoteString } from '../../shared/offline/dialect.ts';
import { createDuckDbEngine } from '../../shared/offline/duckdb.ts';
import { featureDefinitions } from '../../shared/schema/awsDefinitions.ts';
import {
  BACKFILL_BUCKET,
  continuationEvent,
  lambdaContext,
  REPORTS_BUCKET,
  resumeEvent,
  s3ClientFor,
  s3PutEvent,
  s3PutEventOf,
  startTestS3,
  type TestS3,
} from '../helpers/s3Events.ts';
import { startTestStore, type TestStore } from '../helpers/store.ts';
import {
  backfillOutput,
  cardFile,
  createSchemaGroups,
  newestFirstPayments,
  objectText,
  offlineMount,
  offlineRows,
  recentCards,
  toCsv,
} from './fixtures.ts';

type Handler = (event: unknown, context: Context) => Promise<unknown>;
type HandlerFactory = typeof import('../../functions/backfill/index.ts').createBackfillHandler;

const OFFLINE_FILE =
  /\/year=\d{4}\/month=\d\d\/day=\d\d\/hour=\d\d\/\d{8}T\d{6}Z_[A-Za-z0-9]{16}\.parquet$/;

describe('Backfill direct offline mode (integration)', () => {
  let store: TestStore;
  let s3: TestS3;
  let createBackfillHandler: HandlerFactory;
  let handler: Handler = async () => undefined;

  beforeAll(async () => {
    store = await startTestStore();
    await createSchemaGroups(store);
    s3 = await startTestS3({
      mounts: [offlineMount(store)],
      onObjectCreated: async (event) => {
        if (event.Records[0]?.s3.bucket.name === BACKFILL_BUCKET)
          await handler(event, lambdaContext());
      },
    });
    process.env.AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME = store.store.endpoint;
    process.env.AWS_ENDPOINT_URL_SAGEMAKER = store.store.endpoint;
    process.env.AWS_ENDPOINT_URL_S3 = s3.server.endpoint;
    process.env.REPORTS_BUCKET = REPORTS_BUCKET;
    process.env.BACKFILL_TIME_MARGIN_MS = '150';
    delete process.env.CONTINUATION_QUEUE_URL;
    delete process.env.BACKFILL_WRITE_MODE;
    ({ createBackfillHandler } = await import('../../functions/backfill/index.ts'));
  });

  afterAll(async () => {
    await inProcessContinuations.idle();
    await s3?.close();
    await store?.close();
  });

  function useHandler(next: Handler): void {
    handler = next;
    inProcessContinuations.deliverTo(next as never);
  }

  /** Puts a file with no handler attached; returns the exact version and its S3 event. */
  async function putQuietly(
    key: string,
    body: string
  ): Promise<{ source: SourceObject; event: S3Event }> {
    const previous = handler;
    handler = async () => undefined;
    const out = await s3.client.send(
      new PutObjectCommand({ Bucket: BACKFILL_BUCKET, Key: key, Body: body })
    );
    await s3.server.settled();
    handler = previous;
    const source: SourceObject = {
      bucket: BACKFILL_BUCKET,
      key,
      versionId: out.VersionId,
      etag: (out.ETag ?? '').replace(/"/g, ''),
      size: Buffer.byteLength(body),
    };
    const event = s3PutEventOf(source);
    return { source, event };
  }

  /**
   * An S3 client of a role that "loses" s3:PutObject once the first part is written (the state
   * says so when the second part's intent is saved): its offline PutObjects then go to a key
   * outside the mounted table, which the local S3 answers 403 AccessDenied, as S3 does without
   * the permission.
   */
  function revokePutObjectAfterTheFirstPart() {
    let denying = false;
    const revoked = s3ClientFor(s3.server.endpoint);
    revoked.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Bucket?: string; Key?: string; Body?: unknown };
        if (input.Bucket === REPORTS_BUCKET && String(input.Body).includes('"directParts":1'))
          denying = true;
        if (denying && input.Bucket === 'skewless-offline')
          args.input = { ...input, Key: `not-the-offline-table/${input.Key}` } as typeof args.input;
        return next(args);
      },
      { step: 'initialize', name: 'revokePutObjectAfterTheFirstPart' }
    );
    return revoked;
  }

  /** The offline table's object keys, listed through S3 at the group's ResolvedOutputS3Uri. */
  async function offlineKeys(): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.client.send(
        new ListObjectsV2Command({
          Bucket: 'skewless-offline',
          Prefix: 'offline-store/',
          ContinuationToken: token,
        })
      );
      for (const o of page.Contents ?? []) if (o.Key?.includes('/fraud-cards-')) keys.push(o.Key);
      token = page.NextContinuationToken;
    } while (token !== undefined);
    return keys.sort();
  }

  async function countsOf(prefix: string): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const row of await offlineRows(store, 'fraud-cards')) {
      const id = String(row.card_id);
      if (id.startsWith(`${prefix}-`)) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  }

  it("writes the service's layout and types into ResolvedOutputS3Uri, readable through S3", async () => {
    // Prepare
    useHandler(createBackfillHandler() as unknown as Handler);
    const file = cardFile('layout', 300);
    const before = new Set(await offlineKeys());
    // Act
    const { source, event } = await putQuietly('backfill/fraud-cards/layout.csv', toCsv(file.rows));
    await handler(event, lambdaContext());
    await inProcessContinuations.idle();
    // Assess
    const { report } = await backfillOutput(s3.client, REPORTS_BUCKET, source);
    expect(report).toMatchObject({
      status: 'completed',
      writeMode: 'direct',
      rowsWritten: file.good.size,
    });
    const written = (await offlineKeys()).filter((k) => !before.has(k));
    // 300 rows a minute apart: 5 hourly partitions, one object each.
    expect(written).toHaveLength(5);
    for (const key of written) expect(key).toMatch(OFFLINE_FILE);
    const object = await s3.client.send(
      new GetObjectCommand({ Bucket: 'skewless-offline', Key: written[0] })
    );
    const bytes = await object.Body?.transformToByteArray();
    const metadata = parquetMetadata((bytes as Uint8Array).buffer as ArrayBuffer);
    const columns = parquetSchema(metadata).children.map((c) => [
      c.element.name,
      c.element.type,
      c.element.converted_type ?? null,
    ]);
    expect(columns).toEqual([
      ['card_id', 'BYTE_ARRAY', 'UTF8'],
      ['event_time', 'BYTE_ARRAY', 'UTF8'],
      ['txn_count_7d', 'INT64', null],
      ['txn_count_30d', 'INT64', null],
      ['amount_sum_7d', 'DOUBLE', null],
      ['amount_sum_30d', 'DOUBLE', null],
      ['distinct_merchants_30d', 'INT64', null],
      ['chargebacks_365d', 'INT64', null],
      ['card_age_days', 'INT64', null],
      ['home_country', 'BYTE_ARRAY', 'UTF8'],
      ['write_time', 'INT64', 'TIMESTAMP_MICROS'],
      ['api_invocation_time', 'INT64', 'TIMESTAMP_MICROS'],
      ['is_deleted', 'BOOLEAN', null],
    ]);
    const rows = (await offlineRows(store, 'fraud-cards')).filter((r) =>
      String(r.card_id).startsWith('layout-')
    );
    // Every good row of the file, so the checks below cannot pass on an empty list.
    expect(rows).toHaveLength(file.good.size);
    expect(rows.every((r) => r.is_deleted === false)).toBe(true);
    // Direct ingestion has no API call: both service timestamps are the write time.
    expect(rows.every((r) => String(r.write_time) === String(r.api_invocation_time))).toBe(true);
  });

  it('writes a corrected repeat of a row (same card, same event time) so that it wins everywhere', async () => {
    // Prepare: a card's row, other cards, then the same card and event time with a corrected
    // count, as an export that appends corrections does.
    useHandler(createBackfillHandler() as unknown as Handler);
    const first = cardFile('repeat', 40, 0).rows;
    const original = first[0] as (typeof first)[number];
    const corrected = { ...original, txn_count_7d: '41' };
    const body = toCsv([...first, corrected]);
    const { event } = await putQuietly('backfill/fraud-cards/repeat.csv', body);
    // Act
    await handler(event, lambdaContext());
    await inProcessContinuations.idle();
    // Assess: the corrected row ranks after the original on the columns readers order by, and
    // the training set reads it, with either join.
    const rows = (await offlineRows(store, 'fraud-cards'))
      .filter((r) => r.card_id === original.card_id)
      .sort(
        (a, b) =>
          (a.api_invocation_time as Date).getTime() - (b.api_invocation_time as Date).getTime()
      );
    expect(rows.map((r) => String(r.txn_count_7d))).toEqual([original.txn_count_7d, '41']);
    expect((rows[1]?.api_invocation_time as Date) > (rows[0]?.api_invocation_time as Date)).toBe(
      true
    );
    const labelTime = new Date(Date.parse(original.event_time as string) + 60_000).toISOString();
    for (const strategy of ['asof', 'portable'] as const) {
      const engine = await createDuckDbEngine({ dataDir: store.dataDir, threads: 1 });
      try {
        await engine.execute(
          `CREATE TABLE "repeat_labels" AS SELECT ${quoteString(original.card_id as string)} AS "card_id", ${quoteString(labelTime)} AS "label_time"`
        );
        const out = `${store.dataDir}/repeat-${strategy}.parquet`;
        await buildTrainingSet({
          engine,
          labels: { table: '"repeat_labels"' },
          features: ['fraud-cards.txn_count_7d'],
          labelTimeColumn: 'label_time',
          strategy,
          output: { path: out },
        });
        const { rows: set } = await engine.queryAll(
          `SELECT * FROM read_parquet(${quoteString(out)})`
        );
        expect(String(set[0]?.['fraud-cards.txn_count_7d'])).toBe('41');
      } finally {
        await engine.close();
      }
    }
  });

  it('writes each row once when the S3 event is delivered twice more, together', async () => {
    // Prepare
    useHandler(createBackfillHandler() as unknown as Handler);
    const file = cardFile('redeliver', 1_000);
    const { source, event } = await putQuietly(
      'backfill/fraud-cards/redeliver.csv',
      toCsv(file.rows)
    );
    await handler(event, lambdaContext());
    await inProcessContinuations.idle();
    const keysAfterFirst = await offlineKeys();
    // Act: S3 delivers the same notification again, twice, concurrently.
    await Promise.all([handler(event, lambdaContext()), handler(event, lambdaContext())]);
    await inProcessContinuations.idle();
    // Assess
    const counts = await countsOf('redeliver');
    expect([...counts.keys()].sort()).toEqual([...file.good].sort());
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    expect(await offlineKeys()).toEqual(keysAfterFirst);
    const { report } = await backfillOutput(s3.client, REPORTS_BUCKET, source);
    expect(report).toMatchObject({
      status: 'completed',
      invocations: 1,
      rowsWritten: file.good.size,
    });
  });

  it('resumes mid-file after an invocation died between a part’s objects and its checkpoint, without duplicates', async () => {
    // Prepare: parts of 400 rows; the invocation's S3 dies after the 10th offline object, i.e.
    // in the middle of the second part (7 hourly partitions per part).
    const config = { ...loadBackfillConfig(), partMaxRows: 400, watchdogDelaySeconds: 0 };
    let offlinePuts = 0;
    let dead = false;
    const dying = s3ClientFor(s3.server.endpoint);
    dying.middlewareStack.add(
      (next) => async (args) => {
        if (dead) throw new Error('the invocation died');
        const out = await next(args);
        if ((args.input as { Bucket?: string }).Bucket === 'skewless-offline') {
          offlinePuts += 1;
          if (offlinePuts === 10) dead = true;
        }
        return out;
      },
      { step: 'initialize', name: 'dieAfterTenOfflineObjects' }
    );
    const file = cardFile('crash', 2_400);
    const { source, event } = await putQuietly('backfill/fraud-cards/crash.csv', toCsv(file.rows));
    useHandler(createBackfillHandler({ config, s3: dying }) as unknown as Handler);
    const keysBefore = new Set(await offlineKeys());
    // Act 1: the invocation dies; its state keeps the second part's intent and a held lease.
    await handler(event, lambdaContext()).catch(() => undefined);
    await inProcessContinuations.idle();
    const stateKey = reportKeys(source).state;
    const died = JSON.parse(await objectText(s3.client, REPORTS_BUCKET, stateKey)) as BackfillState;
    const keysAtDeath = (await offlineKeys()).filter((k) => !keysBefore.has(k));
    // Act 2: time passes (the lease expires) and the watchdog takes over with a healthy S3.
    await s3.client.send(
      new PutObjectCommand({
        Bucket: REPORTS_BUCKET,
        Key: stateKey,
        Body: JSON.stringify({ ...died, lease: { owner: 'dead', until: Date.now() - 60_000 } }),
      })
    );
    useHandler(createBackfillHandler({ config }) as unknown as Handler);
    const watchdog: ContinuationMessage = {
      type: 'skewless.backfill.continue',
      source,
      reason: 'watchdog',
      generation: died.generation,
    };
    await handler(continuationEvent(watchdog), lambdaContext());
    await inProcessContinuations.idle();
    // Assess
    expect(died.status).toBe('running');
    // The second part (400 valid rows each, so beyond row 400 of the file) was being written.
    expect(died.pendingPart?.start).toBeGreaterThan(400);
    expect(died.position.index).toBe(died.pendingPart?.start);
    // The first part and some of the second (puts in flight when it died finished too).
    expect(keysAtDeath.length).toBeGreaterThanOrEqual(10);
    const keysAfter = (await offlineKeys()).filter((k) => !keysBefore.has(k));
    // The dead invocation's objects were replaced (same names), not added to.
    for (const key of keysAtDeath) expect(keysAfter).toContain(key);
    const counts = await countsOf('crash');
    expect([...counts.keys()].sort()).toEqual([...file.good].sort());
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    const { report, rejects } = await backfillOutput(s3.client, REPORTS_BUCKET, source);
    expect(report).toMatchObject({
      status: 'completed',
      writeMode: 'direct',
      rowsWritten: file.good.size,
      rowsRejected: file.badRows.length,
    });
    expect(rejects.map((r) => r.row).sort((a, b) => a - b)).toEqual(file.badRows);
  });

  it('fails at once, resumable, when S3 refuses a later part (AccessDenied over HTTP), and resumes exactly once after the fix', async () => {
    // Prepare: parts of 400 rows; the role "loses" s3:PutObject once the first part is written
    // (revokePutObjectAfterTheFirstPart): too late to fall back to records mode.
    const config = { ...loadBackfillConfig(), partMaxRows: 400, watchdogDelaySeconds: 0 };
    const revoked = revokePutObjectAfterTheFirstPart();
    const file = cardFile('denied', 1_200);
    const { source, event } = await putQuietly('backfill/fraud-cards/denied.csv', toCsv(file.rows));
    useHandler(createBackfillHandler({ config, s3: revoked }) as unknown as Handler);
    try {
      await handler(event, lambdaContext());
      await inProcessContinuations.idle();
      const stateKey = reportKeys(source).state;
      const failed = JSON.parse(
        await objectText(s3.client, REPORTS_BUCKET, stateKey)
      ) as BackfillState & { report?: { error?: string; invocations?: number } };
      // Act: the role is fixed; the continuation docs/backfill.md describes resumes the backfill.
      useHandler(createBackfillHandler({ config }) as unknown as Handler);
      await handler(resumeEvent(source, failed.generation), lambdaContext());
      await inProcessContinuations.idle();
      // Assess: one invocation; the reason names the location, the code, the part's first row
      // and its line (after the CSV header).
      expect(failed).toMatchObject({ status: 'failed', resumable: true, directParts: 1 });
      expect(failed.report?.invocations).toBe(1);
      const start = failed.pendingPart?.start ?? -1;
      expect(start).toBeGreaterThan(400);
      expect(failed.report?.error).toMatch(
        new RegExp(
          `^S3 refused PutObject into the offline store location s3://skewless-offline/offline-store/\\S+/data \\(AccessDenied\\), from row ${start + 1} \\(line ${start + 2}\\): no retry changes that answer; the function's role needs s3:PutObject on s3://skewless-offline/\\S+/data/\\* \\(and kms:GenerateDataKey on the group's KMS key\\), and the bucket must exist\\. The checkpoint is kept`
        )
      );
      const counts = await countsOf('denied');
      expect([...counts.keys()].sort()).toEqual([...file.good].sort());
      expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
      const { report, rejects } = await backfillOutput(s3.client, REPORTS_BUCKET, source);
      expect(report).toMatchObject({ status: 'completed', writeMode: 'direct', invocations: 2 });
      expect(rejects.map((r) => r.row).sort((a, b) => a - b)).toEqual(file.badRows);
    } finally {
      revoked.destroy();
    }
  });

  it("names the row and line of the user's file when S3 refuses a later part of a --derive file, whose rows it writes in event-time order", async () => {
    // Prepare: 1,200 payments of one card listed newest first (newestFirstPayments): the replay
    // writes them oldest first, so the row at index i is row 1,200 - i of the file. S3 refuses
    // PutObject once the first part of 400 rows is written, as above.
    const config = { ...loadBackfillConfig(), partMaxRows: 400, watchdogDelaySeconds: 0 };
    const revoked = revokePutObjectAfterTheFirstPart();
    const { source, event } = await putQuietly(
      'backfill/fraud-transactions/derive/newest-first.jsonl',
      newestFirstPayments('newest-first', 1_200)
    );
    useHandler(createBackfillHandler({ config, s3: revoked }) as unknown as Handler);
    try {
      // Act
      await handler(event, lambdaContext());
      await inProcessContinuations.idle();
      // Assess: the refused part's first row is named by its row and line in the file.
      const failed = JSON.parse(
        await objectText(s3.client, REPORTS_BUCKET, reportKeys(source).state)
      ) as BackfillState & { report?: { error?: string } };
      expect(failed).toMatchObject({ status: 'failed', resumable: true, directParts: 1 });
      const start = failed.pendingPart?.start ?? -1;
      expect(start).toBeGreaterThanOrEqual(400);
      expect(failed.report?.error).toMatch(
        new RegExp(
          `^S3 refused PutObject into the offline store location \\S+ \\(AccessDenied\\), from row ${1_200 - start} \\(line ${1_200 - start}\\): no retry changes that answer`
        )
      );
    } finally {
      revoked.destroy();
    }
  });

  it('falls back to offline-only BatchWriteRecord when the offline location is not writable', async () => {
    // Prepare: the group is described with a location in a bucket nobody serves.
    useHandler(
      createBackfillHandler({
        describeGroup: async () => ({
          FeatureDefinitions: featureDefinitions(cards),
          OfflineStoreConfig: {
            S3StorageConfig: { ResolvedOutputS3Uri: 's3://no-such-offline-bucket/x/data' },
            TableFormat: 'Glue',
          },
        }),
      }) as unknown as Handler
    );
    const cardRows = cardFile('fallback', 200);
    // Two rows an hour old: written online by mistake, they would be served (the 2024 rows not).
    const recent = recentCards('fallback');
    const file = {
      ...cardRows,
      rows: [...cardRows.rows, ...recent],
      good: new Set([...cardRows.good, ...recent.map((r) => String(r.card_id))]),
    };
    // Act
    const { source, event } = await putQuietly(
      'backfill/fraud-cards/fallback.csv',
      toCsv(file.rows)
    );
    await handler(event, lambdaContext());
    await inProcessContinuations.idle();
    // Assess
    const { report } = await backfillOutput(s3.client, REPORTS_BUCKET, source);
    expect(report).toMatchObject({
      status: 'completed',
      writeMode: 'records',
      rowsWritten: file.good.size,
    });
    // Offline only: the recent rows are not online.
    for (const row of recent) {
      const got = await store.runtime.send(
        new GetRecordCommand({
          FeatureGroupName: 'fraud-cards',
          RecordIdentifierValueAsString: String(row.card_id),
        })
      );
      expect(got.Record, String(row.card_id)).toBeUndefined();
    }
    const counts = await countsOf('fallback');
    expect([...counts.keys()].sort()).toEqual([...file.good].sort());
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
  });
});

describe('Backfill direct mode vs records mode on the same file', () => {
  let direct: TestStore;
  let records: TestStore;
  let s3: TestS3;

  beforeAll(async () => {
    [direct, records] = await Promise.all([startTestStore(), startTestStore()]);
    await createSchemaGroups(direct);
    await createSchemaGroups(records);
    s3 = await startTestS3({ mounts: [offlineMount(direct)] });
    process.env.AWS_ENDPOINT_URL_S3 = s3.server.endpoint;
    process.env.REPORTS_BUCKET = REPORTS_BUCKET;
    delete process.env.CONTINUATION_QUEUE_URL;
  });

  afterAll(async () => {
    await s3?.close();
    await direct?.close();
    await records?.close();
  });

  it('gives the same offline rows, training set and audit', async () => {
    // Prepare: one file (good and bad rows), backfilled into two stores, one per mode.
    const { createBackfillHandler } = await import('../../functions/backfill/index.ts');
    const file = cardFile('same', 1_500);
    const body = toCsv(file.rows);
    const runtime = (store: TestStore) =>
      new SageMakerFeatureStoreRuntimeClient({
        endpoint: store.store.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
    const modes = [
      { store: direct, writeMode: 'auto' as const, key: 'backfill/fraud-cards/same-direct.csv' },
      {
        store: records,
        writeMode: 'records' as const,
        key: 'backfill/fraud-cards/same-records.csv',
      },
    ];
    // Act
    for (const mode of modes) {
      process.env.AWS_ENDPOINT_URL_SAGEMAKER = mode.store.store.endpoint;
      const handler = createBackfillHandler({
        config: { ...loadBackfillConfig(), writeMode: mode.writeMode },
        featureStore: runtime(mode.store),
      });
      const out = await s3.client.send(
        new PutObjectCommand({ Bucket: BACKFILL_BUCKET, Key: mode.key, Body: body })
      );
      await handler(
        s3PutEvent({
          key: mode.key,
          size: Buffer.byteLength(body),
          eTag: (out.ETag ?? '').replace(/"/g, ''),
          versionId: out.VersionId,
        }),
        lambdaContext()
      );
    }
    // Assess: the rows, feature by feature.
    const features = (row: Record<string, unknown>) =>
      JSON.stringify(
        Object.fromEntries(
          Object.entries(row)
            .filter(([k]) => k !== 'write_time' && k !== 'api_invocation_time')
            .map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v])
        )
      );
    const byCard = (rows: Record<string, unknown>[]) => rows.map(features).sort();
    const directRows = byCard(await offlineRows(direct, 'fraud-cards'));
    const recordRows = byCard(await offlineRows(records, 'fraud-cards'));
    expect(directRows).toHaveLength(file.good.size);
    expect(directRows).toEqual(recordRows);
    // The training set: one label per good card, an hour after its row.
    const labels = file.rows
      .filter((r) => file.good.has(r.card_id as string))
      .map(
        (r, i) =>
          `(${i}, ${quoteString(r.card_id as string)}, ${quoteString(new Date(Date.parse(r.event_time as string) + 3_600_000).toISOString())})`
      );
    const trainingSet = async (store: TestStore) => {
      const engine = await createDuckDbEngine({ dataDir: store.dataDir, threads: 1 });
      try {
        await engine.execute(
          `CREATE TABLE "labels_in" AS SELECT * FROM (VALUES ${labels.join(', ')}) AS v("n", "card_id", "label_time")`
        );
        const out = `${store.dataDir}/train.parquet`;
        await buildTrainingSet({
          engine,
          labels: { table: '"labels_in"' },
          features: [
            'fraud-cards.txn_count_7d',
            'fraud-cards.amount_sum_30d',
            'fraud-cards.home_country',
          ],
          labelTimeColumn: 'label_time',
          output: { path: out },
        });
        const { rows } = await engine.queryAll(
          `SELECT * FROM read_parquet(${quoteString(out)}) ORDER BY "n"`
        );
        return rows.map((r) =>
          JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? v.toString() : v))
        );
      } finally {
        await engine.close();
      }
    };
    const directSet = await trainingSet(direct);
    expect(directSet).toHaveLength(file.good.size);
    expect(directSet).toEqual(await trainingSet(records));
    // The audit: the same figures, and no false alarm for offline-only history.
    const audit = async (store: TestStore) => {
      const engine = await createDuckDbEngine({ dataDir: store.dataDir, threads: 1 });
      try {
        const report = await runAudit(
          [cards],
          { engine, online: createOnlineSide(runtime(store)) },
          { marginSeconds: 10 }
        );
        const group = report.groups[0];
        return {
          offline: group?.offline,
          coherence: group?.coherence.mismatches,
          total: group?.coherence.total,
        };
      } finally {
        await engine.close();
      }
    };
    const directAudit = await audit(direct);
    expect(directAudit.offline?.identifiers).toBe(file.good.size);
    expect(directAudit.total).toBe(0);
    expect(directAudit).toEqual(await audit(records));
  }, 120_000);
});

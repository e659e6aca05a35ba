// calendar-fixed: backfilled rows are offline-only history (no TTL offline); online seeds are clock-relative.
/**
 * The backfill end to end, over real HTTP: files are put into the local S3 with the real
 * `@aws-sdk/client-s3` (and `aws s3 cp`), the local S3 raises real-shape `ObjectCreated` events
 * that invoke the handler, the handler writes to the embedded feature store with the real SDK,
 * and the offline store's Parquet files are read back after `store.flush()`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import {
  GetRecordCommand,
  type GetRecordCommandOutput,
  PutRecordCommand,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { Context, S3Event } from 'aws-lambda';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessContinuations } from '../../shared/backfill/continuation.ts';
import type { S3InvocationResult } from '../../shared/backfill/handleEvent.ts';
import { reportKeys } from '../../shared/backfill/objectKey.ts';
import type { SourceObject } from '../../shared/backfill/types.ts';
import { withEmptyPublishWarnings, withMetrics } from '../helpers/addedMetrics.ts';
import {
  BACKFILL_BUCKET,
  lambdaContext,
  REPORTS_BUCKET,
  s3PutEventOf,
  startTestS3,
  type TestS3,
  uploadAndSettle,
} from '../helpers/s3Events.ts';
import { startTestStore, type TestStore } from '../helpers/store.ts';
import {
  backfillOutput,
  type CardFile,
  cardFile,
  createSchemaGroups,
  objectText,
  offlineMount,
  offlineRows,
  PARQUET_BAD_VARIANTS,
  recentCards,
  toCsv,
  toJsonLines,
  toParquet,
  virtualTime,
} from './fixtures.ts';

const run = promisify(execFile);
type Handler = (event: S3Event, context: Context) => Promise<S3InvocationResult>;

describe('Backfill from S3 to the offline store (integration)', () => {
  let store: TestStore;
  let s3: TestS3;
  let handler: Handler;
  let createBackfillHandler: typeof import('../../functions/backfill/index.ts').createBackfillHandler;
  /** Context of invocations triggered by uploads; the resume tests use virtual time. */
  let uploadContext: () => Context = () => lambdaContext();
  const outcomes: S3InvocationResult[] = [];

  beforeAll(async () => {
    store = await startTestStore();
    await createSchemaGroups(store);
    s3 = await startTestS3({
      mounts: [offlineMount(store)],
      onObjectCreated: async (event) => {
        const record = event.Records[0];
        if (record?.s3.bucket.name !== BACKFILL_BUCKET) return;
        outcomes.push(await handler(event, uploadContext()));
      },
    });
    // The handler reads its configuration from the environment, as on Lambda.
    process.env.AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME = store.store.endpoint;
    process.env.AWS_ENDPOINT_URL_SAGEMAKER = store.store.endpoint;
    process.env.AWS_ENDPOINT_URL_S3 = s3.server.endpoint;
    process.env.REPORTS_BUCKET = REPORTS_BUCKET;
    process.env.BACKFILL_TIME_MARGIN_MS = '150';
    process.env.BACKFILL_CHECKPOINT_INTERVAL_MS = '100';
    delete process.env.CONTINUATION_QUEUE_URL;
    const module = await import('../../functions/backfill/index.ts');
    handler = module.handler as unknown as Handler;
    createBackfillHandler = module.createBackfillHandler;
  });

  afterAll(async () => {
    await inProcessContinuations.idle();
    await s3?.close();
    await store?.close();
  });

  /** Puts a file into the backfill bucket and waits until its backfill (and continuations) are done. */
  function upload(
    key: string,
    body: string | Buffer,
    extra: { ContentEncoding?: string } = {}
  ): Promise<SourceObject> {
    return uploadAndSettle(s3, inProcessContinuations, key, body, extra);
  }

  /** Online records of some ids, written online only before the backfill (what the live model reads). */
  async function seedOnline(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      await store.runtime.send(
        new PutRecordCommand({
          FeatureGroupName: 'fraud-cards',
          Record: [
            { FeatureName: 'card_id', ValueAsString: id },
            // Relative to the clock: fraud-cards has a 90-day online TTL.
            {
              FeatureName: 'event_time',
              ValueAsString: new Date(Date.now() - 86_400_000).toISOString(),
            },
            { FeatureName: 'txn_count_7d', ValueAsString: '999' },
            { FeatureName: 'home_country', ValueAsString: 'LIVE' },
          ],
          TargetStores: ['OnlineStore'],
        })
      );
    }
    // Seeded records must be served, or "unchanged by the backfill" would hold vacuously.
    expect((await online(ids)).every((r) => r !== undefined)).toBe(true);
  }

  async function online(
    ids: readonly string[]
  ): Promise<(GetRecordCommandOutput['Record'] | undefined)[]> {
    const out: (GetRecordCommandOutput['Record'] | undefined)[] = [];
    for (const id of ids) {
      const got = await store.runtime.send(
        new GetRecordCommand({ FeatureGroupName: 'fraud-cards', RecordIdentifierValueAsString: id })
      );
      out.push(got.Record);
    }
    return out;
  }

  /** Seeds the ids to watch online and returns what the online store serves for them. */
  async function watchOnline(prefix: string, seeded: readonly string[]) {
    const ids = [...seeded, `${prefix}-live`, `${prefix}-fresh`];
    await seedOnline([...seeded, `${prefix}-live`]);
    const before = await online(ids);
    expect(before.at(-1)).toBeUndefined();
    return async () => expect(await online(ids)).toEqual(before);
  }

  /** Every input row is in the offline store exactly once, or in the rejects; nothing else. */
  async function expectAccountedFor(
    file: CardFile,
    prefix: string,
    source: SourceObject,
    extraBadRows: readonly number[] = []
  ) {
    const { report, rejects } = await backfillOutput(s3.client, REPORTS_BUCKET, source);
    const offline = (await offlineRows(store, 'fraud-cards')).filter((r) =>
      String(r.card_id).startsWith(`${prefix}-`)
    );
    const counts = new Map<string, number>();
    for (const row of offline)
      counts.set(String(row.card_id), (counts.get(String(row.card_id)) ?? 0) + 1);
    const expectedBad = [...file.badRows, ...extraBadRows].sort((a, b) => a - b);
    expect(report.status).toBe('completed');
    // The default for a Glue group whose offline store the function can write through S3.
    expect(report.writeMode).toBe('direct');
    expect([...counts.keys()].sort()).toEqual([...file.good].sort());
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(rejects.map((r) => r.row).sort((a, b) => a - b)).toEqual(expectedBad);
    expect(report).toMatchObject({
      rowsRead: file.good.size + expectedBad.length,
      rowsWritten: file.good.size,
      rowsRejected: expectedBad.length,
    });
    return { report, rejects, offline };
  }

  it('backfills a CSV file: good rows offline, bad rows in the rejects, the online store untouched', async () => {
    // Prepare
    const prefix = 'csv';
    const file = cardFile(prefix, 150);
    const live = recentCards(prefix);
    const onlineUnchanged = await watchOnline(prefix, [`${prefix}-0`, `${prefix}-1`]);
    const csv = `${toCsv(file.rows)}${prefix}-extra,2025-01-01T00:00:00Z,1\n"${prefix}-quoted",2025-02-01T00:00:00Z,1,2,3.5,4.5,5,0,10,"Côte d'Ivoire, CI"\n${toCsv(live).split('\n').slice(1).join('\n')}`;
    // Act
    const [source, added] = await withMetrics(() =>
      upload(`backfill/fraud-cards/history/${prefix}.csv`, csv)
    );
    // Assess
    const good = new Set([...file.good, `${prefix}-quoted`, ...live.map((r) => String(r.card_id))]);
    const { report, rejects, offline } = await expectAccountedFor(
      { ...file, good },
      prefix,
      source,
      [151]
    );
    // The dashboard's backfill widget reads RowsWritten and RowsRejected.
    expect(added).toMatchObject({
      RowsWritten: good.size,
      RowsRejected: file.badRows.length + 1,
      BackfillFilesCompleted: 1,
      Resumptions: 0,
    });
    expect(added.RowsPerSecond).toBeGreaterThan(0);
    expect(added).not.toHaveProperty('BackfillFilesFailed');
    expect(added).not.toHaveProperty('BatchRowsWritten');
    await onlineUnchanged();
    const fieldCount = rejects.find((r) => r.row === 151);
    expect(fieldCount).toMatchObject({
      line: 152,
      reason: '(row): the row has 3 fields, the header has 10',
    });
    const twelve = rejects.find((r) => r.row === 7);
    expect(twelve?.reason).toContain(
      'txn_count_7d="twelve": Integral value must be a base-10 integer'
    );
    expect(twelve?.values).toMatchObject({ card_id: `${prefix}-6`, txn_count_7d: 'twelve' });
    const twoProblems = rejects.find((r) => r.row === 14);
    expect(twoProblems?.problems.map((p) => p.feature).sort()).toEqual([
      'amount_sum_7d',
      'event_time',
    ]);
    expect(offline.find((r) => r.card_id === `${prefix}-quoted`)?.home_country).toBe(
      "Côte d'Ivoire, CI"
    );
    expect(offline.find((r) => r.card_id === `${prefix}-3`)).toMatchObject({
      txn_count_7d: 3n,
      amount_sum_7d: 3.75,
    });
    expect(report).toMatchObject({
      format: 'csv',
      compression: 'none',
      resumptions: 0,
      source: { versionId: source.versionId },
    });
    expect(report.firstErrors[0]).toMatchObject({ row: 7, line: 8 });
  });

  it('backfills a gzip CSV file (.csv.gz)', async () => {
    // Prepare
    const file = cardFile('csvgz', 120);
    // Act
    const source = await upload('backfill/fraud-cards/csvgz.csv.gz', gzipSync(toCsv(file.rows)));
    // Assess
    const { report } = await expectAccountedFor(file, 'csvgz', source);
    expect(report.compression).toBe('gzip');
  });

  it('backfills a JSON Lines file, rejecting malformed lines, unknown keys, numbers beyond 2^53 and lone surrogates', async () => {
    // Prepare
    const prefix = 'jsonl';
    const file = cardFile(prefix, 100);
    const extra = `{"card_id":"${prefix}-x1","event_time":"2025-01-01T00:00:00Z","colour":"red"}\nnot json at all\n[1,2,3]\n\n{"CARD_ID":"${prefix}-upper","Event_Time":"2025-03-01T10:00:00.123456Z"}\n{"card_id":"${prefix}-big","event_time":"2025-01-01T00:00:00Z","txn_count_7d":9007199254740993}\n{"card_id":"${prefix}-\\ud800","event_time":"2025-01-01T00:00:00Z"}\n{"card_id":"${prefix}-lone","event_time":"2025-01-01T00:00:00Z","home_country":"D\\udc00E"}\n`;
    const live = recentCards(prefix);
    const onlineUnchanged = await watchOnline(prefix, [`${prefix}-0`, `${prefix}-3`]);
    // Act
    const source = await upload(
      `backfill/fraud-cards/${prefix}.jsonl`,
      toJsonLines(file.rows) + extra + toJsonLines(live)
    );
    // Assess
    const good = new Set([...file.good, `${prefix}-upper`, ...live.map((r) => String(r.card_id))]);
    const { rejects, offline } = await expectAccountedFor(
      { ...file, good },
      prefix,
      source,
      [101, 102, 103, 105, 106, 107]
    );
    expect(rejects.find((r) => r.row === 101)?.reason).toContain('colour="red": unknown feature');
    expect(rejects.find((r) => r.row === 102)?.reason).toContain('malformed JSON');
    expect(rejects.find((r) => r.row === 102)?.values).toBe('not json at all');
    expect(rejects.find((r) => r.row === 103)?.reason).toContain('not a JSON object');
    expect(rejects.find((r) => r.row === 35)?.reason).toContain('outside the signed 64-bit range');
    // A JSON number beyond 2^53 is said to be one, not shown as the value JSON.parse rounded it to.
    expect(rejects.find((r) => r.row === 105)).toMatchObject({
      line: 106,
      reason:
        'txn_count_7d: Integral value is a JSON number beyond ±(2^53 − 1), which cannot be read exactly (JSON parsers round it): send it as a JSON string of its digits',
      problems: [{ feature: 'txn_count_7d', value: null }],
    });
    // Its values show the digits the line has, not 9007199254740992.
    const rejectsText = await objectText(s3.client, REPORTS_BUCKET, reportKeys(source).rejects);
    expect(rejectsText).toContain(
      `"values":{"card_id":"${prefix}-big","event_time":"2025-01-01T00:00:00Z","txn_count_7d":9007199254740993}}`
    );
    // UTF-8 has no form for a lone surrogate: refused at validation, as the store would refuse it.
    expect(rejects.find((r) => r.row === 106)).toMatchObject({
      line: 107,
      reason:
        'card_id="jsonl-\\ud800": record identifier: String value is not valid Unicode (a lone surrogate, U+D800), which UTF-8 cannot encode',
    });
    expect(rejects.find((r) => r.row === 107)).toMatchObject({
      line: 108,
      reason:
        'home_country="D\\udc00E": String value is not valid Unicode (a lone surrogate, U+DC00), which UTF-8 cannot encode',
    });
    expect(offline.find((r) => r.card_id === `${prefix}-upper`)?.event_time).toBe(
      '2025-03-01T10:00:00.123456Z'
    );
    await onlineUnchanged();
  });

  it.each([
    {
      format: 'csv',
      body: (prefix: string, file: CardFile) =>
        Buffer.concat([
          Buffer.from(toCsv(file.rows)),
          // Excel's "CSV" on Windows is Windows-1252: é is the one byte E9.
          Buffer.from(
            `${prefix}-latin,2025-02-01T00:00:00Z,1,2,3.5,4.5,5,0,10,R\xe9union\n`,
            'latin1'
          ),
          Buffer.from(`${prefix}-after,2025-02-01T00:00:00Z,1,2,3.5,4.5,5,0,10,RE\n`),
        ]),
      reason:
        '(row): the row is not UTF-8 text: invalid byte 0xE9 at offset 58 of the row (a Windows-1252 or Latin-1 export?): save the file as UTF-8',
    },
    {
      format: 'jsonl',
      body: (prefix: string, file: CardFile) =>
        Buffer.concat([
          Buffer.from(toJsonLines(file.rows)),
          Buffer.from(
            `{"card_id":"${prefix}-caf\xe9","event_time":"2025-01-01T00:00:00Z"}\n`,
            'latin1'
          ),
          Buffer.from(`{"card_id":"${prefix}-after","event_time":"2025-01-01T00:00:00Z"}\n`),
        ]),
      reason:
        '(row): the row is not UTF-8 text: invalid byte 0xE9 at offset 28 of the row (a Windows-1252 or Latin-1 export?): save the file as UTF-8',
    },
  ])(
    'rejects a $format line whose bytes are not UTF-8 (a Windows-1252 é) with its line, and writes the rest of the file',
    async ({ format, body, reason }) => {
      // Prepare
      const prefix = `${format}-latin1`;
      const file = cardFile(prefix, 30);
      // Act
      const source = await upload(`backfill/fraud-cards/${prefix}.${format}`, body(prefix, file));
      // Assess: the row is not written under an id or with a value holding U+FFFD.
      const good = new Set([...file.good, `${prefix}-after`]);
      const { rejects, offline } = await expectAccountedFor(
        { ...file, good },
        prefix,
        source,
        [31]
      );
      expect(rejects.find((r) => r.row === 31)).toMatchObject({
        line: format === 'csv' ? 32 : 31,
        reason,
      });
      expect(offline.some((r) => String(r.card_id).includes('\ufffd'))).toBe(false);
      expect(offline.some((r) => String(r.home_country).includes('\ufffd'))).toBe(false);
    }
  );

  it('rejects a JSON Lines row nested thousands of levels deep and finishes the file (it stalled it)', async () => {
    // Prepare: a 10 KB line, 5,000 levels deep, between good rows
    const prefix = 'deepjson';
    const file = cardFile(prefix, 20, 0);
    const deep = `{"card_id":"${prefix}-deep","event_time":"2025-01-01T00:00:00Z","txn_count_7d":${'['.repeat(5000)}1${']'.repeat(5000)}}`;
    // Act
    const source = await upload(
      `backfill/fraud-cards/${prefix}.jsonl`,
      `${toJsonLines(file.rows)}${deep}\n`
    );
    // Assess
    const { rejects } = await expectAccountedFor(file, prefix, source, [21]);
    expect(rejects[0]?.reason).toBe(
      '(row): the line nests deeper than 64 levels (a row holds flat feature values, not deeply nested JSON)'
    );
    expect(rejects[0]?.values).toBe(deep);
  });

  it('backfills a gzip JSON Lines file (.jsonl.gz), and gzip sniffed from the bytes of a .ndjson', async () => {
    // Prepare
    const file = cardFile('jsonlgz', 120);
    const sniffed = cardFile('sniffed', 30);
    // Act
    const source = await upload(
      'backfill/fraud-cards/jsonlgz.jsonl.gz',
      gzipSync(toJsonLines(file.rows))
    );
    const sniffedSource = await upload(
      'backfill/fraud-cards/sniffed.ndjson',
      gzipSync(toJsonLines(sniffed.rows)),
      {
        ContentEncoding: 'gzip',
      }
    );
    // Assess
    const { report } = await expectAccountedFor(file, 'jsonlgz', source);
    expect(report).toMatchObject({ format: 'jsonl', compression: 'gzip' });
    await expectAccountedFor(sniffed, 'sniffed', sniffedSource);
  });

  it('backfills a Parquet file read by row groups, keeping microsecond event times', async () => {
    // Prepare
    const prefix = 'parquet';
    const cards = cardFile(prefix, 300, 9, PARQUET_BAD_VARIANTS);
    const live = recentCards(prefix);
    const file = {
      ...cards,
      rows: [...cards.rows, ...live],
      good: new Set([...cards.good, ...live.map((r) => String(r.card_id))]),
    };
    const onlineUnchanged = await watchOnline(prefix, [`${prefix}-0`, `${prefix}-1`]);
    // Act
    const source = await upload(`backfill/fraud-cards/${prefix}.parquet`, toParquet(file.rows, 64));
    // Assess
    const { report, rejects, offline } = await expectAccountedFor(file, prefix, source);
    expect(report.format).toBe('parquet');
    expect(rejects.find((r) => r.row === 9)?.reason).toContain('record identifier is required');
    expect(rejects.find((r) => r.row === 27)?.reason).toContain('Fractional value must not be NaN');
    expect(rejects.find((r) => r.row === 27)?.values).toMatchObject({
      card_id: `${prefix}-26`,
      amount_sum_30d: 'NaN',
    });
    expect(offline.find((r) => r.card_id === `${prefix}-5`)).toMatchObject({
      event_time: '2024-01-01T00:05:00.000Z',
      card_age_days: 105n,
    });
    await onlineUnchanged();
  });

  it('refuses a DOUBLE or FLOAT beyond 2^53 for an Integral feature, saying to write the column as INT64', async () => {
    // Prepare: counts exported as floating point (pandas, Spark casts); 5.0 is exact, the rest not.
    const unsafe =
      'Integral value is a Parquet DOUBLE or FLOAT beyond ±(2^53 − 1), where a floating-point column cannot hold every integer exactly: write the column as INT64 (or DECIMAL with scale 0)';
    const ids = ['dbl-ok', 'dbl-big', 'flt-big'];
    const parquet = parquetWriteBuffer({
      columnData: [
        { name: 'card_id', data: ids, type: 'STRING' },
        { name: 'event_time', data: ids.map(() => '2025-01-01T00:00:00Z'), type: 'STRING' },
        { name: 'txn_count_7d', data: [5, 2 ** 53 + 2, 1], type: 'DOUBLE' },
        { name: 'card_age_days', data: [7, 7, 1e20], type: 'FLOAT' },
      ],
    });
    // Act
    const source = await upload('backfill/fraud-cards/doubles.parquet', Buffer.from(parquet));
    // Assess: the row and the feature are named, with the value the file holds and a Parquet hint
    // (not the codec's "send it as a string or bigint", which speaks to TypeScript callers).
    const { report, rejects } = await backfillOutput(s3.client, REPORTS_BUCKET, source);
    expect(report).toMatchObject({ status: 'completed', rowsWritten: 1, rowsRejected: 2 });
    expect(rejects).toMatchObject([
      {
        row: 2,
        reason: `txn_count_7d=9007199254740994: ${unsafe}`,
        problems: [{ feature: 'txn_count_7d', value: 9007199254740994, reason: unsafe }],
      },
      { row: 3, reason: `card_age_days=100000000000000000000: ${unsafe}` },
    ]);
    expect(report.firstErrors[0]).toMatchObject({
      row: 2,
      reason: `txn_count_7d=9007199254740994: ${unsafe}`,
    });
    expect(
      (await offlineRows(store, 'fraud-cards')).find((r) => r.card_id === 'dbl-ok')
    ).toMatchObject({ txn_count_7d: 5n, card_age_days: 7n });
  });

  it('fails a file whose columns are not features, writing nothing and saying why', async () => {
    // Prepare
    const csv = 'card_id,event_time,txn_count_7dd\nbadcol-1,2025-01-01T00:00:00Z,3\n';
    // Act
    const [source, added] = await withMetrics(() =>
      upload('backfill/fraud-cards/badcols.csv', csv)
    );
    // Assess
    const { report, rejects } = await backfillOutput(s3.client, REPORTS_BUCKET, source);
    expect(report).toMatchObject({ status: 'failed', rowsRead: 0, rowsWritten: 0 });
    expect(added).toMatchObject({ BackfillFilesFailed: 1, RowsWritten: 0 });
    expect(added).not.toHaveProperty('BackfillFilesCompleted');
    expect(report.error).toContain('column "txn_count_7dd" is not a feature of "fraud-cards"');
    expect(rejects).toEqual([]);
    expect((await offlineRows(store, 'fraud-cards')).some((r) => r.card_id === 'badcol-1')).toBe(
      false
    );
  });

  it('fails a truncated or empty .csv.gz with one reason, also when its header cannot be read', async () => {
    // Prepare: a copy cut short, and a zero-byte object (an export that failed to write)
    const whole = gzipSync('card_id,event_time\ncut-1,2025-01-01T00:00:00Z\n');
    // Act
    const cut = await upload(
      'backfill/fraud-cards/cut.csv.gz',
      whole.subarray(0, whole.length - 12)
    );
    const empty = await upload('backfill/fraud-cards/empty.csv.gz', Buffer.alloc(0));
    // Assess
    for (const source of [cut, empty]) {
      const { report, rejects } = await backfillOutput(s3.client, REPORTS_BUCKET, source);
      expect(report).toMatchObject({ status: 'failed', rowsRead: 0, rowsWritten: 0 });
      expect(report.error).toBe('the gzip data is corrupt: unexpected end of file');
      expect(rejects).toEqual([]);
    }
  });

  it('completes a header-only CSV and a Parquet file of 0 rows with a report of 0 rows (the CLI refuses them up front)', async () => {
    // Act
    const header = await upload('backfill/fraud-cards/header-only.csv', 'card_id,event_time\n');
    const parquet = await upload('backfill/fraud-cards/no-rows.parquet', toParquet([]));
    // Assess
    for (const source of [header, parquet]) {
      const { report, rejects } = await backfillOutput(s3.client, REPORTS_BUCKET, source);
      expect(report).toMatchObject({
        status: 'completed',
        rowsRead: 0,
        rowsWritten: 0,
        rowsRejected: 0,
      });
      expect(rejects).toEqual([]);
    }
  });

  it('fails a file for a feature group the schema module does not define', async () => {
    // Act
    const source = await upload(
      'backfill/fraud-cardz/x.csv',
      'card_id,event_time\nc,2025-01-01T00:00:00Z\n'
    );
    // Assess
    const { report } = await backfillOutput(s3.client, REPORTS_BUCKET, source);
    expect(report.status).toBe('failed');
    expect(report.error).toContain('unknown feature group "fraud-cardz"');
  });

  it('fails a file for an internal group (derived-feature state): not a backfill target', async () => {
    // Act
    const source = await upload(
      'backfill/fraud-card-state/x.csv',
      `card_id,event_time\nc,${new Date().toISOString()}\n`
    );
    // Assess
    const { report } = await backfillOutput(s3.client, REPORTS_BUCKET, source);
    expect(report.status).toBe('failed');
    expect(report.error).toBe(
      'unknown feature group "fraud-card-state" in the key; known: fraud-transactions, fraud-cards, fraud-merchants'
    );
  });

  describe.each([
    {
      format: 'CSV (resumed by byte offset)',
      key: 'resume.csv',
      encode: (f: CardFile) => toCsv(f.rows),
    },
    {
      format: 'JSON Lines gzip (resumed by skipping rows)',
      key: 'resume.jsonl.gz',
      encode: (f: CardFile) => gzipSync(toJsonLines(f.rows)),
    },
    {
      format: 'Parquet (resumed inside a row group)',
      key: 'resume.parquet',
      encode: (f: CardFile) => toParquet(f.rows, 90),
      parquet: true,
    },
  ])('resume of $format', ({ key, encode, parquet }) => {
    it('checkpoints mid-file, continues in new invocations and writes every row exactly once', async () => {
      // Prepare: an injected clock that advances 1 ms per read, for the handler and the contexts:
      // every invocation (200 ms budget, 150 ms margin) checkpoints after a few dozen rows.
      const prefix = `resume-${key.replace(/\W/g, '')}`;
      const file = cardFile(prefix, 400, 11, parquet ? PARQUET_BAD_VARIANTS : undefined);
      const time = virtualTime(1);
      const clocked = createBackfillHandler({ now: time.now }) as unknown as Handler;
      const original = handler;
      handler = clocked;
      uploadContext = () => time.context(200);
      inProcessContinuations.deliverTo(clocked as never);
      inProcessContinuations.configure({ contextFactory: () => time.context(200) });
      try {
        // Act
        const [source, added] = await withMetrics(() =>
          upload(`backfill/fraud-cards/${key}`, encode(file))
        );
        // Assess
        const { report } = await expectAccountedFor(file, prefix, source);
        expect(report.resumptions).toBeGreaterThanOrEqual(3);
        expect(report.invocations).toBe(report.resumptions + 1);
        // Each invocation adds its own share; the dashboard sums them.
        expect(added).toMatchObject({
          RowsWritten: file.good.size,
          RowsRejected: file.badRows.length,
          Resumptions: report.resumptions,
          BackfillFilesCompleted: 1,
        });
      } finally {
        handler = original;
        uploadContext = () => lambdaContext();
        inProcessContinuations.deliverTo(original as never);
        inProcessContinuations.configure({ contextFactory: undefined });
      }
    }, 120_000);
  });

  it('ingests an object version once when its S3 event is delivered again, sequentially or concurrently', async () => {
    // Prepare: the upload's own event runs the backfill; then the same event arrives again.
    const prefix = 'dup';
    const file = cardFile(prefix, 150);
    outcomes.length = 0;
    // Act
    const source = await upload(`backfill/fraud-cards/${prefix}.csv`, toCsv(file.rows));
    const event = s3PutEventOf(source);
    // The two concurrent invocations share this process's one Metrics (never so on Lambda, one
    // invocation per environment): the first to finish publishes both counts, and Powertools
    // warns that the other has none to publish. Kept off the output; the sums stay exact.
    const [[[again, later], added]] = await withEmptyPublishWarnings(() =>
      withMetrics(async () => {
        const together = await Promise.all([
          handler(event, lambdaContext()),
          handler(event, lambdaContext()),
        ]);
        return [together, await handler(event, lambdaContext())] as const;
      })
    );
    await inProcessContinuations.idle();
    // Assess
    expect(added).toEqual({ DuplicateEvents: 3 });
    const { report } = await expectAccountedFor(file, prefix, source);
    expect(report.invocations).toBe(1);
    expect([...again, later].map((r) => r.outcomes[0]?.kind)).toEqual([
      'duplicate',
      'duplicate',
      'duplicate',
    ]);
    expect(outcomes.at(-1)?.outcomes[0]?.kind).toBe('completed');
  });

  it("counts a folder marker and S3's test event as ignored events, so no invocation publishes nothing", async () => {
    // Prepare: what the S3 console's "Create folder" puts (a key ending in /), and the event S3
    // sends a new notification's destination.
    outcomes.length = 0;
    const testEvent = { Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: BACKFILL_BUCKET };
    // Act
    const [[[, test], added], warnings] = await withEmptyPublishWarnings(() =>
      withMetrics(async () => [
        await upload('backfill/fraud-cards/october/', ''),
        await handler(testEvent as unknown as S3Event, lambdaContext()),
      ])
    );
    // Assess
    expect(outcomes.map((o) => o.outcomes.map((x) => x.kind))).toEqual([['ignored']]);
    expect(test.outcomes).toEqual([{ kind: 'ignored', reason: 's3:TestEvent' }]);
    expect(added).toEqual({ BackfillEventsIgnored: 2 });
    expect(warnings).toBe(0);
  });

  it('counts every input row of a --derive file once: written, rejected or duplicate', async () => {
    // Prepare: 40 payments, 6 exact resends, 1 id with different content, 1 malformed line.
    // One base time: a resend must carry exactly the original's event time, so the clock is read
    // once (read per line, a millisecond tick between original and resend made it a reject).
    const dayAgo = Date.now() - 86_400_000;
    const at = (i: number) => new Date(dayAgo + i * 1_000).toISOString();
    const payment = (i: number, amount = 10 + i) =>
      JSON.stringify({
        transaction_id: `derive-${i}`,
        event_time: at(i),
        card_id: `derive-card-${i % 4}`,
        merchant_id: 'm-1',
        amount,
        currency: 'EUR',
        channel: 'pos',
      });
    const lines = Array.from({ length: 40 }, (_, i) => payment(i));
    for (const i of [3, 7, 11, 19, 23, 31]) lines.push(payment(i));
    lines.push(payment(5, 999), '{"transaction_id": ');
    // Act
    const source = await upload(
      'backfill/fraud-transactions/derive/counts.jsonl',
      `${lines.join('\n')}\n`
    );
    // Assess
    const { report } = await backfillOutput(s3.client, REPORTS_BUCKET, source);
    expect(report).toMatchObject({
      status: 'completed',
      rowsRead: 48,
      rowsWritten: 40,
      rowsRejected: 2,
      rowsDuplicate: 6,
    });
    // Rejects name the row of the file (the replay reorders rows, the user's file does not):
    // the malformed last line, then the conflicting resend of derive-5 just before it.
    expect(report.firstErrors.map((e) => [e.row, e.line])).toEqual([
      [48, 48],
      [47, 47],
    ]);
  });

  it('backfills a file uploaded with the AWS CLI (aws s3 cp)', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'skewless-backfill-cli-'));
    const path = join(dir, 'october.csv');
    const file = cardFile('awscli', 60);
    writeFileSync(path, toCsv(file.rows));
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_DEFAULT_REGION: 'us-east-1',
    };
    outcomes.length = 0;
    try {
      // Act
      await run(
        'aws',
        [
          's3',
          'cp',
          path,
          `s3://${BACKFILL_BUCKET}/backfill/fraud-cards/cli/october.csv`,
          '--endpoint-url',
          s3.server.endpoint,
          '--only-show-errors',
        ],
        { env }
      );
      await s3.server.settled();
      await inProcessContinuations.idle();
      // Assess
      const outcome = outcomes[0]?.outcomes[0];
      expect(outcome?.kind).toBe('completed');
      const report = outcome?.kind === 'completed' ? outcome.report : undefined;
      expect(report?.source.key).toBe('backfill/fraud-cards/cli/october.csv');
      await expectAccountedFor(file, 'awscli', {
        bucket: BACKFILL_BUCKET,
        key: 'backfill/fraud-cards/cli/october.csv',
        versionId: report?.source.versionId ?? undefined,
        etag: report?.source.etag ?? '',
        size: 0,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
  it('rejects a row dated beyond MAX_EVENT_TIME_SKEW_SECONDS ahead of the clock, naming the time and the bound', async () => {
    // Prepare: one row an hour old, one a minute ahead (within the default 300 s), one a day ahead.
    const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
    const rows = [
      { card_id: 'skew-past', event_time: at(-3_600_000), txn_count_7d: 1 },
      { card_id: 'skew-near', event_time: at(60_000), txn_count_7d: 2 },
      { card_id: 'skew-far', event_time: at(86_400_000), txn_count_7d: 3 },
    ];
    // Act
    const source = await upload(
      'backfill/fraud-cards/skew.jsonl',
      rows.map((r) => JSON.stringify(r)).join('\n')
    );
    // Assess
    const { report, rejects } = await backfillOutput(s3.client, REPORTS_BUCKET, source);
    expect(report).toMatchObject({ status: 'completed', rowsWritten: 2, rowsRejected: 1 });
    expect(rejects).toHaveLength(1);
    expect(rejects[0]?.row).toBe(3);
    expect(rejects[0]?.reason).toMatch(
      /event_time=.*event time \S+Z is 86\d{3} s ahead of the clock .*at most 300 s ahead is accepted \(MAX_EVENT_TIME_SKEW_SECONDS\)/
    );
    const offline = (await offlineRows(store, 'fraud-cards')).filter((r) =>
      String(r.card_id).startsWith('skew-')
    );
    expect(offline.map((r) => r.card_id).sort()).toEqual(['skew-near', 'skew-past']);
  });
});

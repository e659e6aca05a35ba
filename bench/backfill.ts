/**
 * Benchmark of the S3 backfill, per format (CSV, CSV gzip, JSON Lines, JSON Lines gzip, Parquet):
 *   1. parse + validate: the format's reader over the file's bytes in 64 KiB chunks (Parquet:
 *      an in-memory AsyncBuffer) and `encodeRecord` on every row, no I/O — the CPU cost of a row
 *      before its write. Goal: >= 20,000 rows/s.
 *   2. end to end: the file is put into the local S3 with the SDK, its `ObjectCreated` event
 *      invokes the handler, which streams it back and writes every row offline-only until the
 *      report is written: in direct mode (Parquet objects into the group's ResolvedOutputS3Uri,
 *      which the local S3 serves from the embedded store's offline files; goal >= 50,000 rows/s
 *      for CSV and Parquet), and as the baseline in the same run in records mode
 *      (BatchWriteRecord, OfflineStore only) to the embedded store (a child process, as the
 *      managed service is another machine).
 *   3. offline flush: the embedded store's own journal-to-Parquet flush, in rows/s, next to the
 *      direct mode's rate of the same run (its offline writes must not be slower).
 *   4. memory: peak RSS of a child process running the handler end to end in direct mode on a
 *      warm-up object and then a file from the local S3 (ranged GETs for Parquet), for a file and
 *      one 10x larger. Goal: the larger one within 1.3x of the smaller one (memory flat in file
 *      size).
 *
 * Run alone: `node_modules/.bin/node bench/backfill.ts`. Sizes: BENCH_BACKFILL_ROWS (parse,
 * default 200,000), BENCH_BACKFILL_E2E_ROWS (direct, default 200,000),
 * BENCH_BACKFILL_BASELINE_ROWS (records mode, default 20,000), BENCH_BACKFILL_RSS_ROWS (the
 * smaller memory file, default 100,000; the larger has 10x), BENCH_BACKFILL_RSS_WARMUP_ROWS
 * (1,000,000), BENCH_BACKFILL_FLUSH_ROWS (the store's own flush, 100,000).
 * BENCH_BACKFILL_ONLY=parse,e2e,flush,memory runs a subset; BENCH_BACKFILL_FORMATS=csv,parquet
 * a subset of formats.
 */
import { execFile } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { Context, S3Event } from 'aws-lambda';
import type { AsyncBuffer } from 'hyparquet';
import { fileWriter, ParquetWriter } from 'hyparquet-writer';
import { startLocalS3 } from '../local/s3/index.ts';
import { ensureFeatureGroups } from '../local/setup/ensureFeatureGroups.ts';
import { startStore } from '../local/store/index.ts';
import { localContext } from '../shared/backfill/continuation.ts';
import { reportKeys } from '../shared/backfill/objectKey.ts';
import { openParquetSource } from '../shared/backfill/parquetRows.ts';
import type { RowSource } from '../shared/backfill/rowSource.ts';
import { openCsvSource, openJsonLinesSource } from '../shared/backfill/textRows.ts';
import type { BackfillReport } from '../shared/backfill/types.ts';
import { cards, featureGroups } from '../shared/definitions.ts';
import { encodeRecord } from '../shared/record/codec.ts';
import type { FeatureGroup } from '../shared/schema/index.ts';
import { writeBatch } from '../shared/store/batchWriter.ts';
import {
  benchListOrExit,
  benchSizeOrExit,
  NODE,
  ROOT,
  runAlone,
  spawnStore,
  stopChild,
} from './harness.ts';
import type { Bench, BenchRow, BenchSection } from './types.ts';

const PARSE_ROWS = benchSizeOrExit('BENCH_BACKFILL_ROWS', 200_000);
const E2E_ROWS = benchSizeOrExit('BENCH_BACKFILL_E2E_ROWS', 200_000);
const BASELINE_ROWS = benchSizeOrExit('BENCH_BACKFILL_BASELINE_ROWS', 20_000);
const RSS_ROWS = benchSizeOrExit('BENCH_BACKFILL_RSS_ROWS', 100_000);
/**
 * Rows streamed first by each memory child, so V8 has sized its heap before the measured file.
 * V8 raises its old-generation limit over the first major collections (the live heap stays at
 * 45-85 MB, `--trace-gc`); 300,000 rows left it still rising, so a 1M-row file measured the
 * sizing (Parquet 1.21-1.36x over 7 runs) rather than the file. 1,000,000 rows reach the plateau.
 */
const RSS_WARMUP_ROWS = benchSizeOrExit('BENCH_BACKFILL_RSS_WARMUP_ROWS', 1_000_000);
/** Rows journalled into the embedded store before its offline flush is timed. */
const FLUSH_ROWS = benchSizeOrExit('BENCH_BACKFILL_FLUSH_ROWS', 100_000);
const PARQUET_ROW_GROUP = 25_000;
const CHUNK = 64 * 1024;
const E2E_TIMEOUT_MS = 600_000;
const BUCKET = 'skewless-backfill';
const REPORTS = 'skewless-reports';
/** The groups' offline S3Uri: the local S3 serves it from the store's offline files. */
const OFFLINE_BUCKET = 'bench-offline';
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };

const ALL_FORMATS = ['csv', 'csv.gz', 'jsonl', 'jsonl.gz', 'parquet'] as const;
type Format = (typeof ALL_FORMATS)[number];
const FORMATS: readonly Format[] = benchListOrExit('BENCH_BACKFILL_FORMATS', ALL_FORMATS);
/** The bench's phases; BENCH_BACKFILL_ONLY runs a subset. */
const PHASES = benchListOrExit('BENCH_BACKFILL_ONLY', ['parse', 'e2e', 'flush', 'memory'] as const);

const COLUMNS = cards.featureNames;

/**
 * Event times: `ROWS_PER_HOUR` rows per hour (a nightly aggregate of many cards; 1,000,000 rows
 * span 200 hourly partitions at the default 5,000), or spread out (BENCH_BACKFILL_ROWS_PER_HOUR=37:
 * one row every 97 s, 200,000 rows over ~7 months, the offline layout's worst case of one small
 * object per hour).
 */
const ROWS_PER_HOUR = benchSizeOrExit('BENCH_BACKFILL_ROWS_PER_HOUR', 5_000);

/** Where generated event times start, epoch ms (the batch bench starts them a few hours ago). */
// calendar-fixed: backfilled history goes to the offline store only, which has no TTL.
const HISTORY_ORIGIN_MS = Date.UTC(2024, 6, 1);

/** Row `i` of fraud-cards, values as text; event times from `originMs`. */
function row(prefix: string, i: number, originMs = HISTORY_ORIGIN_MS): string[] {
  const hour = Math.floor(i / ROWS_PER_HOUR);
  const within = Math.floor(((i % ROWS_PER_HOUR) * 3_600_000) / ROWS_PER_HOUR);
  return [
    `${prefix}-${i}`,
    new Date(originMs + hour * 3_600_000 + within).toISOString(),
    String(i % 50),
    String((i % 50) * 4),
    (i * 1.25).toFixed(2),
    (i * 5.5).toFixed(2),
    String(i % 17),
    String(i % 3),
    String(100 + (i % 3000)),
    i % 2 === 0 ? 'FR' : 'DE',
  ];
}

/** The feature type of a fraud-cards column. */
function typeOf(name: string): 'String' | 'Integral' | 'Fractional' {
  return (cards as FeatureGroup).features[name]?.type ?? 'String';
}

/** A Parquet cell: event time as TIMESTAMP_MICROS, counts INT64, sums DOUBLE, the rest UTF8. */
function parquetCell(name: string, text: string): unknown {
  if (name === cards.eventTime) return BigInt(Date.parse(text)) * 1000n;
  const type = typeOf(name);
  if (type === 'Integral') return BigInt(text);
  if (type === 'Fractional') return Number(text);
  return text;
}

function parquetType(name: string) {
  if (name === cards.eventTime)
    return { type: 'INT64', converted_type: 'TIMESTAMP_MICROS' } as const;
  const type = typeOf(name);
  if (type === 'Integral') return { type: 'INT64' } as const;
  if (type === 'Fractional') return { type: 'DOUBLE' } as const;
  return { type: 'BYTE_ARRAY', converted_type: 'UTF8' } as const;
}

/** Writes `rows` rows of `format` to `path`, streaming (the 10x files are large); returns its size. */
async function writeFile(
  format: Format,
  prefix: string,
  rows: number,
  path: string,
  originMs = HISTORY_ORIGIN_MS
): Promise<number> {
  if (format === 'parquet') {
    const writer = new ParquetWriter({
      writer: fileWriter(path),
      schema: [
        { name: 'root', num_children: COLUMNS.length },
        ...COLUMNS.map((name) => ({
          name,
          repetition_type: 'REQUIRED' as const,
          ...parquetType(name),
        })),
      ],
    });
    for (let from = 0; from < rows; from += PARQUET_ROW_GROUP) {
      const columns: unknown[][] = COLUMNS.map(() => []);
      for (let i = from; i < Math.min(rows, from + PARQUET_ROW_GROUP); i++) {
        const r = row(prefix, i, originMs);
        for (const [c, name] of COLUMNS.entries())
          columns[c]?.push(parquetCell(name, r[c] as string));
      }
      writer.write({
        columnData: COLUMNS.map((name, c) => ({ name, data: (columns[c] ?? []) as never[] })),
        rowGroupSize: PARQUET_ROW_GROUP,
      });
    }
    writer.finish();
    return statSync(path).size;
  }
  const lines = (function* (): Generator<string> {
    if (format.startsWith('csv')) yield `${COLUMNS.join(',')}\n`;
    for (let i = 0; i < rows; i++) {
      const r = row(prefix, i, originMs);
      if (format.startsWith('csv')) {
        yield `${r.join(',')}\n`;
        continue;
      }
      const object: Record<string, string | number> = {};
      for (const [c, name] of COLUMNS.entries()) {
        object[name] = typeOf(name) === 'String' ? (r[c] as string) : Number(r[c]);
      }
      yield `${JSON.stringify(object)}\n`;
    }
  })();
  const sink = createWriteStream(path);
  await (format.endsWith('.gz')
    ? pipeline(Readable.from(lines), createGzip(), sink)
    : pipeline(Readable.from(lines), sink));
  return statSync(path).size;
}

async function* chunks(bytes: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += CHUNK) yield bytes.subarray(i, i + CHUNK);
}

function memoryBuffer(bytes: Buffer): AsyncBuffer {
  const copy = bytes.buffer.slice(
    bytes.byteOffset,
    bytes.byteOffset + bytes.byteLength
  ) as ArrayBuffer;
  return { byteLength: copy.byteLength, slice: (start, end) => copy.slice(start, end) };
}

function openSource(
  format: Format,
  bytes: AsyncIterable<Buffer>,
  file: AsyncBuffer | undefined
): Promise<RowSource> {
  if (format === 'parquet')
    return openParquetSource({ group: cards, file: file as AsyncBuffer, startIndex: 0 });
  const options = {
    group: cards,
    bytes,
    declaredGzip: format.endsWith('.gz'),
    start: { index: 0 },
  };
  return format.startsWith('csv') ? openCsvSource(options) : openJsonLinesSource(options);
}

/** Reads and validates every row; returns the row count (throws if any row is invalid). */
async function readAndValidate(source: RowSource): Promise<number> {
  let rows = 0;
  for await (const batch of source.batches()) {
    for (const r of batch) {
      const encoded = r.values === undefined ? undefined : encodeRecord(cards, r.values);
      if (encoded === undefined || !encoded.ok) throw new Error(`row ${r.index} is invalid`);
      rows += 1;
    }
  }
  return rows;
}

const rate = (rows: number, ms: number) =>
  `${Math.round(rows / (ms / 1000)).toLocaleString('en-US')} rows/s`;

async function parseAndValidate(rowsOut: BenchRow[], workDir: string): Promise<void> {
  for (const format of FORMATS) {
    const path = join(workDir, `parse.${format}`);
    await writeFile(format, 'p', PARSE_ROWS, path);
    const bytes = readFileSync(path);
    // One warm-up run (JIT), then the measured one.
    await readAndValidate(await openSource(format, chunks(bytes), memoryBuffer(bytes)));
    const started = performance.now();
    const rows = await readAndValidate(
      await openSource(format, chunks(bytes), memoryBuffer(bytes))
    );
    const ms = performance.now() - started;
    const perSecond = rows / (ms / 1000);
    rowsOut.push({
      metric: `parse + validate, ${format} (${rows.toLocaleString('en-US')} rows, ${(bytes.length / 1e6).toFixed(1)} MB)`,
      value: rate(rows, ms),
      goal: '>= 20,000 rows/s',
      met: perSecond >= 20_000,
    });
    rmSync(path);
  }
}

interface BenchStack {
  readonly storeEndpoint: string;
  readonly s3Endpoint: string;
  readonly client: S3Client;
  /** Resolves when the backfills started by uploads so far are done (this process's handler). */
  settled(): Promise<void>;
  /** The handler uploads invoke; its continuations go to the in-process queue of its kind. */
  setHandler(
    handler: ((event: S3Event, context: Context) => Promise<unknown>) | undefined,
    kind?: 'backfill' | 'batch'
  ): void;
  close(): Promise<void>;
}

/**
 * The embedded store (child process) with the schema's groups, and a local S3 (this process)
 * with the backfill and reports buckets and the store's offline files mounted at the groups'
 * offline S3Uri, as `npm start` runs them.
 */
async function startBenchStack(workDir: string): Promise<BenchStack> {
  const storeDir = join(workDir, 'store');
  const store = await spawnStore(storeDir);
  const sagemaker = new SageMakerClient({
    endpoint: store.endpoint,
    region: 'us-east-1',
    credentials,
  });
  await ensureFeatureGroups(sagemaker, featureGroups, {
    offlineS3Uri: `s3://${OFFLINE_BUCKET}/offline-store`,
    roleArn: 'arn:aws:iam::000000000000:role/bench',
  });
  sagemaker.destroy();
  type Handler = (event: S3Event, context: Context) => Promise<unknown>;
  let handler: Handler | undefined;
  const s3 = await startLocalS3({
    port: 0,
    dataDir: join(workDir, 's3'),
    buckets: [{ name: BUCKET, versioning: true }, REPORTS],
    mounts: [
      {
        bucket: OFFLINE_BUCKET,
        prefix: 'offline-store/',
        directory: join(storeDir, 'offline-store'),
      },
    ],
    onObjectCreated: async (event) => {
      if (event.Records[0]?.s3.bucket.name === BUCKET)
        await handler?.(event, localContext(900_000));
    },
  });
  Object.assign(process.env, {
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'bench',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'bench',
    AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME: store.endpoint,
    AWS_ENDPOINT_URL_SAGEMAKER: store.endpoint,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    REPORTS_BUCKET: REPORTS,
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  delete process.env.CONTINUATION_QUEUE_URL;
  const { inProcessBatchContinuations, inProcessContinuations } = await import(
    '../shared/backfill/index.ts'
  );
  const client = new S3Client({
    endpoint: s3.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials,
  });
  return {
    storeEndpoint: store.endpoint,
    s3Endpoint: s3.endpoint,
    client,
    settled: async () => {
      await s3.settled();
      await inProcessContinuations.idle();
      await inProcessBatchContinuations.idle();
    },
    setHandler: (next, kind = 'backfill') => {
      handler = next;
      const queue = kind === 'batch' ? inProcessBatchContinuations : inProcessContinuations;
      if (next !== undefined) queue.deliverTo(next as never);
    },
    close: async () => {
      client.destroy();
      await s3.close();
      await stopChild(store.child);
    },
  };
}

/** The report of the backfill of `key` (its latest version). */
async function reportOf(client: S3Client, key: string): Promise<BackfillReport> {
  const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
  const keys = reportKeys({
    bucket: BUCKET,
    key,
    versionId: head.VersionId,
    etag: (head.ETag ?? '').replace(/"/g, ''),
    size: head.ContentLength ?? 0,
  });
  const out = await client.send(new GetObjectCommand({ Bucket: REPORTS, Key: keys.report }));
  return JSON.parse((await out.Body?.transformToString()) ?? '{}') as BackfillReport;
}

/** Puts the file into the backfill bucket and waits for its report; returns the elapsed ms. */
async function backfillThroughS3(
  stack: BenchStack,
  path: string,
  size: number,
  key: string,
  rows: number
): Promise<{ ms: number; report: BackfillReport }> {
  const started = performance.now();
  await stack.client.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: key,
      Body: createReadStream(path),
      ContentLength: size,
    })
  );
  await Promise.race([
    stack.settled(),
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error('end-to-end run timed out')), E2E_TIMEOUT_MS).unref()
    ),
  ]);
  const ms = performance.now() - started;
  const report = await reportOf(stack.client, key);
  if (report.status !== 'completed' || report.rowsWritten !== rows) {
    throw new Error(`backfill of ${key} did not write every row: ${JSON.stringify(report)}`);
  }
  return { ms, report };
}

async function endToEnd(
  rowsOut: BenchRow[],
  workDir: string,
  directRates: Map<Format, number>
): Promise<void> {
  const stack = await startBenchStack(workDir);
  const { createBackfillHandler } = await import('../functions/backfill/index.ts');
  const { loadBackfillConfig } = await import('../shared/backfill/index.ts');
  type Handler = (event: S3Event, context: Context) => Promise<unknown>;
  try {
    for (const format of FORMATS) {
      const measured: Record<string, { rows: number; ms: number }> = {};
      for (const [mode, rows] of [
        ['records', BASELINE_ROWS],
        ['direct', E2E_ROWS],
      ] as const) {
        stack.setHandler(
          createBackfillHandler({
            config: { ...loadBackfillConfig(), writeMode: mode },
          }) as unknown as Handler
        );
        const path = join(workDir, `e2e.${format}`);
        const size = await writeFile(format, `e2e-${mode}-${format}`, rows, path);
        const { ms, report } = await backfillThroughS3(
          stack,
          path,
          size,
          `backfill/fraud-cards/bench-${mode}.${format}`,
          rows
        );
        if (report.writeMode !== mode) throw new Error(`ran in ${report.writeMode}, not ${mode}`);
        rmSync(path);
        measured[mode] = { rows, ms };
      }
      const direct = measured.direct as { rows: number; ms: number };
      const records = measured.records as { rows: number; ms: number };
      const directRate = direct.rows / (direct.ms / 1000);
      const recordsRate = records.rows / (records.ms / 1000);
      directRates.set(format, directRate);
      rowsOut.push({
        metric: `end to end, ${format}: direct mode (${direct.rows.toLocaleString('en-US')} rows, Parquet into the offline store through S3) vs records mode baseline (${records.rows.toLocaleString('en-US')} rows, BatchWriteRecord OfflineStore)`,
        value: `${rate(direct.rows, direct.ms)} vs ${rate(records.rows, records.ms)} (x${(directRate / recordsRate).toFixed(1)})`,
        ...(format === 'csv' || format === 'parquet'
          ? { goal: 'direct >= 50,000 rows/s', met: directRate >= 50_000 }
          : {}),
      });
    }
  } finally {
    stack.setHandler(undefined);
    await stack.close();
  }
}

/**
 * Child process: runs the backfill handler (direct mode) on the warm-up object, then on the
 * measured one, against the parent's local S3 and store, and reports its peak RSS after the
 * warm-up and at the end.
 */
async function rssChild(warmupKey: string, key: string): Promise<void> {
  const { createBackfillHandler } = await import('../functions/backfill/index.ts');
  const { objectCreatedEvent } = await import('../local/s3/notification.ts');
  const client = new S3Client({ forcePathStyle: true, region: 'us-east-1', credentials });
  const handler = createBackfillHandler() as unknown as (
    event: S3Event,
    context: Context
  ) => Promise<unknown>;
  const run = async (objectKey: string): Promise<BackfillReport> => {
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: objectKey }));
    await handler(
      objectCreatedEvent({
        bucket: BUCKET,
        key: objectKey,
        size: head.ContentLength ?? 0,
        eTag: (head.ETag ?? '').replace(/"/g, ''),
        versionId: head.VersionId,
        sequencer: '0062E99A88DC407460',
      }),
      localContext(900_000)
    );
    return reportOf(client, objectKey);
  };
  await run(warmupKey);
  const warmRss = process.resourceUsage().maxRSS * 1024;
  const started = performance.now();
  const report = await run(key);
  const ms = performance.now() - started;
  client.destroy();
  const maxRss = process.resourceUsage().maxRSS * 1024;
  const head = await new S3Client({ forcePathStyle: true, region: 'us-east-1', credentials }).send(
    new HeadObjectCommand({ Bucket: BUCKET, Key: key })
  );
  process.stdout.write(
    `${JSON.stringify({ rows: report.rowsWritten, ms, warmRss, maxRss, bytes: head.ContentLength ?? 0, writeMode: report.writeMode })}\n`
  );
}

interface RssMeasure {
  readonly rows: number;
  readonly ms: number;
  readonly warmRss: number;
  readonly maxRss: number;
  readonly bytes: number;
  readonly writeMode: string;
}

async function measureRss(warmupKey: string, key: string): Promise<RssMeasure> {
  const { stdout } = await promisify(execFile)(
    NODE,
    [join(ROOT, 'bench/backfill.ts'), '--rss-child', warmupKey, key],
    {
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT' },
      maxBuffer: 1024 * 1024,
      timeout: 900_000,
    }
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as RssMeasure;
}

async function upload(
  client: S3Client,
  workDir: string,
  format: Format,
  key: string,
  rows: number
): Promise<void> {
  const path = join(workDir, `rss.${format}`);
  const size = await writeFile(format, key.replace(/\W/g, '-'), rows, path);
  await client.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: key,
      Body: createReadStream(path),
      ContentLength: size,
    })
  );
  rmSync(path);
}

async function memory(rowsOut: BenchRow[], workDir: string): Promise<void> {
  const stack = await startBenchStack(join(workDir, 'rss'));
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  try {
    for (const format of FORMATS) {
      const warmup = `backfill/fraud-cards/warmup.${format}`;
      await upload(stack.client, workDir, format, warmup, RSS_WARMUP_ROWS);
      const measured: RssMeasure[] = [];
      for (const [name, rows] of [
        ['small', RSS_ROWS],
        ['large', RSS_ROWS * 10],
      ] as const) {
        const key = `backfill/fraud-cards/${name}.${format}`;
        await upload(stack.client, workDir, format, key, rows);
        // A fresh warm-up version per child, so each child backfills it (a version is done once).
        await upload(stack.client, workDir, format, warmup, RSS_WARMUP_ROWS);
        measured.push(await measureRss(warmup, key));
      }
      const [a, b] = measured as [RssMeasure, RssMeasure];
      const ratio = b.maxRss / a.maxRss;
      rowsOut.push({
        metric: `peak RSS of the handler, direct mode end to end, ${format}: ${a.rows.toLocaleString('en-US')} rows (${(a.bytes / 1e6).toFixed(1)} MB) vs ${b.rows.toLocaleString('en-US')} rows (${(b.bytes / 1e6).toFixed(1)} MB)`,
        value: `${mb(a.maxRss)} vs ${mb(b.maxRss)} (x${ratio.toFixed(2)}; above the warm-up: +${mb(a.maxRss - a.warmRss)} vs +${mb(b.maxRss - b.warmRss)}; ${rate(b.rows, b.ms)})`,
        goal: 'x <= 1.3',
        met: ratio <= 1.3 && a.writeMode === 'direct' && b.writeMode === 'direct',
      });
    }
  } finally {
    await stack.close();
  }
}

/**
 * The embedded store's own offline writes (issue 14 §4: not slower than the direct path): rows
 * journalled by BatchWriteRecord (OfflineStore only, untimed) into an in-process store whose
 * interval flush is off, then one `flush()` timed — journal read, Parquet encoding on the store's
 * worker threads, fsync and rename — next to the direct mode's end-to-end rate of the same run.
 */
async function storeFlush(
  rowsOut: BenchRow[],
  workDir: string,
  directRates: ReadonlyMap<Format, number>
): Promise<void> {
  const store = await startStore({
    dataDir: join(workDir, 'flush-store'),
    flushIntervalMs: 86_400_000,
    logLevel: 'warn',
  });
  const sagemaker = new SageMakerClient({
    endpoint: store.endpoint,
    region: 'us-east-1',
    credentials,
  });
  const runtime = new SageMakerFeatureStoreRuntimeClient({
    endpoint: store.endpoint,
    region: 'us-east-1',
    credentials,
  });
  try {
    await ensureFeatureGroups(sagemaker, [cards], {
      offlineS3Uri: `s3://${OFFLINE_BUCKET}/offline-store`,
      roleArn: 'arn:aws:iam::000000000000:role/bench',
    });
    const entries = Array.from({ length: FLUSH_ROWS }, (_, i) => {
      const values = Object.fromEntries(row('flush', i).map((v, c) => [COLUMNS[c], v]));
      const encoded = encodeRecord(cards, values);
      if (!encoded.ok) throw new Error(`flush row ${i} is invalid`);
      return { ref: i, record: encoded.value, targetStores: ['OfflineStore'] as const };
    });
    const outcomes = await writeBatch(runtime, entries, { concurrency: 16 });
    const unwritten = outcomes.filter((o) => o.status !== 'written').length;
    if (unwritten > 0) throw new Error(`${unwritten} flush rows were not journalled`);
    const cpu = process.cpuUsage();
    const started = performance.now();
    await store.flush();
    const ms = performance.now() - started;
    const cpuMs = (() => {
      const used = process.cpuUsage(cpu);
      return (used.user + used.system) / 1000;
    })();
    const flushRate = FLUSH_ROWS / (ms / 1000);
    const direct = [...directRates]
      .filter(([format]) => format === 'csv' || format === 'parquet')
      .map(([format, r]) => `${format} ${Math.round(r).toLocaleString('en-US')} rows/s`);
    const slowest = Math.min(...[...directRates.values()]);
    rowsOut.push({
      metric: `embedded store offline flush (${FLUSH_ROWS.toLocaleString('en-US')} journalled fraud-cards rows to Parquet, ${Math.ceil(FLUSH_ROWS / ROWS_PER_HOUR)} hourly partitions) vs the direct mode end to end of this run`,
      value: `${rate(FLUSH_ROWS, ms)} (${((cpuMs * 1000) / FLUSH_ROWS).toFixed(1)} µs CPU per row)${direct.length > 0 ? ` vs ${direct.join(', ')}` : ''}`,
      goal: 'not slower than the direct path',
      met: directRates.size > 0 ? flushRate >= slowest : flushRate >= 50_000,
    });
  } finally {
    sagemaker.destroy();
    runtime.destroy();
    await store.close();
  }
}

const bench: Bench = async (): Promise<BenchSection> => {
  const workDir = mkdtempSync(join(tmpdir(), 'skewless-bench-backfill-'));
  const rows: BenchRow[] = [];
  try {
    const directRates = new Map<Format, number>();
    if (PHASES.includes('parse')) await parseAndValidate(rows, workDir);
    if (PHASES.includes('e2e')) await endToEnd(rows, workDir, directRates);
    if (PHASES.includes('flush')) await storeFlush(rows, workDir, directRates);
    if (PHASES.includes('memory')) await memory(rows, workDir);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  return {
    title: 'S3 backfill (offline store only)',
    method: [
      `parse + validate: ${PARSE_ROWS.toLocaleString('en-US')} fraud-cards rows per format from memory in 64 KiB chunks (Parquet: row groups of ${PARQUET_ROW_GROUP.toLocaleString('en-US')}), encodeRecord on each row; one warm-up run, then the measured one`,
      `end to end: per format, PutObject into the local S3 -> ObjectCreated -> handler -> rejects + report, timed from the PutObject to the report; direct mode (${E2E_ROWS.toLocaleString('en-US')} rows: Parquet parts into the group's ResolvedOutputS3Uri, served by the local S3 from the embedded store's offline files) and, in the same run, records mode (${BASELINE_ROWS.toLocaleString('en-US')} rows: BatchWriteRecord OfflineStore, 8 calls of 25 in flight, to the embedded store in a child process)`,
      `offline flush: ${FLUSH_ROWS.toLocaleString('en-US')} fraud-cards rows journalled by BatchWriteRecord (OfflineStore only, untimed) into an in-process embedded store with its interval flush off, then one flush timed (journal -> Parquet on the store's worker threads, fsync, rename), next to the direct mode's end-to-end rate of the same run; goal (issue 14 §4): not slower than the direct path`,
      `memory: a child process per file runs the handler in direct mode end to end, on a ${RSS_WARMUP_ROWS.toLocaleString('en-US')}-row warm-up object of the same format, then on the file, from the local S3 (served by this process; ranged GETs for Parquet), and reports its peak RSS (getrusage maxrss, default V8 flags). The warm-up lets V8 grow its young generation and old-space headroom first, so the ratio shows what the file size adds; ${RSS_ROWS.toLocaleString('en-US')} rows vs ${(RSS_ROWS * 10).toLocaleString('en-US')}`,
    ],
    rows,
  };
};

export default bench;
export type { BenchStack, Format };
export { backfillThroughS3, rate, startBenchStack, writeFile };

if (import.meta.main) {
  const child = process.argv.indexOf('--rss-child');
  if (child >= 0) {
    const [warmupKey, key] = process.argv.slice(child + 1) as [string, string];
    await rssChild(warmupKey, key);
  } else {
    await runAlone(bench);
  }
}

/**
 * `skewless backfill <file> --group <g>`: backfills a local file into the offline store the way
 * production does. The file is put into an S3 bucket (the real `@aws-sdk/client-s3`) under
 * `backfill/<group>/<name>`, and the bucket's `ObjectCreated` notification invokes the backfill
 * handler with the real S3 event; the command shows progress and prints the report.
 *
 * - With a running `npm start` (found in `<data dir>/endpoints.json`, or `--s3-endpoint`): the
 *   file goes into that stack's local S3 and the stack's handler does the work; progress comes
 *   from the backfill's checkpoints.
 * - Otherwise the command runs the stack it needs in-process: the embedded store on
 *   `<data dir>/store` (or `--endpoint`), a local S3 on `<data dir>/s3`, and the handler, with
 *   continuations delivered in-process; progress comes from the handler itself.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  GetObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { Context, S3Event, SQSEvent } from 'aws-lambda';
import { type Command, InvalidArgumentError } from 'commander';
import { asyncBufferFromFile } from 'hyparquet';
import type { ContinuationQueue } from '../../shared/backfill/continuation.ts';
import { DERIVE_FOLDER } from '../../shared/backfill/derivedSource.ts';
import {
  DropKind,
  parseDropKey,
  reportKeys,
  SUPPORTED_EXTENSIONS,
} from '../../shared/backfill/objectKey.ts';
import { reportTime } from '../../shared/backfill/reportTime.ts';
import { rowlessReason } from '../../shared/backfill/rowlessFile.ts';
import type { BackfillProgress } from '../../shared/backfill/runBackfill.ts';
import { readState } from '../../shared/backfill/stateStore.ts';
import type { BackfillReport, SourceObject } from '../../shared/backfill/types.ts';
import { featureGroups } from '../../shared/definitions.ts';
import { derivedRegistry } from '../../shared/derivedRegistry.ts';
import { registry } from '../../shared/registry.ts';
import { makeDirectory } from '../../shared/runtime/makeDirectory.ts';
import type { FeatureGroup } from '../../shared/schema/index.ts';
import { forcedQuitLine, onStopSignals, quitStoresNow, signalExitCode } from '../forcedQuit.ts';
import { type LocalS3, startLocalS3 } from '../s3/index.ts';
import { ensureFeatureGroups } from '../setup/ensureFeatureGroups.ts';
import { resumeUnfinishedBackfills } from '../setup/resumeBackfills.ts';
import { offlineStoreMounts, START_DEFAULTS } from '../startDefaults.ts';
import { type RunningStore, startStore } from '../store/index.ts';
import { COMMAND_DESCRIPTIONS } from './descriptions.ts';
import { LOCAL_AWS_ENV, runningEndpoints } from './endpoints.ts';
import { flushed } from './flushed.ts';
import { directoryPath, httpUrl, positiveInteger, storeUrl } from './parsers.ts';
import {
  dataDirError,
  debugRequested,
  listenerStartError,
  systemError,
  UserError,
} from './userErrors.ts';

/** The options every drop command has (`withDropOptions`). */
interface DropCliOptions {
  readonly group: string;
  readonly key?: string;
  readonly dataDir: string;
  readonly s3Endpoint?: string;
  readonly endpoint?: string;
  readonly bucket: string;
  readonly reportsBucket: string;
  readonly timeout: number;
  readonly json: boolean;
  readonly progress: boolean;
}

interface BackfillCliOptions extends DropCliOptions {
  /** Derived mode: the file is the group's raw event history (docs/derived-features.md). */
  readonly derive?: boolean;
}

/** Where the command writes: replaceable in tests. */
interface BackfillIo {
  readonly out: { write(text: string): unknown };
  readonly err: { write(text: string): unknown; readonly isTTY?: boolean };
}

/** A drop's report (undefined: not finished in time) and where its outputs are. */
interface DropOutcome {
  readonly report: BackfillReport | undefined;
  readonly where: OutputLocations;
  /** Set when Ctrl-C (or SIGTERM) stopped an in-process drop at a checkpoint: its counts so far. */
  readonly interrupted?: {
    readonly rowsWritten: number;
    readonly rowsRejected: number;
    /** The signal that stopped it: the exit code is 128 + its number. */
    readonly signal: NodeJS.Signals;
  };
}

/** What tells `backfill` and `batch` apart when a drop runs. */
interface DropCommand {
  /** Progress label, e.g. `backfill`. */
  readonly label: string;
  /** What the running stack does with the file, e.g. `backfilling`. */
  readonly doing: string;
  /** The drop in the "did not finish" line, e.g. `backfill of backfill/fraud-cards/x.csv`. */
  readonly title: string;
  summary(report: BackfillReport, where: OutputLocations): string;
  /** The drop run in this process, when no stack runs. */
  inProcess(): Promise<DropOutcome>;
  /** A dry run: it writes nothing, so Ctrl-C leaves nothing to resume. */
  readonly dryRun?: boolean;
}

const POLL_INTERVAL_MS = 500;

/** A data dir whose store another process holds (`skewless store`, a stack started elsewhere). */
const IN_USE_HINT =
  'stop that process, pass --endpoint <url> of the store it runs to write through it, or pass --data-dir <another dir>';

/** What to do about a file without rows (0 bytes, or a header and nothing after it). */
const NO_ROWS_HINT =
  'check the export that wrote it: a drop needs rows (CSV: a header row, then rows)';

/**
 * Refuses a path that is not a file with rows: missing, a directory (whose read stream would
 * fail with an unhandled EISDIR after the upload began) or empty (0 bytes: a failed export,
 * which would otherwise be dropped and reported as 0 rows written, exit 0). A file with bytes but
 * no rows is {@link checkHasRows}'s.
 */
function checkInputFile(file: string): void {
  const stat = statSync(file, { throwIfNoEntry: false });
  if (stat === undefined) {
    throw new UserError(
      `no such file: ${file}`,
      `the path is relative to ${process.cwd()}; check its spelling`
    );
  }
  if (!stat.isFile()) {
    throw new UserError(
      `not a file: ${file} is a ${stat.isDirectory() ? 'directory' : 'special file'}`,
      'give one file; for several, run the command once per file (each is a drop of its own)'
    );
  }
  if (stat.size === 0) {
    throw new UserError(`the file ${file} is empty (0 bytes)`, NO_ROWS_HINT);
  }
}

/**
 * Refuses a file that has bytes but no data row (a CSV header and nothing after it, a Parquet
 * file of 0 rows), like an empty one: dropped, it would be reported as 0 of 0 rows written, exit
 * 0. Reads its first row or its Parquet footer only. A file the readers refuse goes on: its
 * report says why, as for a file dropped into the bucket.
 */
async function checkHasRows(
  file: string,
  key: string,
  kind: DropKind,
  group: FeatureGroup
): Promise<void> {
  const { format, compression } = parseDropKey(key, kind) ?? {};
  if (format === undefined || compression === undefined) return;
  const reason = await rowlessReason(
    { bytes: () => createReadStream(file), buffer: () => asyncBufferFromFile(file) },
    format,
    compression,
    group
  );
  if (reason !== undefined) {
    throw new UserError(`the file ${file} has no rows (${reason})`, NO_ROWS_HINT);
  }
}

/**
 * Refuses an object name whose ending selects no format, before anything is uploaded: the handler
 * would fail the drop with the same reason, after starting a stack and logging an error line.
 */
function checkDropFormat(key: string, kind: DropKind): void {
  // `--key` names an object below the group's folder: `..` or empty segments would climb out of
  // it in the reports copied under <data dir>/reports/ (and make an odd S3 key).
  const segments = key.split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new InvalidArgumentError(
      `${key}: the object name (--key) may not have empty, "." or ".." path segments`
    );
  }
  if (parseDropKey(key, kind)?.format === undefined) {
    throw new InvalidArgumentError(
      `${key}: unsupported file extension: use ${SUPPORTED_EXTENSIONS.join(', ')} (--key <name> names the object)`
    );
  }
}

function s3Client(endpoint: string): Promise<S3Client> {
  return import('../../shared/backfill/dependencies.ts').then(({ createBackfillS3Client }) => {
    process.env.AWS_ENDPOINT_URL_S3 = endpoint;
    return createBackfillS3Client();
  });
}

/**
 * The progress display: one line redrawn in place on a terminal, a line per update otherwise.
 *
 * While the drop runs its counts never step back. An invocation counts from the checkpoint it
 * starts at, so the one after a retry (writes that failed: their rows are read again) or after a
 * takeover (an invocation that died after its last checkpoint) reports fewer rows than its
 * predecessor's last progress, until it has read them again; a progress read from S3 may also be
 * an older one (a late write of the previous invocation, a failed read falling back to the
 * checkpoint). Rows read again are no further progress, so each count shown is the highest seen.
 * The report's counts (`end`) are shown as they are: the summary states them.
 *
 * @param written - what the handler's written rows are called (`valid` in a dry run, which writes
 *   nothing)
 */
function progressDisplay(
  io: BackfillIo,
  enabled: boolean,
  label = 'backfill',
  written = 'written'
) {
  const started = performance.now();
  const highest = { rowsRead: 0, rowsWritten: 0, rowsRejected: 0 };
  const draw = (rowsRead: number, rowsWritten: number, rowsRejected: number, note: string) => {
    if (!enabled) return;
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? Math.round(rowsRead / seconds) : 0;
    const line = `${label}: ${rowsRead.toLocaleString('en-US')} rows read, ${rowsWritten.toLocaleString('en-US')} ${written}, ${rowsRejected.toLocaleString('en-US')} rejected (${rate.toLocaleString('en-US')} rows/s, ${seconds.toFixed(1)} s)${note}`;
    io.err.write(io.err.isTTY === true ? `\r\x1b[2K${line}` : `${line}\n`);
  };
  return {
    /** A progress snapshot of the running drop: each count shown is the highest seen. */
    update(rowsRead: number, rowsWritten: number, rowsRejected: number, note = ''): void {
      highest.rowsWritten = Math.max(highest.rowsWritten, rowsWritten);
      highest.rowsRejected = Math.max(highest.rowsRejected, rowsRejected);
      highest.rowsRead = Math.max(
        highest.rowsRead,
        rowsRead,
        highest.rowsWritten + highest.rowsRejected
      );
      // A note describes the counts given ('at the last checkpoint'): not higher ones kept.
      const given =
        rowsRead === highest.rowsRead &&
        rowsWritten === highest.rowsWritten &&
        rowsRejected === highest.rowsRejected;
      draw(highest.rowsRead, highest.rowsWritten, highest.rowsRejected, given ? note : '');
    },
    /** The report's counts, as the summary states them. */
    end(report: Pick<BackfillReport, 'rowsRead' | 'rowsWritten' | 'rowsRejected'>): void {
      draw(report.rowsRead, report.rowsWritten, report.rowsRejected, '');
    },
    done(): void {
      if (enabled && io.err.isTTY === true) io.err.write('\n');
    },
  };
}

/** Where the user finds the rejects and the report. */
interface OutputLocations {
  readonly rejects: string;
  readonly report: string;
}

function summary(report: BackfillReport, where: OutputLocations): string {
  const head =
    report.status === 'completed'
      ? `Backfilled ${report.source.key} into the offline store of ${report.featureGroup}: ${report.rowsWritten.toLocaleString('en-US')} rows written, ${report.rowsRejected.toLocaleString('en-US')} rejected${(report.rowsDuplicate ?? 0) > 0 ? `, ${(report.rowsDuplicate ?? 0).toLocaleString('en-US')} exact duplicates (written once)` : ''} of ${report.rowsRead.toLocaleString('en-US')} (${reportTime(report)}, ${report.resumptions} resumptions)`
      : `Backfill of ${report.source.key} FAILED: ${report.error ?? 'unknown error'}`;
  const errors = report.firstErrors
    .slice(0, 5)
    .map((e) => `\n  row ${e.row}${e.line !== undefined ? ` (line ${e.line})` : ''}: ${e.reason}`)
    .join('');
  const rejects = report.rowsRejected > 0 ? `\n  rejects: ${where.rejects}` : '';
  return `${head}${errors}${rejects}\n  report: ${where.report}\n`;
}

/** The rejects and report in a stack's S3, with the command that reads them. */
function s3Locations(
  source: SourceObject,
  reportsBucket: string,
  endpoint: string
): OutputLocations {
  const keys = reportKeys(source);
  const read = (key: string) =>
    `${LOCAL_AWS_ENV} aws s3 cp s3://${reportsBucket}/${key} - --endpoint-url ${endpoint}`;
  return { rejects: read(keys.rejects), report: read(keys.report) };
}

/**
 * Copies the rejects and report out of the in-process S3 (which stops with the command) into
 * `<data dir>/reports/<same prefix>/`, where `npm start` keeps local reports too.
 */
async function copyOutputs(
  s3: S3Client,
  source: SourceObject,
  reportsBucket: string,
  dataDir: string
): Promise<OutputLocations> {
  const keys = reportKeys(source);
  const dir = join(dataDir, 'reports', keys.prefix);
  makeDirectory(dir);
  const copy = async (key: string, name: string): Promise<string> => {
    const path = join(dir, name);
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: reportsBucket, Key: key }));
      writeFileSync(path, (await out.Body?.transformToString()) ?? '');
    } catch {
      // A resumable failure has no rejects object yet.
    }
    return path;
  };
  return {
    rejects: await copy(keys.rejects, 'rejects.jsonl'),
    report: await copy(keys.report, 'report.json'),
  };
}

/** Puts the file under `backfill/<group>/<name>` and returns the exact version written. */
async function uploadFile(
  s3: S3Client,
  path: string,
  bucket: string,
  key: string
): Promise<SourceObject> {
  const size = statSync(path).size;
  const out = await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: createReadStream(path),
      ContentLength: size,
    })
  );
  return {
    bucket,
    key,
    ...(out.VersionId !== undefined ? { versionId: out.VersionId } : {}),
    etag: (out.ETag ?? '').replace(/"/g, ''),
    size,
  };
}

/** The handler's latest progress snapshot, if it wrote one. */
async function readProgress(
  s3: S3Client,
  bucket: string,
  key: string
): Promise<{ rowsRead: number; rowsWritten: number; rowsRejected: number } | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse((await out.Body?.transformToString()) ?? '') as {
      rowsRead: number;
      rowsWritten: number;
      rowsRejected: number;
    };
  } catch {
    return undefined;
  }
}

/** Polls the backfill's progress and state (checkpoints) until its report is there. */
async function waitForReport(
  s3: S3Client,
  reportsBucket: string,
  source: SourceObject,
  timeoutMs: number,
  display: ReturnType<typeof progressDisplay>,
  stop: { stopped: boolean } = { stopped: false }
): Promise<BackfillReport | undefined> {
  const deadline = Date.now() + timeoutMs;
  const location = { bucket: reportsBucket, key: reportKeys(source).state };
  const progressKey = reportKeys(source).progress;
  while (Date.now() < deadline && !stop.stopped) {
    const current = await readState(s3, location);
    const report = current?.state.report;
    if (report !== undefined) {
      // The last progress line shows the end, not the last poll before it.
      display.end(report);
      return report;
    }
    // Rows move between checkpoints: the handler publishes progress.json as it goes.
    const progress = await readProgress(s3, reportsBucket, progressKey);
    if (progress !== undefined) {
      display.update(progress.rowsRead, progress.rowsWritten, progress.rowsRejected);
    } else if (current !== undefined) {
      const { rowsWritten, rowsRejected, rowsDuplicate = 0 } = current.state;
      display.update(
        rowsWritten + rowsRejected + rowsDuplicate,
        rowsWritten,
        rowsRejected,
        ' (at the last checkpoint)'
      );
    }
    await sleep(POLL_INTERVAL_MS);
  }
  return undefined;
}

/**
 * Refuses a bucket (`--bucket`, `--reports-bucket`) a stack's answering S3 does not have: a drop
 * put nowhere, or a report waited for until `--timeout` (an hour by default) in a bucket the
 * stack never writes.
 *
 * @param names - the buckets the stack's S3 listed
 */
function checkBuckets(
  names: readonly string[],
  endpoint: string,
  buckets: readonly { readonly bucket: string; readonly flag: string }[]
): void {
  for (const { bucket, flag } of buckets) {
    if (names.includes(bucket)) continue;
    throw new UserError(
      `the S3 at ${endpoint} has no bucket ${bucket} (${flag})`,
      `its buckets: ${names.join(', ')} (npm start makes ${START_DEFAULTS.backfillBucket} and ${START_DEFAULTS.reportsBucket}, the defaults)`
    );
  }
}

/** Following a running stack's drop was stopped by this signal; the drop goes on there. */
interface StoppedFollowing {
  readonly stoppedFollowing: NodeJS.Signals;
}

/**
 * Puts the file into a running stack's S3 and follows the report its handler writes. Ctrl-C (or
 * SIGTERM) stops following ({@link StoppedFollowing}), not the drop: the stack goes on, and the
 * command says where the report will be.
 */
async function viaRunningStack(
  file: string,
  key: string,
  options: DropCliOptions,
  s3: S3Client,
  io: BackfillIo,
  endpoint: string,
  command: DropCommand
): Promise<DropOutcome | StoppedFollowing> {
  const display = progressDisplay(io, options.progress, command.label);
  const source = await uploadFile(s3, file, options.bucket, key);
  io.err.write(
    `uploaded to s3://${options.bucket}/${key}; the running stack is ${command.doing} it\n`
  );
  const where = s3Locations(source, options.reportsBucket, endpoint);
  const stop = { stopped: false };
  let stopListening = (): void => {};
  const interrupted = new Promise<StoppedFollowing>((resolve) => {
    stopListening = onStopSignals((signal) => {
      stop.stopped = true;
      resolve({ stoppedFollowing: signal });
    });
  });
  const report = await Promise.race([
    waitForReport(s3, options.reportsBucket, source, options.timeout * 1000, display, stop),
    interrupted,
  ])
    .catch((error: unknown) => {
      // The stack stopped (Ctrl-C in its terminal, a crash) while the command followed it.
      const code = systemError(error)?.code;
      if (code !== 'ECONNREFUSED' && code !== 'ECONNRESET') throw error;
      display.done();
      throw new UserError(
        `the stack at ${endpoint} stopped answering while ${command.doing} ${key} (${code})`,
        `npm start on its data dir resumes the drop from its checkpoint and writes its report to s3://${options.reportsBucket}/${reportKeys(source).report}`,
        { cause: error }
      );
    })
    .finally(() => stopListening());
  display.done();
  if (report !== undefined && 'stoppedFollowing' in report) {
    io.err.write(
      `\nstopped following. The running stack keeps ${command.doing} s3://${options.bucket}/${key}; when it is done, its report is at:\n  ${where.report}\n  (rejects: ${where.rejects})\n`
    );
    return report;
  }
  return { report, where };
}

/** A drop's function, built in this process once its local S3 answers. */
interface InProcessFunction {
  readonly handler: (event: S3Event | SQSEvent, context: Context) => Promise<unknown>;
  /** Its in-process continuation queue (the SQS queue of the template). */
  readonly continuations: ContinuationQueue & {
    deliverTo(handler: (event: SQSEvent, context: Context) => Promise<unknown>): void;
    idle(): Promise<void>;
    /** Ctrl-C: later continuations are held, not delivered (the state keeps its checkpoint). */
    shutdown(): void;
    reopen(): void;
  };
  /** Name in the Lambda context (logs). */
  readonly functionName: string;
}

interface InProcessDrop {
  readonly file: string;
  readonly key: string;
  readonly bucket: string;
  readonly reportsBucket: string;
  /** `<data dir>`: the store is started on `<data dir>/store` unless `storeEndpoint` is given. */
  readonly dataDir: string;
  readonly storeEndpoint: string | undefined;
  readonly s3DataDir: string;
  /** Where the report and rejects are copied. */
  readonly outputDir: string;
  readonly progress: boolean;
  readonly label?: string;
  /** What the progress calls written rows (default `written`). */
  readonly writtenLabel?: string;
  readonly createFunction: (
    onProgress: (p: BackfillProgress) => void,
    shouldStop: () => boolean
  ) => Promise<InProcessFunction>;
  /**
   * Resume an unfinished drop of the same content under the same key (stopped by Ctrl-C) from its
   * checkpoint instead of uploading the file again, which would start over and write its first
   * rows twice. Off for a dry run (its S3 is thrown away).
   */
  readonly resumable?: boolean;
}

/** The S3 ETag of a file put in one request: the MD5 of its bytes. */
async function md5Of(path: string): Promise<string> {
  const hash = createHash('md5');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * Runs the store (unless given), a local S3 and a drop's function (backfill or batch) in this
 * process: the file is put into the local S3, whose notification invokes the function with the
 * real S3 event, continuations are delivered in-process, and the report is read back.
 */
async function runDropInProcess(drop: InProcessDrop, io: BackfillIo): Promise<DropOutcome> {
  const credentials = {
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_REGION: 'us-east-1',
  };
  for (const [name, value] of Object.entries(credentials)) process.env[name] ??= value;
  let store: RunningStore | undefined;
  let s3: LocalS3 | undefined;
  const display = progressDisplay(io, drop.progress, drop.label, drop.writtenLabel);
  const label = drop.label ?? 'backfill';
  // Ctrl-C (or SIGTERM) stops the drop at its next checkpoint (the part being written finishes),
  // as under `npm start`, so that it can be resumed; a second signal quits at once, releasing the
  // store's lock first (a stale store.lock misleads users and scripts), also of a store still
  // opening, and saying what it left.
  let fn: InProcessFunction | undefined;
  let stoppedBy: NodeJS.Signals | undefined;
  const stopping = () => stoppedBy !== undefined;
  /** The drop's file is in (or going into) the local S3: a quit now cuts it short. */
  let dropUnderWay = false;
  /** The drop is over (done or stopped): the local S3 and the store are closing. */
  let finishing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    const what = signal === 'SIGINT' ? 'Ctrl-C' : signal;
    if (stoppedBy !== undefined) {
      const cutShort = !dropUnderWay
        ? []
        : [
            drop.resumable === true
              ? `the ${label} of ${drop.key} (cut short: the same command run again resumes it from its last checkpoint)`
              : `the ${label} of ${drop.key} (nothing of it kept: run it again)`,
          ];
      const unfinished = [...cutShort, ...quitStoresNow()];
      io.err.write(`\n${forcedQuitLine(`${label}: ${what}`, unfinished)}\n`);
      process.exit(signalExitCode(signal));
    }
    stoppedBy = signal;
    fn?.continuations.shutdown();
    io.err.write(
      `\n${label}: ${signal === 'SIGINT' ? '' : `${signal}: `}${finishing ? 'finishing: closing the local S3 and the store' : 'stopping at the next checkpoint'} (Ctrl-C again quits at once)\n`
    );
  };
  const stopListening = onStopSignals(onSignal);
  try {
    let storeEndpoint = drop.storeEndpoint;
    if (storeEndpoint === undefined) {
      const storeDir = join(drop.dataDir, 'store');
      store = await startStore({ port: 0, dataDir: storeDir, logLevel: 'warn' }).catch(
        (error: unknown) => {
          throw listenerStartError(error, [], storeDir, IN_USE_HINT);
        }
      );
      storeEndpoint = store.endpoint;
    }
    const sagemaker = new SageMakerClient({ endpoint: storeEndpoint });
    await ensureFeatureGroups(sagemaker, featureGroups, {
      // Served by the local S3 below from the store's offline files (offlineStoreMounts).
      offlineS3Uri: START_DEFAULTS.offlineS3Uri,
      roleArn: 'arn:aws:iam::000000000000:role/skewless-local-offline-store',
    });
    sagemaker.destroy();

    // The handler reads its configuration from the environment, as on Lambda.
    process.env.AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME = storeEndpoint;
    process.env.AWS_ENDPOINT_URL_SAGEMAKER = storeEndpoint;
    process.env.REPORTS_BUCKET = drop.reportsBucket;
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    // As under `npm start`: the handler's Powertools JSON lines stay quiet (the command prints the
    // report, failures included); --debug shows them.
    process.env.POWERTOOLS_LOG_LEVEL ??= debugRequested(process.argv.slice(2)) ? 'DEBUG' : 'SILENT';
    delete process.env.CONTINUATION_QUEUE_URL;
    const { localContext } = await import('../../shared/backfill/continuation.ts');
    let invocationError: unknown;
    s3 = await startLocalS3({
      port: 0,
      dataDir: drop.s3DataDir,
      buckets: [{ name: drop.bucket, versioning: true }, drop.reportsBucket],
      // With the embedded store in this process, its offline files are writable through S3.
      ...(store !== undefined ? { mounts: offlineStoreMounts(join(drop.dataDir, 'store')) } : {}),
      onObjectCreated: async (event) => {
        const record = event.Records[0];
        if (fn === undefined || record?.s3.bucket.name !== drop.bucket) return;
        try {
          await fn.handler(event, localContext(900_000, fn.functionName));
        } catch (error) {
          invocationError = error;
        }
      },
    }).catch((error: unknown) => {
      throw dataDirError(error, drop.dataDir);
    });
    process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
    fn = await drop.createFunction(
      (p) => display.update(p.rowsRead, p.rowsWritten, p.rowsRejected),
      stopping
    );
    fn.continuations.deliverTo(fn.handler);
    // The queue is one per process: a drop stopped earlier in this process closed it. A Ctrl-C
    // that came before the function existed closes it now (no continuation after the stop).
    if (stopping()) fn.continuations.shutdown();
    else fn.continuations.reopen();

    const client = await s3Client(s3.endpoint);
    // The file is hashed only when an unfinished drop of its size is under the key: most runs
    // have none, and hashing reads the whole file once more before the upload reads it again.
    let md5: Promise<string> | undefined;
    const size = statSync(drop.file).size;
    dropUnderWay = true;
    const resumed =
      drop.resumable !== true
        ? []
        : await resumeUnfinishedBackfills(client, drop.reportsBucket, fn.continuations, {
            prefix: `${drop.key}/`,
            accept: async (source) => {
              if (source.size !== size) return false;
              md5 ??= md5Of(drop.file);
              return source.etag === (await md5);
            },
            // Run again after a resumable failure (its cause fixed): on AWS, the continuation
            // message with "resume": true; here, the same command.
            failedToo: true,
          });
    const source =
      resumed[0]?.source ?? (await uploadFile(client, drop.file, drop.bucket, drop.key));
    if (resumed[0] !== undefined) {
      io.err.write(
        `resuming the ${resumed[0].failed ? 'failed ' : ''}${label} of ${drop.key} (same content) from its checkpoint, not from its first row\n`
      );
    }
    await s3.settled();
    await fn.continuations.idle();
    display.done();
    if (invocationError !== undefined) throw invocationError;
    const report = await waitForReport(
      client,
      drop.reportsBucket,
      source,
      1_000,
      progressDisplay(io, false)
    );
    // Over (done, or failed with its report): a quit from here on cuts nothing short.
    if (report !== undefined) dropUnderWay = false;
    const where = await copyOutputs(client, source, drop.reportsBucket, drop.outputDir);
    let interrupted: DropOutcome['interrupted'];
    if (report === undefined && stoppedBy !== undefined) {
      const state = (
        await readState(client, { bucket: drop.reportsBucket, key: reportKeys(source).state })
      )?.state;
      interrupted = {
        rowsWritten: state?.rowsWritten ?? 0,
        rowsRejected: state?.rowsRejected ?? 0,
        signal: stoppedBy,
      };
    }
    client.destroy();
    return { report, where, ...(interrupted !== undefined ? { interrupted } : {}) };
  } finally {
    // The listeners stay on while the servers close (the S3's grace, the store's flush): a signal
    // then would otherwise meet Node's default and leave store.lock.
    finishing = true;
    try {
      await s3?.close();
      await store?.close();
    } finally {
      stopListening();
    }
  }
}

/**
 * The command's work, separated from commander for tests. Returns the exit code: 0 when the file
 * was backfilled (rejected rows included), 1 when the backfill failed, 3 when it did not finish
 * within `--timeout`, 130 (143) when Ctrl-C (SIGTERM) stopped following a running stack (the backfill goes on).
 */
async function runBackfillCommand(
  file: string,
  options: BackfillCliOptions,
  io: BackfillIo
): Promise<number> {
  const group = registry.getExternalGroup(options.group);
  checkInputFile(file);
  if (options.derive === true && derivedRegistry.forGroup(group.name) === undefined) {
    throw new InvalidArgumentError(
      `${group.name} has no derived features in shared/definitions.ts`
    );
  }
  const folder = options.derive === true ? DERIVE_FOLDER : '';
  const key = `backfill/${group.name}/${folder}${options.key ?? basename(file)}`;
  checkDropFormat(key, DropKind.Backfill);
  await checkHasRows(file, key, DropKind.Backfill, group);
  return runDrop(file, key, options, io, {
    label: 'backfill',
    doing: 'backfilling',
    title: `backfill of ${key}`,
    summary,
    inProcess: () =>
      runDropInProcess(
        {
          file,
          key,
          bucket: options.bucket,
          reportsBucket: options.reportsBucket,
          dataDir: options.dataDir,
          storeEndpoint: options.endpoint,
          s3DataDir: join(options.dataDir, 's3'),
          outputDir: options.dataDir,
          progress: options.progress,
          resumable: true,
          createFunction: async (onProgress, shouldStop) => {
            const { createBackfillHandler } = await import('../../functions/backfill/index.ts');
            const { loadBackfillConfig, inProcessContinuations } = await import(
              '../../shared/backfill/index.ts'
            );
            return {
              handler: createBackfillHandler({
                config: { ...loadBackfillConfig(), progressEveryMs: 500 },
                onProgress,
                shouldStop,
              }),
              continuations: inProcessContinuations,
              functionName: 'BackfillFunction',
            };
          },
        },
        io
      ),
  });
}

/**
 * Says, before a drop runs in this process, why no running stack takes it and which store gets
 * it: run from another directory than the stack's, the rows would otherwise land unseen in a
 * store of their own.
 *
 * @param staleEndpoint - the endpoint `<data dir>/endpoints.json` names when it did not answer
 */
function noteInProcess(
  io: BackfillIo,
  label: string,
  dataDir: string,
  storeEndpoint: string | undefined,
  staleEndpoint?: string
): void {
  const why =
    staleEndpoint === undefined
      ? `no running stack in ${dataDir} (no endpoints.json)`
      : `the stack of ${join(dataDir, 'endpoints.json')} does not answer at ${staleEndpoint}`;
  const store =
    storeEndpoint === undefined ? `in ${join(dataDir, 'store')}` : `at ${storeEndpoint}`;
  io.err.write(`${why}: running the ${label} in this process, on the store ${store}\n`);
}

/**
 * A drop through a running stack when its S3 answers (`--s3-endpoint`, or the one in
 * `<data dir>/endpoints.json`), else in this process; then the report. Returns the exit code:
 * 0 when the drop was applied (rejected rows included), 1 when it failed, 3 when a running stack
 * did not finish it within `--timeout`, 130 (143) when Ctrl-C (SIGTERM) stopped following it (the drop goes on).
 */
async function runDrop(
  file: string,
  key: string,
  options: DropCliOptions,
  io: BackfillIo,
  command: DropCommand
): Promise<number> {
  const endpoint = options.s3Endpoint ?? runningEndpoints(options.dataDir).s3;
  const client = endpoint === undefined ? undefined : await s3Client(endpoint);
  let outcome: DropOutcome | StoppedFollowing;
  let ranByStack = false;
  try {
    // A stack's S3 answers when it lists its buckets; then the command's must be among them.
    const names =
      client === undefined
        ? undefined
        : await client.send(new ListBucketsCommand({})).then(
            (listed) =>
              (listed.Buckets ?? []).flatMap((b) => (b.Name === undefined ? [] : [b.Name])),
            () => undefined
          );
    ranByStack = client !== undefined && endpoint !== undefined && names !== undefined;
    if (client !== undefined && endpoint !== undefined && names !== undefined) {
      checkBuckets(names, endpoint, [
        { bucket: options.bucket, flag: '--bucket' },
        { bucket: options.reportsBucket, flag: '--reports-bucket' },
      ]);
      outcome = await viaRunningStack(file, key, options, client, io, endpoint, command);
    } else {
      if (options.s3Endpoint !== undefined) {
        throw new InvalidArgumentError(
          `no S3 answers at ${options.s3Endpoint} with bucket ${options.bucket}`
        );
      }
      noteInProcess(io, command.label, options.dataDir, options.endpoint, endpoint);
      outcome = await command.inProcess();
    }
  } finally {
    client?.destroy();
  }
  return 'stoppedFollowing' in outcome
    ? signalExitCode(outcome.stoppedFollowing)
    : finishDrop(outcome, options, io, command, !ranByStack);
}

/**
 * Exit code of a drop a running stack did not finish within `--timeout` (it goes on there). Not 2:
 * that is every command's code for an unexpected error, which a script must tell apart.
 */
const EXIT_NOT_FINISHED = 3;

/**
 * Prints a drop's report (or that it did not finish in time) and returns the exit code.
 *
 * @param inProcess - the drop ran in this process (no running stack): the same command run again
 *   resumes a resumable failure, where a running stack would take the file as a new drop
 */
async function finishDrop(
  { report, where, interrupted }: DropOutcome,
  options: DropCliOptions,
  io: BackfillIo,
  command: DropCommand,
  inProcess: boolean
): Promise<number> {
  if (interrupted !== undefined) {
    await flushed(io.err);
    io.err.write(
      command.dryRun === true
        ? `${command.label}: interrupted: nothing was written\n`
        : `${command.title} interrupted at a checkpoint: ${interrupted.rowsWritten.toLocaleString('en-US')} rows written, ${interrupted.rowsRejected.toLocaleString('en-US')} rejected so far; run the same command again to resume from there (npm start on this data dir resumes it too)\n`
    );
    return signalExitCode(interrupted.signal);
  }
  if (report === undefined) {
    io.err.write(
      `${command.title} did not finish within ${options.timeout} s; it goes on in the running stack\n`
    );
    return EXIT_NOT_FINISHED;
  }
  // The report follows the progress lines even when both streams share a slow pipe.
  await flushed(io.err);
  io.out.write(
    options.json ? `${JSON.stringify(report, null, 2)}\n` : command.summary(report, where)
  );
  // The report's way to resume is the AWS one (a continuation message); say the local one.
  if (
    report.status !== 'completed' &&
    report.resumable === true &&
    command.dryRun !== true &&
    !options.json
  ) {
    io.out.write(
      `  to resume from the checkpoint once the cause is fixed: ${inProcess ? 'run the same command again' : 'stop the stack (Ctrl-C), then run the same command again: it resumes in this process (sent to the running stack, the file would start over)'}\n`
    );
  }
  return report.status === 'completed' ? 0 : 1;
}

/**
 * Registers `skewless backfill`.
 *
 * @example
 * ```typescript
 * import { Command } from 'commander';
 * import { registerBackfillCommand } from './local/cli/backfill.ts';
 * const program = new Command();
 * registerBackfillCommand(program);
 * await program.parseAsync(['node', 'skewless', 'backfill', 'cards.csv', '--group', 'fraud-cards']);
 * ```
 */
function registerBackfillCommand(program: Command): void {
  const command = program
    .command('backfill')
    .description(COMMAND_DESCRIPTIONS.backfill)
    .argument('<file>', `the file: ${SUPPORTED_EXTENSIONS.join(', ')}`)
    .requiredOption('--group <name>', 'feature group (shared/definitions.ts)')
    .option('--key <name>', 'object name under backfill/<group>/ (default: the file name)')
    .option(
      '--derive',
      "the file is the group's raw event history: compute its derived features in event-time order (uploaded under backfill/<group>/derive/)",
      false
    );
  withDropOptions(command, 'the embedded store').action(
    async (file: string, opts: BackfillCliOptions) => {
      process.exitCode = await runBackfillCommand(file, opts, {
        out: process.stdout,
        err: process.stderr,
      });
    }
  );
}

/**
 * The options `backfill` and `batch` share: where the local stack is, the buckets, how long to
 * wait for a running stack, and the output.
 *
 * @param embeddedEndpoint - what `--endpoint` defaults to when the command runs in-process
 */
function withDropOptions(command: Command, embeddedEndpoint: string): Command {
  return command
    .option(
      '--data-dir <dir>',
      'data directory of the local stack',
      directoryPath,
      START_DEFAULTS.dataDir
    )
    .option(
      '--s3-endpoint <url>',
      'S3 of a running npm start (default: found in <data dir>/endpoints.json)',
      httpUrl(`http://127.0.0.1:${START_DEFAULTS.s3Port}`)
    )
    .option(
      '--endpoint <url>',
      `feature store endpoint when running in-process (default: ${embeddedEndpoint})`,
      storeUrl
    )
    .option('--bucket <name>', 'bucket of the drops', START_DEFAULTS.backfillBucket)
    .option('--reports-bucket <name>', 'reports bucket', START_DEFAULTS.reportsBucket)
    .option(
      '--timeout <seconds>',
      'how long to wait for a running stack to finish (then exit code 3; the drop goes on)',
      positiveInteger,
      3600
    )
    .option('--json', 'print the report as JSON', false)
    .option('--no-progress', 'no progress display on stderr');
}

export type {
  BackfillCliOptions,
  BackfillIo,
  DropCliOptions,
  DropCommand,
  DropOutcome,
  OutputLocations,
};
export {
  checkDropFormat,
  checkHasRows,
  checkInputFile,
  copyOutputs,
  finishDrop,
  noteInProcess,
  progressDisplay,
  registerBackfillCommand,
  runBackfillCommand,
  runDrop,
  runDropInProcess,
  s3Client,
  s3Locations,
  uploadFile,
  waitForReport,
  withDropOptions,
};

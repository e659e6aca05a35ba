import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { BatchRowSink } from '../batch/batchRowSink.ts';
import { formatProblem, type RecordProblem } from '../errors.ts';
import {
  encodeRecord,
  jsonInputProblems,
  parquetInputProblems,
  wireInput,
} from '../record/codec.ts';
import { DEFAULT_MAX_EVENT_TIME_SKEW_SECONDS, type EventTimeBound } from '../record/eventTime.ts';
import { registry } from '../registry.ts';
import type { LogSink } from '../runtime/powertools.ts';
import type { FeatureGroup } from '../schema/index.ts';
import type { BackfillConfig } from './config.ts';
import type { ContinuationQueue } from './continuation.ts';
import { derivedDefinitionOf, derivedRowSource } from './derivedSource.ts';
import type { DirectWrites } from './directSink.ts';
import {
  DROP_PREFIX,
  DropKind,
  parseDropKey,
  reportKeys,
  SUPPORTED_EXTENSIONS,
} from './objectKey.ts';
import { chooseOfflineTarget, type DescribedGroup, type OfflineTarget } from './offlineTarget.ts';
import { openParquetSource } from './parquetRows.ts';
import { OfflineRecordSink } from './recordSink.ts';
import { RejectsWriter } from './rejects.ts';
import { FileRejectedError, type RowSource, type SourceRow } from './rowSource.ts';
import { RowWindow } from './rowWindow.ts';
import {
  OfflineStoreNotWritableError,
  type RowSink,
  type SinkEvents,
  StoreRefusedError,
  WriteMode,
} from './sink.ts';
import {
  headSource,
  SourceUnavailableError,
  sourceAsyncBuffer,
  sourceBytes,
} from './sourceObject.ts';
import {
  createState,
  readState,
  replaceState,
  StateConflictError,
  type VersionedState,
  writeReport,
} from './stateStore.ts';
import { openCsvSource, openJsonLinesSource } from './textRows.ts';
import {
  type BackfillReport,
  type BackfillState,
  BackfillStatus,
  Compression,
  type ContinuationMessage,
  type FirstError,
  type RejectLine,
  SourceFormat,
  type SourceObject,
} from './types.ts';

/** Metric names (the template's dashboard reads RowsWritten, RowsRejected and Resumptions). */
const BackfillMetric = {
  RowsWritten: 'RowsWritten',
  RowsRejected: 'RowsRejected',
  RowsPerSecond: 'RowsPerSecond',
  Resumptions: 'Resumptions',
  DuplicateEvents: 'DuplicateEvents',
  /** S3 event records that name no file to read (a folder marker, another prefix, a test event). */
  EventsIgnored: 'BackfillEventsIgnored',
  FilesCompleted: 'BackfillFilesCompleted',
  FilesFailed: 'BackfillFilesFailed',
} as const;

/**
 * The same metrics for batch drops, named apart: both functions publish to one namespace, and
 * the dashboard and alarms must not mix backfill rows with rows that reached the online store.
 */
const BatchMetric = {
  RowsWritten: 'BatchRowsWritten',
  RowsRejected: 'BatchRowsRejected',
  RowsPerSecond: 'BatchRowsPerSecond',
  Resumptions: 'BatchResumptions',
  DuplicateEvents: 'BatchDuplicateEvents',
  EventsIgnored: 'BatchEventsIgnored',
  FilesCompleted: 'BatchFilesCompleted',
  FilesFailed: 'BatchFilesFailed',
  OnlineChanged: 'BatchOnlineValuesChanged',
  OnlineUnchanged: 'BatchOnlineValuesUnchanged',
  OnlineStayed: 'BatchOnlineValuesStayed',
} as const;

function metricNames(deps: BackfillDependencies): Record<keyof typeof BackfillMetric, string> {
  return deps.kind === DropKind.Batch ? BatchMetric : BackfillMetric;
}

/** What the backfill needs from Powertools Metrics (a narrow type: tests pass a plain object). */
interface MetricsSink {
  addMetric(name: string, unit: 'Count' | 'Count/Second', value: number): void;
}

/** A progress snapshot, logged every N rows / seconds and given to `onProgress`. */
interface BackfillProgress {
  readonly source: SourceObject;
  readonly featureGroup: string;
  readonly rowsRead: number;
  readonly rowsWritten: number;
  readonly rowsRejected: number;
  /** Exact repeats of an earlier row (derived backfills write each event once). */
  readonly rowsDuplicate: number;
  readonly rowsPerSecond: number;
  readonly invocation: number;
}

/** Everything the backfill talks to, built once per container by the handler. */
interface BackfillDependencies {
  readonly s3: S3Client;
  readonly featureStore: SageMakerFeatureStoreRuntimeClient;
  readonly continuations: ContinuationQueue;
  readonly config: BackfillConfig;
  readonly logger: LogSink;
  readonly metrics: MetricsSink;
  /** Clock (epoch ms); tests inject one. */
  readonly now?: () => number;
  /** Called with every progress snapshot (the CLI draws its progress line from it). */
  readonly onProgress?: (progress: BackfillProgress) => void;
  /**
   * Asked before every row: true stops the invocation as if its time ran out (checkpoint, lease
   * released). `npm start` sets it on Ctrl-C so a running backfill ends honestly before the local
   * S3 stops.
   */
  readonly shouldStop?: () => boolean;
  /** Called with the report when a backfill ends (`npm start` logs a line). */
  readonly onFinished?: (report: BackfillReport) => void;
  /**
   * Direct mode (Parquet straight into the offline store): the backfill function's
   * (`directWrites` of directSink.ts). Without it every backfill writes records.
   */
  readonly directWrites?: DirectWrites;
  /** DescribeFeatureGroup (default: `directWrites`'); tests inject answers. */
  readonly describeGroup?: (name: string) => Promise<DescribedGroup>;
  /**
   * The drops this function takes (default `backfill`): `batch` for the batch function, which
   * writes both stores and accepts batch-fed groups only. Fixed by the function's code, never
   * by configuration, so neither function can take the other's drops.
   */
  readonly kind?: DropKind;
  /** Batch drops only: read and count, write nothing (`skewless batch --dry-run`). */
  readonly dryRun?: boolean;
}

/** The invocation a backfill runs in. */
interface InvocationBudget {
  /** Lambda request id: the lease owner. */
  readonly requestId: string;
  /** `context.getRemainingTimeInMillis`. */
  readonly remainingMs: () => number;
}

/** How an event ended for one file. */
type BackfillOutcome =
  | { readonly kind: 'completed' | 'failed'; readonly report: BackfillReport }
  /** Stopped before the time ran out (or writes kept failing); a continuation was sent. */
  | { readonly kind: 'checkpointed'; readonly rowsDone: number }
  /** A repeated event for a version already claimed: nothing written. */
  | { readonly kind: 'duplicate'; readonly status: string }
  /** Another invocation holds the lease, or the message is stale: nothing written. */
  | { readonly kind: 'skipped'; readonly reason: string }
  /** Not a backfill file (outside `backfill/<group>/`). */
  | { readonly kind: 'ignored'; readonly reason: string };

/** Leases are taken over only this long after they ran out (clock skew between hosts). */
const LEASE_GRACE_MS = 5_000;
const MAX_RETRY_DELAY_SECONDS = 900;

function reportOf(
  state: BackfillState,
  status: 'completed' | 'failed',
  finishedAt: number,
  reportsBucket: string,
  error?: string,
  dryRun = false,
  rowsNotWritten = 0
): BackfillReport {
  const rowsDuplicate = state.rowsDuplicate ?? 0;
  const rowsRead = state.rowsWritten + state.rowsRejected + rowsDuplicate + rowsNotWritten;
  return {
    status,
    featureGroup: state.featureGroup,
    format: state.format,
    compression: state.compression,
    rowsRead,
    rowsWritten: state.rowsWritten,
    rowsRejected: state.rowsRejected,
    ...(rowsDuplicate > 0 ? { rowsDuplicate } : {}),
    ...(rowsNotWritten > 0 ? { rowsNotWritten } : {}),
    ...(state.writeMode !== undefined ? { writeMode: state.writeMode } : {}),
    ...(state.onlineValues !== undefined ? { onlineValues: state.onlineValues } : {}),
    ...(dryRun ? { dryRun: true } : {}),
    durationMs: Math.max(0, finishedAt - Date.parse(state.startedAt)),
    activeMs: state.activeMs,
    rowsPerSecond: state.activeMs > 0 ? Math.round((rowsRead / state.activeMs) * 1000) : 0,
    firstErrors: state.firstErrors,
    resumptions: state.resumptions,
    invocations: state.invocations,
    source: {
      bucket: state.source.bucket,
      key: state.source.key,
      versionId: state.source.versionId ?? null,
      etag: state.source.etag,
    },
    rejects: { bucket: reportsBucket, key: reportKeys(state.source).rejects },
    startedAt: state.startedAt,
    finishedAt: new Date(finishedAt).toISOString(),
    ...(error !== undefined ? { error } : {}),
    ...(state.resumable === true ? { resumable: true } : {}),
  };
}

/** zlib's data errors (`Z_DATA_ERROR`, `Z_BUF_ERROR` for a truncated file): the file is bad. */
function isCorruptGzip(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * A row's problems worded for the writer of its file: an Integral number beyond ±(2^53 − 1) is,
 * in JSON Lines, not shown as the value JSON.parse rounded it to (send a string of its digits),
 * and in Parquet, a DOUBLE or FLOAT cell (write the column as INT64). CSV text is read exactly.
 */
function problemsWordedFor(
  format: SourceFormat | undefined,
  problems: readonly RecordProblem[]
): readonly RecordProblem[] {
  if (format === SourceFormat.JsonLines) return jsonInputProblems(problems);
  if (format === SourceFormat.Parquet) return parquetInputProblems(problems);
  return problems;
}

function problemText(problems: readonly RecordProblem[]): string {
  return problems.map(formatProblem).join('; ');
}

/**
 * Why a backfill the store refused failed, in one line: what was refused and the code, the first
 * row of the file it refused, what to check, and how to go on once fixed.
 */
function refusalReason(
  error: StoreRefusedError,
  place: { readonly fileRow: number; readonly line?: number }
): string {
  const line = place.line !== undefined ? ` (line ${place.line})` : '';
  return `${error.message}, from row ${place.fileRow}${line}: no retry changes that answer; ${error.hint}. The checkpoint is kept: once fixed, send a continuation message with "resume": true to go on (the rejects so far are written when it completes)`;
}

/**
 * One backfill, run by the invocation holding its lease. Holds the state, the row window, the
 * writes in flight and the rejects, and decides how the invocation ends.
 */
class LeasedBackfill {
  private readonly deps: BackfillDependencies;
  private readonly now: () => number;
  private readonly locations: {
    state: { bucket: string; key: string };
    report: { bucket: string; key: string };
  };
  private state: BackfillState;
  private etag: string;
  private saving: Promise<void> = Promise.resolve();
  private readonly startedAt: number;
  private readonly deadline: number;
  private readonly isResumption: boolean;
  private readonly activeMsBefore: number;
  private readonly onlineValuesBefore: { changed: number; unchanged: number; stayed: number };
  /**
   * Far-future event times are rejected against the backfill's start (`state.startedAt`), not the
   * invocation's clock: every invocation, and the derived replay, reject the same rows.
   */
  private readonly eventTimeBound: EventTimeBound;
  private rowsThisInvocation = 0;
  private writtenThisInvocation = 0;
  private rejectedThisInvocation = 0;

  constructor(
    deps: BackfillDependencies,
    leased: VersionedState,
    budget: InvocationBudget,
    isResumption: boolean
  ) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    this.state = leased.state;
    this.etag = leased.etag;
    this.isResumption = isResumption;
    this.activeMsBefore = leased.state.activeMs;
    this.onlineValuesBefore = leased.state.onlineValues ?? { changed: 0, unchanged: 0, stayed: 0 };
    this.startedAt = this.now();
    const backfillStart = Date.parse(leased.state.startedAt);
    this.eventTimeBound = {
      maxSkewSeconds: deps.config.maxEventTimeSkewSeconds ?? DEFAULT_MAX_EVENT_TIME_SKEW_SECONDS,
      now: () => (Number.isFinite(backfillStart) ? backfillStart : this.startedAt),
    };
    const remaining = budget.remainingMs();
    this.deadline = this.startedAt + remaining - deps.config.timeMarginMs;
    const keys = reportKeys(this.state.source);
    this.locations = {
      state: { bucket: deps.config.reportsBucket, key: keys.state },
      report: { bucket: deps.config.reportsBucket, key: keys.report },
    };
  }

  /** Processing time of earlier invocations plus this one's so far. */
  private activeMs(): number {
    return this.activeMsBefore + (this.now() - this.startedAt);
  }

  private emitMetrics(): void {
    const { metrics } = this.deps;
    const names = metricNames(this.deps);
    const seconds = (this.now() - this.startedAt) / 1000;
    metrics.addMetric(names.RowsWritten, 'Count', this.writtenThisInvocation);
    metrics.addMetric(names.RowsRejected, 'Count', this.rejectedThisInvocation);
    metrics.addMetric(
      names.RowsPerSecond,
      'Count/Second',
      seconds > 0 ? this.rowsThisInvocation / seconds : 0
    );
    metrics.addMetric(names.Resumptions, 'Count', this.isResumption ? 1 : 0);
    const online = this.state.onlineValues;
    if (online !== undefined) {
      // This invocation's share: the checkpointed counts minus those it started from.
      const before = this.onlineValuesBefore;
      metrics.addMetric(BatchMetric.OnlineChanged, 'Count', online.changed - before.changed);
      metrics.addMetric(BatchMetric.OnlineUnchanged, 'Count', online.unchanged - before.unchanged);
      metrics.addMetric(BatchMetric.OnlineStayed, 'Count', online.stayed - before.stayed);
    }
  }

  /**
   * Replaces the state (compare-and-swap on its ETag). Saves are queued: a direct-mode part's
   * intent and a periodic checkpoint never race each other's ETag. A function is evaluated when
   * its turn comes, so the snapshot is current.
   */
  private save(next: BackfillState | (() => BackfillState)): Promise<void> {
    const run = async (): Promise<void> => {
      const state = typeof next === 'function' ? next() : next;
      this.etag = await replaceState(this.deps.s3, this.locations.state, state, this.etag);
      this.state = state;
    };
    const saved = this.saving.then(run);
    this.saving = saved.catch(() => undefined);
    return saved;
  }

  private progressInFlight = false;

  /**
   * Writes the progress snapshot to `progress.json` beside the state, so a follower in another
   * process (`npx skewless backfill` against a running stack) sees rows move between checkpoints.
   * Best effort and never awaited by the row loop: one write at a time, failures ignored.
   */
  private publishProgress(progress: BackfillProgress): void {
    if (this.progressInFlight) return;
    this.progressInFlight = true;
    const { rowsRead, rowsWritten, rowsRejected, rowsDuplicate, rowsPerSecond, invocation } =
      progress;
    void this.deps.s3
      .send(
        new PutObjectCommand({
          Bucket: this.deps.config.reportsBucket,
          Key: reportKeys(this.state.source).progress,
          Body: JSON.stringify({
            rowsRead,
            rowsWritten,
            rowsRejected,
            rowsDuplicate,
            rowsPerSecond,
            invocation,
            at: new Date(this.now()).toISOString(),
          }),
          ContentType: 'application/json',
        })
      )
      .catch(() => undefined)
      .finally(() => {
        this.progressInFlight = false;
      });
  }

  /**
   * Ends the backfill with its report; the state keeps the report in case writing it is
   * interrupted. `rowsNotWritten`: rows this invocation read whose writes
   * failed (refused, or still failing after the retries), counted in the report's `rowsRead`.
   */
  private async finish(
    next: BackfillState,
    status: 'completed' | 'failed',
    error?: string,
    rowsNotWritten = 0
  ): Promise<BackfillOutcome> {
    const report = reportOf(
      next,
      status,
      this.now(),
      this.deps.config.reportsBucket,
      error,
      this.deps.dryRun === true,
      rowsNotWritten
    );
    await this.save({
      ...next,
      status,
      lease: null,
      report,
      ...(error !== undefined ? { lastError: error } : {}),
    });
    await writeReport(this.deps.s3, this.locations.report, report);
    const log = status === 'completed' ? this.deps.logger.info : this.deps.logger.error;
    log.call(this.deps.logger, `backfill ${status}`, { ...report });
    this.deps.onFinished?.(report);
    const names = metricNames(this.deps);
    this.deps.metrics.addMetric(
      status === 'completed' ? names.FilesCompleted : names.FilesFailed,
      'Count',
      1
    );
    this.emitMetrics();
    return { kind: status, report };
  }

  /** Fails the whole file (nothing more can be read), keeping whatever was already done. */
  private async failFile(
    reason: string,
    rejects?: RejectsWriter,
    rowsNotWritten = 0
  ): Promise<BackfillOutcome> {
    const writer =
      rejects ??
      new RejectsWriter(
        this.deps.s3,
        { bucket: this.deps.config.reportsBucket, key: reportKeys(this.state.source).rejects },
        this.deps.config.rejectsPartBytes,
        this.state.rejects
      );
    await writer.finish();
    return this.finish(
      { ...this.state, rejects: writer.progress(), activeMs: this.activeMs() },
      'failed',
      reason,
      rowsNotWritten
    );
  }

  private async open(group: FeatureGroup): Promise<RowSource> {
    // Derived mode (`backfill/<group>/derive/…`, docs/derived-features.md): the file is replayed
    // whole, so it is read from its start and the derived rows are skipped up to the checkpoint.
    const derive = derivedDefinitionOf(this.state.source.key, group);
    const opened = await this.openFile(group, derive !== undefined);
    return derive === undefined
      ? opened
      : derivedRowSource(opened, derive, this.state.position.index, this.eventTimeBound);
  }

  private async openFile(group: FeatureGroup, fromStart: boolean): Promise<RowSource> {
    const { s3 } = this.deps;
    const facts = await headSource(s3, this.state.source);
    const source = { ...this.state.source, size: facts.size };
    const position = fromStart ? { index: 0, doneBeyond: [] } : this.state.position;
    if (this.state.format === 'parquet') {
      return openParquetSource({
        group,
        file: sourceAsyncBuffer(s3, source, facts.size),
        startIndex: position.index,
      });
    }
    const declaredGzip =
      this.state.compression === Compression.Gzip || /\bgzip\b/i.test(facts.contentEncoding ?? '');
    const from = position.byteOffset ?? 0;
    const options = {
      group,
      bytes: sourceBytes(s3, source, from),
      declaredGzip,
      start: {
        index: position.index,
        byteOffset: position.byteOffset,
        line: position.line,
        header: fromStart ? undefined : this.state.header,
      },
    };
    return this.state.format === 'csv' ? openCsvSource(options) : openJsonLinesSource(options);
  }

  /** Reads, validates and writes until the file ends, the time runs low or writes keep failing. */
  async run(): Promise<BackfillOutcome> {
    const { config, logger } = this.deps;
    // Internal groups (derived-feature state) are not backfill targets: unknown here.
    const group = registry.findExternalGroup(this.state.featureGroup);
    if (group === undefined) {
      return this.failFile(
        `unknown feature group "${this.state.featureGroup}" in the key; known: ${[...registry.externalGroups.keys()].join(', ')}`
      );
    }
    if (this.deps.kind === DropKind.Batch && group.batch === undefined) {
      return this.failFile(
        `feature group "${group.name}" is not batch-fed, so batch/ drops cannot write its online store: declare batch: { cadence } on it in shared/definitions.ts, or drop the file under backfill/${group.name}/ for the offline store only; batch-fed groups: ${
          [...registry.externalGroups.values()]
            .filter((g) => g.batch !== undefined)
            .map((g) => g.name)
            .join(', ') || 'none'
        }`
      );
    }
    if (this.state.format === undefined) {
      return this.failFile(`unsupported file extension: use ${SUPPORTED_EXTENSIONS.join(', ')}`);
    }
    let source: RowSource;
    try {
      source = await this.open(group);
    } catch (error) {
      if (error instanceof FileRejectedError || error instanceof SourceUnavailableError)
        return this.failFile(error.message);
      // A CSV reads its header on opening: gzip that is cut short or empty fails right here.
      if (isCorruptGzip(error))
        return this.failFile(`the gzip data is corrupt: ${(error as Error).message}`);
      throw error;
    }
    logger.info('backfill started', {
      source: this.state.source,
      featureGroup: group.name,
      format: this.state.format,
      resumeAt: this.state.position.index,
      invocation: this.state.invocations,
    });

    const rejects = new RejectsWriter(
      this.deps.s3,
      { bucket: config.reportsBucket, key: reportKeys(this.state.source).rejects },
      config.rejectsPartBytes,
      this.state.rejects
    );
    let rowsWritten = this.state.rowsWritten;
    let rowsRejected = this.state.rowsRejected;
    let rowsDuplicate = this.state.rowsDuplicate ?? 0;
    const firstErrors: FirstError[] = [...this.state.firstErrors];
    let failures = 0;
    let lastFailure: unknown;
    /**
     * The refusal no retry changes of the earliest row (chunks answer in any order): the backfill
     * fails at once (resumable).
     */
    let refusal: { index: number; reason: string; cause: unknown } | undefined;
    /** Rows handed to a sink that may reject them, for their reject line (records mode only). */
    const handedOut = new Map<number, SourceRow>();
    // The window holds every row not finished: in direct mode, the part being written and the
    // one being filled.
    let window: RowWindow;

    const reject = (
      row: Pick<SourceRow, 'index' | 'line' | 'fileRow' | 'original' | 'encoded'>,
      problems: readonly RecordProblem[]
    ) => {
      const reason = problemText(problems);
      const line: RejectLine = {
        row: row.fileRow ?? row.index + 1,
        ...(row.line !== undefined ? { line: row.line } : {}),
        reason,
        problems: problems.map((p) => ({
          feature: p.feature,
          value: p.value ?? null,
          reason: p.reason,
        })),
        values: row.original(),
        // Only the derived replay hands rows over encoded: the record it computed from `values`.
        ...(row.encoded !== undefined ? { derived: wireInput(row.encoded.record) } : {}),
      };
      rejects.add(line);
      rowsRejected += 1;
      this.rejectedThisInvocation += 1;
      if (firstErrors.length < config.firstErrorsLimit) {
        firstErrors.push({
          row: line.row,
          ...(row.line !== undefined ? { line: row.line } : {}),
          reason,
        });
      }
      window.complete(row.index);
    };

    const events: SinkEvents = {
      written: (indices) => {
        for (const index of indices) {
          window.complete(index);
          handedOut.delete(index);
        }
        rowsWritten += indices.length;
        this.writtenThisInvocation += indices.length;
      },
      rejected: (index, reason) => {
        const row = handedOut.get(index) ?? { index, original: () => null };
        handedOut.delete(index);
        reject(row, [{ feature: '(record)', value: undefined, reason }]);
      },
      failed: (indices, error) => {
        const first = indices[0];
        if (
          error instanceof StoreRefusedError &&
          first !== undefined &&
          (refusal === undefined || first < refusal.index)
        ) {
          // The window knows where the row is in the file in every mode (direct mode hands no
          // rows out), also when the derived replay's order is not the file's.
          refusal = {
            index: first,
            reason: refusalReason(error, window.placeOf(first)),
            cause: error.cause,
          };
        }
        for (const index of indices) handedOut.delete(index);
        failures += indices.length;
        lastFailure = error;
      },
    };

    let sink: RowSink;
    const snapshot = (): BackfillState => {
      const { pendingPart: _pendingPart, ...rest } = this.state;
      return {
        ...rest,
        ...sink.checkpoint(),
        position: window.position(),
        ...(source.header !== undefined && source.seekable ? { header: source.header } : {}),
        rowsWritten,
        rowsRejected,
        ...(rowsDuplicate > 0 ? { rowsDuplicate } : {}),
        firstErrors,
        rejects: rejects.progress(),
        activeMs: this.activeMs(),
      };
    };
    try {
      sink = await this.createSink(group, events, () => this.save(snapshot));
    } catch (error) {
      return this.failFile(`cannot choose how to write "${group.name}": ${String(error)}`, rejects);
    }
    const direct = sink.checkpoint().writeMode === WriteMode.Direct;
    // Both-stores mode keeps up to three runs of 25 rows per call slot (two written, one filling).
    const bothStores = sink.checkpoint().writeMode === WriteMode.BothStores;
    window = new RowWindow(
      Math.max(
        config.windowRows,
        (bothStores ? 3 : 2) * 25 * config.concurrency,
        direct ? 2 * config.partMaxRows : 0
      ),
      this.state.position
    );
    const skip = new Set(this.state.position.doneBeyond);

    let stop: 'deadline' | 'stalled' | undefined;
    let lastCheckpoint = this.now();
    let lastProgress = this.now();
    let rowsAtLastProgress = 0;
    const progress = () => {
      const elapsed = (this.now() - this.startedAt) / 1000;
      const snapshotProgress: BackfillProgress = {
        source: this.state.source,
        featureGroup: group.name,
        rowsRead: rowsWritten + rowsRejected + rowsDuplicate + sink.pending + failures,
        rowsWritten,
        rowsRejected,
        rowsDuplicate,
        rowsPerSecond: elapsed > 0 ? Math.round(this.rowsThisInvocation / elapsed) : 0,
        invocation: this.state.invocations,
      };
      logger.info('backfill progress', { ...snapshotProgress });
      this.deps.onProgress?.(snapshotProgress);
      this.publishProgress(snapshotProgress);
    };

    /** Waits for room in the window; false when writes are failing. */
    const room = async (): Promise<boolean> => {
      while (failures === 0 && window.full) {
        // A full window with nothing pending only happens behind a failed row.
        if (sink.pending === 0) break;
        await sink.makeRoom();
      }
      return failures === 0;
    };

    try {
      rows: for await (const batch of source.batches()) {
        for (const row of batch) {
          if (skip.has(row.index)) {
            if (!(await room())) {
              stop = 'stalled';
              break rows;
            }
            window.begin(row.index, row.next);
            window.complete(row.index);
            continue;
          }
          // At least one row per invocation, so a tiny budget still makes progress; a part
          // being replayed is finished first.
          if (
            this.rowsThisInvocation > 0 &&
            (this.now() >= this.deadline || this.deps.shouldStop?.() === true) &&
            sink.canStopBefore(row.index)
          ) {
            stop = 'deadline';
            break rows;
          }
          if (!(await room())) {
            stop = 'stalled';
            break rows;
          }
          window.begin(row.index, row.next, row);
          this.rowsThisInvocation += 1;
          if (row.duplicate !== undefined) {
            // An exact repeat the derived replay writes once: counted, not written again.
            rowsDuplicate += 1;
            window.complete(row.index);
          } else if (row.encoded !== undefined) {
            // Validated and encoded for this group by the derived replay: written as it is.
            if (!direct) handedOut.set(row.index, row);
            await sink.add(row.index, row.encoded);
          } else if (row.problem !== undefined || row.values === undefined) {
            reject(row, [
              { feature: '(row)', value: undefined, reason: row.problem ?? 'unreadable row' },
            ]);
          } else {
            const encoded = encodeRecord(group, row.values, {
              eventTimeBound: this.eventTimeBound,
            });
            if (!encoded.ok) {
              reject(row, problemsWordedFor(this.state.format, encoded.problems));
            } else {
              if (!direct) handedOut.set(row.index, row);
              await sink.add(row.index, encoded.value);
            }
          }
          if (rejects.partReady) await rejects.uploadPart();
          const now = this.now();
          if (
            this.rowsThisInvocation - rowsAtLastProgress >= config.progressEveryRows ||
            now - lastProgress >= config.progressEveryMs
          ) {
            progress();
            lastProgress = now;
            rowsAtLastProgress = this.rowsThisInvocation;
          }
          if (now - lastCheckpoint >= config.checkpointIntervalMs) {
            await this.save(snapshot);
            lastCheckpoint = this.now();
          }
        }
      }
    } catch (error) {
      await sink.drain();
      if (error instanceof StateConflictError || lastFailure instanceof StateConflictError)
        return this.leaseLost();
      if (
        error instanceof SourceUnavailableError ||
        error instanceof FileRejectedError ||
        isCorruptGzip(error)
      ) {
        this.state = snapshot();
        const reason = isCorruptGzip(error)
          ? `the gzip data is corrupt: ${(error as Error).message}`
          : (error as Error).message;
        return this.failFile(reason, rejects, failures);
      }
      // Anything else (S3 unreachable, a bug): keep what is done and retry from the checkpoint.
      logger.error('backfill interrupted by an error; checkpointing to retry', {
        source: this.state.source,
        error: String(error),
      });
      try {
        return await this.checkpointAndContinue(
          snapshot(),
          this.state.stalledInvocations + 1,
          String(error)
        );
      } catch {
        throw error;
      }
    }
    await sink.drain();
    progress();
    if (lastFailure instanceof StateConflictError) return this.leaseLost();

    try {
      if (stop === undefined && failures === 0) {
        await rejects.finish();
        return await this.finish({ ...snapshot(), stalledInvocations: 0 }, 'completed');
      }
      if (lastFailure instanceof OfflineStoreNotWritableError) {
        // Nothing was written directly: the next invocation goes on in records mode at once.
        logger.warn('offline store not writable; switching to offline-only record writes', {
          source: this.state.source,
          error: lastFailure.message,
        });
        return await this.checkpointAndContinue(snapshot(), 0, undefined);
      }
      if (refusal !== undefined) {
        // No retry changes a refusal (a role without the permission, a group that does not
        // exist): fail now rather than after BACKFILL_MAX_STALLED_INVOCATIONS retries. Resumable:
        // the rows not written are after the checkpoint, the rejects upload stays open in it.
        logger.error('backfill refused by the store', {
          source: this.state.source,
          reason: refusal.reason,
          storeMessage: String((refusal.cause as Error | undefined)?.message ?? refusal.cause),
        });
        return await this.finish(
          { ...snapshot(), resumable: true },
          'failed',
          refusal.reason,
          failures
        );
      }
      const stalled = failures > 0 ? this.state.stalledInvocations + 1 : 0;
      const lastError =
        failures > 0
          ? `${failures} row(s) not written after the SDK's retries: ${String((lastFailure as Error)?.message ?? lastFailure)}`
          : undefined;
      if (stalled > config.maxStalledInvocations) {
        // Resumable: the rejects upload stays open in the checkpoint, to be completed by the resume.
        return await this.finish(
          { ...snapshot(), stalledInvocations: stalled, resumable: true },
          'failed',
          `writes kept failing in ${stalled} invocations in a row; the checkpoint is kept: send a continuation message with "resume": true to go on (the rejects so far are written when it completes). Last error: ${lastError}`,
          failures
        );
      }
      return await this.checkpointAndContinue(snapshot(), stalled, lastError);
    } catch (error) {
      if (error instanceof StateConflictError) return this.leaseLost();
      throw error;
    }
  }

  /**
   * The sink of this backfill. The write mode is chosen once, by the first invocation, and kept
   * in the state: `BACKFILL_WRITE_MODE=records` forces record writes; otherwise
   * DescribeFeatureGroup decides (direct for Glue tables in S3, see offlineTarget.ts).
   */
  private async createSink(
    group: FeatureGroup,
    events: SinkEvents,
    saveIntent: () => Promise<void>
  ): Promise<RowSink> {
    const { config, logger } = this.deps;
    if (this.deps.kind === DropKind.Batch) {
      // Batch drops always write both stores; no configuration chooses otherwise.
      this.state = { ...this.state, writeMode: WriteMode.BothStores };
      return new BatchRowSink({
        client: this.deps.featureStore,
        group,
        events,
        concurrency: config.concurrency,
        ...(this.state.onlineValues !== undefined ? { onlineValues: this.state.onlineValues } : {}),
        ...(this.deps.dryRun === true ? { dryRun: true } : {}),
      });
    }
    if (this.state.writeMode === undefined) {
      let chosen: OfflineTarget;
      const describe = this.deps.describeGroup ?? this.deps.directWrites?.describeGroup;
      if (config.writeMode === 'records') {
        chosen = { mode: WriteMode.Records, reason: 'BACKFILL_WRITE_MODE=records' };
      } else if (describe === undefined || this.deps.directWrites === undefined) {
        chosen = { mode: WriteMode.Records, reason: 'this function has no direct writes' };
      } else {
        try {
          chosen = chooseOfflineTarget(await describe(group.name));
        } catch (error) {
          if (config.writeMode === 'direct') throw error;
          chosen = {
            mode: WriteMode.Records,
            reason: `DescribeFeatureGroup failed (${String(error)})`,
          };
        }
        if (chosen.mode === WriteMode.Records && config.writeMode === 'direct') {
          throw new Error(`BACKFILL_WRITE_MODE=direct, but ${chosen.reason}`);
        }
      }
      logger.info('backfill write mode', {
        source: this.state.source,
        writeMode: chosen.mode,
        ...(chosen.mode === WriteMode.Direct
          ? { location: `s3://${chosen.target.bucket}/${chosen.target.prefix}` }
          : { reason: chosen.reason }),
      });
      this.state = {
        ...this.state,
        writeMode: chosen.mode,
        ...(chosen.mode === WriteMode.Direct ? { directTarget: chosen.target } : {}),
      };
    }
    if (this.state.writeMode === WriteMode.Direct && this.state.directTarget !== undefined) {
      if (this.deps.directWrites === undefined) {
        throw new Error('this backfill writes directly, but this function has no direct writes');
      }
      return this.deps.directWrites.createSink({
        s3: this.deps.s3,
        target: this.state.directTarget,
        source: this.state.source,
        events,
        partBytes: config.partBytes,
        partMaxRows: config.partMaxRows,
        putConcurrency: config.putConcurrency,
        now: this.now,
        ...(this.state.pendingPart !== undefined ? { pendingPart: this.state.pendingPart } : {}),
        directParts: this.state.directParts ?? 0,
        saveIntent,
      });
    }
    return new OfflineRecordSink(this.deps.featureStore, config.concurrency, events);
  }

  private async checkpointAndContinue(
    next: BackfillState,
    stalled: number,
    lastError: string | undefined
  ): Promise<BackfillOutcome> {
    await this.save({
      ...next,
      lease: null,
      stalledInvocations: stalled,
      ...(lastError !== undefined ? { lastError } : {}),
    });
    const reason = stalled > 0 ? 'retry' : 'checkpoint';
    const delay = stalled > 0 ? Math.min(MAX_RETRY_DELAY_SECONDS, 15 * 2 ** stalled) : 0;
    await this.deps.continuations.send(
      {
        type: 'skewless.backfill.continue',
        source: this.state.source,
        reason,
        generation: this.state.generation,
      },
      delay
    );
    const rowsDone =
      this.state.rowsWritten + this.state.rowsRejected + (this.state.rowsDuplicate ?? 0);
    this.deps.logger.info('backfill checkpointed', {
      source: this.state.source,
      reason,
      resumeAt: this.state.position.index,
      rowsDone,
      delaySeconds: delay,
      ...(lastError !== undefined ? { lastError } : {}),
    });
    this.emitMetrics();
    return { kind: 'checkpointed', rowsDone };
  }

  private leaseLost(): BackfillOutcome {
    this.deps.logger.error(
      'backfill lease lost: another invocation took over; stopping without a checkpoint',
      {
        source: this.state.source,
      }
    );
    this.emitMetrics();
    return { kind: 'skipped', reason: 'lease lost' };
  }
}

/** The state a first event creates: the claim, with this invocation holding the lease. */
function initialState(
  source: SourceObject,
  kind: DropKind,
  owner: string,
  leaseUntil: number,
  startedAt: number
): BackfillState {
  const key = parseDropKey(source.key, kind);
  return {
    schemaVersion: 1,
    source,
    featureGroup: key?.featureGroup ?? '',
    format: key?.format,
    compression: key?.compression ?? Compression.None,
    status: BackfillStatus.Running,
    generation: 1,
    lease: { owner, until: leaseUntil },
    position: { index: 0, doneBeyond: [] },
    rowsWritten: 0,
    rowsRejected: 0,
    firstErrors: [],
    rejects: { parts: [], pending: '' },
    invocations: 1,
    resumptions: 0,
    stalledInvocations: 0,
    startedAt: new Date(startedAt).toISOString(),
    activeMs: 0,
  };
}

/** Takes the lease of an existing state if it is free (released, or expired), by compare-and-swap. */
async function acquireLease(
  deps: BackfillDependencies,
  current: VersionedState,
  budget: InvocationBudget,
  changes: Partial<BackfillState> = {}
): Promise<VersionedState | undefined> {
  const now = (deps.now ?? Date.now)();
  const lease = current.state.lease;
  if (lease !== null && lease.until + LEASE_GRACE_MS > now && lease.owner !== budget.requestId)
    return undefined;
  const next: BackfillState = {
    ...current.state,
    ...changes,
    generation: current.state.generation + 1,
    lease: { owner: budget.requestId, until: now + budget.remainingMs() },
    invocations: current.state.invocations + 1,
    resumptions: current.state.resumptions + 1,
  };
  const location = {
    bucket: deps.config.reportsBucket,
    key: reportKeys(current.state.source).state,
  };
  try {
    return { state: next, etag: await replaceState(deps.s3, location, next, current.etag) };
  } catch (error) {
    if (error instanceof StateConflictError) return undefined;
    throw error;
  }
}

/**
 * A watchdog that finds the first invocation's lease still running (its deadline plus the grace
 * is later than the longest SQS delay) comes back when that lease has expired. A lease of a later
 * generation belongs to a continuation invocation, which SQS redelivery already protects.
 */
async function rearmWatchdog(
  deps: BackfillDependencies,
  state: BackfillState,
  message: ContinuationMessage
): Promise<void> {
  const lease = state.lease;
  if (lease === null || state.generation !== message.generation) return;
  const now = (deps.now ?? Date.now)();
  const delaySeconds = Math.ceil((lease.until + LEASE_GRACE_MS - now) / 1000) + 1;
  await deps.continuations.send(
    message,
    Math.min(MAX_RETRY_DELAY_SECONDS, Math.max(1, delaySeconds))
  );
}

/** A finished backfill met again: make sure its report exists (writing it is idempotent). */
async function ensureReport(deps: BackfillDependencies, state: BackfillState): Promise<void> {
  if (state.report === undefined) return;
  await writeReport(
    deps.s3,
    { bucket: deps.config.reportsBucket, key: reportKeys(state.source).report },
    state.report
  );
}

/**
 * Handles an `ObjectCreated` event for one object: claims the object version (conditional
 * create of its state), sends the watchdog continuation, and runs the backfill. A repeated
 * event for the same version finds the claim and writes nothing, unless the lease it finds has
 * expired, in which case it takes over from the checkpoint.
 *
 * @example
 * ```typescript
 * import { startBackfill } from './shared/backfill/runBackfill.ts';
 * declare const deps: import('./shared/backfill/runBackfill.ts').BackfillDependencies;
 * const outcome = await startBackfill(deps, {
 *   bucket: 'skewless-backfill', key: 'backfill/fraud-cards/oct.csv', etag: 'abc', size: 1024,
 * }, { requestId: 'req-1', remainingMs: () => 900_000 });
 * ```
 */
async function startBackfill(
  deps: BackfillDependencies,
  source: SourceObject,
  budget: InvocationBudget
): Promise<BackfillOutcome> {
  const kind = deps.kind ?? DropKind.Backfill;
  if (parseDropKey(source.key, kind) === undefined) {
    const expected = `${DROP_PREFIX[kind]}<feature-group>/`;
    deps.logger.warn(`not a ${kind} file; expected ${expected}<file>`, { source });
    return { kind: 'ignored', reason: `not under ${expected}` };
  }
  const now = (deps.now ?? Date.now)();
  const state = initialState(source, kind, budget.requestId, now + budget.remainingMs(), now);
  const location = { bucket: deps.config.reportsBucket, key: reportKeys(source).state };
  let etag: string;
  try {
    etag = await createState(deps.s3, location, state);
  } catch (error) {
    if (!(error instanceof StateConflictError)) throw error;
    deps.metrics.addMetric(metricNames(deps).DuplicateEvents, 'Count', 1);
    const existing = await readState(deps.s3, location);
    if (existing === undefined) return { kind: 'duplicate', status: 'unknown' };
    if (existing.state.status !== BackfillStatus.Running) {
      await ensureReport(deps, existing.state);
      deps.logger.info('duplicate event for a finished backfill ignored', {
        source,
        status: existing.state.status,
      });
      return { kind: 'duplicate', status: existing.state.status };
    }
    const leased = await acquireLease(deps, existing, budget);
    if (leased === undefined) {
      deps.logger.info('duplicate event for a running backfill ignored', { source });
      return { kind: 'duplicate', status: existing.state.status };
    }
    deps.logger.warn('duplicate event found an expired lease: taking over from the checkpoint', {
      source,
    });
    return new LeasedBackfill(deps, leased, budget, true).run();
  }
  deps.logger.info('backfill claimed', { source, stateKey: location.key });
  if (deps.config.watchdogDelaySeconds > 0) {
    try {
      await deps.continuations.send(
        { type: 'skewless.backfill.continue', source, reason: 'watchdog', generation: 1 },
        deps.config.watchdogDelaySeconds
      );
    } catch (error) {
      // The backfill itself can proceed; only crash recovery of this invocation is weaker.
      deps.logger.warn('could not send the watchdog continuation', {
        source,
        error: String(error),
      });
    }
  }
  return new LeasedBackfill(deps, { state, etag }, budget, false).run();
}

/**
 * Handles a continuation message: takes the lease if it is free and continues from the
 * checkpoint. Stale messages (finished backfill, lease held by a live invocation) do nothing, so
 * duplicates and out-of-order deliveries are harmless.
 */
async function continueBackfill(
  deps: BackfillDependencies,
  message: ContinuationMessage,
  budget: InvocationBudget
): Promise<BackfillOutcome> {
  const kind = deps.kind ?? DropKind.Backfill;
  if (parseDropKey(message.source.key, kind) === undefined) {
    // Another kind's continuation (a misrouted queue): taking it would write the other kind's
    // stores, e.g. a backfill into the online store. Left alone.
    deps.logger.error(`continuation for a drop outside ${DROP_PREFIX[kind]} dropped`, {
      source: message.source,
    });
    return { kind: 'skipped', reason: `not a ${kind} drop` };
  }
  const location = { bucket: deps.config.reportsBucket, key: reportKeys(message.source).state };
  const current = await readState(deps.s3, location);
  if (current === undefined) {
    deps.logger.error('continuation for a backfill without state dropped', {
      source: message.source,
    });
    return { kind: 'skipped', reason: 'no state' };
  }
  let changes: Partial<BackfillState> = {};
  if (current.state.status !== BackfillStatus.Running) {
    if (
      !(
        message.resume === true &&
        current.state.status === BackfillStatus.Failed &&
        current.state.resumable === true
      )
    ) {
      await ensureReport(deps, current.state);
      return { kind: 'skipped', reason: `backfill already ${current.state.status}` };
    }
    deps.logger.warn('resuming a failed backfill on request', { source: message.source });
    const {
      report: _report,
      lastError: _lastError,
      resumable: _resumable,
      ...rest
    } = current.state;
    changes = { status: BackfillStatus.Running, stalledInvocations: 0 };
    const leased = await acquireLease(
      deps,
      { state: rest as BackfillState, etag: current.etag },
      budget,
      changes
    );
    if (leased === undefined)
      return { kind: 'skipped', reason: 'lease held by another invocation' };
    return new LeasedBackfill(deps, leased, budget, true).run();
  }
  const leased = await acquireLease(deps, current, budget, changes);
  if (leased === undefined && message.reason === 'watchdog') {
    await rearmWatchdog(deps, current.state, message);
    return { kind: 'skipped', reason: 'lease held by another invocation' };
  }
  if (leased === undefined) {
    deps.logger.info('continuation skipped: another invocation holds the lease', {
      source: message.source,
      reason: message.reason,
    });
    return { kind: 'skipped', reason: 'lease held by another invocation' };
  }
  if (current.state.lease !== null) {
    deps.logger.warn('took over a backfill whose invocation ended without releasing its lease', {
      source: message.source,
      reason: message.reason,
      resumeAt: leased.state.position.index,
    });
  }
  return new LeasedBackfill(deps, leased, budget, true).run();
}

export type {
  BackfillDependencies,
  BackfillOutcome,
  BackfillProgress,
  InvocationBudget,
  MetricsSink,
};
export { BackfillMetric, BatchMetric, continueBackfill, metricNames, startBackfill };

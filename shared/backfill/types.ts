import type { DirectTarget } from './offlineTarget.ts';
import type { OnlineValueCounts, PendingPart, WriteMode } from './sink.ts';

/**
 * The vocabulary of the S3 backfill: what a backfill reads (source formats), what it keeps
 * between invocations (the state object, which is also the claim), and what it leaves for the
 * user (rejects lines and the report).
 */

/** File formats a backfill reads, chosen from the key's extension. */
const SourceFormat = {
  Parquet: 'parquet',
  Csv: 'csv',
  JsonLines: 'jsonl',
} as const;
type SourceFormat = (typeof SourceFormat)[keyof typeof SourceFormat];

/** Compression of text formats: from a `.gz` extension, `Content-Encoding: gzip` or the bytes. */
const Compression = {
  None: 'none',
  Gzip: 'gzip',
} as const;
type Compression = (typeof Compression)[keyof typeof Compression];

/** Where the file is and which exact version of it this backfill reads. */
interface SourceObject {
  readonly bucket: string;
  readonly key: string;
  /** Present when the bucket is versioned (the template's backfill bucket is). */
  readonly versionId?: string;
  /** Hex ETag without quotes. */
  readonly etag: string;
  readonly size: number;
}

/** Where in the file a resumed invocation starts. */
interface ResumePosition {
  /** 0-based index of the first data row not known to be finished (the watermark). */
  readonly index: number;
  /** Byte offset where row `index` starts, for uncompressed text (a ranged GET resumes there). */
  readonly byteOffset?: number;
  /** 1-based line where row `index` starts (text formats), so line numbers stay right. */
  readonly line?: number;
  /** Rows after `index` that are already finished (written or rejected): skipped on resume. */
  readonly doneBeyond: readonly number[];
}

/** A multipart upload of the rejects object that spans invocations. */
interface RejectsProgress {
  readonly uploadId?: string;
  readonly parts: readonly { readonly partNumber: number; readonly etag: string }[];
  /** Reject lines not yet uploaded (less than one part). */
  readonly pending: string;
}

/** One of the first errors, kept for the report. */
interface FirstError {
  /** 1-based data row (the header of a CSV file is not a row). */
  readonly row: number;
  readonly line?: number;
  readonly reason: string;
}

/** Lifecycle of a backfill: running (claimed, maybe between invocations), then completed or failed. */
const BackfillStatus = {
  Running: 'running',
  Completed: 'completed',
  Failed: 'failed',
} as const;
type BackfillStatus = (typeof BackfillStatus)[keyof typeof BackfillStatus];

/**
 * The state object of one backfill (`…/state.json` in the reports bucket): created with
 * `If-None-Match: *` when the first event for an object version arrives (the claim), then only
 * ever replaced with `If-Match: <its ETag>` by the invocation holding the lease.
 */
interface BackfillState {
  readonly schemaVersion: 1;
  readonly source: SourceObject;
  readonly featureGroup: string;
  readonly format: SourceFormat | undefined;
  readonly compression: Compression;
  readonly status: BackfillStatus;
  /** Incremented by every lease acquisition: tells a stale continuation message from a fresh one. */
  readonly generation: number;
  /** Who may write rows now, and until when (epoch ms); null when released at a checkpoint. */
  readonly lease: { readonly owner: string; readonly until: number } | null;
  readonly position: ResumePosition;
  /** CSV header, kept so an invocation resuming mid-file by byte offset knows the columns. */
  readonly header?: readonly string[];
  readonly rowsWritten: number;
  readonly rowsRejected: number;
  /** Exact repeats counted and not written again (derived backfills). */
  readonly rowsDuplicate?: number;
  readonly firstErrors: readonly FirstError[];
  readonly rejects: RejectsProgress;
  /** How rows are written, chosen by the first invocation (see docs/backfill.md, "Writes"). */
  readonly writeMode?: WriteMode;
  /** Direct mode: the offline store location and columns, as described at the claim. */
  readonly directTarget?: DirectTarget;
  /** Direct mode: the part whose objects were being written at this checkpoint. */
  readonly pendingPart?: PendingPart;
  /** Direct mode: parts written. */
  readonly directParts?: number;
  /** Both-stores mode (batch drops): the written rows by their effect on the online values. */
  readonly onlineValues?: OnlineValueCounts;
  readonly invocations: number;
  readonly resumptions: number;
  /** Invocations in a row that ended with writes still failing after their retries. */
  readonly stalledInvocations: number;
  readonly startedAt: string;
  /** Time spent processing, summed over invocations. */
  readonly activeMs: number;
  readonly lastError?: string;
  /**
   * A failed backfill that can go on from its checkpoint (writes kept failing); its rejects upload
   * is still open. A continuation message with `resume: true` resumes it.
   */
  readonly resumable?: boolean;
  /** Set when the backfill is finished; re-written if a later event finds it missing. */
  readonly report?: BackfillReport;
}

/** The report object written beside the rejects when a file is done. */
interface BackfillReport {
  readonly status: 'completed' | 'failed';
  readonly featureGroup: string;
  readonly format: SourceFormat | undefined;
  readonly compression: Compression;
  /** Every row read: rowsWritten + rowsRejected + rowsDuplicate + rowsNotWritten. */
  readonly rowsRead: number;
  readonly rowsWritten: number;
  readonly rowsRejected: number;
  /** Exact repeats of earlier rows, written once (derived backfills); absent when 0. */
  readonly rowsDuplicate?: number;
  /**
   * Failed reports only: rows read whose writes failed (refused by the store, or still failing
   * after the retries), neither written nor rejected; a resume writes them when the report is
   * `resumable` (a file failed for good, e.g. corrupt, is not resumed). Absent when 0.
   */
  readonly rowsNotWritten?: number;
  /**
   * `direct` (Parquet into the offline store location), `records` (offline-only API writes) or
   * `both-stores` (a batch drop).
   */
  readonly writeMode?: WriteMode;
  /**
   * Batch drops only: the rows written, by what each did to the online value of its identifier,
   * counted in file order: `changed` + `unchanged` + `stayed` = rowsWritten (docs/batch.md).
   */
  readonly onlineValues?: OnlineValueCounts;
  /** Batch dry run (`skewless batch --dry-run`): nothing was written; the counts say what would be. */
  readonly dryRun?: boolean;
  /** From the first invocation's start to the end, including time between invocations. */
  readonly durationMs: number;
  /** Time spent processing, summed over invocations. */
  readonly activeMs: number;
  readonly rowsPerSecond: number;
  readonly firstErrors: readonly FirstError[];
  readonly resumptions: number;
  readonly invocations: number;
  readonly source: {
    readonly bucket: string;
    readonly key: string;
    readonly versionId: string | null;
    readonly etag: string;
  };
  readonly rejects: { readonly bucket: string; readonly key: string };
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Why a failed backfill stopped (unknown group, unreadable file, writes failing for good). */
  readonly error?: string;
  /** True when a failed backfill can be resumed from its checkpoint (see docs/backfill.md). */
  readonly resumable?: boolean;
}

/** One problem of a rejected row. */
interface RejectProblem {
  readonly feature: string;
  readonly value: unknown;
  readonly reason: string;
}

/** One line of the rejects object (JSON Lines). */
interface RejectLine {
  readonly row: number;
  readonly line?: number;
  /** Every problem of the row, in one sentence. */
  readonly reason: string;
  readonly problems: readonly RejectProblem[];
  /** The row as read: column → original value (text for CSV, JSON for JSON Lines). */
  readonly values: unknown;
  /**
   * A `derive/` file's record the store rejected: the record as written (feature → wire text,
   * the derived features included), computed from `values`, the row of the file.
   */
  readonly derived?: Record<string, unknown>;
}

/** The body of a continuation message on the continuation queue. */
interface ContinuationMessage {
  readonly type: 'skewless.backfill.continue';
  readonly source: SourceObject;
  /**
   * `checkpoint`: the previous invocation stopped before its time ran out; `retry`: writes were
   * failing, try again later; `watchdog`: sent when a backfill starts, delayed beyond the
   * invocation's timeout, to take over if that invocation died without a checkpoint.
   */
  readonly reason: 'checkpoint' | 'retry' | 'watchdog';
  /** The state generation the sender saw. */
  readonly generation: number;
  /** Set by an operator to resume a failed backfill from its checkpoint. */
  readonly resume?: boolean;
}

export type {
  BackfillReport,
  BackfillState,
  ContinuationMessage,
  FirstError,
  RejectLine,
  RejectProblem,
  RejectsProgress,
  ResumePosition,
  SourceObject,
};
export { BackfillStatus, Compression, SourceFormat };

import { SkewlessError } from '../errors.ts';
import type { EncodedRecord } from '../record/codec.ts';

/**
 * The write side of a backfill, pluggable: the pipeline (readers, validation, row window,
 * checkpoints, rejects, report) hands every validated row to a sink and learns each row's fate
 * through {@link SinkEvents}. Shipped sinks: direct offline Parquet (`directSink.ts`, the default
 * for Glue groups) and offline-only record writes (`recordSink.ts`, Iceberg groups and offline
 * stores the function cannot write). A both-stores writer plugs in the same way.
 */

/** How rows end, reported by the sink (each row exactly once). */
interface SinkEvents {
  /** These rows are durably written. */
  written(indices: readonly number[]): void;
  /** The store refused this row (never retried): it goes to the rejects. */
  rejected(index: number, reason: string): void;
  /**
   * These rows could not be written now (throttling, 5xx, network): retried from the checkpoint.
   * With a {@link StoreRefusedError} the store refused them with a code no retry changes: the
   * backfill fails at once, resumable.
   */
  failed(indices: readonly number[], error: unknown): void;
}

/** A part whose objects are being written: replayed identically if the invocation stops. */
interface PendingPart {
  /** First and one-past-last row index of the part. */
  readonly start: number;
  readonly end: number;
  /** `write_time` (and `api_invocation_time`) of its rows, epoch ms. */
  readonly writeTimeMs: number;
}

/** How the rows of a backfill are written; chosen at the claim and kept in the state. */
const WriteMode = {
  /** Parquet objects written into the group's offline store location (Glue tables). */
  Direct: 'direct',
  /** Offline-only record writes through the Feature Store API (Iceberg, or not writable). */
  Records: 'records',
  /** Batch drops (`batch/<group>/`): record writes to both stores, latest online (docs/batch.md). */
  BothStores: 'both-stores',
} as const;
type WriteMode = (typeof WriteMode)[keyof typeof WriteMode];

/** What the checkpoint keeps of the sink. */
interface SinkCheckpoint {
  readonly writeMode: WriteMode;
  /** Direct mode: the part being written, if any (its intent is saved before its objects). */
  readonly pendingPart?: PendingPart;
  /** Direct mode: parts committed so far (a fallback to records is allowed only before any). */
  readonly directParts?: number;
  /** Both-stores mode: what the rows written so far did to the online values. */
  readonly onlineValues?: OnlineValueCounts;
}

/** Rows written by a batch drop, by their effect on the online value of their identifier. */
interface OnlineValueCounts {
  /** Newer than the online value (or none yet), or equal event time with other values. */
  readonly changed: number;
  /** Same event time and values as the online value. */
  readonly unchanged: number;
  /** Older than the online value, which stayed: written to the offline store only. */
  readonly stayed: number;
}

interface RowSink {
  /** Rows taken and not yet reported. */
  readonly pending: number;
  /**
   * Takes one validated row (rows come in file order). Resolves when the sink can take another:
   * the pipeline's backpressure.
   */
  add(index: number, record: EncodedRecord): Promise<void>;
  /** Frees room: waits for an outcome, or writes what a buffering sink holds. */
  makeRoom(): Promise<void>;
  /** Writes everything taken; resolves when every row taken has an outcome. */
  drain(): Promise<void>;
  /**
   * False while the invocation must go on reading up to and including row `index` even past its
   * deadline: a part being replayed must be rebuilt whole, or its objects would differ.
   */
  canStopBefore(index: number): boolean;
  checkpoint(): SinkCheckpoint;
}

/**
 * The store refused rows with a code no retry changes (AccessForbidden, IAM's
 * AccessDeniedException, ResourceNotFound; S3's AccessDenied in direct mode): a deployment to
 * fix, not load to wait out. Retrying from the checkpoint every 30 s … 15 min would only tell
 * the user after `BACKFILL_MAX_STALLED_INVOCATIONS` invocations (about 1.5 hours), so the backfill
 * fails at once, resumable (docs/backfill.md, failures). The message names what was refused and
 * the code, `hint` what to check; never the store's own message (an IAM text names roles and
 * accounts), which is the cause, for the log.
 */
class StoreRefusedError extends SkewlessError {
  readonly hint: string;
  constructor(message: string, hint: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreRefusedError';
    this.hint = hint;
  }
}

/** Thrown when the location cannot be written at all: the backfill continues in records mode. */
class OfflineStoreNotWritableError extends SkewlessError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OfflineStoreNotWritableError';
  }
}

export type { OnlineValueCounts, PendingPart, RowSink, SinkCheckpoint, SinkEvents };
export { OfflineStoreNotWritableError, StoreRefusedError, WriteMode };

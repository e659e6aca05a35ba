import { SkewlessError } from '../errors.ts';
import type { EncodedRecord } from '../record/codec.ts';

/**
 * What every reader (CSV, JSON Lines, Parquet) hands the backfill: rows in file order, in
 * batches (one per chunk or row group, to keep per-row async overhead off the hot path), each
 * with the position just after it so a checkpoint can resume exactly there.
 */

/** Where the row after this one starts. */
interface NextPosition {
  /** Byte offset (uncompressed text only). */
  readonly byteOffset?: number;
  /** 1-based line (text formats). */
  readonly line?: number;
}

/** One data row as read. */
interface SourceRow {
  /** 0-based index among the data rows (a CSV header is not a row; blank lines are skipped). */
  readonly index: number;
  /** 1-based line where the row starts (text formats). */
  readonly line?: number;
  /**
   * 1-based data row in the file, when it is not `index + 1`: the derived replay hands rows out
   * in its own order, and a reject must still name the row of the user's file.
   */
  readonly fileRow?: number;
  /**
   * Feature name → value, ready for the schema module; undefined when `problem` is set or the
   * row comes `encoded`.
   */
  readonly values: Record<string, unknown> | undefined;
  /**
   * The row already validated and encoded for the backfill's group (the derived replay encodes
   * every event to compute its features): written as it is, not encoded again.
   */
  readonly encoded?: EncodedRecord;
  /** The row as it is in the file, for the rejects object (built only for rejected rows). */
  readonly original: () => unknown;
  /** Why the row could not even be read (malformed JSON, wrong number of CSV fields…). */
  readonly problem?: string;
  /** Set when the row exactly repeats an earlier one that is written instead (derived replay). */
  readonly duplicate?: string;
  readonly next: NextPosition;
}

/** An opened file. */
interface RowSource {
  /** Column names of a CSV header (kept in the checkpoint for byte-offset resumes). */
  readonly header: readonly string[] | undefined;
  /** True when positions carry byte offsets a later invocation can seek to. */
  readonly seekable: boolean;
  /** Rows from the start position on, in batches; stop iterating to stop reading. */
  batches(): AsyncGenerator<SourceRow[]>;
}

/**
 * The whole file cannot be backfilled (a column that is no feature, no header, not Parquet…):
 * the backfill fails with this reason in its report instead of rejecting every row.
 */
class FileRejectedError extends SkewlessError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'FileRejectedError';
  }
}

export type { NextPosition, RowSource, SourceRow };
export { FileRejectedError };

import { notUtf8 } from '../record/unicode.ts';
import { FileRejectedError } from './rowSource.ts';

/**
 * Splits a byte stream into records (lines) at the byte level, so every record knows the exact
 * byte offset where it starts and ends: an uncompressed file resumes at a checkpoint with a
 * ranged GET from that offset. Works on bytes because `\n` (0x0A) and `"` (0x22) never occur
 * inside a multi-byte UTF-8 sequence. In CSV mode a newline inside a quoted field does not end
 * the record (RFC 4180). Blank lines are skipped but counted in line numbers.
 */

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const QUOTE = 0x22;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/**
 * The longest record text read: three times the service's 350 KB record limit leaves room for
 * quoting and spacing, and no record can be longer. Past it the file is malformed (a quote that
 * never closes, a JSON document that is not JSON Lines, CR-only line ends): without the bound the
 * rest of the file would pile up in memory as one record and end as one reject.
 */
const MAX_RECORD_TEXT_BYTES = 1024 * 1024;

/** One record: its text (without the line terminator) and where it is in the file. */
interface TextRecord {
  /**
   * Decoded when read (records of a chunk are cut at once, but decoded one by one). Bytes that
   * are not UTF-8 come out as U+FFFD: check {@link TextRecord.notUtf8} before trusting it.
   */
  readonly text: string;
  /** Why the record's bytes are not UTF-8 text (`invalid byte 0xE9 at offset 3`), or undefined. */
  readonly notUtf8: string | undefined;
  /** Byte offset of the record's first byte. */
  readonly start: number;
  /** Byte offset just after its terminator: where the next record starts. */
  readonly end: number;
  /** 1-based line of its first byte. */
  readonly line: number;
  /** 1-based line where the next record starts. */
  readonly nextLine: number;
}

interface SplitterOptions {
  /** CSV: newlines inside double quotes belong to the field. */
  readonly quoteAware: boolean;
  /** Byte offset of the first byte pushed (non-zero when resuming mid-file). */
  readonly startOffset?: number;
  /** Line number of the first byte pushed. */
  readonly startLine?: number;
}

/**
 * Incremental splitter: `push()` chunks as they arrive and get the complete records back;
 * `end()` returns the last record when the file does not end with a newline.
 *
 * @example
 * ```typescript
 * import { RecordSplitter } from './shared/backfill/recordSplitter.ts';
 * const splitter = new RecordSplitter({ quoteAware: true });
 * const records = [...splitter.push(Buffer.from('a,b\n"x\ny",2\n')), ...splitter.end()];
 * // records[1].text === '"x\ny",2' and records[1].line === 2
 * ```
 */
class RecordSplitter {
  private readonly quoteAware: boolean;
  private buffer: Buffer = Buffer.alloc(0);
  /** File offset of `buffer[0]`. */
  private bufferOffset: number;
  /** Bytes of the pending record already scanned (its quotes counted). */
  private scanned = 0;
  private insideQuotes = false;
  private newlinesInRecord = 0;
  private line: number;
  private atFileStart: boolean;

  constructor(options: SplitterOptions) {
    this.quoteAware = options.quoteAware;
    this.bufferOffset = options.startOffset ?? 0;
    this.line = options.startLine ?? 1;
    this.atFileStart = this.bufferOffset === 0;
  }

  /** Feeds a chunk; returns the records it completed. */
  push(chunk: Buffer): TextRecord[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (this.atFileStart) {
      if (
        this.buffer.length < BOM.length &&
        BOM.subarray(0, this.buffer.length).equals(this.buffer)
      ) {
        return [];
      }
      this.atFileStart = false;
      if (this.buffer.subarray(0, BOM.length).equals(BOM)) {
        this.buffer = this.buffer.subarray(BOM.length);
        this.bufferOffset += BOM.length;
      }
    }
    const records: TextRecord[] = [];
    const buffer = this.buffer;
    let recordStart = 0;
    let position = this.scanned;
    let nextQuote = this.quoteAware ? buffer.indexOf(QUOTE, position) : -1;
    for (;;) {
      const newline = buffer.indexOf(NEWLINE, position);
      if (newline < 0) break;
      if (this.quoteAware) {
        // Count the quotes before this newline: an odd total means it is inside a field.
        while (nextQuote >= 0 && nextQuote < newline) {
          this.insideQuotes = !this.insideQuotes;
          nextQuote = buffer.indexOf(QUOTE, nextQuote + 1);
        }
        if (this.insideQuotes) {
          this.newlinesInRecord += 1;
          position = newline + 1;
          continue;
        }
      }
      this.emit(records, buffer, recordStart, newline, newline + 1);
      recordStart = newline + 1;
      position = recordStart;
    }
    this.buffer = buffer.subarray(recordStart);
    this.bufferOffset += recordStart;
    this.scanned = buffer.length - recordStart;
    if (this.quoteAware) {
      // Quotes after the last newline belong to the pending record: count them now.
      let q = nextQuote;
      while (q >= 0) {
        this.insideQuotes = !this.insideQuotes;
        q = buffer.indexOf(QUOTE, q + 1);
      }
    }
    if (this.buffer.length > MAX_RECORD_TEXT_BYTES) throw this.tooLong();
    // Keep the remainder small and detached from the (possibly large) chunk it came from.
    if (this.buffer.length > 0 && this.buffer.length < chunk.length / 4) {
      this.buffer = Buffer.from(this.buffer);
    }
    return records;
  }

  /** Flushes a final record that has no trailing newline. */
  end(): TextRecord[] {
    const records: TextRecord[] = [];
    if (this.buffer.length > 0) {
      this.emit(records, this.buffer, 0, this.buffer.length, this.buffer.length);
      this.bufferOffset += this.buffer.length;
      this.buffer = Buffer.alloc(0);
      this.scanned = 0;
    }
    return records;
  }

  /** The pending record passed MAX_RECORD_TEXT_BYTES: the file is malformed from its line. */
  private tooLong(): FileRejectedError {
    const line = this.line;
    return new FileRejectedError(
      this.insideQuotes
        ? `line ${line}: a quoted field is still open after 1 MiB: an unterminated quote (") makes the rest of the file one field; the CSV is malformed from line ${line}`
        : `line ${line} runs past 1 MiB without a line end (\\n): no record is that long; is each record on its own line (JSON Lines: one object per line; CR-only line ends are not read)?`
    );
  }

  /** True when the input ended inside a quoted field (a malformed CSV file). */
  get unterminatedQuote(): boolean {
    return this.insideQuotes;
  }

  private emit(
    records: TextRecord[],
    buffer: Buffer,
    start: number,
    terminator: number,
    next: number
  ): void {
    let end = terminator;
    if (end > start && buffer[end - 1] === CARRIAGE_RETURN) end -= 1;
    const line = this.line;
    this.line += 1 + this.newlinesInRecord;
    this.newlinesInRecord = 0;
    this.insideQuotes = false;
    if (isBlank(buffer, start, end)) return;
    records.push(
      new ChunkRecord(
        buffer,
        start,
        end,
        this.bufferOffset + start,
        this.bufferOffset + next,
        line,
        this.line
      )
    );
  }
}

/**
 * A record that decodes its text only when asked: a 64 KiB chunk holds hundreds of records, and
 * decoding them all up front keeps them alive together, which makes the GC promote them (memory
 * then grows with the run's length instead of staying flat).
 */
class ChunkRecord implements TextRecord {
  readonly #buffer: Buffer;
  readonly #from: number;
  readonly #to: number;
  readonly start: number;
  readonly end: number;
  readonly line: number;
  readonly nextLine: number;

  constructor(
    buffer: Buffer,
    from: number,
    to: number,
    start: number,
    end: number,
    line: number,
    nextLine: number
  ) {
    this.#buffer = buffer;
    this.#from = from;
    this.#to = to;
    this.start = start;
    this.end = end;
    this.line = line;
    this.nextLine = nextLine;
  }

  get text(): string {
    return this.#buffer.toString('utf8', this.#from, this.#to);
  }

  get notUtf8(): string | undefined {
    return notUtf8(this.#buffer.subarray(this.#from, this.#to));
  }
}

function isBlank(buffer: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = buffer[i];
    if (b !== 0x20 && b !== 0x09 && b !== CARRIAGE_RETURN) return false;
  }
  return true;
}

export type { SplitterOptions, TextRecord };
export { RecordSplitter };

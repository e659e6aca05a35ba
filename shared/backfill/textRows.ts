import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { parseJsonAsSent } from '../record/jsonAsSent.ts';
import { MAX_NESTING_DEPTH, nestsDeeperThan } from '../record/jsonDepth.ts';
import type { FeatureGroup } from '../schema/index.ts';
import { featureResolver, mapColumns, renameKeys } from './columnMapping.ts';
import { parseCsvRecord } from './csv.ts';
import { RecordSplitter, type TextRecord } from './recordSplitter.ts';
import {
  FileRejectedError,
  type NextPosition,
  type RowSource,
  type SourceRow,
} from './rowSource.ts';

/**
 * Readers of CSV (with a header row) and JSON Lines over a byte stream, gzip or not. Memory is
 * one network chunk plus one partial record, whatever the file size.
 */

/** Where an opened text file starts reading. */
interface TextStart {
  /** Index of the first row to return; earlier rows are skipped (gzip resumes). */
  readonly index: number;
  /** When set, `bytes` already starts at this offset of the (uncompressed) file. */
  readonly byteOffset?: number;
  readonly line?: number;
  /** The CSV header read by an earlier invocation (required with `byteOffset` > 0 for CSV). */
  readonly header?: readonly string[];
}

const GZIP_MAGIC = [0x1f, 0x8b] as const;
/**
 * Rows per batch. Small on purpose: fewer rows alive when the GC runs means less promoted to
 * the old generation, which keeps peak memory low and flat in the file size.
 */
const BATCH_ROWS = 64;

/** Peeks at the first chunk: gzip magic bytes mean gzip, whatever the key and headers say. */
async function sniffGzip(
  bytes: AsyncIterable<Buffer>
): Promise<{ gzip: boolean; bytes: AsyncGenerator<Buffer> }> {
  const iterator = bytes[Symbol.asyncIterator]();
  const first = await iterator.next();
  const head: Buffer | undefined = first.done ? undefined : first.value;
  const gzip = head !== undefined && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      if (head !== undefined) yield head;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await iterator.return?.();
    }
  }
  return { gzip, bytes: replay() };
}

/** Decompresses gzip (multi-member files included); errors of either side surface when iterating. */
function gunzip(bytes: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const inflate = createGunzip();
  pipeline(Readable.from(bytes), inflate, () => {
    // Errors are delivered to the consumer through the gunzip stream itself.
  });
  return inflate;
}

/** Rows of some records in batches of `size`; `toRow` returns undefined for a skipped record. */
function* batchRows(
  records: readonly TextRecord[],
  size: number,
  toRow: (record: TextRecord) => SourceRow | undefined
): Generator<SourceRow[]> {
  let batch: SourceRow[] = [];
  for (const record of records) {
    const row = toRow(record);
    if (row === undefined) continue;
    batch.push(row);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

async function* recordBatches(
  bytes: AsyncIterable<Buffer>,
  splitter: RecordSplitter
): AsyncGenerator<TextRecord[]> {
  for await (const chunk of bytes) {
    const records = splitter.push(chunk);
    if (records.length > 0) yield records;
  }
  const last = splitter.end();
  if (last.length > 0) yield last;
}

/**
 * The file's records as the reader should see them: decompressed when gzip is declared or sniffed
 * (text resumed by byte offset is known to be uncompressed), split from the resume point when
 * seeking. `resumed`: the records start mid-file, so rows count from `start.index`.
 */
async function openRecords(
  options: TextSourceOptions,
  quoteAware: boolean
): Promise<{ records: AsyncGenerator<TextRecord[]>; gzip: boolean; resumed: boolean }> {
  const { bytes, start } = options;
  let plain: { bytes: AsyncIterable<Buffer>; gzip: boolean } = { bytes, gzip: false };
  if (start.byteOffset === undefined || start.byteOffset <= 0) {
    const sniffed = await sniffGzip(bytes);
    const gzip = options.declaredGzip || sniffed.gzip;
    plain = { bytes: gzip ? gunzip(sniffed.bytes) : sniffed.bytes, gzip };
  }
  const resumeAt = plain.gzip ? undefined : start.byteOffset;
  const splitter = new RecordSplitter({
    quoteAware,
    startOffset: resumeAt ?? 0,
    startLine: resumeAt !== undefined ? start.line : 1,
  });
  return {
    records: recordBatches(plain.bytes, splitter),
    gzip: plain.gzip,
    resumed: resumeAt !== undefined && resumeAt > 0,
  };
}

interface TextSourceOptions {
  readonly group: FeatureGroup;
  /** The object's bytes from `start.byteOffset` (or 0). */
  readonly bytes: AsyncIterable<Buffer>;
  readonly declaredGzip: boolean;
  readonly start: TextStart;
}

/**
 * For a record read over several lines (a quote opened in it and never closed until the file
 * ended, so every line after it is part of this one row): which lines, so the single reject does
 * not read as one bad row when the rest of the file is in it.
 */
function spannedLines(record: TextRecord): string {
  const newlines = record.text.replace(/\r?\n$/, '').split('\n').length - 1;
  if (newlines === 0) return '';
  return `: the quote never closes, so lines ${record.line}-${record.line + newlines} (${newlines + 1} lines, to the end of the file) were read as this one row; the rows in them are not written`;
}

/** What to do about text that is not UTF-8: a spreadsheet's "CSV" is often Windows-1252. */
const SAVE_AS_UTF8 = '(a Windows-1252 or Latin-1 export?): save the file as UTF-8';

/**
 * The reject of a record whose bytes are not UTF-8, or undefined when they are: read as they
 * are, they would turn into U+FFFD and the row would be written under another id or value.
 */
function notUtf8Row(record: TextRecord, index: number, next: NextPosition): SourceRow | undefined {
  const invalid = record.notUtf8;
  if (invalid === undefined) return undefined;
  const text = record.text;
  return {
    index,
    line: record.line,
    values: undefined,
    original: () => text,
    problem: `the row is not UTF-8 text: ${invalid} of the row ${SAVE_AS_UTF8}`,
    next,
  };
}

/**
 * Opens a CSV file: reads and maps the header (failing the file when a column is not a
 * feature), then returns rows. A row whose field count differs from the header's is returned
 * with a `problem` and goes to the rejects.
 *
 * @example
 * ```typescript
 * import { openCsvSource } from './shared/backfill/textRows.ts';
 * import { cards } from './shared/definitions.ts';
 * const bytes = [Buffer.from('card_id,event_time,txn_count_7d\nc1,2025-01-01T00:00:00Z,3\n')];
 * const source = await openCsvSource({ group: cards, bytes, declaredGzip: false, start: { index: 0 } });
 * for await (const batch of source.batches()) console.log(batch[0]?.values);
 * ```
 */
async function openCsvSource(options: TextSourceOptions): Promise<RowSource> {
  const { start } = options;
  const plain = await openRecords(options, true);
  const batches = plain.records;
  let pending: TextRecord[] = [];
  let header = plain.resumed ? start.header : undefined;
  if (header === undefined) {
    const first = await batches.next();
    if (first.done) {
      return { header: [], seekable: !plain.gzip, batches: async function* () {} };
    }
    const [headerRecord, ...rest] = first.value;
    pending = rest;
    const invalid = headerRecord?.notUtf8;
    if (invalid !== undefined) {
      throw new FileRejectedError(
        `the CSV header (line ${headerRecord?.line}) is not UTF-8 text: ${invalid} of the line ${SAVE_AS_UTF8}`
      );
    }
    const parsed = parseCsvRecord(headerRecord?.text ?? '');
    if (!parsed.ok) throw new FileRejectedError(`the CSV header cannot be read: ${parsed.reason}`);
    header = parsed.fields.map((f) => (f ?? '').trim());
  }
  const columns = header;
  const mapping = mapColumns(options.group, columns);
  if (!mapping.ok) throw new FileRejectedError(mapping.reason);
  const features = mapping.features;
  const skipUntil = start.index;
  // Rows are counted from the resume point when seeking, from the file start otherwise.
  let index = plain.resumed ? start.index : 0;

  const toRow = (record: TextRecord): SourceRow => {
    const next = { byteOffset: plain.gzip ? undefined : record.end, line: record.nextLine };
    const rowIndex = index;
    index += 1;
    const undecodable = notUtf8Row(record, rowIndex, next);
    if (undecodable !== undefined) return undecodable;
    const text = record.text;
    const parsed = parseCsvRecord(text);
    if (!parsed.ok) {
      return {
        index: rowIndex,
        line: record.line,
        values: undefined,
        original: () => text,
        problem: `malformed CSV: ${parsed.reason}${spannedLines(record)}`,
        next,
      };
    }
    const fields = parsed.fields;
    const original = () => {
      if (fields.length !== columns.length) return text;
      const row: Record<string, string> = {};
      for (let c = 0; c < columns.length; c++) row[columns[c] as string] = fields[c] ?? '';
      return row;
    };
    if (fields.length !== columns.length) {
      return {
        index: rowIndex,
        line: record.line,
        values: undefined,
        original,
        problem: `the row has ${fields.length} fields, the header has ${columns.length}`,
        next,
      };
    }
    const values: Record<string, unknown> = {};
    for (let c = 0; c < features.length; c++) {
      const value = fields[c];
      if (value !== null && value !== undefined) values[features[c] as string] = value;
    }
    return { index: rowIndex, line: record.line, values, original, next };
  };

  const rowBatches = (records: readonly TextRecord[]) =>
    batchRows(records, BATCH_ROWS, (record) => {
      if (index >= skipUntil) return toRow(record);
      index += 1;
      return undefined;
    });

  async function* rows(): AsyncGenerator<SourceRow[]> {
    try {
      let records = pending;
      pending = [];
      for (;;) {
        yield* rowBatches(records);
        const next = await batches.next();
        if (next.done) break;
        records = next.value;
      }
    } finally {
      await batches.return(undefined);
    }
  }
  return { header: columns, seekable: !plain.gzip, batches: rows };
}

/**
 * Opens a JSON Lines file: one JSON object per line; keys are matched to features as CSV
 * columns are, keys that are no feature make that row a reject.
 */
async function openJsonLinesSource(options: TextSourceOptions): Promise<RowSource> {
  const { start } = options;
  const plain = await openRecords(options, false);
  const resolve = featureResolver(options.group);
  const skipUntil = start.index;
  let index = plain.resumed ? start.index : 0;

  const toRow = (record: TextRecord): SourceRow => {
    const next = { byteOffset: plain.gzip ? undefined : record.end, line: record.nextLine };
    const rowIndex = index;
    index += 1;
    const undecodable = notUtf8Row(record, rowIndex, next);
    if (undecodable !== undefined) return undecodable;
    const text = record.text;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return {
        index: rowIndex,
        line: record.line,
        values: undefined,
        original: () => text,
        problem: `malformed JSON: ${(error as Error).message}`,
        next,
      };
    }
    if (nestsDeeperThan(parsed)) {
      // Its text, not the value: writing the value back out would overflow the stack again.
      return {
        index: rowIndex,
        line: record.line,
        values: undefined,
        original: () => text,
        problem: `the line nests deeper than ${MAX_NESTING_DEPTH} levels (a row holds flat feature values, not deeply nested JSON)`,
        next,
      };
    }
    // A reject shows the line parsed again with its numbers as written: `parsed` has a number
    // beyond 2^53 rounded (12345678901234567890 → 12345678901234567000), which the user never sent.
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return {
        index: rowIndex,
        line: record.line,
        values: undefined,
        original: () => parseJsonAsSent(text),
        problem: 'the line is not a JSON object',
        next,
      };
    }
    const renamed = renameKeys(parsed as Record<string, unknown>, resolve);
    if (!renamed.ok) {
      return {
        index: rowIndex,
        line: record.line,
        values: undefined,
        original: () => parseJsonAsSent(text),
        problem: renamed.reason,
        next,
      };
    }
    return {
      index: rowIndex,
      line: record.line,
      values: renamed.values,
      original: () => parseJsonAsSent(text),
      next,
    };
  };

  const rowBatches = (records: readonly TextRecord[]) =>
    batchRows(records, BATCH_ROWS, (record) => {
      if (index >= skipUntil) return toRow(record);
      index += 1;
      return undefined;
    });

  async function* rows(): AsyncGenerator<SourceRow[]> {
    const batches = plain.records;
    try {
      for await (const records of batches) {
        yield* rowBatches(records);
      }
    } finally {
      await batches.return(undefined);
    }
  }
  return { header: undefined, seekable: !plain.gzip, batches: rows };
}

export type { TextSourceOptions, TextStart };
export { openCsvSource, openJsonLinesSource };

import {
  type AsyncBuffer,
  type ColumnData,
  type DecodedArray,
  type FileMetaData,
  type ParquetParsers,
  parquetMetadataAsync,
  parquetRead,
  parquetSchema,
  type SchemaElement,
} from 'hyparquet';
import { formatIsoEventTime, NANOS_PER_MILLI } from '../record/eventTime.ts';
import { notUtf8 } from '../record/unicode.ts';
import type { FeatureGroup } from '../schema/index.ts';
import { jsonSafe, mapColumns, normalizeCell } from './columnMapping.ts';
import { FileRejectedError, type RowSource, type SourceRow } from './rowSource.ts';

/**
 * Parquet reader: the footer first (hyparquet reads the file's tail through the AsyncBuffer),
 * then one row group at a time, column chunks fetched with ranged GETs. Memory is one row group
 * in columnar form, whatever the file size. Timestamps are decoded to ISO-8601 text with their
 * full precision (hyparquet's default `Date` would truncate microseconds), so event times and
 * String features keep every digit.
 */

/** Rows per batch handed to the backfill (row objects exist for one batch at a time). */
const BATCH_ROWS = 128;
const NANOS_PER_MICRO = 1000n;

const PARSERS: Partial<ParquetParsers> = {
  timestampFromMilliseconds: (millis: bigint) =>
    formatIsoEventTime(BigInt(millis) * NANOS_PER_MILLI),
  timestampFromMicroseconds: (micros: bigint) =>
    formatIsoEventTime(BigInt(micros) * NANOS_PER_MICRO),
  timestampFromNanoseconds: (nanos: bigint) => formatIsoEventTime(BigInt(nanos)),
};

/**
 * A STRING (or plain BYTE_ARRAY) cell whose bytes are not UTF-8: its row is rejected, never
 * written with U+FFFD in place of the bad bytes (another id or value than the file's).
 */
class NotUtf8Cell {
  /** Decoded leniently, for the rejects. */
  readonly text: string;
  readonly reason: string;
  constructor(text: string, reason: string) {
    this.text = text;
    this.reason = reason;
  }
}

/** Checks the bytes as it decodes them, once per cell; the lenient one reads only those refused. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder();

/** Row-group parsers: {@link PARSERS}, and text checked for UTF-8 (hyparquet's decoder is lenient). */
const ROW_PARSERS: Partial<ParquetParsers> = {
  ...PARSERS,
  stringFromBytes: (bytes: Uint8Array | undefined) => {
    if (bytes === undefined) return undefined;
    try {
      return strictUtf8.decode(bytes);
    } catch {
      return new NotUtf8Cell(lenientUtf8.decode(bytes), notUtf8(bytes) as string);
    }
  },
};

interface ParquetSourceOptions {
  readonly group: FeatureGroup;
  readonly file: AsyncBuffer;
  /** Index of the first row to return (a resume point). */
  readonly startIndex: number;
}

/**
 * The double nearest a FLOAT (32-bit) cell, written with the fewest digits that read back as
 * the same float: 0.1f decodes to 0.100000001490116…, while a JSON export of the same column
 * (Spark's `to_json`, Java's `Float.toString`, numpy's float32 repr) says 0.1, and that is what
 * the stream would have written.
 */
function shortestFloat32(value: number): number {
  if (!Number.isFinite(value)) return value;
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

/** True for a DECIMAL column hyparquet would turn into a double (the physical types read raw here). */
function isExactDecimal(element: SchemaElement): boolean {
  const decimal = element.converted_type === 'DECIMAL' || element.logical_type?.type === 'DECIMAL';
  return (
    decimal &&
    (element.type === 'INT32' ||
      element.type === 'INT64' ||
      element.type === 'FIXED_LEN_BYTE_ARRAY')
  );
}

/** A big-endian two's-complement integer (DECIMAL in FIXED_LEN_BYTE_ARRAY). */
function signedBigEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  const bits = BigInt(bytes.length * 8);
  return bytes.length > 0 && (bytes[0] as number) >= 0x80 ? value - (1n << bits) : value;
}

/**
 * The exact decimal text of an unscaled DECIMAL value, trailing fractional zeros dropped
 * (`123450` at scale 2 → `1234.5`): the schema module reads it as the stream reads the same
 * literal, exactly for Integral (int64 in full) and correctly rounded for Fractional.
 */
function decimalText(raw: unknown, scale: number): unknown {
  let unscaled: bigint;
  if (typeof raw === 'bigint') unscaled = raw;
  else if (typeof raw === 'number') unscaled = BigInt(raw);
  else if (raw instanceof Uint8Array) unscaled = signedBigEndian(raw);
  else return raw;
  const sign = unscaled < 0n ? '-' : '';
  const digits = (unscaled < 0n ? -unscaled : unscaled).toString();
  if (scale <= 0) return `${sign}${digits}${'0'.repeat(-scale)}`;
  const padded = digits.padStart(scale + 1, '0');
  const fraction = padded.slice(-scale).replace(/0+$/, '');
  return `${sign}${padded.slice(0, -scale)}${fraction.length > 0 ? `.${fraction}` : ''}`;
}

/**
 * The metadata the row groups are decoded with: DECIMAL columns without their annotation, so
 * hyparquet hands over the unscaled integers instead of dividing them into a double (which
 * loses digits beyond 2^53 and rounds twice); `cellReader` writes them as exact text.
 */
function rawDecimalMetadata(metadata: FileMetaData): FileMetaData {
  if (!metadata.schema.some(isExactDecimal)) return metadata;
  return {
    ...metadata,
    schema: metadata.schema.map((element) => {
      if (!isExactDecimal(element)) return element;
      const { converted_type: _converted, logical_type: _logical, ...raw } = element;
      return raw;
    }),
  };
}

/**
 * How a column's decoded cells become values for the schema module. A DATE is `YYYY-MM-DD` (what
 * a JSON export of it says) for a String feature, and midnight UTC for the event time, which
 * needs a time of day.
 */
function cellReader(element: SchemaElement, isEventTime: boolean): (cell: unknown) => unknown {
  if (element.converted_type === 'DATE' || element.logical_type?.type === 'DATE') {
    return (cell) =>
      cell instanceof Date && !isEventTime ? cell.toISOString().slice(0, 10) : normalizeCell(cell);
  }
  if (isExactDecimal(element)) {
    const scale = element.scale ?? 0;
    return (cell) => decimalText(cell, scale);
  }
  if (element.type === 'FLOAT') {
    return (cell) => normalizeCell(typeof cell === 'number' ? shortestFloat32(cell) : cell);
  }
  return normalizeCell;
}

/**
 * The file's reads, watched: an error thrown by the file itself (S3: a dropped connection, the
 * source gone) is the transport's and keeps its own meaning (retried, or the source is gone);
 * any other error while decoding is the file's content, and fails the file.
 */
interface WatchedFile {
  readonly file: AsyncBuffer;
  readonly failedRead: (error: unknown) => boolean;
}

function watchReads(file: AsyncBuffer): WatchedFile {
  const readErrors = new WeakSet<object>();
  return {
    file: {
      byteLength: file.byteLength,
      async slice(start, end) {
        try {
          return await file.slice(start, end);
        } catch (error) {
          if (typeof error === 'object' && error !== null) readErrors.add(error);
          throw error;
        }
      },
    },
    failedRead: (error) => typeof error === 'object' && error !== null && readErrors.has(error),
  };
}

/** "PAR1", a footer length and "PAR1": the smallest a Parquet file can be. */
const MIN_PARQUET_BYTES = 12;

async function readMetadata(watched: WatchedFile): Promise<FileMetaData> {
  const size = watched.file.byteLength;
  if (size < MIN_PARQUET_BYTES) {
    // hyparquet would say "Offset is outside the bounds of the DataView".
    throw new FileRejectedError(
      `not a readable Parquet file: it is ${size} bytes long, too short for Parquet (an empty or failed export?)`
    );
  }
  try {
    return await parquetMetadataAsync(watched.file, { parsers: PARSERS });
  } catch (error) {
    if (watched.failedRead(error)) throw error;
    throw new FileRejectedError(`not a readable Parquet file: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * One column of a row group as hyparquet decoded it: its chunks (pages) in row order, kept as
 * they are (typed arrays for numbers), never copied into one array, so a row group costs its
 * decoded size once. Rows are read in increasing order, so a cursor finds each row's chunk.
 */
class DecodedColumn {
  private readonly chunks: { rowStart: number; rowEnd: number; data: DecodedArray }[] = [];
  private cursor = 0;

  add(chunk: ColumnData): void {
    this.chunks.push({ rowStart: chunk.rowStart, rowEnd: chunk.rowEnd, data: chunk.columnData });
  }

  /** The value of absolute row `row` (null when the column has no value there). */
  at(row: number): unknown {
    let chunk = this.chunks[this.cursor];
    if (chunk === undefined || row < chunk.rowStart || row >= chunk.rowEnd) {
      this.cursor = this.chunks.findIndex((c) => row >= c.rowStart && row < c.rowEnd);
      chunk = this.chunks[this.cursor];
      if (chunk === undefined) {
        this.cursor = 0;
        return null;
      }
    }
    return chunk.data[row - chunk.rowStart] ?? null;
  }
}

/**
 * Reads one row group's columns (only their column chunks are fetched).
 *
 * @throws FileRejectedError when its data cannot be decoded (corrupt pages, an unsupported
 *   encoding); an error of the file's reads is rethrown as it is
 */
async function readRowGroup(
  watched: WatchedFile,
  metadata: FileMetaData,
  columns: readonly string[],
  group: { readonly ordinal: number; readonly start: number; readonly rows: number }
): Promise<DecodedColumn[]> {
  const decoded = columns.map(() => new DecodedColumn());
  const position = new Map(columns.map((c, i) => [c, i]));
  try {
    await parquetRead({
      file: watched.file,
      metadata,
      columns: [...columns],
      rowStart: group.start,
      rowEnd: group.start + group.rows,
      parsers: ROW_PARSERS,
      onChunk: (chunk: ColumnData) => decoded[position.get(chunk.columnName) ?? -1]?.add(chunk),
    });
  } catch (error) {
    if (watched.failedRead(error)) throw error;
    throw new FileRejectedError(
      `Parquet row group ${group.ordinal} (rows ${group.start + 1}-${group.start + group.rows}) cannot be decoded: ${(error as Error).message}`,
      { cause: error }
    );
  }
  return decoded;
}

/**
 * Opens a Parquet file: maps its top-level columns to features (failing the file on a column
 * that is no feature) and returns rows from `startIndex` on.
 *
 * @example
 * ```typescript
 * import { asyncBufferFromFile } from 'hyparquet';
 * import { openParquetSource } from './shared/backfill/parquetRows.ts';
 * import { cards } from './shared/definitions.ts';
 * const file = await asyncBufferFromFile('cards.parquet');
 * const source = await openParquetSource({ group: cards, file, startIndex: 0 });
 * for await (const batch of source.batches()) console.log(batch.length);
 * ```
 */
async function openParquetSource(options: ParquetSourceOptions): Promise<RowSource> {
  const { group, startIndex } = options;
  const watched = watchReads(options.file);
  const metadata = await readMetadata(watched);
  const topLevel = parquetSchema(metadata).children;
  const columns = topLevel.map((c) => c.element.name);
  const mapping = mapColumns(group, columns);
  if (!mapping.ok) throw new FileRejectedError(mapping.reason);
  const features = mapping.features;
  const readCell = topLevel.map((c, i) => cellReader(c.element, features[i] === group.eventTime));
  const readingMetadata = rawDecimalMetadata(metadata);

  async function* batches(): AsyncGenerator<SourceRow[]> {
    let groupStart = 0;
    let ordinal = 0;
    for (const rowGroup of metadata.row_groups) {
      ordinal += 1;
      const groupRows = Number(rowGroup.num_rows);
      const groupEnd = groupStart + groupRows;
      if (groupEnd <= startIndex || groupRows === 0) {
        groupStart = groupEnd;
        continue;
      }
      const data = await readRowGroup(watched, readingMetadata, columns, {
        ordinal,
        start: groupStart,
        rows: groupRows,
      });
      const rowOf = (r: number): SourceRow => {
        const index = groupStart + r;
        const values: Record<string, unknown> = {};
        const notUtf8Cells: string[] = [];
        for (let c = 0; c < columns.length; c++) {
          const cell = data[c]?.at(index);
          if (cell instanceof NotUtf8Cell) {
            notUtf8Cells.push(
              `${columns[c]}: the Parquet value is not UTF-8 text: ${cell.reason} of the value (a Windows-1252 or Latin-1 source?)`
            );
          } else if (cell !== null && cell !== undefined)
            values[features[c] as string] = (readCell[c] as (cell: unknown) => unknown)(cell);
        }
        const original = () => {
          const row: Record<string, unknown> = {};
          for (let c = 0; c < columns.length; c++) {
            const cell = data[c]?.at(index) ?? null;
            row[columns[c] as string] = jsonSafe(
              cell === null
                ? null
                : cell instanceof NotUtf8Cell
                  ? cell.text
                  : (readCell[c] as (cell: unknown) => unknown)(cell)
            );
          }
          return row;
        };
        if (notUtf8Cells.length > 0) {
          return { index, values: undefined, original, problem: notUtf8Cells.join('; '), next: {} };
        }
        return { index, values, original, next: {} };
      };
      // Row objects are built a slice at a time; the group itself stays columnar.
      for (let from = Math.max(0, startIndex - groupStart); from < groupRows; from += BATCH_ROWS) {
        const batch: SourceRow[] = [];
        for (let r = from; r < Math.min(groupRows, from + BATCH_ROWS); r++) batch.push(rowOf(r));
        yield batch;
      }
      groupStart = groupEnd;
    }
  }
  return { header: undefined, seekable: false, batches };
}

/**
 * The rows a Parquet file holds, from its footer (nothing else is read), counted as
 * {@link openParquetSource} reads them: the rows of its row groups.
 *
 * @throws FileRejectedError when the file is no readable Parquet
 */
async function parquetRowCount(file: AsyncBuffer): Promise<number> {
  const metadata = await readMetadata(watchReads(file));
  return metadata.row_groups.reduce((sum, rowGroup) => sum + Number(rowGroup.num_rows), 0);
}

export type { ParquetSourceOptions };
export { openParquetSource, parquetRowCount };

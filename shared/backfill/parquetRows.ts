import {
  type AsyncBuffer,
  type ColumnData,
  type DecodedArray,
  type FileMetaData,
  type ParquetParsers,
  parquetMetadataAsync,
  parquetRead,
  parquetSchema,
} from 'hyparquet';
import { formatIsoEventTime, NANOS_PER_MILLI } from '../record/eventTime.ts';
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

interface ParquetSourceOptions {
  readonly group: FeatureGroup;
  readonly file: AsyncBuffer;
  /** Index of the first row to return (a resume point). */
  readonly startIndex: number;
}

async function readMetadata(file: AsyncBuffer): Promise<FileMetaData> {
  try {
    return await parquetMetadataAsync(file, { parsers: PARSERS });
  } catch (error) {
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

/** Reads one row group's columns (only their column chunks are fetched). */
async function readRowGroup(
  file: AsyncBuffer,
  metadata: FileMetaData,
  columns: readonly string[],
  groupStart: number,
  groupRows: number
): Promise<DecodedColumn[]> {
  const decoded = columns.map(() => new DecodedColumn());
  const position = new Map(columns.map((c, i) => [c, i]));
  await parquetRead({
    file,
    metadata,
    columns: [...columns],
    rowStart: groupStart,
    rowEnd: groupStart + groupRows,
    parsers: PARSERS,
    onChunk: (chunk: ColumnData) => decoded[position.get(chunk.columnName) ?? -1]?.add(chunk),
  });
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
  const { file, group, startIndex } = options;
  const metadata = await readMetadata(file);
  const columns = parquetSchema(metadata).children.map((c) => c.element.name);
  const mapping = mapColumns(group, columns);
  if (!mapping.ok) throw new FileRejectedError(mapping.reason);
  const features = mapping.features;

  async function* batches(): AsyncGenerator<SourceRow[]> {
    let groupStart = 0;
    for (const rowGroup of metadata.row_groups) {
      const groupRows = Number(rowGroup.num_rows);
      const groupEnd = groupStart + groupRows;
      if (groupEnd <= startIndex || groupRows === 0) {
        groupStart = groupEnd;
        continue;
      }
      const data = await readRowGroup(file, metadata, columns, groupStart, groupRows);
      const rowOf = (r: number): SourceRow => {
        const index = groupStart + r;
        const values: Record<string, unknown> = {};
        for (let c = 0; c < columns.length; c++) {
          const cell = data[c]?.at(index);
          if (cell !== null && cell !== undefined)
            values[features[c] as string] = normalizeCell(cell);
        }
        const original = () => {
          const row: Record<string, unknown> = {};
          for (let c = 0; c < columns.length; c++) {
            row[columns[c] as string] = jsonSafe(data[c]?.at(index) ?? null);
          }
          return row;
        };
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

export type { ParquetSourceOptions };
export { openParquetSource };

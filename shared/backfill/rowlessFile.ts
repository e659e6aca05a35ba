import type { AsyncBuffer } from 'hyparquet';
import type { FeatureGroup } from '../schema/index.ts';
import { parquetRowCount } from './parquetRows.ts';
import { FileRejectedError } from './rowSource.ts';
import { openCsvSource, openJsonLinesSource } from './textRows.ts';
import { Compression, type SourceFormat } from './types.ts';

/** A drop's file, opened the two ways the readers need it. */
interface DropFile {
  /** Its bytes from the start (text formats). */
  bytes(): AsyncIterable<Buffer>;
  /** Ranged reads (Parquet). */
  buffer(): Promise<AsyncBuffer>;
}

/**
 * Why a drop's file has no data row, as the backfill's readers count rows (a CSV header is no
 * row, blank lines are skipped, gzip is read through), or undefined when it has one. A file the
 * readers refuse (a header column that is no feature, no Parquet, corrupt gzip) is undefined
 * too: the drop's report says why, as it does when the file is dropped into the bucket. Only
 * the first row of a text file is read, and only the footer of a Parquet file.
 *
 * @example
 * ```typescript
 * import { createReadStream } from 'node:fs';
 * import { asyncBufferFromFile } from 'hyparquet';
 * import { rowlessReason } from './shared/backfill/rowlessFile.ts';
 * import { cards } from './shared/definitions.ts';
 * const file = { bytes: () => createReadStream('h.csv'), buffer: () => asyncBufferFromFile('h.csv') };
 * await rowlessReason(file, 'csv', 'none', cards); // 'a header row and nothing after it'
 * ```
 */
async function rowlessReason(
  file: DropFile,
  format: SourceFormat,
  compression: Compression,
  group: FeatureGroup
): Promise<string | undefined> {
  try {
    if (format === 'parquet') {
      return (await parquetRowCount(await file.buffer())) === 0
        ? 'a Parquet file of 0 rows'
        : undefined;
    }
    const options = {
      group,
      bytes: file.bytes(),
      declaredGzip: compression === Compression.Gzip,
      start: { index: 0 },
    };
    const source =
      format === 'csv' ? await openCsvSource(options) : await openJsonLinesSource(options);
    const batches = source.batches();
    const first = await batches.next();
    await batches.return(undefined);
    if (first.done !== true) return undefined;
    return format === 'csv' && (source.header?.length ?? 0) > 0
      ? 'a header row and nothing after it'
      : 'only blank lines';
  } catch (error) {
    if (error instanceof FileRejectedError) return undefined;
    throw error;
  }
}

export type { DropFile };
export { rowlessReason };

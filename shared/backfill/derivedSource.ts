/**
 * The derived mode of the S3 backfill: a file under `backfill/<group>/derive/` is the raw event
 * history of a group with derived features. This row source wraps the file's reader: it reads
 * every row, validates it with the schema module, replays the valid ones with `replayDerived`
 * (event-time order per entity, the same state and `computeDerived` as ingest) and hands the
 * backfill the derived records as rows, which it then writes offline-only as usual.
 *
 * Rows it hands out, in a fixed order (so a checkpoint's row index resumes exactly, by replaying
 * the file again and skipping that many): rows the reader could not read or the schema module
 * rejects (the backfill rejects them, with their line), rows whose id repeats an earlier one, in
 * file order — with different content: rejected (the first in file order wins); exactly:
 * marked `duplicate` (counted in the report's `rowsDuplicate`, not written again) — then one row per distinct event,
 * handed over `encoded` (each row is encoded once, for the replay). Every input
 * row is therefore counted once: written, rejected or duplicate.
 */

import type { DerivedDefinition } from '../derived/define.ts';
import { replayDerived } from '../derived/replay.ts';
import { derivedRegistry } from '../derivedRegistry.ts';
import { type EncodedRecord, encodeRecord, wireInput } from '../record/codec.ts';
import type { EventTimeBound } from '../record/eventTime.ts';
import type { FeatureGroup } from '../schema/index.ts';
import { parseBackfillKey } from './objectKey.ts';
import { FileRejectedError, type RowSource, type SourceRow } from './rowSource.ts';

/** The folder below `backfill/<group>/` that selects the derived mode. */
const DERIVE_FOLDER = 'derive/';

/** Rows per batch handed to the backfill. */
const BATCH_ROWS = 1000;

/**
 * Whether a backfill file (its key below `backfill/<group>/`) asks for derived features.
 *
 * @example
 * ```typescript
 * isDeriveFile('derive/payments-2025.jsonl'); // true
 * isDeriveFile('payments-2025.jsonl'); // false
 * ```
 */
function isDeriveFile(file: string): boolean {
  return file.startsWith(DERIVE_FOLDER);
}

/**
 * The derived definition a backfill object asks for: undefined for a plain backfill, the group's
 * definition for a key under `backfill/<group>/derive/`.
 *
 * @throws FileRejectedError when the key asks for derived features the group does not have
 */
function derivedDefinitionOf(key: string, group: FeatureGroup): DerivedDefinition | undefined {
  const file = parseBackfillKey(key)?.file;
  if (file === undefined || !isDeriveFile(file)) return undefined;
  const definition = derivedRegistry.forGroup(group.name);
  if (definition === undefined) {
    throw new FileRejectedError(
      `"${group.name}" has no derived features (shared/definitions.ts); backfill its rows outside ${DERIVE_FOLDER}`
    );
  }
  return definition;
}

/** Where a row read from the file is in it: its data row (1-based) and its line (text formats). */
function placeInFile(row: SourceRow | undefined): Pick<SourceRow, 'fileRow' | 'line'> {
  if (row === undefined) return {};
  return {
    fileRow: row.fileRow ?? row.index + 1,
    ...(row.line !== undefined ? { line: row.line } : {}),
  };
}

/**
 * Wraps a reader opened at the start of the file. `skip` rows of the derived sequence are left
 * out (a resumed backfill's row index).
 *
 * @example
 * ```typescript
 * const source = derivedRowSource(await openJsonLinesSource({ ... start: { index: 0 } }), cardVelocities, 0);
 * for await (const batch of source.batches()) for (const row of batch) write(row.values);
 * ```
 */
function derivedRowSource(
  source: RowSource,
  definition: DerivedDefinition,
  skip: number,
  eventTimeBound?: EventTimeBound
): RowSource {
  async function* batches(): AsyncGenerator<SourceRow[]> {
    const passThrough: SourceRow[] = [];
    const valid: EncodedRecord[] = [];
    const lineOf = new Map<EncodedRecord, SourceRow>();
    for await (const batch of source.batches()) {
      for (const row of batch) {
        const encoded =
          row.values === undefined
            ? undefined
            : encodeRecord(definition.source, row.values, { eventTimeBound });
        if (encoded === undefined || !encoded.ok) {
          passThrough.push(row);
          continue;
        }
        valid.push(encoded.value);
        lineOf.set(encoded.value, row);
      }
    }
    const { records, inputOf, skipped } = replayDerived(definition, valid);
    // Every row keeps its row and line of the file (`fileRow`, `line`): its index is its place
    // in this order, not the file's, and a reject or a refusal names the row of the user's file.
    const rows: Omit<SourceRow, 'index' | 'next'>[] = passThrough.map((row) => ({
      ...placeInFile(row),
      values: row.values,
      original: row.original,
      ...(row.problem !== undefined ? { problem: row.problem } : {}),
    }));
    for (const { record, reason } of skipped) {
      const row = lineOf.get(record);
      if (reason === 'duplicate') {
        // Counted as a duplicate by the backfill (every input row is counted once), not written.
        rows.push({
          ...placeInFile(row),
          values: undefined,
          original: row?.original ?? (() => wireInput(record.record)),
          duplicate: `event id "${record.recordIdentifier}" repeats an earlier row exactly; written once`,
        });
        continue;
      }
      rows.push({
        ...placeInFile(row),
        values: undefined,
        original: row?.original ?? (() => wireInput(record.record)),
        problem: `event id "${record.recordIdentifier}" appears earlier in the file with different content; the first is kept`,
      });
    }
    for (const record of records) {
      // Encoded for the group by the replay: the backfill writes it without encoding it again.
      // A reject shows the row as the file has it, which the user can find and fix (the record
      // with its derived values goes beside it, from `encoded`).
      const input = inputOf.get(record);
      const row = input === undefined ? undefined : lineOf.get(input);
      rows.push({
        ...placeInFile(row),
        values: undefined,
        encoded: record,
        original: row?.original ?? (() => wireInput(record.record)),
      });
    }
    let batch: SourceRow[] = [];
    for (let index = skip; index < rows.length; index++) {
      batch.push({ ...(rows[index] as Omit<SourceRow, 'index' | 'next'>), index, next: {} });
      if (batch.length === BATCH_ROWS) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }
  // Positions carry no byte offsets: a resumption replays the file from its start.
  return { header: undefined, seekable: false, batches };
}

export { DERIVE_FOLDER, derivedDefinitionOf, derivedRowSource, isDeriveFile };

// calendar-fixed: Parquet decoding of fixed instants; no clock involved.
import type { AsyncBuffer } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { openParquetSource } from '../../shared/backfill/parquetRows.ts';
import { FileRejectedError, type SourceRow } from '../../shared/backfill/rowSource.ts';
import { cards } from '../../shared/definitions.ts';
import { encodeRecord } from '../../shared/record/codec.ts';

/** A Parquet file in memory, read through the same AsyncBuffer interface as the S3 source. */
function memoryFile(buffer: ArrayBuffer): AsyncBuffer {
  return {
    byteLength: buffer.byteLength,
    slice: async (start, end) => buffer.slice(start, end),
  };
}

type Column = Parameters<typeof parquetWriteBuffer>[0]['columnData'][number];
type Element = NonNullable<Parameters<typeof parquetWriteBuffer>[0]['schema']>[number];

/** fraud-cards rows with card_id and event_time (TIMESTAMP_MILLIS) plus the given columns. */
function cardsParquet(columns: { data: Column; element: Element }[], rows = 2): ArrayBuffer {
  const eventMillis = Array.from({ length: rows }, (_, i) => BigInt(Date.UTC(2024, 0, 1) + i));
  return parquetWriteBuffer({
    columnData: [
      { name: 'card_id', data: Array.from({ length: rows }, (_, i) => `card-${i}`) },
      { name: 'event_time', data: eventMillis },
      ...columns.map((c) => c.data),
    ],
    schema: [
      { name: 'root', num_children: 2 + columns.length },
      { name: 'card_id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      {
        name: 'event_time',
        type: 'INT64',
        converted_type: 'TIMESTAMP_MILLIS',
        repetition_type: 'REQUIRED',
      },
      ...columns.map((c) => c.element),
    ],
  });
}

async function readAll(buffer: ArrayBuffer): Promise<SourceRow[]> {
  const source = await openParquetSource({ group: cards, file: memoryFile(buffer), startIndex: 0 });
  const rows: SourceRow[] = [];
  for await (const batch of source.batches()) rows.push(...batch);
  return rows;
}

/** What the backfill writes for a row: the encoded value of each feature. */
function written(row: SourceRow | undefined): Record<string, string | undefined> {
  const encoded = encodeRecord(cards, row?.values);
  if (!encoded.ok) throw new Error(JSON.stringify(encoded.problems));
  return Object.fromEntries(encoded.value.record.map((f) => [f.FeatureName, f.ValueAsString]));
}

describe('Function: openParquetSource()', () => {
  it('fails the file with one reason when a column chunk cannot be decoded', async () => {
    // Prepare: a valid footer over page bytes that are garbage (a damaged copy or upload)
    const file = new Uint8Array(
      cardsParquet([
        {
          data: { name: 'home_country', data: ['DE', 'FR'] },
          element: {
            name: 'home_country',
            type: 'BYTE_ARRAY',
            converted_type: 'UTF8',
            repetition_type: 'REQUIRED',
          },
        },
      ])
    );
    file.fill(0xff, 4, 40);
    const source = await openParquetSource({
      group: cards,
      file: memoryFile(file.buffer),
      startIndex: 0,
    });
    // Act
    const reading = (async () => {
      for await (const _batch of source.batches()) {
        // nothing: the first row group already fails
      }
    })();
    // Assess: a file-level rejection (the report's error), not an error retried as transient
    await expect(reading).rejects.toBeInstanceOf(FileRejectedError);
    await expect(reading).rejects.toThrow(/row group 1 \(rows 1-2\) cannot be decoded/);
  });

  it('keeps S3 read failures retryable, for the footer and for a row group (no file rejection)', async () => {
    // Prepare: reads that fail as a dropped connection would, from the Nth read on
    const buffer = cardsParquet([]);
    const dropped = new Error('socket hang up');
    const failingFrom = (n: number): AsyncBuffer => {
      let reads = 0;
      return {
        byteLength: buffer.byteLength,
        slice: async (start, end) => {
          reads += 1;
          if (reads >= n) throw dropped;
          return buffer.slice(start, end);
        },
      };
    };
    // Act and assess: the footer
    await expect(
      openParquetSource({ group: cards, file: failingFrom(1), startIndex: 0 })
    ).rejects.toBe(dropped);
    // Act and assess: the column chunks, after the footer was read
    const source = await openParquetSource({ group: cards, file: failingFrom(2), startIndex: 0 });
    const reading = (async () => {
      for await (const _batch of source.batches()) {
        // nothing
      }
    })();
    await expect(reading).rejects.toBe(dropped);
  });

  it('writes a FLOAT (32-bit) value as its shortest text, as a JSON export of the same column would', async () => {
    // Prepare: Spark FloatType / pandas float32; 0.1f is 0.100000001490116… as a double
    const buffer = cardsParquet([
      {
        data: { name: 'amount_sum_7d', data: [0.1, 1 / 3] },
        element: { name: 'amount_sum_7d', type: 'FLOAT', repetition_type: 'REQUIRED' },
      },
      {
        data: { name: 'amount_sum_30d', data: [2.7, null] },
        element: { name: 'amount_sum_30d', type: 'FLOAT', repetition_type: 'OPTIONAL' },
      },
    ]);
    // Act
    const rows = await readAll(buffer);
    // Assess: what the stream writes for {"amount_sum_7d": 0.1} (and Java's Float.toString)
    expect(written(rows[0])).toMatchObject({ amount_sum_7d: '0.1', amount_sum_30d: '2.7' });
    expect(written(rows[1])).toMatchObject({ amount_sum_7d: '0.33333334' });
    expect(written(rows[1]).amount_sum_30d).toBeUndefined();
  });

  it('reads DECIMAL columns exactly (INT32, INT64, FIXED_LEN_BYTE_ARRAY), as their decimal text', async () => {
    // Prepare: Oracle/Redshift NUMBER exports and Spark DecimalType(38,18), with values a double
    // detour changes: beyond 2^53, and 0.316374216970884998 whose unscaled value rounds first
    const buffer = cardsParquet([
      {
        data: { name: 'txn_count_7d', data: [12345678901234567n, -5n] },
        element: {
          name: 'txn_count_7d',
          type: 'INT64',
          converted_type: 'DECIMAL',
          precision: 18,
          scale: 0,
          logical_type: { type: 'DECIMAL', precision: 18, scale: 0 },
          repetition_type: 'REQUIRED',
        },
      },
      {
        data: { name: 'card_age_days', data: [9223372036854775807n, null] },
        element: {
          name: 'card_age_days',
          type: 'FIXED_LEN_BYTE_ARRAY',
          type_length: 16,
          converted_type: 'DECIMAL',
          precision: 38,
          scale: 0,
          repetition_type: 'OPTIONAL',
        },
      },
      {
        data: { name: 'amount_sum_7d', data: [316374216970884998n, -1500000000000000000n] },
        element: {
          name: 'amount_sum_7d',
          type: 'FIXED_LEN_BYTE_ARRAY',
          type_length: 16,
          converted_type: 'DECIMAL',
          precision: 38,
          scale: 18,
          repetition_type: 'REQUIRED',
        },
      },
      {
        data: { name: 'amount_sum_30d', data: [1234.5, 0.07] },
        element: {
          name: 'amount_sum_30d',
          type: 'INT32',
          converted_type: 'DECIMAL',
          precision: 9,
          scale: 2,
          repetition_type: 'REQUIRED',
        },
      },
    ]);
    // Act
    const rows = await readAll(buffer);
    // Assess: what the stream writes for the same decimal literals in JSON
    expect(written(rows[0])).toMatchObject({
      txn_count_7d: '12345678901234567',
      card_age_days: '9223372036854775807',
      amount_sum_7d: String(Number('0.316374216970884998')),
      amount_sum_30d: '1234.5',
    });
    expect(written(rows[1])).toMatchObject({
      txn_count_7d: '-5',
      amount_sum_7d: '-1.5',
      amount_sum_30d: '0.07',
    });
    expect(written(rows[1]).card_age_days).toBeUndefined();
  });

  it('reads a DATE as midnight UTC for the event time and as YYYY-MM-DD for a String feature', async () => {
    // Prepare: Glue/Athena daily snapshots keyed by a DATE column
    const days = [19723, 19724]; // 2024-01-01, 2024-01-02
    const buffer = parquetWriteBuffer({
      columnData: [
        { name: 'card_id', data: ['card-0', 'card-1'] },
        { name: 'event_time', data: days },
        { name: 'home_country', data: days },
      ],
      schema: [
        { name: 'root', num_children: 3 },
        {
          name: 'card_id',
          type: 'BYTE_ARRAY',
          converted_type: 'UTF8',
          repetition_type: 'REQUIRED',
        },
        { name: 'event_time', type: 'INT32', converted_type: 'DATE', repetition_type: 'REQUIRED' },
        {
          name: 'home_country',
          type: 'INT32',
          converted_type: 'DATE',
          repetition_type: 'REQUIRED',
        },
      ],
    });
    // Act
    const rows = await readAll(buffer);
    // Assess: what a JSON export of the same columns sends through the stream
    expect(rows.map(written)).toEqual([
      { card_id: 'card-0', event_time: '2024-01-01T00:00:00.000Z', home_country: '2024-01-01' },
      { card_id: 'card-1', event_time: '2024-01-02T00:00:00.000Z', home_country: '2024-01-02' },
    ]);
  });

  it('rejects a row whose STRING cell is not UTF-8 (a Windows-1252 é), naming the column and the byte', async () => {
    // Prepare: bytes a writer copied from a Windows-1252 source into a UTF8 column unchecked.
    const buffer = cardsParquet([
      {
        data: {
          name: 'home_country',
          data: [Buffer.from('DE'), Buffer.from('R\xe9union', 'latin1')],
        },
        element: {
          name: 'home_country',
          type: 'BYTE_ARRAY',
          converted_type: 'UTF8',
          repetition_type: 'REQUIRED',
        },
      },
    ]);
    // Act
    const rows = await readAll(buffer);
    // Assess: read leniently, it would be written as "R\ufffdunion"
    expect(written(rows[0])).toMatchObject({ home_country: 'DE' });
    expect(rows[1]).toMatchObject({
      values: undefined,
      problem:
        'home_country: the Parquet value is not UTF-8 text: invalid byte 0xE9 at offset 1 of the value (a Windows-1252 or Latin-1 source?)',
    });
    expect(rows[1]?.original()).toMatchObject({ card_id: 'card-1', home_country: 'R\ufffdunion' });
  });

  it('fails a zero-byte or cut Parquet file with a reason a person can act on', async () => {
    // Prepare: a failed export (zero bytes) and a copy that lost its footer
    const whole = cardsParquet([]);
    // Act and assess
    await expect(
      openParquetSource({ group: cards, file: memoryFile(new ArrayBuffer(0)), startIndex: 0 })
    ).rejects.toThrow(
      'not a readable Parquet file: it is 0 bytes long, too short for Parquet (an empty or failed export?)'
    );
    await expect(
      openParquetSource({ group: cards, file: memoryFile(whole.slice(0, 100)), startIndex: 0 })
    ).rejects.toThrow(/^not a readable Parquet file: parquet file invalid \(footer != PAR1\)$/);
  });
});

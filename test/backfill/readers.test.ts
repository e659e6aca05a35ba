// calendar-fixed: file parsing of fixed instants; no clock involved.
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { featureResolver, mapColumns, renameKeys } from '../../shared/backfill/columnMapping.ts';
import { parseCsvRecord } from '../../shared/backfill/csv.ts';
import {
  parseBackfillKey,
  reportKeys,
  SUPPORTED_EXTENSIONS,
} from '../../shared/backfill/objectKey.ts';
import { RecordSplitter, type TextRecord } from '../../shared/backfill/recordSplitter.ts';
import { rowlessReason } from '../../shared/backfill/rowlessFile.ts';
import { FileRejectedError, type SourceRow } from '../../shared/backfill/rowSource.ts';
import { RowWindow } from '../../shared/backfill/rowWindow.ts';
import { openCsvSource, openJsonLinesSource } from '../../shared/backfill/textRows.ts';
import { cards } from '../../shared/definitions.ts';

function splitAll(input: Buffer, cuts: number[], quoteAware = true): TextRecord[] {
  const splitter = new RecordSplitter({ quoteAware });
  const records: TextRecord[] = [];
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    records.push(...splitter.push(input.subarray(from, cut)));
    from = cut;
  }
  records.push(...splitter.push(input.subarray(from)), ...splitter.end());
  return records.map(({ text, notUtf8, start, end, line, nextLine }) => ({
    text,
    notUtf8,
    start,
    end,
    line,
    nextLine,
  }));
}

async function* bytesOf(...chunks: Buffer[]): AsyncGenerator<Buffer> {
  yield* chunks;
}

async function allRows(batches: AsyncGenerator<SourceRow[]>): Promise<SourceRow[]> {
  const rows: SourceRow[] = [];
  for await (const batch of batches) rows.push(...batch);
  return rows;
}

/** Every row of a JSON Lines text read from its start, for fraud-cards. */
async function jsonLinesRowsOf(text: string): Promise<SourceRow[]> {
  const source = await openJsonLinesSource({
    group: cards,
    bytes: bytesOf(Buffer.from(text)),
    declaredGzip: false,
    start: { index: 0 },
  });
  return allRows(source.batches());
}

describe('Class: RecordSplitter', () => {
  it('splits lines, keeping CRLF out of the text and quoted newlines inside the record', () => {
    // Prepare
    const input = Buffer.from('\uFEFFa,b\r\n"x\r\ny",2\n\n  \nlast,"q""uote"');
    // Act
    const records = splitAll(input, []);
    // Assess
    expect(records.map((r) => r.text)).toEqual(['a,b', '"x\r\ny",2', 'last,"q""uote"']);
    expect(records.map((r) => r.line)).toEqual([1, 2, 6]);
    expect(records[1]).toMatchObject({ start: 8, end: 17, nextLine: 4 });
  });

  it('gives the same records and offsets wherever the chunks are cut', () => {
    const text = 'id,note\n1,"multi\nline, with ""quotes"""\n2,plain\n3,"é\u00e8"\r\n4,last';
    const input = Buffer.from(text);
    const expected = splitAll(input, []);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: input.length }), { maxLength: 8 }), (cuts) => {
        expect(splitAll(input, cuts)).toEqual(expected);
      })
    );
    // Every record's byte range is exactly its bytes in the file.
    for (const r of expected)
      expect(
        input
          .subarray(r.start, r.end)
          .toString()
          .replace(/\r?\n$/, '')
      ).toBe(r.text);
  });

  it('resumes at a byte offset with the right line numbers', () => {
    // Prepare
    const input = Buffer.from('h\na\nb\nc\n');
    const all = splitAll(input, []);
    const resumeAt = all[1] as TextRecord;
    // Act
    const splitter = new RecordSplitter({
      quoteAware: true,
      startOffset: resumeAt.end,
      startLine: resumeAt.nextLine,
    });
    const rest = [...splitter.push(input.subarray(resumeAt.end)), ...splitter.end()];

    // Assess
    expect(rest.map((r) => [r.text, r.line, r.start])).toEqual([
      ['b', 3, 4],
      ['c', 4, 6],
    ]);
  });
});

describe('Function: parseCsvRecord()', () => {
  it.each([
    ['a,b,c', ['a', 'b', 'c']],
    ['a,,c,', ['a', null, 'c', null]],
    ['"a,1","",x', ['a,1', '', 'x']],
    ['"say ""hi""",2', ['say "hi"', '2']],
    ['"",', ['', null]],
    ['5"in,x', ['5"in', 'x']],
  ])('reads %s', (text, fields) => {
    expect(parseCsvRecord(text)).toEqual({ ok: true, fields });
  });

  it('explains malformed quoting', () => {
    expect(parseCsvRecord('"open,1')).toEqual({ ok: false, reason: 'unterminated quoted field' });
    expect(parseCsvRecord('"a"b,1')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('after a closing quote'),
    });
  });
});

describe('Function: mapColumns()', () => {
  it('maps columns to features by exact name, then ignoring case and spaces', () => {
    expect(mapColumns(cards, ['card_id', ' EVENT_TIME ', 'Txn_Count_7d'])).toEqual({
      ok: true,
      features: ['card_id', 'event_time', 'txn_count_7d'],
    });
  });

  it('fails on unknown columns, two columns for one feature and missing key columns, all at once', () => {
    const mapping = mapColumns(cards, ['card_id', 'CARD_ID', 'colour', 'size']);
    expect(mapping.ok).toBe(false);
    const reason = mapping.ok ? '' : mapping.reason;
    expect(reason).toContain('columns "card_id" and "CARD_ID" both map to feature card_id');
    expect(reason).toContain('columns "colour", "size" are not a feature of "fraud-cards"');
    expect(reason).toContain('no column for the event time "event_time"');
  });

  it('says what an unnamed first column usually is (a pandas index written by to_csv)', () => {
    // Prepare: df.to_csv(path) without index=False writes ",card_id,event_time"
    const mapping = mapColumns(cards, ['', 'card_id', 'event_time']);
    // Assess
    expect(mapping).toEqual({
      ok: false,
      reason:
        'column "" is not a feature of "fraud-cards" (features: card_id, event_time, txn_count_7d, txn_count_30d, amount_sum_7d, amount_sum_30d, distinct_merchants_30d, chargebacks_365d, card_age_days, home_country); a column without a name is often a pandas index: write the file with to_csv(..., index=False)',
    });
  });

  it('renames JSON keys to features and leaves unknown keys for the schema module to report', () => {
    const resolve = featureResolver(cards);
    expect(renameKeys({ Card_Id: 'c1', event_time: 't', extra: 1 }, resolve)).toEqual({
      ok: true,
      values: { card_id: 'c1', event_time: 't', extra: 1 },
    });
    const same = { card_id: 'c1' };
    expect(renameKeys(same, resolve)).toEqual({ ok: true, values: same });
    expect(renameKeys({ CARD_ID: 'a', card_id: 'b' }, resolve)).toEqual({
      ok: false,
      reason: 'keys "CARD_ID" and "card_id" both name feature card_id',
    });
  });
});

describe('Function: parseBackfillKey()', () => {
  it.each([
    [
      'backfill/fraud-cards/a.parquet',
      { featureGroup: 'fraud-cards', file: 'a.parquet', format: 'parquet', compression: 'none' },
    ],
    [
      'backfill/fraud-cards/2025/01/x.CSV.GZ',
      { featureGroup: 'fraud-cards', file: '2025/01/x.CSV.GZ', format: 'csv', compression: 'gzip' },
    ],
    ['backfill/g/x.ndjson', { format: 'jsonl', compression: 'none' }],
    ['backfill/g/x.jsonl.gzip', { format: 'jsonl', compression: 'gzip' }],
    ['backfill/g/x.xlsx', { format: undefined }],
  ])('reads %s', (key, expected) => {
    expect(parseBackfillKey(key)).toMatchObject(expected);
  });

  it('names, in SUPPORTED_EXTENSIONS (the messages), exactly the endings it reads', () => {
    expect(SUPPORTED_EXTENSIONS).toContain('.pq');
    expect(SUPPORTED_EXTENSIONS).toContain('.json.gzip');
    expect(SUPPORTED_EXTENSIONS).not.toContain('.parquet.gz');
    for (const ending of SUPPORTED_EXTENSIONS) {
      const key = parseBackfillKey(`backfill/g/x${ending}`);
      expect(key?.format, ending).toBeDefined();
      expect(key?.compression, ending).toBe(/\.gz(ip)?$/.test(ending) ? 'gzip' : 'none');
    }
  });

  it.each(['other/g/x.csv', 'backfill/x.csv', 'backfill/g/', 'backfill//x.csv'])(
    'ignores %s',
    (key) => {
      expect(parseBackfillKey(key)).toBeUndefined();
    }
  );

  it('keeps rejects and report side by side, one folder per object version', () => {
    const keys = reportKeys({
      bucket: 'b',
      key: 'backfill/fraud-cards/oct.csv',
      versionId: 'V1',
      etag: 'e',
      size: 1,
    });
    expect(keys).toEqual({
      prefix: 'backfill/fraud-cards/oct.csv/v-V1/',
      state: 'backfill/fraud-cards/oct.csv/v-V1/state.json',
      rejects: 'backfill/fraud-cards/oct.csv/v-V1/rejects.jsonl',
      report: 'backfill/fraud-cards/oct.csv/v-V1/report.json',
      progress: 'backfill/fraud-cards/oct.csv/v-V1/progress.json',
    });
    expect(reportKeys({ bucket: 'b', key: 'backfill/g/x.csv', etag: 'abc', size: 1 }).prefix).toBe(
      'backfill/g/x.csv/e-abc/'
    );
  });
});

describe('Class: RowWindow', () => {
  it('advances the watermark only over finished rows and lists finished rows beyond it', () => {
    // Prepare
    const window = new RowWindow(8, { index: 10, byteOffset: 100, line: 11, doneBeyond: [] });
    for (let i = 10; i < 15; i++) window.begin(i, { byteOffset: 100 + (i - 9) * 10, line: i + 2 });
    // Act
    window.complete(12);
    window.complete(10);
    window.complete(14);
    // Assess
    expect(window.position()).toEqual({
      index: 11,
      byteOffset: 110,
      line: 12,
      doneBeyond: [12, 14],
    });
    window.complete(11);
    window.complete(13);
    expect(window.position()).toEqual({ index: 15, byteOffset: 150, line: 16, doneBeyond: [] });
  });

  it('is full when the newest row is capacity rows past the watermark', () => {
    const window = new RowWindow(2, { index: 0, doneBeyond: [] });
    window.begin(0, {});
    window.begin(1, {});
    expect(window.full).toBe(true);
    expect(() => window.begin(2, {})).toThrow('full');
    window.complete(0);
    expect(window.full).toBe(false);
  });
});

describe('Function: openCsvSource()', () => {
  const csv =
    'card_id,event_time,txn_count_7d\nc1,2025-01-01T00:00:00Z,1\nc2,2025-01-01T00:00:00Z\nc3,2025-01-01T00:00:00Z,\n';

  it('maps the header, reads empty fields as missing and flags wrong field counts', async () => {
    // Act
    const source = await openCsvSource({
      group: cards,
      bytes: bytesOf(Buffer.from(csv)),
      declaredGzip: false,
      start: { index: 0 },
    });
    const rows = await allRows(source.batches());
    // Assess
    expect(source.header).toEqual(['card_id', 'event_time', 'txn_count_7d']);
    expect(rows.map((r) => r.values)).toEqual([
      { card_id: 'c1', event_time: '2025-01-01T00:00:00Z', txn_count_7d: '1' },
      undefined,
      { card_id: 'c3', event_time: '2025-01-01T00:00:00Z' },
    ]);
    expect(rows[1]).toMatchObject({
      index: 1,
      line: 3,
      problem: 'the row has 2 fields, the header has 3',
    });
    expect(rows[1]?.original()).toBe('c2,2025-01-01T00:00:00Z');
  });

  it('fails a file whose header is not UTF-8, naming the line and the byte', async () => {
    // Prepare: a Windows-1252 é in a column name.
    const bytes = Buffer.from('card_id,event_time,caf\xe9\nc1,2025-01-01T00:00:00Z,1\n', 'latin1');
    // Act
    const opening = openCsvSource({
      group: cards,
      bytes: bytesOf(bytes),
      declaredGzip: false,
      start: { index: 0 },
    });
    // Assess
    await expect(opening).rejects.toThrow(FileRejectedError);
    await expect(opening).rejects.toThrow(
      'the CSV header (line 1) is not UTF-8 text: invalid byte 0xE9 at offset 22 of the line (a Windows-1252 or Latin-1 export?): save the file as UTF-8'
    );
  });

  it('resumes a gzip file by skipping rows, and a plain file at a byte offset with the saved header', async () => {
    // Prepare
    const all = await allRows(
      (
        await openCsvSource({
          group: cards,
          bytes: bytesOf(Buffer.from(csv)),
          declaredGzip: false,
          start: { index: 0 },
        })
      ).batches()
    );
    const second = all[1] as SourceRow;
    // Act
    const gz = await openCsvSource({
      group: cards,
      bytes: bytesOf(gzipSync(csv)),
      declaredGzip: false,
      start: { index: 2 },
    });
    const seek = await openCsvSource({
      group: cards,
      bytes: bytesOf(Buffer.from(csv).subarray(second.next.byteOffset)),
      declaredGzip: false,
      start: {
        index: 2,
        byteOffset: second.next.byteOffset,
        line: second.next.line,
        header: ['card_id', 'event_time', 'txn_count_7d'],
      },
    });
    // Assess
    expect((await allRows(gz.batches())).map((r) => [r.index, r.line, r.values?.card_id])).toEqual([
      [2, 4, 'c3'],
    ]);
    expect(gz.seekable).toBe(false);
    expect(
      (await allRows(seek.batches())).map((r) => [r.index, r.line, r.values?.card_id])
    ).toEqual([[2, 4, 'c3']]);
  });
});

describe('Record length bound (text files)', () => {
  /** 3 MiB of good rows after the given text, in 64 KiB chunks as S3 delivers them. */
  async function* withTail(head: string, row: string): AsyncGenerator<Buffer> {
    yield Buffer.from(head);
    const chunk = Buffer.from(row.repeat(Math.ceil(65_536 / row.length)));
    for (let sent = 0; sent < 3 * 1024 * 1024; sent += chunk.length) yield chunk;
  }

  async function readAll(open: Promise<{ batches(): AsyncGenerator<SourceRow[]> }>) {
    return allRows((await open).batches());
  }

  it('fails a CSV at an unterminated quote instead of reading the rest of the file into one field', async () => {
    // Prepare: a stray quote on line 3 opens a field that never closes
    const head =
      'card_id,event_time,home_country\nc1,2025-01-01T00:00:00Z,DE\nc2,2025-01-01T00:00:00Z,"D\n';
    // Act
    const reading = readAll(
      openCsvSource({
        group: cards,
        bytes: withTail(head, 'c3,2025-01-01T00:00:00Z,FR\n'),
        declaredGzip: false,
        start: { index: 0 },
      })
    );
    // Assess
    await expect(reading).rejects.toBeInstanceOf(FileRejectedError);
    await expect(reading).rejects.toThrow(
      'line 3: a quoted field is still open after 1 MiB: an unterminated quote (") makes the rest of the file one field; the CSV is malformed from line 3'
    );
  });

  it('names the lines an unterminated quote swallowed when the file ends within 1 MiB', async () => {
    // Prepare: a stray quote on line 3; the three rows after it end up inside the field
    const text =
      'card_id,event_time,home_country\nc1,2025-01-01T00:00:00Z,DE\nc2,2025-01-01T00:00:00Z,"D\n' +
      'c3,2025-01-01T00:00:00Z,FR\r\nc4,2025-01-01T00:00:00Z,FR\nc5,2025-01-01T00:00:00Z,FR\n';
    // Act
    const rows = await readAll(
      openCsvSource({
        group: cards,
        bytes: bytesOf(Buffer.from(text)),
        declaredGzip: false,
        start: { index: 0 },
      })
    );
    // Assess: one reject that says it holds lines 3-6, not a single bad row
    expect(rows.map((r) => r.problem)).toEqual([
      undefined,
      'malformed CSV: unterminated quoted field: the quote never closes, so lines 3-6 (4 lines, to the end of the file) were read as this one row; the rows in them are not written',
    ]);
    expect(rows[1]?.line).toBe(3);
  });

  it('fails a file whose line never ends (one JSON document, or CR-only line ends)', async () => {
    // Prepare: a JSON array export named .jsonl, and an old-Mac CSV with CR line ends
    const jsonArray = readAll(
      openJsonLinesSource({
        group: cards,
        bytes: withTail('[', '{"card_id":"c1","event_time":"2025-01-01T00:00:00Z"},'),
        declaredGzip: false,
        start: { index: 0 },
      })
    );
    const crOnly = readAll(
      openCsvSource({
        group: cards,
        bytes: withTail('card_id,event_time\r', 'c1,2025-01-01T00:00:00Z\r'),
        declaredGzip: false,
        start: { index: 0 },
      })
    );
    // Assess
    for (const reading of [jsonArray, crOnly]) {
      await expect(reading).rejects.toBeInstanceOf(FileRejectedError);
      await expect(reading).rejects.toThrow(
        'line 1 runs past 1 MiB without a line end (\\n): no record is that long; is each record on its own line (JSON Lines: one object per line; CR-only line ends are not read)?'
      );
    }
  });
});

describe('Function: openJsonLinesSource()', () => {
  it('reads objects, and reports malformed and non-object lines with their text', async () => {
    // Prepare
    const text = '{"card_id":"c1","event_time":"2025-01-01T00:00:00Z"}\n{oops\n"str"\n';
    // Act
    const rows = await jsonLinesRowsOf(text);
    // Assess
    expect(rows[0]?.values).toEqual({ card_id: 'c1', event_time: '2025-01-01T00:00:00Z' });
    expect(rows[1]?.problem).toMatch(/^malformed JSON/);
    expect(rows[1]?.original()).toBe('{oops');
    expect(rows[2]).toMatchObject({ problem: 'the line is not a JSON object', line: 3 });
  });

  it('keeps the numbers of a line as written for its reject, not as JSON.parse rounded them', async () => {
    // Prepare: 12345678901234567890 is beyond 2^53 (JSON.parse makes it 12345678901234567000)
    const line =
      '{"card_id":"c1","event_time":"2025-01-01T00:00:00Z","txn_count_7d":12345678901234567890,"amount_sum_7d":1.50}';
    // Act
    const rows = await jsonLinesRowsOf(`${line}\n[12345678901234567890]\n`);
    // Assess
    expect(JSON.stringify(rows[0]?.original())).toBe(line);
    expect(JSON.stringify(rows[1]?.original())).toBe('[12345678901234567890]');
  });

  it('rejects a line whose keys name one feature twice (differing in case), keeping neither silently', async () => {
    // Prepare: a join that kept both sides' key column, one upper-cased by the warehouse
    const text =
      '{"card_id":"c1","CARD_ID":"c9","event_time":"2025-01-01T00:00:00Z"}\n' +
      '{"Card_Id":"c2","event_time":"2025-01-01T00:00:00Z","Event_Time":"2025-01-01T00:00:00Z"}\n' +
      '{"CARD_ID":"c3","event_time":"2025-01-01T00:00:00Z"}\n';
    // Act
    const rows = await jsonLinesRowsOf(text);
    // Assess
    expect(rows[0]).toMatchObject({
      line: 1,
      values: undefined,
      problem: 'keys "card_id" and "CARD_ID" both name feature card_id',
    });
    expect(rows[0]?.original()).toEqual({
      card_id: 'c1',
      CARD_ID: 'c9',
      event_time: '2025-01-01T00:00:00Z',
    });
    expect(rows[1]?.problem).toBe(
      'keys "event_time" and "Event_Time" both name feature event_time'
    );
    expect(rows[2]?.values).toEqual({ card_id: 'c3', event_time: '2025-01-01T00:00:00Z' });
  });
});

describe('Function: rowlessReason()', () => {
  const text = (body: string) => ({
    bytes: () => bytesOf(Buffer.from(body)),
    buffer: () => Promise.reject(new Error('a text file is not read by ranges')),
  });

  it('says why a file has no rows as the readers count them, and nothing for a file with one', async () => {
    // Act, Assess: a header, blank lines, both; then a row after blank lines
    expect(await rowlessReason(text('card_id,event_time\r\n\n'), 'csv', 'none', cards)).toBe(
      'a header row and nothing after it'
    );
    expect(await rowlessReason(text('\n\r\n'), 'csv', 'none', cards)).toBe('only blank lines');
    expect(await rowlessReason(text('\n \n'), 'jsonl', 'none', cards)).toBe('only blank lines');
    expect(
      await rowlessReason(
        text('card_id,event_time\n\nc1,2025-01-01T00:00:00Z'),
        'csv',
        'none',
        cards
      )
    ).toBeUndefined();
    expect(await rowlessReason(text('\n{}\n'), 'jsonl', 'none', cards)).toBeUndefined();
  });

  it('leaves a file the readers refuse to the drop, whose report says why', async () => {
    // Act, Assess: a header column that is no feature; 4 bytes, too short for Parquet
    expect(await rowlessReason(text('nope\n'), 'csv', 'none', cards)).toBeUndefined();
    const notParquet = {
      bytes: () => bytesOf(),
      buffer: async () => new Uint8Array(4).buffer,
    };
    expect(await rowlessReason(notParquet, 'parquet', 'none', cards)).toBeUndefined();
  });
});

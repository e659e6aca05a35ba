// calendar-fixed: samples of what the calendar lint must find; nothing here reads the clock.
import { describe, expect, it } from 'vitest';
import { findCalendarLiterals } from '../../scripts/check-calendar.ts';

describe('calendar lint (scripts/check-calendar.ts)', () => {
  it('finds ISO dates (extended, or basic with a time), years given to Date.UTC or the Date constructor, and epoch seconds / milliseconds, with their line', () => {
    const text = [
      "const a = '2026-11-01T10:00:00.000Z';",
      'const b = 1767225600;',
      'const c = 1767225600123;',
      'const fine = 12345678901234567; // not an epoch',
      'const d = new Date(Date.UTC(2024, 0, 1) + i * 60_000);',
      'const e = new Date(2024, 6, 1);',
      "const f = { 'X-Amz-Date': '20260101T000000Z' };",
      'const alsoFine = Date.UTC(year, 0, 1) + new Date(ms).getTime() + 20_260_401;',
    ].join('\n');
    expect(findCalendarLiterals('test/x.test.ts', text)).toEqual([
      { path: 'test/x.test.ts', line: 1, literal: '2026-11-01' },
      { path: 'test/x.test.ts', line: 2, literal: '1767225600' },
      { path: 'test/x.test.ts', line: 3, literal: '1767225600123' },
      { path: 'test/x.test.ts', line: 5, literal: 'Date.UTC(2024,' },
      { path: 'test/x.test.ts', line: 6, literal: 'new Date(2024,' },
      { path: 'test/x.test.ts', line: 7, literal: '20260101T0000' },
    ]);
  });

  it('accepts a declaration on the file, the line, the line before, or a Markdown block', () => {
    expect(findCalendarLiterals('t.ts', "// calendar-fixed: pure\nx('2026-01-01')")).toEqual([]);
    expect(findCalendarLiterals('t.ts', "x('2026-01-01'); // calendar-fixed")).toEqual([]);
    expect(findCalendarLiterals('t.ts', "// calendar-fixed\nx('2026-01-01')")).toEqual([]);
    const md = [
      'A sample:',
      '',
      '<!-- calendar-fixed: output sample -->',
      '```json',
      '{ "at": "2026-01-01T00:00:00Z" }',
      '```',
      '',
      '```json',
      '{ "at": "2026-01-02T00:00:00Z" }',
      '```',
    ].join('\n');
    expect(findCalendarLiterals('docs/x.md', md)).toEqual([
      { path: 'docs/x.md', line: 9, literal: '2026-01-02' },
    ]);
  });

  it('knows the example data files by name and nothing else', () => {
    expect(
      findCalendarLiterals('examples/backfill/fraud-cards-october.csv', 'c,2026-10-01T00:00:00Z')
    ).toEqual([]);
    expect(findCalendarLiterals('examples/other.csv', 'c,2026-10-01T00:00:00Z')).toHaveLength(1);
  });
});

/**
 * CSV fields of one record (RFC 4180: comma separator, double-quoted fields, `""` for a quote
 * inside quotes). CSV has no null: an empty *unquoted* field reads as null (the feature is left
 * out of the record, as a missing value), while a quoted empty field `""` is the empty string.
 */

type CsvFields = (string | null)[];

type CsvParse =
  | { readonly ok: true; readonly fields: CsvFields }
  | { readonly ok: false; readonly reason: string };

/**
 * Splits one CSV record (already cut at its line end) into fields.
 *
 * @example
 * ```typescript
 * import { parseCsvRecord } from './shared/backfill/csv.ts';
 * parseCsvRecord('card-1,"Smith, J",,""');
 * // { ok: true, fields: ['card-1', 'Smith, J', null, ''] }
 * ```
 */
function parseCsvRecord(text: string): CsvParse {
  if (!text.includes('"')) {
    const fields: CsvFields = text.split(',');
    for (let i = 0; i < fields.length; i++) if (fields[i] === '') fields[i] = null;
    return { ok: true, fields };
  }
  const fields: CsvFields = [];
  let i = 0;
  const n = text.length;
  for (;;) {
    if (text.charCodeAt(i) === 0x22) {
      // Quoted field: up to the closing quote, with "" as an escaped quote.
      let value = '';
      let from = i + 1;
      for (;;) {
        const quote = text.indexOf('"', from);
        if (quote < 0) return { ok: false, reason: 'unterminated quoted field' };
        if (text.charCodeAt(quote + 1) === 0x22) {
          value += text.slice(from, quote + 1);
          from = quote + 2;
          continue;
        }
        value += text.slice(from, quote);
        i = quote + 1;
        break;
      }
      fields.push(value);
      if (i === n) return { ok: true, fields };
      if (text.charCodeAt(i) !== 0x2c) {
        return {
          ok: false,
          reason: `unexpected character ${JSON.stringify(text[i])} after a closing quote (field ${fields.length})`,
        };
      }
      i += 1;
      if (i === n) {
        fields.push(null);
        return { ok: true, fields };
      }
      continue;
    }
    const comma = text.indexOf(',', i);
    const raw = comma < 0 ? text.slice(i) : text.slice(i, comma);
    // A quote inside an unquoted field is kept literally (lenient, like most CSV writers read it).
    fields.push(raw === '' ? null : raw);
    if (comma < 0) return { ok: true, fields };
    i = comma + 1;
    if (i === n) {
      fields.push(null);
      return { ok: true, fields };
    }
  }
}

export type { CsvFields, CsvParse };
export { parseCsvRecord };

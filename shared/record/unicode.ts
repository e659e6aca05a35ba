/**
 * Text the feature store cannot keep: a lone UTF-16 surrogate. One check for the schema module's
 * codec (every writer refuses such a record at validation) and the embedded store (which refuses
 * it at PutRecord and BatchWriteRecord), so both say the same thing. And bytes that are not UTF-8
 * (a Windows-1252 export): one check for every reader of input bytes, so none turns them into
 * U+FFFD without a word.
 */
import { isUtf8 } from 'node:buffer';

/** A UTF-16 surrogate without its other half. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why `text` cannot be stored, or undefined: text holding a lone UTF-16 surrogate (JSON
 * `"\ud800"`) has no UTF-8 form, and the service keeps text as UTF-8. Stored as it came, it would
 * turn into U+FFFD and the record would not be found by the id it was written with. The words
 * follow the value they are about (`value "u-\ud800" is …`, `String value is …`); the value
 * itself is the caller's to show (escaped: a terminal or a log cannot print it either).
 *
 * @example
 * ```typescript
 * import { notUtf8Encodable } from './shared/record/unicode.ts';
 * notUtf8Encodable('u-\ud800'); // 'not valid Unicode (a lone surrogate, U+D800), which UTF-8 cannot encode'
 * notUtf8Encodable('u-😀'); // undefined
 * ```
 */
function notUtf8Encodable(text: string): string | undefined {
  if (text.isWellFormed()) return undefined;
  const unit = text.charCodeAt(LONE_SURROGATE.exec(text)?.index ?? 0);
  return `not valid Unicode (a lone surrogate, U+${unit.toString(16).toUpperCase()}), which UTF-8 cannot encode`;
}

/**
 * Why `bytes` are not UTF-8 text, or undefined when they are: the first byte that does not start
 * a valid UTF-8 sequence (a stray continuation byte, a lead byte without its continuation bytes,
 * an overlong form, a surrogate or a code point past U+10FFFF) and its offset in `bytes`.
 *
 * @example
 * ```typescript
 * import { notUtf8 } from './shared/record/unicode.ts';
 * notUtf8(Buffer.from('café', 'latin1')); // 'invalid byte 0xE9 at offset 3'
 * notUtf8(Buffer.from('café', 'utf8')); // undefined
 * ```
 */
function notUtf8(bytes: Uint8Array): string | undefined {
  if (isUtf8(bytes)) return undefined;
  const at = firstInvalidUtf8(bytes);
  const byte = (bytes[at] ?? 0).toString(16).toUpperCase().padStart(2, '0');
  return `invalid byte 0x${byte} at offset ${at}`;
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i] as number;
    if (lead < 0x80) {
      i += 1;
      continue;
    }
    // Continuation bytes needed, and the range of the first one (it rules out overlong forms,
    // surrogates and code points past U+10FFFF); the others are 0x80-0xBF.
    let need = 0;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) need = 1;
    else if (lead >= 0xe0 && lead <= 0xef) {
      need = 2;
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      need = 3;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      const next = bytes[i + k];
      if (next === undefined || next < low || next > high) return i;
      low = 0x80;
      high = 0xbf;
    }
    i += need + 1;
  }
  return i;
}

export { notUtf8, notUtf8Encodable };

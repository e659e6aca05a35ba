/**
 * Text the feature store cannot keep: a lone UTF-16 surrogate. One check for the schema module's
 * codec (every writer refuses such a record at validation) and the embedded store (which refuses
 * it at PutRecord and BatchWriteRecord), so both say the same thing.
 */

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

export { notUtf8Encodable };

/**
 * JSON.parse's reviver context (ES2026 "JSON.parse source text access", in Node since 21): the
 * source text of the primitive being revived. TypeScript's ES2024 lib does not declare it yet.
 */
interface ReviverContext {
  readonly source?: string;
}

/** `JSON.rawJSON` (same proposal): a value JSON.stringify writes out as the given text. */
const rawJson = (JSON as JSON & { rawJSON(text: string): object }).rawJSON;

/**
 * A JSON text parsed for showing back to its writer (a reject line, not validation): every number
 * is kept as its source text, so JSON.stringify writes the digits that were sent —
 * `12345678901234567890` stays that, where JSON.parse alone makes it 12345678901234567000, and
 * `1.50` stays `1.50`. The numbers are opaque `JSON.rawJSON` objects: stringify the result, do
 * not compute with it. Throws as JSON.parse does.
 *
 * @example
 * ```typescript
 * import { parseJsonAsSent } from './shared/record/jsonAsSent.ts';
 * JSON.stringify(parseJsonAsSent('{"n":12345678901234567890}')); // '{"n":12345678901234567890}'
 * ```
 */
function parseJsonAsSent(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown, context?: ReviverContext) =>
    typeof value === 'number' && context?.source !== undefined ? rawJson(context.source) : value
  );
}

export { parseJsonAsSent };

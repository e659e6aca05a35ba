/**
 * Deepest nesting a record's JSON may have, on every path that parses records (stream payloads,
 * JSON Lines backfill rows). A record is an envelope around flat features (scalars or lists),
 * three levels at most; JSON.parse reads any depth, but the recursive steps after it (the
 * forbidden-key walk, rendering a value for a reason, writing a reject line) overflow the stack at
 * a few thousand levels, which a 10 KB line reaches: the record or row would be retried forever,
 * blocking its shard or its file.
 */
const MAX_NESTING_DEPTH = 64;

/**
 * Whether a parsed JSON value nests deeper than `max` levels (walked without recursion).
 *
 * @example
 * ```typescript
 * import { nestsDeeperThan } from './shared/record/jsonDepth.ts';
 * nestsDeeperThan({ a: [1] }, 2); // false
 * nestsDeeperThan({ a: { b: {} } }, 2); // true
 * ```
 */
function nestsDeeperThan(value: unknown, max: number = MAX_NESTING_DEPTH): boolean {
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 1 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (next.value === null || typeof next.value !== 'object') continue;
    if (next.depth > max) return true;
    for (const child of Object.values(next.value))
      pending.push({ value: child, depth: next.depth + 1 });
  }
  return false;
}

export { MAX_NESTING_DEPTH, nestsDeeperThan };

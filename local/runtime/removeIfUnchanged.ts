import { readFileSync, rmSync } from 'node:fs';

/**
 * Removes a file this process wrote (a data dir's `store.lock`, a stack's `endpoints.json`) only
 * while it still holds exactly `text`: another process may have taken the data dir since (it was
 * removed and started on again), and its file is its own. Synchronous, for a forced quit too.
 *
 * @example
 * ```typescript
 * import { removeIfUnchanged } from './local/runtime/removeIfUnchanged.ts';
 * removeIfUnchanged('.skewless/endpoints.json', text); // gone, unless another stack rewrote it
 * ```
 */
function removeIfUnchanged(path: string, text: string): void {
  try {
    if (readFileSync(path, 'utf8') === text) rmSync(path, { force: true });
  } catch {
    // Gone already.
  }
}

export { removeIfUnchanged };

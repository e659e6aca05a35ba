/**
 * The entity states a container saved, kept for its next batches: Kinesis keeps sending a shard's
 * entities to the same container, which reads each state back (BatchGetRecord) at every batch. When
 * the text read is exactly the text this container saved, the state it saved is taken as is
 * instead of parsed again (a hot entity holds hundreds of events). Any other text — another
 * container saved since, the record expired, was reset or is new — is parsed as usual, so the
 * store stays the one source of truth; the cache only saves the parsing.
 *
 * A state is taken out while a batch works on it and put back only once saved (or read and left
 * unchanged), so a state a batch changed without saving it is never reused.
 */
import type { EntityState } from './state.ts';

/**
 * Bound of the kept states' texts, in UTF-16 code units (≈ bytes for the ASCII JSON of a state).
 * A parsed state takes a few times its text in memory: ~100 MB at most, a tenth of the ingest
 * function's 1,024 MB.
 */
const DEFAULT_MAX_CHARS = 16 * 1024 * 1024;

interface SavedState {
  readonly text: string;
  readonly state: EntityState;
}

class SavedStates {
  readonly #entries = new Map<string, SavedState>();
  readonly #maxChars: number;
  #chars = 0;

  constructor(maxChars = DEFAULT_MAX_CHARS) {
    this.#maxChars = maxChars;
  }

  /** Kept states, and the length of their texts (what the tests check the budget against). */
  get size(): { readonly states: number; readonly chars: number } {
    return { states: this.#entries.size, chars: this.#chars };
  }

  /**
   * The kept state of `key` if its text is exactly `text` (undefined otherwise). It is taken out
   * either way: the caller may change it, and a state that does not match is stale.
   */
  take(key: string, text: string): EntityState | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.forget(key);
    return entry.text === text ? entry.state : undefined;
  }

  /** Drops what is kept for `key`. */
  forget(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#chars -= entry.text.length;
  }

  /**
   * Keeps `state`, whose serialised form is exactly `text` (just saved, or read back and left
   * unchanged); the least recently kept states go first when over the bound.
   */
  put(key: string, text: string, state: EntityState): void {
    this.forget(key);
    if (text.length > this.#maxChars) return;
    this.#entries.set(key, { text, state });
    this.#chars += text.length;
    for (const [oldest, entry] of this.#entries) {
      if (this.#chars <= this.#maxChars) break;
      this.#entries.delete(oldest);
      this.#chars -= entry.text.length;
    }
  }
}

export { SavedStates };

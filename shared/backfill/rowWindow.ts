import type { NextPosition } from './rowSource.ts';
import type { ResumePosition } from './types.ts';

/**
 * Which rows are finished, kept so that a checkpoint is exact although writes complete out of
 * order. Rows enter in file order (`begin`) and leave when finished (`complete`, written or
 * rejected); the watermark is the first row not finished, and only advances past rows whose
 * write completed. Finished rows beyond the watermark are listed in the checkpoint and skipped on
 * resume, so no row is written twice. The window is bounded: the reader waits when the newest
 * row is `capacity` rows ahead of the watermark (one slow write cannot grow the list unbounded).
 */
class RowWindow {
  private readonly capacity: number;
  private readonly done: Uint8Array;
  private readonly nextOffsets: Float64Array;
  private readonly nextLines: Float64Array;
  private base: number;
  private next: number;
  private basePosition: { byteOffset?: number; line?: number };

  /**
   * @param capacity - rows between the watermark and the newest row
   * @param start - the resume position this invocation starts from
   */
  constructor(capacity: number, start: ResumePosition) {
    this.capacity = capacity;
    this.done = new Uint8Array(capacity);
    this.nextOffsets = new Float64Array(capacity).fill(Number.NaN);
    this.nextLines = new Float64Array(capacity).fill(Number.NaN);
    this.base = start.index;
    this.next = start.index;
    this.basePosition = { byteOffset: start.byteOffset, line: start.line };
  }

  /** True when no more rows may begin until the watermark moves. */
  get full(): boolean {
    return this.next - this.base >= this.capacity;
  }

  /** Rows begun and not finished. */
  get open(): number {
    let count = 0;
    for (let i = this.base; i < this.next; i++) if (this.done[i % this.capacity] === 0) count += 1;
    return count;
  }

  /** Index of the next row expected by {@link begin}. */
  get nextIndex(): number {
    return this.next;
  }

  /**
   * Registers the next row in file order, with the position just after it.
   * @throws Error when rows skip or repeat, or when the window is full
   */
  begin(index: number, next: NextPosition): void {
    if (index !== this.next)
      throw new Error(`row ${index} begun out of order (expected ${this.next})`);
    if (this.full) throw new Error('row window is full');
    const slot = index % this.capacity;
    this.done[slot] = 0;
    this.nextOffsets[slot] = next.byteOffset ?? Number.NaN;
    this.nextLines[slot] = next.line ?? Number.NaN;
    this.next += 1;
  }

  /** Marks a begun row finished and advances the watermark over finished rows. */
  complete(index: number): void {
    if (index < this.base || index >= this.next) throw new Error(`row ${index} is not open`);
    this.done[index % this.capacity] = 1;
    while (this.base < this.next && this.done[this.base % this.capacity] === 1) {
      const slot = this.base % this.capacity;
      const offset = this.nextOffsets[slot] as number;
      const line = this.nextLines[slot] as number;
      this.basePosition = {
        byteOffset: Number.isNaN(offset) ? undefined : offset,
        line: Number.isNaN(line) ? undefined : line,
      };
      this.base += 1;
    }
  }

  /** The resume position now: the watermark, where it starts, and finished rows beyond it. */
  position(): ResumePosition {
    const doneBeyond: number[] = [];
    for (let i = this.base + 1; i < this.next; i++) {
      if (this.done[i % this.capacity] === 1) doneBeyond.push(i);
    }
    const position: ResumePosition = { index: this.base, doneBeyond };
    return {
      ...position,
      ...(this.basePosition.byteOffset !== undefined
        ? { byteOffset: this.basePosition.byteOffset }
        : {}),
      ...(this.basePosition.line !== undefined ? { line: this.basePosition.line } : {}),
    };
  }
}

export { RowWindow };

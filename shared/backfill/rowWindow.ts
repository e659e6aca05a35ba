import type { NextPosition, SourceRow } from './rowSource.ts';
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
  /** Each open row's data row and line in the file (NaN: not known), for the reasons naming it. */
  private readonly fileRows: Float64Array;
  private readonly lines: Float64Array;
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
    this.fileRows = new Float64Array(capacity).fill(Number.NaN);
    this.lines = new Float64Array(capacity).fill(Number.NaN);
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
   * Registers the next row in the source's order, with the position just after it and, when it is
   * not `index + 1`, where the row is in the file (`place`: the derived replay's order is not the
   * file's).
   * @throws Error when rows skip or repeat, or when the window is full
   */
  begin(index: number, next: NextPosition, place: Pick<SourceRow, 'fileRow' | 'line'> = {}): void {
    if (index !== this.next)
      throw new Error(`row ${index} begun out of order (expected ${this.next})`);
    if (this.full) throw new Error('row window is full');
    const slot = index % this.capacity;
    this.done[slot] = 0;
    this.nextOffsets[slot] = next.byteOffset ?? Number.NaN;
    this.nextLines[slot] = next.line ?? Number.NaN;
    this.fileRows[slot] = place.fileRow ?? index + 1;
    this.lines[slot] = place.line ?? Number.NaN;
    this.next += 1;
  }

  /**
   * Where an open row (begun, not finished: one whose write failed, say) is in the file: its
   * 1-based data row and its line (text formats), for a reason that names it.
   * @throws Error when the row is not open
   */
  placeOf(index: number): { readonly fileRow: number; readonly line?: number } {
    if (index < this.base || index >= this.next) throw new Error(`row ${index} is not open`);
    const slot = index % this.capacity;
    const line = this.lines[slot] as number;
    return {
      fileRow: this.fileRows[slot] as number,
      ...(Number.isNaN(line) ? {} : { line }),
    };
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

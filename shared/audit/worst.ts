/**
 * Keeps the `limit` worst items seen, by a severity score, in bounded memory: items are buffered
 * and trimmed once the buffer holds four times the limit, so adding is amortised O(1) and a
 * million mismatches never sit in memory at once.
 */
class WorstExamples<T> {
  private readonly limit: number;
  private items: { severity: number; order: number; item: T }[] = [];
  private seen = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  add(severity: number, item: T): void {
    if (this.limit <= 0) return;
    this.items.push({ severity, order: this.seen++, item });
    if (this.items.length >= this.limit * 4) this.trim();
  }

  /** Worst first; ties keep the order they were added in. */
  list(): T[] {
    this.trim();
    return this.items.map((e) => e.item);
  }

  private trim(): void {
    this.items.sort((a, b) => b.severity - a.severity || a.order - b.order);
    this.items.length = Math.min(this.items.length, this.limit);
  }
}

export { WorstExamples };

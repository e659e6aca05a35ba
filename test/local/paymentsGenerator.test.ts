// calendar-fixed: the generator takes "now" as an argument.
import { describe, expect, it } from 'vitest';
import { PaymentsGenerator } from '../../local/demo/paymentsGenerator.ts';
import { transactions } from '../../shared/definitions.ts';
import { encodeRecord } from '../../shared/record/codec.ts';

describe('Class: PaymentsGenerator', () => {
  it('produces valid payments plus the documented share of late, duplicate and bad messages', () => {
    // Prepare
    const generator = new PaymentsGenerator({
      seed: 1,
      badShare: 0.02,
      lateShare: 0.05,
      duplicateShare: 0.02,
    });
    const now = Date.parse('2026-06-01T12:00:00Z');
    // Act
    const messages = generator.next(5000, now);
    // Assess
    const byKind = (k: string) => messages.filter((m) => m.kind === k);
    expect(byKind('bad').length).toBeGreaterThan(50);
    expect(byKind('late').length).toBeGreaterThan(100);
    expect(byKind('duplicate').length).toBeGreaterThan(50);
    for (const m of messages.filter((x) => x.kind !== 'bad')) {
      const result = encodeRecord(transactions, JSON.parse(m.data));
      expect(result.ok, m.data).toBe(true);
      expect(m.partitionKey).toBe(JSON.parse(m.data).card_id);
    }
    for (const m of byKind('late'))
      expect(Date.parse(JSON.parse(m.data).event_time)).toBeLessThan(now - 4_999);
    const badValid = byKind('bad').filter((m) => {
      try {
        return encodeRecord(transactions, JSON.parse(m.data)).ok;
      } catch {
        return false;
      }
    });
    expect(badValid).toEqual([]);
  });

  it('is deterministic for a seed', () => {
    const a = new PaymentsGenerator({ seed: 9 }).next(100, 0);
    const b = new PaymentsGenerator({ seed: 9 }).next(100, 0);
    expect(a).toEqual(b);
  });
});

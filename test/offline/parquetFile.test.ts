import { describe, expect, it } from 'vitest';
import { offlineFileSuffix } from '../../shared/offline/parquetFile.ts';

describe('offlineFileSuffix', () => {
  it('draws 16 random alphanumerics without a seed (the flush) and derives them from one (the backfill)', () => {
    const drawn = new Set(Array.from({ length: 100 }, () => offlineFileSuffix()));
    expect(drawn.size).toBe(100);
    for (const suffix of drawn) expect(suffix).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(offlineFileSuffix('part-7')).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(offlineFileSuffix('part-7')).toBe(offlineFileSuffix('part-7'));
    expect(offlineFileSuffix('part-8')).not.toBe(offlineFileSuffix('part-7'));
  });
});

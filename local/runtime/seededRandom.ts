/**
 * A seeded pseudo-random source (mulberry32): small, fast, and the same sequence for the same
 * seed, so the demo's payments and aggregates and the store's injected faults are reproducible.
 * Not for anything that needs unpredictability.
 *
 * @example
 * ```typescript
 * import { seededRandom } from './local/runtime/seededRandom.ts';
 * const random = seededRandom(7);
 * random(); // a number in [0, 1), the same first draw for every seededRandom(7)
 * ```
 */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export { seededRandom };

/**
 * The contract every benchmark module follows. `npm run bench` (bench/run.ts) runs each one in
 * turn and writes BENCHMARKS.md. Figures are ratios against a baseline measured in the same run
 * wherever a goal is relative: these machines are shared and noisy. Every load loop is bounded
 * (a request count and a time limit) and every server binds to 127.0.0.1.
 */
interface BenchRow {
  /** What was measured, e.g. "PutRecord throughput (keep-alive, 64 in flight)". */
  readonly metric: string;
  /** The figure with its unit, e.g. "12,345 req/s" or "0.41 ms". */
  readonly value: string;
  /** The goal from the issue, if any, e.g. ">= 10,000 req/s". */
  readonly goal?: string;
  /** Whether the goal was met; undefined when there is no goal. */
  readonly met?: boolean;
}

interface BenchSection {
  readonly title: string;
  /** How the figures were produced (load shape, sizes), one line each. */
  readonly method: readonly string[];
  readonly rows: readonly BenchRow[];
}

type Bench = () => Promise<BenchSection>;

export type { Bench, BenchRow, BenchSection };

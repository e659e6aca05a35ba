/**
 * The benchmarks' size variables (bench/README.md): one reader, benchSize, that refuses what would
 * size a bench NaN or nonsense, and every bench module reading its sizes through it as it loads.
 * No bench runs here: a module imported (not run) does only its module-level reads.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { benchList, benchSize } from '../../bench/harness.ts';
import { node, root } from '../helpers/stackProcess.ts';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('benchSize', () => {
  it('reads the default when unset or empty, else the whole number set', () => {
    vi.stubEnv('BENCH_TEST_ROWS', undefined);
    expect(benchSize('BENCH_TEST_ROWS', 20_000)).toBe(20_000);
    vi.stubEnv('BENCH_TEST_ROWS', '');
    expect(benchSize('BENCH_TEST_ROWS', 20_000)).toBe(20_000);
    vi.stubEnv('BENCH_TEST_ROWS', '500');
    expect(benchSize('BENCH_TEST_ROWS', 20_000)).toBe(500);
  });

  it.each(['abc', '0', '-1', '1.5', ' ', 'Infinity', '1e400'])(
    'refuses %j for a count in one line naming the variable',
    (value) => {
      vi.stubEnv('BENCH_TEST_ROWS', value);
      expect(() => benchSize('BENCH_TEST_ROWS', 20_000)).toThrow(
        new Error(
          `environment variable BENCH_TEST_ROWS="${value}" must be a whole number ≥ 1 (bench/README.md)`
        )
      );
    }
  );

  it('takes a fraction > 0 for a scale factor, and refuses 0 or a word', () => {
    vi.stubEnv('BENCH_TEST_SCALE', '0.1');
    expect(benchSize('BENCH_TEST_SCALE', 1, { fraction: true })).toBe(0.1);
    for (const value of ['0', 'abc']) {
      vi.stubEnv('BENCH_TEST_SCALE', value);
      expect(() => benchSize('BENCH_TEST_SCALE', 1, { fraction: true })).toThrow(
        `environment variable BENCH_TEST_SCALE="${value}" must be a number > 0 (bench/README.md)`
      );
    }
  });
});

describe('benchList', () => {
  const phases = ['parse', 'e2e', 'flush', 'memory'] as const;

  it("reads every name when unset or empty, else the names set, in the bench's order", () => {
    vi.stubEnv('BENCH_TEST_ONLY', undefined);
    expect(benchList('BENCH_TEST_ONLY', phases)).toEqual([...phases]);
    vi.stubEnv('BENCH_TEST_ONLY', '');
    expect(benchList('BENCH_TEST_ONLY', phases)).toEqual([...phases]);
    vi.stubEnv('BENCH_TEST_ONLY', 'memory, parse');
    expect(benchList('BENCH_TEST_ONLY', phases)).toEqual(['parse', 'memory']);
  });

  it('refuses a name it does not know, naming it, instead of running nothing', () => {
    vi.stubEnv('BENCH_TEST_ONLY', 'parse,e2ee');
    expect(() => benchList('BENCH_TEST_ONLY', phases)).toThrow(
      new Error(
        'environment variable BENCH_TEST_ONLY="parse,e2ee" names "e2ee": it takes a comma-separated list of parse, e2e, flush, memory (bench/README.md)'
      )
    );
  });
});

describe('the benches read their sizes through it', () => {
  /** Every size variable, by the bench that reads it (bench/README.md's table). */
  const sizes: Record<string, readonly string[]> = {
    batch: ['BENCH_BATCH_ROWS'],
    audit: ['BENCH_AUDIT_IDS'],
    backfill: [
      'BENCH_BACKFILL_ROWS',
      'BENCH_BACKFILL_E2E_ROWS',
      'BENCH_BACKFILL_BASELINE_ROWS',
      'BENCH_BACKFILL_RSS_ROWS',
      'BENCH_BACKFILL_RSS_WARMUP_ROWS',
      'BENCH_BACKFILL_FLUSH_ROWS',
      'BENCH_BACKFILL_ROWS_PER_HOUR',
    ],
    dataset: ['SKEWLESS_BENCH_DATASET_DAYS', 'SKEWLESS_BENCH_DATASET_SCALE'],
  };
  /** Every subset variable, by its bench, with what the refusal says it takes. */
  const lists: Record<string, readonly [string, string][]> = {
    backfill: [
      ['BENCH_BACKFILL_FORMATS', 'csv, csv.gz, jsonl, jsonl.gz, parquet'],
      ['BENCH_BACKFILL_ONLY', 'parse, e2e, flush, memory'],
    ],
  };
  /** The bench module imported, not run (import.meta.main is false): only its module-level reads. */
  const importWith = (bench: string, name: string, value: string) => {
    const run = spawnSync(
      node,
      [
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(join(root, `bench/${bench}.ts`))}); console.log('loaded');`,
      ],
      { env: { ...process.env, [name]: value }, encoding: 'utf8', timeout: 60_000 }
    );
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
  };

  it.each(Object.entries(sizes).flatMap(([bench, names]) => names.map((name) => [bench, name])))(
    'bench/%s.ts with %s=abc stops as it loads: one line, exit 1',
    (bench, name) => {
      const takes = name.endsWith('_SCALE') ? 'a number > 0' : 'a whole number ≥ 1';
      expect(importWith(bench, name, 'abc')).toEqual({
        status: 1,
        stdout: '',
        stderr: `bench: environment variable ${name}="abc" must be ${takes} (bench/README.md)\n`,
      });
    }
  );

  it.each(
    Object.entries(lists).flatMap(([bench, names]) =>
      names.map(([name, takes]) => [bench, name, takes])
    )
  )('bench/%s.ts with %s=abc stops as it loads: one line, exit 1', (bench, name, takes) => {
    expect(importWith(bench as string, name as string, 'abc')).toEqual({
      status: 1,
      stdout: '',
      stderr: `bench: environment variable ${name}="abc" names "abc": it takes a comma-separated list of ${takes} (bench/README.md)\n`,
    });
  });
});

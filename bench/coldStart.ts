/**
 * Cold-start benchmark of the Lambda bundles: for each function, the bundle `npm run build` and
 * `sam build` produce (options from template.yaml, scripts/lib/esbuildOptions.ts), its size, and
 * the time to start a Node process that imports it, against a bare `node -e 0` measured in
 * alternating pairs in the same run (the difference is what the import adds to a cold start).
 * The function's environment is the template's (Globals + its own variables, references
 * replaced by placeholders) plus what Lambda sets (region, credentials, function name), so the
 * module-scope code (configuration, clients) runs as it does in Lambda. Measured twice: with
 * and without `--enable-source-maps`, to price the source maps.
 *
 * Run alone: `node_modules/.bin/node bench/coldStart.ts`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { loadTemplate, type Template } from '../scripts/lib/cfnYaml.ts';
import { functionBuilds } from '../scripts/lib/esbuildOptions.ts';
import type { Bench, BenchRow, BenchSection } from './types.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const NODE = join(ROOT, 'node_modules/.bin/node');
/** Pairs (bare node, node importing the bundle) per function and mode. */
const PAIRS = 15;
const GOAL_KB = 300;
const GOAL_MS = 40;

/** What the Lambda runtime sets for every function (values are placeholders). */
const LAMBDA_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_SESSION_TOKEN: 'bench',
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
  LAMBDA_TASK_ROOT: '/var/task',
};

/** Globals + the function's variables; `!Ref`/`!GetAtt` values become a placeholder string. */
function functionEnvironment(template: Template, logicalId: string): Record<string, string> {
  const variables = (source: unknown): Record<string, unknown> =>
    ((source as { Environment?: { Variables?: Record<string, unknown> } } | undefined)?.Environment
      ?.Variables ?? {}) as Record<string, unknown>;
  const merged = {
    ...variables((template as { Globals?: { Function?: unknown } }).Globals?.Function),
    ...variables(template.Resources[logicalId]?.Properties),
  };
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(merged)) {
    env[name] = typeof value === 'object' ? `bench-${name.toLowerCase()}` : String(value);
  }
  return env;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? 0)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function timedRun(args: readonly string[], env: NodeJS.ProcessEnv): number {
  const started = performance.now();
  const result = spawnSync(NODE, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const elapsed = performance.now() - started;
  if (result.status !== 0) {
    throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  }
  return elapsed;
}

/** Median of (import − bare) over alternating pairs, in ms. */
function importDelta(file: string, env: NodeJS.ProcessEnv, sourceMaps: boolean): number {
  const flags = sourceMaps ? ['--enable-source-maps'] : [];
  const bareEnv = { PATH: process.env.PATH, ...LAMBDA_ENV };
  timedRun([...flags, '-e', '0'], bareEnv);
  timedRun([...flags, file], env);
  const deltas: number[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const bare = timedRun([...flags, '-e', '0'], bareEnv);
    const loaded = timedRun([...flags, file], env);
    deltas.push(loaded - bare);
  }
  return median(deltas);
}

interface ColdStart {
  readonly name: string;
  readonly bytes: number;
  readonly mapBytes: number;
  readonly deltaMs: number;
  readonly deltaWithMapsMs: number;
}

async function measureColdStarts(): Promise<ColdStart[]> {
  const template = loadTemplate(join(ROOT, 'template.yaml'));
  const outRoot = mkdtempSync(join(tmpdir(), 'skewless-coldstart-'));
  try {
    const results: ColdStart[] = [];
    for (const fn of functionBuilds(template, outRoot)) {
      await build({ ...fn.options, logLevel: 'warning' });
      const file = join(outRoot, fn.name, 'index.mjs');
      const { NODE_OPTIONS: _ignored, ...env } = functionEnvironment(template, fn.logicalId);
      const runEnv = {
        PATH: process.env.PATH,
        ...LAMBDA_ENV,
        ...env,
        AWS_LAMBDA_FUNCTION_NAME: fn.logicalId,
      };
      let mapBytes = 0;
      try {
        mapBytes = statSync(`${file}.map`).size;
      } catch {
        mapBytes = 0;
      }
      results.push({
        name: fn.name,
        bytes: statSync(file).size,
        mapBytes,
        deltaMs: importDelta(file, runEnv, false),
        deltaWithMapsMs: importDelta(file, runEnv, true),
      });
    }
    return results;
  } finally {
    rmSync(outRoot, { recursive: true, force: true });
  }
}

const coldStartBench: Bench = async (): Promise<BenchSection> => {
  const results = await measureColdStarts();
  const rows: BenchRow[] = [];
  for (const r of results) {
    const kb = r.bytes / 1024;
    rows.push({
      metric: `${r.name}: bundle size (source map ${(r.mapBytes / 1024).toFixed(0)} KB beside it)`,
      value: `${kb.toFixed(0)} KB`,
      goal: `<= ${GOAL_KB} KB`,
      met: kb <= GOAL_KB,
    });
    rows.push({
      metric: `${r.name}: import time over bare node (as deployed, no --enable-source-maps)`,
      value: `+${r.deltaMs.toFixed(0)} ms`,
      goal: `<= +${GOAL_MS} ms`,
      met: r.deltaMs <= GOAL_MS,
    });
    rows.push({
      metric: `${r.name}: import time over bare node with --enable-source-maps`,
      value: `+${r.deltaWithMapsMs.toFixed(0)} ms`,
    });
  }
  return {
    title: 'Lambda cold start: bundle size and import time (issue 15)',
    method: [
      'Bundles built with the options of template.yaml (the same as `npm run build` and `sam build`).',
      `Import time: median over ${PAIRS} alternating pairs of \`node -e 0\` and \`node <bundle>\` (wall clock of the process), the function's template environment plus Lambda's variables, so module-scope configuration and clients run.`,
      'With source maps: the same pairs with `--enable-source-maps` on both sides.',
    ],
    rows,
  };
};

export default coldStartBench;
export { measureColdStarts };

if (import.meta.main) {
  for (const r of await measureColdStarts()) {
    console.log(
      `${r.name.padEnd(9)} ${(r.bytes / 1024).toFixed(0).padStart(5)} KB  +${r.deltaMs.toFixed(0)} ms  (+${r.deltaWithMapsMs.toFixed(0)} ms with --enable-source-maps, map ${(r.mapBytes / 1024).toFixed(0)} KB)`
    );
  }
}

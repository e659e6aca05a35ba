/**
 * Cold-start benchmark of the Lambda bundles: for each function, the bundle `npm run build` and
 * `sam build` produce (options from template.yaml, scripts/lib/esbuildOptions.ts), its size, and
 * what importing it adds to a bare Node process (timed inside fresh processes: CPU and wall).
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
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { loadTemplate, type Template } from '../scripts/lib/cfnYaml.ts';
import { functionBuilds } from '../scripts/lib/esbuildOptions.ts';
import type { Bench, BenchRow, BenchSection } from './types.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const NODE = join(ROOT, 'node_modules/.bin/node');
/** Fresh processes per function and mode. */
const RUNS = 15;
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

/** One fresh process importing the bundle: the import's wall and CPU time, measured inside it. */
function importOnce(file: string, env: NodeJS.ProcessEnv, sourceMaps: boolean): Sample {
  const script = `const c = process.cpuUsage(); const t = performance.now();
await import(${JSON.stringify(pathToFileURL(file).href)});
const wall = performance.now() - t; const u = process.cpuUsage(c);
process.stdout.write(JSON.stringify({ wallMs: wall, cpuMs: (u.user + u.system) / 1000 }));`;
  const args = [
    ...(sourceMaps ? ['--enable-source-maps'] : []),
    '--input-type=module',
    '-e',
    script,
  ];
  const result = spawnSync(NODE, args, { env, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`importing ${file} exited ${result.status}: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as Sample;
}

interface Sample {
  readonly wallMs: number;
  readonly cpuMs: number;
}

/** Medians over {@link RUNS} fresh processes (after one warm-up for the file cache). */
function importCost(file: string, env: NodeJS.ProcessEnv, sourceMaps: boolean): Sample {
  importOnce(file, env, sourceMaps);
  const samples = Array.from({ length: RUNS }, () => importOnce(file, env, sourceMaps));
  return {
    wallMs: median(samples.map((s) => s.wallMs)),
    cpuMs: median(samples.map((s) => s.cpuMs)),
  };
}

interface ColdStart {
  readonly name: string;
  readonly bytes: number;
  readonly mapBytes: number;
  readonly plain: Sample;
  readonly withMaps: Sample;
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
        plain: importCost(file, runEnv, false),
        withMaps: importCost(file, runEnv, true),
      });
    }
    return results;
  } finally {
    rmSync(outRoot, { recursive: true, force: true });
  }
}

const pct = (value: number, base: number): string =>
  `${value >= base ? '+' : ''}${(((value - base) / base) * 100).toFixed(0)} %`;

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
      metric: `${r.name}: import CPU time (as deployed, no --enable-source-maps)`,
      value: `+${r.plain.cpuMs.toFixed(0)} ms CPU (${r.plain.wallMs.toFixed(0)} ms wall)`,
      goal: `<= +${GOAL_MS} ms`,
      met: r.plain.cpuMs <= GOAL_MS,
    });
    rows.push({
      metric: `${r.name}: import CPU time with --enable-source-maps`,
      value: `+${r.withMaps.cpuMs.toFixed(0)} ms CPU (${r.withMaps.wallMs.toFixed(0)} ms wall), ${pct(r.withMaps.cpuMs, r.plain.cpuMs)} over no maps`,
    });
  }
  return {
    title: 'Lambda cold start: bundle size and import time (issue 15)',
    method: [
      'Bundles built with the options of template.yaml (the same as `npm run build` and `sam build`).',
      `Import cost: median over ${RUNS} fresh processes of \`await import(bundle)\`, timed inside the process (what the import adds to a bare \`node -e 0\`): CPU time (user + system), which the shared machine's load barely moves, and wall time, which it inflates. The function's template environment plus Lambda's variables, so module-scope configuration and clients run.`,
      'With source maps: the same with `--enable-source-maps` (the maps are parsed at load).',
    ],
    rows,
  };
};

export default coldStartBench;
export { measureColdStarts };

if (import.meta.main) {
  for (const r of await measureColdStarts()) {
    console.log(
      `${r.name.padEnd(9)} ${(r.bytes / 1024).toFixed(0).padStart(5)} KB  import ${r.plain.cpuMs.toFixed(0)} ms CPU / ${r.plain.wallMs.toFixed(0)} ms wall; with --enable-source-maps ${r.withMaps.cpuMs.toFixed(0)} ms CPU / ${r.withMaps.wallMs.toFixed(0)} ms wall (map ${(r.mapBytes / 1024).toFixed(0)} KB)`
    );
  }
}

/**
 * Cold-start benchmark of the Lambda bundles: for each function, the bundle `npm run build` and
 * `sam build` produce (options from template.yaml, scripts/lib/esbuildOptions.ts), its size, and
 * what importing it adds to a bare Node process (timed inside fresh processes: CPU and wall). The
 * bundle is loaded with `import()`, as the Lambda Node.js runtime loads a handler file (`.cjs`
 * included). The function's environment is the template's plus what Lambda sets
 * (scripts/lib/lambdaEnvironment.ts), so the module-scope code (configuration, clients) runs as
 * it does in Lambda. Measured twice: with and without `--enable-source-maps`, to price the maps.
 *
 * `COLDSTART_BASELINE=<git ref> npm run bench -- coldStart` also builds that commit's bundles
 * and times them in turns with this checkout's: a before/after measured in one run.
 *
 * Run alone: `node_modules/.bin/node bench/coldStart.ts`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { loadTemplate } from '../scripts/lib/cfnYaml.ts';
import { functionBuilds } from '../scripts/lib/esbuildOptions.ts';
import { lambdaEnvironment } from '../scripts/lib/lambdaEnvironment.ts';
import { median, NODE, ROOT, runAlone } from './harness.ts';
import type { Bench, BenchRow, BenchSection } from './types.ts';

/** Fresh processes per function and mode. */
const RUNS = 15;
const GOAL_KB = 300;
const GOAL_MS = 40;

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

interface ImportCase {
  readonly file: string;
  readonly env: NodeJS.ProcessEnv;
  readonly sourceMaps: boolean;
}

/**
 * Medians over {@link RUNS} fresh processes per case (after one warm-up each for the file
 * cache); the cases take turns, so a change of machine load hits them alike.
 */
function importCosts(cases: readonly ImportCase[]): Sample[] {
  for (const c of cases) importOnce(c.file, c.env, c.sourceMaps);
  const samples: Sample[][] = cases.map(() => []);
  for (let run = 0; run < RUNS; run++) {
    for (const [i, c] of cases.entries()) {
      samples[i]?.push(importOnce(c.file, c.env, c.sourceMaps));
    }
  }
  return samples.map((s) => ({
    wallMs: median(s.map((x) => x.wallMs)),
    cpuMs: median(s.map((x) => x.cpuMs)),
  }));
}

interface ColdStart {
  readonly name: string;
  readonly bytes: number;
  readonly mapBytes: number;
  readonly plain: Sample;
  readonly withMaps: Sample;
  /** The same function built from {@link BASELINE_ENV}'s commit, measured interleaved with it. */
  readonly baseline?: { readonly bytes: number; readonly plain: Sample };
}

/** `COLDSTART_BASELINE=<git ref>`: also build that commit's bundles and measure them side by side. */
const BASELINE_ENV = 'COLDSTART_BASELINE';

interface BuiltFunction {
  readonly name: string;
  readonly file: string;
  readonly env: NodeJS.ProcessEnv;
}

/** Builds every function of `projectRoot`'s template.yaml (its own options) into `outRoot`. */
async function buildFunctions(projectRoot: string, outRoot: string): Promise<BuiltFunction[]> {
  const template = loadTemplate(join(projectRoot, 'template.yaml'));
  const built: BuiltFunction[] = [];
  for (const fn of functionBuilds(template, outRoot, projectRoot)) {
    await build({ ...fn.options, logLevel: 'warning' });
    built.push({
      name: fn.name,
      file: fn.bundleFile,
      env: { PATH: process.env.PATH, ...lambdaEnvironment(template, fn.logicalId) },
    });
  }
  return built;
}

/** The tree of commit `ref` in `dir` (read-only `git archive`), with this checkout's node_modules. */
function checkOut(ref: string, dir: string): string {
  const commit = execFileSync('git', ['rev-parse', '--short', ref], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  execFileSync('sh', ['-c', `git archive ${commit.trim()} | tar -x -C "${dir}"`], { cwd: ROOT });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return commit.trim();
}

/** bench/coldStartFloor.ts bundled with the lookup function's options, in the lookup's environment. */
async function buildFloor(outRoot: string): Promise<BuiltFunction> {
  const template = loadTemplate(join(ROOT, 'template.yaml'));
  const lookup = functionBuilds(template, outRoot).find((fn) => fn.name === 'lookup');
  if (lookup === undefined) throw new Error('template.yaml has no lookup function');
  const entry = join(ROOT, 'bench/coldStartFloor.ts');
  await build({ ...lookup.options, entryPoints: [entry], logLevel: 'warning' });
  return {
    name: FLOOR,
    file: join(
      outRoot,
      lookup.name,
      basename(lookup.bundleFile).replace('index', 'coldStartFloor')
    ),
    env: { PATH: process.env.PATH, ...lambdaEnvironment(template, lookup.logicalId) },
  };
}

/** The name of the floor's row: no Skewless code, only the libraries (bench/coldStartFloor.ts). */
const FLOOR = 'floor';

async function measureColdStarts(baselineRef = process.env[BASELINE_ENV]): Promise<{
  results: ColdStart[];
  baselineCommit?: string;
}> {
  const outRoot = mkdtempSync(join(tmpdir(), 'skewless-coldstart-'));
  try {
    const current = [
      ...(await buildFunctions(ROOT, join(outRoot, 'current'))),
      await buildFloor(join(outRoot, 'floor')),
    ];
    let baseline: BuiltFunction[] = [];
    let baselineCommit: string | undefined;
    if (baselineRef !== undefined && baselineRef !== '') {
      const tree = join(outRoot, 'baseline-tree');
      mkdirSync(tree);
      baselineCommit = checkOut(baselineRef, tree);
      baseline = await buildFunctions(tree, join(outRoot, 'baseline'));
    }
    const results: ColdStart[] = [];
    for (const fn of current) {
      let mapBytes = 0;
      try {
        mapBytes = statSync(`${fn.file}.map`).size;
      } catch {
        mapBytes = 0;
      }
      const before = baseline.find((b) => b.name === fn.name);
      // Interleaved with the baseline, so both see the same machine load.
      const [plain, beforePlain] = importCosts([
        { file: fn.file, env: fn.env, sourceMaps: false },
        ...(before === undefined
          ? []
          : [{ file: before.file, env: before.env, sourceMaps: false }]),
      ]);
      const [withMaps] = importCosts([{ file: fn.file, env: fn.env, sourceMaps: true }]);
      results.push({
        name: fn.name,
        bytes: statSync(fn.file).size,
        mapBytes,
        plain: plain as Sample,
        withMaps: withMaps as Sample,
        ...(before === undefined || beforePlain === undefined
          ? {}
          : { baseline: { bytes: statSync(before.file).size, plain: beforePlain } }),
      });
    }
    return { results, ...(baselineCommit === undefined ? {} : { baselineCommit }) };
  } finally {
    rmSync(outRoot, { recursive: true, force: true });
  }
}

const pct = (value: number, base: number): string =>
  `${value >= base ? '+' : ''}${(((value - base) / base) * 100).toFixed(0)} %`;

const coldStartBench: Bench = async (): Promise<BenchSection> => {
  const { results, baselineCommit } = await measureColdStarts();
  const rows: BenchRow[] = [];
  for (const r of results) {
    const kb = r.bytes / 1024;
    if (r.name === FLOOR) {
      rows.push({
        metric:
          'floor: Powertools Logger + Metrics + Middy + one Feature Store runtime client, no Skewless code (bench/coldStartFloor.ts, lookup options)',
        value: `${kb.toFixed(0)} KB; import +${r.plain.cpuMs.toFixed(0)} ms CPU (${r.plain.wallMs.toFixed(0)} ms wall)`,
      });
      continue;
    }
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
    if (r.baseline !== undefined) {
      rows.push({
        metric: `${r.name}: before (${baselineCommit}) → after, side by side`,
        value: `${(r.baseline.bytes / 1024).toFixed(0)} → ${kb.toFixed(0)} KB; import +${r.baseline.plain.cpuMs.toFixed(0)} → +${r.plain.cpuMs.toFixed(0)} ms CPU (${pct(r.plain.cpuMs, r.baseline.plain.cpuMs)})`,
      });
    }
  }
  return {
    title: 'Lambda cold start: bundle size and import time (issue 15)',
    method: [
      'Bundles built with the options of template.yaml (the same as `npm run build` and `sam build`).',
      `Import cost: median over ${RUNS} fresh processes of \`await import(bundle)\` (how the Lambda Node.js runtime loads a handler file, \`.cjs\` included), timed inside the process (what the import adds to a bare \`node -e 0\`): CPU time (user + system), which the shared machine's load moves less, and wall time, which it inflates. The function's template environment (parameters at their defaults) plus Lambda's variables, so module-scope configuration and clients run (scripts/lib/lambdaEnvironment.ts).`,
      'Floor: bench/coldStartFloor.ts (Powertools Logger + Metrics + Middy + one Feature Store runtime client, no Skewless code) built with the lookup options: the part of every import that the libraries alone cost on this machine.',
      'With source maps: the same with `--enable-source-maps` (the maps are parsed at load).',
      ...(baselineCommit === undefined
        ? []
        : [
            `Before → after: \`${BASELINE_ENV}=${baselineCommit} npm run bench -- coldStart\`: that commit's tree (\`git archive\`, this checkout's node_modules) built with its own template.yaml options, its import timed in turns with this one's (same runs, same load).`,
          ]),
    ],
    rows,
  };
};

export default coldStartBench;
export { measureColdStarts };

if (import.meta.main) await runAlone(coldStartBench);

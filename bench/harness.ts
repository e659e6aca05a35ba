/**
 * What every benchmark shares: the project's Node 24, the embedded store (or any server) in a child
 * process on 127.0.0.1, number formatting, medians, and the markdown of a section (the same for
 * `npm run bench` and a bench run alone).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { loadTemplate } from '../scripts/lib/cfnYaml.ts';
import type { Bench, BenchSection } from './types.ts';

const ROOT = new URL('..', import.meta.url).pathname;
/** The project's Node 24 (the `node` npm package), whatever `node` is on the PATH. */
const NODE = join(ROOT, 'node_modules/.bin/node');
const STARTUP_TIMEOUT_MS = 30_000;

/**
 * The ingest function's deployed defaults, read from template.yaml's parameters (not a second
 * copy that could drift): the Kinesis batch size and the handler's PutRecord concurrency.
 */
function ingestDefaults(): { readonly batchSize: number; readonly concurrency: number } {
  const parameters = (
    loadTemplate(join(ROOT, 'template.yaml')) as {
      Parameters?: Record<string, { Default?: unknown }>;
    }
  ).Parameters;
  const read = (name: string): number => {
    const value = Number(parameters?.[name]?.Default);
    if (!Number.isInteger(value)) throw new Error(`template.yaml: no numeric default for ${name}`);
    return value;
  };
  return { batchSize: read('IngestBatchSize'), concurrency: read('IngestConcurrency') };
}

interface ServerProcess {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
}

/**
 * Starts `node <args>` and waits for the `listening on http://127.0.0.1:<port>` line it prints
 * (the embedded store's, or a bench's own server). Its stdout is drained afterwards so that a
 * chatty server never stalls on a full pipe; its stderr goes to ours.
 */
function spawnServer(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env
): Promise<ServerProcess> {
  const child = spawn(NODE, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`server did not start within ${STARTUP_TIMEOUT_MS} ms: ${out}`));
    }, STARTUP_TIMEOUT_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume();
        resolve({ child, endpoint: m[1] as string, port: Number(m[2]) });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code ?? signal} before listening: ${out}`));
    });
  });
}

/** The embedded store (`local/store/main.ts`, as `skewless store` runs it) on a free port. */
function spawnStore(dataDir: string, extraArgs: readonly string[] = []): Promise<ServerProcess> {
  return spawnServer([
    join(ROOT, 'local/store/main.ts'),
    '--port',
    '0',
    '--data-dir',
    dataDir,
    '--log-level',
    'info',
    ...extraArgs,
  ]);
}

/** SIGTERM (the store flushes and stops) and wait for the exit. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** `1,234,567` / `12.34`: figures as BENCHMARKS.md prints them. */
function formatNumber(n: number, digits = 0): string {
  return n.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? 0)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** One timed phase of a throughput bench: records written, wall and CPU time, failures. */
interface Phase {
  records: number;
  ms: number;
  failures: number;
  cpuMs: number;
}

/** A phase's wall and CPU time around `run`, with the records and failures it counted. */
async function timedPhase(
  run: () => Promise<{ records: number; failures: number }>
): Promise<Phase> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const { records, failures } = await run();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { records, ms, failures, cpuMs: (used.user + used.system) / 1000 };
}

function sumPhases(phases: readonly Phase[]): Phase {
  return phases.reduce(
    (a, p) => ({
      records: a.records + p.records,
      ms: a.ms + p.ms,
      failures: a.failures + p.failures,
      cpuMs: a.cpuMs + p.cpuMs,
    }),
    { records: 0, ms: 0, failures: 0, cpuMs: 0 }
  );
}

const perSecond = (p: Phase): number => p.records / (p.ms / 1000);
/** Microseconds of CPU per record. */
const cpuPerRecord = (p: Phase): number => (p.cpuMs * 1000) / p.records;

/** A section's method lines and table, as BENCHMARKS.md holds them (without its `## title`). */
function sectionBody(section: BenchSection): string[] {
  const lines = section.method.map((m) => `- ${m}`);
  lines.push('', '| metric | value | goal | met |', '| --- | --- | --- | --- |');
  for (const row of section.rows) {
    lines.push(
      `| ${row.metric} | ${row.value} | ${row.goal ?? ''} | ${row.met === undefined ? '' : row.met ? 'yes' : 'no'} |`
    );
  }
  return lines;
}

/**
 * A size a bench reads from its environment variable (bench/README.md lists them): `fallback` when
 * unset or empty, else a whole number ≥ 1, or with `fraction` any number > 0 (a scale factor).
 *
 * @throws Error naming the variable, its value and what it takes (`BENCH_BATCH_ROWS=abc` would
 *   otherwise size the bench NaN)
 */
function benchSize(name: string, fallback: number, { fraction = false } = {}): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.trim() === '' ? Number.NaN : raw);
  if (fraction ? Number.isFinite(value) && value > 0 : Number.isSafeInteger(value) && value >= 1) {
    return value;
  }
  throw new Error(
    `environment variable ${name}="${raw}" must be ${fraction ? 'a number > 0' : 'a whole number ≥ 1'} (bench/README.md)`
  );
}

/**
 * A subset a bench reads from its environment variable (bench/README.md lists them): every one of
 * `allowed` when unset or empty, else the comma-separated names set, in `allowed`'s order.
 *
 * @throws Error naming the variable and the names it does not know (a misspelt `csvv` would
 *   otherwise measure nothing, without a word)
 */
function benchList<Name extends string>(name: string, allowed: readonly Name[]): Name[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return [...allowed];
  const items = raw.split(',').map((item) => item.trim());
  const unknown = items.filter((item) => !(allowed as readonly string[]).includes(item));
  if (unknown.length > 0) {
    throw new Error(
      `environment variable ${name}="${raw}" names ${unknown.map((item) => `"${item}"`).join(', ')}: it takes a comma-separated list of ${allowed.join(', ')} (bench/README.md)`
    );
  }
  return allowed.filter((item) => items.includes(item));
}

/**
 * A bench's module-level read of its environment, as it loads: a bad value stops the process
 * with that one line and exit 1, before any work, alone or under `npm run bench` (whose run would
 * otherwise go on to rewrite BENCHMARKS.md around a failed section).
 */
function readOrExit<Value>(read: () => Value): Value {
  try {
    return read();
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

/** {@link benchSize} read as the bench loads ({@link readOrExit}). */
function benchSizeOrExit(name: string, fallback: number, options?: { fraction?: boolean }): number {
  return readOrExit(() => benchSize(name, fallback, options));
}

/** {@link benchList} read as the bench loads ({@link readOrExit}). */
function benchListOrExit<Name extends string>(name: string, allowed: readonly Name[]): Name[] {
  return readOrExit(() => benchList(name, allowed));
}

/** A bench run alone (`node bench/<name>.ts`): its section's markdown on stdout. */
async function runAlone(bench: Bench): Promise<void> {
  const section = await bench();
  process.stdout.write(`## ${section.title}\n\n${sectionBody(section).join('\n')}\n`);
}

export type { Phase, ServerProcess };
export {
  benchList,
  benchListOrExit,
  benchSize,
  benchSizeOrExit,
  cpuPerRecord,
  formatNumber,
  ingestDefaults,
  median,
  NODE,
  perSecond,
  ROOT,
  runAlone,
  sectionBody,
  spawnServer,
  spawnStore,
  stopChild,
  sumPhases,
  timedPhase,
};

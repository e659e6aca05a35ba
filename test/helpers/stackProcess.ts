/**
 * The project's processes as tests run them, written once: the project's Node and the paths of
 * the repository, any `skewless` command (run to its end, or spawned and watched), the embedded
 * store alone (`local/store/main.ts`), and `skewless start` (what `npm start` runs) as a user
 * runs it: every port free (0), one data directory, stopped with SIGINT (Ctrl-C). The handlers
 * run in that process with their own clients, so a second start on the same data directory is a
 * fresh process too.
 */
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Endpoints } from '../../local/start.ts';

const root = new URL('../..', import.meta.url).pathname;
/** The project's Node (the system one may be older than the project needs). */
const node = join(root, 'node_modules/.bin/node');
/** The CLI's entry point, what `npm start` and a user's `skewless` run. */
const cli = join(root, 'bin/skewless.js');
/** The embedded store's own entry point (what `skewless store` runs). */
const storeMain = join(root, 'local/store/main.ts');
/** The line the store prints once it accepts requests, with its endpoint. */
const STORE_LISTENING = /listening on (http:\/\/127\.0\.0\.1:\d+)/;
/** Every listener of `skewless start` on a free port. */
const FREE_PORTS = ['--api-port', '--store-port', '--kinesis-port', '--s3-port'].flatMap((flag) => [
  flag,
  '0',
]);

/** Where a `skewless` command runs, and with what. */
interface CliOptions {
  /** Its working directory (default: the repository root). */
  readonly cwd?: string;
  /**
   * Variables set over this process's environment; one given as `undefined` is unset (as
   * POWERTOOLS_LOG_LEVEL, which test/setup.ts sets and a user's shell does not).
   */
  readonly env?: NodeJS.ProcessEnv;
  /** Killed after this long (default: two minutes). */
  readonly timeoutMs?: number;
}

/** A `skewless` command run to its end. */
interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const CLI_TIMEOUT_MS = 120_000;

/** A stack process as spawned, before its startup is over. */
interface StartingStackProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  readonly output: () => string;
}

interface StackProcess extends StartingStackProcess {
  readonly endpoints: Endpoints;
}

/**
 * Spawns `skewless start` on `dataDir` without waiting for anything. `args` come after the data
 * dir and the free ports (e.g. `--no-demo`).
 */
function spawnStackProcess(dataDir: string, args: readonly string[]): StartingStackProcess {
  rmSync(join(dataDir, 'endpoints.json'), { force: true });
  return spawnCliProcess(['start', '--data-dir', dataDir, ...FREE_PORTS, ...args]);
}

/**
 * Any `skewless` command in a child process, without waiting for anything; POWERTOOLS_LOG_LEVEL
 * unset, as in a user's shell, unless `options.env` sets it.
 */
function spawnCliProcess(
  args: readonly string[],
  options: Omit<CliOptions, 'timeoutMs'> = {}
): StartingStackProcess {
  return spawnOutputKept(node, [cli, ...args], {
    cwd: options.cwd ?? root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: undefined, ...options.env },
  });
}

/** `command` in a child process whose stdout and stderr are kept, together, as it writes them. */
function spawnOutputKept(
  command: string,
  args: readonly string[],
  options: SpawnOptions
): StartingStackProcess {
  const child = spawn(command, args, options);
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  return { child, output: () => output };
}

/**
 * The embedded store alone (`node local/store/main.ts`, `args` after it) in a child process,
 * without waiting for anything: {@link storeListening} waits for its endpoint.
 */
function spawnStoreProcess(args: readonly string[]): StartingStackProcess {
  return spawnOutputKept(node, [storeMain, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Resolves with the endpoint of a spawned store (`skewless store` or {@link spawnStoreProcess})
 * once it prints that it listens; rejects if it exits first.
 */
async function storeListening(process: StartingStackProcess): Promise<string> {
  await outputMatching(process, STORE_LISTENING);
  return STORE_LISTENING.exec(process.output())?.[1] ?? '';
}

/**
 * Starts a stack on `dataDir` and resolves once its banner is out. `args` come after the data dir
 * and the free ports (e.g. `--no-demo`).
 */
async function startStackProcess(
  dataDir: string,
  args: readonly string[],
  timeoutMs = 60_000
): Promise<StackProcess> {
  return stackStarted(spawnStackProcess(dataDir, args), dataDir, timeoutMs);
}

/**
 * Resolves once the banner of a spawned `skewless start` is out, with the endpoints it wrote to
 * `dataDir`; throws (and kills it) if it exits first or does not start in `timeoutMs`.
 */
async function stackStarted(
  starting: StartingStackProcess,
  dataDir: string,
  timeoutMs = 60_000
): Promise<StackProcess> {
  const { child, output } = starting;
  const deadline = Date.now() + timeoutMs;
  while (!output().includes('Ctrl-C stops everything')) {
    if (child.exitCode !== null) throw new Error(`stack exited early:\n${output()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`stack did not start in ${timeoutMs / 1000} s:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const endpoints = JSON.parse(readFileSync(join(dataDir, 'endpoints.json'), 'utf8')) as Endpoints;
  return { child, output, endpoints };
}

/** Ctrl-C: resolves with the exit code once the stack has stopped. */
async function stopStackProcess(stack: StackProcess): Promise<number | null> {
  if (stack.child.exitCode !== null) return stack.child.exitCode;
  const exited = exitCodeOf(stack);
  stack.child.kill('SIGINT');
  return exited;
}

/**
 * Resolves as soon as the process's output matches `pattern` (a text it holds, or a RegExp),
 * checked on every chunk it writes; rejects if it exits first.
 */
function outputMatching(process: StartingStackProcess, pattern: string | RegExp): Promise<void> {
  const matches = () =>
    typeof pattern === 'string'
      ? process.output().includes(pattern)
      : pattern.test(process.output());
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!matches()) return;
      process.child.stdout?.off('data', check);
      process.child.stderr?.off('data', check);
      resolve();
    };
    process.child.stdout?.on('data', check);
    process.child.stderr?.on('data', check);
    process.child.once('exit', () =>
      reject(new Error(`exited before its output matched ${String(pattern)}:\n${process.output()}`))
    );
    check();
  });
}

/** The process's exit code, once it exits (take it before signalling, not to miss the exit). */
function exitCodeOf(process: StartingStackProcess): Promise<number | null> {
  return new Promise((resolve) => process.child.once('exit', (code) => resolve(code)));
}

/**
 * SIGKILL, if the process still runs, and resolves once it has exited: for a test's cleanup, so
 * that no child outlives a failed test or hook.
 */
async function killProcess(process: StartingStackProcess): Promise<void> {
  if (process.child.exitCode !== null || process.child.signalCode !== null) return;
  const exited = exitCodeOf(process);
  process.child.kill('SIGKILL');
  await exited;
}

/**
 * The TCP ports a child listens on (Linux: its socket inodes in /proc/<pid>/fd, looked up in
 * /proc/net/tcp), for a test to reach servers whose ports the process does not print.
 */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode !== undefined) inodes.add(inode);
    } catch {
      // The descriptor closed meanwhile.
    }
  }
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[3] === '0A' && inodes.has(f[9] ?? ''))
    .map((f) => Number.parseInt((f[1] ?? '').split(':')[1] ?? '', 16));
}

/**
 * Resolves with the TCP ports the process listens on ({@link listeningPorts}) once there are at
 * least `count`: its in-process servers are up (a command's embedded store listens only once its
 * journal is replayed). Checked every 10 ms, for at most 30 s; throws with the process's output if
 * it exits first.
 */
function portsListening(process: StartingStackProcess, count: number): Promise<number[]> {
  return untilPorts(process, (ports) => ports.length >= count, `at least ${count}`);
}

/**
 * Resolves with the TCP ports the process still listens on once there are fewer than `count`: one
 * of its servers has begun its close (a server stops listening as its close starts, then waits for
 * its requests in flight). Checked as {@link portsListening}.
 */
function portsFewerThan(process: StartingStackProcess, count: number): Promise<number[]> {
  return untilPorts(process, (ports) => ports.length < count, `fewer than ${count}`);
}

async function untilPorts(
  process: StartingStackProcess,
  reached: (ports: readonly number[]) => boolean,
  wanted: string
): Promise<number[]> {
  const pid = process.child.pid as number;
  for (let waited = 0; ; waited += 10) {
    if (process.child.exitCode !== null) throw new Error(process.output());
    const ports = listeningPorts(pid);
    if (reached(ports)) return ports;
    if (waited > 30_000)
      throw new Error(`listens on ${ports.length} ports, not ${wanted}:\n${process.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A request to `endpoint` whose body never finishes arriving: `start` is its head and the start
 * of a body shorter than its content-length, so the server holds it open (and a clean stop waits
 * for it). Destroy the socket when done.
 */
async function heldRequest(endpoint: string, start: string): Promise<Socket> {
  const url = new URL(endpoint);
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(start);
  return socket;
}

/** Polls `attempt` every 200 ms until it gives a value; throws after `timeoutMs`. */
async function poll<T>(
  what: string,
  attempt: () => Promise<T | undefined>,
  timeoutMs = 30_000
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A `skewless` command, run to its end (this process waits, blocked). */
function runCli(args: readonly string[], options: CliOptions = {}): CliRun {
  const result = spawnSync(node, [cli, ...args], {
    cwd: options.cwd ?? root,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? CLI_TIMEOUT_MS,
    env: { ...process.env, ...options.env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Like {@link runCli}, without blocking this process (which may serve the store the command
 * calls); `started` gets the child (to signal it).
 */
function runCliAsync(
  args: readonly string[],
  options: CliOptions & { readonly started?: (child: ChildProcess) => void } = {}
): Promise<CliRun> {
  return runToEnd(node, [cli, ...args], options);
}

/**
 * The CLI through `/bin/sh -c script` (`exec "$0" "$1" …`: $0 is the project's Node, $1 the CLI),
 * without blocking this process: the shell's printf passes bytes that are not UTF-8 as they are.
 */
function runCliThroughShell(script: string, options: CliOptions = {}): Promise<CliRun> {
  return runToEnd('/bin/sh', ['-c', script, node, cli], options);
}

/** `command` in a child, resolved with its exit status and output once its streams close. */
function runToEnd(
  command: string,
  args: readonly string[],
  options: CliOptions & { readonly started?: (child: ChildProcess) => void }
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? root,
      timeout: options.timeoutMs ?? CLI_TIMEOUT_MS,
      env: { ...process.env, ...options.env },
    });
    options.started?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** `skewless backfill` of the README's example file into `fraud-cards`, on `dataDir`. */
function exampleBackfillArgs(dataDir: string): string[] {
  const file = join(root, 'examples/backfill/fraud-cards-october.csv');
  return ['backfill', file, '--group', 'fraud-cards', '--no-progress', '--data-dir', dataDir];
}

/**
 * Resolves as soon as `lock` (a data dir's `store.lock`) names the process: its store has taken
 * the data dir (a lock left by an earlier process names another pid). Checked every 5 ms, for
 * at most 30 s; throws with the process's output if it exits first.
 */
async function lockTakenBy(lock: string, process: StartingStackProcess): Promise<void> {
  const taken = () =>
    existsSync(lock) && readFileSync(lock, 'utf8').startsWith(`${process.child.pid}\n`);
  for (let waited = 0; !taken(); waited += 5) {
    if (waited > 30_000 || process.child.exitCode !== null) throw new Error(process.output());
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Writes a `fraud-cards` CSV of `rows` rows stamped an hour ago, ids `<idPrefix>-<n>`: a drop
 * that takes seconds to write (about 3 s for 10,000 rows), for a signal to find under way.
 */
function writeCardsFile(path: string, rows: number, idPrefix: string): void {
  const eventTime = new Date(Date.now() - 3_600_000).toISOString();
  const lines = [
    'card_id,event_time,txn_count_7d,txn_count_30d,amount_sum_7d,amount_sum_30d,distinct_merchants_30d,chargebacks_365d,card_age_days,home_country',
  ];
  for (let i = 0; i < rows; i += 1)
    lines.push(`${idPrefix}-${i},${eventTime},3,8,10.5,42,2,0,100,DE`);
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. */
function processCpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name, which may itself hold ") ": fields 14 and 15 of stat (utime,
    // stime), in clock ticks (100 per second on Linux).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

export type { CliOptions, CliRun, StackProcess, StartingStackProcess };
export {
  cli,
  exampleBackfillArgs,
  exitCodeOf,
  FREE_PORTS,
  heldRequest,
  killProcess,
  listeningPorts,
  lockTakenBy,
  node,
  outputMatching,
  poll,
  portsFewerThan,
  portsListening,
  processCpuSeconds,
  root,
  runCli,
  runCliAsync,
  runCliThroughShell,
  spawnCliProcess,
  spawnStackProcess,
  spawnStoreProcess,
  stackStarted,
  startStackProcess,
  stopStackProcess,
  storeListening,
  storeMain,
  writeCardsFile,
};

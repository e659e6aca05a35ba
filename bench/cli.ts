/**
 * CLI start-up: what a newcomer waits for after typing `npx skewless --help`, and `npx skewless
 * get` against a running store (issue 15: ≤ 0.5 s each). Every case is a fresh process, timed from
 * spawn to exit in this process (wall clock: what the user waits for). Baselines in the same run:
 * a bare `node -e 0` (the process floor) and `npx -c true` (npm's own start-up, before any of our
 * code runs). The bin enables Node's compile cache; each case runs once before the timed runs, as a
 * user's second command would find it.
 *
 * Run alone: `node_modules/.bin/node bench/cli.ts`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { ensureFeatureGroups } from '../local/setup/ensureFeatureGroups.ts';
import { cards } from '../shared/definitions.ts';
import { median, NODE, ROOT, runAlone, spawnStore, stopChild } from './harness.ts';
import type { Bench, BenchRow } from './types.ts';

/** Timed runs per case, the cases taking turns so that a change of load hits them alike. */
const RUNS = 11;
const GOAL_MS = 500;
const CARD_ID = 'bench-card-0001';
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };

interface CliCase {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly goal?: boolean;
}

/** One fresh process, spawn to exit; fails the bench if the command fails. */
function timeOnce(c: CliCase, env: NodeJS.ProcessEnv): number {
  const started = performance.now();
  const result = spawnSync(c.command, c.args, { cwd: ROOT, env, encoding: 'utf8' });
  const ms = performance.now() - started;
  if (result.status !== 0) {
    throw new Error(`${c.name} exited ${result.status ?? result.signal}: ${result.stderr}`);
  }
  return ms;
}

const bench: Bench = async () => {
  const loadAtStart = loadavg()[0] ?? 0;
  const dataDir = mkdtempSync(join(tmpdir(), 'skewless-bench-cli-'));
  const store = await spawnStore(dataDir, ['--creating-ms', '0']);
  try {
    const sagemaker = new SageMakerClient({
      endpoint: store.endpoint,
      region: 'us-east-1',
      credentials,
    });
    await ensureFeatureGroups(sagemaker, [cards], {
      offlineS3Uri: 's3://bench/offline-store',
      roleArn: 'arn:aws:iam::000000000000:role/bench',
    });
    sagemaker.destroy();

    // The project's Node first on the PATH, as `npm run` and a newcomer's `npx` in the project find it.
    const env = {
      ...process.env,
      PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH ?? ''}`,
    };
    const bin = join(ROOT, 'bin/skewless.js');
    const record = JSON.stringify({
      card_id: CARD_ID,
      event_time: new Date().toISOString(),
      txn_count_7d: 3,
      home_country: 'DE',
    });
    const put = spawnSync(NODE, [bin, 'put', cards.name, record, '--endpoint', store.endpoint], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
    });
    if (put.status !== 0) throw new Error(`skewless put failed: ${put.stderr}`);

    const get = ['get', cards.name, CARD_ID, '--endpoint', store.endpoint];
    const cases: CliCase[] = [
      { name: 'bare `node -e 0` (process floor)', command: NODE, args: ['-e', '0'] },
      { name: '`npx -c true` (npm alone)', command: 'npx', args: ['-c', 'true'] },
      { name: '`npx skewless --help`', command: 'npx', args: ['skewless', '--help'], goal: true },
      {
        name: `\`npx skewless get ${cards.name} <id>\` against a running store`,
        command: 'npx',
        args: ['skewless', ...get],
        goal: true,
      },
      { name: '`node bin/skewless.js --help` (without npx)', command: NODE, args: [bin, '--help'] },
      { name: '`node bin/skewless.js get …` (without npx)', command: NODE, args: [bin, ...get] },
    ];
    for (const c of cases) timeOnce(c, env);
    const samples: number[][] = cases.map(() => []);
    for (let run = 0; run < RUNS; run++) {
      for (const [i, c] of cases.entries()) samples[i]?.push(timeOnce(c, env));
    }
    const medians = samples.map(median);
    const npmAlone = medians[1] ?? 0;
    const rows: BenchRow[] = cases.map((c, i) => {
      const ms = medians[i] ?? 0;
      const sorted = [...(samples[i] ?? [])].sort((a, b) => a - b);
      const overNpm =
        c.command === 'npx' && i > 1 ? `; ${(ms - npmAlone).toFixed(0)} ms over npm alone` : '';
      return {
        metric: c.name,
        value: `${(ms / 1000).toFixed(2)} s median (${(sorted[0] ?? 0).toFixed(0)}–${(sorted.at(-1) ?? 0).toFixed(0)} ms)${overNpm}`,
        ...(c.goal === true ? { goal: `<= ${GOAL_MS / 1000} s`, met: ms <= GOAL_MS } : {}),
      };
    });
    return {
      title: 'CLI start-up (issue 15)',
      method: [
        `Each case a fresh process, spawn to exit (wall clock, what the user waits for), median of ${RUNS} runs with the cases taking turns, after one untimed run each (the bin's compile cache is then warm, as for a user's second command).`,
        'Working directory: the project root, the project Node 24 first on the PATH; `npx` is the machine’s npm. The store: `local/store/main.ts` on 127.0.0.1 with fraud-cards and one record put by `skewless put`.',
        `Load average (1 min) at start: ${loadAtStart.toFixed(1)}, at end: ${(loadavg()[0] ?? 0).toFixed(1)} (2 shared cores: wall clock moves with the other processes).`,
      ],
      rows,
    };
  } finally {
    await stopChild(store.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
};

export default bench;

if (import.meta.main) await runAlone(bench);

/**
 * Ctrl-C (or SIGTERM) on `npm start` before it is ready: the parts started so far stop cleanly
 * (the store flushes and releases its lock), nothing is left in the data dir that names the gone
 * process, the user reads what happened, and the exit code is 128 + the signal.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  exitCodeOf,
  killProcess,
  outputMatching,
  type StartingStackProcess,
  spawnStackProcess,
} from '../helpers/stackProcess.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'skewless-startup-interrupt-'));
const running: StartingStackProcess[] = [];

afterAll(async () => {
  await Promise.all(running.map(killProcess));
  rmSync(dataDir, { recursive: true, force: true });
});

/**
 * Starts a stack with `args`, sends `signal` as soon as its output holds `after`, and asserts the
 * interrupted startup's end: exit 128 + the signal, its two lines, the store's clean stop, and no
 * store.lock or endpoints.json left.
 */
async function expectInterruptedStartup(
  args: readonly string[],
  after: string,
  signal: 'SIGINT' | 'SIGTERM',
  code: number
): Promise<void> {
  // Prepare
  const stack = spawnStackProcess(dataDir, args);
  running.push(stack);
  const exited = exitCodeOf(stack);
  await outputMatching(stack, after);
  // Act
  stack.child.kill(signal);
  // Assess
  expect(await exited, stack.output()).toBe(code);
  expect(stack.output()).not.toContain('ready in');
  expect(stack.output()).toContain(`\n${signal} during startup: stopping what has started...\n`);
  expect(stack.output()).toMatch(/\[store\] Skewless feature store on \S+ stopped\n/);
  expect(stack.output()).toMatch(/\nstopped during startup, cleanly\n$/);
  expect(existsSync(join(dataDir, 'store', 'store.lock'))).toBe(false);
  expect(existsSync(join(dataDir, 'endpoints.json'))).toBe(false);
}

describe('npm start interrupted during its startup', () => {
  it('Ctrl-C right after the store listens: the store stops cleanly, no store.lock or endpoints.json, exit 130', async () => {
    await expectInterruptedStartup(
      ['--no-demo', '--audit-interval', '3600'],
      '[store] Skewless feature store listening on',
      'SIGINT',
      130
    );
  }, 60_000);

  it('SIGTERM late in the startup (after the demo nightly drop): every part started stops cleanly, exit 143', async () => {
    // On the data dir the interrupted start above left, which a start takes again.
    await expectInterruptedStartup(
      ['--audit-interval', '3600'],
      '[demo] nightly aggregates dropped and applied',
      'SIGTERM',
      143
    );
  }, 60_000);
});

/**
 * `npm start` stopped while a lookup request never finishes (its body stops arriving): one Ctrl-C
 * does not wait on it for long; a second one, while the clean stop is still running, exits at
 * once, but must not leave `endpoints.json` or `store.lock` behind, and says what it left
 * unfinished.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  exitCodeOf,
  heldRequest,
  killProcess,
  outputMatching,
  runCli,
  type StackProcess,
  startStackProcess,
  stopStackProcess,
} from '../helpers/stackProcess.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'skewless-force-quit-'));
// No flush before the stop: the row put below is still in the store's journal when it comes.
const start = () =>
  startStackProcess(dataDir, [
    '--no-demo',
    '--flush-interval',
    '86400000',
    '--audit-interval',
    '3600',
  ]);
let running: StackProcess | undefined;

/** A lookup request whose body never finishes arriving: the API holds it open. */
const heldLookupRequest = (stack: StackProcess): Promise<Socket> =>
  heldRequest(
    stack.endpoints.api,
    'POST /feature-sets/fraud_model_v3/vectors HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"entit'
  );

afterAll(async () => {
  if (running !== undefined) await killProcess(running);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start quit with a second Ctrl-C during the clean stop', () => {
  it('removes endpoints.json and store.lock, says what it left unfinished, and the next start finishes it', async () => {
    // Prepare: one offline row not yet in Parquet, and a lookup request that holds the API open
    // (its body never arrives), so the clean stop waits at the API
    running = await start();
    const stack = running;
    const put = runCli([
      'put',
      'fraud-cards',
      JSON.stringify({ card_id: 'card-force-quit', event_time: new Date().toISOString() }),
      '--data-dir',
      dataDir,
    ]);
    expect(put.status, put.stderr).toBe(0);
    const socket = await heldLookupRequest(stack);
    try {
      const exited = exitCodeOf(stack);
      stack.child.kill('SIGINT');
      await outputMatching(stack, 'SIGINT: stopping');
      // Act: the second Ctrl-C, while the clean stop waits for the request
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(stack.child.exitCode, stack.output()).toBeNull();
      stack.child.kill('SIGINT');
      // Assess: exit 130 at once, nothing left in the data dir that names the gone process, and
      // one line naming what was not done
      expect(await exited, stack.output()).toBe(130);
      expect(existsSync(join(dataDir, 'endpoints.json'))).toBe(false);
      expect(existsSync(join(dataDir, 'store', 'store.lock'))).toBe(false);
      expect(stack.output()).toMatch(
        /\nSIGINT again: exited without waiting; left unfinished: the stream's drain \(what it still held is not delivered, and lost: the local stream lives in memory\); the offline store's flush \(1 row not yet in Parquet, kept in its journal: the next start writes them\)\n/
      );
    } finally {
      socket.destroy();
    }
    // The next start writes the row the quit left in the journal
    running = await start();
    expect(running.output()).toContain('replaying 1 journalled offline rows');
    expect(await stopStackProcess(running), running.output()).toBe(0);
  }, 90_000);

  it('one Ctrl-C stops cleanly within seconds, though a lookup request never finishes', async () => {
    // Prepare
    running = await start();
    const stack = running;
    const socket = await heldLookupRequest(stack);
    try {
      // Act
      const started = Date.now();
      const code = await Promise.race([
        stopStackProcess(stack),
        new Promise<string>((resolve) => setTimeout(() => resolve('still stopping'), 20_000)),
      ]);
      // Assess: the request got the API's grace (5 s), then its connection was closed
      expect(code, stack.output()).toBe(0);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(stack.output()).toContain('stopped cleanly');
    } finally {
      socket.destroy();
    }
  }, 90_000);
});

/**
 * The set-up shared by test files whose tests each run `skewless` commands in child processes
 * they signal: one temp directory for the file, and the children of each test killed after it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';
import { killProcess, type StartingStackProcess, spawnCliProcess } from './stackProcess.ts';

/**
 * Call at the top of a test file: `dir` is a new temp directory (`skewless-<name>-…`), removed
 * after the file's tests; `spawn` is {@link spawnCliProcess}, whose children are killed (and their
 * exit awaited) after each test, so that none outlives a failed test or writes into `dir` while it
 * is removed.
 */
function cliTestFile(name: string): { dir: string; spawn: typeof spawnCliProcess } {
  const dir = mkdtempSync(join(tmpdir(), `skewless-${name}-`));
  const children: StartingStackProcess[] = [];
  afterEach(async () => {
    await Promise.all(children.splice(0).map(killProcess));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const spawn: typeof spawnCliProcess = (args, options) => {
    const child = spawnCliProcess(args, options);
    children.push(child);
    return child;
  };
  return { dir, spawn };
}

export { cliTestFile };

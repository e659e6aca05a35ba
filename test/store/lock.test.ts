/**
 * `store.lock` is removed only while it is still the one this store wrote: by `close()`, and by
 * `releaseStoresNow()`, what a forced quit (local/forcedQuit.ts) calls before the process exits.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { releaseStoresNow, startStore } from '../../local/store/index.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function openStore() {
  const dataDir = mkdtempSync(join(tmpdir(), 'skewless-lock-'));
  dirs.push(dataDir);
  const store = await startStore({ dataDir, port: 0, logLevel: 'silent' });
  return { store, lock: join(dataDir, 'store.lock') };
}

describe('store.lock', () => {
  it('releaseStoresNow removes the lock this store wrote, at once', async () => {
    const { store, lock } = await openStore();
    expect(readFileSync(lock, 'utf8')).toMatch(new RegExp(`^${process.pid}\n`));
    expect(releaseStoresNow()).toEqual([{ dataDir: store.dataDir, pendingOfflineRows: 0 }]);
    expect(existsSync(lock)).toBe(false);
    await store.close();
  });

  it('a lock another process has taken since is left to it, by releaseStoresNow and by close', async () => {
    // Prepare: the directory taken over by another store (its pid, this directory, a boot id)
    const { store, lock } = await openStore();
    const theirs = `${process.pid + 1}\n${store.dataDir}\n00000000-0000-4000-8000-000000000000\n`;
    writeFileSync(lock, theirs);
    // Act
    releaseStoresNow();
    await store.close();
    // Assess
    expect(readFileSync(lock, 'utf8')).toBe(theirs);
  });
});

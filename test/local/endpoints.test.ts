import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runningEndpoints, storeEndpoint } from '../../local/cli/endpoints.ts';
import { bootId, processStartTicks } from '../../local/runtime/processAlive.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A data dir whose endpoints.json names `pid` (and `process`) and a store on port 41873. */
function dataDirOf(pid: number, process: { bootId?: string; startTicks?: number } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'skewless-endpoints-'));
  dirs.push(dir);
  writeFileSync(
    join(dir, 'endpoints.json'),
    JSON.stringify({
      store: 'http://127.0.0.1:41873',
      s3: 'http://127.0.0.1:41874',
      pid,
      ...process,
    })
  );
  return dir;
}

const linux = existsSync('/proc/self/stat') && existsSync('/proc/sys/kernel/random/boot_id');

describe('runningEndpoints', () => {
  it('reads the endpoints of a stack whose process runs', () => {
    const dir = dataDirOf(process.pid);
    expect(runningEndpoints(dir)).toMatchObject({ store: 'http://127.0.0.1:41873' });
    expect(storeEndpoint(undefined, dir)).toMatchObject({
      url: 'http://127.0.0.1:41873',
      from: `from ${join(dir, 'endpoints.json')}`,
    });
  });

  it('ignores the file a killed stack left behind (its process is gone): the default ports apply', () => {
    // A process that has exited: its pid names nothing any more.
    const gone = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const dir = dataDirOf(gone);
    expect(runningEndpoints(dir)).toEqual({});
    expect(storeEndpoint(undefined, dir)).toMatchObject({
      url: 'http://127.0.0.1:8765',
      from: `the default: no stack runs on ${dir}`,
    });
    expect(storeEndpoint('http://127.0.0.1:9999', dir)).toMatchObject({
      url: 'http://127.0.0.1:9999',
      from: '--endpoint',
    });
  });

  it.skipIf(!linux)('reads the file of a running stack that records its boot and start', () => {
    const dir = dataDirOf(process.pid, {
      bootId: bootId(),
      startTicks: processStartTicks(process.pid),
    });
    expect(runningEndpoints(dir)).toMatchObject({ store: 'http://127.0.0.1:41873' });
  });

  it.skipIf(!linux)(
    'ignores the file a stack left before a reboot, though its pid names a live process again',
    () => {
      // This test's process stands for the unrelated one that has the pid after the reboot.
      const dir = dataDirOf(process.pid, {
        bootId: '00000000-0000-4000-8000-000000000000',
        startTicks: processStartTicks(process.pid),
      });
      expect(runningEndpoints(dir)).toEqual({});
      expect(storeEndpoint(undefined, dir)).toMatchObject({
        url: 'http://127.0.0.1:8765',
        from: `the default: no stack runs on ${dir}`,
      });
    }
  );

  it.skipIf(!linux)(
    'ignores the file of a stack whose pid another process has now, on the same boot (a container restarted)',
    () => {
      const dir = dataDirOf(process.pid, {
        bootId: bootId(),
        startTicks: (processStartTicks(process.pid) ?? 0) + 1,
      });
      expect(runningEndpoints(dir)).toEqual({});
    }
  );
});

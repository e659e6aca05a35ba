/**
 * A copy of a running stack's data dir (`cp -a .skewless .skewless-copy`, say to try something on
 * the same state): the copy carries the original's `store.lock` and `endpoints.json`, which name
 * the running stack's live process. They hold the original directory, not the copy.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  exampleBackfillArgs,
  killProcess,
  runCli,
  startStackProcess,
  stopStackProcess,
} from '../helpers/stackProcess.ts';

const work = mkdtempSync(join(tmpdir(), 'skewless-copy-'));
const original = join(work, 'original');
const copy = join(work, 'copy');
const args = ['--no-demo', '--flush-interval', '300', '--audit-interval', '3600'];
const stacks: Awaited<ReturnType<typeof startStackProcess>>[] = [];

afterAll(async () => {
  await Promise.all(stacks.map(killProcess));
  rmSync(work, { recursive: true, force: true });
});

describe('a copy of a running stack’s data dir', () => {
  it('is not taken for the original: commands on the copy stay off the running stack, and a stack starts on it', async () => {
    // Prepare: a stack running on the original, its data dir copied while it runs
    const running = await startStackProcess(original, args);
    stacks.push(running);
    cpSync(original, copy, { recursive: true });
    // Act 1: a backfill on the copy (no stack runs there: it runs in-process on the copy)
    const backfill = runCli(exampleBackfillArgs(copy));
    // Assess 1: done on the copy, nothing reached the original's stack
    expect(backfill.stderr, backfill.stdout).not.toContain('in use by another stack');
    expect(backfill.status, backfill.stderr).toBe(0);
    const s3 = new S3Client({
      endpoint: running.endpoints.s3,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const reports = await s3.send(
      new ListObjectsV2Command({ Bucket: running.endpoints.reportsBucket, Prefix: 'backfill/' })
    );
    s3.destroy();
    expect(reports.Contents ?? []).toEqual([]);
    // Act 2: a stack on the copy, beside the original's
    const second = await startStackProcess(copy, args);
    stacks.push(second);
    // Assess 2: it runs on the copy, and both stop cleanly
    expect(second.endpoints.dataDir).toBe(copy);
    expect(await stopStackProcess(second)).toBe(0);
    expect(await stopStackProcess(running)).toBe(0);
  }, 60_000);
});

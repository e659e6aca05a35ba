/**
 * `npm start`'s log of a backfill that failed: an ERROR line on stderr, as a failed batch drop's,
 * so that a log filtered to errors (`--log-level error`) still shows it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { startInProcessStack } from '../helpers/inProcessStack.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'skewless-failed-drop-log-'));

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start, a backfill that fails', () => {
  it('is logged as an error, seen at --log-level error', { timeout: 60_000 }, async () => {
    // Prepare: a stack logging errors only, and a CSV without the record identifier's column.
    // The worker's stderr is watched, each write still passed on, and restored when the test
    // ends, whatever its outcome (the stack's stop included).
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk, ...rest) => {
      written.push(String(chunk));
      return write(chunk as string, ...(rest as []));
    });
    onTestFinished(() => stderr.mockRestore());
    const stack = await startInProcessStack(dataDir);
    try {
      const s3 = new S3Client({
        endpoint: stack.endpoints.s3,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      // Act
      await s3.send(
        new PutObjectCommand({
          Bucket: 'skewless-backfill',
          Key: 'backfill/fraud-cards/no-id.csv',
          Body: `event_time,home_country\n${new Date().toISOString()},DE\n`,
        })
      );
      s3.destroy();
      // Assess: the failure's line, at ERROR, within a bounded wait
      const deadline = Date.now() + 30_000;
      while (!written.some((l) => l.includes('backfill failed')) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const line = written.find((l) => l.includes('backfill failed'));
      expect(line).toMatch(
        /\[s3\] ERROR backfill failed: s3:\/\/skewless-backfill\/backfill\/fraud-cards\/no-id\.csv -> fraud-cards: 0 written/
      );
      expect(line).toContain('card_id');
    } finally {
      await stack.stop();
    }
  });
});

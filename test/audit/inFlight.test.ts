/**
 * The in-flight ledger: first-seen instants survive from one run to the next, in a file (local)
 * or an S3 object (AWS); a missing or unreadable ledger is an empty one, never a failed audit.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { startLocalS3 } from '../../local/s3/index.ts';
import {
  candidateKey,
  candidateOf,
  FileLedger,
  ledgerPathIn,
  S3Ledger,
} from '../../shared/audit/inFlight.ts';

describe('Class: FileLedger', () => {
  it('saves and loads first-seen instants; a missing or corrupt file is empty', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'skewless-ledger-'));
    try {
      const ledger = new FileLedger(ledgerPathIn(join(dir, 'reports')));
      const key = candidateKey('fraud-cards', 'card-1', 'onlineNewer', 'v1');
      // Act
      const empty = await ledger.load();
      await ledger.save(new Map([[key, 1234]]));
      const loaded = await ledger.load();
      writeFileSync(ledger.path, '{"version":1,"entries":[');
      const corrupt = await ledger.load();
      // Assess
      expect(empty.size).toBe(0);
      expect([...loaded]).toEqual([[key, 1234]]);
      expect(candidateOf(key)).toEqual({ group: 'fraud-cards', recordId: 'card-1' });
      expect(corrupt.size).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('saves from two audits at once in one process without either failing (one complete file wins)', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'skewless-ledger-'));
    try {
      const ledger = new FileLedger(ledgerPathIn(join(dir, 'reports')));
      const a = new Map([[candidateKey('fraud-cards', 'card-1', 'onlineNewer', 'v1'), 1]]);
      const b = new Map([[candidateKey('fraud-cards', 'card-2', 'onlineNewer', 'v1'), 2]]);
      // Act
      await Promise.all([ledger.save(a), ledger.save(b)]);
      // Assess
      expect([[...a], [...b]]).toContainEqual([...(await ledger.load())]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Class: S3Ledger', () => {
  it('keeps audit-state/in-flight.json in the bucket; a missing object is an empty ledger', async () => {
    // Prepare: the local S3 over HTTP, as `npm start` runs the audit against it.
    const dir = mkdtempSync(join(tmpdir(), 'skewless-ledger-s3-'));
    const s3 = await startLocalS3({ port: 0, dataDir: dir, buckets: ['reports'] });
    const client = new S3Client({
      endpoint: s3.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      const ledger = new S3Ledger(client, 'reports');
      const key = candidateKey('fraud-cards', 'card/1', 'onlineOnly', 'v2');
      // Act
      const first = await ledger.load();
      await ledger.save(new Map([[key, 42]]));
      const second = await new S3Ledger(client, 'reports').load();
      const object = await client.send(
        new GetObjectCommand({ Bucket: 'reports', Key: 'audit-state/in-flight.json' })
      );
      // Assess
      expect(first.size).toBe(0);
      expect([...second]).toEqual([[key, 42]]);
      expect(JSON.parse((await object.Body?.transformToString()) ?? '')).toEqual({
        version: 1,
        entries: [[key, 42]],
      });
    } finally {
      client.destroy();
      await s3.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

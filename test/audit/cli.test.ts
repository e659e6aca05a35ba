/**
 * `skewless audit` against an embedded store opened on the data dir, and against a running store
 * given by `--endpoint`.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerAuditCommand } from '../../local/cli/audit.ts';
import { startStore } from '../../local/store/index.ts';
import type { AuditReport } from '../../shared/audit/types.ts';
import { merchants } from '../../shared/definitions.ts';
import { clients, startTestStore, type TestStore } from '../helpers/store.ts';
import { createGroups, iso, put } from './fixtures.ts';

function merchant(id: string, atMs: number): Record<string, string> {
  return { merchant_id: id, event_time: iso(atMs), mcc: '5411', fraud_rate_30d: '0.01' };
}

async function runCli(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerAuditCommand(program);
  let out = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(['node', 'skewless', 'audit', ...args]);
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return out;
}

describe('Command: skewless audit', () => {
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('opens an embedded store on the data dir, prints the JSON report and writes it under reports/', async () => {
    // Prepare: a data dir laid out like `npm start` (`<dir>/store`), with one coherent merchant
    // and one written online only; the store is closed again before the audit, so nothing can be
    // in flight: the online-only write is a mismatch at once.
    const dataDir = mkdtempSync(join(tmpdir(), 'skewless-audit-cli-'));
    try {
      const store = await startStore({
        dataDir: join(dataDir, 'store'),
        port: 0,
        logLevel: 'warn',
      });
      const { runtime, sagemaker } = clients(store.endpoint);
      const testStore = { runtime, sagemaker } as unknown as TestStore;
      await createGroups(testStore, [merchants]);
      const at = Date.now() - 60 * 60_000;
      await put(testStore, merchants, merchant('m-1', at));
      await put(testStore, merchants, merchant('m-2', at), { targets: ['OnlineStore'] });
      runtime.destroy();
      sagemaker.destroy();
      await store.close();
      // Act
      const out = await runCli(['--data-dir', dataDir, '--group', merchants.name, '--json']);
      // Assess
      const report = JSON.parse(out) as AuditReport;
      expect(report.totals).toMatchObject({ groups: 1, identifiers: 1, coherenceMismatches: 1 });
      expect(report.groups[0]?.coherence.examples.onlineOnly.map((e) => e.recordId)).toEqual([
        'm-2',
      ]);
      const reports = readdirSync(join(dataDir, 'reports')).filter((f) => f.startsWith('audit-'));
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatch(/^audit-.*\.json$/);
      const written = JSON.parse(readFileSync(join(dataDir, 'reports', reports[0] ?? ''), 'utf8'));
      expect(written).toEqual(report);
      // A finding fails the run only with --fail-on-findings.
      expect(process.exitCode ?? 0).toBe(0);
      // The embedded store was closed again: its lock is gone.
      expect(existsSync(join(dataDir, 'store', 'store.lock'))).toBe(false);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a data dir with neither a running stack nor a store, creating nothing there', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'skewless-audit-cli-empty-'));
    try {
      await expect(runCli(['--data-dir', dataDir])).rejects.toThrow(
        `no running stack and no store under ${dataDir} (no endpoints.json, no store.sqlite)`
      );
      expect(readdirSync(dataDir)).toEqual([]);
      // An unknown group names only the groups a user can read.
      await expect(runCli(['--data-dir', dataDir, '--group', 'nope'])).rejects.toThrow(
        /^Unknown feature group "nope"; known: fraud-transactions, fraud-cards, fraud-merchants$/
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('an --out it cannot write is a user error naming the path', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'skewless-audit-cli-out-'));
    try {
      const store = await startStore({
        dataDir: join(dataDir, 'store'),
        port: 0,
        logLevel: 'warn',
      });
      await store.close();
      const file = join(dataDir, 'a-file');
      writeFileSync(file, 'x');
      // The reason in words, not mkdir's "EEXIST: file already exists".
      await expect(
        runCli(['--data-dir', dataDir, '--group', merchants.name, '--out', join(file, 'r.json')])
      ).rejects.toMatchObject({
        message: `cannot write the audit report to ${join(file, 'r.json')}: a part of the path is a file, not a directory (${file})`,
      });
      // A directory given as the report file.
      await expect(
        runCli(['--data-dir', dataDir, '--group', merchants.name, '--out', dataDir])
      ).rejects.toMatchObject({
        message: `cannot write the audit report to ${dataDir}: it is a directory, not a file`,
      });
      // A folder that cannot be made under /proc: procfs answers ENOENT, on which Node's recursive
      // mkdir looped forever (the command hung). How /proc/sys refuses depends on the machine.
      await expect(
        runCli(['--data-dir', dataDir, '--group', merchants.name, '--out', '/proc/sys/x/y.json'])
      ).rejects.toThrow(
        /^cannot write the audit report to \/proc\/sys\/x\/y\.json: (\/proc\/sys is read-only or not writable|no directory can be created in \/proc\/sys|the file system is read-only|permission denied) \(\/proc\/sys\/x\)$/
      );
      await expect(
        runCli(['--data-dir', dataDir, '--group', merchants.name, '--out', '/proc/x/y.json'])
      ).rejects.toThrow(
        'cannot write the audit report to /proc/x/y.json: no directory can be created in /proc (/proc/x)'
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('audits a running store by --endpoint, prints the table and fails on findings when asked', async () => {
    // Prepare
    const store = await startTestStore();
    const out = join(store.dataDir, 'out', 'report.json');
    try {
      await createGroups(store, [merchants]);
      const at = Date.now() - 60 * 60_000;
      await put(store, merchants, merchant('m-1', at));
      await put(store, merchants, merchant('m-3', at));
      await put(store, merchants, merchant('m-3', at + 30 * 60_000), { targets: ['OfflineStore'] });
      // Offline-only history (a backfill) is not a finding.
      await put(store, merchants, merchant('m-4', at), { targets: ['OfflineStore'] });
      await store.store.flush();
      // Act
      const text = await runCli([
        '--data-dir',
        store.dataDir,
        '--endpoint',
        store.store.endpoint,
        '--group',
        merchants.name,
        '--out',
        out,
        '--fail-on-findings',
      ]);
      // Assess
      expect(text).toMatch(/\nfraud-merchants\s+3\s+30m\s+2\.0d\s+0 \(0\.0%\)/);
      expect(text).toContain('  online older (offline has a newer write): 1\n    m-3  offline ');
      expect(text).toContain('1 mismatch(es) in 3 identifier(s) checked');
      expect(text).toContain(`report written to ${out}`);
      expect(existsSync(out)).toBe(true);
      expect(process.exitCode).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('fails, after writing the report, when no group could be audited (a store without the groups)', async () => {
    // Prepare: a running store where none of the groups exists.
    const store = await startTestStore();
    const out = join(store.dataDir, 'report.json');
    try {
      // Act
      const run = runCli([
        '--data-dir',
        store.dataDir,
        '--endpoint',
        store.store.endpoint,
        '--out',
        out,
      ]);
      // Assess
      await expect(run).rejects.toThrow(
        /^no group could be audited \(3 of 3 failed; the errors are above and in the report\)$/
      );
      const report = JSON.parse(readFileSync(out, 'utf8')) as AuditReport;
      expect(report.totals).toMatchObject({ groups: 3, failedGroups: 3 });
      expect(report.groups.map((g) => g.error)).toEqual([
        expect.stringContaining("can't find a FeatureGroup"),
        expect.stringContaining("can't find a FeatureGroup"),
        expect.stringContaining("can't find a FeatureGroup"),
      ]);
    } finally {
      await store.close();
    }
  });

  it('finds the running `npm start` through <data-dir>/endpoints.json', async () => {
    // Prepare: the store holds <dir>/store open, so an embedded store could not be opened there.
    const dataDir = mkdtempSync(join(tmpdir(), 'skewless-audit-cli-'));
    const store = await startTestStore({}, join(dataDir, 'store'));
    try {
      await createGroups(store, [merchants]);
      await put(store, merchants, merchant('m-1', Date.now() - 60 * 60_000));
      await store.store.flush();
      writeFileSync(
        join(dataDir, 'endpoints.json'),
        JSON.stringify({ store: store.store.endpoint, pid: process.pid })
      );
      // Act
      const out = await runCli(['--data-dir', dataDir, '--group', merchants.name, '--json']);
      // Assess
      const report = JSON.parse(out) as AuditReport;
      expect(report.totals).toMatchObject({ identifiers: 1, checked: 1, coherenceMismatches: 0 });
    } finally {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

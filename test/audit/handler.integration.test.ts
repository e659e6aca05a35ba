/**
 * The Lambda handler as `skewless start` runs it: OFFLINE_ENGINE=duckdb over the embedded
 * store's data dir, the online store through AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME,
 * the report written as a file under the data dir.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuditRunSummary } from '../../shared/audit/service.ts';
import type { AuditReport } from '../../shared/audit/types.ts';
import { cards } from '../../shared/definitions.ts';
import { createLambdaContext } from '../../shared/runtime/lambdaContext.ts';
import { startTestStore, type TestStore } from '../helpers/store.ts';
import { createGroups, iso, put } from './fixtures.ts';

const context = createLambdaContext('AuditFunction', 900_000, 1769);

describe('Function: handler (functions/audit)', () => {
  let store: TestStore;
  let dataDir: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    // Prepare: fraud-cards with one coherent card, one whose newer value reached only the offline
    // store, and one backfilled (offline only).
    store = await startTestStore();
    await createGroups(store, [cards]);
    const at = iso(Date.now() - 60 * 60_000);
    const newer = iso(Date.now() - 30 * 60_000);
    const card = (id: string) => ({
      card_id: id,
      event_time: at,
      txn_count_7d: '4',
      home_country: 'NL',
    });
    await put(store, cards, card('card-1'));
    // A newer value written to the offline store only: the online store serves an older one.
    await put(store, cards, card('card-2'));
    await put(
      store,
      cards,
      { ...card('card-2'), event_time: newer },
      { targets: ['OfflineStore'] }
    );
    // Offline-only history (a backfill): not a mismatch.
    await put(store, cards, card('card-3'), { targets: ['OfflineStore'] });
    dataDir = mkdtempSync(join(tmpdir(), 'skewless-audit-handler-'));
    Object.assign(process.env, {
      OFFLINE_ENGINE: 'duckdb',
      SKEWLESS_DATA_DIR: dataDir,
      SKEWLESS_STORE_DATA_DIR: store.dataDir,
      AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME: store.store.endpoint,
      AUDIT_GROUPS: cards.name,
    });
    delete process.env.REPORTS_BUCKET;
    vi.resetModules();
  });

  afterAll(async () => {
    process.env = saved;
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('audits the configured groups and writes the report under <data dir>/reports', async () => {
    // Prepare
    await store.store.flush();
    const { handler } = await import('../../functions/audit/index.ts');
    // Act
    const summary = (await handler({}, context)) as AuditRunSummary;
    // Assess
    expect(summary.reportLocation.startsWith(join(dataDir, 'reports', 'audit-'))).toBe(true);
    expect(summary.totals).toMatchObject({
      groups: 1,
      failedGroups: 0,
      identifiers: 3,
      checked: 3,
      coherenceMismatches: 1,
    });
    const report = JSON.parse(readFileSync(summary.reportLocation, 'utf8')) as AuditReport;
    expect(report.engine).toBe('duckdb');
    expect(report.options.marginSeconds).toBe(10);
    expect(report.groups[0]?.coherence.examples.onlineOlder).toEqual([
      {
        recordId: 'card-2',
        offlineEventTime: expect.any(String),
        onlineEventTime: expect.any(String),
      },
    ]);
    expect(report.groups[0]?.coherence.expectedAbsent.offlineOnly).toBe(1);
  });
});

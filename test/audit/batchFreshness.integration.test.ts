/**
 * Freshness of a batch-fed group comes from its declared cadence (schema module), not from its
 * max age: with a nightly cadence and a six-hour delay, the audit breaches as soon as a night's
 * drop is overdue, although every value is still within its two-day max age. Embedded store, real
 * SDK, DuckDB over the store's Parquet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnlineSide } from '../../shared/audit/online.ts';
import { formatAuditReport } from '../../shared/audit/report.ts';
import { runAudit } from '../../shared/audit/runAudit.ts';
import type { AuditReport } from '../../shared/audit/types.ts';
import { createDuckDbEngine } from '../../shared/offline/duckdb.ts';
import { defineFeatureGroup, feature } from '../../shared/schema/index.ts';
import { startTestStore, type TestStore, testClock } from '../helpers/store.ts';
import { createGroups, iso, put } from './fixtures.ts';

const HOUR = 3_600_000;

/** Nightly aggregates: one drop a day, landing within six hours; values stale after two days. */
const nightly = defineFeatureGroup({
  name: 'audit-nightly',
  description: 'Audit test group fed by a nightly batch job',
  recordIdentifier: 'card_id',
  eventTime: 'event_time',
  features: {
    card_id: feature.string('Card id'),
    event_time: feature.string('End of the aggregation window'),
    txn_count_7d: feature.integral('Payments in 7 days'),
  },
  online: {},
  offline: {},
  maxAge: { unit: 'Days', value: 2 },
  batch: { cadence: { unit: 'Days', value: 1 }, maxDelay: { unit: 'Hours', value: 6 } },
});

describe('Function: runAudit() on a batch-fed group', () => {
  let store: TestStore;
  let lastDropMs: number;

  beforeAll(async () => {
    // Prepare: the last nightly drop's window ended 20 hours ago.
    const clock = testClock();
    store = await startTestStore({ clock });
    await createGroups(store, [nightly]);
    lastDropMs = clock.now() - 20 * HOUR;
    for (const id of ['card-1', 'card-2']) {
      await put(store, nightly, { card_id: id, event_time: iso(lastDropMs), txn_count_7d: '4' });
    }
    await store.store.flush();
  });

  afterAll(async () => {
    await store.close();
  });

  async function auditAt(nowMs: number): Promise<AuditReport> {
    const engine = await createDuckDbEngine({ dataDir: store.dataDir, threads: 1 });
    try {
      return await runAudit(
        [nightly],
        { engine, online: createOnlineSide(store.runtime), now: () => nowMs },
        { marginSeconds: 60 }
      );
    } finally {
      await engine.close();
    }
  }

  it('is fresh while the next drop is not yet due (cadence + max delay = 30 h)', async () => {
    // Act: 29 hours after the window end.
    const report = await auditAt(lastDropMs + 29 * HOUR);
    // Assess
    const group = report.groups[0];
    expect(group?.freshness).toEqual({
      newestEventTime: iso(lastDropMs),
      seconds: 29 * 3600,
      maxAgeSeconds: 2 * 86_400,
      boundSeconds: 30 * 3600,
      boundFrom: 'batch',
      breached: false,
    });
    expect(report.totals.freshnessBreaches).toBe(0);
  });

  it('breaches once a drop is overdue, while the values are still within max age', async () => {
    // Act: 31 hours after the window end: the drop of the following night did not land.
    const report = await auditAt(lastDropMs + 31 * HOUR);
    // Assess
    const group = report.groups[0];
    expect(group?.freshness.breached).toBe(true);
    expect(group?.freshness.seconds).toBe(31 * 3600);
    expect(group?.staleness.stale).toBe(0);
    expect(report.totals.freshnessBreaches).toBe(1);
    expect(formatAuditReport(report)).toContain(
      `newest event time ${iso(lastDropMs)} is 31.0h old: a batch drop is overdue (cadence + max delay 30.0h)`
    );
  });
});

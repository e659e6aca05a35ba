/**
 * The audit against the embedded store, through the real SDK over HTTP and DuckDB over the
 * store's Parquet: each kind of fault is planted and must be reported with exactly its
 * identifiers, and a healthy store must report nothing.
 */
import {
  BatchGetRecordCommand,
  ListRecordsCommand,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InFlightLedger, MemoryLedger } from '../../shared/audit/inFlight.ts';
import { createOnlineSide, OnlineReadRefusedError } from '../../shared/audit/online.ts';
import { runAudit } from '../../shared/audit/runAudit.ts';
import type { AuditReport, GroupAudit, MismatchKind } from '../../shared/audit/types.ts';
import { createDuckDbEngine } from '../../shared/offline/duckdb.ts';
import { batchGetOnline } from '../../shared/store/onlineReader.ts';
import { withRawServer } from '../helpers/rawServer.ts';
import {
  clients,
  refuseReads,
  startTestStore,
  type TestClock,
  type TestStore,
  testClock,
} from '../helpers/store.ts';
import { account, accounts, createGroups, devices, iso, put, softDelete } from './fixtures.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const MARGIN_SECONDS = 60;

async function audit(
  store: TestStore,
  now: () => number,
  options: {
    sampleSize?: number;
    onlineScanLimit?: number;
    /** Shared by runs that must remember what earlier ones saw in flight (default: fresh). */
    ledger?: InFlightLedger;
    /** False leaves journalled rows unflushed: writes still on their way offline. */
    flush?: boolean;
  } = {}
): Promise<AuditReport> {
  const { ledger, flush, ...auditOptions } = options;
  if (flush !== false) await store.store.flush();
  const engine = await createDuckDbEngine({ dataDir: store.dataDir, threads: 1 });
  try {
    return await runAudit(
      [accounts, devices],
      { engine, online: createOnlineSide(store.runtime), now, inFlight: ledger },
      { marginSeconds: MARGIN_SECONDS, onlineScanLimit: 1000, ...auditOptions }
    );
  } finally {
    await engine.close();
  }
}

function groupOf(report: AuditReport, name: string): GroupAudit {
  const group = report.groups.find((g) => g.group === name);
  if (group === undefined) throw new Error(`no audit of ${name}`);
  return group;
}

function idsOf(group: GroupAudit, kind: MismatchKind): string[] {
  return group.coherence.examples[kind].map((e) => e.recordId).sort();
}

describe('Function: runAudit() on the embedded store', () => {
  let store: TestStore;
  let clock: TestClock;
  let now: number;

  beforeAll(async () => {
    // Prepare: one store holding every kind of fault, at instants relative to its clock. The
    // clock is stopped: the overdue record below expires 30 s after "now" on the store's clock,
    // which following the wall clock made the test fail once the tests before it took 30 s.
    clock = testClock({ stopped: true });
    store = await startTestStore({ clock });
    await createGroups(store, [accounts, devices]);
    now = clock.now();
    for (const id of ['acc-ok-1', 'acc-ok-2', 'acc-ok-3']) {
      await put(store, accounts, account(id, now - 10 * MINUTE));
    }
    // Online newer: a second write reached only the online store.
    await put(store, accounts, account('acc-online-newer', now - 30 * MINUTE));
    await put(store, accounts, account('acc-online-newer', now - 20 * MINUTE, '11'), {
      targets: ['OnlineStore'],
    });
    // Online only: never written offline.
    await put(store, accounts, account('acc-online-only', now - 20 * MINUTE), {
      targets: ['OnlineStore'],
    });
    // Offline only (a backfill): history, not a mismatch.
    await put(store, accounts, account('acc-offline-only', now - 20 * MINUTE), {
      targets: ['OfflineStore'],
    });
    // Online older: a newer write reached only the offline store.
    await put(store, accounts, account('acc-online-older', now - 40 * MINUTE));
    await put(store, accounts, account('acc-online-older', now - 30 * MINUTE, '12'), {
      targets: ['OfflineStore'],
    });
    // Backfilled past the TTL (one day): rightly absent online, and stale offline. (A record that
    // expires online gets a deleted record offline: see the next describe.)
    await put(store, accounts, account('acc-expired', now - 2 * 24 * HOUR), {
      targets: ['OfflineStore'],
    });
    // Soft-deleted in both stores: rightly absent online.
    await put(store, accounts, account('acc-deleted', now - 50 * MINUTE));
    await softDelete(store, accounts, 'acc-deleted', iso(now - 45 * MINUTE));
    // Deleted offline only: still served online.
    await put(store, accounts, account('acc-deleted-offline', now - 50 * MINUTE));
    await softDelete(store, accounts, 'acc-deleted-offline', iso(now - 45 * MINUTE), [
      'OfflineStore',
    ]);
    // Mismatched values at the same event time (an online-only overwrite).
    await put(store, accounts, account('acc-values', now - 25 * MINUTE, '10', '3'));
    await put(store, accounts, account('acc-values', now - 25 * MINUTE, '99.5', '4'), {
      targets: ['OnlineStore'],
    });
    // Same value written differently (`10` offline, `10.0` online): not a mismatch.
    await put(store, accounts, account('acc-format', now - 25 * MINUTE, '10'));
    await put(store, accounts, account('acc-format', now - 25 * MINUTE, '10.0'), {
      targets: ['OnlineStore'],
    });
    // Online only, with an event time of a few seconds ago: as much a fault as acc-online-only.
    await put(store, accounts, account('acc-recent', now - 5_000), { targets: ['OnlineStore'] });
    // A stale group: every device last seen three hours ago.
    for (const id of ['dev-1', 'dev-2']) {
      await put(store, devices, {
        device_id: id,
        seen_at: String((now - 3 * HOUR) / 1000),
        risk: '0.25',
      });
    }
  });

  afterAll(async () => {
    await store.close();
  });

  it('reports offline-ahead faults at once and online-ahead ones once missing offline for the margin', async () => {
    // Prepare
    const ledger = new MemoryLedger();
    // Act: the first run cannot tell an online-only write from one on its way offline; the next
    // one, a margin later, can: they were written before the first run saw them.
    const first = await audit(store, () => now, { ledger });
    const second = await audit(store, () => now + MARGIN_SECONDS * 1000, { ledger });
    // Assess
    const before = groupOf(first, accounts.name);
    expect(before.error).toBeUndefined();
    expect(before.coherence.mismatches).toEqual({
      onlineOlder: 1,
      onlineNewer: 0,
      deletedButOnline: 1,
      valueMismatch: 0,
      onlineOnly: 0,
    });
    expect(before.coherence.inFlight).toBe(4);
    const group = groupOf(second, accounts.name);
    expect(group.coherence.mismatches).toEqual({
      onlineOlder: 1,
      onlineNewer: 1,
      deletedButOnline: 1,
      valueMismatch: 1,
      onlineOnly: 2,
    });
    expect(group.coherence.inFlight).toBe(0);
    expect(group.coherence.total).toBe(6);
    expect(idsOf(group, 'onlineOlder')).toEqual(['acc-online-older']);
    expect(idsOf(group, 'onlineNewer')).toEqual(['acc-online-newer']);
    expect(idsOf(group, 'deletedButOnline')).toEqual(['acc-deleted-offline']);
    expect(idsOf(group, 'valueMismatch')).toEqual(['acc-values']);
    expect(idsOf(group, 'onlineOnly')).toEqual(['acc-online-only', 'acc-recent']);
    expect(group.coherence.examples.valueMismatch[0]?.features).toEqual([
      { name: 'balance', offline: '10', online: '99.5' },
      { name: 'txn_count', offline: '3', online: '4' },
    ]);
    expect(group.coherence.examples.onlineOlder[0]).toEqual({
      recordId: 'acc-online-older',
      offlineEventTime: iso(now - 30 * MINUTE),
      onlineEventTime: iso(now - 40 * MINUTE),
    });
  });

  it('counts expired, deleted and offline-only identifiers absent online as expected', async () => {
    // Act
    const report = await audit(store, () => now);
    // Assess
    const group = groupOf(report, accounts.name);
    expect(group.coherence.expectedAbsent).toEqual({ deleted: 1, expired: 1, offlineOnly: 1 });
    expect(group.ttl.expiredOffline).toBe(1);
    expect(group.ttl.expiredStillServed).toBe(0);
    // ok ×3, format, online-newer, offline-only, online-older, expired, deleted,
    // deleted-offline, values, online-only, recent.
    expect(group.coherence.checked).toBe(13);
    expect(group.offline).toEqual({ identifiers: 11, live: 9, deleted: 2 });
  });

  it('reports staleness per identifier and freshness per group', async () => {
    // Act
    const report = await audit(store, () => now);
    // Assess
    const accountsAudit = groupOf(report, accounts.name);
    expect(accountsAudit.staleness.stale).toBe(1);
    expect(accountsAudit.staleness.examples.map((e) => e.recordId)).toEqual(['acc-expired']);
    expect(accountsAudit.staleness.share).toBeCloseTo(1 / 9);
    expect(accountsAudit.freshness.seconds).toBeCloseTo(600, 0);
    expect(accountsAudit.freshness.breached).toBe(false);
    const devicesAudit = groupOf(report, devices.name);
    expect(devicesAudit.staleness).toMatchObject({ stale: 2, share: 1 });
    expect(devicesAudit.freshness.breached).toBe(true);
    expect(devicesAudit.freshness.seconds).toBeCloseTo(3 * 3600, 0);
    expect(devicesAudit.coherence.total).toBe(0);
    expect(report.totals).toMatchObject({
      groups: 2,
      failedGroups: 0,
      stale: 3,
      freshnessBreaches: 1,
      coherenceMismatches: 2,
      expiredStillServed: 0,
    });
  });

  it('counts records expiring within the horizon from offline event time + TTL', async () => {
    // Act: with a one-day TTL, a one-day horizon catches every live record not yet expired; a
    // 23.6-hour one only those written at least 24 minutes ago.
    const report = await audit(store, () => now);
    const soon = await runAuditWithHorizon(store, now, 23.6 * 3600);
    // Assess
    expect(groupOf(report, accounts.name).ttl.expiringSoon).toBe(8);
    // online-older and online-newer (30 min), values and format (25 min).
    expect(groupOf(soon, accounts.name).ttl.expiringSoon).toBe(4);
  });

  it('reports a record the store still serves past its ExpiresAt', async () => {
    // Prepare: a one-minute TTL, and an audit whose clock runs two minutes ahead of the store's.
    await put(store, accounts, account('acc-overdue', now - 30_000), {
      ttl: { Unit: 'Minutes', Value: 1 },
    });
    // Act
    const report = await audit(store, () => now + 2 * MINUTE);
    // Assess
    const group = groupOf(report, accounts.name);
    expect(group.ttl.expiredStillServed).toBe(1);
    expect(group.ttl.expiredStillServedExamples).toEqual([
      { recordId: 'acc-overdue', expiresAt: iso(now + 30_000), overdueSeconds: 90 },
    ]);
    expect(report.totals.expiredStillServed).toBe(1);
  });

  it('samples: compares at most the sample size of identifiers', async () => {
    // Act
    const report = await audit(store, () => now, { sampleSize: 3, onlineScanLimit: 0 });
    // Assess
    const group = groupOf(report, accounts.name);
    expect(group.coherence.sampled).toBe(true);
    expect(group.coherence.checked).toBe(3);
    expect(group.coherence.scannedOnline).toBe(0);
  });
});

async function runAuditWithHorizon(
  store: TestStore,
  now: number,
  expiringWithinSeconds: number
): Promise<AuditReport> {
  const engine = await createDuckDbEngine({ dataDir: store.dataDir, threads: 1 });
  try {
    return await runAudit(
      [accounts],
      { engine, online: createOnlineSide(store.runtime), now: () => now },
      { marginSeconds: MARGIN_SECONDS, expiringWithinSeconds }
    );
  } finally {
    await engine.close();
  }
}

describe('Function: runAudit() on a healthy embedded store', () => {
  it('reports zero mismatches, nothing expired served and nothing stale', async () => {
    // Prepare
    const clock = testClock();
    const store = await startTestStore({ clock });
    try {
      await createGroups(store, [accounts, devices]);
      const now = clock.now();
      for (let i = 0; i < 30; i++) {
        await put(store, accounts, account(`acc-${i}`, now - (5 + i) * MINUTE, `${i}.5`, `${i}`));
        await put(store, devices, {
          device_id: `dev-${i}`,
          seen_at: String((now - (5 + i) * MINUTE) / 1000),
          risk: String(i / 100),
        });
      }
      await put(store, accounts, account('acc-3', now - 2 * MINUTE, '7'));
      await softDelete(store, accounts, 'acc-4', iso(now - MINUTE));
      // Act
      const report = await audit(store, () => now);
      // Assess
      expect(report.totals).toMatchObject({
        groups: 2,
        failedGroups: 0,
        identifiers: 60,
        coherenceMismatches: 0,
        expiredStillServed: 0,
        stale: 0,
        freshnessBreaches: 0,
        checked: 60,
      });
      expect(groupOf(report, accounts.name).coherence.expectedAbsent).toEqual({
        deleted: 1,
        expired: 0,
        offlineOnly: 0,
      });
      expect(groupOf(report, devices.name).freshness.seconds).toBeCloseTo(300, 0);
    } finally {
      await store.close();
    }
  });
});

describe('Function: runAudit() after streaming, offline-only backfills and deletes', () => {
  let store: TestStore;
  let clock: TestClock;
  let now: number;
  const ledger = new MemoryLedger();
  const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

  beforeAll(async () => {
    // Prepare: a healthy history: every write went where it was sent, nothing was lost. The
    // clock is stopped, as above (the planted overdue record expires 30 s after "now").
    clock = testClock({ stopped: true });
    store = await startTestStore({ clock });
    await createGroups(store, [accounts, devices]);
    now = clock.now();
    // Streaming in order.
    for (const id of ids('s', 20)) await put(store, accounts, account(id, now - 60 * MINUTE));
    // Out of order: the older event arrives second and stays offline history.
    for (const id of ids('o', 5)) {
      await put(store, accounts, account(id, now - 20 * MINUTE, '2'));
      await put(store, accounts, account(id, now - 40 * MINUTE, '4'));
    }
    // Duplicates, and a rewrite at the same event time (the later call wins on both sides).
    for (const id of ids('d', 5)) {
      await put(store, accounts, account(id, now - 30 * MINUTE));
      await put(store, accounts, account(id, now - 30 * MINUTE));
    }
    for (const id of ids('r', 5)) {
      await put(store, accounts, account(id, now - 30 * MINUTE, '1'));
      await put(store, accounts, account(id, now - 30 * MINUTE, '2'));
    }
    // Deletes: newer soft and hard deletes apply; one at the record's own event time does not
    // (the record stands, online and in the offline order); a put at the tombstone's time revives.
    for (const id of ids('x', 3)) {
      await put(store, accounts, account(id, now - 50 * MINUTE));
      await softDelete(store, accounts, id, iso(now - 45 * MINUTE));
    }
    await put(store, accounts, account('h-0', now - 50 * MINUTE));
    await softDelete(store, accounts, 'h-0', iso(now - 45 * MINUTE), undefined, 'HardDelete');
    for (const id of ids('tie', 3)) {
      await put(store, accounts, account(id, now - 50 * MINUTE));
      await softDelete(store, accounts, id, iso(now - 50 * MINUTE));
    }
    // TTL expiry: the store hard-deletes online and appends a deleted record offline.
    await put(store, accounts, account('ttl-0', now - 10 * MINUTE), {
      ttl: { Unit: 'Minutes', Value: 1 },
    });
    await put(store, accounts, account('revived', now - 50 * MINUTE));
    await softDelete(store, accounts, 'revived', iso(now - 45 * MINUTE));
    await put(store, accounts, account('revived', now - 45 * MINUTE, '9'));
    // Offline-only backfills: new identifiers, history older than what is online, history of a
    // deleted identifier, and rows old enough to be past the TTL.
    const offlineOnly = { targets: ['OfflineStore' as const] };
    for (const id of ids('b', 10)) {
      await put(store, accounts, account(id, now - 3 * 60 * MINUTE), offlineOnly);
    }
    for (const id of ids('s', 10)) {
      await put(store, accounts, account(id, now - 5 * 60 * MINUTE, '77'), offlineOnly);
    }
    await put(store, accounts, account('x-0', now - 55 * MINUTE, '5'), offlineOnly);
    for (const id of ids('old', 3)) {
      await put(store, accounts, account(id, now - 3 * 24 * 60 * MINUTE), offlineOnly);
    }
    await store.store.flush();
  });

  afterAll(async () => {
    await store.close();
  });

  it('audits to 0 mismatches, with late events not yet offline counted in flight', async () => {
    // Prepare: late events written now (old event times), not flushed to the offline store yet.
    for (const id of ids('late', 3)) await put(store, accounts, account(id, now - 3 * 60 * MINUTE));
    for (const id of ['s-10', 's-11']) await put(store, accounts, account(id, now - 50 * MINUTE));
    await put(store, accounts, account('r-0', now - 30 * MINUTE, '3'));
    await put(store, accounts, account('s-12', now - 90 * MINUTE, '0'));
    // Act: before the flush, then a margin later once it happened.
    const inFlight = await audit(store, () => now, { ledger, flush: false });
    const settled = await audit(store, () => now + MARGIN_SECONDS * 1000, { ledger });
    // Assess
    const before = groupOf(inFlight, accounts.name);
    expect(inFlight.totals.coherenceMismatches).toBe(0);
    expect(before.coherence.inFlight).toBe(6);
    const after = groupOf(settled, accounts.name);
    expect(settled.totals.coherenceMismatches).toBe(0);
    expect(after.coherence.inFlight).toBe(0);
    expect(after.coherence.expectedAbsent).toEqual({ deleted: 5, expired: 3, offlineOnly: 10 });
    expect(after.coherence.unread).toBe(0);
    // s ×20, o ×5, d ×5, r ×5, x ×3, h, tie ×3, ttl, revived, b ×10, old ×3, late ×3.
    expect(after.coherence.checked).toBe(60);
  });

  it('still finds every planted fault: online-only writes, offline-only newer values and deletes, expired served', async () => {
    // Prepare
    await put(store, accounts, account('planted-online-only', now - 30 * MINUTE), {
      targets: ['OnlineStore'],
    });
    await put(store, accounts, account('s-16', now - 10 * MINUTE, '1'), {
      targets: ['OnlineStore'],
    });
    await put(store, accounts, account('s-17', now - 10 * MINUTE, '1'), {
      targets: ['OfflineStore'],
    });
    await softDelete(store, accounts, 's-18', iso(now - 10 * MINUTE), ['OfflineStore']);
    await put(store, accounts, account('planted-overdue', now - 30_000), {
      ttl: { Unit: 'Minutes', Value: 1 },
    });
    // Act: two runs a margin apart, with an audit clock two minutes ahead of the store's (a store
    // that serves a record past its ExpiresAt looks exactly like this).
    const at = now + 2 * MINUTE;
    const first = await audit(store, () => at, { ledger });
    const second = await audit(store, () => at + MARGIN_SECONDS * 1000, { ledger });
    // Assess
    expect(groupOf(first, accounts.name).coherence.mismatches).toMatchObject({
      onlineOlder: 1,
      deletedButOnline: 1,
    });
    const group = groupOf(second, accounts.name);
    expect(group.coherence.mismatches).toEqual({
      onlineOlder: 1,
      onlineNewer: 1,
      deletedButOnline: 1,
      valueMismatch: 0,
      onlineOnly: 1,
    });
    expect(idsOf(group, 'onlineOlder')).toEqual(['s-17']);
    expect(idsOf(group, 'onlineNewer')).toEqual(['s-16']);
    expect(idsOf(group, 'deletedButOnline')).toEqual(['s-18']);
    expect(idsOf(group, 'onlineOnly')).toEqual(['planted-online-only']);
    expect(group.ttl.expiredStillServedExamples.map((e) => e.recordId)).toEqual([
      'planted-overdue',
    ]);
  });
});

describe('Function: runAudit() when the store throttles the online scan mid-way', () => {
  it('keeps the group audit and the identifiers listed so far, naming where the scan stopped', async () => {
    // Prepare: 150 devices (two ListRecords pages) and an online-only one on the first page.
    const clock = testClock({ stopped: true });
    const store = await startTestStore({ clock });
    try {
      await createGroups(store, [devices]);
      const now = clock.now();
      const seenAt = String((now - 10 * MINUTE) / 1000);
      for (let i = 0; i < 150; i++) {
        await put(store, devices, { device_id: `dev-${1000 + i}`, seen_at: seenAt, risk: '0.5' });
      }
      await put(
        store,
        devices,
        { device_id: 'dev-0-online-only', seen_at: seenAt, risk: '0.5' },
        { targets: ['OnlineStore'] }
      );
      await store.store.flush();
      // The second ListRecords page is throttled (after the SDK's retries, as the audit sees it).
      const send = store.runtime.send.bind(store.runtime);
      let pages = 0;
      const throttling = Object.create(store.runtime) as typeof store.runtime;
      throttling.send = ((command: unknown, options?: unknown) => {
        if (command instanceof ListRecordsCommand && ++pages >= 2) {
          return Promise.reject(
            Object.assign(new Error('Rate exceeded'), {
              name: 'ThrottlingException',
              $metadata: { httpStatusCode: 429 },
            })
          );
        }
        return send(command as never, options as never);
      }) as typeof store.runtime.send;
      const engine = await createDuckDbEngine({ dataDir: store.dataDir, threads: 1 });
      // Act
      const report = await runAudit(
        [devices],
        {
          engine,
          online: createOnlineSide(throttling),
          now: () => now,
          offlineComplete: true,
        },
        { onlineScanLimit: 1000 }
      ).finally(() => engine.close());
      // Assess
      const group = groupOf(report, devices.name);
      expect(group.error).toBeUndefined();
      expect(report.totals.failedGroups).toBe(0);
      expect(group.offline.identifiers).toBe(150);
      expect(group.freshness.seconds).toBe(600);
      expect(group.coherence.scannedOnline).toBe(100);
      expect(group.coherence.checked).toBe(151);
      expect(idsOf(group, 'onlineOnly')).toEqual(['dev-0-online-only']);
      expect(group.problems).toEqual([
        'online scan stopped after 100 identifiers: ThrottlingException: Rate exceeded; identifiers only online beyond them were not looked for this run',
      ]);
    } finally {
      await store.close();
    }
  });
});

describe('Function: runAudit() at the TTL boundary', () => {
  it('counts a record as expired exactly when the store stops serving it, to the nanosecond', async () => {
    // Prepare: one-day TTL; one record expiring at the audit's instant (not served), one half a
    // millisecond later (an event time with sub-millisecond digits: still served).
    const clock = testClock({ stopped: true });
    const store = await startTestStore({ clock });
    try {
      await createGroups(store, [accounts]);
      const now = clock.now();
      const dayAgo = now - 24 * HOUR;
      await put(store, accounts, account('acc-at-boundary', dayAgo));
      await put(store, accounts, {
        ...account('acc-sub-milli', dayAgo),
        event_time: iso(dayAgo).replace(/Z$/, '500Z'),
      });
      const served = await batchGetOnline(
        store.runtime,
        [{ group: accounts, recordIds: ['acc-at-boundary', 'acc-sub-milli'] }],
        { expiration: true }
      );
      // Act
      const report = await audit(store, () => now, { flush: true });
      // Assess: the store serves exactly the second one, and the audit agrees.
      expect(served.found.map((r) => r.recordId)).toEqual(['acc-sub-milli']);
      const group = groupOf(report, accounts.name);
      expect(group.ttl.expiredStillServed).toBe(0);
      expect(group.ttl).toMatchObject({ expiredOffline: 0, expiringSoon: 1 });
      // The store's purge appended the deleted record of the expired one at its ExpiresAt.
      expect(group.offline).toEqual({ identifiers: 2, live: 1, deleted: 1 });
      expect(group.coherence.expectedAbsent).toEqual({ deleted: 1, expired: 0, offlineOnly: 0 });
      expect(group.coherence.total).toBe(0);
    } finally {
      await store.close();
    }
  });
});

describe('Function: runAudit() when the store throttles the online reads of one run', () => {
  it('keeps when earlier runs first saw a version missing offline, so the next run still reports it on time', async () => {
    // Prepare: a write that reached only the online store.
    const clock = testClock({ stopped: true });
    const store = await startTestStore({ clock });
    try {
      await createGroups(store, [accounts]);
      const now = clock.now();
      await put(store, accounts, account('acc-ok', now - 10 * MINUTE));
      await put(store, accounts, account('acc-online-only', now - 10 * MINUTE), {
        targets: ['OnlineStore'],
      });
      await store.store.flush();
      const ledger = new MemoryLedger();
      const run = async (at: number, online: ReturnType<typeof createOnlineSide>) => {
        const engine = await createDuckDbEngine({ dataDir: store.dataDir, threads: 1 });
        try {
          const report = await runAudit(
            [accounts],
            { engine, online, now: () => at, inFlight: ledger },
            { marginSeconds: MARGIN_SECONDS, onlineScanLimit: 1000 }
          );
          return groupOf(report, accounts.name);
        } finally {
          await engine.close();
        }
      };
      // Every BatchGetRecord of the second run is throttled (after the SDK's retries).
      const send = store.runtime.send.bind(store.runtime);
      const throttling = Object.create(store.runtime) as typeof store.runtime;
      throttling.send = ((command: unknown, options?: unknown) =>
        command instanceof BatchGetRecordCommand
          ? Promise.reject(
              Object.assign(new Error('Rate exceeded'), {
                name: 'ThrottlingException',
                $metadata: { httpStatusCode: 429 },
              })
            )
          : send(command as never, options as never)) as typeof store.runtime.send;
      // Act: seen at now, unread half a margin later, read again a margin after it was seen.
      const first = await run(now, createOnlineSide(store.runtime));
      const throttled = await run(now + (MARGIN_SECONDS / 2) * 1000, createOnlineSide(throttling));
      const third = await run(now + MARGIN_SECONDS * 1000, createOnlineSide(store.runtime));
      // Assess
      expect(first.coherence.inFlight).toBe(1);
      expect(throttled.coherence.unread).toBe(2);
      expect(third.coherence.inFlight).toBe(0);
      expect(idsOf(third, 'onlineOnly')).toEqual(['acc-online-only']);
    } finally {
      await store.close();
    }
  });
});

describe('Function: runAudit() when the store refuses the online reads (a per-identifier code no retry changes)', () => {
  it('fails the group naming the id, the group and the code, instead of counting the ids unread', async () => {
    // Prepare: two accounts; every BatchGetRecord answers them AccessForbidden, as the service
    // does per identifier when the audit's role may not read the group.
    const clock = testClock({ stopped: true });
    const store = await startTestStore({ clock });
    try {
      await createGroups(store, [accounts, devices]);
      const now = clock.now();
      await put(store, accounts, account('acc-1', now - 10 * MINUTE));
      await put(store, accounts, account('acc-2', now - 10 * MINUTE));
      await put(store, devices, {
        device_id: 'dev-1',
        seen_at: String((now - 10 * MINUTE) / 1000),
        risk: '0.5',
      });
      await store.store.flush();
      const calls: unknown[] = [];
      const send = store.runtime.send.bind(store.runtime);
      refuseReads(store.runtime, 'AccessForbidden', (group) => group === accounts.name);
      const refusing = store.runtime.send.bind(store.runtime);
      store.runtime.send = ((command: unknown, options?: unknown) => {
        if (command instanceof BatchGetRecordCommand) calls.push(command);
        return refusing(command as never, options as never);
      }) as typeof store.runtime.send;
      const engine = await createDuckDbEngine({ dataDir: store.dataDir, threads: 1 });
      // Act
      const report = await runAudit(
        [accounts, devices],
        { engine, online: createOnlineSide(store.runtime), now: () => now, offlineComplete: true },
        { onlineScanLimit: 0 }
      ).finally(() => engine.close());
      store.runtime.send = send as typeof store.runtime.send;
      // Assess: the group failed (AuditFailedGroups, exit 1), with one read: no retry of a
      // refusal; the store's own message (it names an account) is not in the report.
      const group = groupOf(report, accounts.name);
      expect(group.error).toMatch(
        /^OnlineReadRefusedError: The feature store refused to read record "acc-[12]" of feature group "audit-accounts" \(AccessForbidden\) and 1 more id; a retry gets the same answer: check the audit's read permission on the group$/
      );
      expect(report.totals.failedGroups).toBe(1);
      expect(JSON.stringify(report)).not.toContain('123456789012');
      expect(groupOf(report, devices.name).error).toBeUndefined();
      expect(groupOf(report, devices.name).coherence.checked).toBe(1);
      expect(calls).toHaveLength(2);
    } finally {
      await store.close();
    }
  });
});

/**
 * Runs `use` against an endpoint that answers every call with HTTP `status` and error `code` (or,
 * with `reset`, closes the connection unanswered), counting the calls: the SDK reads its answer as
 * it reads the service's.
 */
async function withFailingStore(
  answer: { readonly status: number; readonly code: string } | 'reset',
  use: (runtime: ReturnType<typeof clients>['runtime'], calls: () => number) => Promise<void>
): Promise<void> {
  let calls = 0;
  const body = JSON.stringify({
    __type: answer === 'reset' ? '' : answer.code,
    message:
      'User: arn:aws:sts::123456789012:assumed-role/audit/fn is not authorized to perform: sagemaker:BatchGetRecord',
  });
  await withRawServer(
    (socket) => {
      let request = '';
      socket.on('data', (chunk: Buffer) => {
        request += chunk.toString();
        const end = request.indexOf('\r\n\r\n');
        const length = Number(/content-length: *(\d+)/i.exec(request)?.[1] ?? 0);
        if (end < 0 || request.length < end + 4 + length) return;
        calls++;
        request = '';
        if (answer === 'reset') socket.resetAndDestroy();
        else
          socket.end(
            `HTTP/1.1 ${answer.status} Error\r\ncontent-type: application/json\r\nx-amzn-ErrorType: ${answer.code}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
          );
      });
    },
    async (endpoint) => {
      const { runtime, sagemaker } = clients(endpoint);
      try {
        await use(runtime, () => calls);
      } finally {
        runtime.destroy();
        sagemaker.destroy();
      }
    }
  );
}

describe('Function: runAudit() when the store refuses the whole BatchGetRecord call (IAM denies it)', () => {
  it("fails the group naming the group and the code, without a retry nor the store's message", async () => {
    // Prepare: two accounts offline; the online store answers every call 400
    // AccessDeniedException, as the service does when IAM denies sagemaker:BatchGetRecord.
    const clock = testClock({ stopped: true });
    const store = await startTestStore({ clock });
    try {
      await createGroups(store, [accounts]);
      const now = clock.now();
      await put(store, accounts, account('acc-1', now - 10 * MINUTE));
      await put(store, accounts, account('acc-2', now - 10 * MINUTE));
      await store.store.flush();
      await withFailingStore(
        { status: 400, code: 'AccessDeniedException' },
        async (denied, calls) => {
          const engine = await createDuckDbEngine({ dataDir: store.dataDir, threads: 1 });
          // Act
          const report = await runAudit(
            [accounts],
            { engine, online: createOnlineSide(denied), now: () => now, offlineComplete: true },
            { onlineScanLimit: 0 }
          ).finally(() => engine.close());
          // Assess: the group failed (AuditFailedGroups) after one call, not 'unread' after two.
          const group = groupOf(report, accounts.name);
          expect(group.error).toBe(
            'OnlineReadRefusedError: The feature store refused to read feature group "audit-accounts": its BatchGetRecord call failed (AccessDeniedException); a retry gets the same answer: check the audit\'s read permission on the group'
          );
          expect(group.coherence.unread).toBe(0);
          expect(report.totals.failedGroups).toBe(1);
          expect(JSON.stringify(report)).not.toContain('123456789012');
          expect(calls()).toBe(1);
        }
      );
    } finally {
      await store.close();
    }
  });
});

describe('Function: createOnlineSide().read() when a whole BatchGetRecord call fails', () => {
  it.each([
    [403, 'AccessForbidden', ": check the audit's read permission on the group"],
    [400, 'ValidationError', ''],
    [404, 'ResourceNotFound', ''],
  ])(
    'rejects a call answered %i %s at once: a retry gets the same answer',
    async (status, code, hint) => {
      await withFailingStore({ status, code }, async (runtime, calls) => {
        // Act
        const read = createOnlineSide(runtime).read(accounts, ['acc-1', 'acc-2']);
        // Assess
        await expect(read).rejects.toThrow(OnlineReadRefusedError);
        await expect(read).rejects.toThrow(
          `The feature store refused to read feature group "audit-accounts": its BatchGetRecord call failed (${code}); a retry gets the same answer${hint}`
        );
        expect(calls()).toBe(1);
      });
    }
  );

  it.each([
    [{ status: 500, code: 'InternalFailure' }, /^InternalFailure: /],
    [{ status: 503, code: 'ServiceUnavailable' }, /^ServiceUnavailable: /],
    [{ status: 429, code: 'ThrottlingException' }, /^ThrottlingException: /],
    ['reset' as const, /ECONNRESET|socket hang up/],
  ])(
    'retries a transient failure (%o) once, then counts its ids unread',
    async (answer, reason) => {
      await withFailingStore(answer, async (runtime, calls) => {
        // Act
        const { found, unread } = await createOnlineSide(runtime).read(accounts, [
          'acc-1',
          'acc-2',
        ]);
        // Assess
        expect(found).toEqual([]);
        expect(unread.map((u) => u.recordId)).toEqual(['acc-1', 'acc-2']);
        expect(unread[0]?.reason).toMatch(reason);
        expect(calls()).toBe(2);
      });
    }
  );
});

describe('Function: runAudit() freshness once records expire', () => {
  it('breaches freshness for a stream stopped a day ago whose last records expire now', async () => {
    // Prepare: the last writes of a stream that stopped a day ago (TTL one day, max age one
    // hour); ten minutes later they have expired and the store has appended their deleted
    // records offline, dated at their ExpiresAt (five minutes ago and earlier).
    const clock = testClock({ stopped: true });
    const store = await startTestStore({ clock });
    try {
      await createGroups(store, [accounts]);
      const stoppedAt = clock.now() - 24 * HOUR + 5 * MINUTE;
      for (let i = 0; i < 5; i++) {
        await put(store, accounts, account(`acc-last-${i}`, stoppedAt - i * MINUTE));
      }
      clock.advance(10 * MINUTE);
      // Act
      const report = await audit(store, clock.now);
      // Assess
      const group = groupOf(report, accounts.name);
      expect(group.offline).toEqual({ identifiers: 5, live: 0, deleted: 5 });
      expect(group.freshness).toMatchObject({
        newestEventTime: iso(stoppedAt),
        seconds: (clock.now() - stoppedAt) / 1000,
        breached: true,
      });
      expect(report.totals.freshnessBreaches).toBe(1);
    } finally {
      await store.close();
    }
  });
});

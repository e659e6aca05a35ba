// calendar-fixed: audit classification with an injected "now".
import { describe, expect, it } from 'vitest';
import { type ClassifyContext, classify } from '../../shared/audit/classify.ts';
import type { OfflineLatest } from '../../shared/audit/decode.ts';
import { decodeOfflineRow, eventTimeNanos } from '../../shared/audit/decode.ts';
import { runAudit } from '../../shared/audit/runAudit.ts';
import { WorstExamples } from '../../shared/audit/worst.ts';
import { fromRecord } from '../../shared/record/codec.ts';
import type { OnlineRecord } from '../../shared/store/onlineReader.ts';
import { account, accounts, iso } from './fixtures.ts';

const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const MINUTE = 60_000;
const context: ClassifyContext = {
  nowMs: NOW,
  ttl: { unit: 'Days', value: 1 },
};

function offline(id: string, atMs: number, balance = '10', deleted = false): OfflineLatest {
  const decoded = decodeOfflineRow(accounts, {
    ...account(id, atMs, balance),
    is_deleted: deleted,
  });
  if (!decoded.ok) throw new Error(decoded.problem.reason);
  return decoded.value;
}

function online(id: string, atMs: number, balance = '10', expiresAt?: string): OnlineRecord {
  const wire = Object.entries(account(id, atMs, balance)).map(([FeatureName, ValueAsString]) => ({
    FeatureName,
    ValueAsString,
  }));
  return { group: accounts, recordId: id, values: fromRecord(accounts, wire), expiresAt };
}

describe('Function: classify()', () => {
  it.each([
    {
      description: 'equal event time and values are coherent',
      off: offline('a', NOW - 10 * MINUTE),
      on: online('a', NOW - 10 * MINUTE),
      expected: { kind: 'coherent' },
    },
    {
      description: '10.0 offline and 10 online decode to the same value',
      off: offline('a', NOW - 10 * MINUTE, '10.0'),
      on: online('a', NOW - 10 * MINUTE, '10'),
      expected: { kind: 'coherent' },
    },
    {
      description: 'a live row absent online is offline-only history (a backfill), expected',
      off: offline('a', NOW - 10 * MINUTE),
      on: undefined,
      expected: { kind: 'expectedAbsent', reason: 'offlineOnly' },
    },
    {
      description: 'a live row past its TTL absent online is expected',
      off: offline('a', NOW - 25 * 60 * MINUTE),
      on: undefined,
      expected: { kind: 'expectedAbsent', reason: 'expired' },
    },
    {
      description: 'a delete marker absent online is expected',
      off: offline('a', NOW - 10 * MINUTE, '10', true),
      on: undefined,
      expected: { kind: 'expectedAbsent', reason: 'deleted' },
    },
    {
      description: 'a newer delete marker with the record still served is deletedButOnline',
      off: offline('a', NOW - 10 * MINUTE, '10', true),
      on: online('a', NOW - 20 * MINUTE),
      expected: { kind: 'mismatch', mismatch: 'deletedButOnline' },
    },
    {
      description:
        'a delete marker at the online event time (the record stands) with the put missing offline is online ahead',
      off: offline('a', NOW - 10 * MINUTE, '10', true),
      on: online('a', NOW - 10 * MINUTE),
      expected: { kind: 'onlineAhead', mismatch: 'valueMismatch' },
    },
    {
      description: 'an online write newer than the delete marker is online ahead (onlineNewer)',
      off: offline('a', NOW - 20 * MINUTE, '10', true),
      on: online('a', NOW - 10 * MINUTE),
      expected: { kind: 'onlineAhead', mismatch: 'onlineNewer' },
    },
    {
      description: 'a newer offline row (an offline-only newer write) is onlineOlder at once',
      off: offline('a', NOW - 10 * MINUTE),
      on: online('a', NOW - 20 * MINUTE),
      expected: { kind: 'mismatch', mismatch: 'onlineOlder', severity: 600_000 },
    },
    {
      description: 'an identifier only online is online ahead (onlineOnly)',
      off: undefined,
      on: online('a', NOW - 20 * MINUTE),
      expected: { kind: 'onlineAhead', mismatch: 'onlineOnly' },
    },
    {
      description: 'a late event (old event time) online and not offline yet is online ahead',
      off: offline('a', NOW - 3 * 60 * MINUTE),
      on: online('a', NOW - 2 * 60 * MINUTE),
      expected: { kind: 'onlineAhead', mismatch: 'onlineNewer' },
    },
    {
      description: 'an online record past ExpiresAt is expiredStillServed, whatever else',
      off: offline('a', NOW - 30_000),
      on: online('a', NOW - 30_000, '10', iso(NOW - 5_000)),
      expected: { kind: 'expiredStillServed', overdueMs: 5_000 },
    },
  ])('$description', ({ off, on, expected }) => {
    // Act
    const verdict = classify(accounts, off, on, context);
    // Assess
    expect(verdict).toMatchObject(expected);
  });

  it("judges expiry at the boundary by the online store's rule, to the nanosecond", () => {
    // Prepare: ExpiresAt exactly now (gone), and half a millisecond after now (still served: the
    // store compares instants, not milliseconds); likewise offline event time + TTL.
    const subMilli = (ms: number) => iso(ms).replace(/Z$/, '500Z');
    const served = (expiresAt: string) =>
      classify(
        accounts,
        offline('a', NOW - 30_000),
        online('a', NOW - 30_000, '10', expiresAt),
        context
      );
    const absent = (eventTime: string) => {
      const decoded = decodeOfflineRow(accounts, {
        ...account('a', NOW),
        event_time: eventTime,
        is_deleted: false,
      });
      if (!decoded.ok) throw new Error(decoded.problem.reason);
      return classify(accounts, decoded.value, undefined, context);
    };
    // Act + Assess
    expect(served(iso(NOW))).toMatchObject({ kind: 'expiredStillServed', overdueMs: 0 });
    expect(served(subMilli(NOW))).toEqual({ kind: 'coherent' });
    expect(absent(iso(NOW - 24 * 60 * MINUTE))).toEqual({
      kind: 'expectedAbsent',
      reason: 'expired',
    });
    expect(absent(subMilli(NOW - 24 * 60 * MINUTE))).toEqual({
      kind: 'expectedAbsent',
      reason: 'offlineOnly',
    });
  });

  it('lists each differing feature of a value mismatch, decoded, and names the online version', () => {
    // Act
    const verdict = classify(
      accounts,
      offline('a', NOW - 10 * MINUTE, '10'),
      online('a', NOW - 10 * MINUTE, '10.5'),
      context
    );
    const rewritten = classify(
      accounts,
      offline('a', NOW - 10 * MINUTE, '10'),
      online('a', NOW - 10 * MINUTE, '10.75'),
      context
    );
    // Assess
    expect(verdict).toEqual({
      kind: 'onlineAhead',
      mismatch: 'valueMismatch',
      severity: 1,
      version: expect.any(String),
      example: {
        recordId: 'a',
        offlineEventTime: iso(NOW - 10 * MINUTE),
        onlineEventTime: iso(NOW - 10 * MINUTE),
        features: [{ name: 'balance', offline: '10', online: '10.5' }],
      },
    });
    // A rewrite at the same event time is another version: its clock starts again.
    expect(rewritten).toMatchObject({ kind: 'onlineAhead' });
    expect((rewritten as { version: string }).version).not.toBe(
      (verdict as { version: string }).version
    );
  });
});

describe('Function: decodeOfflineRow()', () => {
  it('reports a row whose values the schema module cannot decode', () => {
    // Act
    const decoded = decodeOfflineRow(accounts, {
      ...account('a', NOW),
      txn_count: 'many',
      is_deleted: false,
    });
    // Assess
    expect(decoded.ok).toBe(false);
    expect(decoded.ok ? '' : decoded.problem.recordId).toBe('a');
  });

  it('reads Athena text and DuckDB values alike', () => {
    // Act
    const fromAthena = decodeOfflineRow(accounts, {
      ...account('a', NOW, '1.0E1'),
      txn_count: '3',
      is_deleted: 'false',
    });
    const fromDuck = decodeOfflineRow(accounts, {
      ...account('a', NOW),
      balance: 10,
      txn_count: 3n,
      is_deleted: false,
    });
    // Assess
    expect(fromAthena).toEqual(fromDuck);
  });
});

describe('Function: eventTimeNanos()', () => {
  it('accepts epoch seconds in scientific notation, as Athena renders doubles', () => {
    expect(eventTimeNanos('1.7725e9')).toBe(1_772_500_000_000_000_000n);
    expect(eventTimeNanos('2026-03-01T12:00:00Z')).toBe(BigInt(NOW) * 1_000_000n);
    expect(eventTimeNanos('yesterday')).toBeUndefined();
  });
});

describe('Class: WorstExamples', () => {
  it('keeps the worst items, worst first, ties in insertion order', () => {
    // Prepare
    const worst = new WorstExamples<string>(3);
    // Act
    for (let i = 0; i < 100; i++) worst.add(i % 10, `item-${i}`);
    // Assess
    expect(worst.list()).toEqual(['item-9', 'item-19', 'item-29']);
  });
});

describe('Function: runAudit()', () => {
  it('skips a group without an offline store, touching neither store', async () => {
    // Prepare
    const untouched = () => {
      throw new Error('must not be called');
    };
    const engine = {
      dialect: { name: 'duckdb' },
      tableFor: untouched,
      query: untouched,
      queryAll: untouched,
    } as never;
    const online = { read: untouched, list: untouched };
    // Act
    const report = await runAudit([{ ...accounts, offline: undefined }], { engine, online });
    // Assess
    expect(report.groups).toEqual([]);
    expect(report.totals.groups).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import {
  OnlineEffect,
  type OnlineVersion,
  planBatchWrites,
  versionOfOnline,
} from '../../shared/batch/onlineEffect.ts';
import { cards } from '../../shared/definitions.ts';
import { type EncodedRecord, encodeRecord, fromRecord } from '../../shared/record/codec.ts';

const HOUR = 3_600_000;
const now = Date.now();

function card(id: string, atMs: number, txnCount7d: number): EncodedRecord {
  const encoded = encodeRecord(cards, {
    card_id: id,
    event_time: new Date(atMs).toISOString(),
    txn_count_7d: txnCount7d,
    amount_sum_7d: 12.5,
  });
  if (!encoded.ok) throw new Error(JSON.stringify(encoded.problems));
  return encoded.value;
}

/** The online version a store answering these feature values (as text) would give. */
function online(record: EncodedRecord['record']): OnlineVersion {
  const version = versionOfOnline(cards, fromRecord(cards, record) as Record<string, unknown>);
  if (version === undefined) throw new Error('unreadable event time');
  return version;
}

describe('Function: planBatchWrites()', () => {
  it('accounts rows in file order against the online value and writes each identifier online once', () => {
    // Prepare: online values at now-24h; the drop holds newer, older, equal (same and other
    // values), repeated and new identifiers.
    const stored = {
      newer: card('card-newer', now - 24 * HOUR, 3),
      older: card('card-older', now - 24 * HOUR, 3),
      same: card('card-same', now - 24 * HOUR, 3),
      overwrite: card('card-overwrite', now - 24 * HOUR, 3),
      twice: card('card-twice', now - 24 * HOUR, 3),
    };
    const current = new Map(
      Object.entries(stored).map(([, r]) => [r.recordIdentifier, online(r.record)])
    );
    const rows = [
      card('card-newer', now - HOUR, 4),
      card('card-older', now - 48 * HOUR, 9),
      card('card-same', now - 24 * HOUR, 3),
      card('card-overwrite', now - 24 * HOUR, 7),
      card('card-twice', now - 2 * HOUR, 5),
      card('card-new', now - HOUR, 1),
      card('card-twice', now - 3 * HOUR, 6),
      card('card-twice', now - HOUR, 8),
      card('card-twice', now - HOUR, 8),
    ].map((record, ref) => ({ ref, record }));
    // Act
    const { planned, after } = planBatchWrites(cards, rows, current);
    // Assess
    expect(planned.map((p) => [p.ref, p.effect, p.targetStores])).toEqual([
      [0, OnlineEffect.Changed, undefined],
      [1, OnlineEffect.Stayed, ['OfflineStore']],
      [2, OnlineEffect.Unchanged, ['OfflineStore']],
      [3, OnlineEffect.Changed, undefined],
      // card-twice: -2h changes it, -3h is older than that, -1h changes it again and is the one
      // written online; the exact repeat of -1h changes nothing.
      [4, OnlineEffect.Changed, ['OfflineStore']],
      [5, OnlineEffect.Changed, undefined],
      [6, OnlineEffect.Stayed, ['OfflineStore']],
      [7, OnlineEffect.Changed, undefined],
      [8, OnlineEffect.Unchanged, ['OfflineStore']],
    ]);
    expect(after.get('card-twice')?.eventTimeNanos).toBe(BigInt(now - HOUR) * 1_000_000n);
    expect(after.get('card-twice')?.values.txn_count_7d).toBe(8n);
    expect(after.get('card-older')).toEqual(current.get('card-older'));
  });

  it('compares values decoded, without the event time text', () => {
    // Prepare: the online value as the store answers a record another writer put (the AWS CLI,
    // say): the instant without a fraction and the Fractional as "12.50". The row is the same
    // version as the schema module encodes it (".000Z", "12.5"): equal only once decoded.
    const at = Math.floor((now - HOUR) / 1000) * 1000;
    const row = card('card-1', at, 3);
    const answered = {
      card_id: 'card-1',
      event_time: new Date(at).toISOString().replace('.000Z', 'Z'),
      txn_count_7d: '3',
      amount_sum_7d: '12.50',
    };
    const text = (record: readonly { FeatureName?: string; ValueAsString?: string }[]) =>
      Object.fromEntries(record.map((v) => [v.FeatureName, v.ValueAsString]));
    expect(text(row.record)).not.toEqual(answered);
    const stored = online(
      Object.entries(answered).map(([FeatureName, ValueAsString]) => ({
        FeatureName,
        ValueAsString,
      }))
    );
    // Act
    const { planned } = planBatchWrites(
      cards,
      [{ ref: 'a', record: row }],
      new Map([['card-1', stored]])
    );
    // Assess
    expect(planned[0]?.effect).toBe(OnlineEffect.Unchanged);
    expect(planned[0]?.targetStores).toEqual(['OfflineStore']);
  });

  it('treats a missing feature as a different value', () => {
    const full = card('card-1', now - HOUR, 3);
    const partial = encodeRecord(cards, { card_id: 'card-1', event_time: new Date(now - HOUR) });
    if (!partial.ok) throw new Error('unexpected');
    const { planned } = planBatchWrites(
      cards,
      [{ ref: 0, record: partial.value }],
      new Map([['card-1', online(full.record)]])
    );
    expect(planned[0]?.effect).toBe(OnlineEffect.Changed);
    expect(planned[0]?.targetStores).toBeUndefined();
  });
});

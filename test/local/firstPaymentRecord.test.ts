/**
 * The demo's note of its first payment (local/demo/firstPaymentRecord.ts): noted when the stream
 * took the payment, which is not yet the store holding it. Times are relative to a test clock.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { earlierFirstPayment, noteFirstPaymentSent } from '../../local/demo/firstPaymentRecord.ts';

const root = mkdtempSync(join(tmpdir(), 'skewless-first-payment-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const DAY_MS = 86_400_000;
const ONLINE_TTL_MS = 30 * DAY_MS;
const created = new Date(Date.now() - 40 * DAY_MS);

/** A data dir whose note says the payment was sent `ageMs` before `nowMs`. */
function dataDirWithNote(name: string, nowMs: number, ageMs: number): string {
  const dataDir = join(root, name);
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir);
  noteFirstPaymentSent(
    dataDir,
    { transactionId: 'txn-demo-0001', eventTime: new Date(nowMs - ageMs).toISOString() },
    created
  );
  return dataDir;
}

describe('earlierFirstPayment', () => {
  const nowMs = Date.now();
  const notServed = async (): Promise<string | undefined> => undefined;

  it('counts a noted payment the store does not serve when it is past the online TTL', async () => {
    const dataDir = dataDirWithNote('past-ttl', nowMs, 31 * DAY_MS);
    const earlier = await earlierFirstPayment({
      dataDir,
      transactionId: 'txn-demo-0001',
      groupCreationTime: created,
      served: notServed,
      onlineTtlMs: ONLINE_TTL_MS,
      nowMs,
    });
    expect(earlier).toEqual({
      eventTime: new Date(nowMs - 31 * DAY_MS).toISOString(),
      served: false,
    });
  });

  it.each([
    ['within the online TTL', ONLINE_TTL_MS],
    ['with no online TTL', undefined],
  ])(
    'does not count a noted payment the store does not serve %s: the earlier run stopped before the ingest wrote it',
    async (_, onlineTtlMs) => {
      // Prepare: the stream took it a minute ago (in memory: gone with the earlier run)
      const dataDir = dataDirWithNote(`lost-${String(onlineTtlMs)}`, nowMs, 60_000);
      // Act
      const earlier = await earlierFirstPayment({
        dataDir,
        transactionId: 'txn-demo-0001',
        groupCreationTime: created,
        served: notServed,
        onlineTtlMs,
        nowMs,
      });
      // Assess: sent again, or the commands would never find it on this data dir
      expect(earlier).toBeUndefined();
    }
  );

  it('counts a served payment, and notes it', async () => {
    const dataDir = join(root, 'served');
    mkdirSync(dataDir);
    const eventTime = new Date(nowMs - 60_000).toISOString();
    const served = async (): Promise<string | undefined> => eventTime;
    const options = {
      dataDir,
      transactionId: 'txn-demo-0001',
      groupCreationTime: created,
      onlineTtlMs: ONLINE_TTL_MS,
    };
    expect(await earlierFirstPayment({ ...options, served, nowMs })).toEqual({
      eventTime,
      served: true,
    });
    // Past the TTL, by the note
    const later = nowMs + 31 * DAY_MS;
    expect(await earlierFirstPayment({ ...options, served: notServed, nowMs: later })).toEqual({
      eventTime,
      served: false,
    });
  });
});

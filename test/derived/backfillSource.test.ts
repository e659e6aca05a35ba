// calendar-fixed: derived values are functions of event times only (replay, no clock).
/**
 * The derived mode of the S3 backfill: which keys select it, and the rows it hands the backfill
 * (rejects first, then conflicts, then one derived record per event) in an order fixed enough for
 * a checkpoint's row index to resume exactly.
 */
import { describe, expect, it } from 'vitest';
import {
  derivedDefinitionOf,
  derivedRowSource,
  isDeriveFile,
} from '../../shared/backfill/derivedSource.ts';
import {
  FileRejectedError,
  type RowSource,
  type SourceRow,
} from '../../shared/backfill/rowSource.ts';
import { cards, cardVelocities, transactions } from '../../shared/definitions.ts';
import { replayDerived } from '../../shared/derived/replay.ts';
import { toRecord, wireInput } from '../../shared/record/codec.ts';

const BASE = Date.parse('2026-11-20T10:00:00.000Z');

function payment(id: string, card: string, seconds: number, amount = 10) {
  return {
    transaction_id: id,
    event_time: new Date(BASE + seconds * 1000).toISOString(),
    card_id: card,
    merchant_id: 'm-1',
    amount,
    currency: 'EUR',
    channel: 'pos',
  };
}

/** A reader over in-memory rows, in batches of two. */
function rowsOf(values: (Record<string, unknown> | string)[]): RowSource {
  const rows: SourceRow[] = values.map((v, index) => ({
    index,
    line: index + 1,
    values: typeof v === 'string' ? undefined : v,
    original: () => v,
    ...(typeof v === 'string' ? { problem: v } : {}),
    next: { line: index + 2 },
  }));
  return {
    header: undefined,
    seekable: true,
    async *batches() {
      for (let i = 0; i < rows.length; i += 2) yield rows.slice(i, i + 2);
    },
  };
}

async function collect(source: RowSource): Promise<SourceRow[]> {
  const out: SourceRow[] = [];
  for await (const batch of source.batches()) out.push(...batch);
  return out;
}

const history = [
  payment('t-3', 'card-a', 30, 30),
  'malformed JSON: unexpected end',
  payment('t-1', 'card-a', 10, 10),
  { ...payment('t-bad', 'card-a', 5), amount: 'lots' },
  payment('t-2', 'card-b', 20, 20),
  payment('t-1', 'card-a', 10, 10),
  payment('t-2', 'card-b', 20, 99),
  payment('t-4', 'card-a', 40, 40),
];

describe('derived backfill rows', () => {
  it('selects the derived mode for keys under derive/ of a group with derived features', () => {
    expect(isDeriveFile('derive/2026/payments.jsonl')).toBe(true);
    expect(isDeriveFile('payments.jsonl')).toBe(false);
    expect(derivedDefinitionOf('backfill/fraud-transactions/derive/p.jsonl', transactions)).toBe(
      cardVelocities
    );
    expect(
      derivedDefinitionOf('backfill/fraud-transactions/p.jsonl', transactions)
    ).toBeUndefined();
    expect(() => derivedDefinitionOf('backfill/fraud-cards/derive/c.csv', cards)).toThrow(
      FileRejectedError
    );
  });

  it('hands out rejects, repeated ids (conflicts and exact repeats), then one derived record per distinct event: every input row once', async () => {
    const rows = await collect(derivedRowSource(rowsOf(history), cardVelocities, 0));
    // 8 input rows, 8 rows out: none is left out of the backfill's counts.
    expect(rows.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(rows[0]).toMatchObject({ line: 2, problem: 'malformed JSON: unexpected end' });
    expect(rows[1]).toMatchObject({ line: 4, values: { amount: 'lots' } });
    // Repeated ids in file order: the exact repeat of t-1, then the conflicting t-2.
    expect(rows[2]).toMatchObject({ line: 6, values: undefined });
    expect(rows[2]?.duplicate).toContain('"t-1" repeats an earlier row exactly');
    expect(rows[3]?.line).toBe(7);
    expect(rows[3]?.problem).toContain('"t-2" appears earlier in the file with different content');
    // Each keeps its row of the file for the reject line: index is its place in this order.
    expect(rows.slice(0, 4).map((r) => r.fileRow)).toEqual([2, 4, 6, 7]);
    // Handed over encoded, as the replay made them: the backfill does not encode them again.
    const handed = rows.slice(4).map((r) => r.encoded);
    const valid = [history[0], history[2], history[4], history[7]].map((p) =>
      toRecord(transactions, p as never)
    );
    expect(handed).toEqual(replayDerived(cardVelocities, valid).records);
    const written = handed.map((r) => wireInput(r?.record ?? []));
    expect(written.find((w) => w.transaction_id === 't-4')).toMatchObject({
      card_txn_count_60s: '3',
      card_amount_sum_1h: '80',
    });
  });

  it('hands each derived record over with the row and line of its event in the file, not its place in event-time order', async () => {
    // The replay hands card-a's events in event-time order (t-1, t-3, t-4), then card-b's (t-2):
    // a reject or a refusal of one must name the row of the user's file.
    const rows = await collect(derivedRowSource(rowsOf(history), cardVelocities, 0));
    const derived = rows.slice(4).map((r) => {
      const values = wireInput(r.encoded?.record ?? []);
      return [values.transaction_id, r.fileRow, r.line];
    });
    expect(derived).toEqual([
      ['t-1', 3, 3],
      ['t-3', 1, 1],
      ['t-4', 8, 8],
      ['t-2', 5, 5],
    ]);
  });

  it('resumes at a row index by replaying the file and skipping that many rows', async () => {
    const all = await collect(derivedRowSource(rowsOf(history), cardVelocities, 0));
    const resumed = await collect(derivedRowSource(rowsOf(history), cardVelocities, 4));
    expect(resumed.map((r) => r.index)).toEqual([4, 5, 6, 7]);
    expect(resumed.map((r) => r.encoded)).toEqual(all.slice(4).map((r) => r.encoded));
  });
});

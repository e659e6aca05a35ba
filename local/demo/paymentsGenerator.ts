/**
 * A synthetic card-payments stream shaped like the real case: many cards with a few hot ones,
 * merchants, bursts on one card (card testing), late and out-of-order events, producer retries
 * (duplicates) and a few bad records. Deterministic for a given seed.
 */
import { seededRandom } from '../runtime/seededRandom.ts';

interface Payment {
  readonly transaction_id: string;
  readonly event_time: string;
  readonly card_id: string;
  readonly merchant_id: string;
  readonly amount: number;
  readonly currency: string;
  readonly channel: 'pos' | 'ecom' | 'moto';
}

/** One message for the stream: its partition key and the exact bytes a producer would send. */
interface StreamMessage {
  readonly partitionKey: string;
  readonly data: string;
  /** What kind of message this is, for the demo's own counters. */
  readonly kind: 'payment' | 'late' | 'duplicate' | 'bad';
}

interface GeneratorOptions {
  readonly seed?: number;
  readonly cards?: number;
  readonly merchants?: number;
  /** Shares of special messages, each in [0, 1]. */
  readonly lateShare?: number;
  readonly duplicateShare?: number;
  readonly badShare?: number;
  readonly burstShare?: number;
}

const cardId = (i: number) => `card-${String(i).padStart(4, '0')}`;
const merchantId = (i: number) => `merchant-${String(i).padStart(3, '0')}`;

const BAD_RECORDS = [
  () => '{"transaction_id": "broken-json", ',
  (p: Payment) => JSON.stringify({ ...p, amount: 'NaN' }),
  (p: Payment) => JSON.stringify({ ...p, event_time: undefined }),
  (p: Payment) => JSON.stringify({ ...p, event_time: 'last tuesday' }),
  (p: Payment) => JSON.stringify({ ...p, cvv: '123' }),
  (p: Payment) => JSON.stringify({ featureGroup: 'fraud-unknown', record: p }),
  () => JSON.stringify(['not', 'an', 'object']),
];

class PaymentsGenerator {
  private readonly random: () => number;
  private readonly options: Required<GeneratorOptions>;
  private sequence = 0;
  private readonly recent: Payment[] = [];
  private readonly bursts = new Map<number, number>();

  constructor(options: GeneratorOptions = {}) {
    this.options = {
      seed: 42,
      cards: 500,
      merchants: 100,
      lateShare: 0.03,
      duplicateShare: 0.01,
      badShare: 0.005,
      burstShare: 0.01,
      ...options,
    };
    this.random = seededRandom(this.options.seed);
  }

  get cardIds(): string[] {
    return Array.from({ length: this.options.cards }, (_, i) => cardId(i + 1));
  }

  get merchantIds(): string[] {
    return Array.from({ length: this.options.merchants }, (_, i) => merchantId(i + 1));
  }

  /** A payment at `nowMs` (its event time), without any of the special cases. */
  payment(nowMs: number, card?: number): Payment {
    this.sequence += 1;
    const r = this.random;
    // Some cards are hotter than others (a mild power law: the hottest gets ~1.6% of payments,
    // which keeps its 1-day derived-feature state within budget for hours at the demo rate).
    const cardIndex =
      card ?? Math.min(this.options.cards, 1 + Math.floor(this.options.cards * r() ** 1.5));
    const amount = Math.round((r() < 0.9 ? 5 + r() * 120 : 200 + r() * 2000) * 100) / 100;
    const channels = ['pos', 'ecom', 'moto'] as const;
    return {
      transaction_id: `txn-${nowMs.toString(36)}-${this.sequence.toString(36)}`,
      event_time: new Date(nowMs).toISOString(),
      card_id: cardId(cardIndex),
      merchant_id: merchantId(1 + Math.floor(r() * this.options.merchants)),
      amount,
      currency: r() < 0.8 ? 'EUR' : 'USD',
      channel: channels[r() < 0.6 ? 0 : r() < 0.9 ? 1 : 2] ?? 'pos',
    };
  }

  /** The next `count` stream messages produced at wall-clock time `nowMs`. */
  next(count: number, nowMs: number): StreamMessage[] {
    const out: StreamMessage[] = [];
    const r = this.random;
    for (let i = 0; i < count; i++) {
      const roll = r();
      const { lateShare, duplicateShare, badShare, burstShare } = this.options;
      if (roll < badShare) {
        const maker = BAD_RECORDS[Math.floor(r() * BAD_RECORDS.length)] ?? BAD_RECORDS[0];
        const p = this.payment(nowMs);
        out.push({ partitionKey: p.card_id, data: maker?.(p) ?? '', kind: 'bad' });
        continue;
      }
      if (roll < badShare + duplicateShare && this.recent.length > 0) {
        const again = this.recent[Math.floor(r() * this.recent.length)] as Payment;
        out.push({ partitionKey: again.card_id, data: JSON.stringify(again), kind: 'duplicate' });
        continue;
      }
      if (roll < badShare + duplicateShare + burstShare) {
        this.bursts.set(
          Math.min(this.options.cards, 1 + Math.floor(r() * this.options.cards)),
          5 + Math.floor(r() * 8)
        );
      }
      let payment: Payment;
      let kind: StreamMessage['kind'] = 'payment';
      const burst = this.bursts.entries().next();
      if (!burst.done && r() < 0.5) {
        const [card, left] = burst.value;
        payment = this.payment(nowMs, card);
        if (left <= 1) this.bursts.delete(card);
        else this.bursts.set(card, left - 1);
      } else if (roll > 1 - lateShare) {
        // Late and out of order: the event happened 5-120 s ago and arrives only now.
        payment = this.payment(nowMs - 5_000 - Math.floor(r() * 115_000));
        kind = 'late';
      } else {
        payment = this.payment(nowMs);
      }
      this.recent.push(payment);
      if (this.recent.length > 200) this.recent.shift();
      out.push({ partitionKey: payment.card_id, data: JSON.stringify(payment), kind });
    }
    return out;
  }
}

export type { GeneratorOptions, Payment, StreamMessage };
export { PaymentsGenerator };

// calendar-fixed: a malformed-record sample, dated in the past: the skew bound (its only comparison with the clock) always accepts it, its amount is refused.
/**
 * A payments stream for the parity test, built on the demo generator's payments: bursts on one
 * card at one event time (ties), late and out-of-order events (seconds to hours late), producer
 * duplicates (exact resends) and bad records. Cards are drawn so that hot cards stay realistic
 * (a few hundred payments a day, not thousands), which keeps every state within its byte budget.
 */
import { PaymentsGenerator, type StreamMessage } from '../../local/demo/paymentsGenerator.ts';

interface StreamOptions {
  readonly messages: number;
  readonly seed?: number;
  /** Event time of the last tick (epoch ms). */
  readonly endMs: number;
  readonly cards?: number;
  readonly hotCards?: number;
}

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 4_294_967_296;
  };
}

const BAD = [
  '{"transaction_id": "broken-json", ',
  '["not", "an", "object"]',
  '{"transaction_id": "t-bad-time", "event_time": "last tuesday", "card_id": "c"}',
  '{"transaction_id": "t-bad-amount", "event_time": "2026-01-01T00:00:00Z", "amount": "lots"}',
] as const;

/**
 * Messages in stream order. Each tick (~40 s of event time apart on average) carries 25
 * messages at the tick's time; of all messages about 1% start a burst, 4% are late by 5 s to
 * 10 min, 0.3% by up to 6 h, 2% resend a recent payment, 0.2% are malformed.
 */
function paymentsStream(options: StreamOptions): StreamMessage[] {
  const random = seeded(options.seed ?? 2026);
  const cards = options.cards ?? 2000;
  const hotCards = options.hotCards ?? 40;
  const generator = new PaymentsGenerator({ seed: options.seed ?? 2026, cards, merchants: 400 });
  const pickCard = () =>
    random() < 0.3
      ? 1 + Math.floor(random() * hotCards)
      : 1 + hotCards + Math.floor(random() * (cards - hotCards));
  const ticks = Math.ceil(options.messages / 25);
  let span = 0;
  const offsets: number[] = [];
  for (let i = 0; i < ticks; i++) {
    offsets.push(span);
    span += Math.floor(random() * 80_000);
  }
  const start = options.endMs - span;
  const out: StreamMessage[] = [];
  const recent: string[] = [];
  const bursts: { card: number; left: number }[] = [];
  const push = (data: string, partitionKey: string, kind: StreamMessage['kind']) => {
    out.push({ partitionKey, data, kind });
    if (kind !== 'bad' && kind !== 'duplicate') {
      recent.push(data);
      if (recent.length > 500) recent.shift();
    }
  };
  for (const offset of offsets) {
    const now = start + offset;
    for (let i = 0; i < 25 && out.length < options.messages; i++) {
      const roll = random();
      if (roll < 0.002) {
        push(BAD[Math.floor(random() * BAD.length)] as string, `bad-${out.length}`, 'bad');
        continue;
      }
      if (roll < 0.022 && recent.length > 0) {
        const again = recent[Math.floor(random() * recent.length)] as string;
        push(again, (JSON.parse(again) as { card_id: string }).card_id, 'duplicate');
        continue;
      }
      if (roll < 0.032) bursts.push({ card: pickCard(), left: 5 + Math.floor(random() * 8) });
      const burst = bursts[0];
      let time = now;
      let card: number;
      let kind: StreamMessage['kind'] = 'payment';
      if (burst !== undefined && random() < 0.5) {
        card = burst.card;
        burst.left -= 1;
        if (burst.left === 0) bursts.shift();
      } else {
        card = pickCard();
        if (roll > 0.997) {
          time = now - Math.floor(random() * 6 * 3_600_000);
          kind = 'late';
        } else if (roll > 0.957) {
          time = now - 5_000 - Math.floor(random() * 595_000);
          kind = 'late';
        }
      }
      const payment = generator.payment(time, card);
      push(JSON.stringify(payment), payment.card_id, kind);
    }
  }
  return out;
}

export { paymentsStream };

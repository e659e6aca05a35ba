import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { fraudModelV3, transactions } from '../../shared/definitions.ts';
import type { LogSink } from '../../shared/runtime/powertools.ts';
import { type Duration, durationSeconds } from '../../shared/schema/index.ts';
import { shortDuration } from '../../shared/shortDuration.ts';
import { type Payment, PaymentsGenerator } from './paymentsGenerator.ts';

interface DemoProducerStats {
  sent: number;
  bad: number;
  late: number;
  duplicates: number;
  failedPuts: number;
}

/** The demo's first payment (card-0001 at merchant-001), named in the commands printed at start. */
const DEMO_TRANSACTION_ID = 'txn-demo-0001';

/** The demo's first payment, made at `nowMs`: the one the commands printed at start look up. */
function demoFirstPayment(generator: PaymentsGenerator, nowMs: number): Payment {
  return {
    ...generator.payment(nowMs, 1),
    transaction_id: DEMO_TRANSACTION_ID,
    merchant_id: 'merchant-001',
  };
}

/** A duration in words: `1 hour`, `30 days`. */
function durationWords(d: Duration): string {
  return `${d.value} ${(d.value === 1 ? d.unit.replace(/s$/, '') : d.unit).toLowerCase()}`;
}

/**
 * The start log's line for a data dir where an earlier run sent the demo's first payment (sent
 * again it would be another payment under the same id). It is one payment at one time: past the
 * max age the banner's vectors command judges it by, that command lists its transaction features
 * under "stale"; past the online TTL (`served` false) the online store no longer has it at all.
 * The line says which, and how to get a fresh one.
 */
function earlierFirstPaymentLine(
  eventTime: string,
  nowMs: number,
  served = true
): { readonly stale: boolean; readonly line: string } {
  const ageSeconds = (nowMs - Date.parse(eventTime)) / 1000;
  const earlier = `${DEMO_TRANSACTION_ID} is from an earlier run on this data dir (event time ${eventTime}, ${shortDuration(ageSeconds)} old): not sent again (an id names one payment)`;
  const fresh = 'for a fresh one, start on an empty data dir (--data-dir <new dir>)';
  if (!served) {
    const ttl = transactions.online?.ttl;
    return {
      stale: true,
      line: `${earlier}. The online store no longer serves it${ttl === undefined ? '' : ` (past the online TTL of ${transactions.name}, ${durationWords(ttl)})`}: the commands below find no record for it (the offline store keeps it); ${fresh}`,
    };
  }
  // As the lookup judges it: the feature set's max age, else the group's.
  const maxAge = fraudModelV3.maxAge ?? transactions.maxAge;
  const selected = fraudModelV3.selections.find((s) => s.group === transactions)?.features ?? [];
  if (maxAge === undefined || selected.length === 0 || ageSeconds <= durationSeconds(maxAge)) {
    return { stale: false, line: earlier };
  }
  return {
    stale: true,
    line: `${earlier}. It is past the max age of ${transactions.name} in ${fraudModelV3.name} (${durationWords(maxAge)}): the vectors command below lists its ${selected.length} ${transactions.name} features under "stale" (their values still returned); ${fresh}`,
  };
}

interface DemoProducerOptions {
  readonly client: KinesisClient;
  readonly streamName: string;
  readonly eventsPerSecond: number;
  /** Stop after this many events (every load loop is bounded). */
  readonly maxEvents?: number;
  readonly logger: LogSink;
  readonly generator?: PaymentsGenerator;
}

/**
 * Writes the synthetic payments stream to a Kinesis stream with PutRecords (partition key = card,
 * so events of one card stay in order, as a real producer would send them). Bounded: it stops
 * after `maxEvents` or when stopped.
 */
class DemoProducer {
  readonly stats: DemoProducerStats = { sent: 0, bad: 0, late: 0, duplicates: 0, failedPuts: 0 };
  readonly generator: PaymentsGenerator;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();

  private readonly options: DemoProducerOptions;

  constructor(options: DemoProducerOptions) {
    this.options = options;
    this.generator = options.generator ?? new PaymentsGenerator();
  }

  /**
   * Starts sending. `firstPayment: false` leaves out the known first payment: an earlier run on
   * the same data dir sent it, and an event id names one event (the ingest dead-letters a second
   * payment with the same id and other content as a conflict).
   */
  start({
    firstPayment = true,
    onFirstPaymentSent,
  }: {
    readonly firstPayment?: boolean;
    /** Once the stream has taken the first payment (to note it: it is never sent twice). */
    readonly onFirstPaymentSent?: (payment: Payment) => void;
  } = {}): void {
    if (firstPayment) this.sendFirstPayment(onFirstPaymentSent);
    this.startTicks();
  }

  /** A known first payment, so the commands printed at start have a transaction to look up. */
  private sendFirstPayment(onSent?: (payment: Payment) => void): void {
    const first = demoFirstPayment(this.generator, Date.now());
    this.inFlight = this.options.client
      .send(
        new PutRecordsCommand({
          StreamName: this.options.streamName,
          Records: [{ PartitionKey: first.card_id, Data: Buffer.from(JSON.stringify(first)) }],
        })
      )
      .then(
        (result) => {
          this.stats.sent += 1;
          if ((result.FailedRecordCount ?? 0) === 0) onSent?.(first);
        },
        (error) =>
          this.options.logger.warn('PutRecords to the local stream failed', {
            error: String(error),
          })
      );
  }

  private startTicks(): void {
    const tickMs = 200;
    let carry = 0;
    this.timer = setInterval(() => {
      carry += (this.options.eventsPerSecond * tickMs) / 1000;
      const count = Math.floor(carry);
      carry -= count;
      if (count === 0) return;
      if (this.options.maxEvents !== undefined && this.stats.sent >= this.options.maxEvents) {
        // Said once, so that the freshness the audit reports from then on reads as expected.
        this.options.logger.info(
          `sent ${this.stats.sent} events, its bound of ${this.options.maxEvents} (--demo-max-events): the demo stream stops here while the stack keeps running, so the audit will report the payments' group not fresh`
        );
        void this.stop();
        return;
      }
      this.inFlight = this.inFlight.then(() => this.send(count));
    }, tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  private async send(count: number): Promise<void> {
    const messages = this.generator.next(Math.min(count, 500), Date.now());
    try {
      const result = await this.options.client.send(
        new PutRecordsCommand({
          StreamName: this.options.streamName,
          Records: messages.map((m) => ({
            PartitionKey: m.partitionKey,
            Data: Buffer.from(m.data),
          })),
        })
      );
      this.stats.failedPuts += result.FailedRecordCount ?? 0;
      this.stats.sent += messages.length - (result.FailedRecordCount ?? 0);
      for (const m of messages) {
        if (m.kind === 'bad') this.stats.bad += 1;
        else if (m.kind === 'late') this.stats.late += 1;
        else if (m.kind === 'duplicate') this.stats.duplicates += 1;
      }
    } catch (error) {
      this.stats.failedPuts += messages.length;
      this.options.logger.warn('PutRecords to the local stream failed', { error: String(error) });
    }
  }
}

export type { DemoProducerOptions, DemoProducerStats };
export { DEMO_TRANSACTION_ID, DemoProducer, demoFirstPayment, earlierFirstPaymentLine };

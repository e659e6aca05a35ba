import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { LogSink } from '../../shared/runtime/powertools.ts';
import { PaymentsGenerator } from './paymentsGenerator.ts';

interface DemoProducerStats {
  sent: number;
  bad: number;
  late: number;
  duplicates: number;
  failedPuts: number;
}

/** The demo's first payment (card-0001 at merchant-001), named in the commands printed at start. */
const DEMO_TRANSACTION_ID = 'txn-demo-0001';

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
  start({ firstPayment = true }: { readonly firstPayment?: boolean } = {}): void {
    if (firstPayment) this.sendFirstPayment();
    this.startTicks();
  }

  /** A known first payment, so the commands printed at start have a transaction to look up. */
  private sendFirstPayment(): void {
    const first = {
      ...this.generator.payment(Date.now(), 1),
      transaction_id: DEMO_TRANSACTION_ID,
      merchant_id: 'merchant-001',
    };
    this.inFlight = this.options.client
      .send(
        new PutRecordsCommand({
          StreamName: this.options.streamName,
          Records: [{ PartitionKey: first.card_id, Data: Buffer.from(JSON.stringify(first)) }],
        })
      )
      .then(
        () => {
          this.stats.sent += 1;
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
export { DEMO_TRANSACTION_ID, DemoProducer };

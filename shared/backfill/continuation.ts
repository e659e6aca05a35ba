import { randomUUID } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { createLambdaContext } from '../runtime/lambdaContext.ts';
import type { ContinuationMessage } from './types.ts';

/**
 * How a backfill continues in a new invocation. On AWS: a message on the continuation SQS queue
 * (the template's `BackfillContinuationQueue`, an event source of the same function). Locally,
 * when `CONTINUATION_QUEUE_URL` is unset: an in-process queue that invokes the handler again with
 * an SQS-shaped event, the way the event source mapping would.
 */
interface ContinuationQueue {
  /** Sends a message, delivered after `delaySeconds` (SQS allows 0-900). */
  send(message: ContinuationMessage, delaySeconds: number): Promise<void>;
}

const MAX_DELAY_SECONDS = 900;

/**
 * The SQS continuation queue.
 *
 * @example
 * ```typescript
 * import { SQSClient } from '@aws-sdk/client-sqs';
 * import { SqsContinuationQueue } from './shared/backfill/continuation.ts';
 * const queue = new SqsContinuationQueue(new SQSClient({}), process.env.CONTINUATION_QUEUE_URL ?? '');
 * ```
 */
class SqsContinuationQueue implements ContinuationQueue {
  private readonly sqs: () => SQSClient;
  private readonly queueUrl: string;

  /** @param sqs - the client, or a function building it on first use (see lazyClient) */
  constructor(sqs: SQSClient | (() => SQSClient), queueUrl: string) {
    this.sqs = typeof sqs === 'function' ? sqs : () => sqs;
    this.queueUrl = queueUrl;
  }

  async send(message: ContinuationMessage, delaySeconds: number): Promise<void> {
    await this.sqs().send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(message),
        DelaySeconds: Math.max(0, Math.min(MAX_DELAY_SECONDS, Math.round(delaySeconds))),
      })
    );
  }
}

/** Reads a continuation message from an SQS record; undefined when it is not one. */
function parseContinuationMessage(
  record: Pick<SQSRecord, 'body'>
): ContinuationMessage | undefined {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    return undefined;
  }
  const m = body as Partial<ContinuationMessage> | null;
  if (m === null || typeof m !== 'object' || m.type !== 'skewless.backfill.continue')
    return undefined;
  const s = m.source;
  if (
    s === undefined ||
    typeof s.bucket !== 'string' ||
    typeof s.key !== 'string' ||
    typeof s.etag !== 'string' ||
    typeof s.size !== 'number'
  ) {
    return undefined;
  }
  return m as ContinuationMessage;
}

/** An SQS event with one record per message, as the SQS event source delivers them. */
function sqsEventOf(
  messages: readonly ContinuationMessage[],
  queueArn = 'arn:aws:sqs:us-east-1:000000000000:skewless-local-continuation'
): SQSEvent {
  return {
    Records: messages.map((message) => {
      const now = String(Date.now());
      return {
        messageId: randomUUID(),
        receiptHandle: randomUUID(),
        body: JSON.stringify(message),
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: now,
          SenderId: 'LOCAL',
          ApproximateFirstReceiveTimestamp: now,
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: queueArn,
        awsRegion: queueArn.split(':')[3] ?? 'us-east-1',
      };
    }),
  };
}

/** The backfill (or batch) function's `Context` for an in-process invocation (1769 MB, as deployed). */
function localContext(timeoutMs: number, functionName = 'BackfillFunction'): Context {
  return createLambdaContext(functionName, timeoutMs, 1769);
}

type SqsHandler = (event: SQSEvent, context: Context) => Promise<unknown>;

interface InProcessOptions {
  /** Budget of each continuation invocation (default 900 000 ms, the function's timeout). */
  readonly invocationTimeoutMs?: number;
  /** Caps message delays (retries after failing writes), so local runs do not wait minutes. */
  readonly maxDelayMs?: number;
  /** Deliveries of a message before it is dropped, like the queue's maxReceiveCount (5). */
  readonly maxReceiveCount?: number;
  /** Builds each invocation's context (default: a real deadline of `invocationTimeoutMs`). */
  readonly contextFactory?: (() => Context) | undefined;
}

/**
 * The local stand-in for the continuation queue: each message invokes the handler in this
 * process with an SQS-shaped event after its delay (capped). A message whose invocation fails
 * (throws or reports it in `batchItemFailures`) is delivered again, up to `maxReceiveCount`
 * times. Watchdog messages are dropped: an in-process invocation cannot die on its own while
 * the process lives on, which is the case the watchdog exists for.
 */
class InProcessContinuationQueue implements ContinuationQueue {
  private handler: SqsHandler | undefined;
  private options: Required<Omit<InProcessOptions, 'contextFactory'>> &
    Pick<InProcessOptions, 'contextFactory'> = {
    invocationTimeoutMs: 900_000,
    maxDelayMs: 5_000,
    maxReceiveCount: 5,
    contextFactory: undefined,
  };
  private readonly pending = new Set<Promise<void>>();
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private closed = false;
  /** Messages dropped after too many failed deliveries (the local dead-letter queue). */
  readonly deadLetters: ContinuationMessage[] = [];
  /** Messages not delivered because the process was stopping (resumed at the next start). */
  readonly heldAtShutdown: ContinuationMessage[] = [];

  /** Sets the handler that receives the messages (the backfill function itself). */
  deliverTo(handler: SqsHandler): void {
    this.handler = handler;
  }

  configure(options: InProcessOptions): void {
    this.options = { ...this.options, ...options };
  }

  async send(message: ContinuationMessage, delaySeconds: number): Promise<void> {
    if (message.reason === 'watchdog') return;
    this.schedule(message, Math.min(delaySeconds * 1000, this.options.maxDelayMs), 1);
  }

  /**
   * The process is stopping (`npm start` Ctrl-C): scheduled deliveries are cancelled and later
   * messages kept in {@link heldAtShutdown} instead of invoking the handler again. The backfill
   * states keep their checkpoints; the next start resumes them.
   */
  shutdown(): void {
    this.closed = true;
    for (const [timer, release] of this.timers) {
      clearTimeout(timer);
      release();
    }
    this.timers.clear();
  }

  /** Delivers again after {@link shutdown} (a stack started again in the same process). */
  reopen(): void {
    this.closed = false;
    this.heldAtShutdown.length = 0;
  }

  private schedule(message: ContinuationMessage, delayMs: number, receiveCount: number): void {
    if (this.closed) {
      this.heldAtShutdown.push(message);
      return;
    }
    const delivery = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve(true);
      }, delayMs);
      this.timers.set(timer, () => {
        this.heldAtShutdown.push(message);
        resolve(false);
      });
    })
      .then((due) => (due ? this.deliver(message, receiveCount) : undefined))
      .finally(() => this.pending.delete(delivery));
    this.pending.add(delivery);
  }

  private async deliver(message: ContinuationMessage, receiveCount: number): Promise<void> {
    if (this.closed) {
      this.heldAtShutdown.push(message);
      return;
    }
    const handler = this.handler;
    if (handler === undefined) {
      this.deadLetters.push(message);
      return;
    }
    let failed: boolean;
    try {
      const context =
        this.options.contextFactory?.() ?? localContext(this.options.invocationTimeoutMs);
      const result = (await handler(sqsEventOf([message]), context)) as
        | { batchItemFailures?: unknown[] }
        | undefined;
      failed = (result?.batchItemFailures?.length ?? 0) > 0;
    } catch {
      failed = true;
    }
    if (!failed) return;
    if (receiveCount >= this.options.maxReceiveCount) this.deadLetters.push(message);
    else this.schedule(message, Math.min(1_000, this.options.maxDelayMs), receiveCount + 1);
  }

  /** Resolves when no delivery is scheduled or running (deliveries may schedule more). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}

/** The in-process queue of this process (used when CONTINUATION_QUEUE_URL is unset). */
const inProcessContinuations = new InProcessContinuationQueue();
/** The batch function's own in-process queue: continuations never reach the other function. */
const inProcessBatchContinuations = new InProcessContinuationQueue();

export type { ContinuationQueue, InProcessOptions, SqsHandler };
export {
  InProcessContinuationQueue,
  inProcessBatchContinuations,
  inProcessContinuations,
  localContext,
  parseContinuationMessage,
  SqsContinuationQueue,
  sqsEventOf,
};

import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { describeValue, kindOf } from '../errors.ts';
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
  /**
   * Makes a received message visible again at once. For a message no retry can fix (not a valid
   * continuation): it then reaches the dead-letter queue after `maxReceiveCount` receives in
   * seconds, not after `maxReceiveCount` visibility timeouts (5 × 5,400 s = 7.5 h). Only queues
   * that receive messages they did not write (SQS) need it.
   */
  redeliverNow?(receiptHandle: string): Promise<void>;
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

  async redeliverNow(receiptHandle: string): Promise<void> {
    await this.sqs().send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: 0,
      })
    );
  }
}

/** What {@link readContinuationMessage} makes of an SQS message body. */
type ContinuationBody =
  | { readonly ok: true; readonly message: ContinuationMessage }
  | { readonly ok: false; readonly reason: string };

const CONTINUATION_TYPE = 'skewless.backfill.continue';
const CONTINUATION_REASONS: ReadonlySet<string> = new Set(['checkpoint', 'retry', 'watchdog']);

/**
 * Reads the body of a continuation message, or says which field is wrong and why. Most messages
 * are the function's own; an operator writes one by hand to resume a failed backfill
 * (docs/backfill.md), so a typo must come back as a reason, not vanish.
 *
 * @example
 * ```typescript
 * import { readContinuationMessage } from './shared/backfill/continuation.ts';
 * const read = readContinuationMessage({ body: '{"type":"skewless.backfill.continue"}' });
 * // { ok: false, reason: 'source: must be an object {bucket, key, etag, size}, not undefined' }
 * ```
 */
function readContinuationMessage(record: Pick<SQSRecord, 'body'>): ContinuationBody {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch (error) {
    return { ok: false, reason: `body is not JSON: ${(error as Error).message}` };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, reason: `body must be a JSON object, not ${kindOf(body)}` };
  }
  const m = body as Record<string, unknown>;
  if (m.type !== CONTINUATION_TYPE) {
    const s3Test =
      m.Event === 's3:TestEvent' ? ' (an S3 s3:TestEvent: this queue is no S3 destination)' : '';
    return {
      ok: false,
      reason: `type: must be "${CONTINUATION_TYPE}", not ${describeValue(m.type)}${s3Test}`,
    };
  }
  const problems: string[] = [];
  const s = m.source as Record<string, unknown> | null | undefined;
  if (s === null || typeof s !== 'object' || Array.isArray(s)) {
    problems.push(`source: must be an object {bucket, key, etag, size}, not ${kindOf(s)}`);
  } else {
    for (const field of ['bucket', 'key', 'etag'] as const) {
      if (typeof s[field] !== 'string' || s[field] === '')
        problems.push(
          `source.${field}: must be a non-empty string, not ${describeValue(s[field])}`
        );
    }
    if (typeof s.size !== 'number' || !Number.isSafeInteger(s.size) || s.size < 0)
      problems.push(`source.size: must be a byte count, not ${describeValue(s.size)}`);
    if (s.versionId !== undefined && s.versionId !== null && typeof s.versionId !== 'string')
      problems.push(
        `source.versionId: must be a string when present, not ${describeValue(s.versionId)}`
      );
  }
  if (typeof m.reason !== 'string' || !CONTINUATION_REASONS.has(m.reason))
    problems.push(
      `reason: must be one of ${[...CONTINUATION_REASONS].join(', ')}, not ${describeValue(m.reason)}`
    );
  if (typeof m.generation !== 'number' || !Number.isSafeInteger(m.generation))
    problems.push(`generation: must be an integer, not ${describeValue(m.generation)}`);
  if (m.resume !== undefined && typeof m.resume !== 'boolean')
    problems.push(`resume: must be true or false, not ${describeValue(m.resume)}`);
  if (problems.length > 0) return { ok: false, reason: problems.join('; ') };
  return { ok: true, message: m as unknown as ContinuationMessage };
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

export type { ContinuationBody, ContinuationQueue, InProcessOptions, SqsHandler };
export {
  InProcessContinuationQueue,
  inProcessBatchContinuations,
  inProcessContinuations,
  localContext,
  readContinuationMessage,
  SqsContinuationQueue,
  sqsEventOf,
};

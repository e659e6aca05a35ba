/**
 * Where dead letters go: an SQS queue on AWS, a JSONL file per day on the embedded default.
 * A sink reports, per letter, whether it was delivered; the caller turns an undelivered letter
 * into a retry of its Kinesis record, so a dead letter is never lost on the way to its queue.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import pLimit from 'p-limit';
import { type DeadLetter, serializeDeadLetter } from './deadLetter.ts';
import { DeadLetterDeliveryError } from './errors.ts';

/** A dead-letter destination. */
interface DeadLetterSink {
  /** Where letters go, for log lines (queue URL or directory). */
  readonly destination: string;
  /**
   * Deliver letters; the result has one entry per letter, in order: `undefined` when delivered,
   * else the error. Never throws.
   */
  deliver(letters: readonly DeadLetter[]): Promise<readonly (Error | undefined)[]>;
}

/** SQS limits: 10 entries per SendMessageBatch, 1 MiB per message and per batch. */
const SQS_MAX_BATCH_ENTRIES = 10;
const SQS_MAX_BATCH_BYTES = 1_048_576;

interface SqsSinkOptions {
  /** The client, or a function building it on first use (see lazyClient). */
  readonly client: SQSClient | (() => SQSClient);
  readonly queueUrl: string;
  /** The queue's MaximumMessageSize; letters larger than this are gzipped or truncated. */
  readonly maxMessageBytes?: number;
  /** SendMessageBatch calls in flight. */
  readonly concurrency?: number;
}

/**
 * Dead letters as SQS messages (the letter's JSON as body), sent with SendMessageBatch in
 * batches of up to 10 entries and 1 MiB. An entry SQS lists under `Failed`, or any entry of a
 * call that threw, is reported undelivered.
 *
 * @example
 * ```typescript
 * import { SQSClient } from '@aws-sdk/client-sqs';
 * import { SqsDeadLetterSink } from './deadLetterSinks.ts';
 *
 * const sink = new SqsDeadLetterSink({ client: new SQSClient({}), queueUrl: process.env.DEAD_LETTER_QUEUE_URL! });
 * ```
 */
class SqsDeadLetterSink implements DeadLetterSink {
  readonly destination: string;
  readonly #client: () => SQSClient;
  readonly #maxMessageBytes: number;
  readonly #limit: ReturnType<typeof pLimit>;

  constructor(options: SqsSinkOptions) {
    const { client } = options;
    this.#client = typeof client === 'function' ? client : () => client;
    this.destination = options.queueUrl;
    this.#maxMessageBytes = Math.min(
      options.maxMessageBytes ?? SQS_MAX_BATCH_BYTES,
      SQS_MAX_BATCH_BYTES
    );
    this.#limit = pLimit(options.concurrency ?? 8);
  }

  async deliver(letters: readonly DeadLetter[]): Promise<readonly (Error | undefined)[]> {
    const results: (Error | undefined)[] = letters.map(() => undefined);
    const batches: { index: number; body: string }[][] = [];
    let current: { index: number; body: string }[] = [];
    let currentBytes = 0;
    letters.forEach((letter, index) => {
      const body = serializeDeadLetter(letter, this.#maxMessageBytes);
      const bytes = Buffer.byteLength(body);
      if (
        current.length === SQS_MAX_BATCH_ENTRIES ||
        (current.length > 0 && currentBytes + bytes > SQS_MAX_BATCH_BYTES)
      ) {
        batches.push(current);
        current = [];
        currentBytes = 0;
      }
      current.push({ index, body });
      currentBytes += bytes;
    });
    if (current.length > 0) batches.push(current);
    await Promise.all(
      batches.map((batch) => this.#limit(() => this.#sendBatch(batch, letters, results)))
    );
    return results;
  }

  async #sendBatch(
    batch: readonly { index: number; body: string }[],
    letters: readonly DeadLetter[],
    results: (Error | undefined)[]
  ): Promise<void> {
    const entries: SendMessageBatchRequestEntry[] = batch.map(({ index, body }) => ({
      Id: String(index),
      MessageBody: body,
      MessageAttributes: messageAttributes(letters[index] as DeadLetter),
    }));
    try {
      const output = await this.#client().send(
        new SendMessageBatchCommand({ QueueUrl: this.destination, Entries: entries })
      );
      const delivered = new Set((output.Successful ?? []).map((s) => s.Id));
      const failed = new Map((output.Failed ?? []).map((f) => [f.Id, f]));
      for (const { index } of batch) {
        const failure = failed.get(String(index));
        if (failure !== undefined) {
          results[index] = new DeadLetterDeliveryError(
            `SQS refused the dead letter: ${failure.Code ?? 'unknown'}: ${failure.Message ?? ''}`
          );
        } else if (!delivered.has(String(index))) {
          results[index] = new DeadLetterDeliveryError('SQS did not acknowledge the dead letter');
        }
      }
    } catch (error) {
      for (const { index } of batch) {
        results[index] = new DeadLetterDeliveryError(
          `SendMessageBatch failed: ${(error as Error).name}: ${(error as Error).message}`,
          { cause: error }
        );
      }
    }
  }
}

/** Attributes for filtering in the console or a redrive tool without parsing the body. */
function messageAttributes(letter: DeadLetter): SendMessageBatchRequestEntry['MessageAttributes'] {
  return {
    stage: { DataType: 'String', StringValue: letter.stage },
    featureGroup: { DataType: 'String', StringValue: letter.featureGroup ?? '(none)' },
    shardId: { DataType: 'String', StringValue: letter.kinesis.shardId },
  };
}

interface FileSinkOptions {
  /** Directory of the `ingest-YYYY-MM-DD.jsonl` files; created on first use. */
  readonly dir: string;
  /** Clock for the file name (UTC date of dead-lettering). */
  readonly now?: () => Date;
}

/**
 * Dead letters as JSON lines in `<dir>/ingest-YYYY-MM-DD.jsonl` (UTC date), the embedded
 * default: inspect with `jq`, redrive with `skewless` or a script. Appends are serialised so
 * lines never interleave.
 *
 * @example
 * ```typescript
 * import { FileDeadLetterSink } from './deadLetterSinks.ts';
 *
 * const sink = new FileDeadLetterSink({ dir: '.skewless/dead-letters' });
 * ```
 */
class FileDeadLetterSink implements DeadLetterSink {
  readonly destination: string;
  readonly #now: () => Date;
  #tail: Promise<unknown> = Promise.resolve();
  #created = false;

  constructor(options: FileSinkOptions) {
    this.destination = options.dir;
    this.#now = options.now ?? (() => new Date());
  }

  /** The file a letter dead-lettered at `date` goes to. */
  fileFor(date: Date): string {
    return join(this.destination, `ingest-${date.toISOString().slice(0, 10)}.jsonl`);
  }

  deliver(letters: readonly DeadLetter[]): Promise<readonly (Error | undefined)[]> {
    const write = this.#tail.then(async () => {
      if (!this.#created) {
        await mkdir(this.destination, { recursive: true });
        this.#created = true;
      }
      const file = this.fileFor(this.#now());
      await appendFile(file, letters.map((l) => `${serializeDeadLetter(l, Infinity)}\n`).join(''));
    });
    this.#tail = write.catch(() => undefined);
    return write.then(
      () => letters.map(() => undefined),
      (error: unknown) => {
        const failure = new DeadLetterDeliveryError(
          `could not append to ${this.destination}: ${(error as Error).message}`,
          { cause: error }
        );
        return letters.map(() => failure);
      }
    );
  }
}

/**
 * Collects the letters of records rejected in the same turn of the event loop and delivers
 * them in one call, so a batch with many bad records costs a few SendMessageBatch calls, not
 * one SendMessage per record. `send` resolves once the letter is delivered and rejects with
 * {@link DeadLetterDeliveryError} otherwise.
 */
class DeadLetterBatcher {
  readonly sink: DeadLetterSink;
  #pending: { letter: DeadLetter; resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(sink: DeadLetterSink) {
    this.sink = sink;
  }

  send(letter: DeadLetter): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#pending.length === 0) setImmediate(() => void this.#flush());
      this.#pending.push({ letter, resolve, reject });
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    let results: readonly (Error | undefined)[];
    try {
      results = await this.sink.deliver(batch.map((p) => p.letter));
    } catch (error) {
      results = batch.map(() => error as Error);
    }
    batch.forEach((pending, i) => {
      const error =
        i < results.length ? results[i] : new DeadLetterDeliveryError('sink gave no result');
      if (error === undefined) pending.resolve();
      else
        pending.reject(
          error instanceof DeadLetterDeliveryError
            ? error
            : new DeadLetterDeliveryError(error.message, { cause: error })
        );
    });
  }
}

export type { DeadLetterSink, FileSinkOptions, SqsSinkOptions };
export { DeadLetterBatcher, FileDeadLetterSink, SqsDeadLetterSink };

import type { S3Event, S3EventRecord, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { SkewlessError } from '../errors.ts';
import { readContinuationMessage } from './continuation.ts';
import {
  type BackfillDependencies,
  type BackfillOutcome,
  continueBackfill,
  type InvocationBudget,
  metricNames,
  startBackfill,
} from './runBackfill.ts';
import type { SourceObject } from './types.ts';

/**
 * The backfill function's two triggers in one entry point: S3 `ObjectCreated` notifications
 * (a new file) and SQS continuation messages (a file resumed from its checkpoint).
 */

/** The source object of a notification record, with the key decoded as S3 encodes it. */
function sourceOfRecord(record: S3EventRecord): SourceObject {
  const { bucket, object } = record.s3;
  return {
    bucket: bucket.name,
    key: decodeURIComponent(object.key.replace(/\+/g, ' ')),
    ...(object.versionId !== undefined && object.versionId !== ''
      ? { versionId: object.versionId }
      : {}),
    etag: object.eTag.replace(/^"|"$/g, ''),
    size: object.size,
  };
}

function isSqsEvent(event: S3Event | SQSEvent): event is SQSEvent {
  return event.Records?.[0]?.eventSource === 'aws:sqs';
}

/** Result of an S3-triggered invocation: one outcome per record (Lambda ignores it; logs and tests read it). */
interface S3InvocationResult {
  readonly outcomes: readonly BackfillOutcome[];
}

/**
 * Runs the records of an S3 event one after the other. A record that fails does not stop the
 * others; the invocation then fails so Lambda retries it, which is safe because every record is
 * claimed per object version.
 */
async function handleS3Event(
  event: S3Event,
  budget: InvocationBudget,
  deps: BackfillDependencies
): Promise<S3InvocationResult> {
  const outcomes: BackfillOutcome[] = [];
  let firstError: unknown;
  for (const record of event.Records ?? []) {
    if (record.eventSource !== 'aws:s3' || !record.eventName?.startsWith('ObjectCreated')) {
      // ObjectRemoved included: a deleted drop leaves the rows it wrote in the offline store.
      const reason = `event ${record.eventSource} ${record.eventName} is not an S3 ObjectCreated`;
      deps.logger.info('S3 event record ignored', { reason, key: record.s3?.object?.key });
      outcomes.push({ kind: 'ignored', reason });
      continue;
    }
    if (record.s3.bucket.name === deps.config.reportsBucket) {
      // A notification on the reports bucket would make every state write a new "file": refuse.
      deps.logger.error(
        'ObjectCreated from the reports bucket ignored; notify only on the backfill bucket',
        {
          bucket: record.s3.bucket.name,
        }
      );
      outcomes.push({ kind: 'ignored', reason: 'event from the reports bucket' });
      continue;
    }
    try {
      outcomes.push(await startBackfill(deps, sourceOfRecord(record), budget));
    } catch (error) {
      deps.logger.error('backfill failed; the event will be retried', {
        key: record.s3.object.key,
        error: String(error),
      });
      firstError ??= error;
    }
  }
  if (firstError !== undefined) throw firstError;
  return { outcomes };
}

/** Characters of a malformed message body kept in its log line (continuations are ~300). */
const MAX_LOGGED_BODY_CHARS = 4096;

/**
 * Makes an invalid message visible again at once (see {@link handleSqsEvent}). Failing to do so
 * only delays its move to the dead-letter queue, so it is logged, not thrown.
 */
async function redeliverNow(deps: BackfillDependencies, record: SQSRecord): Promise<void> {
  if (deps.continuations.redeliverNow === undefined) return;
  try {
    await deps.continuations.redeliverNow(record.receiptHandle);
  } catch (error) {
    deps.logger.warn(
      'could not make the invalid message visible again; it reaches the dead-letter queue after the visibility timeouts instead',
      { messageId: record.messageId, error: String(error) }
    );
  }
}

/**
 * Runs continuation messages; a message whose invocation fails is reported in
 * `batchItemFailures` so SQS delivers it again. A message that is not a valid continuation is
 * logged with the field at fault and its body, and reported too: retrying cannot make it valid,
 * but after `maxReceiveCount` SQS moves it to the queue's dead-letter queue, where it can be
 * read, fixed and sent again (dropping it lost an operator's mistyped resume message). It is made
 * visible again at once, so it gets there in seconds rather than after five visibility timeouts.
 */
async function handleSqsEvent(
  event: SQSEvent,
  budget: InvocationBudget,
  deps: BackfillDependencies
): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const read = readContinuationMessage(record);
    if (!read.ok) {
      deps.logger.error(
        'not a valid backfill continuation message; reported, so SQS moves it to the dead-letter queue',
        {
          messageId: record.messageId,
          receiveCount: record.attributes?.ApproximateReceiveCount,
          reason: read.reason,
          body: record.body.slice(0, MAX_LOGGED_BODY_CHARS),
        }
      );
      await redeliverNow(deps, record);
      batchItemFailures.push({ itemIdentifier: record.messageId });
      continue;
    }
    const message = read.message;
    try {
      await continueBackfill(deps, message, budget);
    } catch (error) {
      deps.logger.error('continuation failed; the message will be delivered again', {
        messageId: record.messageId,
        source: message.source,
        error: String(error),
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}

/**
 * Counts the event records that named no file to read. Such an invocation adds no other metric:
 * without this count it would be invisible on the dashboard, and Powertools would log "No
 * application metrics to publish" for it (a folder created in the console under `backfill/`
 * passes the notification filter, and S3 sends a test event when the notification is set up).
 */
function countIgnored(deps: BackfillDependencies, result: S3InvocationResult): S3InvocationResult {
  const ignored = result.outcomes.filter((o) => o.kind === 'ignored').length;
  if (ignored > 0) deps.metrics.addMetric(metricNames(deps).EventsIgnored, 'Count', ignored);
  return result;
}

/**
 * Dispatches an invocation of the backfill function by its trigger.
 *
 * @example
 * ```typescript
 * import { handleBackfillEvent } from './shared/backfill/handleEvent.ts';
 * declare const deps: import('./shared/backfill/runBackfill.ts').BackfillDependencies;
 * declare const event: import('aws-lambda').S3Event;
 * await handleBackfillEvent(event, { requestId: 'r1', remainingMs: () => 900_000 }, deps);
 * ```
 */
async function handleBackfillEvent(
  event: S3Event | SQSEvent,
  budget: InvocationBudget,
  deps: BackfillDependencies
): Promise<S3InvocationResult | SQSBatchResponse> {
  if (isSqsEvent(event)) return handleSqsEvent(event, budget, deps);
  const shape = event as unknown as Record<string, unknown>;
  if (shape.Event === 's3:TestEvent') {
    // What S3 sends a destination when a notification is configured: nothing to backfill.
    deps.logger.info('s3:TestEvent ignored', { bucket: shape.Bucket });
    return countIgnored(deps, { outcomes: [{ kind: 'ignored', reason: 's3:TestEvent' }] });
  }
  if (!Array.isArray(event.Records)) throw new UnsupportedEventError(shape);
  return countIgnored(deps, await handleS3Event(event, budget, deps));
}

/**
 * The function was invoked with an event that is neither an S3 notification nor an SQS
 * message. Thrown, not ignored: an answer of success would lose the drop it was about without
 * a word (say S3 routed through EventBridge, whose `Object Created` events have no `Records`).
 */
class UnsupportedEventError extends SkewlessError {
  constructor(event: Record<string, unknown>) {
    const keys = Object.keys(event ?? {})
      .slice(0, 10)
      .join(', ');
    const eventBridge =
      event?.source === 'aws.s3' && typeof event['detail-type'] === 'string'
        ? ` (an EventBridge "${event['detail-type']}" event: configure an S3 event notification on the bucket instead)`
        : '';
    super(
      `the backfill function takes S3 event notifications (Records[].s3) and SQS continuation messages; got an event with keys {${keys}}${eventBridge}`
    );
    this.name = 'UnsupportedEventError';
  }
}

export type { S3InvocationResult };
export { handleBackfillEvent, sourceOfRecord, UnsupportedEventError };

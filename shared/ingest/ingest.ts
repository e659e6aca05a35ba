/**
 * Kinesis records to both stores: decode → route → validate → transform → write, each record
 * ending in exactly one of three states: written, dead-lettered (with its payload and reason),
 * or reported for a retry by sequence number. Nothing is dropped.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { SQSClient } from '@aws-sdk/client-sqs';
import type {
  KinesisStreamBatchResponse,
  KinesisStreamEvent,
  KinesisStreamRecord,
} from 'aws-lambda';
import pLimit, { type LimitFunction } from 'p-limit';
import { RecordValidationError } from '../errors.ts';
import type { EncodedRecord } from '../record/codec.ts';
import { epochNanosToMillis } from '../record/eventTime.ts';
import { registry as defaultRegistry, type SchemaRegistry } from '../registry.ts';
import { createFeatureStoreClient, keepAliveHandler } from '../runtime/clients.ts';
import type { LogSink } from '../runtime/powertools.ts';
import { classifyStoreError } from '../store/storeErrors.ts';
import { putEncodedRecord } from '../store/writer.ts';
import type { IngestConfig } from './config.ts';
import { buildDeadLetter } from './deadLetter.ts';
import {
  DeadLetterBatcher,
  type DeadLetterSink,
  FileDeadLetterSink,
  SqsDeadLetterSink,
} from './deadLetterSinks.ts';
import {
  IngestStage,
  NotAttemptedError,
  type Rejection,
  RetryableIngestError,
  rejection,
} from './errors.ts';
import { type KinesisSource, kinesisSourceOf } from './kinesisRecord.ts';
import { IngestMetric, IngestStats, type MetricsSink } from './metrics.ts';
import { parseIngestPayload } from './payload.ts';
import { jitteredBackoff } from './retry.ts';
import { type IngestTransform, identityTransform } from './transform.ts';

/** Everything the pipeline uses, built once per container. */
interface IngestRuntime {
  readonly config: IngestConfig;
  readonly registry: SchemaRegistry;
  readonly client: SageMakerFeatureStoreRuntimeClient;
  readonly deadLetters: DeadLetterBatcher;
  /**
   * Bounds the records in progress (and so the PutRecord calls in flight) across every
   * invocation of this container.
   */
  readonly limit: LimitFunction;
  readonly transform: IngestTransform;
  readonly logger: LogSink;
  readonly metrics: MetricsSink;
  /** Epoch ms clock for the ingestion lag. */
  readonly now: () => number;
}

/** Parts of the runtime a caller may supply (tests, the local runner, a later transform). */
type IngestRuntimeOverrides = Partial<Omit<IngestRuntime, 'config' | 'deadLetters'>> & {
  readonly deadLetterSink?: DeadLetterSink;
  readonly sqsClient?: SQSClient;
};

/**
 * Build the runtime from a configuration: the keep-alive Feature Store client sized to the
 * concurrency, the dead-letter sink (SQS or JSONL files), the limiter and the identity transform.
 *
 * @example
 * ```typescript
 * import { logger, metrics } from '../runtime/powertools.ts';
 * import { createIngestRuntime, readIngestConfig } from './index.ts';
 *
 * const runtime = createIngestRuntime(readIngestConfig(), { logger, metrics });
 * ```
 */
function createIngestRuntime(
  config: IngestConfig,
  overrides: IngestRuntimeOverrides & Pick<IngestRuntime, 'logger' | 'metrics'>
): IngestRuntime {
  const client =
    overrides.client ??
    createFeatureStoreClient(
      { maxSockets: config.concurrency, maxAttempts: config.maxAttempts },
      config.retryBaseDelayMs === undefined
        ? {}
        : {
            retryStrategy: jitteredBackoff({
              maxAttempts: config.maxAttempts,
              baseDelayMs: config.retryBaseDelayMs,
            }),
          }
    );
  const sink = overrides.deadLetterSink ?? createDeadLetterSink(config, overrides.sqsClient);
  return {
    config,
    registry: overrides.registry ?? defaultRegistry,
    client,
    deadLetters: new DeadLetterBatcher(sink),
    limit: overrides.limit ?? pLimit(config.concurrency),
    transform: overrides.transform ?? identityTransform,
    logger: overrides.logger,
    metrics: overrides.metrics,
    now: overrides.now ?? Date.now,
  };
}

/** The sink the configuration names: SQS (with a keep-alive client) or JSONL files. */
function createDeadLetterSink(config: IngestConfig, sqsClient?: SQSClient): DeadLetterSink {
  if (config.deadLetter.kind === 'file')
    return new FileDeadLetterSink({ dir: config.deadLetter.dir });
  return new SqsDeadLetterSink({
    client: sqsClient ?? new SQSClient({ requestHandler: keepAliveHandler({ maxSockets: 16 }) }),
    queueUrl: config.deadLetter.queueUrl,
    maxMessageBytes: config.deadLetter.maxMessageBytes,
  });
}

interface IngestOptions {
  /**
   * Milliseconds left in the invocation (`context.getRemainingTimeInMillis()`). When given, no
   * write starts and in-flight writes are aborted `deadlineMarginMs` before it, and those
   * records are reported for a retry.
   */
  readonly remainingTimeMs?: number;
}

/** Per-invocation state shared by the records of one batch. */
interface Invocation {
  readonly stats: IngestStats;
  /**
   * With a deadline, one controller per PutRecord in flight, all aborted when it passes. Per
   * request rather than one shared signal: the SDK adds listeners to the signal of every
   * request, and they would pile up on a signal shared by every request in flight.
   */
  readonly inFlight: Set<AbortController> | undefined;
  /** `performance.now()` after which no write starts. */
  readonly deadlineAt: number;
  /**
   * Per shard, the lowest sequence number reported for a retry so far. Lambda redelivers every
   * record from there on, so a record after it is reported too instead of being written now:
   * a throttled store is not sent writes that will be repeated anyway.
   */
  readonly replayFrom: Map<string, bigint>;
}

/**
 * Ingest one Kinesis event and return the partial batch response Lambda expects
 * (`ReportBatchItemFailures`). Records are processed in parallel (Powertools `BatchProcessor`);
 * PutRecord calls are bounded by the runtime's limiter.
 *
 * - Written records and dead-lettered records succeed.
 * - A retryable failure (throttling or 5xx after the SDK's retries, network, dead-letter
 *   delivery, deadline) is listed in `batchItemFailures`; Lambda retries from the lowest one.
 * - `throwOnFullBatchFailure` is off: when every record fails the response lists them all,
 *   exactly as for a partial failure, instead of a function error (which would bisect a
 *   throttled batch and multiply calls against a store that is already throttling).
 *
 * This is the entry point of the local runner as well as of the Lambda handler.
 *
 * @example
 * ```typescript
 * import { logger, metrics } from '../runtime/powertools.ts';
 * import { createIngestRuntime, ingestKinesisEvent, readIngestConfig } from './index.ts';
 *
 * const runtime = createIngestRuntime(readIngestConfig(), { logger, metrics });
 * const { batchItemFailures } = await ingestKinesisEvent(event, runtime);
 * ```
 */
async function ingestKinesisEvent(
  event: KinesisStreamEvent,
  runtime: IngestRuntime,
  options: IngestOptions = {}
): Promise<KinesisStreamBatchResponse> {
  const started = performance.now();
  const budgetMs =
    options.remainingTimeMs === undefined
      ? undefined
      : Math.max(0, Math.floor(options.remainingTimeMs - runtime.config.deadlineMarginMs));
  const invocation: Invocation = {
    stats: new IngestStats(),
    inFlight: budgetMs === undefined ? undefined : new Set(),
    deadlineAt: budgetMs === undefined ? Number.POSITIVE_INFINITY : started + budgetMs,
    replayFrom: new Map(),
  };
  const deadlineTimer =
    budgetMs === undefined
      ? undefined
      : setTimeout(() => {
          for (const controller of invocation.inFlight ?? []) controller.abort();
        }, budgetMs);
  // One processor per invocation: its state is per batch, and the local runner may run
  // invocations of several shards concurrently in one process.
  const processor = new BatchProcessor(EventType.KinesisDataStreams);
  let response: KinesisStreamBatchResponse;
  try {
    response = (await processPartialResponse(
      event,
      (record: KinesisStreamRecord) => ingestRecord(record, runtime, invocation),
      processor,
      { throwOnFullBatchFailure: false }
    )) as KinesisStreamBatchResponse;
  } finally {
    clearTimeout(deadlineTimer);
  }
  invocation.stats.publish(runtime.metrics);
  runtime.metrics.addMetric(IngestMetric.BatchSize, MetricUnit.Count, event.Records.length);
  runtime.logger.info('Kinesis batch ingested', {
    batchSize: event.Records.length,
    ...invocation.stats.totals(),
    byGroup: invocation.stats.byGroup(),
    durationMs: Math.round(performance.now() - started),
  });
  return response;
}

/**
 * One record through the pipeline, in one slot of the runtime's limiter (so decoding happens
 * just in time and a record after a failed one is skipped before any work). Resolves when the
 * record is written or dead-lettered; throws {@link RetryableIngestError} (or
 * DeadLetterDeliveryError) when it must be retried.
 */
function ingestRecord(
  record: KinesisStreamRecord,
  runtime: IngestRuntime,
  invocation: Invocation
): Promise<void> {
  // Everything per record is built inside the slot: a record waiting for one holds no state.
  return runtime.limit(async () => {
    const source = kinesisSourceOf(record);
    const keys: Record<string, string> = {
      shardId: source.shardId,
      sequenceNumber: source.sequenceNumber,
    };
    const log = withKeys(runtime.logger, keys);
    try {
      await processRecord(record, source, runtime, invocation, keys, log);
    } catch (error) {
      // Marked before the slot is released: the limiter starts the next record right away.
      markForReplay(invocation, source);
      invocation.stats.retried(keys.featureGroup);
      if (error instanceof NotAttemptedError) {
        log.debug('record reported for retry', { reason: error.message });
      } else log.warn('record reported for retry', { error: describeError(error) });
      throw error;
    }
  });
}

async function processRecord(
  record: KinesisStreamRecord,
  source: KinesisSource,
  runtime: IngestRuntime,
  invocation: Invocation,
  keys: Record<string, string>,
  log: LogSink
): Promise<void> {
  if (performance.now() >= invocation.deadlineAt) {
    throw new NotAttemptedError('invocation deadline reached before the record started');
  }
  assertNotReplayed(invocation, source);
  const parsed = parseIngestPayload(record.kinesis.data, {
    registry: runtime.registry,
    defaultFeatureGroup: runtime.config.defaultFeatureGroup,
  });
  if (!parsed.ok) {
    if (parsed.rejection.featureGroup !== undefined)
      keys.featureGroup = parsed.rejection.featureGroup;
    return deadLetter(record, source, parsed.rejection, runtime, invocation, log);
  }
  const { routed, encoded } = parsed.value;
  keys.featureGroup = routed.group.name;
  let outputs: readonly EncodedRecord[];
  try {
    outputs = await runtime.transform({
      group: routed.group,
      input: routed.input,
      encoded,
      source,
    });
  } catch (error) {
    if (!(error instanceof RecordValidationError)) {
      const message = `transform failed: ${describeError(error)}`;
      throw new RetryableIngestError(message, routed.group.name, { cause: error });
    }
    const rejected = rejection(
      IngestStage.Transform,
      'the transform rejected the record',
      error.problems,
      { featureGroup: error.featureGroup, recordIdentifier: encoded.recordIdentifier }
    );
    return deadLetter(record, source, rejected, runtime, invocation, log);
  }
  const outcomes = await Promise.all(outputs.map((output) => write(output, runtime, invocation)));
  const refused = outcomes.filter((o) => o !== undefined);
  if (refused.length > 0) {
    const rejected = rejection(
      IngestStage.Store,
      `the store rejected the record: ${refused.map(describeError).join('; ')}`,
      [],
      { featureGroup: routed.group.name, recordIdentifier: encoded.recordIdentifier }
    );
    return deadLetter(record, source, rejected, runtime, invocation, log);
  }
  log.debug('record written', {
    recordIdentifier: encoded.recordIdentifier,
    outputs: outputs.length,
  });
}

/**
 * PutRecord of one output record. Resolves undefined when written, the error when the store
 * rejected the record itself; throws {@link RetryableIngestError} otherwise.
 */
async function write(
  output: EncodedRecord,
  runtime: IngestRuntime,
  invocation: Invocation
): Promise<unknown> {
  const started = performance.now();
  const controller = invocation.inFlight === undefined ? undefined : new AbortController();
  if (controller !== undefined) invocation.inFlight?.add(controller);
  try {
    await putEncodedRecord(runtime.client, output, { abortSignal: controller?.signal });
  } catch (error) {
    if (classifyStoreError(error) === 'rejected') return error;
    const message = `PutRecord failed: ${describeError(error)}`;
    throw new RetryableIngestError(message, output.featureGroup, { cause: error });
  } finally {
    if (controller !== undefined) invocation.inFlight?.delete(controller);
  }
  const latencyMs = performance.now() - started;
  const lagMs = runtime.now() - epochNanosToMillis(output.eventTimeEpochNanos);
  invocation.stats.written(output.featureGroup, latencyMs, lagMs);
  return undefined;
}

async function deadLetter(
  record: KinesisStreamRecord,
  source: KinesisSource,
  rejected: Rejection,
  runtime: IngestRuntime,
  invocation: Invocation,
  log: LogSink
): Promise<void> {
  const letter = buildDeadLetter(record.kinesis.data, source, rejected, new Date(runtime.now()));
  await runtime.deadLetters.send(letter);
  invocation.stats.deadLettered(rejected.featureGroup);
  log.warn('record dead-lettered', {
    stage: rejected.stage,
    reason: rejected.reason,
    deadLetterDestination: runtime.deadLetters.sink.destination,
  });
}

/** Kinesis sequence numbers are decimal strings (`0|([1-9]\d{0,128})`); others are not compared. */
function sequenceOf(source: KinesisSource): bigint | undefined {
  return /^\d{1,129}$/.test(source.sequenceNumber) ? BigInt(source.sequenceNumber) : undefined;
}

function markForReplay(invocation: Invocation, source: KinesisSource): void {
  const sequence = sequenceOf(source);
  if (sequence === undefined) return;
  const current = invocation.replayFrom.get(source.shardId);
  if (current === undefined || sequence < current) {
    invocation.replayFrom.set(source.shardId, sequence);
  }
}

/** @throws NotAttemptedError when Lambda will redeliver this record anyway */
function assertNotReplayed(invocation: Invocation, source: KinesisSource): void {
  const from = invocation.replayFrom.get(source.shardId);
  const sequence = sequenceOf(source);
  if (from !== undefined && sequence !== undefined && sequence > from) {
    throw new NotAttemptedError(
      `not processed: an earlier record of ${source.shardId} (sequence number ${from}) failed and Lambda replays from it`
    );
  }
}

/** A log sink that adds the record's keys (shard, sequence number, group) to every line. */
function withKeys(logger: LogSink, keys: Readonly<Record<string, string>>): LogSink {
  const bind =
    (level: keyof LogSink) =>
    (message: string, extra: Record<string, unknown> = {}): void => {
      logger[level](message, { ...keys, ...extra });
    };
  return {
    debug: bind('debug'),
    info: bind('info'),
    warn: bind('warn'),
    error: bind('error'),
  } as LogSink;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

export type { IngestOptions, IngestRuntime, IngestRuntimeOverrides };
export { createDeadLetterSink, createIngestRuntime, ingestKinesisEvent, ingestRecord };

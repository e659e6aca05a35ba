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
import { describeError, RecordValidationError } from '../errors.ts';
import type { EncodedRecord } from '../record/codec.ts';
import {
  DEFAULT_MAX_EVENT_TIME_SKEW_SECONDS,
  type EventTimeBound,
  epochNanosToMillis,
} from '../record/eventTime.ts';
import { registry as defaultRegistry, type SchemaRegistry } from '../registry.ts';
import {
  baseClientConfig,
  createFeatureStoreClient,
  keepAliveHandler,
  lazyClient,
} from '../runtime/clients.ts';
import type { LogSink } from '../runtime/powertools.ts';
import { type BatchWriteOutcome, BatchWriteQueue } from '../store/batchWriter.ts';
import type { IngestConfig } from './config.ts';
import { buildDeadLetter, deadLetteredLogFields } from './deadLetter.ts';
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
import {
  type KinesisSource,
  kinesisSourceOf,
  type RepeatedRecord,
  repeatedRecords,
} from './kinesisRecord.ts';
import { IngestMetric, IngestStats, type MetricsSink } from './metrics.ts';
import { type ParsedPayload, parseIngestPayload, type RoutedPayload } from './payload.ts';
import { type IngestTransform, identityTransform } from './transform.ts';
import { WrittenAhead } from './writtenAhead.ts';

/** Everything the pipeline uses, built once per container. */
interface IngestRuntime {
  readonly config: IngestConfig;
  readonly registry: SchemaRegistry;
  readonly client: SageMakerFeatureStoreRuntimeClient;
  readonly deadLetters: DeadLetterBatcher;
  /**
   * Bounds the BatchWriteRecord calls in flight across every invocation of this container
   * (`INGEST_CONCURRENCY`).
   */
  readonly limit: LimitFunction;
  /**
   * Records this container wrote after a record reported for a retry (Lambda redelivers them):
   * a redelivery that brings the same record with the same outputs is not written twice.
   */
  readonly writtenAhead: WrittenAhead;
  readonly transform: IngestTransform;
  readonly logger: LogSink;
  readonly metrics: MetricsSink;
  /** Epoch ms clock for the ingestion lag. */
  readonly now: () => number;
}

/** Parts of the runtime a caller may supply (tests, the local runner, a later transform). */
type IngestRuntimeOverrides = Partial<
  Omit<IngestRuntime, 'config' | 'deadLetters' | 'writtenAhead'>
> & {
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
    createFeatureStoreClient({
      maxSockets: config.concurrency,
      maxAttempts: config.maxAttempts,
      retryBaseDelayMs: config.retryBaseDelayMs,
    });
  const sink = overrides.deadLetterSink ?? createDeadLetterSink(config, overrides.sqsClient);
  return {
    config,
    registry: overrides.registry ?? defaultRegistry,
    client,
    deadLetters: new DeadLetterBatcher(sink),
    limit: overrides.limit ?? pLimit(config.concurrency),
    writtenAhead: new WrittenAhead(),
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
    // Built on the first dead letter: most invocations never send one.
    client:
      sqsClient ??
      lazyClient(
        () =>
          new SQSClient({
            ...baseClientConfig(),
            requestHandler: keepAliveHandler({ maxSockets: 16 }),
          })
      ),
    queueUrl: config.deadLetter.queueUrl,
    maxMessageBytes: config.deadLetter.maxMessageBytes,
  });
}

interface IngestOptions {
  /**
   * Milliseconds left in the invocation (`context.getRemainingTimeInMillis()`). When given, no
   * record starts and in-flight writes are aborted `deadlineMarginMs` before it, and those
   * records are reported for a retry.
   */
  readonly remainingTimeMs?: number;
  /**
   * The clock reading (epoch ms) the invocation judges far-future event times against; default
   * `runtime.now()` at its start. Frozen per invocation so that every step (the derived plan and
   * the pipeline) takes the same verdict on a record near the bound.
   */
  readonly clockAt?: number;
  /**
   * Records already decoded and validated by the caller against the same `clockAt`, by sequence
   * number (the derived step parses every record of the batch to plan it): not parsed twice.
   */
  readonly parsed?: ReadonlyMap<string, ParsedPayload>;
}

/** Per-invocation state shared by the records of one batch. */
interface Invocation {
  readonly stats: IngestStats;
  /** `MAX_EVENT_TIME_SKEW_SECONDS` against the invocation's frozen clock. */
  readonly eventTimeBound: EventTimeBound;
  readonly parsed: ReadonlyMap<string, ParsedPayload> | undefined;
  /** Records repeating the sequence number of an earlier record of the batch. */
  readonly repeats: ReadonlyMap<KinesisStreamRecord, RepeatedRecord>;
  /** Coalesces the records' writes into BatchWriteRecord calls. */
  readonly writes: BatchWriteQueue;
  /** `performance.now()` after which no record starts. */
  readonly deadlineAt: number;
  /**
   * Records that are done (written, or dead-lettered) by sequence number, with what was done:
   * the candidates for {@link WrittenAhead} once the reported set is known.
   */
  readonly done: Map<string, { shardId: string; key: () => string }>;
  /**
   * The last record of the batch so far per (group, identifier, event time), as a promise of
   * whether it is done (written or dead-lettered). See {@link sameInstantTurn}.
   */
  readonly sameInstant: Map<string, Promise<boolean>>;
}

/**
 * What one invocation of the pipeline leaves for the caller: the partial batch response and the
 * records it completed (so a caller that adds failures of its own, like the derived step, can
 * still record which completed records Lambda will redeliver).
 */
interface IngestBatchResult {
  readonly response: KinesisStreamBatchResponse;
  readonly done: Invocation['done'];
}

/**
 * Ingest one Kinesis event and return the partial batch response Lambda expects
 * (`ReportBatchItemFailures`). Records are decoded, validated and transformed in parallel
 * (Powertools `BatchProcessor`); their writes are coalesced into BatchWriteRecord calls of ≤ 25
 * entries, bounded by the runtime's limiter (see shared/store/batchWriter.ts).
 *
 * - Written records and dead-lettered records succeed.
 * - A record the store rejected (an `Errors` item with ValidationError) is dead-lettered with the
 *   store's message.
 * - A retryable failure (throttling, 5xx, UnprocessedEntries or a failed call, after the SDK's
 *   retry strategy; network; dead-letter delivery; deadline) is listed in `batchItemFailures`;
 *   Lambda retries from the lowest one.
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
  const { response, done } = await ingestBatch(event, runtime, options);
  runtime.writtenAhead.remember(event.Records, response, done);
  return response;
}

/**
 * {@link ingestKinesisEvent} without the final bookkeeping: the caller must pass the response it
 * finally returns to `runtime.writtenAhead.remember(event.Records, response, result.done)`.
 */
async function ingestBatch(
  event: KinesisStreamEvent,
  runtime: IngestRuntime,
  options: IngestOptions = {}
): Promise<IngestBatchResult> {
  const started = performance.now();
  const budgetMs =
    options.remainingTimeMs === undefined
      ? undefined
      : Math.max(0, Math.floor(options.remainingTimeMs - runtime.config.deadlineMarginMs));
  const deadline = budgetMs === undefined ? undefined : new AbortController();
  const invocation: Invocation = {
    stats: new IngestStats(),
    writes: new BatchWriteQueue(runtime.client, {
      limit: runtime.limit,
      abortSignal: deadline?.signal,
    }),
    deadlineAt: budgetMs === undefined ? Number.POSITIVE_INFINITY : started + budgetMs,
    done: new Map(),
    eventTimeBound: eventTimeBoundOf(runtime, options.clockAt ?? runtime.now()),
    parsed: options.parsed,
    repeats: repeatedRecords(event.Records),
    sameInstant: new Map(),
  };
  const deadlineTimer =
    budgetMs === undefined ? undefined : setTimeout(() => deadline?.abort(), budgetMs);
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
  return { response, done: invocation.done };
}

/**
 * One record through the pipeline. Resolves when the record is written or dead-lettered; throws
 * {@link RetryableIngestError} (or DeadLetterDeliveryError) when it must be retried.
 */
async function ingestRecord(
  record: KinesisStreamRecord,
  runtime: IngestRuntime,
  invocation: Invocation
): Promise<void> {
  const source = kinesisSourceOf(record);
  const keys: Record<string, string> = {
    shardId: source.shardId,
    sequenceNumber: source.sequenceNumber,
  };
  const log = withKeys(runtime.logger, keys);
  try {
    await processRecord(record, source, runtime, invocation, keys, log);
  } catch (error) {
    invocation.stats.retried(keys.featureGroup);
    if (error instanceof NotAttemptedError) {
      log.debug('record reported for retry', { reason: error.message });
    } else log.warn('record reported for retry', { error: describeError(error) });
    throw error;
  }
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
  const repeated = invocation.repeats.get(record);
  if (repeated !== undefined)
    return setAsideRepeat(record, source, repeated, runtime, invocation, log);
  const deadLetterKey = () => WrittenAhead.keyOfDeadLetter(record.kinesis.data);
  if (runtime.writtenAhead.has(source, deadLetterKey)) {
    // Dead-lettered by an earlier delivery of this very record, after a record that failed.
    invocation.done.set(source.sequenceNumber, { shardId: source.shardId, key: deadLetterKey });
    log.debug('record already dead-lettered by an earlier delivery; not sent again');
    return;
  }
  const parsed =
    invocation.parsed?.get(source.sequenceNumber) ??
    parseIngestPayload(record.kinesis.data, {
      registry: runtime.registry,
      defaultFeatureGroup: runtime.config.defaultFeatureGroup,
      eventTimeBound: invocation.eventTimeBound,
    });
  if (!parsed.ok) {
    if (parsed.rejection.featureGroup !== undefined)
      keys.featureGroup = parsed.rejection.featureGroup;
    return deadLetter(record, source, parsed.rejection, runtime, invocation, log);
  }
  const { routed, encoded } = parsed.value;
  keys.featureGroup = routed.group.name;
  // Taken before the first await, so turns follow the stream order (the processor starts every
  // record's handler in order).
  const turn = sameInstantTurn(invocation, encoded);
  try {
    await writeInTurn(record, source, routed, encoded, runtime, invocation, log, turn.previous);
    turn.settle(true);
  } finally {
    turn.settle(false);
  }
}

/**
 * The place of a record in the batch among records of the same identifier and event time. Their
 * writes are concurrent BatchWriteRecord entries, and at an equal event time the store keeps the
 * last write it receives (online, and offline by `api_invocation_time`): an update that comes
 * later in the stream (a streaming job re-emitting a window's aggregates) could be overwritten by
 * the earlier one whose call was slower or whose entry was throttled and re-sent. So a record
 * waits for the previous one with its identifier and event time to be done; if that one is
 * reported for a retry, so is this one (Lambda redelivers both, in order, and this one was not
 * written ahead of it). Records at different event times need no order: the store keeps the
 * latest event time whatever the arrival order.
 */
function sameInstantTurn(
  invocation: Invocation,
  encoded: EncodedRecord
): { previous: Promise<boolean> | undefined; settle: (done: boolean) => void } {
  const key = `${encoded.featureGroup}\u0000${encoded.recordIdentifier}\u0000${encoded.eventTimeEpochNanos}`;
  const previous = invocation.sameInstant.get(key);
  let settle: (done: boolean) => void = () => {};
  invocation.sameInstant.set(
    key,
    new Promise<boolean>((resolve) => {
      settle = resolve;
    })
  );
  return { previous, settle };
}

async function writeInTurn(
  record: KinesisStreamRecord,
  source: KinesisSource,
  routed: RoutedPayload,
  encoded: EncodedRecord,
  runtime: IngestRuntime,
  invocation: Invocation,
  log: LogSink,
  previous: Promise<boolean> | undefined
): Promise<void> {
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
  if (previous !== undefined && !(await previous)) {
    throw new NotAttemptedError(
      `an earlier record of the batch for ${encoded.featureGroup}/${encoded.recordIdentifier} at the same event time is reported for retry; this one is written after it`
    );
  }
  const outputsKey = () => WrittenAhead.keyOfOutputs(outputs);
  if (runtime.writtenAhead.has(source, outputsKey)) {
    // Written by an earlier delivery of this very record, after a record that failed.
    invocation.done.set(source.sequenceNumber, { shardId: source.shardId, key: outputsKey });
    invocation.stats.written(routed.group.name, 0, runtime.now() - millisOf(encoded));
    log.debug('record already written by an earlier delivery; not written again');
    return;
  }
  const started = performance.now();
  const outcomes = await Promise.all(
    outputs.map((output) => invocation.writes.write({ ref: source.sequenceNumber, record: output }))
  );
  const refused = outcomes.filter((o) => o.status === 'rejected');
  if (refused.length > 0) {
    const rejected = rejection(
      IngestStage.Store,
      `the store rejected the record: ${refused.map(describeOutcome).join('; ')}`,
      [],
      { featureGroup: routed.group.name, recordIdentifier: encoded.recordIdentifier }
    );
    return deadLetter(record, source, rejected, runtime, invocation, log);
  }
  const failed = outcomes.find((o) => o.status === 'retry');
  if (failed !== undefined) {
    throw new RetryableIngestError(
      `BatchWriteRecord did not write ${failed.record.featureGroup}/${failed.record.recordIdentifier}: ${describeOutcome(failed)}`,
      routed.group.name
    );
  }
  const latencyMs = performance.now() - started;
  for (const output of outputs) {
    invocation.stats.written(output.featureGroup, latencyMs, runtime.now() - millisOf(output));
  }
  invocation.done.set(source.sequenceNumber, { shardId: source.shardId, key: outputsKey });
  log.debug('record written', {
    recordIdentifier: encoded.recordIdentifier,
    outputs: outputs.length,
  });
}

/**
 * The far-future bound of an invocation: `MAX_EVENT_TIME_SKEW_SECONDS` of the configuration
 * against a clock frozen at `clockAt` (epoch ms).
 */
function eventTimeBoundOf(runtime: Pick<IngestRuntime, 'config'>, clockAt: number): EventTimeBound {
  return {
    maxSkewSeconds: runtime.config.maxEventTimeSkewSeconds ?? DEFAULT_MAX_EVENT_TIME_SKEW_SECONDS,
    now: () => clockAt,
  };
}

function millisOf(record: EncodedRecord): number {
  return epochNanosToMillis(record.eventTimeEpochNanos);
}

function describeOutcome(outcome: BatchWriteOutcome<unknown>): string {
  return outcome.status === 'written' ? 'written' : `${outcome.code}: ${outcome.message}`;
}

async function deadLetter(
  record: KinesisStreamRecord,
  source: KinesisSource,
  rejected: Rejection,
  runtime: IngestRuntime,
  invocation: Invocation,
  log: LogSink
): Promise<void> {
  const data = record.kinesis.data;
  const key = () => WrittenAhead.keyOfDeadLetter(data);
  const letter = buildDeadLetter(data, source, rejected, new Date(runtime.now()));
  await runtime.deadLetters.send(letter);
  invocation.stats.deadLettered(rejected.featureGroup);
  invocation.done.set(source.sequenceNumber, { shardId: source.shardId, key });
  log.warn(
    'record dead-lettered',
    deadLetteredLogFields(letter, runtime.deadLetters.sink.destination)
  );
}

/**
 * A record repeating the sequence number of an earlier record of its batch (see
 * {@link repeatedRecords}): with the same data it is that record, which the pipeline handles;
 * with other data it is dead-lettered, since the partial batch response and the derived plan
 * know a record only by its sequence number. It is not remembered in `invocation.done` (that
 * entry is the first record's).
 */
async function setAsideRepeat(
  record: KinesisStreamRecord,
  source: KinesisSource,
  repeated: RepeatedRecord,
  runtime: IngestRuntime,
  invocation: Invocation,
  log: LogSink
): Promise<void> {
  if (repeated.sameData) {
    log.warn('record delivered twice in one batch; handled once', {
      firstIndex: repeated.firstIndex,
    });
    return;
  }
  const rejected = rejection(
    IngestStage.Batch,
    `the record repeats the sequence number ${source.sequenceNumber} of record ${repeated.firstIndex} of the batch with other data`,
    [],
    {}
  );
  const letter = buildDeadLetter(record.kinesis.data, source, rejected, new Date(runtime.now()));
  await runtime.deadLetters.send(letter);
  invocation.stats.deadLettered(undefined);
  log.warn(
    'record dead-lettered',
    deadLetteredLogFields(letter, runtime.deadLetters.sink.destination)
  );
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

export type { IngestBatchResult, IngestOptions, IngestRuntime, IngestRuntimeOverrides };
export { createIngestRuntime, eventTimeBoundOf, ingestBatch, ingestKinesisEvent };

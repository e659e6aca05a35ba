// calendar-fixed: mocked store; the fixed event times are past instants, compared with the clock only by the skew bound (not ahead of it), which a past instant always meets; nothing here applies a TTL.
/**
 * The pipeline with the store and SQS mocked (aws-sdk-client-mock): failure classification,
 * dead-letter delivery and its failure path, deadline, transform and metrics. The product is
 * proven against the embedded store in ingest.integration.test.ts; these tests inject faults
 * the store cannot produce on demand.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  AccessForbidden,
  BatchWriteRecordCommand,
  type BatchWriteRecordCommandInput,
  type BatchWriteRecordEntry,
  InternalFailure,
  ResourceNotFound,
  SageMakerFeatureStoreRuntimeClient,
  ServiceUnavailable,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { cards } from '../../shared/definitions.ts';
import { RecordValidationError } from '../../shared/errors.ts';
import type { IngestConfig } from '../../shared/ingest/config.ts';
import type { DeadLetter } from '../../shared/ingest/deadLetter.ts';
import type { DeadLetterSink } from '../../shared/ingest/deadLetterSinks.ts';
import {
  createIngestRuntime,
  type IngestRuntimeOverrides,
  ingestKinesisEvent,
} from '../../shared/ingest/ingest.ts';
import type { MetricsSink } from '../../shared/ingest/metrics.ts';
import { toRecord } from '../../shared/record/codec.ts';
import { featureStoreRetryStrategy } from '../../shared/runtime/clients.ts';
import type { LogSink } from '../../shared/runtime/powertools.ts';
import { jsonRecord, kinesisEvent, kinesisRecord, transaction } from '../helpers/kinesisEvents.ts';

const featureStore = mockClient(SageMakerFeatureStoreRuntimeClient);
const sqs = mockClient(SQSClient);

const silent: LogSink = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
} as never;
const noMetrics: MetricsSink = {
  addMetric: () => {},
  addDimension: () => noMetrics,
  addDimensions: () => noMetrics,
  publishStoredMetrics: () => noMetrics,
} as never;

function config(overrides: Partial<IngestConfig> = {}): IngestConfig {
  return {
    defaultFeatureGroup: 'fraud-transactions',
    concurrency: 8,
    maxAttempts: 1,
    retryBaseDelayMs: undefined,
    deadlineMarginMs: 1000,
    deadLetter: {
      kind: 'sqs',
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/dlq',
      maxMessageBytes: 1_048_576,
    },
    ...overrides,
  };
}

/** Collects letters in memory. */
class MemorySink implements DeadLetterSink {
  readonly destination = 'memory';
  readonly letters: DeadLetter[] = [];
  async deliver(letters: readonly DeadLetter[]) {
    this.letters.push(...letters);
    return letters.map(() => undefined);
  }
}

function runtimeWith(overrides: Partial<IngestRuntimeOverrides> = {}, cfg = config()) {
  return createIngestRuntime(cfg, {
    // One attempt: every injected store answer reaches the pipeline as is.
    client: new SageMakerFeatureStoreRuntimeClient({
      retryStrategy: featureStoreRetryStrategy({ maxAttempts: 1 }),
    }),
    sqsClient: new SQSClient({}),
    logger: silent,
    metrics: noMetrics,
    ...overrides,
  });
}

/** What the mocked store answers for one entry, decided from its values. */
type EntryAnswer = 'ok' | 'unprocessed' | { readonly code: string; readonly message?: string };

/** BatchWriteRecord answered entry by entry (`Errors` items, `UnprocessedEntries`). */
function answerEntries(decide: (values: string[]) => EntryAnswer): void {
  featureStore.on(BatchWriteRecordCommand).callsFake((input: BatchWriteRecordCommandInput) => {
    const Errors: { Entry: BatchWriteRecordEntry; ErrorCode: string; ErrorMessage: string }[] = [];
    const UnprocessedEntries: BatchWriteRecordEntry[] = [];
    for (const entry of input.Entries ?? []) {
      const answer = decide((entry.Record ?? []).map((v) => v.ValueAsString ?? ''));
      if (answer === 'unprocessed') UnprocessedEntries.push(entry);
      else if (answer !== 'ok')
        Errors.push({ Entry: entry, ErrorCode: answer.code, ErrorMessage: answer.message ?? '' });
    }
    return { Errors, UnprocessedEntries };
  });
}

/** Answers ThrottlingException to the first entry holding `id`, and every other entry 'ok'. */
function throttleFirstWriteOf(id: string): void {
  let throttled = false;
  answerEntries((values) => {
    if (values.includes(id) && !throttled) {
      throttled = true;
      return { code: 'ThrottlingException', message: 'slow down' };
    }
    return 'ok';
  });
}

/** Every entry sent in BatchWriteRecord calls so far. */
function sentEntries(): BatchWriteRecordEntry[] {
  return featureStore
    .commandCalls(BatchWriteRecordCommand)
    .flatMap((c) => c.args[0].input.Entries ?? []);
}

function sentIds(): string[] {
  return sentEntries().map(
    (e) => e.Record?.find((v) => v.FeatureName === 'transaction_id')?.ValueAsString ?? ''
  );
}

function serviceError(name: string, status: number): Error {
  return Object.assign(new Error(`${name} from the store`), {
    name,
    $metadata: { httpStatusCode: status },
  });
}

describe('Function: ingestKinesisEvent()', () => {
  beforeEach(() => {
    featureStore.reset();
    sqs.reset();
    answerEntries(() => 'ok');
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
      Successful: input.Entries.map((e) => ({
        Id: e.Id,
        MessageId: `m-${e.Id}`,
        MD5OfMessageBody: 'x',
      })),
      Failed: [],
    }));
  });

  it('writes every valid record to both stores with the normalised event time', async () => {
    // Prepare
    const event = kinesisEvent([
      jsonRecord(transaction('t1', { event_time: '2026-11-26T10:00:00+01:00' })),
      jsonRecord({
        featureGroup: 'fraud-cards',
        record: { card_id: 'c1', event_time: 1767225600 },
      }),
    ]);
    // Act
    const response = await ingestKinesisEvent(event, runtimeWith());
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(featureStore.commandCalls(BatchWriteRecordCommand)).toHaveLength(1);
    const calls = sentEntries();
    expect(calls).toHaveLength(2);
    expect(calls.find((c) => c.FeatureGroupName === 'fraud-transactions')?.Record).toContainEqual({
      FeatureName: 'event_time',
      ValueAsString: '2026-11-26T09:00:00.000Z',
    });
    expect(calls.find((c) => c.FeatureGroupName === 'fraud-cards')?.TargetStores).toBeUndefined();
  });

  it.each([
    ['ThrottlingException'],
    ['InternalFailure'],
    ['ServiceUnavailable'],
    ['AccessForbidden'],
    ['ResourceNotFound'],
  ])(
    'reports the record for a retry on a %s entry error and dead-letters nothing',
    async (code) => {
      // Prepare
      const sink = new MemorySink();
      const failing = jsonRecord(transaction('bad'));
      const event = kinesisEvent([
        jsonRecord(transaction('a')),
        failing,
        jsonRecord(transaction('b')),
      ]);
      answerEntries((values) => (values.includes('bad') ? { code, message: 'per entry' } : 'ok'));
      // Act
      const response = await ingestKinesisEvent(event, runtimeWith({ deadLetterSink: sink }));
      // Assess: one call of three entries; the failed entry is not re-sent (1 attempt configured).
      expect(response.batchItemFailures).toEqual([
        { itemIdentifier: failing.kinesis.sequenceNumber },
      ]);
      expect(sink.letters).toEqual([]);
      expect(featureStore.commandCalls(BatchWriteRecordCommand)).toHaveLength(1);
      expect(sentIds()).toEqual(['a', 'bad', 'b']);
    }
  );

  it('with 3 attempts, sends an entry the store refused (AccessForbidden) once and still reports its record for a retry, dead-lettering nothing', async () => {
    // Prepare: a role without sagemaker:BatchWriteRecord on the record's group.
    const sink = new MemorySink();
    const failing = jsonRecord(transaction('denied'));
    const records = [jsonRecord(transaction('a')), failing];
    answerEntries((values) =>
      values.includes('denied') ? { code: 'AccessForbidden', message: 'not authorized' } : 'ok'
    );
    const client = new SageMakerFeatureStoreRuntimeClient({
      retryStrategy: featureStoreRetryStrategy({ maxAttempts: 3, retryBaseDelayMs: 1 }),
    });
    // Act
    const response = await ingestKinesisEvent(
      kinesisEvent(records),
      runtimeWith({ deadLetterSink: sink, client }, config({ maxAttempts: 3 }))
    );
    // Assess: a re-send would get the same answer; the stream stalls (and alarms) on the record.
    expect(featureStore.commandCalls(BatchWriteRecordCommand)).toHaveLength(1);
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: failing.kinesis.sequenceNumber },
    ]);
    expect(sink.letters).toEqual([]);
  });

  it('reports an entry listed in UnprocessedEntries for a retry', async () => {
    const sink = new MemorySink();
    const records = ['a', 'skipped', 'b'].map((id) => jsonRecord(transaction(id)));
    answerEntries((values) => (values.includes('skipped') ? 'unprocessed' : 'ok'));
    const response = await ingestKinesisEvent(
      kinesisEvent(records),
      runtimeWith({ deadLetterSink: sink })
    );
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: records[1]?.kinesis.sequenceNumber },
    ]);
    expect(sink.letters).toEqual([]);
  });

  it.each([
    ['ThrottlingException (429)', serviceError('ThrottlingException', 429)],
    [
      'ServiceUnavailable (503)',
      new ServiceUnavailable({ message: 'busy', $metadata: { httpStatusCode: 503 } }),
    ],
    [
      'InternalFailure (500)',
      new InternalFailure({ message: 'oops', $metadata: { httpStatusCode: 500 } }),
    ],
    ['a reset connection', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['AccessForbidden (configuration)', new AccessForbidden({ message: 'denied', $metadata: {} })],
    [
      'ResourceNotFound (configuration)',
      new ResourceNotFound({ message: 'no group', $metadata: {} }),
    ],
  ])('reports every record of a call that failed whole with %s', async (_case, error) => {
    // Prepare
    const sink = new MemorySink();
    const records = ['a', 'b', 'c'].map((id) => jsonRecord(transaction(id)));
    featureStore.on(BatchWriteRecordCommand).rejects(error);
    // Act
    const response = await ingestKinesisEvent(
      kinesisEvent(records),
      runtimeWith({ deadLetterSink: sink })
    );
    // Assess
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      records.map((r) => r.kinesis.sequenceNumber)
    );
    expect(sink.letters).toEqual([]);
  });

  it.each([
    ['ValidationError', 'feature amount is not Fractional'],
    ['ConflictException', 'conflict'],
  ])(
    'dead-letters a record the store rejects with %s, writes the others',
    async (code, message) => {
      // Prepare
      const sink = new MemorySink();
      answerEntries((values) => (values.includes('t1') ? { code, message } : 'ok'));
      const record = jsonRecord(transaction('t1'));
      const other = jsonRecord(transaction('t2'));
      // Act
      const response = await ingestKinesisEvent(
        kinesisEvent([record, other]),
        runtimeWith({ deadLetterSink: sink })
      );
      // Assess
      expect(response.batchItemFailures).toEqual([]);
      expect(sink.letters).toHaveLength(1);
      expect(sink.letters[0]).toMatchObject({
        stage: 'store',
        featureGroup: 'fraud-transactions',
        recordIdentifier: 't1',
        reason: `the store rejected the record: ${code}: ${message}`,
        payload: { data: record.kinesis.data, encoding: 'base64', truncated: false },
      });
    }
  );

  it('groups a batch into BatchWriteRecord calls of at most 25 entries', async () => {
    const records = Array.from({ length: 60 }, (_, i) => jsonRecord(transaction(`t${i}`)));
    const response = await ingestKinesisEvent(kinesisEvent(records), runtimeWith());
    expect(response.batchItemFailures).toEqual([]);
    const sizes = featureStore
      .commandCalls(BatchWriteRecordCommand)
      .map((c) => c.args[0].input.Entries?.length);
    expect(sizes).toEqual([25, 25, 10]);
    expect(sentIds()).toEqual(records.map((_, i) => `t${i}`));
  });

  it('sends dead letters in SendMessageBatch calls of at most 10 with payload, reason and source', async () => {
    // Prepare: 25 bad records between two good ones, all in progress at once.
    const bad = Array.from({ length: 25 }, (_, i) =>
      jsonRecord({ featureGroup: 'nope', record: { i } }, { partitionKey: `p${i}` })
    );
    const event = kinesisEvent([
      jsonRecord(transaction('a')),
      ...bad,
      jsonRecord(transaction('b')),
    ]);
    // Act
    const response = await ingestKinesisEvent(event, runtimeWith({}, config({ concurrency: 32 })));
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const sends = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    expect(sends.map((s) => s.Entries?.length)).toEqual([10, 10, 5]);
    const first = JSON.parse(sends[0]?.Entries?.[0]?.MessageBody ?? '{}') as DeadLetter;
    expect(first).toMatchObject({
      stage: 'route',
      reason: expect.stringContaining('unknown feature group: (envelope).featureGroup="nope"'),
      featureGroup: null,
      kinesis: {
        shardId: 'shardId-000000000000',
        sequenceNumber: bad[0]?.kinesis.sequenceNumber,
        partitionKey: 'p0',
        eventSourceArn: bad[0]?.eventSourceARN,
      },
      payload: { encoding: 'base64', data: bad[0]?.kinesis.data },
    });
    expect(sends[0]?.Entries?.[0]?.MessageAttributes?.stage?.StringValue).toBe('route');
    expect(sentIds()).toEqual(['a', 'b']);
  });

  it('reports a bad record for a retry when the dead-letter queue cannot be reached', async () => {
    // Prepare
    sqs
      .on(SendMessageBatchCommand)
      .rejects(Object.assign(new Error('queue unreachable'), { name: 'TimeoutError' }));
    const bad = kinesisRecord('***');
    const event = kinesisEvent([jsonRecord(transaction('a')), bad, jsonRecord(transaction('b'))]);
    // Act
    const response = await ingestKinesisEvent(event, runtimeWith());
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: bad.kinesis.sequenceNumber }]);
    expect(sentIds()).toEqual(['a', 'b']);
  });

  it('reports only the entries SQS lists as Failed', async () => {
    // Prepare
    const bad = [kinesisRecord('***'), kinesisRecord('%%%%'), kinesisRecord('&&&&')];
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
      Successful: input.Entries.filter((_, i) => i !== 1).map((e) => ({
        Id: e.Id,
        MessageId: 'm',
        MD5OfMessageBody: 'x',
      })),
      Failed: [
        {
          Id: input.Entries[1]?.Id,
          SenderFault: false,
          Code: 'InternalError',
          Message: 'try again',
        },
      ],
    }));
    // Act
    const response = await ingestKinesisEvent(kinesisEvent(bad), runtimeWith());
    // Assess
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: bad[1]?.kinesis.sequenceNumber },
    ]);
  });

  it('lists every record instead of throwing when the whole batch fails (throwOnFullBatchFailure off)', async () => {
    // Prepare
    featureStore.on(BatchWriteRecordCommand).rejects(serviceError('ThrottlingException', 429));
    const records = [jsonRecord(transaction('a')), jsonRecord(transaction('b'))];
    // Act
    const response = await ingestKinesisEvent(kinesisEvent(records), runtimeWith());
    // Assess
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      records.map((r) => r.kinesis.sequenceNumber)
    );
  });

  it('starts no write after the deadline and reports those records for a retry', async () => {
    // Prepare: less time left than the margin.
    const records = [jsonRecord(transaction('a')), jsonRecord(transaction('b'))];
    // Act
    const response = await ingestKinesisEvent(kinesisEvent(records), runtimeWith(), {
      remainingTimeMs: 500,
    });
    // Assess
    expect(response.batchItemFailures).toHaveLength(2);
    expect(featureStore.commandCalls(BatchWriteRecordCommand)).toHaveLength(0);
  });

  it('a redelivery from the first reported record does not write the records after it again', async () => {
    // Prepare: r1 is throttled the first time only.
    const records = ['r0', 'r1', 'r2', 'r3'].map((id) => jsonRecord(transaction(id)));
    throttleFirstWriteOf('r1');
    const runtime = runtimeWith();
    // Act: the first delivery, then Lambda's redelivery from the reported sequence number.
    const first = await ingestKinesisEvent(kinesisEvent(records), runtime);
    const from = records.findIndex(
      (r) => r.kinesis.sequenceNumber === first.batchItemFailures[0]?.itemIdentifier
    );
    const second = await ingestKinesisEvent(kinesisEvent(records.slice(from)), runtime);
    // Assess: only r1 was reported; r2 and r3 were written once, r1 twice (the failed attempt).
    expect(first.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      records[1]?.kinesis.sequenceNumber,
    ]);
    expect(second.batchItemFailures).toEqual([]);
    expect(sentIds()).toEqual(['r0', 'r1', 'r2', 'r3', 'r1']);
  });

  it('keeps what an earlier delivery wrote across a redelivery that completed nothing', async () => {
    // Prepare: r1 is throttled the first time; at the second delivery every record's transform
    // fails (as when the derived step cannot read its state), so that delivery completes nothing.
    const records = ['r0', 'r1', 'r2', 'r3'].map((id) => jsonRecord(transaction(id)));
    throttleFirstWriteOf('r1');
    let failing = false;
    const transform = vi.fn(({ encoded }) => {
      if (failing) throw new Error('state unavailable');
      return [encoded];
    });
    const runtime = runtimeWith({ transform });
    const redeliverFrom = (response: { batchItemFailures: { itemIdentifier: string }[] }) =>
      records.slice(
        records.findIndex(
          (r) => r.kinesis.sequenceNumber === response.batchItemFailures[0]?.itemIdentifier
        )
      );
    // Act: three deliveries, each from the lowest reported record of the one before.
    const first = await ingestKinesisEvent(kinesisEvent(records), runtime);
    failing = true;
    const second = await ingestKinesisEvent(kinesisEvent(redeliverFrom(first)), runtime);
    failing = false;
    const third = await ingestKinesisEvent(kinesisEvent(redeliverFrom(second)), runtime);
    // Assess: the second delivery reported r1 to r3 and wrote nothing; the third wrote r1 only.
    expect(second.batchItemFailures).toHaveLength(3);
    expect(third.batchItemFailures).toEqual([]);
    expect(sentIds()).toEqual(['r0', 'r1', 'r2', 'r3', 'r1']);
  });

  it('writes a redelivered record again when its outputs changed since the first delivery', async () => {
    const records = ['r0', 'r1', 'r2'].map((id) => jsonRecord(transaction(id)));
    let calls = 0;
    answerEntries((values) =>
      values.includes('r0') && calls++ === 0 ? { code: 'ThrottlingException' } : 'ok'
    );
    let version = 0;
    const transform = vi.fn(({ encoded }) => [
      {
        ...encoded,
        record: [...encoded.record, { FeatureName: 'currency', ValueAsString: `v${version}` }],
      },
    ]);
    const runtime = runtimeWith({ transform });
    await ingestKinesisEvent(kinesisEvent(records), runtime);
    version = 1;
    await ingestKinesisEvent(kinesisEvent(records), runtime);
    expect(sentIds()).toEqual(['r0', 'r1', 'r2', 'r0', 'r1', 'r2']);
  });

  it('aborts writes still in flight at the deadline and reports their records', async () => {
    // Prepare: a store that never answers, and 50 ms left before the margin.
    const signals: AbortSignal[] = [];
    const hanging = {
      send: (_command: unknown, options: { abortSignal?: AbortSignal }) =>
        new Promise((_resolve, reject) => {
          const signal = options.abortSignal as AbortSignal;
          signals.push(signal);
          signal.addEventListener('abort', () =>
            reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))
          );
        }),
    } as unknown as SageMakerFeatureStoreRuntimeClient;
    const records = [jsonRecord(transaction('a')), jsonRecord(transaction('b'))];
    // Act
    const response = await ingestKinesisEvent(
      kinesisEvent(records),
      runtimeWith({ client: hanging }),
      {
        remainingTimeMs: 1_050,
      }
    );
    // Assess
    expect(response.batchItemFailures).toHaveLength(2);
    expect(signals).toHaveLength(1);
    expect(signals.every((s) => s.aborted)).toBe(true);
  });

  it('accepts a fractional remaining time (a caller that subtracts its own elapsed time)', async () => {
    // Act
    const response = await ingestKinesisEvent(
      kinesisEvent([jsonRecord(transaction('a'))]),
      runtimeWith(),
      { remainingTimeMs: 27_947.17 }
    );
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(featureStore.commandCalls(BatchWriteRecordCommand)).toHaveLength(1);
  });

  it('never has more BatchWriteRecord calls in flight than the concurrency', async () => {
    // Prepare
    let inFlight = 0;
    let peak = 0;
    featureStore.on(BatchWriteRecordCommand).callsFake(async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      return { Errors: [], UnprocessedEntries: [] };
    });
    const records = Array.from({ length: 300 }, (_, i) => jsonRecord(transaction(`t${i}`)));
    // Act
    const response = await ingestKinesisEvent(
      kinesisEvent(records),
      runtimeWith({}, config({ concurrency: 4 }))
    );
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(peak).toBe(4);
  });

  it('writes what the transform returns, dead-letters its RecordValidationError and retries its other errors', async () => {
    // Prepare
    const sink = new MemorySink();
    const transform = vi.fn(({ encoded, input }) => {
      if (input.transaction_id === 'reject') {
        throw new RecordValidationError('fraud-transactions', [
          { feature: 'card_txn_count_60s', value: -1, reason: 'negative count' },
        ]);
      }
      if (input.transaction_id === 'flaky') throw new Error('state store unavailable');
      return [
        encoded,
        toRecord(cards, { card_id: String(input.card_id), event_time: '2026-11-26T00:00:00Z' }),
      ];
    });
    const records = ['ok', 'reject', 'flaky'].map((id) => jsonRecord(transaction(id)));
    const flaky = records[2] as (typeof records)[number];
    const event = kinesisEvent(records);
    // Act
    const response = await ingestKinesisEvent(
      event,
      runtimeWith({ deadLetterSink: sink, transform })
    );
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: flaky.kinesis.sequenceNumber }]);
    expect(sink.letters.map((l) => [l.stage, l.reason])).toEqual([
      ['transform', 'the transform rejected the record: card_txn_count_60s=-1: negative count'],
    ]);
    const groups = sentEntries().map((e) => e.FeatureGroupName);
    expect(groups.sort()).toEqual(['fraud-cards', 'fraud-transactions']);
  });

  it('publishes per-group EMF metrics under [service] and [service, featureGroup]', async () => {
    // Prepare: a real Metrics instance, enabled, its console captured.
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const metrics = new Metrics({ namespace: 'Skewless', serviceName: 'skewless' });
    vi.unstubAllEnvs();
    const lines: string[] = [];
    vi.spyOn((metrics as unknown as { console: Console }).console, 'log').mockImplementation(
      (line: string) => {
        lines.push(line);
      }
    );
    answerEntries((values) => (values.includes('slow') ? { code: 'ThrottlingException' } : 'ok'));
    const event = kinesisEvent([
      jsonRecord(transaction('a')),
      jsonRecord(transaction('slow')),
      kinesisRecord('***'),
      jsonRecord({
        featureGroup: 'fraud-cards',
        record: { card_id: 'c1', event_time: Date.now() / 1000 },
      }),
    ]);
    // Act
    await ingestKinesisEvent(event, runtimeWith({ metrics, deadLetterSink: new MemorySink() }));
    metrics.publishStoredMetrics();
    // Assess
    const emf = lines.map(
      (l) =>
        JSON.parse(l) as Record<string, unknown> & {
          _aws: { CloudWatchMetrics: { Dimensions: string[][] }[] };
        }
    );
    const byGroup = Object.fromEntries(
      emf.filter((e) => 'featureGroup' in e).map((e) => [e.featureGroup, e])
    );
    expect(byGroup['fraud-transactions']).toMatchObject({
      service: 'skewless',
      RecordsWritten: 1,
      RecordsRetried: 1,
      RecordsDeadLettered: 0,
    });
    expect(byGroup['fraud-cards']).toMatchObject({ RecordsWritten: 1 });
    expect(byGroup['(none)']).toMatchObject({ RecordsDeadLettered: 1, RecordsWritten: 0 });
    expect(byGroup['fraud-transactions']?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([
      ['service', 'featureGroup'],
      ['service'],
    ]);
    expect(typeof byGroup['fraud-cards']?.IngestionLag).toBe('number');
    expect(typeof byGroup['fraud-cards']?.StoreWriteLatency).toBe('number');
    expect(emf.at(-1)).toMatchObject({ BatchSize: 4 });
  });
});

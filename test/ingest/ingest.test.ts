// calendar-fixed: mocked store and injected clock; past event times are never compared with a TTL.
/**
 * The pipeline with the store and SQS mocked (aws-sdk-client-mock): failure classification,
 * dead-letter delivery and its failure path, deadline, transform and metrics. The product is
 * proven against the embedded store in ingest.integration.test.ts; these tests inject faults
 * the store cannot produce on demand.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  AccessForbidden,
  ConflictException,
  InternalFailure,
  PutRecordCommand,
  ResourceNotFound,
  SageMakerFeatureStoreRuntimeClient,
  ServiceUnavailable,
  ValidationError,
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
    client: new SageMakerFeatureStoreRuntimeClient({}),
    sqsClient: new SQSClient({}),
    logger: silent,
    metrics: noMetrics,
    ...overrides,
  });
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
    featureStore.on(PutRecordCommand).resolves({});
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
    const calls = featureStore.commandCalls(PutRecordCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(2);
    expect(calls.find((c) => c.FeatureGroupName === 'fraud-transactions')?.Record).toContainEqual({
      FeatureName: 'event_time',
      ValueAsString: '2026-11-26T09:00:00.000Z',
    });
    expect(calls.find((c) => c.FeatureGroupName === 'fraud-cards')?.TargetStores).toBeUndefined();
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
  ])('reports the record for a retry on %s and dead-letters nothing', async (_case, error) => {
    // Prepare
    const sink = new MemorySink();
    const failing = jsonRecord(transaction('bad'));
    const event = kinesisEvent([
      jsonRecord(transaction('a')),
      failing,
      jsonRecord(transaction('b')),
    ]);
    featureStore.callsFake(
      (input: { Record: { FeatureName: string; ValueAsString: string }[] }) => {
        if (input.Record.some((f) => f.ValueAsString === 'bad')) throw error;
        return {};
      }
    );
    // Act
    const response = await ingestKinesisEvent(event, runtimeWith({ deadLetterSink: sink }));
    // Assess
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: failing.kinesis.sequenceNumber },
    ]);
    expect(sink.letters).toEqual([]);
    expect(featureStore.commandCalls(PutRecordCommand)).toHaveLength(3);
  });

  it.each([
    [
      'ValidationError',
      new ValidationError({ message: 'feature amount is not Fractional', $metadata: {} }),
    ],
    ['ConflictException', new ConflictException({ message: 'conflict', $metadata: {} })],
  ])('dead-letters a record the store rejects with %s', async (name, error) => {
    // Prepare
    const sink = new MemorySink();
    featureStore.on(PutRecordCommand).rejects(error);
    const record = jsonRecord(transaction('t1'));
    // Act
    const response = await ingestKinesisEvent(
      kinesisEvent([record]),
      runtimeWith({ deadLetterSink: sink })
    );
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sink.letters).toHaveLength(1);
    expect(sink.letters[0]).toMatchObject({
      stage: 'store',
      featureGroup: 'fraud-transactions',
      recordIdentifier: 't1',
      reason: `the store rejected the record: ${name}: ${error.message}`,
      payload: { data: record.kinesis.data, encoding: 'base64', truncated: false },
    });
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
    expect(featureStore.commandCalls(PutRecordCommand)).toHaveLength(2);
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
    expect(featureStore.commandCalls(PutRecordCommand)).toHaveLength(2);
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
    featureStore.on(PutRecordCommand).rejects(serviceError('ThrottlingException', 429));
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
    expect(featureStore.commandCalls(PutRecordCommand)).toHaveLength(0);
  });

  it('reports records after a failed one without writing them, since Lambda replays from it', async () => {
    // Prepare: one write at a time, the second record fails.
    const records = ['r0', 'r1', 'r2', 'r3'].map((id) => jsonRecord(transaction(id)));
    featureStore
      .on(PutRecordCommand)
      .callsFake((input: { Record: { ValueAsString: string }[] }) => {
        if (input.Record.some((f) => f.ValueAsString === 'r1'))
          throw serviceError('ThrottlingException', 429);
        return {};
      });
    // Act
    const response = await ingestKinesisEvent(
      kinesisEvent(records),
      runtimeWith({}, config({ concurrency: 1 }))
    );
    // Assess
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      records.slice(1).map((r) => r.kinesis.sequenceNumber)
    );
    expect(featureStore.commandCalls(PutRecordCommand)).toHaveLength(2);
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
    expect(signals).toHaveLength(2);
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
    expect(featureStore.commandCalls(PutRecordCommand)).toHaveLength(1);
  });

  it('never has more PutRecord calls in flight than the concurrency', async () => {
    // Prepare
    let inFlight = 0;
    let peak = 0;
    featureStore.on(PutRecordCommand).callsFake(async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      return {};
    });
    const records = Array.from({ length: 60 }, (_, i) => jsonRecord(transaction(`t${i}`)));
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
    const groups = featureStore
      .commandCalls(PutRecordCommand)
      .map((c) => c.args[0].input.FeatureGroupName);
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
    featureStore
      .on(PutRecordCommand)
      .callsFake((input: { Record: { ValueAsString: string }[] }) => {
        if (input.Record.some((f) => f.ValueAsString === 'slow'))
          throw serviceError('ThrottlingException', 429);
        return {};
      });
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
    expect(typeof byGroup['fraud-cards']?.PutRecordLatency).toBe('number');
    expect(emf.at(-1)).toMatchObject({ BatchSize: 4 });
  });
});

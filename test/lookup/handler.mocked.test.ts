// calendar-fixed: mocked store responses passed through; no answer here depends on the handler's one clock comparison (a feature set's maxAge): its vectors cases are refused with a 500.
/**
 * The lookup handler against a mocked Feature Store client (aws-sdk-client-mock): the failures
 * the embedded store cannot produce (an unexpected error, a record that breaks the schema, a
 * group missing from the store), the exact store requests, and the EMF metrics it emits.
 */
import {
  BatchGetRecordCommand,
  GetRecordCommand,
  ResourceNotFound,
  SageMakerFeatureStoreRuntimeClient,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  batchGetEvent,
  getRecordEvent,
  lambdaContext,
  vectorsEvent,
} from '../helpers/apiGatewayEvents.ts';

type Handler = (event: APIGatewayProxyEvent, context: unknown) => Promise<APIGatewayProxyResult>;

const store = mockClient(SageMakerFeatureStoreRuntimeClient);
let handler: Handler;
let stdout: string[] = [];
let stderr: string[] = [];

beforeAll(async () => {
  // Metrics on for this file: the EMF lines are captured from stdout below.
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  ({ handler } = (await import('../../functions/lookup/index.ts')) as unknown as {
    handler: Handler;
  });
});

beforeEach(() => {
  store.reset();
  stdout = [];
  stderr = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

function emf(): Record<string, unknown>[] {
  return stdout
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line));
}

/** How long the mocked store takes to answer in the latency test. */
const STORE_ANSWERS_AFTER_MS = 40;

describe('Function: handler (mocked store)', () => {
  it('asks the store for the feature subset plus the event time, with expiration', async () => {
    // Prepare
    store.on(GetRecordCommand).resolves({
      Record: [
        { FeatureName: 'txn_count_7d', ValueAsString: '3' },
        { FeatureName: 'event_time', ValueAsString: '2026-01-01T00:00:00Z' },
      ],
      ExpiresAt: '2026-04-01T00:00:00Z',
    });
    // Act
    const result = await handler(
      getRecordEvent('fraud-cards', 'c/1', { features: 'txn_count_7d', expiration: 'true' }),
      lambdaContext()
    );
    // Assess
    expect(store.commandCalls(GetRecordCommand)[0]?.args[0].input).toEqual({
      FeatureGroupName: 'fraud-cards',
      RecordIdentifierValueAsString: 'c/1',
      FeatureNames: ['txn_count_7d', 'event_time'],
      ExpirationTimeResponse: 'Enabled',
    });
    expect(JSON.parse(result.body)).toEqual({
      featureGroup: 'fraud-cards',
      recordId: 'c/1',
      eventTime: '2026-01-01T00:00:00.000Z',
      features: { txn_count_7d: 3 },
      expiresAt: '2026-04-01T00:00:00Z',
    });
  });

  it.each([['an unexpected error', new Error('socket pool corrupted at 0xdeadbeef')]])(
    'answers 500 with only the request id for %s',
    async (_, error) => {
      // Prepare
      store.on(GetRecordCommand).rejects(error);
      const event = getRecordEvent('fraud-cards', 'c1');
      // Act
      const result = await handler(event, lambdaContext());
      // Assess
      expect(result.statusCode).toBe(500);
      expect(JSON.parse(result.body)).toEqual({
        statusCode: 500,
        error: 'InternalServerError',
        message: 'Internal server error',
        requestId: event.requestContext.requestId,
      });
      expect(result.body).not.toContain(error.message);
      expect(result.headers?.['x-request-id']).toBe(event.requestContext.requestId);
    }
  );

  it('answers 500 naming the group, and nothing of the store’s text, for a group missing in the store', async () => {
    // Prepare
    const error = new ResourceNotFound({
      message: 'FeatureGroup fraud-cards not found in account 123456789012',
      $metadata: {},
    });
    store.on(GetRecordCommand).rejects(error);
    const event = getRecordEvent('fraud-cards', 'c1');
    // Act
    const result = await handler(event, lambdaContext());
    // Assess
    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body)).toEqual({
      statusCode: 500,
      error: 'InternalServerError',
      message:
        'Feature group "fraud-cards" is defined but not available in the feature store (not created, not ready yet, or deleted)',
      requestId: event.requestContext.requestId,
    });
    expect(result.body).not.toContain('123456789012');
  });

  it('answers 500 when the store returns a feature the schema module does not define', async () => {
    // Prepare
    store.on(GetRecordCommand).resolves({
      Record: [
        { FeatureName: 'card_id', ValueAsString: 'c1' },
        { FeatureName: 'event_time', ValueAsString: '2026-01-01T00:00:00Z' },
        { FeatureName: 'secret_feature', ValueAsString: 'x' },
      ],
    });
    // Act
    const result = await handler(getRecordEvent('fraud-cards', 'c1'), lambdaContext());
    // Assess
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain('secret_feature');
  });

  it('answers 429 when the SDK reports ThrottlingException', async () => {
    // Prepare
    store.on(BatchGetRecordCommand).rejects(
      Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 429 },
      })
    );
    // Act
    const result = await handler(
      batchGetEvent({ identifiers: [{ featureGroup: 'fraud-cards', recordIds: ['a'] }] }),
      lambdaContext()
    );
    // Assess
    expect(result.statusCode).toBe(429);
  });

  it('emits LookupLatency, StoreLatency and the outcome count, overall and per route (EMF)', async () => {
    // Prepare: a store that takes 40 ms to answer, so its latency is one a metric must show.
    store.on(GetRecordCommand).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, STORE_ANSWERS_AFTER_MS));
      return {};
    });
    // Act
    const result = await handler(getRecordEvent('fraud-cards', 'absent'), lambdaContext());
    // Assess
    expect(result.statusCode).toBe(404);
    const lines = emf();
    expect(lines).toHaveLength(1);
    const [line] = lines;
    const aws = line?._aws as {
      CloudWatchMetrics: {
        Namespace: string;
        Dimensions: string[][];
        Metrics: { Name: string; Unit: string }[];
      }[];
    };
    const directive = aws.CloudWatchMetrics[0];
    expect(directive?.Namespace).toBe('Skewless');
    expect(directive?.Dimensions).toEqual([['service'], ['service', 'route']]);
    expect(directive?.Metrics).toEqual([
      { Name: 'StoreLatency', Unit: 'Milliseconds' },
      { Name: 'LookupLatency', Unit: 'Milliseconds' },
      { Name: 'LookupNotFound', Unit: 'Count' },
    ]);
    expect(line).toMatchObject({ service: 'skewless', route: 'getRecord', LookupNotFound: 1 });
    // Timers do not fire early (1 ms for the rounding of the timer's start).
    expect(line?.StoreLatency).toBeGreaterThanOrEqual(STORE_ANSWERS_AFTER_MS - 1);
    expect(line?.LookupLatency).toBeGreaterThanOrEqual(line?.StoreLatency as number);
    // No Powertools warning (e.g. colliding dimension sets) on the hot path.
    expect(stderr).toEqual([]);
  });
});

/** A BatchGetRecord answer: `found` ids of fraud-cards read, the others answered with `code`. */
function cardsAnswer(found: readonly string[], errors: readonly string[], code: string) {
  return {
    Records: found.map((id) => ({
      FeatureGroupName: 'fraud-cards',
      RecordIdentifierValueAsString: id,
      Record: [
        { FeatureName: 'card_id', ValueAsString: id },
        { FeatureName: 'event_time', ValueAsString: '2026-01-01T00:00:00Z' },
      ],
    })),
    Errors: errors.map((id) => ({
      FeatureGroupName: 'fraud-cards',
      RecordIdentifierValueAsString: id,
      ErrorCode: code,
      ErrorMessage:
        code === 'AccessForbidden'
          ? 'User: arn:aws:sts::123456789012:assumed-role/lookup-role/fn is not authorized to perform: sagemaker:BatchGetRecord'
          : 'Rate exceeded',
    })),
    UnprocessedIdentifiers: [],
  };
}

describe("Function: handler (the store's per-identifier Errors of BatchGetRecord)", () => {
  const refused =
    'The feature store refused to read record "c2" of feature group "fraud-cards" (AccessForbidden) and 1 more id; a retry gets the same answer: check the function\'s read permission on the group';

  it.each([
    [
      'batch-get',
      batchGetEvent({
        identifiers: [{ featureGroup: 'fraud-cards', recordIds: ['c1', 'c2', 'c3'] }],
      }),
    ],
    [
      'vectors',
      vectorsEvent('fraud_model_v3', {
        entities: [
          { transaction_id: 't1', card_id: 'c2', merchant_id: 'm1' },
          { transaction_id: 't2', card_id: 'c3', merchant_id: 'm1' },
        ],
      }),
    ],
  ])(
    'answers %s with a 500 naming the id, the group and the code of an AccessForbidden entry, not unprocessed ids to retry',
    async (_, event) => {
      // Prepare
      store
        .on(BatchGetRecordCommand)
        .resolves(cardsAnswer(['c1'], ['c2', 'c3'], 'AccessForbidden'));
      // Act
      const result = await handler(event, lambdaContext());
      // Assess
      expect(result.statusCode).toBe(500);
      expect(result.headers?.['retry-after']).toBeUndefined();
      expect(JSON.parse(result.body)).toEqual({
        statusCode: 500,
        error: 'InternalServerError',
        message: refused,
        requestId: event.requestContext.requestId,
      });
      expect(result.body).not.toContain('123456789012');
    }
  );

  it('answers a 500 naming the id, the group and the code when one call of a read is refused as a whole while another answers', async () => {
    // Prepare: 150 ids, two BatchGetRecord calls (100 ids each at most); the first answers, the
    // second is refused with IAM's AccessDeniedException (a 400 no retry changes).
    const ids = Array.from({ length: 150 }, (_, i) => `c${i}`);
    const denied = Object.assign(
      new Error('User: arn:aws:sts::123456789012:assumed-role/lookup-role/fn is not authorized'),
      { name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 } }
    );
    store
      .on(BatchGetRecordCommand)
      .resolvesOnce(cardsAnswer(ids.slice(0, 100), [], 'AccessForbidden'))
      .rejectsOnce(denied);
    const event = batchGetEvent({ identifiers: [{ featureGroup: 'fraud-cards', recordIds: ids }] });
    // Act
    const result = await handler(event, lambdaContext());
    // Assess: not a 200 with 50 "unprocessed" ids a caller would retry forever.
    expect(store.commandCalls(BatchGetRecordCommand)).toHaveLength(2);
    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body).message).toBe(
      'The feature store refused to read record "c100" of feature group "fraud-cards" (AccessDeniedException) and 49 more ids; a retry gets the same answer: check the function\'s read permission on the group'
    );
    expect(result.body).not.toContain('123456789012');
  });

  it.each([
    ['ThrottlingException', 429, 'TooManyRequests'],
    ['InternalFailure', 503, 'ServiceUnavailable'],
    ['ServiceUnavailable', 503, 'ServiceUnavailable'],
  ])(
    'keeps ids answered %s unprocessed beside the ids read, and answers %i when no id was read',
    async (code, status, error) => {
      // Prepare
      store
        .on(BatchGetRecordCommand)
        .resolvesOnce(cardsAnswer(['c1'], ['c2'], code))
        .resolvesOnce(cardsAnswer([], ['c1', 'c2'], code));
      const event = () =>
        batchGetEvent({ identifiers: [{ featureGroup: 'fraud-cards', recordIds: ['c1', 'c2'] }] });
      // Act
      const partial = await handler(event(), lambdaContext());
      const none = await handler(event(), lambdaContext());
      // Assess
      expect(partial.statusCode).toBe(200);
      expect(JSON.parse(partial.body).unprocessed).toEqual([
        { featureGroup: 'fraud-cards', recordId: 'c2', reason: `${code}: Rate exceeded` },
      ]);
      expect(none.statusCode).toBe(status);
      expect(none.headers?.['retry-after']).toBe('1');
      expect(JSON.parse(none.body).error).toBe(error);
    }
  );
});

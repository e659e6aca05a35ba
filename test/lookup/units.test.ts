/**
 * Unit tests of the lookup's shared pieces that the integration tests cannot pin down exactly:
 * value shaping at the 2^53 boundary, the error mapping, the fail-fast retry policy, the
 * configuration, the catalog's plans and the tolerant batch read.
 */
import {
  BatchGetRecordCommand,
  SageMakerFeatureStoreRuntimeClient,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { cards } from '../../shared/definitions.ts';
import { UnknownNameError } from '../../shared/errors.ts';
import { catalog, LookupCatalog } from '../../shared/lookup/catalog.ts';
import { failFastRetryStrategy, lookupConfigFromEnv } from '../../shared/lookup/config.ts';
import {
  BadRequestError,
  InternalServerError,
  NotFoundError,
  toHttpError,
} from '../../shared/lookup/errors.ts';
import { toJsonValue } from '../../shared/lookup/views.ts';
import { SchemaRegistry } from '../../shared/registry.ts';
import { ConfigurationError } from '../../shared/runtime/env.ts';
import {
  defineFeatureGroup,
  defineFeatureSet,
  feature,
  select,
} from '../../shared/schema/index.ts';
import { batchGetOnline, refusedReads } from '../../shared/store/onlineReader.ts';
import { describeRefusedIds } from '../../shared/store/storeErrors.ts';

describe('Function: toJsonValue()', () => {
  it.each([
    [42n, 42],
    [2n ** 53n - 1n, Number.MAX_SAFE_INTEGER],
    [-(2n ** 53n - 1n), -Number.MAX_SAFE_INTEGER],
    [2n ** 53n, '9007199254740992'],
    [-(2n ** 63n), '-9223372036854775808'],
    [0.1, 0.1],
    ['x', 'x'],
    [Number.NaN, null],
    [
      [1n, 2n ** 60n],
      [1, '1152921504606846976'],
    ],
  ])('shapes %s as %j', (value, expected) => {
    expect(toJsonValue(value)).toEqual(expected);
  });
});

describe('Function: toHttpError()', () => {
  it.each([
    [new UnknownNameError('feature group', 'x', ['a']), 400, 'Unknown feature group "x"; known: a'],
    [new NotFoundError('gone'), 404, 'gone'],
    [Object.assign(new Error('slow down'), { name: 'ThrottlingException' }), 429, undefined],
    [Object.assign(new Error('x'), { $metadata: { httpStatusCode: 429 } }), 429, undefined],
    [Object.assign(new Error('x'), { $metadata: { httpStatusCode: 500 } }), 503, undefined],
    [Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), 503, undefined],
    [Object.assign(new Error('x'), { name: 'TimeoutError' }), 503, undefined],
    [Object.assign(new Error('bad'), { $metadata: { httpStatusCode: 400 } }), 500, undefined],
    [new TypeError('undefined is not a function'), 500, 'Internal server error'],
  ])('maps %s to %i', (error, status, message) => {
    // Act
    const mapped = toHttpError(error);
    // Assess
    expect(mapped.statusCode).toBe(status);
    if (message !== undefined) expect(mapped.toJSON('r').message).toBe(message);
    if (!(error instanceof NotFoundError) && !(error instanceof UnknownNameError)) {
      expect(mapped.cause).toBe(error);
    }
  });

  it('never shows the cause of a 500', () => {
    // Act
    const body = new InternalServerError({ cause: new Error('db password is hunter2') }).toJSON(
      'r-1'
    );
    // Assess
    expect(body).toEqual({
      statusCode: 500,
      error: 'InternalServerError',
      message: 'Internal server error',
      requestId: 'r-1',
    });
  });

  it('keeps an HttpError as it is', () => {
    const error = new BadRequestError('no');
    expect(toHttpError(error)).toBe(error);
  });
});

describe('Function: failFastRetryStrategy()', () => {
  const reset = Object.assign(new Error('socket hang up'), {
    name: 'TimeoutError',
    code: 'ECONNRESET',
  });

  it('retries a reset connection at once, at most the configured number of times', async () => {
    // Prepare
    const strategy = failFastRetryStrategy(1);
    const first = await strategy.acquireInitialRetryToken('scope');
    // Act
    const second = await strategy.refreshRetryTokenForRetry(first, {
      error: reset as never,
      errorType: 'TRANSIENT',
    });
    // Assess
    expect(second.getRetryCount()).toBe(1);
    expect(second.getRetryDelay()).toBe(0);
    await expect(
      strategy.refreshRetryTokenForRetry(second, { error: reset as never, errorType: 'TRANSIENT' })
    ).rejects.toBe(reset);
  });

  it.each([
    [
      'throttling',
      Object.assign(new Error('t'), { $metadata: { httpStatusCode: 429 } }),
      'THROTTLING',
    ],
    [
      'a 503 answer',
      Object.assign(new Error('u'), { $metadata: { httpStatusCode: 503 } }),
      'TRANSIENT',
    ],
    [
      'a timeout',
      Object.assign(new Error('t'), { name: 'TimeoutError', code: 'ETIMEDOUT' }),
      'TRANSIENT',
    ],
  ] as const)('does not retry %s', async (_, error, errorType) => {
    // Prepare
    const strategy = failFastRetryStrategy(3);
    const token = await strategy.acquireInitialRetryToken('scope');
    // Act / Assess
    await expect(
      strategy.refreshRetryTokenForRetry(token, { error: error as never, errorType })
    ).rejects.toBe(error);
  });
});

describe('Function: lookupConfigFromEnv()', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('defaults to 1,000 ids, 1,000 entities, 1 s, one retry and no CORS', () => {
    // Prepare
    for (const key of Object.keys(process.env))
      if (key.startsWith('LOOKUP_')) delete process.env[key];
    process.env.LOOKUP_CORS_ALLOW_ORIGIN = '';
    // Act
    const config = lookupConfigFromEnv();
    // Assess
    expect(config).toEqual({
      maxBatchIds: 1000,
      maxVectorEntities: 1000,
      storeTimeoutMs: 1000,
      storeRetries: 1,
      storeMaxSockets: 64,
      corsAllowOrigin: undefined,
    });
  });

  it('rejects a batch bound above the documented ceiling of 10,000', () => {
    // Prepare
    process.env.LOOKUP_MAX_BATCH_IDS = '10001';
    // Act / Assess
    expect(() => lookupConfigFromEnv()).toThrow(ConfigurationError);
  });
});

describe('Class: LookupCatalog', () => {
  it("places each selection of fraud_model_v3 at its offset in the vector, reading the group's event time too", () => {
    // Act
    const plan = catalog.set('fraud_model_v3');
    // Assess
    expect(plan.selections.map((s) => [s.plan.name, s.offset, s.maxAgeMs])).toEqual([
      ['fraud-transactions', 0, 3_600_000],
      ['fraud-cards', 7, 172_800_000],
      ['fraud-merchants', 13, 172_800_000],
    ]);
    expect(plan.selections[1]?.storeFeatures.at(-1)).toBe('event_time');
    expect(plan.entityKeys).toEqual(['transaction_id', 'card_id', 'merchant_id']);
  });

  it('refuses groups and sets that have no online store', () => {
    // Prepare
    const offlineOnly = defineFeatureGroup({
      name: 'history',
      description: 'offline only',
      recordIdentifier: 'id',
      eventTime: 'ts',
      features: { id: feature.string('id'), ts: feature.string('ts'), n: feature.integral('n') },
      offline: {},
    });
    const set = defineFeatureSet({
      name: 'mixed',
      description: 'mixed',
      selections: [select(cards, ['txn_count_7d']), select(offlineOnly, ['n'])],
      maxAge: { unit: 'Minutes', value: 5 },
    });
    const custom = new LookupCatalog(new SchemaRegistry([cards, offlineOnly], [set]));
    // Act / Assess
    expect(() => custom.group('history')).toThrow(
      'Feature group "history" has no online store; only online features can be looked up'
    );
    expect(() => custom.set('mixed')).toThrow(
      'Feature set "mixed" selects "history", which has no online store'
    );
    expect(custom.group('fraud-cards').maxAgeMs).toBe(172_800_000);
  });
});

describe('Function: batchGetOnline() with tolerateChunkFailures, and its Errors items', () => {
  const client = mockClient(SageMakerFeatureStoreRuntimeClient);
  afterEach(() => client.reset());
  const ids = Array.from({ length: 150 }, (_, i) => `c${i}`);
  const throttled = Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $metadata: { httpStatusCode: 429 },
  });

  it('reports the ids of a failed chunk as unprocessed and keeps the other chunk', async () => {
    // Prepare: the first chunk (100 ids) fails, the second (50) finds nothing.
    client.on(BatchGetRecordCommand).rejectsOnce(throttled).resolves({ Records: [], Errors: [] });
    // Act
    const result = await batchGetOnline(
      new SageMakerFeatureStoreRuntimeClient({}),
      [{ group: cards, recordIds: ids }],
      { tolerateChunkFailures: true }
    );
    // Assess
    expect(result.unprocessed).toHaveLength(100);
    expect(result.unprocessed[0]).toEqual({
      group: 'fraud-cards',
      recordId: 'c0',
      reason: 'ThrottlingException: Rate exceeded',
      source: 'failedCall',
      error: throttled,
    });
    expect(result.notFound).toHaveLength(50);
    expect(client.commandCalls(BatchGetRecordCommand)).toHaveLength(2);
  });

  it('throws when every chunk fails, and without the option as before', async () => {
    // Prepare
    client.on(BatchGetRecordCommand).rejects(throttled);
    const sdk = new SageMakerFeatureStoreRuntimeClient({});
    // Act / Assess
    await expect(
      batchGetOnline(sdk, [{ group: cards, recordIds: ids }], { tolerateChunkFailures: true })
    ).rejects.toBe(throttled);
    await expect(batchGetOnline(sdk, [{ group: cards, recordIds: ids.slice(0, 1) }])).rejects.toBe(
      throttled
    );
  });

  it('keeps every Errors item unprocessed with its code, retries none, and refusedReads picks the codes no retry changes', async () => {
    // Prepare: one id read, one throttled, two refused (one with a code Skewless does not know).
    const item = (id: string, code: string) => ({
      FeatureGroupName: 'fraud-cards',
      RecordIdentifierValueAsString: id,
      ErrorCode: code,
      ErrorMessage: 'the store says why',
    });
    client.on(BatchGetRecordCommand).resolves({
      Records: [
        {
          FeatureGroupName: 'fraud-cards',
          RecordIdentifierValueAsString: 'c1',
          Record: [
            { FeatureName: 'card_id', ValueAsString: 'c1' },
            { FeatureName: 'event_time', ValueAsString: new Date().toISOString() },
          ],
        },
      ],
      Errors: [
        item('c2', 'ThrottlingException'),
        item('c3', 'AccessForbidden'),
        item('c4', 'SomethingNew'),
      ],
    });
    // Act
    const result = await batchGetOnline(new SageMakerFeatureStoreRuntimeClient({}), [
      { group: cards, recordIds: ['c1', 'c2', 'c3', 'c4'] },
    ]);
    const refused = refusedReads(result.unprocessed);
    // Assess: nothing dropped (no id is "not found"), one call.
    expect(result.found.map((r) => r.recordId)).toEqual(['c1']);
    expect(result.notFound).toEqual([]);
    expect(result.unprocessed.map((u) => [u.recordId, u.source, u.errorCode])).toEqual([
      ['c2', 'errorEntry', 'ThrottlingException'],
      ['c3', 'errorEntry', 'AccessForbidden'],
      ['c4', 'errorEntry', 'SomethingNew'],
    ]);
    expect(refused.map((u) => u.recordId)).toEqual(['c3', 'c4']);
    expect(describeRefusedIds(refused.map((u) => ({ ...u, code: u.errorCode ?? 'Unknown' })))).toBe(
      'record "c3" of feature group "fraud-cards" (AccessForbidden) and 1 more id'
    );
    expect(client.commandCalls(BatchGetRecordCommand)).toHaveLength(1);
  });
});

/**
 * The backfill function's triggers as AWS delivers them, hostile but realistic, through the
 * handler against the embedded store and local S3: keys S3 URL-encodes, several records in one
 * event, no version id, ObjectRemoved, a key outside the prefix, an `s3:TestEvent`, an event of
 * another shape, and continuation messages that are malformed, for an unknown drop or for a
 * drop already finished.
 */
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, S3Event, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { objectCreatedEvent } from '../../local/s3/notification.ts';
import {
  inProcessContinuations,
  SqsContinuationQueue,
} from '../../shared/backfill/continuation.ts';
import type { S3InvocationResult } from '../../shared/backfill/handleEvent.ts';
import type { SourceObject } from '../../shared/backfill/types.ts';
import { logger } from '../../shared/runtime/powertools.ts';
import {
  BACKFILL_BUCKET,
  continuationEvent,
  lambdaContext,
  REPORTS_BUCKET,
  s3PutEventOf,
  startTestS3,
  type TestS3,
  uploadAndSettle,
} from '../helpers/s3Events.ts';
import { startTestStore, type TestStore } from '../helpers/store.ts';
import { backfillOutput, cardFile, createSchemaGroups, offlineMount, toCsv } from './fixtures.ts';

type Handler = (
  event: S3Event | SQSEvent | Record<string, unknown>,
  context: Context
) => Promise<S3InvocationResult | SQSBatchResponse>;

describe('Backfill function: events as AWS delivers them (integration)', () => {
  let store: TestStore;
  let s3: TestS3;
  let handler: Handler;

  beforeAll(async () => {
    store = await startTestStore();
    await createSchemaGroups(store);
    // No notification hook: each test invokes the handler with the event it means.
    s3 = await startTestS3({ mounts: [offlineMount(store)] });
    process.env.AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME = store.store.endpoint;
    process.env.AWS_ENDPOINT_URL_SAGEMAKER = store.store.endpoint;
    process.env.AWS_ENDPOINT_URL_S3 = s3.server.endpoint;
    process.env.REPORTS_BUCKET = REPORTS_BUCKET;
    delete process.env.CONTINUATION_QUEUE_URL;
    handler = (await import('../../functions/backfill/index.ts')).handler as unknown as Handler;
  });

  afterAll(async () => {
    await inProcessContinuations.idle();
    await s3?.close();
    await store?.close();
  });

  /** Puts an object; nothing is notified (no hook), so each test invokes the handler itself. */
  const put = (key: string, body: string): Promise<SourceObject> =>
    uploadAndSettle(s3, inProcessContinuations, key, body);

  /** An SQS event of raw message bodies, as the queue's event source delivers them. */
  function sqsEvent(...bodies: string[]): SQSEvent {
    const base = continuationEvent({
      type: 'skewless.backfill.continue',
      source: { bucket: BACKFILL_BUCKET, key: 'backfill/fraud-cards/x.csv', etag: 'e', size: 1 },
      reason: 'checkpoint',
      generation: 1,
    }).Records[0] as SQSEvent['Records'][number];
    return {
      Records: bodies.map((body, i) => ({ ...base, messageId: `message-${i}`, body })),
    };
  }

  it('backfills keys with spaces, plus signs, percent signs and non-ASCII, URL-encoded as S3 sends them', async () => {
    // Prepare
    const file = cardFile('encoded', 3, 0);
    const source = await put('backfill/fraud-cards/2025 Q1+final 100% é€.csv', toCsv(file.rows));
    const event = s3PutEventOf(source);
    // S3 form-encodes the key: a space is "+", a plus sign "%2B".
    expect(event.Records[0]?.s3.object.key).toContain('2025+Q1%2Bfinal+100%25+');
    // Act
    const result = (await handler(event, lambdaContext())) as S3InvocationResult;
    // Assess
    expect(result.outcomes).toMatchObject([{ kind: 'completed' }]);
    const { report } = await backfillOutput(s3.client, REPORTS_BUCKET, source);
    expect(report).toMatchObject({
      status: 'completed',
      rowsWritten: 3,
      source: { key: source.key },
    });
  });

  it('runs every record of an event with several, on a bucket without versioning (no version id)', async () => {
    // Prepare: the notification of an unversioned bucket has no versionId; the ETag keys the claim.
    const sources = await Promise.all(
      ['a', 'b'].map((name) =>
        put(
          `backfill/fraud-cards/several-${name}.csv`,
          toCsv(cardFile(`several-${name}`, 2, 0).rows)
        )
      )
    );
    const event = objectCreatedEvent(
      ...sources.map((s) => ({
        bucket: s.bucket,
        key: s.key,
        size: s.size,
        eTag: s.etag,
        sequencer: '0062E99A88DC407460',
      }))
    );
    // Act
    const result = (await handler(event, lambdaContext())) as S3InvocationResult;
    // Assess
    expect(result.outcomes).toMatchObject([{ kind: 'completed' }, { kind: 'completed' }]);
    for (const s of sources) {
      const { report } = await backfillOutput(s3.client, REPORTS_BUCKET, {
        ...s,
        versionId: undefined,
      });
      expect(report).toMatchObject({ status: 'completed', rowsWritten: 2 });
    }
  });

  it('ignores ObjectRemoved and keys outside backfill/<group>/, saying why', async () => {
    // Prepare
    const outside = await put('exports/fraud-cards/x.csv', 'card_id\n');
    const removed = s3PutEventOf(outside);
    const record = removed.Records[0] as S3Event['Records'][number];
    const removedEvent: S3Event = {
      Records: [{ ...record, eventName: 'ObjectRemoved:Delete' }],
    };
    // Act
    const removedResult = (await handler(removedEvent, lambdaContext())) as S3InvocationResult;
    const outsideResult = (await handler(
      s3PutEventOf(outside),
      lambdaContext()
    )) as S3InvocationResult;
    // Assess
    expect(removedResult.outcomes).toEqual([
      { kind: 'ignored', reason: 'event aws:s3 ObjectRemoved:Delete is not an S3 ObjectCreated' },
    ]);
    expect(outsideResult.outcomes).toEqual([
      { kind: 'ignored', reason: 'not under backfill/<feature-group>/' },
    ]);
  });

  it('acknowledges an s3:TestEvent without backfilling anything', async () => {
    // Act
    const result = await handler(
      {
        Service: 'Amazon S3',
        Event: 's3:TestEvent',
        Time: new Date().toISOString(),
        Bucket: BACKFILL_BUCKET,
        RequestId: '5582815E1AEA5ADF',
        HostId: 'BCd2kmhWJbIhJOK3vu4GWK+9tS0fICTdjN5Ks0',
      },
      lambdaContext()
    );
    // Assess
    expect(result).toEqual({ outcomes: [{ kind: 'ignored', reason: 's3:TestEvent' }] });
  });

  it('fails an invocation with an event of another shape (EventBridge Object Created), naming it', async () => {
    // Prepare: S3 routed through EventBridge has no Records; answering success lost the drop.
    const event = {
      version: '0',
      id: '17793124-05d4-b198-2fde-7ededc63b103',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [`arn:aws:s3:::${BACKFILL_BUCKET}`],
      detail: { bucket: { name: BACKFILL_BUCKET }, object: { key: 'backfill/fraud-cards/a.csv' } },
    };
    // Act
    const invocation = handler(event, lambdaContext());
    // Assess
    await expect(invocation).rejects.toThrow(
      /takes S3 event notifications .* got an event with keys \{version, id, detail-type, .*EventBridge "Object Created" event/
    );
  });

  it.each([
    ['a body that is not JSON', '{"type": "skewless.backfill.continue",', /^body is not JSON: /],
    ['a JSON array', '[1]', /^body must be a JSON object, not an array$/],
    [
      'an s3:TestEvent',
      JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent' }),
      /^type: must be "skewless.backfill.continue", not undefined \(an S3 s3:TestEvent/,
    ],
    [
      'a hand-written resume with a typo',
      JSON.stringify({
        type: 'skewless.backfill.continue',
        source: {
          bucket: BACKFILL_BUCKET,
          key: 'backfill/fraud-cards/x.csv',
          eTag: 'e',
          size: '12',
        },
        reason: 'retry',
        generation: 0,
        resume: 'true',
      }),
      /^source\.etag: must be a non-empty string, not undefined; source\.size: must be a byte count, not "12"; resume: must be true or false, not "true"$/,
    ],
  ])(
    'reports a continuation message with %s, so SQS moves it to its dead-letter queue',
    async (_case, body, reason) => {
      // Prepare
      const errors = vi.spyOn(logger, 'error');
      // Act
      const response = (await handler(sqsEvent(body), lambdaContext())) as SQSBatchResponse;
      // Assess: reported, and the log line names the field at fault and keeps the body.
      const line = errors.mock.calls
        .map((call) => call[1] as Record<string, unknown> | undefined)
        .find((extra) => extra?.messageId === 'message-0');
      errors.mockRestore();
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'message-0' }]);
      expect(line?.reason).toMatch(reason);
      expect(line?.body).toBe(body);
    }
  );

  it('makes an invalid continuation visible again at once on the SQS queue, so it reaches the dead-letter queue in seconds', async () => {
    // Prepare: the deployed queue (SQS, injected: there is no local SQS). A failed message is
    // otherwise received again only after the visibility timeout: 5 receives × 5,400 s = 7.5 h.
    const queueUrl = 'https://sqs.us-east-1.amazonaws.com/000000000000/continuations';
    const sqs = mockClient(SQSClient);
    sqs
      .on(ChangeMessageVisibilityCommand)
      .resolvesOnce({})
      .rejectsOnce(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    const { createBackfillHandler } = await import('../../functions/backfill/index.ts');
    const sqsHandler = createBackfillHandler({
      continuations: new SqsContinuationQueue(new SQSClient({ region: 'us-east-1' }), queueUrl),
    }) as unknown as Handler;
    const warnings = vi.spyOn(logger, 'warn');
    const event = sqsEvent('not json', '[1]');
    // Act
    const response = (await sqsHandler(event, lambdaContext())) as SQSBatchResponse;
    // Assess: both reported; each made visible at once with its own receipt handle; the one the
    // queue refused is reported anyway and the refusal logged.
    const calls = sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input);
    const refusal = warnings.mock.calls.find(
      (call) => (call[1] as { messageId?: string } | undefined)?.messageId === 'message-1'
    );
    warnings.mockRestore();
    sqs.restore();
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: 'message-0' },
      { itemIdentifier: 'message-1' },
    ]);
    expect(calls).toEqual(
      event.Records.map((r) => ({
        QueueUrl: queueUrl,
        ReceiptHandle: r.receiptHandle,
        VisibilityTimeout: 0,
      }))
    );
    expect(String(refusal?.[0])).toMatch(/could not make the invalid message visible again/);
  });

  it('skips a continuation for an unknown drop and a redelivered one for a finished drop, reporting neither', async () => {
    // Prepare
    const source = await put(
      'backfill/fraud-cards/finished.csv',
      toCsv(cardFile('finished', 2, 0).rows)
    );
    await handler(s3PutEventOf(source), lambdaContext());
    const unknown = { ...source, key: 'backfill/fraud-cards/never-uploaded.csv' };
    // Act
    const response = (await handler(
      continuationEvent(
        {
          type: 'skewless.backfill.continue',
          source: unknown,
          reason: 'checkpoint',
          generation: 2,
        },
        { type: 'skewless.backfill.continue', source, reason: 'checkpoint', generation: 2 }
      ),
      lambdaContext()
    )) as SQSBatchResponse;
    // Assess: nothing to redo; the finished drop keeps its report.
    expect(response.batchItemFailures).toEqual([]);
    const { report } = await backfillOutput(s3.client, REPORTS_BUCKET, source);
    expect(report).toMatchObject({ status: 'completed', rowsWritten: 2, invocations: 1 });
  });
});

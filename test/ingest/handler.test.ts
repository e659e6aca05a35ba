/**
 * The Lambda entry point: configuration checked at cold start without breaking imports, and the
 * Middy-wrapped handler returning Powertools' partial batch response.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchWriteRecordCommand,
  SageMakerFeatureStoreRuntimeClient,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  jsonRecord,
  kinesisEvent,
  kinesisRecord,
  lambdaContext,
  transaction,
} from '../helpers/kinesisEvents.ts';

const featureStore = mockClient(SageMakerFeatureStoreRuntimeClient);

async function importHandler() {
  vi.resetModules();
  return (await import('../../functions/ingest/index.ts')).handler;
}

describe('Function: handler (functions/ingest)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'skewless-handler-'));
    featureStore.reset();
    featureStore.on(BatchWriteRecordCommand).resolves({ Errors: [], UnprocessedEntries: [] });
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports without configuration but fails every invocation with the configuration error', async () => {
    // Prepare
    vi.stubEnv('DEAD_LETTER_DIR', '');
    vi.stubEnv('DEAD_LETTER_QUEUE_URL', '');
    const handler = await importHandler();
    // Act
    const invocation = handler(kinesisEvent([jsonRecord(transaction('t1'))]), lambdaContext());
    // Assess
    await expect(invocation).rejects.toThrow(
      /exactly one of the environment variables DEAD_LETTER_QUEUE_URL \(SQS\) and DEAD_LETTER_DIR/
    );
    expect(featureStore.commandCalls(BatchWriteRecordCommand)).toHaveLength(0);
  });

  it('writes good records, dead-letters bad ones to the local directory and reports nothing', async () => {
    // Prepare
    vi.stubEnv('DEAD_LETTER_DIR', dir);
    vi.stubEnv('DEFAULT_FEATURE_GROUP', 'fraud-transactions');
    // The plain pipeline (derived features read state records: test/derived covers them).
    vi.stubEnv('DERIVED_FEATURES', 'off');
    const handler = await importHandler();
    // The file is named after the UTC day of dead-lettering: a run across midnight may name
    // either day, so both ends of the invocation are read.
    const dayFile = () => `ingest-${new Date().toISOString().slice(0, 10)}.jsonl`;
    const before = dayFile();
    // Act
    const response = await handler(
      kinesisEvent([
        jsonRecord(transaction('t1')),
        kinesisRecord('@@@@'),
        jsonRecord(transaction('t2')),
      ]),
      lambdaContext()
    );
    const after = dayFile();
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const calls = featureStore.commandCalls(BatchWriteRecordCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input.Entries).toHaveLength(2);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect([before, after]).toContain(files[0]);
  });
});

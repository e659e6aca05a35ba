/**
 * The ingest function's integration fixture: an embedded store with the definitions' groups
 * (created through the real control plane), the bundled handler pointed at it over HTTP, and a
 * local dead-letter directory.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateFeatureGroupCommand,
  type CreateFeatureGroupCommandInput,
} from '@aws-sdk/client-sagemaker';
import { waitUntilFeatureGroupCreated } from '../../local/setup/waitForFeatureGroup.ts';
import { featureGroups } from '../../shared/definitions.ts';
import type { DeadLetter } from '../../shared/ingest/deadLetter.ts';
import { createFeatureGroupInput } from '../../shared/schema/awsDefinitions.ts';
import type { IngestHandler } from '../helpers/kinesisEvents.ts';
import { startTestStore, type TestStore } from '../helpers/store.ts';
import { buildIngestBundle, type IngestBundle } from './bundle.ts';

interface IngestFixture {
  readonly store: TestStore;
  readonly handler: IngestHandler;
  readonly deadLetterDir: string;
  /** Every dead letter written so far, in file order. */
  deadLetters(): DeadLetter[];
  /** The handler of a new instance of the bundle, with the same environment: its own cold start. */
  coldHandler(): Promise<IngestHandler>;
  close(): Promise<void>;
}

async function startIngestFixture(env: Record<string, string> = {}): Promise<IngestFixture> {
  const bundle: IngestBundle = await buildIngestBundle();
  const store = await startTestStore();
  for (const group of featureGroups) {
    await store.sagemaker.send(
      new CreateFeatureGroupCommand(
        createFeatureGroupInput(group, {
          offlineS3Uri: 's3://skewless-local/offline-store',
          roleArn: 'arn:aws:iam::000000000000:role/skewless-offline',
        }) as unknown as CreateFeatureGroupCommandInput
      )
    );
    await waitUntilFeatureGroupCreated(store.sagemaker, group.name);
  }
  const deadLetterDir = mkdtempSync(join(tmpdir(), 'skewless-dead-letters-'));
  const environment = {
    AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME: store.store.endpoint,
    DEFAULT_FEATURE_GROUP: 'fraud-transactions',
    DEAD_LETTER_DIR: deadLetterDir,
    DEAD_LETTER_QUEUE_URL: '',
    // As in Lambda: clients take credentials from the environment, not the default chain.
    AWS_LAMBDA_FUNCTION_NAME: 'IngestFunction',
    // Lambda's own; Powertools counts no cold start without it (provisioned concurrency).
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    // These tests hold the ingest pipeline itself to its contract; derived streaming features
    // (computed values replacing the producer's) have their own tests (test/derived).
    DERIVED_FEATURES: 'off',
    ...env,
  };
  const handler = await bundle.load(environment);
  return {
    store,
    handler,
    deadLetterDir,
    coldHandler: () => bundle.load(environment),
    deadLetters: () => {
      if (!existsSync(deadLetterDir)) return [];
      return readdirSync(deadLetterDir)
        .filter((f) => f.endsWith('.jsonl'))
        .sort()
        .flatMap((f) =>
          readFileSync(join(deadLetterDir, f), 'utf8')
            .split('\n')
            .filter((line) => line.length > 0)
            .map((line) => JSON.parse(line) as DeadLetter)
        );
    },
    close: async () => {
      await store.close();
      rmSync(deadLetterDir, { recursive: true, force: true });
      bundle.remove();
    },
  };
}

export type { IngestFixture };
export { startIngestFixture };

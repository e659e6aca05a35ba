import { afterEach, describe, expect, it } from 'vitest';
import { createFeatureStoreClient, runtimeCredentials } from '../../shared/runtime/clients.ts';
import { timedGetRecord, withRawServer } from '../helpers/rawServer.ts';

const saved = { ...process.env };
afterEach(() => {
  for (const key of [
    'AWS_LAMBDA_FUNCTION_NAME',
    'AWS_PROFILE',
    'AWS_SESSION_TOKEN',
    'AWS_EC2_METADATA_DISABLED',
  ]) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});

describe('runtimeCredentials', () => {
  it('keeps the default chain outside Lambda (CLI, local stack, tests)', () => {
    expect(runtimeCredentials({})).toBeUndefined();
  });

  it('reads the environment inside Lambda, skipping profiles and the rest of the chain', async () => {
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'IngestFunction';
    // The default chain would try this profile first and fail: it does not exist.
    process.env.AWS_PROFILE = 'skewless-no-such-profile';
    process.env.AWS_SESSION_TOKEN = 'lambda-session';
    const client = createFeatureStoreClient();
    try {
      const credentials = await client.config.credentials();
      expect(credentials).toMatchObject({
        accessKeyId: process.env.AWS_ACCESS_KEY_ID,
        secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
        sessionToken: 'lambda-session',
      });
    } finally {
      client.destroy();
    }
  });

  it('fails outside Lambda with the same missing profile (the default chain is in use)', async () => {
    process.env.AWS_PROFILE = 'skewless-no-such-profile';
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    const client = createFeatureStoreClient();
    try {
      // The profile wins over the environment's keys in the default chain, and it is missing.
      await expect(client.config.credentials()).rejects.toThrow(/Could not load credentials/);
    } finally {
      client.destroy();
    }
  });
});

describe('createFeatureStoreClient', () => {
  it('fails a request the store accepts but never answers after its request timeout, instead of waiting forever', async () => {
    // A store that takes the connection and says nothing
    await withRawServer(
      () => {},
      async (endpoint) => {
        const client = createFeatureStoreClient(
          { requestTimeoutMs: 300, maxAttempts: 2, retryBaseDelayMs: 10 },
          {
            endpoint,
            region: 'us-east-1',
            credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
          }
        );
        try {
          // Act
          const { error, elapsedMs } = await timedGetRecord(client);
          // Assess: a TimeoutError after both attempts (retried as transient), in well under the
          // 10 s this test may take; before, the call never settled
          expect(error?.name).toBe('TimeoutError');
          expect(error?.$metadata?.attempts).toBe(2);
          expect(elapsedMs).toBeLessThan(5_000);
        } finally {
          client.destroy();
        }
      }
    );
  }, 10_000);
});

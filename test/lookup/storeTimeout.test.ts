/**
 * LOOKUP_STORE_TIMEOUT_MS against a store that takes the connection and never answers: the call
 * fails at the timeout and the lookup answers 503, instead of waiting for the function's timeout
 * (the SDK only warned about a passed request timeout until told to throw).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLookupStoreClient } from '../../shared/lookup/config.ts';
import { toHttpError } from '../../shared/lookup/errors.ts';
import { timedGetRecord, withRawServer } from '../helpers/rawServer.ts';

const ENDPOINT_VARIABLE = 'AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME';
const saved = process.env[ENDPOINT_VARIABLE];
afterEach(() => {
  if (saved === undefined) delete process.env[ENDPOINT_VARIABLE];
  else process.env[ENDPOINT_VARIABLE] = saved;
});

describe('Function: createLookupStoreClient()', () => {
  it('fails a store call at LOOKUP_STORE_TIMEOUT_MS when the store never answers: 503, not a wait', async () => {
    // A store that takes the connection and says nothing, counting the calls that reach it
    let connections = 0;
    await withRawServer(
      () => {
        connections++;
      },
      async (endpoint) => {
        process.env[ENDPOINT_VARIABLE] = endpoint;
        const client = createLookupStoreClient({
          storeTimeoutMs: 200,
          storeRetries: 1,
          storeMaxSockets: 2,
        });
        try {
          // Act
          const { error, elapsedMs } = await timedGetRecord(client);
          // Assess: a timeout is not retried (the store may be slow, not gone); well under the
          // 10 s this test may take, where before the call never settled
          expect(error?.name).toBe('TimeoutError');
          expect(toHttpError(error).statusCode).toBe(503);
          expect(elapsedMs).toBeLessThan(5_000);
          expect({ attempts: error?.$metadata?.attempts, connections }).toEqual({
            attempts: 1,
            connections: 1,
          });
        } finally {
          client.destroy();
        }
      }
    );
  }, 10_000);
});

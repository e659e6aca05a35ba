/**
 * LOOKUP_STORE_TIMEOUT_MS against a store that takes the connection and never answers: the call
 * fails at the timeout and the lookup answers 503, instead of waiting for the function's timeout
 * (the SDK only warned about a passed request timeout until told to throw).
 */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { GetRecordCommand } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { createLookupStoreClient } from '../../shared/lookup/config.ts';
import { toHttpError } from '../../shared/lookup/errors.ts';

const ENDPOINT_VARIABLE = 'AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME';
const saved = process.env[ENDPOINT_VARIABLE];
afterEach(() => {
  if (saved === undefined) delete process.env[ENDPOINT_VARIABLE];
  else process.env[ENDPOINT_VARIABLE] = saved;
});

describe('Function: createLookupStoreClient()', () => {
  it('fails a store call at LOOKUP_STORE_TIMEOUT_MS when the store never answers: 503, not a wait', async () => {
    // Prepare: a store that takes the connection and says nothing
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    process.env[ENDPOINT_VARIABLE] =
      `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    const client = createLookupStoreClient({
      storeTimeoutMs: 200,
      storeRetries: 1,
      storeMaxSockets: 2,
    });
    try {
      // Act
      const started = Date.now();
      const error = await client
        .send(
          new GetRecordCommand({
            FeatureGroupName: 'fraud-cards',
            RecordIdentifierValueAsString: 'c1',
          })
        )
        .then(
          () => undefined,
          (e: unknown) => e
        );
      const elapsedMs = Date.now() - started;
      // Assess: a timeout is not retried (the store may be slow, not gone); well under the 10 s
      // this test may take, where before the call never settled
      expect((error as Error | undefined)?.name).toBe('TimeoutError');
      expect(toHttpError(error).statusCode).toBe(503);
      expect(elapsedMs).toBeLessThan(5_000);
    } finally {
      client.destroy();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  }, 10_000);
});

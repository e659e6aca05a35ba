/**
 * A "store" on 127.0.0.1 that takes every connection and never answers (hung after accept), and
 * one GetRecord against it timed, for the request-timeout tests.
 */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import {
  GetRecordCommand,
  type SageMakerFeatureStoreRuntimeClient,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';

interface HungStore {
  readonly endpoint: string;
  close(): void;
}

async function startHungStore(): Promise<HungStore> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** One GetRecord: how it failed (undefined if it did not) and after how long. */
async function timedGetRecord(client: SageMakerFeatureStoreRuntimeClient): Promise<{
  error: (Error & { $metadata?: { attempts?: number } }) | undefined;
  elapsedMs: number;
}> {
  const started = Date.now();
  const error = await client
    .send(
      new GetRecordCommand({ FeatureGroupName: 'fraud-cards', RecordIdentifierValueAsString: 'c1' })
    )
    .then(
      () => undefined,
      (e: unknown) => e as Error & { $metadata?: { attempts?: number } }
    );
  return { error, elapsedMs: Date.now() - started };
}

export type { HungStore };
export { startHungStore, timedGetRecord };

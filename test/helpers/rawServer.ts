/**
 * Endpoints that misbehave on purpose, for the tests of what clients and commands say then: a
 * TCP server on 127.0.0.1 whose connections the test handles (never answered, reset, answered as
 * another service), and one GetRecord against such an endpoint, timed.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import {
  GetRecordCommand,
  type SageMakerFeatureStoreRuntimeClient,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';

/**
 * Runs `use` against a server whose connections `serve` handles (`() => {}`: accepted, never
 * answered), then closes it and destroys every connection still open.
 */
async function withRawServer(
  serve: (socket: Socket, server: Server) => void,
  use: (endpoint: string) => Promise<void>
): Promise<void> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serve(socket, server);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  try {
    await use(`http://127.0.0.1:${port}`);
  } finally {
    for (const socket of sockets) socket.destroy();
    server.close();
  }
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

export { timedGetRecord, withRawServer };

import type { AddressInfo } from 'node:net';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import kinesalite from 'kinesalite';
import { closeServer } from '../runtime/closeServer.ts';

interface LocalKinesis {
  readonly endpoint: string;
  readonly port: number;
  readonly streamName: string;
  /** A client for this endpoint (HTTP/1.1: kinesalite does not speak HTTP/2). */
  readonly client: KinesisClient;
  close(): Promise<void>;
}

/** A Kinesis client for a kinesalite endpoint: HTTP/1.1 handler, dummy credentials if none are set. */
function createLocalKinesisClient(endpoint: string): KinesisClient {
  return new KinesisClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local',
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
    },
    requestHandler: new NodeHttpHandler(),
  });
}

/**
 * A Kinesis-compatible stream on 127.0.0.1 (kinesalite, in memory), with the stream created and
 * active. Any producer can write to it with the AWS SDK or CLI (`--endpoint-url`).
 */
async function startLocalKinesis(options: {
  port: number;
  streamName: string;
  shardCount?: number;
}): Promise<LocalKinesis> {
  const server = kinesalite({
    createStreamMs: 0,
    deleteStreamMs: 0,
    updateStreamMs: 0,
    shardLimit: 100,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = createLocalKinesisClient(endpoint);
  try {
    await client.send(new DescribeStreamSummaryCommand({ StreamName: options.streamName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    await client.send(
      new CreateStreamCommand({
        StreamName: options.streamName,
        ShardCount: options.shardCount ?? 2,
      })
    );
  }
  for (let i = 0; i < 100; i++) {
    const summary = await client.send(
      new DescribeStreamSummaryCommand({ StreamName: options.streamName })
    );
    if (summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    endpoint,
    port,
    streamName: options.streamName,
    client,
    close: () => {
      client.destroy();
      // No grace: by the time the stack stops it, its producers and pollers have stopped.
      return closeServer(server, 0);
    },
  };
}

export type { LocalKinesis };
export { createLocalKinesisClient, startLocalKinesis };

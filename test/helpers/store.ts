/**
 * Starts an embedded feature store in a fresh temp directory and builds real AWS SDK clients
 * pointed at it (HTTP over loopback, one attempt, dummy credentials).
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateFeatureGroupCommand,
  type CreateFeatureGroupCommandInput,
  type FeatureDefinition,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import {
  BatchGetRecordCommand,
  type BatchGetRecordCommandOutput,
  SageMakerFeatureStoreRuntimeClient,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { waitUntilFeatureGroupCreated } from '../../local/setup/waitForFeatureGroup.ts';
import { type RunningStore, type StoreOptions, startStore } from '../../local/store/index.ts';

interface TestClock {
  now(): number;
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void;
  /**
   * Runs `body` with the clock stopped: only {@link advance} moves it, so an assertion at an
   * edge (a TTL one second from expiry) does not depend on how fast the machine is. Afterwards
   * the clock follows the wall clock again from where it stood.
   */
  held<T>(body: () => Promise<T>): Promise<T>;
}

/**
 * A clock that follows the wall clock plus an offset the test controls; `stopped`: one that stands
 * at the instant it was made and moves only by {@link TestClock.advance} (for scenarios laid out
 * at instants relative to one "now" that must still hold however long the tests take).
 */
function testClock(options: { readonly stopped?: boolean } = {}): TestClock {
  let offset = 0;
  let stoppedAt: number | undefined = options.stopped === true ? Date.now() : undefined;
  const now = () => stoppedAt ?? Date.now() + offset;
  return {
    now,
    advance: (ms) => {
      if (stoppedAt !== undefined) stoppedAt += ms;
      else offset += ms;
    },
    held: async (body) => {
      if (options.stopped === true) return body();
      stoppedAt = now();
      try {
        return await body();
      } finally {
        offset = stoppedAt - Date.now();
        stoppedAt = undefined;
      }
    },
  };
}

interface TestStore {
  readonly store: RunningStore;
  readonly dataDir: string;
  readonly runtime: SageMakerFeatureStoreRuntimeClient;
  readonly sagemaker: SageMakerClient;
  /** Restarts the store on the same data dir (same clock and options); clients are rebuilt. */
  restart(): Promise<TestStore>;
  close(): Promise<void>;
}

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

function clients(endpoint: string): {
  runtime: SageMakerFeatureStoreRuntimeClient;
  sagemaker: SageMakerClient;
} {
  return {
    runtime: new SageMakerFeatureStoreRuntimeClient({
      endpoint,
      region: 'us-east-1',
      credentials,
      maxAttempts: 1,
    }),
    sagemaker: new SageMakerClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 }),
  };
}

async function startTestStore(
  options: Partial<StoreOptions> = {},
  dataDir = mkdtempSync(join(tmpdir(), 'skewless-store-'))
): Promise<TestStore> {
  const store = await startStore({
    logLevel: 'warn',
    flushIntervalMs: 60_000,
    ...options,
    dataDir,
    port: 0,
  });
  const { runtime, sagemaker } = clients(store.endpoint);
  const self: TestStore = {
    store,
    dataDir,
    runtime,
    sagemaker,
    restart: async () => {
      runtime.destroy();
      sagemaker.destroy();
      await store.close();
      return startTestStore(options, dataDir);
    },
    close: async () => {
      runtime.destroy();
      sagemaker.destroy();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return self;
}

type FeatureTypes = Record<string, 'String' | 'Integral' | 'Fractional'>;

/** Creates a group with `id` (String) and `event_time` (String) plus the given features. */
async function createGroup(
  sagemaker: SageMakerClient,
  name: string,
  features: FeatureTypes = {},
  extra: Partial<CreateFeatureGroupCommandInput> = {}
): Promise<string> {
  const all: FeatureTypes = { id: 'String', event_time: 'String', ...features };
  const definitions: FeatureDefinition[] = Object.entries(all).map(
    ([FeatureName, FeatureType]) => ({ FeatureName, FeatureType })
  );
  const out = await sagemaker.send(
    new CreateFeatureGroupCommand({
      FeatureGroupName: name,
      RecordIdentifierFeatureName: 'id',
      EventTimeFeatureName: 'event_time',
      FeatureDefinitions: definitions,
      OnlineStoreConfig: { EnableOnlineStore: true },
      OfflineStoreConfig: { S3StorageConfig: { S3Uri: 's3://local-bucket/offline' } },
      RoleArn: 'arn:aws:iam::000000000000:role/feature-store',
      ...extra,
    })
  );
  await waitUntilFeatureGroupCreated(sagemaker, name);
  return out.FeatureGroupArn ?? '';
}

/** The store's message for a refused read, as IAM words it (it names an account and a role). */
const REFUSED_MESSAGE =
  'User: arn:aws:sts::123456789012:assumed-role/skewless-fn/fn is not authorized to perform: sagemaker:BatchGetRecord';

/**
 * Makes `client`'s BatchGetRecord answer every id for which `refused(group, id)` holds with a
 * per-identifier `Errors` item of `code` (the shape in which the service refuses one id of a
 * batch read, e.g. `AccessForbidden`), whatever the store holds; the store reads the others as
 * usual. Changes `client` itself (a runtime built on it sees it too); returns what undoes it.
 */
function refuseReads(
  client: SageMakerFeatureStoreRuntimeClient,
  code: string,
  refused: (group: string, id: string) => boolean = () => true
): () => void {
  const previous = client.send;
  const original = previous.bind(client);
  const isRefused = (group: string | undefined, id: string | undefined) =>
    refused(group ?? '', id ?? '');
  client.send = (async (command: unknown, options?: unknown) => {
    const output = await original(command as never, options as never);
    if (!(command instanceof BatchGetRecordCommand)) return output;
    const answer = output as BatchGetRecordCommandOutput;
    const errors = [...(answer.Errors ?? [])];
    for (const entry of command.input.Identifiers ?? []) {
      for (const id of entry.RecordIdentifiersValueAsString ?? []) {
        if (!isRefused(entry.FeatureGroupName, id)) continue;
        errors.push({
          FeatureGroupName: entry.FeatureGroupName,
          RecordIdentifierValueAsString: id,
          ErrorCode: code,
          ErrorMessage: REFUSED_MESSAGE,
        });
      }
    }
    return {
      ...answer,
      Records: (answer.Records ?? []).filter(
        (r) => !isRefused(r.FeatureGroupName, r.RecordIdentifierValueAsString)
      ),
      Errors: errors,
      UnprocessedIdentifiers: (answer.UnprocessedIdentifiers ?? []).map((u) => ({
        ...u,
        RecordIdentifiersValueAsString: (u.RecordIdentifiersValueAsString ?? []).filter(
          (id) => !isRefused(u.FeatureGroupName, id)
        ),
      })),
    };
  }) as typeof client.send;
  return () => {
    client.send = previous;
  };
}

/** What a refusing endpoint answers for an operation it refuses. */
interface Refusal {
  readonly status: number;
  readonly code: string;
}

/**
 * An HTTP endpoint on 127.0.0.1 in front of the embedded store that answers the operations
 * `refuse` picks (`BatchWriteRecord`, `BatchGetRecord`, `DescribeFeatureGroup`…) with an error of
 * the service's wire shape (`x-amzn-ErrorType` and `{"__type","message"}`), e.g. 403
 * `AccessForbidden` or IAM's 400 `AccessDeniedException`, and passes every other request through.
 * A refusal as the real SDK meets it over HTTP, which the store itself never answers (it has no
 * IAM). `refuse` is asked per request, so a test can lift the refusal (the role fixed).
 */
async function startRefusingEndpoint(
  target: string,
  refuse: (operation: string) => Refusal | undefined
): Promise<{ endpoint: string; close(): Promise<void> }> {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const amzTarget = req.headers['x-amz-target'];
    const operation =
      typeof amzTarget === 'string'
        ? (amzTarget.split('.').pop() ?? '')
        : ((req.url ?? '').split(/[/?]/)[1] ?? '');
    const refusal = refuse(operation);
    if (refusal !== undefined) {
      req.resume();
      req.once('end', () => {
        res.writeHead(refusal.status, {
          'content-type': 'application/json',
          'x-amzn-ErrorType': refusal.code,
          'x-amzn-RequestId': 'refused',
        });
        const message = REFUSED_MESSAGE.replace('BatchGetRecord', operation);
        res.end(JSON.stringify({ __type: refusal.code, message }));
      });
      return;
    }
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      }
    );
    forward.once('error', () => res.destroy());
    req.pipe(forward);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

export type { Refusal, TestClock, TestStore };
export { clients, createGroup, refuseReads, startRefusingEndpoint, startTestStore, testClock };

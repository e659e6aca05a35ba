/**
 * The local front over real HTTP: client → 127.0.0.1 → proxy event → lookup handler → embedded
 * store, and the proxy events it builds, held to what API Gateway sends.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LookupFront, ProxyHandler } from '../../local/api/front.ts';
import { startLookupFront } from '../../local/api/front.ts';
import { loadTemplate } from '../../scripts/lib/cfnYaml.ts';
import { cards, merchants, transactions } from '../../shared/definitions.ts';
import { expectLoopbackOnly } from '../helpers/loopback.ts';
import { node, root } from '../helpers/stackProcess.ts';
import { type LookupStore, startLookupStore } from './storeFixture.ts';

const IDS = ['card/0001', '100%', 'card 0002', 'carte-€-ü-日本', 'a+b'];

let store: LookupStore;
let front: LookupFront;
let binaryFront: LookupFront;
let failingFront: LookupFront;
const seen: APIGatewayProxyEvent[] = [];

beforeAll(async () => {
  store = await startLookupStore();
  process.env.AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME = store.store.endpoint;
  for (const card_id of ['card-1', ...IDS]) {
    await store.put(cards, {
      card_id,
      event_time: new Date(),
      txn_count_7d: 7,
      home_country: 'FR',
    });
  }
  await store.put(transactions, { transaction_id: 'tx-1', event_time: new Date(), amount: 3.5 });
  await store.put(merchants, { merchant_id: 'm-1', event_time: new Date(), mcc: '5411' });
  const { handler } = (await import('../../functions/lookup/index.ts')) as unknown as {
    handler: ProxyHandler;
  };
  const recording: ProxyHandler = async (event, context) => {
    seen.push(event);
    return handler(event, context);
  };
  front = await startLookupFront({ port: 0, handler: recording });
  binaryFront = await startLookupFront({
    port: 0,
    handler: recording,
    binaryMediaTypes: ['application/octet-stream'],
  });
  failingFront = await startLookupFront({
    port: 0,
    handler: async () => {
      throw new Error('handler crashed');
    },
  });
});

afterAll(async () => {
  await Promise.all([front?.close(), binaryFront?.close(), failingFront?.close()]);
  await store?.close();
});

async function call(
  base: LookupFront,
  path: string,
  init: RequestInit = {}
): Promise<{
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  event?: APIGatewayProxyEvent;
}> {
  const before = seen.length;
  const response = await fetch(`${base.url}${path}`, init);
  const body = (await response.json()) as Record<string, unknown>;
  return {
    status: response.status,
    headers: response.headers,
    body,
    event: seen.length > before ? seen.at(-1) : undefined,
  };
}

const recordPath = (id: string) => `/feature-groups/fraud-cards/records/${encodeURIComponent(id)}`;

describe('Function: startLookupFront()', () => {
  it('listens on 127.0.0.1 only', async () => {
    await expectLoopbackOnly(front.url);
  });

  it('invokes functions/lookup/index.ts when no handler is given (npm start)', async () => {
    // Prepare
    const defaultFront = await startLookupFront({ port: 0 });
    try {
      // Act
      const { status, body } = await call(defaultFront, recordPath('card-1'));
      // Assess
      expect(status).toBe(200);
      expect(body.features).toMatchObject({ txn_count_7d: 7 });
    } finally {
      await defaultFront.close();
    }
  });

  it.each(IDS)(
    'serves GET for the URL-encoded id %j, decoded once like API Gateway',
    async (id) => {
      // Act
      const { status, body, event } = await call(front, recordPath(id));
      // Assess
      expect(status).toBe(200);
      expect(body.recordId).toBe(id);
      expect(event?.pathParameters).toEqual({ featureGroup: 'fraud-cards', recordId: id });
      expect(event?.path).toBe(recordPath(id));
    }
  );

  it('builds a real-shape REST proxy event (v1) with multi-value query strings', async () => {
    // Act
    const { status, body, headers, event } = await call(
      front,
      `${recordPath('card-1')}?features=txn_count_7d&features=home_country&expiration=false`,
      { headers: { 'X-Custom-Header': 'one', 'User-Agent': 'front-test' } }
    );
    // Assess
    expect(status).toBe(200);
    expect(body.features).toEqual({ txn_count_7d: 7, home_country: 'FR' });
    expect(event).toMatchObject({
      resource: '/feature-groups/{featureGroup}/records/{recordId}',
      httpMethod: 'GET',
      queryStringParameters: { features: 'home_country', expiration: 'false' },
      multiValueQueryStringParameters: {
        features: ['txn_count_7d', 'home_country'],
        expiration: ['false'],
      },
      stageVariables: null,
      body: null,
      isBase64Encoded: false,
      requestContext: {
        resourcePath: '/feature-groups/{featureGroup}/records/{recordId}',
        httpMethod: 'GET',
        stage: 'v1',
        path: '/v1/feature-groups/fraud-cards/records/card-1',
        protocol: 'HTTP/1.1',
        identity: { sourceIp: '127.0.0.1', userAgent: 'front-test' },
      },
    });
    expect(event?.headers['X-Custom-Header']).toBe('one');
    expect(event?.multiValueHeaders['X-Custom-Header']).toEqual(['one']);
    expect(event?.requestContext.requestTimeEpoch).toBeGreaterThan(0);
    expect(headers.get('x-request-id')).toBe(event?.requestContext.requestId);
    expect(headers.get('x-amzn-requestid')).toBe(event?.requestContext.requestId);
  });

  it('gives null query members without a query string, as API Gateway does', async () => {
    // Act
    const { event } = await call(front, recordPath('card-1'));
    // Assess
    expect(event?.queryStringParameters).toBeNull();
    expect(event?.multiValueQueryStringParameters).toBeNull();
  });

  it('accepts the stage prefix of the deployed URL (/v1/...)', async () => {
    // Act
    const { status, body } = await call(front, `/v1${recordPath('card-1')}`);
    // Assess
    expect(status).toBe(200);
    expect(body.recordId).toBe('card-1');
  });

  it('serves batch-get and vectors with JSON bodies', async () => {
    // Act
    const batch = await call(front, '/feature-groups/batch-get', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        identifiers: [{ featureGroup: 'fraud-cards', recordIds: ['card-1', 'nobody'] }],
      }),
    });
    const vectors = await call(front, '/feature-sets/fraud_model_v3/vectors', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        entities: [{ transaction_id: 'tx-1', card_id: 'card-1', merchant_id: 'm-1' }],
      }),
    });
    // Assess
    expect(batch.status).toBe(200);
    expect(batch.event?.pathParameters).toBeNull();
    expect(batch.event?.isBase64Encoded).toBe(false);
    expect((batch.body.records as unknown[]).length).toBe(1);
    expect(batch.body.notFound).toEqual([{ featureGroup: 'fraud-cards', recordId: 'nobody' }]);
    expect(vectors.status).toBe(200);
    expect(vectors.event?.pathParameters).toEqual({ featureSet: 'fraud_model_v3' });
    const [vector] = vectors.body.vectors as { values: unknown[] }[];
    expect(vector?.values[0]).toBe(3.5);
  });

  it('base64-encodes bodies of binary media types, and the handler decodes them', async () => {
    // Act
    const { status, body, event } = await call(binaryFront, '/feature-groups/batch-get', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: JSON.stringify({ identifiers: [{ featureGroup: 'fraud-cards', recordIds: ['a+b'] }] }),
    });
    // Assess
    expect(event?.isBase64Encoded).toBe(true);
    expect(Buffer.from(event?.body ?? '', 'base64').toString('utf8')).toContain('"a+b"');
    expect(status).toBe(200);
    expect((body.records as { recordId: string }[])[0]?.recordId).toBe('a+b');
  });

  it("passes a body that is not UTF-8 as text with U+FFFD, as API Gateway does without the template's (absent) BinaryMediaTypes", async () => {
    // Prepare: the template gives LookupApi no BinaryMediaTypes, so the default front has none
    // either, and every body reaches the function as a text payload, even application/octet-stream.
    const api = loadTemplate(join(root, 'template.yaml')).Resources.LookupApi?.Properties;
    expect(api?.BinaryMediaTypes).toBeUndefined();
    const latin1 = Buffer.from(
      '{"identifiers":[{"featureGroup":"fraud-cards","recordIds":["caf\xe9"]}]}',
      'latin1'
    );
    // Act
    const answers = await Promise.all(
      ['application/json', 'application/octet-stream'].map((type) =>
        call(front, '/feature-groups/batch-get', {
          method: 'POST',
          headers: { 'content-type': type },
          body: latin1,
        })
      )
    );
    // Assess: the é (byte E9) is U+FFFD in the event, so the handler looks up "caf\ufffd" and
    // misses it; its 400 for a body that is not UTF-8 is for base64 bodies, which never come.
    for (const { status, body, event } of answers) {
      expect(event?.isBase64Encoded).toBe(false);
      expect(event?.body).toContain('"caf\ufffd"');
      expect(status).toBe(200);
      expect(body.notFound).toEqual([{ featureGroup: 'fraud-cards', recordId: 'caf\ufffd' }]);
    }
  });

  it("passes the handler's errors through with the request id", async () => {
    // Act
    const { status, headers, body } = await call(front, recordPath('nobody'));
    // Assess
    expect(status).toBe(404);
    expect(body.requestId).toBe(headers.get('x-request-id'));
    expect(body.error).toBe('NotFound');
  });

  it.each([
    ['an unknown path', 'GET', '/feature-groups'],
    ['a path with an extra segment', 'GET', '/feature-groups/fraud-cards/records/a/b'],
    ['a method the route lacks', 'DELETE', '/feature-groups/fraud-cards/records/a'],
  ])(
    'answers 403 Missing Authentication Token for %s, as API Gateway does',
    async (_, method, path) => {
      // Act
      const { status, headers, body, event } = await call(front, path, { method });
      // Assess
      expect(status).toBe(403);
      expect(body).toEqual({ message: 'Missing Authentication Token' });
      expect(headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
      expect(headers.get('x-amzn-requestid')).toBeTruthy();
      expect(event).toBeUndefined();
    }
  );

  describe('CORS preflight (OPTIONS), answered like the mock SAM adds for LookupApi.Cors', () => {
    // The template's values are API Gateway header mappings: quoted literals.
    const cors = loadTemplate(join(root, 'template.yaml')).Resources.LookupApi?.Properties
      ?.Cors as Record<string, string>;
    const literal = (value: string | undefined) => value?.replace(/^'|'$/g, '');
    const preflight = (base: LookupFront, path: string) =>
      fetch(`${base.url}${path}`, {
        method: 'OPTIONS',
        headers: {
          Origin: 'https://dashboard.example',
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type',
        },
      });

    it.each([
      '/feature-groups/batch-get',
      '/v1/feature-sets/fraud_model_v3/vectors',
      recordPath('card/0001'),
    ])(
      'answers 200 for %s with the template methods, headers and max age, without invoking the function',
      async (path) => {
        // Prepare
        const before = seen.length;
        // Act
        const response = await preflight(front, path);
        // Assess
        expect(response.status).toBe(200);
        expect(response.headers.get('access-control-allow-methods')).toBe(
          literal(cors.AllowMethods)
        );
        expect(response.headers.get('access-control-allow-headers')).toBe(
          literal(cors.AllowHeaders)
        );
        expect(response.headers.get('access-control-max-age')).toBe(literal(cors.MaxAge));
        // ApiCorsAllowOrigin empty (the default): no Allow-Origin, so browsers refuse (CORS off).
        expect(response.headers.get('access-control-allow-origin')).toBeNull();
        expect(await response.text()).toBe('{}\n');
        expect(seen.length).toBe(before);
      }
    );

    it('sends the configured origin, as the template does with ApiCorsAllowOrigin set', async () => {
      // Prepare
      const corsFront = await startLookupFront({
        port: 0,
        handler: async () => ({ statusCode: 200, headers: {}, body: '{}' }),
        corsAllowOrigin: 'https://dashboard.example',
      });
      try {
        // Act
        const response = await preflight(corsFront, '/feature-groups/batch-get');
        // Assess
        expect(response.status).toBe(200);
        expect(response.headers.get('access-control-allow-origin')).toBe(
          'https://dashboard.example'
        );
      } finally {
        await corsFront.close();
      }
    });

    it('answers 403 Missing Authentication Token for a path the API lacks', async () => {
      // Act
      const response = await preflight(front, '/feature-groups');
      // Assess
      expect(response.status).toBe(403);
    });
  });

  it('answers 400 for a path segment that is not valid percent-encoding', async () => {
    // Act
    const { status, body } = await call(front, '/feature-groups/fraud-cards/records/%E0%A4%A');
    // Assess
    expect(status).toBe(400);
    expect(body.message).toContain('not valid percent-encoding');
  });

  it('runs one invocation at a time, as one Lambda execution environment does', async () => {
    // Prepare
    let running = 0;
    let most = 0;
    const slow = await startLookupFront({
      port: 0,
      handler: async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 20));
        running--;
        return { statusCode: 200, headers: {}, body: '{}' };
      },
    });
    try {
      // Act
      const statuses = await Promise.all(
        Array.from({ length: 5 }, () =>
          fetch(`${slow.url}${recordPath('x')}`).then((r) => r.status)
        )
      );
      // Assess
      expect(statuses).toEqual([200, 200, 200, 200, 200]);
      expect(most).toBe(1);
    } finally {
      await slow.close();
    }
  });

  it.each([
    // Over Lambda's 6,291,456-byte request payload: API Gateway's invocation is refused.
    ['7 MB', 3_500],
    // Over API Gateway's own 10 MB payload limit.
    ['11 MB', 5_500],
  ])(
    'answers 413 Request Too Long for a %s body, without invoking the function, as AWS does',
    async (_, count) => {
      // Prepare
      const before = seen.length;
      const body = JSON.stringify({
        identifiers: [
          {
            featureGroup: 'fraud-cards',
            recordIds: Array.from({ length: count }, (_, i) => `${i}`.padEnd(2000, 'x')),
          },
        ],
      });
      // Act
      const {
        status,
        headers,
        body: answer,
      } = await call(front, '/feature-groups/batch-get', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      // Assess
      expect(status).toBe(413);
      expect(answer).toEqual({ message: 'Request Too Long' });
      expect(headers.get('x-amzn-requestid')).toBeTruthy();
      expect(seen.length).toBe(before);
    }
  );

  it.each([
    ['a body that is not a string', { statusCode: 200, headers: {}, body: { ok: true } }],
    ['no status code', { headers: {}, body: '{}' }],
  ])('answers 502 for a malformed proxy result (%s), as API Gateway does', async (_, result) => {
    // Prepare
    const malformed = await startLookupFront({ port: 0, handler: async () => result });
    try {
      // Act
      const { status, body } = await call(malformed, recordPath('card-1'));
      // Assess
      expect(status).toBe(502);
      expect(body).toEqual({ message: 'Internal server error' });
    } finally {
      await malformed.close();
    }
  });

  it("answers 502 when the handler returns more than Lambda's 6 MB response payload, as AWS does", async () => {
    // Prepare: a 4.8 MB body of empty strings whose proxy result, as Lambda serialises it (each
    // quote of the body escaped), is 8 MB: over the 6,291,556 bytes Lambda returns.
    const body = JSON.stringify(new Array(1_600_000).fill(''));
    const oversized = await startLookupFront({
      port: 0,
      handler: async () => ({ statusCode: 200, headers: {}, body }),
    });
    try {
      // Act
      const { status, body: answer } = await call(oversized, recordPath('card-1'));
      // Assess
      expect(Buffer.byteLength(body)).toBeLessThan(5_000_000);
      expect(status).toBe(502);
      expect(answer).toEqual({ message: 'Internal server error' });
    } finally {
      await oversized.close();
    }
  });

  it('answers 502 Internal server error when the handler throws, as API Gateway does', async () => {
    // Act
    const { status, body, headers } = await call(failingFront, recordPath('card-1'));
    // Assess
    expect(status).toBe(502);
    expect(body).toEqual({ message: 'Internal server error' });
    expect(headers.get('x-amzn-requestid')).toBeTruthy();
  });
});

describe('the front alone (docs/lookup.md: node local/api/front.ts)', () => {
  it('serves the store without AWS configuration, as a newcomer runs it', async () => {
    // Prepare: the environment of a shell with no AWS region or credentials.
    const env: NodeJS.ProcessEnv = { PORT: '0' };
    for (const [name, value] of Object.entries(process.env)) {
      if (!name.startsWith('AWS_') && !name.startsWith('POWERTOOLS_')) env[name] = value;
    }
    env.AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME = store.store.endpoint;
    const child = spawn(node, [join(root, 'local/api/front.ts')], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          const match = /lookup API on (\S+)/.exec(chunk.toString());
          if (match?.[1] !== undefined) resolve(match[1]);
        });
        child.once('exit', (code) => reject(new Error(`front exited ${code}`)));
      });
      // Act
      const response = await fetch(`${url}/feature-groups/fraud-cards/records/card-1`);
      // Assess
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ recordId: 'card-1' });
    } finally {
      child.kill('SIGINT');
    }
  });

  it.each(['abc', '70000', '-1', '3000.5'])(
    'refuses PORT=%s in one line naming the variable, the value and the range, with a hint',
    (value) => {
      // Act
      const run = spawnSync(node, [join(root, 'local/api/front.ts')], {
        env: { ...process.env, PORT: value },
        encoding: 'utf8',
        timeout: 60_000,
      });
      // Assess
      expect(run.status).toBe(1);
      expect(run.stderr.trimEnd().split('\n')).toEqual([
        `skewless: environment variable PORT="${value}" must be an integer in [0, 65535]`,
        // PORT is the front's, not a function's: the hint says where it is documented
        '  hint: fix or unset it (docs/lookup.md, "Calling it locally", lists it)',
      ]);
    }
  );
});

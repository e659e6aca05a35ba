/**
 * closeServer, the clean stop of every local server (store, lookup front, local S3, local
 * Kinesis): an idle keep-alive client does not delay it, a request in flight that finishes within
 * the grace gets its answer (and its connection does not then hold the close), a request held
 * open is cut once the grace is over. A real node:http server on 127.0.0.1 and real clients.
 *
 * The time bounds are not speed checks: each is set well apart from what it rules out (the
 * grace, the keep-alive timeout, a request never cut), so a loaded machine does not fail them.
 */
import { once } from 'node:events';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeServer } from '../../local/runtime/closeServer.ts';
import { heldRequest } from '../helpers/stackProcess.ts';

/** Long enough that a close held by a keep-alive connection could not pass as a prompt one. */
const KEEP_ALIVE_MS = 60_000;
/**
 * The grace of the closes that should not wait for it: a close under half of it did not wait for
 * it (nor for the keep-alive timeout), however slow the machine.
 */
const LONG_GRACE_MS = 20_000;
const agents: Agent[] = [];
const servers: Server[] = [];

afterEach(() => {
  for (const agent of agents.splice(0)) agent.destroy();
  // A test that failed before its close leaves no server listening in the worker
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

/** A server that answers `/` at once and `/slow` after `slowMs`, keeping connections alive. */
async function startServer(slowMs = 300): Promise<{ server: Server; endpoint: string }> {
  const server = createServer({ keepAliveTimeout: KEEP_ALIVE_MS }, (req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/slow') setTimeout(() => res.end('slow answer'), slowMs);
      else res.end('answer');
    });
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A GET through a keep-alive agent: the body, or the error's code. */
function get(endpoint: string, path: string, agent: Agent): Promise<string> {
  return new Promise((resolve) => {
    const req = request(`${endpoint}${path}`, { agent }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve(body));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end();
  });
}

function keepAliveAgent(): Agent {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  agents.push(agent);
  return agent;
}

/** A request whose body never finishes arriving, once the server has it (destroy it when done). */
async function holdRequest(server: Server, endpoint: string): Promise<Socket> {
  const arrived = once(server, 'request');
  const socket = await heldRequest(
    endpoint,
    'POST / HTTP/1.1\r\nHost: x\r\ncontent-length: 1000\r\n\r\n{'
  );
  await arrived;
  return socket;
}

/** Milliseconds `closing` takes to resolve. */
async function timed(closing: Promise<void>, since: number): Promise<number> {
  await closing;
  return performance.now() - since;
}

describe('closeServer', () => {
  it('an idle keep-alive client does not delay the close', { timeout: 60_000 }, async () => {
    // Prepare: a client that was answered and keeps its connection open
    const { server, endpoint } = await startServer();
    const agent = keepAliveAgent();
    expect(await get(endpoint, '/', agent)).toBe('answer');
    // Act
    const took = await timed(closeServer(server, LONG_GRACE_MS), performance.now());
    // Assess: closed without waiting for the grace (nor the keep-alive timeout)
    expect(took).toBeLessThan(LONG_GRACE_MS / 2);
    expect(server.listening).toBe(false);
  });

  it('a request in flight that finishes within the grace gets its answer, and its connection then closes', {
    timeout: 60_000,
  }, async () => {
    // Prepare: a keep-alive connection answered once, then a request that takes 300 ms
    const { server, endpoint } = await startServer(300);
    const agent = keepAliveAgent();
    expect(await get(endpoint, '/', agent)).toBe('answer');
    const arrived = once(server, 'request');
    const answer = get(endpoint, '/slow', agent);
    await arrived;
    // Act
    const started = performance.now();
    const took = timed(closeServer(server, LONG_GRACE_MS), started);
    // Assess: answered, and the close is over soon after (not at the grace's end, nor after the
    // connection's keep-alive timeout)
    expect(await answer).toBe('slow answer');
    expect(await took).toBeLessThan(LONG_GRACE_MS / 2);
  });

  it('a request held open is cut once the grace is over', async () => {
    // Prepare: a request whose body never finishes arriving
    const { server, endpoint } = await startServer();
    const socket = await holdRequest(server, endpoint);
    const cut = once(socket, 'close');
    try {
      // Act
      const took = await timed(closeServer(server, 500), performance.now());
      // Assess: not before the grace; and cut, not left to Node's 300 s requestTimeout (a bound
      // far from both, for a loaded machine)
      expect(took).toBeGreaterThanOrEqual(450);
      expect(took).toBeLessThan(10_000);
      await cut;
      expect(socket.destroyed).toBe(true);
    } finally {
      socket.destroy();
    }
  });

  it('with no grace (0), a request in flight is cut at once', async () => {
    const { server, endpoint } = await startServer();
    const socket = await holdRequest(server, endpoint);
    try {
      const took = await timed(closeServer(server, 0), performance.now());
      // Not held for a grace: the shortest one a local server gives is 2 s (local S3), and a cut
      // at once takes milliseconds, so a bound of 1 s tells them apart on a loaded machine.
      expect(took).toBeLessThan(1_000);
    } finally {
      socket.destroy();
    }
  });
});

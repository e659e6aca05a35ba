/**
 * Whether a server listens on 127.0.0.1 only: what a socket is bound to shows in who it accepts.
 * Bound to every interface it accepts 127.0.0.2 too (on Linux the whole 127/8 is loopback); bound
 * to 127.0.0.1 alone, that connection is refused. A URL alone proves nothing: it is built from
 * the host option, not read from the socket.
 */
import { connect } from 'node:net';
import { expect } from 'vitest';

/** Whether a TCP connection to `host:port` is accepted, or the error code it ends with. */
function connectOutcome(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(5_000, () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/**
 * Asserts that the server of `url` (`http://127.0.0.1:<port>`) accepts 127.0.0.1 and refuses
 * 127.0.0.2.
 *
 * @example
 * ```typescript
 * await expectLoopbackOnly(front.url);
 * ```
 */
async function expectLoopbackOnly(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  expect(hostname, url).toBe('127.0.0.1');
  expect(await connectOutcome('127.0.0.1', Number(port)), url).toBe('connected');
  expect(await connectOutcome('127.0.0.2', Number(port)), url).toBe('ECONNREFUSED');
}

export { connectOutcome, expectLoopbackOnly };

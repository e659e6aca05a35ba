import type { Server } from 'node:http';

/**
 * How often, during the grace, connections that went idle are closed: Node has no event for a
 * keep-alive connection whose last request was just answered.
 */
const IDLE_CHECK_MS = 50;

/**
 * Closes an HTTP server gracefully, for the local servers' clean stop: resolves once the server
 * has closed.
 *
 * Node's own `server.close()` stops accepting and closes the keep-alive connections idle at that
 * moment. Two things it leaves open, done here:
 * - a connection whose request is answered after the close stays open as keep-alive, holding
 *   the close for the server's `keepAliveTimeout` (30-65 s here): such connections are closed as
 *   soon as they go idle (checked every {@link IDLE_CHECK_MS} ms);
 * - a request that never finishes (a client whose body stops arriving) holds the close until
 *   Node's `requestTimeout` (300 s): after `graceMs`, `closeAllConnections()` cuts whatever is
 *   left.
 * The timers are unref'd: they never keep a process alive on their own.
 *
 * @param graceMs - how long requests in flight get to finish (0: cut them at once)
 * @example
 * ```typescript
 * import { closeServer } from './local/runtime/closeServer.ts';
 * await closeServer(server, 5_000); // idle clients closed at once, slow ones cut after 5 s
 * ```
 */
function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const idleCheck = setInterval(() => server.closeIdleConnections(), IDLE_CHECK_MS);
    idleCheck.unref();
    const grace = setTimeout(() => {
      clearInterval(idleCheck);
      server.closeAllConnections();
    }, graceMs);
    grace.unref();
    server.close((error) => {
      clearInterval(idleCheck);
      clearTimeout(grace);
      if (error === undefined) resolve();
      else reject(error);
    });
  });
}

export { closeServer };

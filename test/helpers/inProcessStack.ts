/**
 * `npm start`'s stack run inside the test's own process (startStack), for the tests that drive it
 * through its endpoints and read its files: every port chosen by the system (0, on 127.0.0.1), no
 * demo, audits an hour apart, the offline store flushed every 300 ms, the servers logging errors
 * only and the startup lines silenced.
 */
import { type RunningStack, startStack } from '../../local/start.ts';

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/**
 * Starts the stack on `dataDir`; `stop()` it when done.
 *
 * @example
 * ```typescript
 * const stack = await startInProcessStack(dataDir);
 * try { await drive(stack.endpoints.s3); } finally { await stack.stop(); }
 * ```
 */
function startInProcessStack(dataDir: string): Promise<RunningStack> {
  return startStack(
    {
      dataDir,
      apiPort: 0,
      storePort: 0,
      kinesisPort: 0,
      s3Port: 0,
      demo: false,
      demoRate: 1,
      demoMaxEvents: 1,
      auditIntervalSeconds: 3600,
      flushIntervalMs: 300,
      logLevel: 'error',
    },
    quiet as never
  );
}

export { startInProcessStack };

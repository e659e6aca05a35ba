/**
 * The embedded store in its own process (`local/store/main.ts`), so that on a 2-core machine the
 * store and the code under test each get a core. SIGTERM flushes the offline store and exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  exitCodeOf,
  processCpuSeconds,
  spawnStoreProcess,
  storeListening,
} from '../helpers/stackProcess.ts';

interface ChildStoreOptions {
  readonly flushIntervalMs?: number;
  /** Share of runtime requests answered 500/503 (the store's fault injection). */
  readonly serverErrorShare?: number;
  readonly faultSeed?: number;
}

interface ChildStore {
  readonly endpoint: string;
  readonly dataDir: string;
  /** CPU seconds the store process has used so far (Linux), NaN elsewhere. */
  cpuSeconds(): number;
  /** SIGTERM: in-flight requests answered, offline rows flushed to Parquet, process gone. */
  stop(): Promise<void>;
  /** Stops if needed and deletes the data directory. */
  dispose(): Promise<void>;
}

async function startChildStore(options: ChildStoreOptions = {}): Promise<ChildStore> {
  const dataDir = mkdtempSync(join(tmpdir(), 'skewless-derived-'));
  const args = [
    '--port',
    '0',
    '--data-dir',
    dataDir,
    '--flush-interval',
    String(options.flushIntervalMs ?? 600_000),
    '--log-level',
    'info',
  ];
  if (options.serverErrorShare !== undefined) {
    args.push('--fault-5xx', String(options.serverErrorShare));
    if (options.faultSeed !== undefined) args.push('--fault-seed', String(options.faultSeed));
  }
  const store = spawnStoreProcess(args);
  const { child } = store;
  const exited = exitCodeOf(store);
  const endpoint = await storeListening(store);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    child.kill('SIGTERM');
    await exited;
  };
  return {
    endpoint,
    dataDir,
    cpuSeconds: () => processCpuSeconds(child.pid),
    stop,
    dispose: async () => {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type { ChildStore, ChildStoreOptions };
export { startChildStore };

/**
 * The embedded SageMaker Feature Store: a local server that the AWS SDK and CLI talk to unchanged.
 *
 * @example
 * const store = await startStore({ port: 0, dataDir: '.skewless/store' });
 * const client = new SageMakerFeatureStoreRuntimeClient({ endpoint: store.endpoint });
 * // … later
 * await store.close();
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { makeDirectory } from '../../shared/runtime/makeDirectory.ts';
import { closeServer } from '../runtime/closeServer.ts';
import { bootId, isRecordedProcessAlive, processStartTicks } from '../runtime/processAlive.ts';
import { removeIfUnchanged } from '../runtime/removeIfUnchanged.ts';
import { sameDirectory } from '../runtime/sameDirectory.ts';
import {
  type Clock,
  GroupLifecycle,
  GroupRegistry,
  microsCounter,
  type StoreContext,
  systemClock,
} from './context.ts';
import { loadGroups } from './controlPlane.ts';
import { StoreDatabase } from './db.ts';
import { FaultInjector, type FaultOptions } from './faults.ts';
import { createLogger, type LogLevel, type LogSink } from './logger.ts';
import { type OfflineHooks, OfflineWriter } from './offline.ts';
import { createHandler } from './server.ts';

const HOST = '127.0.0.1';
const DEFAULT_ACCOUNT = '000000000000';
const DEFAULT_REGION = 'us-east-1';
const DEFAULT_FLUSH_INTERVAL_MS = 5000;
/** In-flight requests get this long to finish at close before their sockets are destroyed. */
const CLOSE_GRACE_MS = 5000;

interface StoreOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  readonly port?: number;
  /** Directory for `store.sqlite` and `offline-store/`; created if missing. */
  readonly dataDir: string;
  /** Account id in ARNs and the offline layout (default 000000000000). */
  readonly account?: string;
  /** Region in ARNs and the offline layout (default us-east-1). */
  readonly region?: string;
  /** How often buffered offline rows are written to Parquet (default 5000 ms). */
  readonly flushIntervalMs?: number;
  /** Fault injection for runtime requests; off by default. */
  readonly faults?: FaultOptions;
  /** Log threshold (default `info`; `debug` logs every request). */
  readonly logLevel?: LogLevel;
  /** Where log lines go (default: stdout for debug/info, stderr for warn/error). */
  readonly logger?: LogSink;
  /** Clock for TTL expiry, api_invocation_time, write_time and creation times (default: wall clock). */
  readonly clock?: Clock;
  /** fsync the database on every commit (survives power loss, not only process crashes). */
  readonly fsync?: boolean;
  /** Test seams (see OfflineHooks); not for production use. */
  readonly hooks?: OfflineHooks;
  /**
   * How long a new feature group stays `Creating` (DescribeFeatureGroup) and refuses records, as
   * on AWS, in ms. 0 (default) makes groups `Created` at once; `npm start` and `skewless store`
   * use {@link DEFAULT_CREATING_MS}, so client code that does not wait fails locally as on AWS.
   */
  readonly creatingMs?: number;
}

/** The `Creating` time `npm start` and `skewless store` give new groups (ms). */
const DEFAULT_CREATING_MS = 500;

interface RunningStore {
  /** `http://127.0.0.1:<port>`, for `endpoint` / `--endpoint-url` / `AWS_ENDPOINT_URL_*`. */
  readonly endpoint: string;
  readonly port: number;
  /** Absolute data directory. */
  readonly dataDir: string;
  /** Writes every acknowledged offline row to Parquet now. */
  flush(): Promise<void>;
  /** Stops listening, answers in-flight requests, flushes the offline store, closes the database. */
  close(): Promise<void>;
  /** Absolute `…/data` directory of a group's offline table (name or ARN), if it has one. */
  offlineDataPath(groupName: string): string | undefined;
  /** Replaces the fault-injection settings (`{}` turns faults off). */
  setFaults(faults: FaultOptions): void;
}

/**
 * The stores of this process by data directory, each from the moment it takes its lock until it
 * releases it: opening (replaying its journal, before `startStore` returns it to anyone), running
 * or closing. A second open of one directory would corrupt the journal's batching.
 */
const heldStores = new Map<string, HeldStore>();

/** A store of this process as a quit at once needs it. */
interface HeldStore {
  readonly lock: DataDirLock;
  /** Offline rows waiting in its journal; undefined before its database is open and once closed. */
  pendingOfflineRows(): number | undefined;
}

/** What a store of this process left in its journal when it was quit at once. */
interface QuitStore {
  readonly dataDir: string;
  /** Offline rows not yet in Parquet; undefined: its database was not open (yet, or any more). */
  readonly pendingOfflineRows: number | undefined;
}

/**
 * For a process about to exit without `close()` (a forced quit, or a signal while a store is
 * still opening, which no caller holds yet): every store of this process, with the rows its
 * journal keeps for the next start (read first), then its `store.lock` released, synchronously.
 * Nothing else is needed: the journal keeps every acknowledged row.
 *
 * @example
 * ```typescript
 * import { releaseStoresNow } from './local/store/index.ts';
 * process.on('SIGTERM', () => {
 *   releaseStoresNow(); // [{ dataDir: '/app/.skewless/store', pendingOfflineRows: 1200 }]
 *   process.exit(143);
 * });
 * ```
 */
function releaseStoresNow(): QuitStore[] {
  return [...heldStores].map(([dataDir, held]) => {
    const pendingOfflineRows = held.pendingOfflineRows();
    releaseLock(held.lock);
    return { dataDir, pendingOfflineRows };
  });
}

/**
 * Takes `<dataDir>/store.lock`: the pid of this process, the directory, the machine's boot id
 * and the process's start time (clock ticks since the boot). A lock that names another directory
 * was copied along with the data dir of a running store (`cp -a`): its live pid holds the
 * original, not this copy. A lock from another boot was left by a process that died with the
 * machine (a crash, a power cut), and one whose live pid started at another time by a process of
 * an earlier container (a restart counts pids from 1 again and keeps the host's boot id): either
 * way that pid is another process's now. (A lock without a directory, boot id or start time is an
 * earlier version's.)
 */
function lock(dataDir: string): DataDirLock {
  const path = `${dataDir}/store.lock`;
  if (heldStores.has(dataDir)) {
    throw new Error(`data dir ${dataDir} is already open in this process`);
  }
  const boot = bootId();
  if (existsSync(path)) {
    const [pidLine = '', holderDir = '', holderBoot = '', holderStart = ''] = readFileSync(
      path,
      'utf8'
    ).split('\n');
    const pid = Number(pidLine.trim());
    if (
      Number.isInteger(pid) &&
      pid > 0 &&
      pid !== process.pid &&
      isRecordedProcessAlive({
        pid,
        bootId: holderBoot || undefined,
        startTicks: holderStart === '' ? undefined : Number(holderStart),
      }) &&
      (holderDir === '' || sameDirectory(holderDir, dataDir))
    ) {
      throw new Error(`data dir ${dataDir} is in use by process ${pid} (${path})`);
    }
  }
  const text = `${process.pid}\n${dataDir}\n${boot ?? ''}\n${processStartTicks(process.pid) ?? ''}\n`;
  writeFileSync(path, text);
  return { path, text };
}

/** The lock file this process wrote, and its exact content. */
interface DataDirLock {
  readonly path: string;
  readonly text: string;
}

/** Removes the lock if it still holds what this process wrote (removeIfUnchanged). */
function releaseLock(taken: DataDirLock): void {
  removeIfUnchanged(taken.path, taken.text);
}

/**
 * Request line and headers, bytes. GetRecord sends its FeatureNames in the query string: a group
 * may define 2,500 features with names of up to 64 characters (~193 KB as `&FeatureName=…`).
 * Node's default (16 KiB) answered a GetRecord naming a few hundred features with a bare 431
 * (the SDK's UnknownError).
 */
const MAX_REQUEST_HEAD_BYTES = 256 * 1024;

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolveListen((server.address() as AddressInfo).port);
    });
  });
}

async function startStore(options: StoreOptions): Promise<RunningStore> {
  const dataDir = resolve(options.dataDir);
  const account = options.account ?? DEFAULT_ACCOUNT;
  const region = options.region ?? DEFAULT_REGION;
  if (!/^\d{12}$/.test(account)) throw new Error(`account must be 12 digits, got ${account}`);
  if (!/^[a-z0-9-]+$/.test(region)) throw new Error(`region ${region} is not a region name`);
  const flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
  if (!Number.isFinite(flushIntervalMs) || flushIntervalMs < 1) {
    throw new Error(`flushIntervalMs must be >= 1, got ${flushIntervalMs}`);
  }
  const creatingMs = options.creatingMs ?? 0;
  if (!Number.isFinite(creatingMs) || creatingMs < 0) {
    throw new Error(`creatingMs must be >= 0, got ${creatingMs}`);
  }
  const logger = createLogger(options.logLevel ?? 'info', options.logger);
  const faults = new FaultInjector(options.faults);
  makeDirectory(dataDir);
  const dirLock = lock(dataDir);
  let db: StoreDatabase | undefined;
  let offline: OfflineWriter | undefined;
  const pendingOfflineRows = () => (db?.sql.isOpen === true ? offline?.pending() : undefined);
  heldStores.set(dataDir, { lock: dirLock, pendingOfflineRows });
  try {
    db = new StoreDatabase(`${dataDir}/store.sqlite`, { fsync: options.fsync });
    const clock = options.clock ?? systemClock;
    const ctx: StoreContext = {
      db,
      groups: new GroupRegistry(account, region),
      clock,
      account,
      region,
      offlineRoot: `${dataDir}/offline-store`,
      lifecycle: new GroupLifecycle(creatingMs),
      apiMicros: microsCounter(clock),
    };
    loadGroups(ctx);
    const writer = new OfflineWriter(ctx, logger, options.hooks);
    offline = writer;
    const pending = writer.pending();
    if (pending > 0) logger.info(`replaying ${pending} journalled offline rows`);
    await writer.flush();

    const server = createServer(
      { keepAliveTimeout: 60_000, maxHeaderSize: MAX_REQUEST_HEAD_BYTES },
      createHandler(ctx, faults, logger)
    );
    const port = await listen(server, options.port ?? 0);
    writer.start(flushIntervalMs);
    const endpoint = `http://${HOST}:${port}`;
    const names = ctx.groups
      .list()
      .map((g) => g.name)
      .sort();
    logger.info(
      `Skewless feature store listening on ${endpoint} | data dir ${dataDir} | account ${account}, region ${region} | ${names.length === 0 ? 'no feature groups yet' : `${names.length} feature group(s): ${names.join(', ')}`} | offline flush every ${flushIntervalMs} ms | faults ${faults.describe()}`
    );

    const database = db;
    let closing: Promise<void> | undefined;
    const close = async (): Promise<void> => {
      writer.stop();
      await closeServer(server, CLOSE_GRACE_MS);
      database.commit();
      try {
        await writer.flush();
      } catch (error) {
        // Rows stay journalled and are written at the next start.
        logger.error(
          `final offline flush failed; rows stay journalled for the next start: ${String(error)}`
        );
      }
      await writer.close();
      database.close();
      heldStores.delete(dataDir);
      releaseLock(dirLock);
      logger.info(`Skewless feature store on ${endpoint} stopped`);
    };

    return {
      endpoint,
      port,
      dataDir,
      flush: () => writer.flush(),
      close: () => {
        closing ??= close();
        return closing;
      },
      offlineDataPath: (groupName) => ctx.groups.resolve(groupName)?.offlineDataPath,
      setFaults: (f) => faults.configure(f),
    };
  } catch (error) {
    await offline?.close().catch(() => undefined);
    try {
      db?.close();
    } catch {
      // Already closed or never opened.
    }
    heldStores.delete(dataDir);
    releaseLock(dirLock);
    throw error;
  }
}

export type { Clock } from './context.ts';
export type { FaultOptions } from './faults.ts';
export type { LogLevel, LogSink } from './logger.ts';
export type { OfflineHooks } from './offline.ts';
export type { QuitStore, RunningStore, StoreOptions };
export {
  DEFAULT_ACCOUNT,
  DEFAULT_CREATING_MS,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_REGION,
  releaseStoresNow,
  startStore,
};

/**
 * `skewless store`: runs the embedded feature store in the foreground until SIGINT/SIGTERM, which
 * stop it cleanly (in-flight requests answered, offline rows flushed to Parquet).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { COMMAND_DESCRIPTIONS } from '../cli/descriptions.ts';
import { accountId, directoryPath, integerFrom, numberValue, regionName } from '../cli/parsers.ts';
import { listenerStartError } from '../cli/userErrors.ts';
import { forcedQuitLine, onStopSignals, quitStoresNow, signalExitCode } from '../forcedQuit.ts';
import {
  DEFAULT_ACCOUNT,
  DEFAULT_CREATING_MS,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_REGION,
  type RunningStore,
  startStore,
} from './index.ts';
import { isLogLevel, LOG_LEVELS, type LogLevel } from './logger.ts';

const DEFAULT_PORT = 8765;
const DEFAULT_DATA_DIR = '.skewless/store';

function fraction(value: string): number {
  const n = numberValue(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    throw new InvalidArgumentError('expected a share from 0 to 1, e.g. 0.05');
  }
  return n;
}

function logLevel(value: string): LogLevel {
  if (!isLogLevel(value))
    throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(', ')}`);
  return value;
}

interface StoreCliOptions {
  port: number;
  dataDir: string;
  account: string;
  region: string;
  flushInterval: number;
  creatingMs: number;
  faultThrottle: number;
  fault5xx: number;
  faultDrop: number;
  faultLatencyMs: number;
  faultLatencyShare: number;
  faultEntryThrottle: number;
  faultEntryUnprocessed: number;
  faultIdentifierUnprocessed: number;
  faultSeed?: number;
  logLevel: LogLevel;
  fsync: boolean;
}

function registerStoreCommand(program: Command): void {
  program
    .command('store')
    .description(COMMAND_DESCRIPTIONS.store)
    .addOption(
      new Option('-p, --port <port>', 'TCP port on 127.0.0.1 (0 picks a free port)')
        .default(DEFAULT_PORT)
        .argParser(integerFrom(0, 65535))
    )
    .addOption(
      new Option(
        '-d, --data-dir <dir>',
        'directory for store.sqlite (online store, groups, journal) and offline-store/ (Parquet)'
      )
        .default(DEFAULT_DATA_DIR)
        .argParser(directoryPath)
    )
    .addOption(
      new Option('--account <id>', '12-digit account id used in ARNs and the offline layout')
        .default(DEFAULT_ACCOUNT)
        .argParser(accountId)
    )
    .addOption(
      new Option('--region <region>', 'region used in ARNs and the offline layout')
        .default(DEFAULT_REGION)
        .argParser(regionName)
    )
    .addOption(
      new Option(
        '--flush-interval <ms>',
        'how often buffered offline rows are written to Parquet, in ms'
      )
        .default(DEFAULT_FLUSH_INTERVAL_MS)
        .argParser(integerFrom(1, 86_400_000))
    )
    .addOption(
      new Option(
        '--creating-ms <ms>',
        'how long a new feature group stays Creating (refusing records) before it is Created; 0 = at once'
      )
        .default(DEFAULT_CREATING_MS)
        .argParser(integerFrom(0, 600_000))
    )
    .addOption(
      new Option(
        '--fault-throttle <share>',
        'share (0-1) of runtime requests answered 429 ThrottlingException'
      )
        .default(0)
        .argParser(fraction)
    )
    .addOption(
      new Option(
        '--fault-5xx <share>',
        'share (0-1) of runtime requests answered 500 InternalFailure or 503 ServiceUnavailable'
      )
        .default(0)
        .argParser(fraction)
    )
    .addOption(
      new Option(
        '--fault-drop <share>',
        'share (0-1) of runtime requests whose connection is dropped without an answer'
      )
        .default(0)
        .argParser(fraction)
    )
    .addOption(
      new Option('--fault-latency-ms <ms>', 'latency added to runtime requests, in ms')
        .default(0)
        .argParser(integerFrom(0, 600_000))
    )
    .addOption(
      new Option(
        '--fault-latency-share <share>',
        'share (0-1) of runtime requests that get --fault-latency-ms'
      )
        .default(1)
        .argParser(fraction)
    )
    .addOption(
      new Option(
        '--fault-entry-throttle <share>',
        'share (0-1) of BatchWriteRecord entries answered as a ThrottlingException Errors item'
      )
        .default(0)
        .argParser(fraction)
    )
    .addOption(
      new Option(
        '--fault-entry-unprocessed <share>',
        'share (0-1) of BatchWriteRecord entries returned in UnprocessedEntries'
      )
        .default(0)
        .argParser(fraction)
    )
    .addOption(
      new Option(
        '--fault-identifier-unprocessed <share>',
        'share (0-1) of BatchGetRecord record identifiers returned in UnprocessedIdentifiers'
      )
        .default(0)
        .argParser(fraction)
    )
    .addOption(
      new Option(
        '--fault-seed <n>',
        'seed for reproducible fault draws (default: random)'
      ).argParser(integerFrom(0, 2 ** 32 - 1))
    )
    .addOption(
      new Option('--log-level <level>', 'log threshold; debug logs one line per request')
        .choices([...LOG_LEVELS])
        .default('info')
        .argParser(logLevel)
    )
    .addOption(
      new Option(
        '--fsync',
        'fsync the database on every commit (survives power loss, slower); crash safety does not need it'
      ).default(false)
    )
    .addHelpText(
      'after',
      '\nFaults apply to the runtime API only (never the control plane) and are decided before any state change.\nPoint clients at the endpoint: AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME and AWS_ENDPOINT_URL_SAGEMAKER, or --endpoint-url.'
    )
    .action(async (opts: StoreCliOptions) => {
      // Installed before the store opens: it takes store.lock, then replays its journal (seconds
      // after a crash left many rows), and a signal meanwhile would otherwise kill the process
      // with Node's default, the lock left behind and the user without a word.
      let store: RunningStore | undefined;
      /** The signal that came while the store was still opening: it stops once open. */
      let stopWhenOpen: NodeJS.Signals | undefined;
      let stopping = false;
      let stopped = (): void => {};
      const close = (open: RunningStore): Promise<void> =>
        open.close().catch((error: unknown) => {
          process.stderr.write(`error while stopping: ${String(error)}\n`);
          process.exitCode = 1;
        });
      const stop = (signal: NodeJS.Signals): void => {
        if (stopping) {
          // Quit without waiting for the flush: the lock is released first (a stale
          // store.lock misleads users and scripts); the journal keeps the rows for the next start.
          process.stderr.write(`${forcedQuitLine(signal, quitStoresNow())}\n`);
          process.exit(signalExitCode(signal));
        }
        stopping = true;
        process.stderr.write(`${signal}: stopping the feature store…\n`);
        if (store === undefined) stopWhenOpen = signal;
        else void close(store).then(() => stopped());
      };
      const stopListening = onStopSignals(stop);
      const running = new Promise<void>((done) => {
        stopped = done;
      });
      try {
        store = await startStore({
          port: opts.port,
          dataDir: opts.dataDir,
          account: opts.account,
          region: opts.region,
          flushIntervalMs: opts.flushInterval,
          creatingMs: opts.creatingMs,
          logLevel: opts.logLevel,
          fsync: opts.fsync,
          faults: {
            throttle: opts.faultThrottle,
            serverError: opts.fault5xx,
            drop: opts.faultDrop,
            latencyMs: opts.faultLatencyMs,
            latencyShare: opts.faultLatencyShare,
            entryThrottle: opts.faultEntryThrottle,
            entryUnprocessed: opts.faultEntryUnprocessed,
            identifierUnprocessed: opts.faultIdentifierUnprocessed,
            ...(opts.faultSeed === undefined ? {} : { seed: opts.faultSeed }),
          },
        });
      } catch (error) {
        stopListening();
        throw listenerStartError(
          error,
          [{ part: 'embedded feature store', flag: '--port', port: opts.port }],
          opts.dataDir
        );
      }
      if (stopWhenOpen !== undefined) {
        // Stopped before it served anything: as an interrupted `npm start`, 128 + the signal.
        await close(store);
        process.exitCode ??= signalExitCode(stopWhenOpen);
        return;
      }
      await running;
    });
}

export { registerStoreCommand };

import { type Command, InvalidArgumentError, Option } from 'commander';
import { forcedQuitLine, onStopSignals, signalExitCode } from '../forcedQuit.ts';
import { LEVELS, type LogLevel } from '../runtime/consoleLog.ts';
import type { RunningStack, Startup } from '../start.ts';
import { START_DEFAULTS } from '../startDefaults.ts';
import { COMMAND_DESCRIPTIONS } from './descriptions.ts';
import { directoryPath, integerFrom, integerValue, numberValue } from './parsers.ts';
import { listenerStartError, UserError } from './userErrors.ts';

/** The parts of the stack that listen, with the flag that moves each. */
const LISTENERS = [
  { part: 'lookup API', flag: '--api-port', option: 'apiPort' },
  { part: 'embedded feature store', flag: '--store-port', option: 'storePort' },
  { part: 'local Kinesis', flag: '--kinesis-port', option: 'kinesisPort' },
  { part: 'local S3', flag: '--s3-port', option: 's3Port' },
] as const;

function port(value: string): number {
  const n = integerValue(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('expected a port from 0 to 65535 (0 picks a free one)');
  return n;
}

/** The longest delay Node's timers take (2^31 − 1 ms); beyond it a timer fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The demo sends at most 500 events per 200 ms tick (local/demo/producer.ts). */
const MAX_DEMO_RATE = 2500;

function demoRate(value: string): number {
  const n = numberValue(value);
  if (!Number.isFinite(n) || n <= 0 || n > MAX_DEMO_RATE) {
    throw new InvalidArgumentError(
      `expected events per second above 0, at most ${MAX_DEMO_RATE} (what the demo can send)`
    );
  }
  return n;
}

function demoMaxEvents(value: string): number {
  const n = integerValue(value);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(
      `expected a whole number of events from 1 to ${Number.MAX_SAFE_INTEGER}`
    );
  }
  return n;
}

function auditSeconds(value: string): number {
  const n = numberValue(value);
  const max = Math.floor(MAX_TIMER_MS / 1000);
  if (!Number.isFinite(n) || n < 1 || n > max) {
    throw new InvalidArgumentError(
      `expected seconds from 1 to ${max} (a timer's limit, ~24.8 days)`
    );
  }
  return n;
}

/** The embedded store's own bound (`skewless store --flush-interval`). */
const flushMs = integerFrom(1, 86_400_000);

/** `skewless start` (what `npm start` runs). */
function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description(COMMAND_DESCRIPTIONS.start)
    .addOption(
      new Option('--data-dir <dir>', 'where all state lives')
        .default(START_DEFAULTS.dataDir)
        .argParser(directoryPath)
    )
    .addOption(
      new Option('--api-port <port>', 'lookup API port on 127.0.0.1')
        .default(START_DEFAULTS.apiPort)
        .argParser(port)
    )
    .addOption(
      new Option('--store-port <port>', 'embedded feature store port')
        .default(START_DEFAULTS.storePort)
        .argParser(port)
    )
    .addOption(
      new Option('--kinesis-port <port>', 'local Kinesis port')
        .default(START_DEFAULTS.kinesisPort)
        .argParser(port)
    )
    .addOption(
      new Option('--s3-port <port>', 'local S3 port').default(START_DEFAULTS.s3Port).argParser(port)
    )
    .option('--no-demo', 'do not run the demo payments producer')
    .option(
      '--handler-logs',
      "also show the handlers' Powertools JSON log lines (always on with --log-level debug)"
    )
    .addOption(
      new Option('--demo-rate <events/s>', 'demo events per second')
        .default(START_DEFAULTS.demoRate)
        .argParser(demoRate)
    )
    .addOption(
      new Option('--demo-max-events <n>', 'the demo stops after this many events')
        .default(START_DEFAULTS.demoMaxEvents)
        .argParser(demoMaxEvents)
    )
    .addOption(
      new Option(
        '--audit-interval <seconds>',
        'audit schedule (it also runs with `skewless audit`)'
      )
        .default(START_DEFAULTS.auditIntervalSeconds)
        .argParser(auditSeconds)
    )
    .addOption(
      new Option('--flush-interval <ms>', 'offline store flush interval')
        .default(START_DEFAULTS.flushIntervalMs)
        .argParser(flushMs)
    )
    .addOption(
      new Option('--log-level <level>', 'log threshold')
        .choices(Object.keys(LEVELS))
        .default(START_DEFAULTS.logLevel)
    )
    .action(async (opts, command: Command) => {
      // A demo option with --no-demo: one of the two is a mistake, and the stack would start
      // without the demo the option asks for.
      if (opts.demo === false) {
        for (const [option, flag] of [
          ['demoRate', '--demo-rate'],
          ['demoMaxEvents', '--demo-max-events'],
        ] as const) {
          if (command.getOptionValueSource(option) === 'cli') {
            throw new UserError(
              `${flag} sets the demo, which --no-demo turns off`,
              `drop ${flag} for a stack without the demo, or --no-demo for one with it`
            );
          }
        }
      }
      // Two parts on one port: the second would fail as "port in use" by the first, which
      // reads as if something else held it.
      const named = LISTENERS.filter((l) => opts[l.option] !== 0);
      for (const [i, a] of named.entries()) {
        const b = named.slice(i + 1).find((l) => opts[l.option] === opts[a.option]);
        if (b !== undefined) {
          throw new UserError(
            `${a.flag} and ${b.flag} both name port ${opts[a.option]}: the ${a.part} and the ${b.part} cannot share it`,
            'give each part its own port (0 picks a free one)'
          );
        }
      }
      // Installed before anything starts: a Ctrl-C during the startup (~5 s) would otherwise kill
      // the process with Node's default, leaving the parts started so far unstopped (the offline
      // store's journal for replay, store.lock) and the user without a word.
      const interrupt = new AbortController();
      const startup: Startup = { signal: interrupt.signal };
      let stack: RunningStack | undefined;
      let stopping = false;
      let interruptedBy: NodeJS.Signals | undefined;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) {
          // Synchronous to the end: the process exits right after. A stale endpoints.json would
          // send the other commands and scripts to a stack that is gone.
          const unfinished = (stack?.quitNow ?? startup.quitNow)?.() ?? [];
          process.stderr.write(`\n${forcedQuitLine(signal, unfinished)}\n`);
          process.exit(signalExitCode(signal));
        }
        stopping = true;
        if (stack === undefined) {
          // startStack stops what it has started at its next step and rejects: see below.
          process.stdout.write(`\n${signal} during startup: stopping what has started...\n`);
          interruptedBy = signal;
          interrupt.abort(new Error(`${signal} during startup`));
          return;
        }
        process.stdout.write(
          `\n${signal}: stopping (draining the stream, flushing the offline store)...\n`
        );
        stack.stop().then(
          () => {
            process.stdout.write('stopped cleanly\n');
            process.exit(0);
          },
          (error) => {
            process.stderr.write(`error while stopping: ${String(error)}\n`);
            process.exit(1);
          }
        );
      };
      onStopSignals(stop);
      // Loaded on use: `skewless --help` should not start importing every handler.
      const { banner, startStack } = await import('../start.ts');
      try {
        stack = await startStack(
          {
            dataDir: opts.dataDir,
            apiPort: opts.apiPort,
            storePort: opts.storePort,
            kinesisPort: opts.kinesisPort,
            s3Port: opts.s3Port,
            demo: opts.demo,
            demoRate: opts.demoRate,
            demoMaxEvents: opts.demoMaxEvents,
            auditIntervalSeconds: opts.auditInterval,
            flushIntervalMs: opts.flushInterval,
            logLevel: opts.logLevel as LogLevel,
            handlerLogs: opts.handlerLogs === true,
          },
          undefined,
          startup
        );
      } catch (error) {
        if (interruptedBy !== undefined) {
          // The parts started so far are stopped; the stack was not, as asked: 128 + the signal.
          process.stdout.write('stopped during startup, cleanly\n');
          process.exit(signalExitCode(interruptedBy));
        }
        throw listenerStartError(
          error,
          LISTENERS.map((l) => ({ part: l.part, flag: l.flag, port: opts[l.option] as number })),
          opts.dataDir
        );
      }
      // The handlers came first: a Ctrl-C sent the moment the banner shows (a script waiting for
      // it) finds them.
      process.stdout.write(banner(stack.endpoints, opts.demo));
    });
}

export { registerStartCommand };

/**
 * `skewless audit`: the scheduled audit, run once from the terminal against the local stores.
 * The offline side is the Parquet under the data dir (DuckDB); the online side is a running store
 * (`--endpoint`, or the running `npm start` found in `<data-dir>/endpoints.json`) or, when none
 * runs, an embedded store opened on the data dir for the duration of the audit.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { LOCAL_MARGIN_SECONDS } from '../../shared/audit/config.ts';
import { FileLedger, ledgerPathIn } from '../../shared/audit/inFlight.ts';
import { createOnlineSide } from '../../shared/audit/online.ts';
import { formatAuditReport, writeReportToFile } from '../../shared/audit/report.ts';
import { runAudit } from '../../shared/audit/runAudit.ts';
import type { AuditReport } from '../../shared/audit/types.ts';
import { createDuckDbEngine } from '../../shared/offline/duckdb.ts';
import { registry } from '../../shared/registry.ts';
import { createFeatureStoreClient } from '../../shared/runtime/clients.ts';
import { makeDirectory } from '../../shared/runtime/makeDirectory.ts';
import { leftUnfinished, onStopSignals, quitStoresNow, signalExitCode } from '../forcedQuit.ts';
import { isProcessAlive } from '../runtime/processAlive.ts';
import { type RunningStore, startStore } from '../store/index.ts';
import { COMMAND_DESCRIPTIONS } from './descriptions.ts';
import { connectable, runningEndpoints } from './endpoints.ts';
import { flushed } from './flushed.ts';
import { directoryPath, integerValue, storeUrl } from './parsers.ts';
import {
  listenerStartError,
  notWritableReason,
  storeRequestError,
  systemError,
  UserError,
} from './userErrors.ts';

interface AuditCliOptions {
  dataDir: string;
  endpoint?: string;
  group?: string[];
  json?: boolean;
  sample?: number;
  margin: number;
  expiringWithin: number;
  scanOnline: number;
  examples: number;
  out?: string;
  failOnFindings?: boolean;
}

function wholeNumber(value: string): number {
  const n = integerValue(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgumentError('expected a whole number >= 0');
  }
  return n;
}

/** `--group a,b`: the names, without the empty ones a trailing comma leaves. */
function groupNames(value: string): string[] {
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) {
    throw new InvalidArgumentError('expected comma-separated feature group names');
  }
  return names;
}

/** The store's own data dir: the data dir itself when it holds `store.sqlite`, else `<dir>/store`. */
function storeDataDir(dataDir: string): string {
  return existsSync(join(dataDir, 'store.sqlite')) ? dataDir : join(dataDir, 'store');
}

/**
 * The online endpoint to audit against, and the embedded store opened for it when nothing runs.
 * @throws Error with a hint when the data dir is held by another process and no endpoint is known
 */
async function onlineEndpoint(
  opts: AuditCliOptions
): Promise<{ endpoint: string; embedded?: RunningStore }> {
  if (opts.endpoint !== undefined) return { endpoint: opts.endpoint };
  const running = runningEndpoints(opts.dataDir);
  if (running.store !== undefined && isProcessAlive(running.pid))
    return { endpoint: running.store };
  // Opening a store on a directory that has none would create one with no groups: every group
  // would fail "not found", exit 0, with a store and a report left in a mistyped directory.
  if (!existsSync(join(storeDataDir(opts.dataDir), 'store.sqlite'))) {
    throw new UserError(
      `no running stack and no store under ${opts.dataDir} (no endpoints.json, no store.sqlite)`,
      "run it where npm start runs or ran (its data dir is .skewless there), or pass --data-dir <the stack's data dir> or --endpoint <url>"
    );
  }
  try {
    const embedded = await startStore({
      dataDir: storeDataDir(opts.dataDir),
      port: 0,
      logLevel: 'warn',
    });
    return { endpoint: embedded.endpoint, embedded };
  } catch (error) {
    throw listenerStartError(
      error,
      [],
      storeDataDir(opts.dataDir),
      'pass --endpoint <url> of the store that process runs to audit it, or stop it'
    );
  }
}

/** Runs the audit the options describe; the report is returned, not printed. */
async function auditLocally(
  opts: AuditCliOptions
): Promise<{ report: AuditReport; storeStopped?: string }> {
  const groups =
    opts.group === undefined
      ? [...registry.groups.values()]
      : opts.group.map((name) => registry.getExternalGroup(name));
  const { endpoint, embedded } = await onlineEndpoint(opts);
  if (embedded === undefined) {
    // ECONNREFUSED is a user error of its own (asUserError); the others name the endpoint here.
    await connectable(endpoint).catch((error: unknown) => {
      throw storeRequestError(error, endpoint, 5_000);
    });
  }
  const client = createFeatureStoreClient(
    { maxAttempts: 3 },
    {
      endpoint,
      region: process.env.AWS_REGION ?? 'us-east-1',
      // The embedded store ignores signatures; real credentials are used when present.
      ...(process.env.AWS_ACCESS_KEY_ID === undefined
        ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
        : {}),
    }
  );
  try {
    // Rows still journalled in the embedded store become Parquet before the offline side is read.
    await embedded?.flush();
    const engine = await createDuckDbEngine({ dataDir: opts.dataDir });
    try {
      const report = await runAudit(
        groups,
        {
          engine,
          online: createOnlineSide(client),
          // Shared with the stack's scheduled audit (same reports directory).
          inFlight: new FileLedger(ledgerPathIn(join(opts.dataDir, 'reports'))),
          // A store this command opened and flushed has nothing in flight: nobody else writes.
          offlineComplete: embedded !== undefined,
        },
        {
          marginSeconds: opts.margin,
          sampleSize: opts.sample,
          expiringWithinSeconds: opts.expiringWithin,
          onlineScanLimit: opts.scanOnline,
          examplesPerKind: opts.examples,
        }
      );
      // Groups failed and a store this command did not open no longer answers: the stack stopped
      // during the audit (its table shows what was read before).
      const stopped =
        report.totals.failedGroups > 0 &&
        embedded === undefined &&
        (await connectable(endpoint, 2_000).then(
          () => false,
          () => true
        ));
      return stopped ? { report, storeStopped: endpoint } : { report };
    } finally {
      await engine.close();
    }
  } finally {
    client.destroy();
    await embedded?.close();
  }
}

/**
 * Registers `skewless audit`.
 *
 * @example
 * ```typescript
 * import { Command } from 'commander';
 * import { registerAuditCommand } from './audit.ts';
 *
 * const program = new Command();
 * registerAuditCommand(program);
 * await program.parseAsync(['node', 'skewless', 'audit', '--json']);
 * ```
 */
function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description(COMMAND_DESCRIPTIONS.audit)
    .addOption(
      new Option(
        '--data-dir <dir>',
        'data directory: offline Parquet under <dir>/store/offline-store, reports under <dir>/reports'
      )
        .default('.skewless')
        .argParser(directoryPath)
    )
    .option(
      '--endpoint <url>',
      'online store endpoint (default: the running npm start, else the store the data dir holds, opened for the audit)',
      storeUrl
    )
    .option('--group <names>', 'comma-separated feature groups (default: all)', groupNames)
    .option('--json', 'print the JSON report instead of the table')
    .addOption(
      new Option(
        '--sample <n>',
        'compare a random sample of n identifiers per group (default: all)'
      ).argParser(wholeNumber)
    )
    .addOption(
      new Option(
        '--margin <seconds>',
        'offline delivery delay: an online write missing offline is reported once seen missing this long (runs share <data-dir>/reports/in-flight-ledger.json)'
      )
        .default(LOCAL_MARGIN_SECONDS)
        .argParser(wholeNumber)
    )
    .addOption(
      new Option('--expiring-within <seconds>', 'horizon of "expiring soon"')
        .default(86_400)
        .argParser(wholeNumber)
    )
    .addOption(
      new Option(
        '--scan-online <n>',
        'list up to n online identifiers per group (ListRecords) to find online-only ones; 0 skips'
      )
        .default(100_000)
        .argParser(wholeNumber)
    )
    .addOption(
      new Option('--examples <n>', 'worst examples kept per finding')
        .default(20)
        .argParser(wholeNumber)
    )
    .option('--out <file>', 'report path (default: <data-dir>/reports/audit-<time>.json)')
    .option(
      '--fail-on-findings',
      'exit with status 1 when a mismatch, an expired record served or a failed group is found'
    )
    .action(async (opts: AuditCliOptions) => {
      // Ctrl-C or SIGTERM stops the audit at once, as the default handler would, but says so in
      // one line, exit 128 + the signal. Nothing is left half-written: the store survives a
      // process crash (local/store/README.md) and the in-flight ledger is replaced by a rename.
      // The lock of a store the audit opened, or is still opening, is released first (a stale
      // store.lock misleads users and scripts).
      const onSignal = (signal: NodeJS.Signals): void => {
        // A second signal stops at once, as Node's default does, even while the line flushes.
        stopListening();
        const unfinished = quitStoresNow();
        process.stderr.write(
          `audit: interrupted: no report written${unfinished.length === 0 ? '' : `; ${leftUnfinished(unfinished)}`}\n`
        );
        // The line reaches a slow pipe before the exit.
        void flushed(process.stderr).then(() => process.exit(signalExitCode(signal)));
      };
      const stopListening = onStopSignals(onSignal);
      let report: AuditReport;
      let storeStopped: string | undefined;
      try {
        ({ report, storeStopped } = await auditLocally({
          ...opts,
          dataDir: resolve(opts.dataDir),
        }));
      } finally {
        stopListening();
      }
      let path: string;
      try {
        if (opts.out === undefined) {
          path = await writeReportToFile(join(resolve(opts.dataDir), 'reports'), report);
        } else {
          path = resolve(opts.out);
          makeDirectory(dirname(path));
          await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
        }
      } catch (error) {
        const target = opts.out ?? join(opts.dataDir, 'reports');
        const reason =
          notWritableReason(error, target) ??
          (systemError(error) === undefined ? undefined : (error as Error).message);
        if (reason === undefined) throw error;
        throw new UserError(
          `cannot write the audit report to ${target}: ${reason}`,
          'choose a writable path with --out <file> (or --data-dir <dir>)',
          { cause: error }
        );
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        // After the report even when both streams share a slow pipe.
        await flushed(process.stdout);
        process.stderr.write(`report written to ${path}\n`);
      } else {
        process.stdout.write(`${formatAuditReport(report)}\nreport written to ${path}\n`);
      }
      const t = report.totals;
      if (storeStopped !== undefined) {
        throw new UserError(
          `the store at ${storeStopped} stopped answering during the audit (${t.failedGroups} of ${t.groups} groups failed)`,
          'start the stack again (npm start) and run skewless audit again'
        );
      }
      // Nothing was audited: a run that checked no group must not pass as a clean one (cron, CI).
      if (t.groups > 0 && t.failedGroups === t.groups) {
        throw new UserError(
          `no group could be audited (${t.failedGroups} of ${t.groups} failed; the errors are above and in the report)`,
          'check that the store is the one that holds the groups (--endpoint, --data-dir); npm start creates them'
        );
      }
      if (
        opts.failOnFindings &&
        t.coherenceMismatches + t.expiredStillServed + t.failedGroups > 0
      ) {
        process.exitCode = 1;
      }
    });
}

export type { AuditCliOptions };
export { auditLocally, registerAuditCommand };

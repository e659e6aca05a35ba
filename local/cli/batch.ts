/**
 * `skewless batch <file> --group <g> [--dry-run]`: feeds a batch-fed group's both stores from a
 * batch job's output, the way production does: the file is put under `batch/<group>/<name>` in
 * an S3 bucket and the bucket's `ObjectCreated` notification invokes the batch handler
 * (docs/batch.md). Like `skewless backfill`, it uses a running `npm start` when there is one, else
 * runs the store, a local S3 and the handler in-process.
 *
 * `--dry-run` reads the file and the online values and writes nothing: it always runs in-process
 * on a throw-away S3 (never the running stack's, whose notification would apply the drop), against
 * the running store when there is one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DescribeFeatureGroupCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { Command } from 'commander';
import { DropKind, SUPPORTED_EXTENSIONS } from '../../shared/backfill/objectKey.ts';
import { reportTime } from '../../shared/backfill/reportTime.ts';
import type { BackfillReport } from '../../shared/backfill/types.ts';
import { registry } from '../../shared/registry.ts';
import type { FeatureGroup } from '../../shared/schema/index.ts';
import {
  type BackfillIo,
  checkDropFormat,
  checkHasRows,
  checkInputFile,
  type DropCliOptions,
  type DropCommand,
  type DropOutcome,
  finishDrop,
  noteInProcess,
  type OutputLocations,
  runDrop,
  runDropInProcess,
  withDropOptions,
} from './backfill.ts';
import { COMMAND_DESCRIPTIONS } from './descriptions.ts';
import { runningEndpoints } from './endpoints.ts';
import { UserError } from './userErrors.ts';

interface BatchCliOptions extends DropCliOptions {
  /** Count and read the online values; write nothing. */
  readonly dryRun: boolean;
}

const n = (value: number) => value.toLocaleString('en-US');

function summary(report: BackfillReport, where: OutputLocations, dryRun: boolean): string {
  const online = report.onlineValues ?? { changed: 0, unchanged: 0, stayed: 0 };
  let head: string;
  if (report.status !== 'completed') {
    head = `Batch drop ${report.source.key} FAILED: ${report.error ?? 'unknown error'}`;
  } else if (dryRun) {
    head = `Dry run of ${basename(report.source.key)} for ${report.featureGroup} (nothing written): ${n(report.rowsRead)} rows read, ${n(report.rowsWritten)} valid, ${n(report.rowsRejected)} rejected\n  online values: ${n(online.changed)} would change, ${n(online.unchanged)} unchanged, ${n(online.stayed)} would stay (older rows: offline store only)`;
  } else {
    head = `Applied ${report.source.key} to both stores of ${report.featureGroup}: ${n(report.rowsWritten)} rows written, ${n(report.rowsRejected)} rejected of ${n(report.rowsRead)} (${reportTime(report)}, ${report.resumptions} resumptions)\n  online values: ${n(online.changed)} changed, ${n(online.unchanged)} unchanged, ${n(online.stayed)} stayed (older rows: offline store only)`;
  }
  const errors = report.firstErrors
    .slice(0, 5)
    .map((e) => `\n  row ${e.row}${e.line !== undefined ? ` (line ${e.line})` : ''}: ${e.reason}`)
    .join('');
  const rejects = report.rowsRejected > 0 ? `\n  rejects: ${where.rejects}` : '';
  return `${head}${errors}${rejects}\n  report: ${where.report}\n`;
}

/** True when a feature store answers at `endpoint` (a running `npm start`). */
async function storeAnswers(endpoint: string, group: FeatureGroup): Promise<boolean> {
  const client = new SageMakerClient({ endpoint, maxAttempts: 1 });
  try {
    await client.send(new DescribeFeatureGroupCommand({ FeatureGroupName: group.name }));
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}

/**
 * Runs the batch handler in this process against the store at `storeEndpoint` (or one started on
 * `<data dir>/store`), with a local S3 on `s3DataDir`.
 */
function inProcess(
  file: string,
  key: string,
  options: BatchCliOptions,
  io: BackfillIo,
  storeEndpoint: string | undefined,
  s3DataDir: string
): Promise<DropOutcome> {
  return runDropInProcess(
    {
      file,
      key,
      bucket: options.bucket,
      reportsBucket: options.reportsBucket,
      dataDir: options.dataDir,
      storeEndpoint,
      s3DataDir,
      outputDir: options.dryRun ? join(options.dataDir, 'dry-run') : options.dataDir,
      progress: options.progress,
      label: options.dryRun ? 'dry run' : 'batch',
      ...(options.dryRun ? { writtenLabel: 'valid' } : {}),
      resumable: !options.dryRun,
      createFunction: async (onProgress, shouldStop) => {
        const { createBatchHandler } = await import('../../functions/batch/index.ts');
        const { loadBackfillConfig, inProcessBatchContinuations } = await import(
          '../../shared/backfill/index.ts'
        );
        return {
          handler: createBatchHandler({
            config: { ...loadBackfillConfig(), progressEveryMs: 500 },
            onProgress,
            shouldStop,
            dryRun: options.dryRun,
          }),
          continuations: inProcessBatchContinuations,
          functionName: 'BatchFunction',
        };
      },
    },
    io
  );
}

/**
 * The command's work, separated from commander for tests. Returns the exit code: 0 when the drop
 * was applied (rejected rows included), 1 when it failed, 3 when a running stack did not finish
 * it within `--timeout`, 130 (143) when Ctrl-C (SIGTERM) stopped following a running stack (the drop goes on).
 */
async function runBatchCommand(
  file: string,
  options: BatchCliOptions,
  io: BackfillIo
): Promise<number> {
  const group = registry.getExternalGroup(options.group);
  if (group.batch === undefined) {
    const fed = [...registry.externalGroups.values()].filter((g) => g.batch !== undefined);
    throw new UserError(
      `${group.name} is not batch-fed (batch-fed: ${fed.map((g) => g.name).join(', ') || 'none'})`,
      `declare batch: { cadence } on it in shared/definitions.ts, or use \`skewless backfill\` for its offline store only`
    );
  }
  checkInputFile(file);
  const key = `batch/${group.name}/${options.key ?? basename(file)}`;
  checkDropFormat(key, DropKind.Batch);
  await checkHasRows(file, key, DropKind.Batch, group);
  const command: DropCommand = {
    label: options.dryRun ? 'dry run' : 'batch',
    dryRun: options.dryRun,
    doing: 'applying',
    title: `batch drop ${key}`,
    summary: (report, where) => summary(report, where, options.dryRun),
    inProcess: () =>
      inProcess(file, key, options, io, options.endpoint, join(options.dataDir, 's3')),
  };
  if (!options.dryRun) return runDrop(file, key, options, io, command);
  // A dry run never goes through the running stack's S3, whose notification would apply the drop:
  // in-process on a throw-away S3, against the running store when there is one.
  const candidate = options.endpoint ?? runningEndpoints(options.dataDir).store;
  const storeEndpoint =
    candidate !== undefined && (await storeAnswers(candidate, group)) ? candidate : undefined;
  if (options.endpoint !== undefined && storeEndpoint === undefined) {
    throw new UserError(
      `no feature store answers at ${options.endpoint} (--endpoint)`,
      'start the stack (npm start), or leave --endpoint out: the dry run then uses the running stack of --data-dir, or the store under it'
    );
  }
  if (storeEndpoint === undefined) {
    noteInProcess(io, command.label, options.dataDir, undefined, candidate);
  }
  const scratch = mkdtempSync(join(tmpdir(), 'skewless-batch-dry-run-'));
  // Also on a forced quit (a second Ctrl-C exits at once, past this function's finally).
  const removeScratch = (): void => rmSync(scratch, { recursive: true, force: true });
  process.once('exit', removeScratch);
  try {
    const outcome = await inProcess(file, key, options, io, storeEndpoint, scratch);
    return await finishDrop(outcome, options, io, command, true);
  } finally {
    process.off('exit', removeScratch);
    removeScratch();
  }
}

/**
 * Registers `skewless batch`.
 *
 * @example
 * ```typescript
 * import { Command } from 'commander';
 * import { registerBatchCommand } from './local/cli/batch.ts';
 * const program = new Command();
 * registerBatchCommand(program);
 * await program.parseAsync(['node', 'skewless', 'batch', 'nightly.parquet', '--group', 'fraud-cards', '--dry-run']);
 * ```
 */
function registerBatchCommand(program: Command): void {
  const command = program
    .command('batch')
    .description(COMMAND_DESCRIPTIONS.batch)
    .argument('<file>', `the file: ${SUPPORTED_EXTENSIONS.join(', ')}`)
    .requiredOption('--group <name>', 'a batch-fed feature group (shared/definitions.ts)')
    .option(
      '--dry-run',
      'validate, read the online values and count what would change; write nothing',
      false
    )
    .option('--key <name>', 'object name under batch/<group>/ (default: the file name)');
  withDropOptions(command, 'the running or embedded store').action(
    async (file: string, opts: BatchCliOptions) => {
      process.exitCode = await runBatchCommand(file, opts, {
        out: process.stdout,
        err: process.stderr,
      });
    }
  );
}

export type { BatchCliOptions };
export { registerBatchCommand, runBatchCommand };

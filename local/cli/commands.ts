import type { Command } from 'commander';
import { registerStoreCommand } from '../store/cli.ts';
import { registerAuditCommand } from './audit.ts';
import { registerBackfillCommand } from './backfill.ts';
import { registerBatchCommand } from './batch.ts';
import { registerDatasetCommand } from './dataset.ts';
import { registerRecordCommands } from './records.ts';
import { registerStartCommand } from './start.ts';

/** Registers every subcommand on the program, in the order `--help` lists them. */
async function registerCommands(program: Command): Promise<void> {
  registerStartCommand(program);
  registerStoreCommand(program);
  registerBackfillCommand(program);
  registerBatchCommand(program);
  registerAuditCommand(program);
  registerDatasetCommand(program);
  registerRecordCommands(program);
}

export { registerCommands };

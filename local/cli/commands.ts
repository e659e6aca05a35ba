import type { Command } from 'commander';
import { registerStoreCommand } from '../store/cli.ts';
import { registerAuditCommand } from './audit.ts';
import { registerRecordCommands } from './records.ts';
import { registerStartCommand } from './start.ts';

/** Registers every subcommand on the program. */
async function registerCommands(program: Command): Promise<void> {
  registerStartCommand(program);
  registerStoreCommand(program);
  registerAuditCommand(program);
  registerRecordCommands(program);
}

export { registerCommands };

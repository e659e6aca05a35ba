import type { Command } from 'commander';
import { COMMAND_DESCRIPTIONS, type CommandName } from './descriptions.ts';

type Register = (program: Command) => void;

/**
 * Every command, in the order `--help` lists them, with the module that registers it. Only the
 * module of the command being run is imported: `skewless --help` loads none of them, `skewless
 * get` does not load DuckDB, S3 or the stack.
 */
const COMMANDS: readonly { names: readonly CommandName[]; load: () => Promise<Register> }[] = [
  { names: ['start'], load: async () => (await import('./start.ts')).registerStartCommand },
  { names: ['store'], load: async () => (await import('../store/cli.ts')).registerStoreCommand },
  {
    names: ['backfill'],
    load: async () => (await import('./backfill.ts')).registerBackfillCommand,
  },
  { names: ['batch'], load: async () => (await import('./batch.ts')).registerBatchCommand },
  { names: ['audit'], load: async () => (await import('./audit.ts')).registerAuditCommand },
  { names: ['dataset'], load: async () => (await import('./dataset.ts')).registerDatasetCommand },
  {
    names: ['get', 'put'],
    load: async () => (await import('./records.ts')).registerRecordCommands,
  },
];

/** The command named on the command line (`skewless help get` names `get`), if any. */
function requestedCommand(args: readonly string[]): string | undefined {
  const operands = args.filter((a) => !a.startsWith('-'));
  return operands[0] === 'help' ? operands[1] : operands[0];
}

/**
 * Registers the requested command in full and every other one as a name and a description
 * (enough for the listing, for "did you mean" and for `help`).
 *
 * @param args - the command line after `node skewless`
 */
async function registerCommands(program: Command, args: readonly string[]): Promise<void> {
  const requested = requestedCommand(args);
  for (const { names, load } of COMMANDS) {
    if (requested !== undefined && (names as readonly string[]).includes(requested)) {
      (await load())(program);
      continue;
    }
    for (const name of names) program.command(name).description(COMMAND_DESCRIPTIONS[name]);
  }
}

export { registerCommands, requestedCommand };

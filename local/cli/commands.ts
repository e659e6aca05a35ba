import type { Command } from 'commander';

/** Registers every subcommand on the program. */
async function registerCommands(program: Command): Promise<void> {
  void program;
}

export { registerCommands };

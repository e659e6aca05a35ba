/**
 * Stand-alone entry: `node local/store/main.ts [store options]` runs `skewless store` without the
 * rest of the CLI (used by the crash test and the benchmark, which spawn it as a child process).
 */
import { Command } from 'commander';
import { reportCliError, reportCommandLineErrors } from '../cli/userErrors.ts';
import { registerStoreCommand } from './cli.ts';

// Named as the CLI is: `--help` shows `skewless store [options]`, the command this entry runs.
const program = new Command('skewless');
registerStoreCommand(program);
// As `skewless store`: a bad option, a port or a data dir in use is one line and a hint, not
// commander's bare `error: …` or a stack trace (that only with --debug).
reportCommandLineErrors(program);
try {
  await program.parseAsync(['store', ...process.argv.slice(2)], { from: 'user' });
} catch (error) {
  process.exitCode = reportCliError(error, process.argv.slice(2));
}

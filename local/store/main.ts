/**
 * Stand-alone entry: `node local/store/main.ts [store options]` runs `skewless store` without the
 * rest of the CLI (used by the crash test and the benchmark, which spawn it as a child process).
 */
import { Command } from 'commander';
import { registerStoreCommand } from './cli.ts';

const program = new Command('skewless-store');
registerStoreCommand(program);
await program.parseAsync(['store', ...process.argv.slice(2)], { from: 'user' });

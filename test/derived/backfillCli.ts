/**
 * `skewless backfill` as a process of its own (the parity test runs it beside the ingest path, so
 * both get a core): registers the command exactly as the CLI does and parses `process.argv`.
 */
import { Command } from 'commander';
import { registerBackfillCommand } from '../../local/cli/backfill.ts';

const program = new Command('skewless');
registerBackfillCommand(program);
await program.parseAsync(process.argv);

#!/usr/bin/env node
/**
 * `npx skewless <command>`: the local side of Skewless. Commands are loaded lazily so `--help`
 * and small commands start fast.
 */
import { Command } from 'commander';

const program = new Command()
  .name('skewless')
  .description(
    'One feature definition, two stores, zero skew - SageMaker Feature Store, locally and on AWS.'
  )
  .showHelpAfterError();

program.addHelpText(
  'after',
  `
Quick start:
  npm start                      the whole product on the embedded default (same as: skewless start)
  skewless get fraud-cards card-0001
  skewless backfill ./cards.csv --group fraud-cards

Every command takes --help.`
);

const { registerCommands } = await import('../local/cli/commands.ts');
await registerCommands(program);
await program.parseAsync(process.argv);

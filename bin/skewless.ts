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

// The local commands talk to loopback stand-ins that ignore signatures, but the SDK still wants
// a region and credentials. Only `--engine athena` reaches AWS: leave its credential chain alone.
process.env.AWS_REGION ??= process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
const reachesAws = process.argv.includes('athena') || process.argv.includes('--engine=athena');
if (
  !reachesAws &&
  process.env.AWS_ACCESS_KEY_ID === undefined &&
  process.env.AWS_PROFILE === undefined
) {
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
}

const { registerCommands } = await import('../local/cli/commands.ts');
await registerCommands(program);
await program.parseAsync(process.argv);

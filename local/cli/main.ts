/**
 * `npx skewless <command>`: the local side of Skewless (entered through bin/skewless.js). Only the
 * command being run is loaded (local/cli/commands.ts), so `--help` and small commands start fast.
 * A user's mistake prints one line and a hint; an unexpected error prints its stack with `--debug`
 * (local/cli/userErrors.ts).
 */
import { readFileSync } from 'node:fs';
import { Command, type Option } from 'commander';
import { reachesAws, reportCliError, reportCommandLineErrors } from './userErrors.ts';

const { version } = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
) as { version: string };

const program = new Command()
  .name('skewless')
  .description(
    'One feature definition, two stores, zero skew - SageMaker Feature Store, locally and on AWS.'
  )
  .version(version, '-V, --version', 'print the version');

program.addHelpText(
  'after',
  `
Quick start:
  npm start                      the whole product on the embedded default (same as: skewless start)
  skewless get fraud-cards card-0001
  skewless backfill examples/backfill/fraud-cards-october.csv --group fraud-cards

Every command takes --help.`
);

// The local commands talk to loopback stand-ins that ignore signatures, but the SDK still wants
// a region and credentials. Only `--engine athena` reaches AWS: leave its credential chain alone.
process.env.AWS_REGION ??= process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
const args = process.argv.slice(2);
if (
  !reachesAws(args) &&
  process.env.AWS_ACCESS_KEY_ID === undefined &&
  process.env.AWS_PROFILE === undefined
) {
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
}

/**
 * `skewless` alone (`--debug` aside) names no command: two lines of what to run, exit 1, as git
 * and npm answer a bare command; the whole help is `--help`'s (exit 0).
 */
const SHORT_USAGE = 'usage: skewless <command> [options]\nrun `skewless --help` for the commands\n';
if (args.every((a) => a === '--debug')) {
  process.stderr.write(SHORT_USAGE);
  process.exitCode = 1;
} else {
  try {
    const { registerCommands } = await import('./commands.ts');
    await registerCommands(program, args);
    reportCommandLineErrors(program);
    // commander checks required options before unknown options and arguments, so a misspelt
    // `--grop` read "required option '--group <name>' not specified". The check moves to just
    // before the action, after those: same message, the better error first.
    const required = new Map<Command, Option[]>();
    for (const command of program.commands) {
      const options = command.options.filter((o) => o.mandatory);
      for (const option of options) option.mandatory = false;
      if (options.length > 0) required.set(command, options);
    }
    program.hook('preAction', (_program, action) => {
      for (const option of required.get(action) ?? []) {
        if (action.getOptionValue(option.attributeName()) === undefined) {
          action.error(`error: required option '${option.flags}' not specified`, {
            code: 'commander.missingMandatoryOptionValue',
          });
        }
      }
    });
    // commander answers `help <no such command>` with the whole help and exit 1; say what is wrong,
    // as for `skewless <no such command>`.
    const operands = args.filter((a) => !a.startsWith('-'));
    const asked = operands[0] === 'help' ? operands[1] : undefined;
    if (asked !== undefined && !program.commands.some((c) => c.name() === asked)) {
      program.error(`error: unknown command '${asked}'`, { code: 'commander.unknownCommand' });
    }
    await program.parseAsync(process.argv);
  } catch (error) {
    process.exitCode = reportCliError(error, args);
  }
}

/**
 * The CLI as a newcomer meets it (`node bin/skewless.js …` in a child process): `--version`, a
 * lazy `--help`, and every user mistake of issue 15 printing one line and a hint, exit code 1,
 * no stack trace; unexpected errors keep their stack behind `--debug`.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reachesAws, reportCliError, UserError } from '../../local/cli/userErrors.ts';
import { bootId, processStartTicks } from '../../local/runtime/processAlive.ts';
import { ensureFeatureGroups } from '../../local/setup/ensureFeatureGroups.ts';
import { findCalendarLiterals } from '../../scripts/check-calendar.ts';
import { featureGroups } from '../../shared/definitions.ts';
import { DefinitionError } from '../../shared/errors.ts';
import { ConfigurationError } from '../../shared/runtime/env.ts';
import { toParquet } from '../backfill/fixtures.ts';
import { withRawServer } from '../helpers/rawServer.ts';
import {
  type CliRun,
  cli,
  exampleBackfillArgs,
  FREE_PORTS,
  node,
  root,
  runCli,
  runCliAsync,
  runCliThroughShell,
} from '../helpers/stackProcess.ts';
import { startTestStore, type TestStore } from '../helpers/store.ts';

const work = mkdtempSync(join(tmpdir(), 'skewless-cli-'));
/**
 * Where every command here runs: a scratch directory (the default data dir, `.skewless`, lands
 * there), killed after a minute.
 */
const inWork = { cwd: work, timeoutMs: 60_000 } as const;

/** A command run to its end (this process blocked). */
function run(args: readonly string[]): CliRun {
  return runCli(args, inWork);
}

/**
 * Like {@link run}, without blocking this process (which may serve the store the CLI calls);
 * `started` gets the child (to signal it).
 */
function runAsync(
  args: readonly string[],
  started?: (child: ChildProcess) => void
): Promise<CliRun> {
  return runCliAsync(args, { ...inWork, started });
}

/** Asserts the shape of a user error: its lines, a hint, exit 1, no stack frame. */
function expectUserError(result: CliRun, message: RegExp): void {
  expect(result.status).toBe(1);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^skewless: /);
  expect(lines[0]).toMatch(message);
  expect(lines[1]).toMatch(/^ {2}hint: /);
  expect(lines).toHaveLength(2);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('skewless CLI basics', () => {
  it('prints the package version with --version', () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      version: string;
    };
    const result = run(['--version']);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  it('alone (or with only --debug), prints the short usage and exits 1, as git and npm do', () => {
    for (const args of [[], ['--debug']]) {
      const bare = run(args);
      expect(bare.status).toBe(1);
      expect(bare.stdout).toBe('');
      expect(bare.stderr).toBe(
        'usage: skewless <command> [options]\nrun `skewless --help` for the commands\n'
      );
    }
  });

  it('lists every command with --help, and each command keeps its own options', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    for (const name of ['start', 'store', 'backfill', 'batch', 'audit', 'dataset', 'get', 'put']) {
      expect(help.stdout).toMatch(new RegExp(`^ {2}${name}\\b`, 'm'));
    }
    const getHelp = run(['get', '--help']);
    expect(getHelp.status).toBe(0);
    expect(getHelp.stdout).toContain('--endpoint <url>');
  });

  it("prints no internal values and no example that ages in any command's --help (empty defaults, undefined, literal dates)", () => {
    for (const name of ['start', 'store', 'backfill', 'batch', 'audit', 'dataset', 'get', 'put']) {
      const help = run([name, '--help']);
      expect(help.status).toBe(0);
      expect(help.stdout, name).not.toMatch(/\{\}|\[\]|\[object Object\]|undefined/);
      // A record dated in an example is past its TTL some day: examples say "now" instead.
      expect(findCalendarLiterals(`skewless ${name} --help`, help.stdout), name).toEqual([]);
    }
  });
});

describe('skewless CLI user errors', () => {
  it('no running stack: get and put name the endpoint and say how to start one', () => {
    // Port 1: nothing listens there, and being below the ephemeral range the OS never hands it to
    // a listener on port 0 (a port freed just before could go to the next test's server).
    const endpoint = 'http://127.0.0.1:1';
    const get = run(['get', 'fraud-cards', 'card-1', '--endpoint', endpoint]);
    expectUserError(get, new RegExp(`no stack at ${endpoint}`));
    expect(get.stderr).toContain('npm start');
    const put = run([
      'put',
      'fraud-cards',
      JSON.stringify({ card_id: 'c1', event_time: new Date().toISOString() }),
      '--endpoint',
      endpoint,
    ]);
    expectUserError(put, /no stack at/);
  });

  it('no running stack at --endpoint: audit says so in one line, with no table or report', () => {
    const dataDir = join(work, 'audit-refused');
    const result = run(['audit', '--endpoint', 'http://127.0.0.1:1', '--data-dir', dataDir]);
    expectUserError(
      result,
      /^skewless: no stack at http:\/\/127\.0\.0\.1:1 \(connection refused\)$/
    );
    expect(result.stdout).toBe('');
    expect(existsSync(join(dataDir, 'reports'))).toBe(false);
  });

  it('audit --group: a trailing comma is no group, and a list of none is refused as read', () => {
    // The groups are resolved before the store is reached: the trailing comma got that far.
    expectUserError(
      run(['audit', '--group', 'fraud-cards,', '--endpoint', 'http://127.0.0.1:1']),
      /^skewless: no stack at http:\/\/127\.0\.0\.1:1 \(connection refused\)$/
    );
    expectUserError(
      run(['audit', '--group', ' , ']),
      /^skewless: option '--group <names>' argument ' , ' is invalid\. expected comma-separated feature group names$/
    );
  });

  it('unknown group, naming only the groups a user can read (not the internal derived state)', () => {
    const unknown = run(['get', 'fraud-nope', 'x']);
    expectUserError(unknown, /Unknown feature group "fraud-nope"/);
    expect(unknown.stderr).not.toContain('fraud-card-state');
    expectUserError(
      run(['put', 'fraud-card-state', '{"card_id":"c1"}']),
      /Unknown feature group "fraud-card-state"; known: fraud-transactions, fraud-cards, fraud-merchants$/m
    );
  });

  it('a command line commander refuses: one line and the --help to read, not the whole help', () => {
    const bogus = run(['--bogus']);
    expectUserError(bogus, /^skewless: unknown option '--bogus'$/);
    expect(bogus.stderr).toContain('hint: see skewless --help');
    expectUserError(run(['frobnicate']), /^skewless: unknown command 'frobnicate'$/);
    // A misspelt required option is named as unknown, not as the required one missing.
    expectUserError(
      run(['backfill', 'cards.csv', '--grop', 'fraud-cards']),
      /^skewless: unknown option '--grop' \(Did you mean --group\?\)$/
    );
    expectUserError(
      run(['backfill', 'cards.csv']),
      /^skewless: required option '--group <name>' not specified$/
    );
    expectUserError(
      run(['dataset', '--feature-set', 'fraud_model_v3']),
      /^skewless: missing required argument 'labels'$/
    );
    // A near miss: commander's suggestion stays on the error's line.
    expectUserError(run(['strat']), /^skewless: unknown command 'strat' \(Did you mean start\?\)$/);
    expectUserError(
      run(['start', '--api-prot', '1']),
      /^skewless: unknown option '--api-prot' \(Did you mean --api-port\?\)$/
    );
    // `help <command>` with a command that does not exist: the same line, not the whole help.
    const help = run(['help', 'frobnicate']);
    expectUserError(help, /^skewless: unknown command 'frobnicate'$/);
    expect(help.stdout).toBe('');
    const port = run(['start', '--api-port', 'abc']);
    expectUserError(
      port,
      /^skewless: option '--api-port <port>' argument 'abc' is invalid\. expected a port from 0 to 65535/
    );
    expect(port.stderr).toContain('hint: see skewless start --help');
    expectUserError(
      run(['get', 'fraud-cards']),
      /^skewless: missing required argument 'recordId'$/
    );
    expectUserError(
      run(['dataset', 'labels.csv', '--label-time-column', 't', '--format', 'xls']),
      /^skewless: option '--format <format>' argument 'xls' is invalid\. Allowed choices are parquet, csv\.$/
    );
  });

  it('dataset: a hint with its error, the stack only with --debug, a memory limit DuckDB takes', () => {
    const labels = join(work, 'labels.csv');
    writeFileSync(labels, 'card_id,t\nc1,2026-01-01T00:00:00Z\n'); // calendar-fixed: a label time
    const args = ['dataset', labels, '--feature-set', 'fraud_model_v3', '--label-time-column', 't'];
    const plain = run([...args, '--data-dir', join(work, 'no-store')]);
    expect(plain.status).toBe(1);
    expect(plain.stderr).toMatch(/^dataset: no offline store under .*\n {2}hint: /);
    expect(plain.stderr).not.toMatch(/\n\s+at /);
    const debug = run([...args, '--data-dir', join(work, 'no-store'), '--debug']);
    expect(debug.status).toBe(1);
    expect(debug.stderr).toMatch(/\n\s+at .*dataset\.ts/);
    expectUserError(
      run([...args, '--memory-limit', 'lots']),
      /^skewless: option '--memory-limit <size>' argument 'lots' is invalid\. expected a size such as 4GB, 512MB or 2GiB$/
    );
  });

  it.each([
    ['--demo-max-events', '1.5', /expected a whole number of events from 1 to /],
    ['--audit-interval', '3000000', /expected seconds from 1 to 2147483 \(a timer's limit/],
    ['--flush-interval', '0.5', /expected an integer from 1 to 86400000/],
    ['--demo-rate', '10000', /expected events per second above 0, at most 2500/],
  ])('start %s %s: refused before anything starts', (flag, value, message) => {
    const dataDir = join(work, `refused${flag}`);
    const result = run(['start', '--data-dir', dataDir, ...FREE_PORTS, flag, value]);
    expectUserError(result, message);
    expect(existsSync(dataDir)).toBe(false);
  });

  it.each([
    ['start', '--api-port', ''],
    ['store', '--port', ' '],
    ['store', '--fault-throttle', ''],
    ['audit', '--sample', ''],
    ['start', '--api-port', '0x10'],
    ['store', '--port', '0b11'],
    ['start', '--demo-rate', 'Infinity'],
    // Integer options take decimal digits only: an exponent or a fraction is refused.
    ['start', '--api-port', '1e3'],
    ['store', '--port', '8e3'],
    ['start', '--flush-interval', '1e3'],
    ['start', '--demo-max-events', '1E2'],
    ['audit', '--sample', '1e2'],
    ['backfill', '--timeout', '6e1'],
    ['dataset', '--threads', '2.0'],
  ])(
    '%s %s "%s" (an unset variable, a hexadecimal, binary, infinite or exponent number) is refused, not read as a port',
    (name, flag, value) => {
      const dataDir = join(work, `blank-${name}${flag}`);
      const result = run([
        name,
        ...(name === 'start' ? FREE_PORTS : []),
        '--data-dir',
        dataDir,
        flag,
        value,
      ]);
      expectUserError(
        result,
        new RegExp(
          `^skewless: option '(-p, )?${flag} <[^>]+>' argument '${value}' is invalid\\. expected `
        )
      );
      expect(existsSync(dataDir)).toBe(false);
    }
  );

  it("an in-process backfill that fails prints its report line, not the handler's JSON log", () => {
    const garbage = join(work, 'garbage.parquet');
    writeFileSync(garbage, 'not parquet');
    // As a user's shell has it: no POWERTOOLS_LOG_LEVEL (test/setup.ts sets one for the tests).
    const result = runCli(
      ['backfill', garbage, '--group', 'fraud-cards', '--data-dir', join(work, 'bf')],
      { ...inWork, env: { POWERTOOLS_LOG_LEVEL: undefined } }
    );
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(
      /^Backfill of backfill\/fraud-cards\/garbage\.parquet FAILED: not a readable Parquet file/
    );
    expect(result.stdout + result.stderr).not.toContain('"level"');
  });

  it('get with an empty record identifier (an unset variable) says so, as put does', () => {
    expectUserError(
      run(['get', 'fraud-cards', '', '--endpoint', 'http://127.0.0.1:1']),
      /^skewless: the record identifier \(card_id\) is empty$/
    );
  });

  it('get --features names the features the group has', () => {
    expectUserError(
      run([
        'get',
        'fraud-cards',
        'card-1',
        '--features',
        'txn_count_7d,nope',
        '--endpoint',
        'http://127.0.0.1:1',
      ]),
      /^skewless: Unknown feature "nope" in feature group "fraud-cards"; known: card_id, event_time, txn_count_7d, /
    );
  });

  it('put refuses a far-future event time, as ingest, backfill and batch do', () => {
    const tomorrow = Math.floor(Date.now() / 1000) + 86_400;
    expectUserError(
      run(['put', 'fraud-cards', `{"card_id":"c1","event_time":${tomorrow}}`]),
      /^skewless: Invalid record for feature group "fraud-cards": event_time=.*: event time .* is \d+ s ahead of the clock .*at most 300 s ahead is accepted \(MAX_EVENT_TIME_SKEW_SECONDS\)$/
    );
  });

  it('put refuses an Integral JSON number beyond 2^53 without the value JSON.parse rounded it to', () => {
    const result = run([
      'put',
      'fraud-cards',
      '{"card_id":"c1","event_time":1,"txn_count_7d":9007199254740993}',
    ]);
    expectUserError(
      result,
      /^skewless: Invalid record for feature group "fraud-cards": txn_count_7d: Integral value is a JSON number beyond ±\(2\^53 − 1\), which cannot be read exactly \(JSON parsers round it\): send it as a JSON string of its digits$/
    );
    expect(result.stderr).not.toContain('9007199254740992');
  });

  it('put refuses a lone surrogate (JSON "\\ud800") in one line showing it escaped, as ingest and backfill do', () => {
    const result = run([
      'put',
      'fraud-cards',
      '{"card_id":"c-\\ud800","event_time":1,"home_country":"D\\udc00E"}',
    ]);
    expectUserError(
      result,
      /^skewless: Invalid record for feature group "fraud-cards": card_id="c-\\ud800": record identifier: String value is not valid Unicode \(a lone surrogate, U\+D800\), which UTF-8 cannot encode; home_country="D\\udc00E": String value is not valid Unicode \(a lone surrogate, U\+DC00\), which UTF-8 cannot encode$/
    );
  });

  it('put refuses a record argument that is not UTF-8 (a Latin-1 é), which Node would read as U+FFFD', async () => {
    // Prepare: the shell passes the byte E9 (octal 351) itself, as a Latin-1 terminal sends é.
    const script = `exec "$0" "$1" put fraud-cards "$(printf '{"card_id":"caf\\351","event_time":1}')"`;
    // Act
    const result = await runCliThroughShell(script, inWork);
    // Assess
    expectUserError(
      result,
      /^skewless: the record holds U\+FFFD at character 16 \(\{"card_id":"caf\\ufffd","event_time":…\): text that is not UTF-8 \(a Windows-1252 or Latin-1 terminal\?\) arrives as U\+FFFD, another value than the one typed$/
    );
    expect(result.stderr).toContain(
      'hint: write its non-ASCII characters as JSON escapes (caf\\u00e9 for café), or \\ufffd where U+FFFD itself is meant'
    );
  });

  it('store (and dataset) --account and --region are checked as they are parsed', () => {
    expectUserError(
      run(['store', '--account', 'abc']),
      /^skewless: option '--account <id>' argument 'abc' is invalid\. expected a 12-digit account id$/
    );
    expectUserError(
      run(['store', '--region', 'us east']),
      /^skewless: option '--region <region>' argument 'us east' is invalid\. expected a region name such as us-east-1$/
    );
    expectUserError(
      run(['dataset', 'labels.csv', '--label-time-column', 't', '--account', '12']),
      /^skewless: option '--account <id>' argument '12' is invalid\. expected a 12-digit account id$/
    );
  });

  it.each(['start', 'store', 'backfill', 'batch', 'audit', 'dataset', 'get', 'put'])(
    '%s --data-dir "" (an unset variable) is refused, not taken as the working directory',
    (name) => {
      const result = run([name, '--data-dir', '']);
      expectUserError(
        result,
        /^skewless: option '(-d, )?--data-dir <dir>' argument '' is invalid\. expected a directory/
      );
      expect(readdirSync(work)).not.toContain('endpoints.json');
    }
  );

  it.each([
    ['get', 'fraud-cards', 'card-1', '--endpoint', 'localhost:8765'],
    ['put', 'fraud-cards', '{}', '--endpoint', 'not a url'],
    ['audit', '--endpoint', '127.0.0.1:8765'],
    ['backfill', 'cards.csv', '--group', 'fraud-cards', '--s3-endpoint', 'localhost:4569'],
    ['batch', 'cards.csv', '--group', 'fraud-cards', '--endpoint', 'ftp://127.0.0.1'],
  ])('%s: an endpoint that is no http(s) URL is refused as the option is read', (...args) => {
    const flag = args.at(-2) as string;
    const value = args.at(-1) as string;
    expectUserError(
      run(args),
      new RegExp(
        `^skewless: option '${flag} <url>' argument '${value}' is invalid\\. expected an http:// or https:// URL such as http://127\\.0\\.0\\.1:\\d+$`
      )
    );
  });

  it('put --target names the stores it takes', () => {
    expectUserError(
      run(['put', 'fraud-cards', '{"card_id":"c1"}', '--target', 'OnlineStore,Nope']),
      /^skewless: option '--target <stores>' argument 'OnlineStore,Nope' is invalid\. "Nope" is not a store: expected OnlineStore, OfflineStore or both, comma-separated$/
    );
  });

  it('malformed JSON for put', () => {
    expectUserError(run(['put', 'fraud-cards', '{card_id: c1}']), /not valid JSON/);
  });

  it('put given a file name instead of the record says to pass its text', () => {
    writeFileSync(join(work, 'record.json'), '{"card_id":"c1"}');
    const result = run(['put', 'fraud-cards', 'record.json']);
    expectUserError(result, /^skewless: the record is not valid JSON: /);
    expect(result.stderr).toContain(
      `  hint: put takes the record's JSON text, not a file: skewless put fraud-cards "$(cat record.json)"\n`
    );
  });

  it('an invalid record for put: every problem in one line, and what a record needs', () => {
    const missing = run(['put', 'fraud-cards', '{"card_id":"c1","txn_count_7d":"many"}']);
    expectUserError(
      missing,
      /^skewless: Invalid record for feature group "fraud-cards": .*event_time: event time is required.*; .*txn_count_7d="many": /
    );
    expect(missing.stderr).toContain('card_id (its identifier) and event_time');
    expectUserError(
      run(['put', 'fraud-cards', '[1]']),
      /Invalid record for feature group "fraud-cards": \(record\)=\[1\]: record must be a JSON object/
    );
  });

  it('missing file for backfill', () => {
    expectUserError(
      run(['backfill', 'no-such-file.csv', '--group', 'fraud-cards']),
      /no such file: no-such-file\.csv/
    );
  });

  it.each(['backfill', 'batch'])(
    '%s: a missing file, a directory and an empty file each get a hint saying what to do',
    (name) => {
      const dataDir = join(work, `untouched-${name}`);
      const args = ['--group', 'fraud-cards', '--data-dir', dataDir];
      const missing = run([name, 'no-such-file.csv', ...args]);
      expectUserError(missing, /^skewless: no such file: no-such-file\.csv$/);
      expect(missing.stderr).toContain(`  hint: the path is relative to ${work}`);
      const folder = join(work, `folder-${name}.csv`);
      mkdirSync(folder, { recursive: true });
      const directory = run([name, folder, ...args]);
      expectUserError(directory, /^skewless: not a file: .* is a directory$/);
      expect(directory.stderr).toContain('  hint: give one file; ');
      const empty = join(work, `empty-${name}.csv`);
      writeFileSync(empty, '');
      const nothing = run([name, empty, ...args]);
      expectUserError(nothing, new RegExp(`^skewless: the file ${empty} is empty \\(0 bytes\\)$`));
      expect(nothing.stderr).toContain('  hint: check the export that wrote it');
      expect(existsSync(dataDir)).toBe(false);
    }
  );

  it.each(['backfill', 'batch'])(
    '%s: a file with bytes but no rows (a CSV header only, gzipped or not; a Parquet file of 0 rows) is refused as an empty one is',
    (name) => {
      const dataDir = join(work, `untouched-rowless-${name}`);
      const args = ['--group', 'fraud-cards', '--data-dir', dataDir];
      const files = [
        {
          name: 'header-only.csv',
          body: 'card_id,event_time\n',
          reason: 'a header row and nothing after it',
        },
        {
          name: 'header-only.csv.gz',
          body: gzipSync('card_id,event_time\r\n\n'),
          reason: 'a header row and nothing after it',
        },
        { name: 'no-rows.parquet', body: toParquet([]), reason: 'a Parquet file of 0 rows' },
      ];
      for (const { name: fileName, body, reason } of files) {
        const path = join(work, `${name}-${fileName}`);
        writeFileSync(path, body);
        const result = run([name, path, ...args]);
        expectUserError(
          result,
          new RegExp(`^skewless: the file ${path} has no rows \\(${reason}\\)$`)
        );
        expect(result.stderr).toContain('  hint: check the export that wrote it');
      }
      expect(existsSync(dataDir)).toBe(false);
    }
  );

  it.each(['backfill', 'batch'])(
    '%s in-process: a data directory under a file is a user error, not an unexpected one',
    (name) => {
      const file = join(work, `a-file-for-${name}`);
      writeFileSync(file, 'x');
      const cards = join(root, 'examples/backfill/fraud-cards-october.csv');
      const result = run([name, cards, '--group', 'fraud-cards', '--data-dir', join(file, 'data')]);
      // The first line says it runs in-process; then the error.
      const error = { ...result, stderr: result.stderr.replace(/^no running stack in .*\n/, '') };
      expectUserError(
        error,
        /^skewless: cannot write the data directory .*a part of the path is a file/
      );
    }
  );

  /** `store --data-dir <dataDir>` fails with the one line `cannot write … <dataDir>: <reason>`. */
  function expectDataDirRefused(dataDir: string, reason: string): void {
    const result = run(['store', '--port', '0', '--data-dir', dataDir]);
    expectUserError(result, /symbolic link/);
    expect(result.stderr.split('\n')[0]).toBe(
      `skewless: cannot write the data directory ${dataDir}: ${reason}`
    );
  }

  it('a data directory that is, or is under, a symbolic link to a missing target says so, naming the target', () => {
    const target = join(work, 'moved-away', 'data');
    const link = join(work, 'dangling-data');
    symlinkSync(target, link);
    const what = `a symbolic link to ${target}, which does not exist`;
    expectDataDirRefused(link, `it is ${what}`);
    expectDataDirRefused(join(link, 'sub'), `a part of the path is ${what} (${link})`);
  });

  it('a data directory that is, or is under, a loop of symbolic links says so, not an unexpected error', () => {
    const first = join(work, 'loop-a');
    const second = join(work, 'loop-b');
    symlinkSync(second, first);
    symlinkSync(first, second);
    const what = 'a symbolic link in a loop: it never reaches a file or directory';
    expectDataDirRefused(first, `it is ${what}`);
    expectDataDirRefused(join(first, 'x', 'data'), `a part of the path is ${what} (${first})`);
  });

  it('a data directory that cannot be written (under a file, not ENOENT)', () => {
    const file = join(work, 'a-file');
    writeFileSync(file, 'x');
    const result = run(['start', '--no-demo', '--data-dir', join(file, 'data'), ...FREE_PORTS]);
    expectUserError(result, /cannot write the data directory .*a part of the path is a file/);
    expect(result.stderr).toContain('--data-dir');
  });

  it.each([
    ['start', '/proc/sys/x'],
    ['store', '/proc/x'],
    ['backfill', '/proc/x'],
  ])(
    '%s --data-dir %s: a folder procfs refuses (ENOENT, where Node recursive mkdir loops forever) is a user error, not a hang',
    (name, dataDir) => {
      const cards = join(root, 'examples/backfill/fraud-cards-october.csv');
      const args = {
        start: ['start', '--no-demo', ...FREE_PORTS],
        store: ['store', '--port', '0'],
        backfill: ['backfill', cards, '--group', 'fraud-cards', '--no-progress'],
      }[name] ?? [name];
      const result = run([...args, '--data-dir', dataDir]);
      // backfill says first that it runs in-process; then the error.
      const error = { ...result, stderr: result.stderr.replace(/^no running stack in .*\n/, '') };
      expectUserError(
        error,
        /^skewless: cannot write the data directory \/proc\/\S+: (\/proc\/sys is read-only or not writable|no directory can be created in \/proc(\/sys)?|the file system is read-only|permission denied)( \(\/proc\/\S+\))?$/
      );
    }
  );

  it('--no-demo with a demo option is refused before anything starts (one of them is a mistake)', () => {
    const dataDir = join(work, 'no-demo-rate');
    expectUserError(
      run(['start', '--no-demo', '--demo-rate', '5', '--data-dir', dataDir, ...FREE_PORTS]),
      /^skewless: --demo-rate sets the demo, which --no-demo turns off$/
    );
    expect(existsSync(dataDir)).toBe(false);
  });

  it('two parts given one port is refused before anything starts, naming both flags', () => {
    const dataDir = join(work, 'same-port');
    const args = [...FREE_PORTS];
    args[args.indexOf('--api-port') + 1] = '45914';
    args[args.indexOf('--s3-port') + 1] = '45914';
    expectUserError(
      run(['start', '--no-demo', '--data-dir', dataDir, ...args]),
      /^skewless: --api-port and --s3-port both name port 45914: the lookup API and the local S3 cannot share it$/
    );
    expect(existsSync(dataDir)).toBe(false);
  });

  it.each([
    ['--api-port', 'lookup API'],
    ['--store-port', 'embedded feature store'],
    ['--kinesis-port', 'local Kinesis'],
    ['--s3-port', 'local S3'],
  ])('a port in use (%s) names the part and its flag', async (flag, part) => {
    const server = await listenOn(0);
    const port = (server.address() as { port: number }).port;
    try {
      const args = [...FREE_PORTS];
      args[args.indexOf(flag) + 1] = String(port);
      const result = run(['start', '--no-demo', '--data-dir', join(work, `ports${flag}`), ...args]);
      expectUserError(result, new RegExp(`port ${port} is in use: the ${part} cannot listen`));
      expect(result.stderr).toContain(`pass ${flag} <port>`);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('a data directory in use by another stack', async () => {
    const dataDir = join(work, 'busy');
    // The lock belongs to another process: a child holding the store open.
    const holder = spawn(
      node,
      [
        '--input-type=module',
        '-e',
        `const { startStore } = await import(${JSON.stringify(join(root, 'local/store/index.ts'))});
         await startStore({ dataDir: ${JSON.stringify(join(dataDir, 'store'))}, port: 0, logLevel: 'silent' });
         console.log('ready');`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] }
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('ready')) resolve();
        });
        holder.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
      });
      const result = run(['start', '--no-demo', '--data-dir', dataDir, ...FREE_PORTS]);
      expectUserError(
        result,
        new RegExp(`data directory .*busy is in use by another stack \\(process ${holder.pid}\\)`)
      );
      // The store alone on the same directory says the same.
      expectUserError(
        run(['store', '--port', '0', '--data-dir', join(dataDir, 'store')]),
        new RegExp(
          `data directory .*busy/store is in use by another stack \\(process ${holder.pid}\\)`
        )
      );
      // So do the commands that open the data dir's store in-process when no stack answers.
      const cards = join(root, 'examples/backfill/fraud-cards-october.csv');
      for (const args of [
        ['backfill', cards, '--group', 'fraud-cards', '--no-progress'],
        ['batch', cards, '--group', 'fraud-cards', '--dry-run', '--no-progress'],
        ['audit'],
      ]) {
        const result = run([...args, '--data-dir', dataDir]);
        expect(result.stderr, args[0]).toMatch(
          new RegExp(
            `^skewless: the data directory .*busy/store is in use by another stack \\(process ${holder.pid}\\)\n {2}hint: .*--endpoint`,
            'm'
          )
        );
        expect(result.status, args[0]).toBe(1);
        expect(result.stderr, args[0]).not.toMatch(/\n\s+at /);
      }
    } finally {
      holder.kill('SIGKILL');
    }
  });

  const linuxProcesses =
    existsSync('/proc/sys/kernel/random/boot_id') && existsSync('/proc/self/stat');
  const thisBoot = linuxProcesses
    ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    : '';
  it.skipIf(!linuxProcesses).each([
    // Killed with the machine (a crash, a power cut): another boot id.
    ['of an earlier boot (a crash, a power cut)', '00000000-0000-4000-8000-000000000000\n'],
    // Of a container restarted since: the host's boot id, but the pid's process started at
    // another time (a new pid namespace counts from 1 again).
    ['of an earlier container on this boot', `${thisBoot}\n1\n`],
  ])(
    'a lock left by a process %s does not hold the data dir, though its pid is alive again',
    (_, bootAndStart) => {
      // Prepare: store.lock as that stack left it; its pid now belongs to another process (this
      // test's, alive and no stack)
      const dataDir = mkdtempSync(join(work, 'restarted-'));
      mkdirSync(join(dataDir, 'store'), { recursive: true });
      writeFileSync(
        join(dataDir, 'store', 'store.lock'),
        `${process.pid}\n${join(dataDir, 'store')}\n${bootAndStart}`
      );
      // Act
      const result = run(exampleBackfillArgs(dataDir));
      // Assess
      expect(result.stderr).not.toContain('in use by another stack');
      expect(result.status, result.stderr).toBe(0);
    }
  );

  it.skipIf(!existsSync('/proc/sys/kernel/random/boot_id'))(
    'an endpoints.json left by a stack of an earlier boot is not taken for a running stack, though its pid is alive again: audit runs on the store on disk',
    () => {
      // Prepare: a store on disk, and the file a stack killed with the machine left; after the
      // reboot its pid belongs to another process (this test's), and nothing listens on its ports
      const dataDir = join(work, 'rebooted-endpoints');
      const backfill = run(exampleBackfillArgs(dataDir));
      expect(backfill.status, backfill.stderr).toBe(0);
      writeFileSync(
        join(dataDir, 'endpoints.json'),
        JSON.stringify({
          api: 'http://127.0.0.1:1',
          store: 'http://127.0.0.1:1',
          s3: 'http://127.0.0.1:1',
          dataDir,
          pid: process.pid,
          bootId: '00000000-0000-4000-8000-000000000000',
        })
      );
      // Act
      const result = run(['audit', '--group', 'fraud-cards', '--data-dir', dataDir]);
      // Assess: not "no stack at http://127.0.0.1:1 … start one with npm start"
      expect(result.stderr).not.toContain('no stack at');
      expect(result.stdout).toContain('report written to');
    }
  );

  it('skewless store: a port in use names --port, a data directory under a file names --data-dir', async () => {
    const server = await listenOn(0);
    const port = (server.address() as { port: number }).port;
    try {
      const busy = run(['store', '--port', String(port), '--data-dir', join(work, 'store-port')]);
      expectUserError(busy, new RegExp(`port ${port} is in use: the embedded feature store`));
      expect(busy.stderr).toContain('--port <port>');
      // The stand-alone entry of the store (local/store/README.md) says the same.
      const alone = spawnSync(
        node,
        [
          join(root, 'local/store/main.ts'),
          '--port',
          String(port),
          '--data-dir',
          join(work, 'alone'),
        ],
        { encoding: 'utf8', timeout: 60_000 }
      );
      expectUserError(alone, new RegExp(`port ${port} is in use: the embedded feature store`));
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    const file = join(work, 'a-store-file');
    writeFileSync(file, 'x');
    const underFile = run(['store', '--port', '0', '--data-dir', join(file, 'data')]);
    expectUserError(underFile, /cannot write the data directory .*a part of the path is a file/);
    // The file itself given as the data directory (mkdir says EEXIST).
    expectUserError(
      run(['store', '--port', '0', '--data-dir', file]),
      new RegExp(
        `^skewless: cannot write the data directory ${file}: it is a file, not a directory$`
      )
    );
  });

  it("skewless store's stand-alone entry (node local/store/main.ts) shows the usage of skewless store", () => {
    // Act
    const help = spawnSync(node, [join(root, 'local/store/main.ts'), '--help'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    // Assess
    expect(help.status).toBe(0);
    expect(help.stdout.split('\n')[0]).toBe('Usage: skewless store [options]');
  });

  it("skewless store's stand-alone entry reports a bad command line as skewless store does: one line and a hint", () => {
    // Prepare
    const alone = (args: readonly string[]): CliRun =>
      spawnSync(node, [join(root, 'local/store/main.ts'), ...args], {
        cwd: work,
        encoding: 'utf8',
        timeout: 60_000,
      });
    const file = join(work, 'a-file-not-a-data-dir');
    writeFileSync(file, 'x');
    // Act
    const unknown = alone(['--no-such-option']);
    const badPort = alone(['--port', 'abc']);
    const withDebug = alone(['--debug', '--port', '0', '--data-dir', file]);
    // Assess
    expectUserError(unknown, /^skewless: unknown option '--no-such-option'$/);
    expect(unknown.stderr).toContain('hint: see skewless store --help');
    expectUserError(badPort, /^skewless: option '-p, --port <port>' argument 'abc' is invalid/);
    // --debug, as the CLI's, adds the stack trace of a user error.
    expect(withDebug.status).toBe(1);
    expect(withDebug.stderr).toMatch(/^skewless: cannot write the data directory .*\n {2}hint: /);
    expect(withDebug.stderr).toMatch(/\n\s+at /);
  });
});

describe('a store without the group (a bare skewless store)', () => {
  let bare: TestStore;
  beforeAll(async () => {
    bare = await startTestStore();
  });
  afterAll(() => bare.close());

  it('get (ResourceNotFound) and put (ValidationError) say so in one line with a hint', async () => {
    const endpoint = bare.store.endpoint;
    const get = await runAsync(['get', 'fraud-cards', 'card-1', '--endpoint', endpoint]);
    expectUserError(get, /the store has no such feature group: .*fraud-cards/);
    expect(get.stderr).toContain('npm start');
    const put = await runAsync([
      'put',
      'fraud-cards',
      JSON.stringify({ card_id: 'c1', event_time: new Date().toISOString() }),
      '--endpoint',
      endpoint,
    ]);
    expectUserError(put, /the store has no such feature group: .*fraud-cards/);
  });
});

describe('skewless put', () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await startTestStore();
    await ensureFeatureGroups(store.sagemaker, featureGroups, {
      offlineS3Uri: 's3://skewless-offline-store/offline-store',
      roleArn: 'arn:aws:iam::000000000000:role/skewless-local-offline-store',
    });
  });
  afterAll(() => store.close());

  it('warns that a record whose TTL is already past will not be served', async () => {
    // fraud-cards keeps records online for 90 days after their event time.
    const old = new Date(Date.now() - 100 * 86_400_000).toISOString();
    const result = await runAsync([
      'put',
      'fraud-cards',
      JSON.stringify({ card_id: 'card-expired', event_time: old, txn_count_7d: 1 }),
      '--endpoint',
      store.store.endpoint,
    ]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('put fraud-cards/card-expired');
    expect(result.stderr).toMatch(/^warning: its TTL expired at .*will not serve it/);
  });

  it('stores non-ASCII text written as JSON escapes, the way out its refusal of U+FFFD names', async () => {
    // Act: the argument is ASCII; JSON.parse makes é and U+FFFD of the escapes.
    const put = await runAsync([
      'put',
      'fraud-cards',
      `{"card_id":"caf\\u00e9","event_time":"${new Date().toISOString()}","home_country":"\\ufffd"}`,
      '--endpoint',
      store.store.endpoint,
    ]);
    const get = await runAsync(['get', 'fraud-cards', 'café', '--endpoint', store.store.endpoint]);
    // Assess
    expect(put).toMatchObject({ status: 0, stderr: '' });
    expect(put.stdout).toContain('put fraud-cards/café at ');
    expect(JSON.parse(get.stdout).features.home_country).toBe('\ufffd');
  });

  /** Puts the card whose id is `cardIdJson` (JSON string content, escapes as written), event time now. */
  async function putCardNow(cardIdJson: string): Promise<void> {
    const put = await runAsync([
      'put',
      'fraud-cards',
      `{"card_id":"${cardIdJson}","event_time":"${new Date().toISOString()}"}`,
      '--endpoint',
      store.store.endpoint,
    ]);
    expect(put.status).toBe(0);
  }

  /** `get fraud-cards` of the id printf makes of `printfId` (octal escapes pass bytes as they are). */
  const getCardThroughShell = (printfId: string) =>
    runCliThroughShell(
      `exec "$0" "$1" get fraud-cards "$(printf '${printfId}')" --endpoint ${store.store.endpoint}`,
      inWork
    );

  it('get refuses a record identifier that is not UTF-8 (a Latin-1 é), which would find the record "caf\\ufffd"', async () => {
    // Prepare: the record a Latin-1 `café` would otherwise name.
    await putCardNow('caf\\ufffd');
    // Act: the shell passes the byte E9 (octal 351) itself, as a Latin-1 terminal sends é.
    const get = await getCardThroughShell('caf\\351');
    // Assess
    expect(get.stdout).toBe('');
    expectUserError(
      get,
      /^skewless: the record identifier \(card_id\) holds U\+FFFD at character 4 \(caf\\ufffd\): text that is not UTF-8 \(a Windows-1252 or Latin-1 terminal\?\) arrives as U\+FFFD, another value than the one typed$/
    );
    expect(get.stderr).toContain(
      `hint: give it in UTF-8 (a terminal set to UTF-8), or spell its UTF-8 bytes: skewless get fraud-cards "$(printf 'caf\\303\\251')" for café`
    );
  });

  it('get finds a non-ASCII record identifier given in UTF-8 bytes, the way out its refusal of U+FFFD names', async () => {
    // Prepare
    await putCardNow('cr\\u00e8me');
    // Act: the hint's printf, with è (C3 A8).
    const get = await getCardThroughShell('cr\\303\\250me');
    // Assess
    expect(get.status).toBe(0);
    expect(JSON.parse(get.stdout).recordId).toBe('crème');
  });

  it('get --features of a live record that lacks them prints it with no features, not "no live record"', async () => {
    // Prepare: a card written without home_country.
    const put = await runAsync([
      'put',
      'fraud-cards',
      JSON.stringify({
        card_id: 'card-partial',
        event_time: new Date().toISOString(),
        txn_count_7d: 2,
      }),
      '--endpoint',
      store.store.endpoint,
    ]);
    expect(put.status).toBe(0);
    // Act
    const lacking = await runAsync([
      'get',
      'fraud-cards',
      'card-partial',
      '--features',
      'home_country',
      '--endpoint',
      store.store.endpoint,
    ]);
    const some = await runAsync([
      'get',
      'fraud-cards',
      'card-partial',
      '--features',
      'home_country,txn_count_7d',
      '--endpoint',
      store.store.endpoint,
    ]);
    // Assess
    expect(lacking.status).toBe(0);
    expect(JSON.parse(lacking.stdout)).toMatchObject({ recordId: 'card-partial', features: {} });
    expect(some.status).toBe(0);
    expect(JSON.parse(some.stdout).features).toEqual({ txn_count_7d: 2 });
  });

  it('get of a record the online store lacks says where else it may be, in one line and a hint', async () => {
    const result = await runAsync([
      'get',
      'fraud-cards',
      'card-never',
      '--endpoint',
      store.store.endpoint,
    ]);
    expectUserError(
      result,
      /^skewless: no live record "card-never" in fraud-cards \(never written online, deleted or expired\)$/
    );
    expect(result.stderr).toContain('a backfill writes only the offline store');
  });

  it('warns that a put to a group with derived features writes none of them', async () => {
    const result = await runAsync([
      'put',
      'fraud-transactions',
      JSON.stringify({
        transaction_id: 'tx-by-hand',
        event_time: new Date().toISOString(),
        card_id: 'card-1',
        amount: 10,
      }),
      '--endpoint',
      store.store.endpoint,
    ]);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe(
      'warning: fraud-transactions has derived features the ingest handler computes (card_txn_count_60s, card_txn_count_1h, card_txn_count_1d, card_amount_sum_1h, amount_to_avg_7d_ratio): put writes the record as given and leaves the card_id state unchanged; send it through the stream to have them\n'
    );
  });

  it('does not warn for a live record', async () => {
    const result = await runAsync([
      'put',
      'fraud-cards',
      JSON.stringify({ card_id: 'card-live', event_time: new Date().toISOString() }),
      '--endpoint',
      store.store.endpoint,
    ]);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    const get = await runAsync([
      'get',
      'fraud-cards',
      'card-live',
      '--endpoint',
      store.store.endpoint,
    ]);
    expect(get.status).toBe(0);
    expect(JSON.parse(get.stdout)).toMatchObject({ recordId: 'card-live' });
  });
});

describe('get and put against an endpoint that fails them', () => {
  /** A server on a free loopback port whose connections `serve` handles; closed after `use`. */
  const record = () => JSON.stringify({ card_id: 'c1', event_time: Math.floor(Date.now() / 1000) });

  it('a store that stops while answering (connection reset): the endpoint and what to check', async () => {
    await withRawServer(
      (socket) => socket.once('data', () => socket.resetAndDestroy()),
      async (endpoint) => {
        for (const args of [
          ['get', 'fraud-cards', 'c1'],
          ['put', 'fraud-cards', record()],
        ]) {
          const result = await runAsync([...args, '--endpoint', endpoint]);
          expectUserError(
            result,
            new RegExp(
              `^skewless: the store at ${endpoint} closed the connection before answering \\(ECONNRESET\\): did it stop\\?$`
            )
          );
          expect(result.stderr).toContain('npm start');
        }
      }
    );
  });

  it('a store that never answers: a user error after the wait, not a hang', async () => {
    await withRawServer(
      () => {},
      async (endpoint) => {
        const result = await runAsync(['get', 'fraud-cards', 'c1', '--endpoint', endpoint]);
        expectUserError(
          result,
          new RegExp(`^skewless: the store at ${endpoint} did not answer within 10 s$`)
        );
      }
    );
  });

  it('an endpoint that answers, but not as a feature store (the lookup API, S3)', async () => {
    await withRawServer(
      (socket) =>
        socket.once('data', () =>
          socket.end(
            'HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: 42\r\nconnection: close\r\n\r\n{"message":"Missing Authentication Token"}'
          )
        ),
      async (endpoint) => {
        const result = await runAsync(['get', 'fraud-cards', 'c1', '--endpoint', endpoint]);
        expectUserError(
          result,
          new RegExp(
            `^skewless: ${endpoint} answered HTTP 403 \\(Missing Authentication Token\\), not as a SageMaker Feature Store$`
          )
        );
        expect(result.stderr).toContain('endpoints.json');
      }
    );
  });

  it('put to a web server that answers 200 with a page, not a feature store: one line naming the endpoint and where it came from, nothing reported as put', async () => {
    // Prepare: a plain HTTP server on 127.0.0.1 (PutRecord's output is empty: any 2xx parses)
    const page = '<!doctype html><html><body>It works!</body></html>';
    await withRawServer(
      (socket) =>
        socket.once('data', () =>
          socket.end(
            `HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: ${page.length}\r\nconnection: close\r\n\r\n${page}`
          )
        ),
      async (endpoint) => {
        const record = JSON.stringify({ card_id: 'c1', event_time: new Date().toISOString() });
        // Act: through --endpoint, then through a running stack's endpoints.json naming it
        const explicit = await runAsync(['put', 'fraud-cards', record, '--endpoint', endpoint]);
        const dataDir = mkdtempSync(join(work, 'html-store-'));
        writeFileSync(
          join(dataDir, 'endpoints.json'),
          JSON.stringify({
            store: endpoint,
            dataDir,
            pid: process.pid,
            bootId: bootId(),
            startTicks: processStartTicks(process.pid),
          })
        );
        const recorded = await runAsync(['put', 'fraud-cards', record, '--data-dir', dataDir]);
        // Assess
        const said = `answered HTTP 200 without the x-amzn-RequestId header every SageMaker Feature Store answer carries: it is not a feature store`;
        expectUserError(explicit, new RegExp(`^skewless: ${endpoint} \\(--endpoint\\) ${said}$`));
        expect(explicit.stderr).toContain('hint: pass the feature store');
        expectUserError(
          recorded,
          new RegExp(
            `^skewless: ${endpoint} \\(from ${join(dataDir, 'endpoints.json')}\\) ${said}$`
          )
        );
        expect(recorded.stderr).toContain('npm start');
        expect(explicit.stdout + recorded.stdout).toBe('');
      }
    );
  });

  it('get from a server that answers 200 with an empty JSON object, not a feature store: one line saying so, not "no live record"', async () => {
    // Prepare: a plain HTTP server on 127.0.0.1 answering `{}` (GetRecord's answer for no record)
    await withRawServer(
      (socket) =>
        socket.once('data', () =>
          socket.end(
            'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}'
          )
        ),
      async (endpoint) => {
        // Act
        const result = await runAsync(['get', 'fraud-cards', 'c1', '--endpoint', endpoint]);
        // Assess
        expectUserError(
          result,
          new RegExp(
            `^skewless: ${endpoint} \\(--endpoint\\) answered HTTP 200 without the x-amzn-RequestId header every SageMaker Feature Store answer carries: it is not a feature store$`
          )
        );
        expect(result.stdout).toBe('');
      }
    );
  });

  it('a host that does not resolve', async () => {
    const result = await runAsync([
      'get',
      'fraud-cards',
      'c1',
      '--endpoint',
      'http://no-such-host.invalid:8765',
    ]);
    expectUserError(
      result,
      /^skewless: cannot resolve the host of http:\/\/no-such-host\.invalid:8765 \((ENOTFOUND|EAI_AGAIN)\)$/
    );
  });
});

describe('skewless audit against a store that stops during it', () => {
  it('prints what it got, then one line saying the store stopped, exit 1', async () => {
    // A store that accepts the audit's first request, then stops: that request's connection is
    // reset and no later one is accepted (a stack stopped by Ctrl-C mid-audit).
    await withRawServer(
      (socket, store) =>
        socket.once('data', () => {
          store.close();
          socket.resetAndDestroy();
        }),
      async (endpoint) => {
        const dataDir = mkdtempSync(join(work, 'audit-stopped-'));
        const result = await runAsync(['audit', '--data-dir', dataDir, '--endpoint', endpoint]);
        expectUserError(
          result,
          new RegExp(
            `^skewless: the store at ${endpoint} stopped answering during the audit \\(3 of 3 groups failed\\)$`
          )
        );
        expect(result.stderr).toContain('npm start');
        expect(result.stdout).toContain('FAILED');
      }
    );
  });
});

describe('skewless audit interrupted', () => {
  it('says so in one line and exits 130 on Ctrl-C', async () => {
    // An online store that accepts the connection and never answers: the audit waits on it.
    let interrupt: () => void = () => {};
    await withRawServer(
      () => interrupt(),
      async (endpoint) => {
        const dataDir = mkdtempSync(join(work, 'audit-'));
        const result = await runAsync(
          ['audit', '--data-dir', dataDir, '--endpoint', endpoint],
          (child) => {
            interrupt = () => child.kill('SIGINT');
          }
        );
        expect(result.status).toBe(130);
        expect(result.stderr).toBe('audit: interrupted: no report written\n');
        expect(result.stdout).toBe('');
      }
    );
  });
});

describe('skewless backfill output through one pipe', () => {
  /** CPU ticks the process has used (utime + stime of /proc/<pid>/stat). */
  const cpuTicks = (pid: number): number => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return Number(fields[11]) + Number(fields[12]);
  };

  it('prints the progress, then the report, when stdout and stderr share a pipe its reader keeps full', async () => {
    // Prepare: one pipe for both streams (a FIFO, as `2>&1 | less` makes one), filled before the
    // command starts, as behind a reader that has not caught up: every write is queued.
    const dataDir = mkdtempSync(join(work, 'one-pipe-'));
    const fifo = join(dataDir, 'both.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    const filler = Buffer.alloc(4096, 'x');
    let filled = 0;
    try {
      for (;;) filled += writeSync(writer, filler);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    }
    const file = join(root, 'examples/backfill/fraud-cards-october.csv');
    const child = spawn(node, [cli, 'backfill', file, '--group', 'fraud-cards'], {
      cwd: dataDir,
      stdio: ['ignore', writer, writer],
    });
    closeSync(writer);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      // Act: read nothing until the command has written all it will (its report file is there
      // and it has used no CPU for a second), then everything.
      const reports = join(dataDir, '.skewless', 'reports');
      const deadline = Date.now() + 60_000;
      let idleSince = Date.now();
      let last = -1;
      while (Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const ticks = cpuTicks(child.pid as number);
        if (ticks !== last) {
          last = ticks;
          idleSince = Date.now();
        }
        const written =
          existsSync(reports) &&
          (readdirSync(reports, { recursive: true }) as string[]).some((f) =>
            f.endsWith('report.json')
          );
        if (written && Date.now() - idleSince >= 1000) break;
      }
      const chunks: Buffer[] = [];
      const buffer = Buffer.alloc(65_536);
      for (;;) {
        try {
          const n = readSync(reader, buffer);
          if (n === 0) break;
          chunks.push(Buffer.from(buffer.subarray(0, n)));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
          if (Date.now() > deadline) throw new Error('the command did not finish');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      // Assess: the lines in the order the command wrote them.
      expect(await exited).toBe(0);
      const text = Buffer.concat(chunks).toString('utf8');
      expect(text.slice(0, filled)).toBe('x'.repeat(filled));
      const lines = text.slice(filled).trimEnd().split('\n');
      expect(lines[0]).toMatch(/^no running stack in \.skewless \(no endpoints\.json\): running /);
      // Progress lines next (one on a fast machine; a loaded one also prints the rows so far),
      // the last with the final counts, then the summary.
      const summaryAt = lines.findIndex((l) => l.startsWith('Backfilled '));
      const progress = lines.slice(1, summaryAt);
      expect(progress.length).toBeGreaterThanOrEqual(1);
      expect(progress.every((l) => l.startsWith('backfill: '))).toBe(true);
      expect(progress.at(-1)).toMatch(/^backfill: 602 rows read, 600 written, 2 rejected /);
      expect(lines[summaryAt]).toMatch(
        /^Backfilled backfill\/fraud-cards\/fraud-cards-october\.csv /
      );
      expect(lines.slice(summaryAt).some((l) => l.startsWith('backfill: '))).toBe(false);
    } finally {
      child.kill();
      closeSync(reader);
    }
  });
});

describe('reportCliError', () => {
  const capture = (error: unknown, args: string[]) => {
    let text = '';
    const code = reportCliError(error, args, (t) => {
      text += t;
    });
    return { code, text };
  };

  it('hides the stack of an unexpected error unless --debug or --log-level debug', () => {
    const error = new Error('boom');
    const plain = capture(error, ['get']);
    expect(plain.code).toBe(2);
    expect(plain.text).toBe(
      'skewless: unexpected error: boom\n  hint: run again with --debug for the stack trace\n'
    );
    for (const args of [['--debug'], ['start', '--log-level', 'debug'], ['--log-level=debug']]) {
      const debug = capture(error, args);
      expect(debug.text).toContain('skewless: unexpected error: boom\n');
      expect(debug.text).toContain(error.stack);
    }
  });

  it('prints a broken shared/definitions.ts as a user error: every problem and where to fix it', () => {
    const broken = new DefinitionError('fraud_devices', [
      'name must be 1-64 characters matching ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}$',
      'feature "write_time": name is reserved for an offline store column',
    ]);
    const { code, text } = capture(broken, ['start']);
    expect(code).toBe(1);
    expect(text).toBe(
      'skewless: Invalid definition "fraud_devices":\n  - name must be 1-64 characters matching ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}$\n  - feature "write_time": name is reserved for an offline store column\n  hint: fix it in shared/definitions.ts (the rules: README, "Define your own feature groups"); npm test checks it\n'
    );
  });

  it('prints an environment variable out of range as a user error naming it', () => {
    const { code, text } = capture(
      new ConfigurationError(
        'environment variable MAX_EVENT_TIME_SKEW_SECONDS="abc" must be an integer in [0, 316224000]'
      ),
      ['put']
    );
    expect(code).toBe(1);
    expect(text).toBe(
      'skewless: environment variable MAX_EVENT_TIME_SKEW_SECONDS="abc" must be an integer in [0, 316224000]\n  hint: fix or unset it (each function\'s doc lists its variables)\n'
    );
  });

  it('prints missing AWS credentials (dataset --engine athena) as a user error saying what to set', () => {
    const missing = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    const { code, text } = capture(missing, ['dataset', '--engine', 'athena']);
    expect(code).toBe(1);
    expect(text).toBe(
      'skewless: Could not load credentials from any providers\n  hint: --engine athena reaches AWS: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and AWS_REGION\n'
    );
  });

  it("prints failing credentials of a local command with a hint about the user's own, not Athena", () => {
    // AWS_PROFILE set (an expired SSO session): the local command uses it, and it fails
    const expired = Object.assign(
      new Error('The SSO session associated with this profile has expired'),
      {
        name: 'CredentialsProviderError',
      }
    );
    const { code, text } = capture(expired, ['get', 'fraud-cards', 'card-0001']);
    expect(code).toBe(1);
    expect(text).toBe(
      'skewless: The SSO session associated with this profile has expired\n  hint: the local stack takes any credentials, but AWS_PROFILE (or AWS_ACCESS_KEY_ID) is set and used as it is: unset it, or refresh its credentials (e.g. aws sso login)\n'
    );
  });

  it('reaches AWS only for dataset with --engine athena, not for a group, record or file named athena', () => {
    for (const args of [
      ['dataset', 'labels.csv', '--engine', 'athena'],
      ['--debug', 'dataset', 'ml.labels', '--engine=athena'],
      ['dataset', 'ml.labels', '--engine', 'duckdb', '--engine', 'athena'],
    ]) {
      expect(reachesAws(args), args.join(' ')).toBe(true);
    }
    for (const args of [
      ['get', 'fraud-cards', 'athena'],
      ['get', 'athena', 'card-0001'],
      ['backfill', 'athena', '--group', 'fraud-cards'],
      ['dataset', 'athena', '--label-time-column', 'event_time'],
      ['dataset', 'labels.csv', '--engine', 'athena', '--engine', 'duckdb'],
      ['dataset', 'labels.csv', '--', '--engine', 'athena'],
      ['help', 'dataset', '--engine', 'athena'],
    ]) {
      expect(reachesAws(args), args.join(' ')).toBe(false);
    }
  });

  it('gives a local command named athena the dummy credentials: no AWS credential chain', () => {
    // No credentials anywhere (no AWS_* variable, an empty home): a local command must not ask.
    const env: Record<string, string | undefined> = {
      HOME: work,
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    for (const name of Object.keys(process.env)) {
      if (name.startsWith('AWS_') && name !== 'AWS_EC2_METADATA_DISABLED') env[name] = undefined;
    }
    const result = runCli(['get', 'fraud-cards', 'athena', '--endpoint', 'http://127.0.0.1:9'], {
      ...inWork,
      env,
    });
    expectUserError(result, /127\.0\.0\.1:9/);
    expect(result.stderr).not.toMatch(/credentials/i);
  });

  it('prints a user error as one line and a hint', () => {
    expect(capture(new UserError('it broke', 'do this'), []).text).toBe(
      'skewless: it broke\n  hint: do this\n'
    );
  });
});

describe('the start banner', () => {
  const endpoints = {
    api: 'http://127.0.0.1:3000',
    store: 'http://127.0.0.1:8765',
    kinesis: 'http://127.0.0.1:4567',
    s3: 'http://127.0.0.1:4569',
    streamName: 'skewless-ingest',
    backfillBucket: 'skewless-backfill',
    reportsBucket: 'skewless-reports',
    dataDir: '/tmp/skewless',
    pid: 1,
  };

  it('suggests the demo records only when the demo runs', async () => {
    const { banner } = await import('../../local/start.ts');
    const withDemo = banner(endpoints, true);
    expect(withDemo).toContain('/records/txn-demo-0001');
    const withoutDemo = banner(endpoints, false);
    expect(withoutDemo).not.toContain('txn-demo');
    expect(withoutDemo).not.toContain('curl');
    expect(withoutDemo).toContain('npx skewless put fraud-cards');
    expect(withoutDemo).toContain('npx skewless get fraud-cards card-0001');
  });

  it("passes the stack's data dir to the commands it suggests when it is not the default", async () => {
    const { banner } = await import('../../local/start.ts');
    // Another data dir (and free ports): the commands find this stack only through its
    // endpoints.json, under that data dir.
    const other = banner(endpoints, false);
    expect(other).toContain(
      'npx skewless backfill examples/backfill/fraud-cards-october.csv --group fraud-cards --data-dir /tmp/skewless\n'
    );
    expect(other).toContain('npx skewless get fraud-cards card-0001 --data-dir /tmp/skewless\n');
    expect(other).toMatch(/npx skewless put fraud-cards '.*' --data-dir \/tmp\/skewless\n/);
    const spaced = banner({ ...endpoints, dataDir: '/tmp/my stack' }, true);
    expect(spaced).toContain("--group fraud-cards --data-dir '/tmp/my stack'\n");
    const usual = banner({ ...endpoints, dataDir: join(process.cwd(), '.skewless') }, true);
    expect(usual).not.toContain('--data-dir');
  });
});

describe("the stack's backfill log line", () => {
  const report = {
    status: 'completed',
    featureGroup: 'fraud-cards',
    format: 'csv',
    compression: 'none',
    rowsRead: 560_000,
    rowsWritten: 560_000,
    rowsRejected: 0,
    writeMode: 'direct',
    rowsPerSecond: 63_028,
    firstErrors: [],
    source: {
      bucket: 'skewless-backfill',
      key: 'backfill/fraud-cards/big.csv',
      versionId: 'v1',
      etag: 'e',
    },
    rejects: { bucket: 'skewless-reports', key: 'backfill/fraud-cards/big.csv/v-v1/rejects.jsonl' },
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
  } as const;

  it('gives a backfill resumed after a stop its work time, not the stop it spans as backfilling time', async () => {
    const { backfillLine } = await import('../../local/start.ts');
    // Stopped with Ctrl-C at a checkpoint in the evening, resumed at the next start in the morning
    const resumed = backfillLine({
      ...report,
      durationMs: 12 * 3_600_000,
      activeMs: 8_900,
      invocations: 2,
      resumptions: 1,
    });
    expect(resumed).toContain(
      '560,000 written, 0 rejected of 560,000 rows (direct mode, 8.9 s of work in 2 invocations, 12.0h since it started)'
    );
    const once = backfillLine({
      ...report,
      durationMs: 8_960,
      activeMs: 8_900,
      invocations: 1,
      resumptions: 0,
    });
    expect(once).toContain('of 560,000 rows (direct mode, 9.0 s); report s3://skewless-reports/');
  });

  it('counts the rows a failed backfill read but did not write, so that the counts add up', async () => {
    const { backfillLine } = await import('../../local/start.ts');
    const line = backfillLine({
      ...report,
      status: 'failed',
      rowsRead: 30,
      rowsWritten: 29,
      rowsNotWritten: 1,
      durationMs: 900,
      activeMs: 900,
      invocations: 1,
      resumptions: 0,
      error: 'the feature store refused BatchWriteRecord…',
    });
    expect(line).toContain('29 written, 0 rejected, 1 not written of 30 rows');
  });
});

describe("the stack's audit log line", () => {
  const mismatches = (onlineNewer: number, valueMismatch: number) => ({
    onlineOlder: 0,
    onlineNewer,
    deletedButOnline: 0,
    valueMismatch,
    onlineOnly: 0,
  });

  it.each([
    {
      description: 'is one human line with the findings and the report, not a JSON dump',
      durationMs: 1611,
      totals: {
        groups: 3,
        failedGroups: 0,
        identifiers: 18_611,
        stale: 4,
        freshnessBreaches: 0,
        expiredStillServed: 0,
        expiringSoon: 0,
        checked: 18_611,
        coherenceMismatches: 1,
        mismatches: mismatches(1, 0),
      },
      expected:
        'audit finished in 1.6 s: 3 groups, 18,611 identifiers checked: 1 mismatch (onlineNewer 1), 0 expired records still served, 4 stale, 0 freshness breaches, 0 groups failed',
    },
    {
      description: 'puts each total in its place (a sampled audit, every count a different number)',
      durationMs: 2500,
      totals: {
        groups: 4,
        failedGroups: 1,
        identifiers: 18_611,
        stale: 5,
        freshnessBreaches: 2,
        expiredStillServed: 3,
        expiringSoon: 7,
        checked: 2_000,
        coherenceMismatches: 6,
        mismatches: mismatches(4, 2),
      },
      expected:
        'audit finished in 2.5 s: 4 groups, 2,000 identifiers checked: 6 mismatches (onlineNewer 4, valueMismatch 2), 3 expired records still served, 5 stale, 2 freshness breaches, 1 group failed',
    },
    {
      description: 'says one of each in the singular',
      durationMs: 900,
      totals: {
        groups: 1,
        failedGroups: 1,
        identifiers: 1,
        stale: 1,
        freshnessBreaches: 1,
        expiredStillServed: 1,
        expiringSoon: 1,
        checked: 1,
        coherenceMismatches: 1,
        mismatches: mismatches(0, 1),
      },
      expected:
        'audit finished in 0.9 s: 1 group, 1 identifier checked: 1 mismatch (valueMismatch 1), 1 expired record still served, 1 stale, 1 freshness breach, 1 group failed',
    },
  ])('$description', async ({ durationMs, totals, expected }) => {
    const { auditLine } = await import('../../local/start.ts');
    const line = auditLine({
      reportLocation: '/tmp/skewless/reports/audit-x.json',
      auditedAt: new Date().toISOString(),
      durationMs,
      totals,
    });
    expect(line).toBe(
      `${expected}; report /tmp/skewless/reports/audit-x.json (npx skewless audit prints the table)`
    );
  });
});

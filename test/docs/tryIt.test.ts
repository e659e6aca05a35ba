/**
 * Docs that run: every shell block marked `<!-- try-it -->` in README.md and docs/*.md is run,
 * as one shell script per block, against a stack started the way the quick start starts it (`npm start`,
 * i.e. `node bin/skewless.js start`), from a directory that looks like a fresh clone. The
 * documented default ports are rewritten to the ones the stack got (it listens on free ports so
 * it never collides with a developer's own `npm start`). The commands run without AWS
 * configuration in the environment: whatever credentials they need, the docs must show.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalKinesisClient } from '../../local/kinesis/localKinesis.ts';
import type { Endpoints } from '../../local/start.ts';
import { START_DEFAULTS } from '../../local/startDefaults.ts';
import {
  FREE_PORTS,
  killProcess,
  root,
  type StackProcess,
  spawnCliProcess,
  stackStarted,
  stopStackProcess,
} from '../helpers/stackProcess.ts';

interface Block {
  readonly file: string;
  readonly line: number;
  readonly commands: readonly string[];
}

/** The shell blocks after a `<!-- try-it` marker, as commands (continuation lines joined). */
function tryItBlocks(file: string): Block[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]?.startsWith('<!-- try-it')) continue;
    const fence = lines[i + 1] ?? '';
    if (!/^```(sh|bash)$/.test(fence))
      throw new Error(`${file}:${i + 1}: try-it marks no shell block`);
    const commands: string[] = [];
    let current = '';
    for (let j = i + 2; j < lines.length && lines[j] !== '```'; j++) {
      const text = lines[j] ?? '';
      current += current === '' ? text : ` ${text.trim()}`;
      if (current.endsWith('\\')) current = current.slice(0, -1).trimEnd();
      else {
        if (current.trim() !== '') commands.push(current);
        current = '';
      }
    }
    blocks.push({ file, line: i + 1, commands });
  }
  return blocks;
}

const docFiles = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const blocks = docFiles.flatMap(tryItBlocks);

/**
 * A documented command with the default URLs rewritten to `endpoints`, in one pass: rewriting
 * one default after another let a later default rewrite a prefix of an earlier result (the API
 * on free port 45699 read `http://127.0.0.1:4569` + `9`, and became the S3 port plus a 9).
 * `curl -s` gets `-f --show-error`, so an HTTP error fails the command, with the page's answer
 * (`--fail-with-body`) and curl's own message.
 */
function localizeCommand(command: string, endpoints: Endpoints): string {
  const urls = new Map<number, string>([
    [START_DEFAULTS.apiPort, endpoints.api],
    [START_DEFAULTS.storePort, endpoints.store],
    [START_DEFAULTS.kinesisPort, endpoints.kinesis],
    [START_DEFAULTS.s3Port, endpoints.s3],
  ]);
  return command
    .replace(
      /http:\/\/127\.0\.0\.1:(\d+)(?!\d)/g,
      (url, port: string) => urls.get(Number(port)) ?? url
    )
    .replace(/\bcurl -s\b/g, 'curl -sS --fail-with-body');
}

describe('localizeCommand', () => {
  it('rewrites each default URL once, even when a free port starts with another default', () => {
    const endpoints = {
      api: 'http://127.0.0.1:45699',
      store: 'http://127.0.0.1:8765',
      kinesis: 'http://127.0.0.1:40001',
      s3: 'http://127.0.0.1:33019',
    } as Endpoints;
    expect(
      localizeCommand(
        'curl -s http://127.0.0.1:3000/x && aws s3 ls --endpoint-url http://127.0.0.1:4569 && curl -s http://127.0.0.1:30001/',
        endpoints
      )
    ).toBe(
      'curl -sS --fail-with-body http://127.0.0.1:45699/x && aws s3 ls --endpoint-url http://127.0.0.1:33019 && curl -sS --fail-with-body http://127.0.0.1:30001/'
    );
  });
});

describe('README quick start', () => {
  it('is exactly npm ci, npm start, npm test, and npm start is the stack this test starts', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Quick start'));
    const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const commands = block
      .split('\n')
      .map((line) => line.replace(/#.*$/, '').trim())
      .filter((line) => line !== '');
    expect(commands).toEqual(['npm ci', 'npm start', 'npm test']);
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(manifest.scripts.start).toBe('node bin/skewless.js start');
  });

  it('marks the blocks to try (README and docs)', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    for (const block of blocks) expect(block.commands.length).toBeGreaterThan(0);
  });
});

describe('try-it blocks against a started stack', () => {
  let clone: string;
  let stack: StackProcess | undefined;
  /** The stack's log so far (stdout and stderr). */
  const output = () => stack?.output() ?? '';
  let endpoints: Endpoints;

  beforeAll(async () => {
    // A fresh clone as far as the commands can tell: the project's files, no state.
    clone = mkdtempSync(join(tmpdir(), 'skewless-try-it-'));
    for (const name of ['package.json', 'node_modules', 'examples', 'bin']) {
      symlinkSync(join(root, name), join(clone, name));
    }
    // Its default data dir (.skewless in the clone), as the quick start has it.
    const starting = spawnCliProcess(['start', ...FREE_PORTS, '--audit-interval', '3600'], {
      cwd: clone,
    });
    stack = await stackStarted(starting, join(clone, '.skewless'), 120_000);
    endpoints = stack.endpoints;
  }, 180_000);

  it('answers the printed commands as soon as it says ready (the demo payment already served)', async () => {
    const response = await fetch(
      `${endpoints.api}/feature-groups/fraud-transactions/records/txn-demo-0001`
    );
    expect(response.status, output()).toBe(200);
  });

  afterAll(async () => {
    if (stack !== undefined) {
      // Ctrl-C, as a user stops it; killed if it has not stopped in 30 s.
      await Promise.race([
        stopStackProcess(stack),
        new Promise((resolve) => setTimeout(resolve, 30_000)),
      ]);
      await killProcess(stack);
    }
    if (clone !== undefined) rmSync(clone, { recursive: true, force: true });
  }, 60_000);

  /** The documented default URLs, rewritten to where this stack listens. */
  function localize(command: string): string {
    return localizeCommand(command, endpoints);
  }

  const awsCliPresent = spawnSync('aws', ['--version']).status === 0;

  for (const block of blocks) {
    it(`${block.file}:${block.line} runs`, (ctx) => {
      const env: NodeJS.ProcessEnv = { ...process.env };
      for (const key of Object.keys(env)) {
        if (key.startsWith('AWS_') || key.startsWith('POWERTOOLS_')) delete env[key];
      }
      env.PATH = `${join(root, 'node_modules/.bin')}:${process.env.PATH}`;
      if (block.commands.some((command) => /\baws /.test(command)) && !awsCliPresent) {
        // Skipped, not passed: the report lists it with the reason (the block was not run).
        ctx.skip('the AWS CLI is not installed');
        return;
      }
      // One shell per block, as a reader pastes it: a block's `export`s and functions hold for
      // its later commands. The trap names the command that failed.
      const script = [
        'trap \'echo "failed: $BASH_COMMAND" >&2\' ERR',
        ...block.commands.map(localize),
      ].join('\n');
      const result = spawnSync('bash', ['-euo', 'pipefail', '-c', script], {
        cwd: clone,
        env,
        encoding: 'utf8',
        timeout: 240_000,
      });
      expect(
        { status: result.status, stderr: result.status === 0 ? '' : result.stderr },
        `${block.file}:${block.line}\n${result.stdout}\n${result.stderr}\n--- the stack's last 40 log lines ---\n${output().split('\n').slice(-40).join('\n')}`
      ).toEqual({ status: 0, stderr: '' });
    }, 300_000);
  }

  it('keeps the log stream human: no Powertools JSON lines without --handler-logs', async () => {
    // A poison record: the ingest handler dead-letters it (and logs that at WARN). Its dead
    // letter is a file; the log stream must not get the handler's JSON line.
    const marker = `try-it-poison-${Date.now()}`;
    const kinesis = createLocalKinesisClient(endpoints.kinesis);
    await kinesis.send(
      new PutRecordCommand({
        StreamName: endpoints.streamName,
        PartitionKey: marker,
        Data: Buffer.from(`{"transaction_id": "${marker}", `),
      })
    );
    kinesis.destroy();
    const dir = join(clone, '.skewless', 'dead-letters');
    const deadline = Date.now() + 60_000;
    const dead = () =>
      readdirSync(dir)
        .filter((f) => f.endsWith('.jsonl'))
        .some((f) => readFileSync(join(dir, f), 'utf8').includes(marker));
    while (!dead()) {
      if (Date.now() > deadline) throw new Error('the poison record was not dead-lettered');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const jsonLines = output()
      .split('\n')
      .filter((line) => line.trimStart().startsWith('{"'));
    expect(jsonLines).toEqual([]);
    expect(output()).toMatch(/\[kinesis\]|\[store\]/);
  }, 90_000);
});

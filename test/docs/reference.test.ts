/**
 * The reference a newcomer reads names everything they can set: every option of every command
 * appears in the doc the README points to for that command, and every environment variable the
 * code reads appears in the README or a docs/ page, and every integer variable with the range its
 * code enforces. A flag or variable added to the code without a word in its doc, or a range changed
 * in the code and not in the doc, fails here, naming it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { lookupFrontPortFromEnv } from '../../local/api/front.ts';
import { registerCommands } from '../../local/cli/commands.ts';
import type { CommandName } from '../../local/cli/descriptions.ts';
import { readAuditConfig } from '../../shared/audit/config.ts';
import { loadBackfillConfig } from '../../shared/backfill/config.ts';
import { readIngestConfig } from '../../shared/ingest/config.ts';
import { lookupConfigFromEnv } from '../../shared/lookup/config.ts';
import { ConfigurationError, readMaxEventTimeSkewSeconds } from '../../shared/runtime/env.ts';
import { root } from '../helpers/stackProcess.ts';

/** The doc the README's command reference links for each command. */
const DOC_OF: Readonly<Record<CommandName, string>> = {
  start: 'README.md',
  store: 'local/store/README.md',
  backfill: 'docs/backfill.md',
  batch: 'docs/batch.md',
  audit: 'docs/audit.md',
  dataset: 'docs/training-sets.md',
  get: 'README.md',
  put: 'README.md',
};

const read = (file: string): string => readFileSync(join(root, file), 'utf8');

/** `text` names `flag` itself (`--features`, not only `--features-x` or `--athena-*`). */
function mentions(text: string, flag: string): boolean {
  return new RegExp(`(?<![A-Za-z0-9-])${flag.replace(/-/g, '\\-')}(?![A-Za-z0-9-])`).test(text);
}

/** The options of a command as its `--help` lists them: the long flag and the short one, if any. */
async function optionsOf(name: CommandName): Promise<{ long: string; short?: string }[]> {
  const program = new Command();
  await registerCommands(program, [name]);
  const command = program.commands.find((c) => c.name() === name);
  return (command?.options ?? []).flatMap((o) =>
    o.long === undefined ? [] : [{ long: o.long, short: o.short }]
  );
}

/**
 * Every reader of integer environment variables (getIntegerFromEnv). One the code gains without
 * being listed here fails the range test below, naming its variable.
 */
const INTEGER_READERS: readonly (() => unknown)[] = [
  lookupConfigFromEnv,
  () => readIngestConfig(),
  loadBackfillConfig,
  readAuditConfig,
  readMaxEventTimeSkewSeconds,
  lookupFrontPortFromEnv,
];

/**
 * The range the code enforces for an integer variable, as it says it: set to a value that is no
 * integer, one of {@link INTEGER_READERS} refuses it with `… must be an integer in [min, max]`.
 */
function enforcedRange(name: string): { min: number; max: number } | undefined {
  // What the readers need besides the variable under test: each reads every one of its variables.
  vi.stubEnv('REPORTS_BUCKET', 'reports');
  vi.stubEnv('DEAD_LETTER_QUEUE_URL', 'https://sqs.us-east-1.amazonaws.com/000000000000/dlq');
  vi.stubEnv('DEAD_LETTER_DIR', undefined);
  vi.stubEnv('DEFAULT_FEATURE_GROUP', undefined);
  vi.stubEnv('OFFLINE_ENGINE', 'duckdb');
  vi.stubEnv(name, 'not-an-integer');
  const said = new RegExp(
    `^environment variable ${name}="not-an-integer" must be an integer in \\[(\\d+), (\\d+)\\]$`
  );
  for (const read of INTEGER_READERS) {
    try {
      read();
    } catch (error) {
      const match = error instanceof ConfigurationError ? said.exec(error.message) : null;
      if (match === null) throw error;
      return { min: Number(match[1]), max: Number(match[2]) };
    }
  }
  return undefined;
}

/** How the docs write a range: `1–2,000,000`, or `≥ 100` when only a minimum is enforced. */
function rangeText({ min, max }: { min: number; max: number }): string {
  const number = (n: number): string => n.toLocaleString('en-US');
  return max === Number.MAX_SAFE_INTEGER ? `≥ ${number(min)}` : `${number(min)}–${number(max)}`;
}

/**
 * Whether a doc line states the range `text` as a whole: `1–6` is not stated by `1–64` (nor `≥ 1`
 * by `≥ 100`, nor `1–64` by `11–64`), which a substring test would take for it.
 */
function statesRange(line: string, text: string): boolean {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\d,.])${escaped}(?!,?\\d)`).test(line);
}

/** Source files of the functions, the shared code and the local stack. */
function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

/** The README, the store's and every docs/ page: where a variable may be documented. */
const DOC_FILES = [
  'README.md',
  'local/store/README.md',
  ...readdirSync(join(root, 'docs')).map((f) => `docs/${f}`),
];

/**
 * The variables the functions, the shared code and the local stack read with the reader `call`
 * matches (its first group is the variable's name).
 */
function variablesReadBy(call: RegExp): Set<string> {
  return new Set(
    ['shared', 'functions', 'local']
      .flatMap(sourceFiles)
      .flatMap((file) => [...read(file).matchAll(call)].map((m) => m[1] as string))
  );
}

describe('the command reference', () => {
  it.each(Object.entries(DOC_OF) as [CommandName, string][])(
    'names every option of skewless %s in %s',
    async (name, doc) => {
      // Prepare
      const options = await optionsOf(name);
      const text = read(doc);
      // Act
      const unnamed = options.filter(
        ({ long, short }) =>
          !mentions(text, long) && (short === undefined || !mentions(text, short))
      );
      // Assess
      expect(options.length).toBeGreaterThan(0);
      expect(unnamed.map((o) => o.long)).toEqual([]);
    }
  );
});

describe('the environment reference', () => {
  it('names every environment variable the code reads in the README or a docs/ page', () => {
    // Prepare
    const docs = DOC_FILES.map(read).join('\n');
    const readByCode = variablesReadBy(/FromEnv\(\s*'([A-Z0-9_]+)'/g);
    // Assess
    expect(readByCode.size).toBeGreaterThan(30);
    expect([...readByCode].filter((name) => !docs.includes(`\`${name}\``))).toEqual([]);
  });

  it('names in bench/README.md every environment variable only the benchmarks read', () => {
    // Prepare
    const readme = read('bench/README.md');
    const readByBenches = new Set(
      readdirSync(join(root, 'bench'))
        .filter((f) => f.endsWith('.ts'))
        .flatMap((f) => [
          ...read(`bench/${f}`).matchAll(
            /process\.env\.((?:SKEWLESS_)?BENCH_[A-Z0-9_]+)|'((?:SKEWLESS_)?BENCH_[A-Z0-9_]+|COLDSTART_[A-Z0-9_]+)'/g
          ),
        ])
        .map((m) => (m[1] ?? m[2]) as string)
    );
    // Assess
    expect(readByBenches.size).toBeGreaterThan(10);
    expect([...readByBenches].filter((name) => !readme.includes(`| \`${name}\` |`))).toEqual([]);
  });

  it("names in the README every environment variable the CLI's entry reads (region, credentials)", () => {
    // Prepare
    const readme = read('README.md');
    const readByEntry = new Set(
      [...read('local/cli/main.ts').matchAll(/process\.env\.([A-Z0-9_]+)/g)].map(
        (m) => m[1] as string
      )
    );
    // Assess
    expect(readByEntry.size).toBeGreaterThan(2);
    expect([...readByEntry].filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
  });

  describe('states the range the code enforces for each integer variable', () => {
    afterEach(() => {
      vi.unstubAllEnvs();
    });
    const integerVariables = [...variablesReadBy(/getIntegerFromEnv\(\s*'([A-Z0-9_]+)'/g)].sort();

    it('takes a range as stated only when a doc states it whole', () => {
      expect(statesRange('| `X` | 4 | 1–64 | … |', '1–64')).toBe(true);
      expect(statesRange('(`PORT`, 0–65,535, to change the port', '0–65,535')).toBe(true);
      expect(statesRange('| `X` | 4 | 1–64 | … |', '1–6')).toBe(false);
      expect(statesRange('| `X` | 4 | 11–64 | … |', '1–64')).toBe(false);
      expect(statesRange('| `X` | 4 | 1–2,000,000 | … |', '1–2')).toBe(false);
      expect(statesRange('| `X` | 4 | ≥ 100 | … |', '≥ 1')).toBe(false);
    });

    it('finds the integer variables', () => {
      expect(integerVariables.length).toBeGreaterThan(25);
    });

    it.each(integerVariables)('%s', (name) => {
      // Prepare
      const range = enforcedRange(name);
      const lines = DOC_FILES.flatMap((file) =>
        read(file)
          .split('\n')
          .filter((line) => line.includes(`\`${name}\``))
          .map((line) => ({ file, line }))
      );
      // A table row of this variable alone (its first cell): the row a reader looks it up in.
      const ownRows = lines.filter(({ line }) =>
        new RegExp(`^\\|\\s*\`${name}\`\\s*\\|`).test(line)
      );
      // Assess
      expect(range, `no reader in INTEGER_READERS refuses ${name}: list its reader`).toBeDefined();
      const text = rangeText(range as { min: number; max: number });
      expect(
        lines.filter(({ line }) => statesRange(line, text)),
        `no doc line naming \`${name}\` states ${text}`
      ).not.toEqual([]);
      expect(
        ownRows.filter(({ line }) => !statesRange(line, text)),
        `rows of ${name} that do not state ${text}`
      ).toEqual([]);
    });
  });
});

describe('the requirements', () => {
  it("quotes, as locked, the Node range of each package the README's EBADENGINE note names", () => {
    // Prepare: the note says which Nodes warn from these ranges; a bump that moves one must
    // move the note (it said 'older than 22' while Vitest also refuses 22.0-22.11, 23 and 25)
    const readme = read('README.md');
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<string, { engines?: { node?: string } }>;
    };
    // Act
    const ranges = ['vitest', '@middy/core'].map(
      (name) => lock.packages[`node_modules/${name}`]?.engines?.node
    );
    // Assess
    expect(ranges.every((r) => r !== undefined)).toBe(true);
    expect(ranges.filter((r) => !readme.includes(`\`${r}\``))).toEqual([]);
  });
});

/**
 * The reference a newcomer reads names everything they can set: every option of every command
 * appears in the doc the README points to for that command, and every environment variable the
 * code reads appears in the README or a docs/ page. A flag or variable added to the code without a
 * word in its doc fails here, naming it and the doc to add it to.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerCommands } from '../../local/cli/commands.ts';
import type { CommandName } from '../../local/cli/descriptions.ts';
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

/** Source files of the functions, the shared code and the local stack. */
function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)));
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
    const docs = [
      'README.md',
      'local/store/README.md',
      ...readdirSync(join(root, 'docs')).map((f) => `docs/${f}`),
    ]
      .map(read)
      .join('\n');
    const readByCode = new Set(
      ['shared', 'functions', 'local']
        .flatMap(sourceFiles)
        .flatMap((file) =>
          [...read(file).matchAll(/FromEnv\(\s*'([A-Z0-9_]+)'/g)].map((m) => m[1] as string)
        )
    );
    // Assess
    expect(readByCode.size).toBeGreaterThan(30);
    expect([...readByCode].filter((name) => !docs.includes(`\`${name}\``))).toEqual([]);
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

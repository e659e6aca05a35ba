/**
 * What `sam build` sees: each function's build context (`CodeUri`) holds its runtime dependencies
 * and sources only — never the repository (node_modules, .skewless, dist, test, bench, the `node`
 * package) — and the template, once transformed by the SAM translator, passes cfn-lint.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { loadTemplate } from '../../scripts/lib/cfnYaml.ts';
import { functionBuilds } from '../../scripts/lib/esbuildOptions.ts';
import { root } from '../helpers/stackProcess.ts';

const template = loadTemplate(join(root, 'template.yaml'));
const builds = functionBuilds(template);

interface Manifest {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}
const readManifest = (dir: string): Manifest =>
  JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;

/** The package name of a bare import specifier (`@scope/name/sub` → `@scope/name`). */
const packageOf = (specifier: string): string =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

describe('sam build contexts', () => {
  it('builds every function from a context that holds only the manifest and the sources', () => {
    for (const fn of builds) {
      const context = join(root, fn.codeUri);
      expect(fn.codeUri).not.toMatch(/^\.?\/?$/);
      expect(existsSync(join(context, 'package.json'))).toBe(true);
      expect(existsSync(join(context, (fn.options.entryPoints as string[])[0] as string))).toBe(
        true
      );
      // sam build copies everything under CodeUri (following links): list it.
      expect(readdirSync(context).sort()).toEqual([
        'README.md',
        'functions',
        'package.json',
        'shared',
        'tsconfig.json',
      ]);
      for (const linked of ['functions', 'shared']) {
        expect(lstatSync(join(context, linked)).isSymbolicLink()).toBe(true);
        expect(existsSync(join(context, linked, 'node_modules'))).toBe(false);
      }
    }
  });

  it('lists in the build manifest every package the bundles import, at the root versions', async () => {
    const rootManifest = readManifest(root);
    const rootVersions = { ...rootManifest.dependencies, ...rootManifest.devDependencies };
    const outRoot = mkdtempSync(join(tmpdir(), 'skewless-sam-context-'));
    try {
      for (const fn of builds) {
        const manifest = readManifest(join(root, fn.codeUri));
        for (const [name, version] of Object.entries({
          ...manifest.dependencies,
          ...manifest.devDependencies,
        })) {
          expect({ name, version }).toEqual({ name, version: rootVersions[name] });
        }
        const external = new Set(fn.options.external ?? []);
        const result = await build({
          ...fn.options,
          outdir: join(outRoot, fn.name),
          metafile: true,
          write: false,
          logLevel: 'error',
        });
        const imported = new Set<string>();
        for (const [path, input] of Object.entries(result.metafile.inputs)) {
          if (path.includes('node_modules/')) continue;
          for (const { original } of input.imports) {
            if (original === undefined || original.startsWith('.') || original.startsWith('node:'))
              continue;
            imported.add(packageOf(original));
          }
        }
        const missing = [...imported].filter(
          (name) => !external.has(name) && manifest.dependencies?.[name] === undefined
        );
        expect({ function: fn.name, missing }).toEqual({ function: fn.name, missing: [] });
      }
    } finally {
      rmSync(outRoot, { recursive: true, force: true });
    }
  });
});

const samTranslatorPresent =
  spawnSync('python3', ['-c', 'import samtranslator, cfnlint'], { encoding: 'utf8' }).status === 0;

describe('template.yaml through the SAM translator', () => {
  it('transforms into CloudFormation that cfn-lint accepts without errors', (ctx) => {
    if (!samTranslatorPresent) {
      // .ci/run installs cfn-lint (which brings samtranslator); a bare machine may lack it.
      // Skipped, not passed: the report lists it with the reason.
      ctx.skip('python3 with samtranslator and cfn-lint is not installed');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'skewless-sam-translate-'));
    try {
      const translated = spawnSync(
        'python3',
        [join(root, 'scripts/sam-translate.py'), join(root, 'template.yaml')],
        { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }
      );
      expect(translated.stderr).toBe('');
      expect(translated.status).toBe(0);
      const cfn = JSON.parse(translated.stdout) as {
        Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
      };
      const functions = Object.values(cfn.Resources).filter(
        (r) => r.Type === 'AWS::Lambda::Function'
      );
      expect(functions).toHaveLength(builds.length);
      const file = join(dir, 'transformed.json');
      writeFileSync(file, translated.stdout);
      const lint = spawnSync('cfn-lint', ['--format', 'parseable', file], { encoding: 'utf8' });
      // cfn-lint's exit code is a bit field: 2 = errors, 4 = warnings, 8 = informational.
      const errors = lint.stdout.split('\n').filter((line) => /:E\d{4}:/.test(line));
      expect(errors).toEqual([]);
      expect(lint.status === null ? 1 : lint.status & 3).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

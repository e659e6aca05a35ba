/**
 * Every function's bundle, built with the template's options into a directory with no
 * node_modules anywhere above it (as in Lambda's /var/task), loads in a fresh Node process with
 * the function's Lambda environment and exports `handler`: a package left `External` in
 * template.yaml must never be reached at load, and the CommonJS `.cjs` output must load through
 * `import()` as the Lambda runtime loads it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTemplate } from '../../scripts/lib/cfnYaml.ts';
import { type FunctionBuild, functionBuilds } from '../../scripts/lib/esbuildOptions.ts';
import { lambdaEnvironment } from '../../scripts/lib/lambdaEnvironment.ts';

const root = new URL('../..', import.meta.url).pathname;
const template = loadTemplate(join(root, 'template.yaml'));
let outRoot = '';
let builds: FunctionBuild[] = [];

beforeAll(async () => {
  outRoot = mkdtempSync(join(tmpdir(), 'skewless-bundles-'));
  builds = functionBuilds(template, outRoot);
  await Promise.all(builds.map((fn) => build({ ...fn.options, logLevel: 'error' })));
}, 120_000);

afterAll(() => rmSync(outRoot, { recursive: true, force: true }));

describe('function bundles', () => {
  it('load outside the repository with their Lambda environment and export handler', () => {
    expect(builds.map((fn) => fn.name).sort()).toEqual([
      'audit',
      'backfill',
      'batch',
      'ingest',
      'lookup',
    ]);
    for (const fn of builds) {
      const script = `const m = await import(${JSON.stringify(pathToFileURL(fn.bundleFile).href)});
process.stdout.write(typeof m.handler);`;
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        env: { PATH: process.env.PATH, ...lambdaEnvironment(template, fn.logicalId) },
        encoding: 'utf8',
      });
      expect({ function: fn.name, status: result.status, stderr: result.stderr }).toEqual({
        function: fn.name,
        status: 0,
        stderr: '',
      });
      expect(result.stdout).toBe('function');
    }
  }, 60_000);
});

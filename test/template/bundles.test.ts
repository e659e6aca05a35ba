/**
 * Every function's bundle, built with the template's options into a directory with no
 * node_modules anywhere above it (as in Lambda's /var/task), loads in a fresh Node process with
 * the function's Lambda environment and exports `handler`: a package left `External` in
 * template.yaml must never be reached at load, and the CommonJS `.cjs` output must load through
 * `import()` as the Lambda runtime loads it. And the import loads no Node built-in it can do
 * without: never undici (an ES module bundle's `import 'node:http'` does, see template.yaml), and
 * no zlib where only a rare path needs it (ingest's oversized dead letters).
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
import { root } from '../helpers/stackProcess.ts';

const template = loadTemplate(join(root, 'template.yaml'));
let outRoot = '';
let builds: FunctionBuild[] = [];
/** The source files esbuild put into each function's bundle. */
const inputsOf = new Map<string, string[]>();

beforeAll(async () => {
  outRoot = mkdtempSync(join(tmpdir(), 'skewless-bundles-'));
  builds = functionBuilds(template, outRoot);
  const results = await Promise.all(
    builds.map((fn) => build({ ...fn.options, metafile: true, logLevel: 'error' }))
  );
  builds.forEach((fn, i) => {
    inputsOf.set(fn.name, Object.keys(results[i]?.metafile?.inputs ?? {}));
  });
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
      const script = `const before = new Set(process.moduleLoadList);
const m = await import(${JSON.stringify(pathToFileURL(fn.bundleFile).href)});
const builtins = process.moduleLoadList.filter((x) => !before.has(x) && x.startsWith('NativeModule '));
process.stdout.write(JSON.stringify({ handler: typeof m.handler, builtins: builtins.map((x) => x.slice(13)) }));`;
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        env: { PATH: process.env.PATH, ...lambdaEnvironment(template, fn.logicalId) },
        encoding: 'utf8',
      });
      expect({ function: fn.name, status: result.status, stderr: result.stderr }).toEqual({
        function: fn.name,
        status: 0,
        stderr: '',
      });
      const loaded = JSON.parse(result.stdout) as { handler: string; builtins: string[] };
      expect(loaded.handler).toBe('function');
      expect(loaded.builtins).toContain('https');
      expect(loaded.builtins.filter((b) => b.includes('undici'))).toEqual([]);
      if (fn.name === 'ingest' || fn.name === 'lookup')
        expect(loaded.builtins).not.toContain('zlib');
    }
  }, 60_000);

  it('batch carries neither the Parquet writer nor the SageMaker control plane (backfill does)', () => {
    // Batch drops are written through the service; only the backfill's direct mode writes Parquet
    // and asks DescribeFeatureGroup where (shared/backfill/directSink.ts, directWrites).
    const has = (fn: string, part: string) =>
      (inputsOf.get(fn) ?? []).some((f) => f.includes(part));
    for (const part of ['hyparquet-writer', '@aws-sdk/client-sagemaker/']) {
      expect({ part, batch: has('batch', part), backfill: has('backfill', part) }).toEqual({
        part,
        batch: false,
        backfill: true,
      });
    }
    expect(has('batch', 'hyparquet/')).toBe(true);
  });
});

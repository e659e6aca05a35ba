/**
 * `npm run build`: one esbuild bundle per function in dist/<function>/index.cjs, with exactly the
 * options template.yaml declares for `sam build` (see scripts/lib/esbuildOptions.ts).
 */
import { rmSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { build } from 'esbuild';
import { loadTemplate } from './lib/cfnYaml.ts';
import { functionBuilds } from './lib/esbuildOptions.ts';

const root = new URL('..', import.meta.url).pathname;
process.chdir(root);
rmSync('dist', { recursive: true, force: true });
const builds = functionBuilds(loadTemplate('template.yaml'));
const started = performance.now();
await Promise.all(
  builds.map(async ({ name, options }) => {
    const workingDir = options.absWorkingDir ?? root;
    const result = await build({ ...options, metafile: true, logLevel: 'warning' });
    const outputs = Object.entries(result.metafile?.outputs ?? {}).filter(
      ([file]) => !file.endsWith('.map')
    );
    for (const [file, meta] of outputs)
      console.log(
        `${name.padEnd(10)} ${relative(root, resolve(workingDir, file))} ${(meta.bytes / 1024).toFixed(0)} KB`
      );
  })
);
console.log(
  `built ${builds.length} functions in ${((performance.now() - started) / 1000).toFixed(1)} s`
);

/**
 * Builds the ingest function exactly as `npm run build` does (esbuild options from template.yaml
 * Metadata) into a temp directory, and loads the bundle with a given environment: the tests
 * exercise the artefact Lambda runs, not the TypeScript sources.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { loadTemplate } from '../../scripts/lib/cfnYaml.ts';
import { functionBuilds } from '../../scripts/lib/esbuildOptions.ts';
import type { IngestHandler } from '../helpers/kinesisEvents.ts';
import { root } from '../helpers/stackProcess.ts';

interface IngestBundle {
  /** Absolute path of the bundle (`index.cjs`). */
  readonly file: string;
  /** Import a fresh instance of the bundle (its own cold start) with `env` applied first. */
  load(env: Record<string, string>): Promise<IngestHandler>;
  remove(): void;
}

let instances = 0;
/** The CommonJS cache: `import()` of a `.cjs` file reuses its entry whatever the URL's query. */
const commonJsCache = createRequire(import.meta.url).cache;

async function buildIngestBundle(): Promise<IngestBundle> {
  const outRoot = mkdtempSync(join(tmpdir(), 'skewless-ingest-bundle-'));
  const ingest = functionBuilds(loadTemplate(join(root, 'template.yaml')), outRoot).find(
    (b) => b.name === 'ingest'
  );
  if (ingest === undefined) throw new Error('template.yaml has no ingest function');
  await build({ ...ingest.options, logLevel: 'warning' });
  const file = ingest.bundleFile;
  return {
    file,
    load: async (env) => {
      Object.assign(process.env, env);
      instances++;
      delete commonJsCache[file];
      const module = (await import(`${pathToFileURL(file).href}?instance=${instances}`)) as {
        handler: IngestHandler;
      };
      return module.handler;
    },
    remove: () => rmSync(outRoot, { recursive: true, force: true }),
  };
}

export type { IngestBundle };
export { buildIngestBundle };

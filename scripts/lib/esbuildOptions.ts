import { basename, isAbsolute, join, resolve } from 'node:path';
import type { BuildOptions } from 'esbuild';
import type { Template } from './cfnYaml.ts';

/**
 * template.yaml is the one place the esbuild options live. `sam build` reads each function's
 * `Metadata.BuildProperties`; `npm run build` translates the very same properties here, the way
 * aws-lambda-builders does (bundle, platform node, then each supported flag), so both builds
 * produce the same bundle. A property aws-lambda-builders would ignore is an error here.
 *
 * Each function builds from its `CodeUri` (Globals or its own): esbuild runs there and the entry
 * points are relative to it, as `sam build` does in its copy of that directory.
 */

const PROJECT_ROOT = new URL('../..', import.meta.url).pathname;

/** BuildProperties that aws-lambda-builders passes to esbuild (nodejs_npm_esbuild/esbuild.py). */
const SUPPORTED = [
  'EntryPoints',
  'Minify',
  'Sourcemap',
  'Target',
  'Format',
  'MainFields',
  'SourcesContent',
  'External',
  'Loader',
  'OutExtension',
  'Banner',
] as const;

interface FunctionBuild {
  /** Logical id in the template, e.g. `IngestFunction`. */
  readonly logicalId: string;
  /** Short name used for dist/<name>/, e.g. `ingest` (the entry point's directory). */
  readonly name: string;
  readonly handler: string;
  /** The build context (`CodeUri`), relative to the project root. */
  readonly codeUri: string;
  /** esbuild options: `absWorkingDir` is the build context, `outdir` absolute. */
  readonly options: BuildOptions;
  /** Absolute path of the bundle esbuild writes, e.g. `<outdir>/index.cjs`. */
  readonly bundleFile: string;
}

function splitPairs(values: unknown, property: string): Record<string, string> {
  if (!Array.isArray(values)) throw new Error(`${property} must be a list of "key=value" strings`);
  const out: Record<string, string> = {};
  for (const item of values) {
    const text = String(item);
    const eq = text.indexOf('=');
    if (eq < 1) throw new Error(`${property} entry "${text}" is not "key=value"`);
    out[text.slice(0, eq)] = text.slice(eq + 1);
  }
  return out;
}

function functionBuilds(
  template: Template,
  outRoot = 'dist',
  projectRoot = PROJECT_ROOT
): FunctionBuild[] {
  const builds: FunctionBuild[] = [];
  const globalCodeUri = (template as { Globals?: { Function?: { CodeUri?: unknown } } }).Globals
    ?.Function?.CodeUri;
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Serverless::Function') continue;
    const metadata = resource.Metadata as
      | { BuildMethod?: string; BuildProperties?: Record<string, unknown> }
      | undefined;
    if (metadata?.BuildMethod !== 'esbuild' || metadata.BuildProperties === undefined) {
      throw new Error(
        `${logicalId}: Metadata.BuildMethod esbuild with BuildProperties is required`
      );
    }
    const props = metadata.BuildProperties;
    for (const key of Object.keys(props)) {
      if (!(SUPPORTED as readonly string[]).includes(key)) {
        throw new Error(
          `${logicalId}: BuildProperties.${key} is not passed to esbuild by sam build`
        );
      }
    }
    const entryPoints = props.EntryPoints;
    if (!Array.isArray(entryPoints) || entryPoints.length !== 1) {
      throw new Error(`${logicalId}: exactly one EntryPoints item is expected`);
    }
    const entry = String(entryPoints[0]);
    const name = entry.split('/').at(-2) ?? logicalId;
    const codeUri = resource.Properties?.CodeUri ?? globalCodeUri;
    if (typeof codeUri !== 'string') {
      throw new Error(`${logicalId}: CodeUri (the function's build context) must be a directory`);
    }
    const outBase = isAbsolute(outRoot) ? outRoot : join(projectRoot, outRoot);
    const options: BuildOptions = {
      entryPoints: [entry],
      absWorkingDir: resolve(projectRoot, codeUri),
      bundle: true,
      platform: 'node',
      outdir: join(outBase, name),
      // aws-lambda-builders' defaults when a property is absent.
      target: (props.Target as string | undefined) ?? 'es2020',
      format: ((props.Format as string | undefined) ?? 'cjs') as BuildOptions['format'],
      minify: props.Minify === undefined ? true : props.Minify === true,
      sourcemap: props.Sourcemap === true,
    };
    if (props.MainFields !== undefined) options.mainFields = String(props.MainFields).split(',');
    if (props.SourcesContent !== undefined)
      options.sourcesContent = String(props.SourcesContent) === 'true';
    if (props.External !== undefined) options.external = (props.External as unknown[]).map(String);
    if (props.Loader !== undefined)
      options.loader = splitPairs(props.Loader, 'Loader') as BuildOptions['loader'];
    if (props.OutExtension !== undefined)
      options.outExtension = splitPairs(props.OutExtension, 'OutExtension');
    if (props.Banner !== undefined) options.banner = splitPairs(props.Banner, 'Banner');
    const entryBase = basename(entry).replace(/\.[^.]+$/, '');
    builds.push({
      logicalId,
      name,
      handler: String(resource.Properties?.Handler ?? ''),
      codeUri,
      options,
      bundleFile: join(outBase, name, `${entryBase}${options.outExtension?.['.js'] ?? '.js'}`),
    });
  }
  return builds;
}

export type { FunctionBuild };
export { functionBuilds, SUPPORTED as SUPPORTED_BUILD_PROPERTIES };

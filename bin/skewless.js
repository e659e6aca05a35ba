#!/usr/bin/env node
// The `skewless` command. Plain JavaScript on purpose: Node's compile cache (in the OS temp
// directory) must be on before the first TypeScript file loads. Then Node reuses the type-stripped
// and compiled code of the CLI, the SDK and commander, and does not even load its TypeScript
// stripper: ~50 ms less for every command after the first (bench/cli.ts).
import * as nodeModule from 'node:module';

const [major = 0] = process.versions.node.split('.').map(Number);
if (major < 24) {
  // Node 24 is the project's (`npm ci` installs it); `npx skewless` and `npm start` put it first on the PATH.
  process.stderr.write(
    `skewless: needs Node.js 24, this is ${process.version}\n  hint: run it as npx skewless (after npm ci), or node_modules/.bin/node bin/skewless.js\n`
  );
  process.exit(1);
}
nodeModule.enableCompileCache();
await import('../local/cli/main.ts');

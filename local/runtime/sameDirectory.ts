import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Whether `recorded`, the directory a running process wrote into a data dir's `store.lock` or
 * `endpoints.json`, is `dataDir` itself. A copy of a running stack's data dir (`cp -a`) carries
 * both files, naming the live process of the original: they hold the original, not the copy.
 * Symbolic links and relative paths compare by what they point at; a recorded directory that no
 * longer exists is another one.
 *
 * @example
 * ```typescript
 * import { sameDirectory } from './local/runtime/sameDirectory.ts';
 * sameDirectory('/home/me/app/.skewless', '.skewless'); // true when run in /home/me/app
 * ```
 */
function sameDirectory(recorded: string, dataDir: string): boolean {
  const real = (path: string) => {
    try {
      return realpathSync(path);
    } catch {
      return undefined;
    }
  };
  const here = real(dataDir) ?? resolve(dataDir);
  return (real(recorded) ?? resolve(recorded)) === here;
}

export { sameDirectory };

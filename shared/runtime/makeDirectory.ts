import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Creates a directory and its missing parents, as `mkdir(path, { recursive: true })`, but always
 * ends. Node's recursive mkdir never returns when a directory exists yet refuses a child with
 * ENOENT, as procfs does (`/proc/sys/x`): it reads every ENOENT as a missing parent, finds the
 * parent there (EEXIST) and tries the child again, forever (Node 20 and 24; the promise never
 * settles, the sync call spins). Here a missing parent is made once, and an ENOENT after that is
 * thrown. One `mkdir` when the parent exists, as before.
 *
 * @throws the system error of the `mkdir` that failed (its `path` names the part it failed on)
 *
 * @example
 * ```typescript
 * import { makeDirectory } from './shared/runtime/makeDirectory.ts';
 * makeDirectory('.skewless/reports'); // made, or already a directory
 * makeDirectory('/proc/sys/x'); // throws ENOENT at once (Node's recursive mkdir hangs)
 * ```
 */
function makeDirectory(path: string, parentMade = false): void {
  const target = resolve(path);
  try {
    mkdirSync(target);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && statSync(target, { throwIfNoEntry: false })?.isDirectory() === true) {
      return;
    }
    if (code !== 'ENOENT' || parentMade || dirname(target) === target) throw error;
  }
  makeDirectory(dirname(target));
  makeDirectory(target, true);
}

export { makeDirectory };

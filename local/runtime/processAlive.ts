import { readFileSync } from 'node:fs';

/**
 * Whether a process with this id exists: the lock of a data dir and the `endpoints.json` of a
 * running stack both name a pid, and a file left by a process that died must not count.
 * Signal 0 only checks; EPERM means it exists under another user.
 *
 * @example
 * ```typescript
 * import { isProcessAlive } from './local/runtime/processAlive.ts';
 * isProcessAlive(process.pid); // true
 * ```
 */
function isProcessAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The id of this boot of the machine (Linux: `/proc/sys/kernel/random/boot_id`), undefined where
 * there is none. Pids start over at every boot: a pid written before the last one names whatever
 * process has it now.
 */
function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export { bootId, isProcessAlive };

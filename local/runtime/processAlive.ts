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

/**
 * When the process started, in clock ticks since the boot (Linux: field 22 of
 * `/proc/<pid>/stat`); undefined where there is no such file or the process is gone. With the pid
 * and the boot id it names one process: a pid is used again once its process has exited, a start
 * time on one boot is not.
 */
function processStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[22 - 3]);
    return Number.isSafeInteger(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/** A process as a file names it: its pid, and the boot and start time where the file has them. */
interface RecordedProcess {
  readonly pid: number | undefined;
  readonly bootId?: string;
  readonly startTicks?: number;
}

/**
 * Whether the process a file names (a data dir's `store.lock`, a running stack's
 * `endpoints.json`) still runs. A pid alone is not enough once its process is gone: after a
 * reboot, or a container's restart (a new pid namespace counts from 1 again and keeps the host's
 * boot id), the same pid soon names another process. What the file does not record, or this
 * machine cannot tell, is not held against it.
 *
 * @example
 * ```typescript
 * import { isRecordedProcessAlive } from './local/runtime/processAlive.ts';
 * isRecordedProcessAlive({ pid: process.pid, bootId: bootId(), startTicks: processStartTicks(process.pid) }); // true
 * ```
 */
function isRecordedProcessAlive(recorded: RecordedProcess): boolean {
  const { pid } = recorded;
  if (pid === undefined || !isProcessAlive(pid)) return false;
  const boot = bootId();
  if (recorded.bootId !== undefined && boot !== undefined && recorded.bootId !== boot) return false;
  if (recorded.startTicks === undefined) return true;
  const started = processStartTicks(pid);
  return started === undefined || started === recorded.startTicks;
}

export type { RecordedProcess };
export { bootId, isProcessAlive, isRecordedProcessAlive, processStartTicks };

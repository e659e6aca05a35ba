import { SkewlessError } from '../errors.ts';

/**
 * A statement an offline engine rejected, or that was cancelled or aborted. Carries the engine,
 * the final state and, on Athena, the query execution id (to look it up in the console).
 *
 * @example
 * ```typescript
 * try {
 *   await engine.execute(sql);
 * } catch (error) {
 *   if (error instanceof OfflineQueryError && error.state === 'FAILED') console.error(error.message);
 * }
 * ```
 */
class OfflineQueryError extends SkewlessError {
  readonly engine: 'duckdb' | 'athena';
  /** Athena's query execution id. */
  readonly queryExecutionId: string | undefined;
  /** `FAILED`, `CANCELLED` (stopped by Athena or by the caller) or `TIMEOUT`. */
  readonly state: string;
  constructor(
    engine: 'duckdb' | 'athena',
    state: string,
    message: string,
    options?: { queryExecutionId?: string; cause?: unknown }
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OfflineQueryError';
    this.engine = engine;
    this.state = state;
    this.queryExecutionId = options?.queryExecutionId;
  }
}

/**
 * A directory of a group's offline files that could not be listed (permission denied, an
 * input/output error, a file where a folder was), or a symbolic link among them that could not be
 * followed (a loop, a permission): its rows would be missing from the result, a training set
 * silently short of them, so the read fails instead. Carries the path (`directory`, the link's
 * own path for a link) and the system error's code.
 */
class OfflineFilesUnreadableError extends SkewlessError {
  readonly directory: string;
  /** The system error's code (`EACCES`, `EIO`, `ENOTDIR`, `ELOOP`…). */
  readonly code: string | undefined;
  constructor(directory: string, cause: unknown, what: 'folder' | 'link' = 'folder') {
    const system = cause as NodeJS.ErrnoException | undefined;
    // Node words a system error `EACCES: permission denied, scandir '<path>'`: the words only.
    const words = /^E[A-Z]+: ([^,]+),/.exec(system?.message ?? '')?.[1] ?? String(cause);
    const reason = `${words}${system?.code === undefined ? '' : `, ${system.code}`}`;
    super(
      what === 'folder'
        ? `cannot list the offline files in ${directory} (${reason}): the rows under it would be left out`
        : `cannot follow the link ${directory} among the offline files (${reason}): the rows of the file it names would be left out`,
      { cause }
    );
    this.name = 'OfflineFilesUnreadableError';
    this.directory = directory;
    this.code = system?.code;
  }
}

/**
 * The error of a statement its caller aborted, wherever the abort landed (before the statement's
 * turn, while it ran, between result pages): always `CANCELLED`, with the abort reason as cause,
 * so callers tell a cancellation from a failure by one check.
 */
function queryAborted(
  engine: 'duckdb' | 'athena',
  signal: AbortSignal,
  message: string,
  queryExecutionId?: string
): OfflineQueryError {
  return new OfflineQueryError(engine, 'CANCELLED', message, {
    queryExecutionId,
    cause: signal.reason,
  });
}

export { OfflineFilesUnreadableError, OfflineQueryError, queryAborted };

/**
 * How the CLI reports a failure: a mistake of the user's (a port in use, no running stack, a
 * missing file, an unknown group, malformed JSON, a data directory that cannot be written or is
 * in use) is one line and a hint, exit code 1, no stack trace; anything else is an unexpected
 * error whose stack is printed with `--debug` (or `--log-level debug`).
 */
import { accessSync, constants, existsSync, lstatSync, readlinkSync, statSync } from 'node:fs';
import { dirname, parse, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { DefinitionError, SkewlessError, UnknownNameError } from '../../shared/errors.ts';
import { OfflineFilesUnreadableError } from '../../shared/offline/errors.ts';
import { ConfigurationError } from '../../shared/runtime/env.ts';
import { FEATURE_STORE_ENDPOINT_HINT, type StoreEndpoint } from './endpoints.ts';

/** A failure the user can fix: what happened, and what to do about it. */
class UserError extends SkewlessError {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UserError';
    this.hint = hint;
  }
}

type SystemError = NodeJS.ErrnoException & { address?: string; port?: number };

/** The system error (code ECONNREFUSED, EADDRINUSE …) in an error, its causes or aggregates. */
function systemError(error: unknown, depth = 0): SystemError | undefined {
  if (depth > 5 || error === null || typeof error !== 'object') return undefined;
  const e = error as SystemError & { errors?: unknown[]; cause?: unknown };
  if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e;
  for (const inner of [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const found = systemError(inner, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

const NOT_WRITABLE: Record<string, string> = {
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a directory',
  ENOSPC: 'no space left on the device',
};

/** Symbolic links followed at most, as the kernel's own bound (40 on Linux). */
const MAX_LINK_HOPS = 40;

/**
 * The missing path a symbolic link at `path` ends at (through a chain of links), or undefined
 * when `path` is no symbolic link, or one that reaches something (or loops). `mkdir` answers
 * EEXIST for such a link, as for a file: the link is there, what it names is not.
 */
function missingLinkTarget(path: string): string | undefined {
  let current = resolve(path);
  for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
    let stats: ReturnType<typeof lstatSync>;
    try {
      stats = lstatSync(current, { throwIfNoEntry: false });
    } catch {
      return undefined;
    }
    if (stats === undefined) return hop === 0 ? undefined : current;
    if (!stats.isSymbolicLink()) return undefined;
    current = resolve(dirname(current), readlinkSync(current));
  }
  return undefined;
}

/**
 * The first part of `path`, from the root down, that is a loop of symbolic links (ELOOP: they
 * name each other and never reach a file or directory); undefined when none is.
 */
function loopingPart(path: string): string | undefined {
  const full = resolve(path);
  const { root } = parse(full);
  let current = root;
  for (const part of full.slice(root.length).split(sep)) {
    current = resolve(current, part);
    try {
      statSync(current, { throwIfNoEntry: false });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ELOOP') return current;
    }
  }
  return undefined;
}

/**
 * Why a file or directory could not be created or written, in words, from the system error of
 * the mkdir / open that failed, with the path it failed on when that is not `target` itself;
 * undefined when the error is no such failure.
 *
 * @param target - the path the user gave (a data dir, a report file)
 */
function notWritableReason(error: unknown, target: string): string | undefined {
  const system = systemError(error);
  let reason = system?.code === undefined ? undefined : NOT_WRITABLE[system.code];
  const path = system?.path;
  const isTarget = path !== undefined && resolve(path) === resolve(target);
  if (system?.code === 'ELOOP' && path !== undefined) {
    // The system names the whole path; the loop is one part of it.
    const looping = loopingPart(path) ?? resolve(path);
    const what = 'a symbolic link in a loop: it never reaches a file or directory';
    return looping === resolve(target)
      ? `it is ${what}`
      : `a part of the path is ${what} (${looping})`;
  }
  // mkdir of a directory that is a file (`--data-dir store.sqlite`, `--out a-file/report.json`),
  // or a symbolic link whose target does not exist (a data dir moved away).
  if (system?.code === 'EEXIST' && system.syscall === 'mkdir') {
    const missing = path === undefined ? undefined : missingLinkTarget(path);
    const what =
      missing === undefined
        ? 'a file, not a directory'
        : `a symbolic link to ${missing}, which does not exist`;
    reason = isTarget ? `it is ${what}` : `a part of the path is ${what}`;
  }
  if (system?.code === 'EISDIR') reason = 'it is a directory, not a file';
  const creating = system?.syscall === 'mkdir' || system?.syscall === 'open';
  if (system?.code === 'ENOENT' && creating && path !== undefined) {
    // A recursive mkdir under a read-only mount can fail with ENOENT: name the real cause.
    let ancestor = dirname(path);
    while (!existsSync(ancestor) && dirname(ancestor) !== ancestor) ancestor = dirname(ancestor);
    try {
      accessSync(ancestor, constants.W_OK);
      // Its parent is there and writable, yet says ENOENT: procfs (/proc, /proc/sys) does.
      if (ancestor === dirname(path)) {
        reason = `no ${system.syscall === 'mkdir' ? 'directory' : 'file'} can be created in ${ancestor}`;
      }
    } catch {
      if (system.syscall === 'mkdir') reason = `${ancestor} is read-only or not writable`;
    }
  }
  if (reason === undefined) return undefined;
  return `${reason}${path !== undefined && !isTarget ? ` (${path})` : ''}`;
}

/**
 * Turns a failure to create or write the data directory into a {@link UserError} (the flag that
 * chooses another one is `--data-dir`); other errors are returned unchanged.
 */
function dataDirError(error: unknown, dataDir: string): unknown {
  const reason = notWritableReason(error, dataDir);
  if (reason === undefined) return error;
  return new UserError(
    `cannot write the data directory ${dataDir}: ${reason}`,
    'choose a writable directory with --data-dir <dir>',
    { cause: error }
  );
}

/** A part of a command that listens on a port, with the flag that moves it. */
interface Listener {
  readonly part: string;
  readonly flag: string;
  readonly port: number;
}

/**
 * A failed start of `skewless start` or `skewless store` as the user can act on it: which part
 * could not listen on which port and the flag that moves it; a data directory that another
 * stack holds; one that cannot be written. Other errors are returned unchanged.
 */
function listenerStartError(
  error: unknown,
  listeners: readonly Listener[],
  dataDir: string,
  inUseHint = 'stop that one (Ctrl-C in its terminal), or pass --data-dir <another dir>'
): unknown {
  const system = systemError(error);
  if (system?.code === 'EADDRINUSE') {
    const listener = listeners.find((l) => l.port === system.port);
    const part = listener?.part ?? 'a part of the stack';
    return new UserError(
      `port ${system.port} is in use: the ${part} cannot listen on 127.0.0.1:${system.port}`,
      `stop what holds it (another npm start?), or pass ${listener?.flag ?? listeners.map((l) => l.flag).join('/')} <port> (0 picks a free one)`,
      { cause: error }
    );
  }
  const inUse = error instanceof Error ? /is in use by process (\d+)/.exec(error.message) : null;
  if (inUse !== null) {
    return new UserError(
      `the data directory ${dataDir} is in use by another stack (process ${inUse[1]})`,
      inUseHint,
      { cause: error }
    );
  }
  return dataDirError(error, dataDir);
}

/** The errors the Feature Store runtime API declares (its SDK's exception classes). */
const STORE_ERRORS = new Set([
  'AccessForbidden',
  'ConflictException',
  'InternalFailure',
  'ResourceNotFound',
  'ServiceUnavailable',
  'ThrottlingException',
  'ValidationError',
]);

/**
 * A request to the feature store at `endpoint` that failed for a reason the user can act on: the
 * store stopped while answering (the stack stopped mid-command), never answered (the client's
 * request timeout, `timeoutMs`), its host does not resolve, or the endpoint is another service
 * (the lookup API answers 403, S3 XML the SDK cannot read). Other errors are returned unchanged.
 */
function storeRequestError(error: unknown, endpoint: string, timeoutMs: number): unknown {
  const failure = error as
    | (Error & { cause?: unknown; $metadata?: { httpStatusCode?: number } })
    | null;
  const code = systemError(error)?.code;
  // The client's request timeout (TimeoutError, code ETIMEDOUT).
  if (code === 'ETIMEDOUT') {
    return new UserError(
      `the store at ${endpoint} did not answer within ${timeoutMs / 1000} s`,
      'check that the stack there is not stuck (its terminal), or pass the right --endpoint <url>',
      { cause: error }
    );
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED') {
    return new UserError(
      `the store at ${endpoint} closed the connection before answering (${code}): did it stop?`,
      'check that npm start (or skewless store) still runs there, then run the command again',
      { cause: error }
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new UserError(
      `cannot resolve the host of ${endpoint} (${code})`,
      'check the host in --endpoint <url>; the local stack listens on http://127.0.0.1:<port>',
      { cause: error }
    );
  }
  const status = failure?.$metadata?.httpStatusCode;
  if (status !== undefined && failure !== null && !STORE_ERRORS.has(failure.name)) {
    const said =
      failure.name === 'SyntaxError' ? 'a body that is not JSON' : failure.message.split('\n')[0];
    return new UserError(
      `${endpoint} answered HTTP ${status} (${said}), not as a SageMaker Feature Store`,
      FEATURE_STORE_ENDPOINT_HINT,
      { cause: error }
    );
  }
  return error;
}

/**
 * A successful answer that no feature store gave: every SageMaker Feature Store answer carries
 * `x-amzn-RequestId` (the service's, and the embedded store's), and an operation with an empty
 * output (PutRecord) parses from any 2xx, a web server's page included, which the command would
 * otherwise report as done.
 *
 * @throws UserError naming the endpoint and where it came from, when the request id is missing
 */
function checkFeatureStoreAnswer(
  metadata: { httpStatusCode?: number; requestId?: string },
  endpoint: StoreEndpoint
): void {
  if (metadata.requestId !== undefined) return;
  throw new UserError(
    `${endpoint.url} (${endpoint.from}) answered HTTP ${metadata.httpStatusCode ?? '2xx'} without the x-amzn-RequestId header every SageMaker Feature Store answer carries: it is not a feature store`,
    endpoint.hint
  );
}

/**
 * Whether the command line reaches AWS: only `dataset --engine athena` does. Every other command
 * talks to loopback stand-ins that take any credentials. Read as commander reads it: the engine is
 * the value of the last `--engine` (`--engine athena` or `--engine=athena`) before a `--`, so a
 * group, record or file named `athena` is not the engine.
 *
 * @param args - the command line after `node skewless`
 */
function reachesAws(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  const options = end === -1 ? args : args.slice(0, end);
  // The CLI's own options (--debug, --help, --version) take no value: the first operand is the command.
  if (options.find((a) => !a.startsWith('-')) !== 'dataset') return false;
  let engine: string | undefined;
  for (let i = 0; i < options.length; i++) {
    if (options[i] === '--engine') engine = options[++i];
    else if (options[i]?.startsWith('--engine=')) engine = options[i]?.slice('--engine='.length);
  }
  return engine === 'athena';
}

/**
 * A user's mistake recognised in any error, or undefined when the error is unexpected.
 *
 * @param args - the command line, when known: a hint may depend on the command
 */
function asUserError(error: unknown, args?: readonly string[]): UserError | undefined {
  if (error instanceof UserError) return error;
  // The user's own edit of shared/definitions.ts breaks a rule: every problem is in the message.
  if (error instanceof DefinitionError) {
    return new UserError(
      error.message,
      'fix it in shared/definitions.ts (the rules: README, "Define your own feature groups"); npm test checks it'
    );
  }
  // Only `--engine athena` reaches AWS. A local command sets dummy credentials unless the user's
  // own are set, which it then uses as they are: an expired SSO session fails it too.
  if ((error as Error | null)?.name === 'CredentialsProviderError') {
    return new UserError(
      (error as Error).message,
      args === undefined || reachesAws(args)
        ? '--engine athena reaches AWS: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and AWS_REGION'
        : 'the local stack takes any credentials, but AWS_PROFILE (or AWS_ACCESS_KEY_ID) is set and used as it is: unset it, or refresh its credentials (e.g. aws sso login)'
    );
  }
  // An environment variable the handlers read (the CLI runs them in-process) is out of range.
  if (error instanceof ConfigurationError) {
    return new UserError(
      error.message,
      error.documentedIn === undefined
        ? "fix or unset it (each function's doc lists its variables)"
        : `fix or unset it (${error.documentedIn})`
    );
  }
  // A folder of the offline store the engine cannot list, or a link it cannot follow: its rows
  // would be missing.
  if (error instanceof OfflineFilesUnreadableError) {
    return new UserError(
      error.message,
      'every folder and link under a group’s data directory holds its rows: make it readable by this user (or remove a broken link, or move what is not the group’s out of the store), then run again'
    );
  }
  if (error instanceof UnknownNameError) {
    return new UserError(
      error.message,
      'feature groups, their features and feature sets are defined in shared/definitions.ts'
    );
  }
  // A bad argument found by a command's action (commander's InvalidArgumentError): a missing
  // file for backfill, an option that does not fit the group.
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('commander.')) {
    return new UserError(
      (error as Error).message.replace(/^error: /, ''),
      "see the command's --help"
    );
  }
  // The store answers, but has no such group: a bare `skewless store`, or another data dir.
  // GetRecord says ResourceNotFound; PutRecord, which cannot declare it, a ValidationError with
  // the same message (Amazon SageMaker API Reference, PutRecord: its errors have no
  // ResourceNotFound; the message as quoted in aws/sagemaker-python-sdk issue 2606).
  const failure = error as Error | null;
  if (
    failure?.name === 'ResourceNotFound' ||
    (failure?.name === 'ValidationError' && /can't find a FeatureGroup/.test(failure.message))
  ) {
    return new UserError(
      `the store has no such feature group: ${(error as Error).message}`,
      'npm start creates every group of shared/definitions.ts; a bare `skewless store` starts with none'
    );
  }
  const system = systemError(error);
  if (system?.code === 'ECONNREFUSED') {
    const where =
      system.address !== undefined ? `http://${system.address}:${system.port}` : 'the endpoint';
    return new UserError(
      `no stack at ${where} (connection refused)`,
      'start one with npm start, or pass --endpoint <url>'
    );
  }
  if (system?.code === 'EADDRINUSE') {
    return new UserError(
      `port ${system.port ?? '?'} is in use`,
      'stop what holds it, or choose another port (0 picks a free one)'
    );
  }
  return undefined;
}

/**
 * Makes a skewless command line report its own errors as the CLI promises: a line commander
 * refuses (an unknown option or command, a bad value, a missing argument) is one line prefixed
 * `skewless:` and a hint naming the --help to read, not commander's bare `error: …` with the
 * whole help after it; `--debug` asks for the stack trace of an unexpected error. Called once the
 * commands are registered, by every entry that parses one (the CLI, the store's stand-alone entry).
 */
function reportCommandLineErrors(program: Command): void {
  const output = {
    // Its "(Did you mean …?)" comes on a line of its own: kept on the error's line.
    outputError: (text: string, write: (text: string) => void) =>
      write(`skewless: ${text.replace(/^error: /, '').replace(/\n(?=\(Did you mean)/, ' ')}`),
  };
  program
    .option('--debug', 'print the stack trace of an unexpected error')
    .configureOutput(output)
    .showHelpAfterError('  hint: see skewless --help');
  for (const command of program.commands) {
    command
      .configureOutput(output)
      .showHelpAfterError(`  hint: see skewless ${command.name()} --help`);
  }
}

/** Whether the command line asks for stack traces. */
function debugRequested(args: readonly string[]): boolean {
  return (
    args.includes('--debug') ||
    args.includes('--log-level=debug') ||
    args.some((a, i) => a === '--log-level' && args[i + 1] === 'debug')
  );
}

/**
 * Prints a failure the way the CLI promises and returns the exit code.
 *
 * @param write - where the lines go (stderr)
 */
function reportCliError(
  error: unknown,
  args: readonly string[],
  write: (text: string) => void = (text) => process.stderr.write(text)
): number {
  const debug = debugRequested(args);
  const user = asUserError(error, args);
  if (user !== undefined) {
    write(`skewless: ${user.message}\n`);
    if (user.hint !== undefined) write(`  hint: ${user.hint}\n`);
    if (debug) write(`${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  write(`skewless: unexpected error: ${message}\n`);
  if (debug) write(`${error instanceof Error ? (error.stack ?? message) : message}\n`);
  else write('  hint: run again with --debug for the stack trace\n');
  return 2;
}

export {
  asUserError,
  checkFeatureStoreAnswer,
  dataDirError,
  debugRequested,
  listenerStartError,
  notWritableReason,
  reachesAws,
  reportCliError,
  reportCommandLineErrors,
  storeRequestError,
  systemError,
  UserError,
};

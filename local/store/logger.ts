/**
 * A tiny levelled logger. The store logs its startup line at `info`, every request at `debug`
 * (one line: method, path, status, operation, duration, request id) and problems at `warn`/`error`.
 * The level is checked before a message is built, so debug logging costs nothing when off.
 */

const LOG_LEVELS = ['silent', 'error', 'warn', 'info', 'debug'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

/** Where log lines go. Defaults: debug/info to stdout, warn/error to stderr. */
interface LogSink {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

interface StoreLogger extends LogSink {
  readonly level: LogLevel;
  enabled(level: Exclude<LogLevel, 'silent'>): boolean;
}

const consoleSink: LogSink = {
  debug: (m) => process.stdout.write(`${m}\n`),
  info: (m) => process.stdout.write(`${m}\n`),
  warn: (m) => process.stderr.write(`${m}\n`),
  error: (m) => process.stderr.write(`${m}\n`),
};

function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

function createLogger(level: LogLevel = 'info', sink: LogSink = consoleSink): StoreLogger {
  const rank = LOG_LEVELS.indexOf(level);
  const on = (l: LogLevel): boolean => LOG_LEVELS.indexOf(l) <= rank;
  const debugOn = on('debug');
  const infoOn = on('info');
  const warnOn = on('warn');
  const errorOn = on('error');
  return {
    level,
    enabled: (l) => on(l),
    debug: (m) => {
      if (debugOn) sink.debug(m);
    },
    info: (m) => {
      if (infoOn) sink.info(m);
    },
    warn: (m) => {
      if (warnOn) sink.warn(m);
    },
    error: (m) => {
      if (errorOn) sink.error(m);
    },
  };
}

export type { LogLevel, LogSink, StoreLogger };
export { createLogger, isLogLevel, LOG_LEVELS };

import type { LogSink } from '../../shared/runtime/powertools.ts';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type LogLevel = keyof typeof LEVELS;

function formatContext(context: unknown): string {
  if (context === undefined) return '';
  if (context instanceof Error) return ` ${context.name}: ${context.message}`;
  try {
    return ` ${JSON.stringify(context, (_, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Error ? `${v.name}: ${v.message}` : v))}`;
  } catch {
    return ` ${String(context)}`;
  }
}

/**
 * Plain, prefixed log lines for the local runners (`[store] …`, `[kinesis] …`), so `npm start`
 * has one readable log stream next to the handlers' Powertools JSON lines.
 */
function createConsoleLog(component: string, level: LogLevel = 'info'): LogSink {
  const threshold = LEVELS[level];
  const write =
    (lvl: Exclude<LogLevel, 'silent'>) =>
    (message: string, ...rest: unknown[]) => {
      if (LEVELS[lvl] < threshold) return;
      const time = new Date().toISOString().slice(11, 23);
      const line = `${time} [${component}] ${lvl === 'info' ? '' : `${lvl.toUpperCase()} `}${String(message)}${rest.map(formatContext).join('')}`;
      (lvl === 'error' || lvl === 'warn' ? process.stderr : process.stdout).write(`${line}\n`);
    };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
  } as LogSink;
}

export type { LogLevel };
export { createConsoleLog, LEVELS };

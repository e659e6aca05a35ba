import { SkewlessError } from '../errors.ts';
import { DEFAULT_MAX_EVENT_TIME_SKEW_SECONDS } from '../record/eventTime.ts';

/** A required or malformed environment variable: fail fast at cold start with its name. */
class ConfigurationError extends SkewlessError {
  /**
   * Where the variable is documented (`docs/lookup.md, "Calling it locally", lists it`), when it
   * is not a function's, whose doc lists its variables: e.g. `PORT` of the lookup API's front run
   * alone. The CLI's hint names it.
   */
  readonly documentedIn: string | undefined;
  constructor(message: string, options?: ErrorOptions & { readonly documentedIn?: string }) {
    super(message, options);
    this.name = 'ConfigurationError';
    this.documentedIn = options?.documentedIn;
  }
}

/** @throws ConfigurationError when the variable is missing or empty */
function getStringFromEnv(name: string, fallback?: string): string {
  const value = process.env[name];
  if (value !== undefined && value !== '') return value;
  if (fallback !== undefined) return fallback;
  throw new ConfigurationError(`environment variable ${name} is required`);
}

function getOptionalStringFromEnv(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * @param documentedIn - where the variable is documented, when it is not a function's (see
 *   {@link ConfigurationError.documentedIn})
 * @throws ConfigurationError when the value is not an integer within [min, max]
 */
function getIntegerFromEnv(
  name: string,
  fallback: number,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
  documentedIn?: string
): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(
      `environment variable ${name}="${raw}" must be an integer in [${min}, ${max}]`,
      { documentedIn }
    );
  }
  return value;
}

/**
 * `MAX_EVENT_TIME_SKEW_SECONDS`: how far ahead of the clock a record's event time may be (default
 * 300; 0 to 10 years). The one setting every writer of producer data reads (ingest, backfill, batch).
 *
 * @throws ConfigurationError when it is not an integer in range
 */
function readMaxEventTimeSkewSeconds(): number {
  return getIntegerFromEnv(
    'MAX_EVENT_TIME_SKEW_SECONDS',
    DEFAULT_MAX_EVENT_TIME_SKEW_SECONDS,
    0,
    10 * 366 * 86_400
  );
}

export {
  ConfigurationError,
  getIntegerFromEnv,
  getOptionalStringFromEnv,
  getStringFromEnv,
  readMaxEventTimeSkewSeconds,
};

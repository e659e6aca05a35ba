/**
 * Option parsers shared by commands: the checks the embedded store makes on its account and region
 * (local/store/index.ts), made as the option is parsed so a bad value is a user error, not an
 * unexpected one from deep inside the command.
 */
import { InvalidArgumentError } from 'commander';

/** `--account`: the 12-digit account id of ARNs and the offline layout. */
function accountId(value: string): string {
  if (!/^\d{12}$/.test(value)) throw new InvalidArgumentError('expected a 12-digit account id');
  return value;
}

/** `--region`: a region name (lower-case letters, digits, hyphens). */
function regionName(value: string): string {
  if (!/^[a-z0-9-]+$/.test(value)) {
    throw new InvalidArgumentError('expected a region name such as us-east-1');
  }
  return value;
}

/**
 * `--data-dir`: a path that names a directory. An empty one (`--data-dir "$UNSET"`) would put the
 * store, S3, reports and endpoints.json straight into the working directory.
 */
function directoryPath(value: string): string {
  if (value.trim() === '') {
    throw new InvalidArgumentError(
      'expected a directory (empty means the working directory itself)'
    );
  }
  return value;
}

/** A decimal number as people write one: digits, an optional fraction and exponent. */
const DECIMAL = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

/**
 * An option's text as a number, for the numeric parsers to range-check. JavaScript's `Number`
 * reads "" and blanks as 0 (`--api-port "$UNSET"` would pick a free port, `--sample ""` audit a
 * sample of none) and `0x10`, `0b11`, `0o17` as 16, 3 and 15 (`--api-port 0x10` listened on 16).
 * Anything but a decimal number is NaN here, which every parser refuses.
 */
function numberValue(value: string): number {
  return DECIMAL.test(value) ? Number(value) : Number.NaN;
}

/** Decimal digits, blanks around them allowed. */
const DIGITS = /^\s*\d+\s*$/;

/**
 * The text of an integer option (a port, a count, a timeout in whole units) as a number, for its
 * parser to range-check: decimal digits only. An exponent or a fraction is NaN here, as blanks and
 * `0x10` are for {@link numberValue}, which read `--api-port 1e3` as port 1000; so are a sign and
 * `1.0`. Options that take fractions (a rate, a share) keep {@link numberValue}.
 */
function integerValue(value: string): number {
  return DIGITS.test(value) ? Number(value) : Number.NaN;
}

/** An integer option with a range, e.g. a port (0-65535) or a flush interval in ms. */
function integerFrom(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = integerValue(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return n;
  };
}

/** A count such as `--timeout` or `--threads`: an integer of at least 1. */
function positiveInteger(value: string): number {
  const n = integerValue(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected an integer >= 1');
  return n;
}

/**
 * `--endpoint`, `--s3-endpoint`: an http(s) URL. The SDK takes `localhost:8765` (no scheme) as a
 * URL whose scheme is `localhost:` and fails with a bare UnknownError, and `not a url` with
 * "Invalid URL", both deep inside the command as unexpected errors.
 *
 * @param example - the URL the message shows (the part's default endpoint)
 */
function httpUrl(example: string): (value: string) => string {
  return (value) => {
    let protocol: string | undefined;
    try {
      protocol = new URL(value).protocol;
    } catch {
      protocol = undefined;
    }
    if (protocol !== 'http:' && protocol !== 'https:') {
      throw new InvalidArgumentError(`expected an http:// or https:// URL such as ${example}`);
    }
    return value;
  };
}

/** A feature store endpoint (the embedded store's default). */
const storeUrl = httpUrl('http://127.0.0.1:8765');

export {
  accountId,
  directoryPath,
  httpUrl,
  integerFrom,
  integerValue,
  numberValue,
  positiveInteger,
  regionName,
  storeUrl,
};

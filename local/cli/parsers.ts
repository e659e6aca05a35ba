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

/**
 * An option's text as a number, for the numeric parsers to range-check. JavaScript's `Number`
 * reads "" and blanks as 0: `--api-port "$UNSET"` would pick a free port, `--sample ""` audit a
 * sample of none. A blank value is NaN here, which every parser refuses.
 */
function numberValue(value: string): number {
  return value.trim() === '' ? Number.NaN : Number(value);
}

/** A count such as `--timeout` or `--threads`: an integer of at least 1. */
function positiveInteger(value: string): number {
  const n = numberValue(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected an integer >= 1');
  return n;
}

export { accountId, directoryPath, numberValue, positiveInteger, regionName };

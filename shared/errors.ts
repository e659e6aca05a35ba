/**
 * Error classes shared by every part of Skewless. One base class, `name` always set, context kept
 * as fields so callers (dead letters, HTTP edge, reports) can show *which record, which field, why*.
 */

/** Base class of every error Skewless raises on purpose. */
class SkewlessError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SkewlessError';
  }
}

/** A feature group or feature set definition breaks a rule of the service or of Skewless. */
class DefinitionError extends SkewlessError {
  readonly definition: string;
  readonly problems: readonly string[];
  constructor(definition: string, problems: readonly string[]) {
    super(`Invalid definition "${definition}":\n  - ${problems.join('\n  - ')}`);
    this.name = 'DefinitionError';
    this.definition = definition;
    this.problems = problems;
  }
}

/** One problem with one value of a record. */
interface RecordProblem {
  /** The feature (or input key) at fault; `(record)` for problems of the whole record. */
  readonly feature: string;
  /** The offending value, as received (truncated for display by the formatter, not here). */
  readonly value: unknown;
  readonly reason: string;
  /**
   * Set by the codec when the value is an integer JS number beyond ±(2^53 − 1) for an Integral:
   * a JSON parser may already have rounded it, so it may not be what was sent. A reader of JSON
   * words it for its producer (`jsonInputProblems` of shared/record/codec.ts).
   */
  readonly unsafeNumber?: true;
}

function describeValue(value: unknown): string {
  let text: string;
  if (typeof value === 'bigint') text = `${value}n`;
  else if (typeof value === 'number' && !Number.isFinite(value)) text = String(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** What a value is, for "must be …, not <kind>" messages: `null`, `an array`, or its `typeof`. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/**
 * One problem as text: `feature=value: reason`, or `feature: reason` when there is no value (a
 * missing feature, an unreadable row) — never `=undefined`.
 */
function formatProblem(problem: RecordProblem): string {
  return problem.value === undefined
    ? `${problem.feature}: ${problem.reason}`
    : `${problem.feature}=${describeValue(problem.value)}: ${problem.reason}`;
}

/** A record failed validation against its group. Carries **all** problems, not only the first. */
class RecordValidationError extends SkewlessError {
  readonly featureGroup: string;
  readonly problems: readonly RecordProblem[];
  constructor(featureGroup: string, problems: readonly RecordProblem[]) {
    const lines = problems.map(formatProblem);
    super(`Invalid record for feature group "${featureGroup}": ${lines.join('; ')}`);
    this.name = 'RecordValidationError';
    this.featureGroup = featureGroup;
    this.problems = problems;
  }
}

/**
 * A name (group, feature, feature set) that the schema module does not define; `within` says
 * where it was looked for, e.g. `feature group "fraud-cards"` for a feature.
 */
class UnknownNameError extends SkewlessError {
  readonly kind: 'feature group' | 'feature' | 'feature set';
  readonly unknownName: string;
  constructor(
    kind: 'feature group' | 'feature' | 'feature set',
    name: string,
    known: readonly string[],
    within?: string
  ) {
    super(
      `Unknown ${kind} "${name}"${within === undefined ? '' : ` in ${within}`}; known: ${known.join(', ') || '(none)'}`
    );
    this.name = 'UnknownNameError';
    this.kind = kind;
    this.unknownName = name;
  }
}

/** Any thrown value as one line for a log or a report: `Name: message` for an `Error`. */
function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export type { RecordProblem };
export {
  DefinitionError,
  describeError,
  describeValue,
  formatProblem,
  kindOf,
  RecordValidationError,
  SkewlessError,
  UnknownNameError,
};

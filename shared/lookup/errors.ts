/**
 * The lookup API's HTTP errors and the one place where any error becomes one of them.
 *
 * Modelled on Powertools' event-handler `HttpError` (a `statusCode`, an `errorType`, a `toJSON()`)
 * and Middy's rule that only errors below 500 are shown to the caller: a 5xx body never carries
 * the cause, which goes to the logger instead.
 */
import { SkewlessError, UnknownNameError } from '../errors.ts';
import {
  describeRefusedIds,
  isThrottling,
  isUnavailable,
  refusedReadMessage,
} from '../store/storeErrors.ts';

/** The JSON body of every error answer. */
interface ErrorBody {
  readonly statusCode: number;
  /** Stable machine-readable kind, e.g. `BadRequest`. */
  readonly error: string;
  /** What went wrong, specific enough to fix the request (never internals for 5xx). */
  readonly message: string;
  /** The API Gateway request id, also sent as the `x-request-id` header. */
  readonly requestId: string;
}

/**
 * Base class of the lookup API's errors: a status code, a kind and a message the caller may see.
 *
 * `expose` follows Middy's `createError`: true below 500. The edge shows the message of an
 * exposed error and replaces any other one with a generic text.
 *
 * @example
 * ```typescript
 * import { BadRequestError } from './shared/lookup/errors.ts';
 * throw new BadRequestError('recordIds must be an array of strings');
 * ```
 */
abstract class HttpError extends SkewlessError {
  abstract readonly statusCode: number;
  abstract readonly errorType: string;

  /** Whether the message may be shown to the caller (Middy's `expose`: status < 500). */
  get expose(): boolean {
    return this.statusCode < 500;
  }

  /** Extra response headers, e.g. `Retry-After`. */
  get headers(): Readonly<Record<string, string>> {
    return {};
  }

  /** The error body, with the request id the caller can quote. */
  toJSON(requestId = ''): ErrorBody {
    return {
      statusCode: this.statusCode,
      error: this.errorType,
      message: this.expose ? this.message : 'Internal server error',
      requestId,
    };
  }
}

/** 400: the request is malformed or names something the schema module does not define. */
class BadRequestError extends HttpError {
  readonly statusCode = 400;
  readonly errorType = 'BadRequest';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BadRequestError';
  }
}

/** 404: no live record (never written, soft- or hard-deleted, or past its TTL), or no such route. */
class NotFoundError extends HttpError {
  readonly statusCode = 404;
  readonly errorType = 'NotFound';
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** 429: the feature store throttled the read; the caller may retry after backing off. */
class TooManyRequestsError extends HttpError {
  readonly statusCode = 429;
  readonly errorType = 'TooManyRequests';
  constructor(options?: ErrorOptions) {
    super('The feature store is throttling reads; retry after backing off', options);
    this.name = 'TooManyRequestsError';
  }
  override get headers(): Readonly<Record<string, string>> {
    return { 'retry-after': '1' };
  }
}

/** 503: the feature store could not be reached or answered 5xx. */
class ServiceUnavailableError extends HttpError {
  readonly statusCode = 503;
  readonly errorType = 'ServiceUnavailable';
  constructor(options?: ErrorOptions) {
    super('The feature store is unavailable; retry later', options);
    this.name = 'ServiceUnavailableError';
  }
  // 503 is below neither rule: the message is ours and names no internals, so show it.
  override get expose(): boolean {
    return true;
  }
  override get headers(): Readonly<Record<string, string>> {
    return { 'retry-after': '1' };
  }
}

/**
 * 500 about feature groups of this deployment: a deployment problem, not the caller's, and not
 * transient. The message is our own and names only the groups: safe to show although it is a 500.
 */
abstract class FeatureGroupsError extends HttpError {
  readonly statusCode = 500;
  readonly errorType = 'InternalServerError';
  readonly featureGroups: readonly string[];
  constructor(featureGroups: readonly string[], message: string, options?: ErrorOptions) {
    super(message, options);
    this.featureGroups = featureGroups;
  }
  override get expose(): boolean {
    return true;
  }
}

/** `"a"` or `"a", "b"`, and whether that is more than one group. */
function groupList(groups: readonly string[]): { names: string; plural: boolean } {
  return { names: groups.map((g) => `"${g}"`).join(', '), plural: groups.length > 1 };
}

/**
 * 500: a group the schema module defines is missing from the feature store (not created yet,
 * still `Creating`, or deleted). The message names the group and nothing else of the store's
 * answer.
 */
class FeatureGroupMissingError extends FeatureGroupsError {
  constructor(featureGroups: readonly string[], options?: ErrorOptions) {
    const { names, plural } = groupList(featureGroups);
    super(
      featureGroups,
      `Feature group${plural ? 's' : ''} ${names} ${plural ? 'are' : 'is'} defined but not available in the feature store (not created, not ready yet, or deleted)`,
      options
    );
    this.name = 'FeatureGroupMissingError';
  }
}

/**
 * 500: the store refused a read of a group as invalid although the lookup asked only for what
 * the schema module defines: the group in the store lacks features the module has (a deploy
 * that adds features has updated the function before the feature group, or never did). Not
 * worth a retry; the store's answer goes to the log.
 */
class FeatureGroupMismatchError extends FeatureGroupsError {
  constructor(featureGroups: readonly string[], options?: ErrorOptions) {
    const { names, plural } = groupList(featureGroups);
    super(
      featureGroups,
      `Feature group${plural ? 's' : ''} ${names} in the feature store ${plural ? 'do' : 'does'} not have every feature the schema module defines for ${plural ? 'them' : 'it'} (the store refused the read as invalid): deploy the feature groups generated from shared/definitions.ts, or wait for their update to finish`,
      options
    );
    this.name = 'FeatureGroupMismatchError';
  }
}

/**
 * 500: the store answered ids of a batch read with a per-identifier `Errors` item whose code is
 * not transient (e.g. `AccessForbidden`: the function's role may not read the group), or refused
 * the whole call that held them (e.g. IAM's `AccessDeniedException`): reading
 * them again gets the same answer, so they are not `unprocessed` ids to retry. The message names
 * the first such id, its group and the store's code; the store's own message (an IAM text names
 * roles and accounts) goes to the log only, as the cause.
 */
class StoreRefusedReadError extends FeatureGroupsError {
  constructor(
    refused: readonly { group: string; recordId: string; code: string }[],
    options?: ErrorOptions
  ) {
    const groups = [...new Set(refused.map((r) => r.group))];
    super(
      groups,
      refusedReadMessage(describeRefusedIds(refused), refused[0]?.code, "the function's"),
      options
    );
    this.name = 'StoreRefusedReadError';
  }
}

/** 500: anything unexpected. The body says only "Internal server error" and the request id. */
class InternalServerError extends HttpError {
  readonly statusCode = 500;
  readonly errorType = 'InternalServerError';
  constructor(options?: ErrorOptions) {
    super('Internal server error', options);
    this.name = 'InternalServerError';
  }
}

/**
 * THE mapping edge: turn anything thrown while serving a request into an {@link HttpError}.
 *
 * - an `HttpError` stays as it is;
 * - `UnknownNameError` (unknown group, feature or feature set) becomes 400 with its message;
 * - a throttled store call becomes 429, an unreachable or failing store (5xx, network error,
 *   timeout) 503;
 * - everything else becomes a 500 whose `cause` is the original error (for the log only).
 *
 * @example
 * ```typescript
 * import { toHttpError } from './shared/lookup/errors.ts';
 * const error = toHttpError(new Error('boom'));
 * error.statusCode; // 500
 * error.toJSON('req-1'); // { statusCode: 500, error: 'InternalServerError', message: 'Internal server error', requestId: 'req-1' }
 * ```
 */
function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof UnknownNameError)
    return new BadRequestError(error.message, { cause: error });
  if (isThrottling(error)) return new TooManyRequestsError({ cause: error });
  if (isUnavailable(error)) return new ServiceUnavailableError({ cause: error });
  return new InternalServerError({ cause: error });
}

export type { ErrorBody };
export {
  BadRequestError,
  FeatureGroupMismatchError,
  FeatureGroupMissingError,
  HttpError,
  InternalServerError,
  NotFoundError,
  ServiceUnavailableError,
  StoreRefusedReadError,
  TooManyRequestsError,
  toHttpError,
};

/**
 * How a failed Feature Store call should be treated. Retryable: throttling, 5xx, network and
 * timeouts (the SDK already retried with backoff; the caller reports the record for a later
 * retry). Not retryable: the store said the record itself is wrong (ValidationError), so
 * retrying can never succeed and the record belongs in a dead-letter destination.
 *
 * AccessForbidden and ResourceNotFound are configuration problems that affect every record;
 * they are treated as retryable so a misconfigured deployment stops and alarms (iterator age)
 * instead of dead-lettering the whole stream.
 */
type StoreFailureKind = 'retryable' | 'rejected';

const REJECTED_ERROR_NAMES = new Set(['ValidationError', 'ConflictException']);

function classifyStoreError(error: unknown): StoreFailureKind {
  const name = (error as { name?: string } | null)?.name ?? '';
  return REJECTED_ERROR_NAMES.has(name) ? 'rejected' : 'retryable';
}

/** True when the store signalled throttling (HTTP 429 or a throttling error name). */
function isThrottling(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.$metadata?.httpStatusCode === 429 || /Throttl/i.test(e?.name ?? '');
}

/** True when the store was unreachable or answered 5xx. */
function isUnavailable(error: unknown): boolean {
  const e = error as {
    name?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
  } | null;
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500;
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(e?.code ?? '') ||
    ['TimeoutError', 'RequestTimeout'].includes(e?.name ?? '')
  );
}

/**
 * True when a failed call may succeed if made again: throttled, the store's 5xx or unreachable,
 * a timeout. Any other failure (AccessForbidden, an IAM AccessDeniedException, ValidationError, a
 * code we do not know) is the store's answer to the call itself: the same call gets it again.
 */
function isTransientError(error: unknown): boolean {
  return isThrottling(error) || isUnavailable(error);
}

/** The service's 5xx error codes (featurestore-api.md §2.1): a later call may succeed. */
const SERVER_ERROR_CODES = new Set(['InternalFailure', 'ServiceUnavailable']);

/**
 * True when the `ErrorCode` of a per-identifier `Errors` item of a BatchGetRecord answer is
 * transient (throttling or a server-side failure), so reading the id again may succeed. Any
 * other code (AccessForbidden, ValidationError, ResourceNotFound, a code we do not know) says
 * the read itself is refused: the same call gives the same answer.
 */
function isTransientErrorCode(code: string): boolean {
  return isThrottling({ name: code }) || SERVER_ERROR_CODES.has(code);
}

export type { StoreFailureKind };
export { classifyStoreError, isThrottling, isTransientError, isTransientErrorCode, isUnavailable };

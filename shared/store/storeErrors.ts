/**
 * How a failed Feature Store call should be treated. Retryable: throttling, 5xx, network and
 * timeouts (the SDK already retried with backoff; the caller reports the record for a later
 * retry). Not retryable: the store said the record itself is wrong (ValidationError), so
 * retrying can never succeed and the record belongs in a dead-letter destination.
 *
 * AccessForbidden and ResourceNotFound are configuration problems that affect every record;
 * they are treated as retryable so a misconfigured deployment stops and alarms (iterator age)
 * instead of dead-lettering the whole stream. A caller that can fail loudly instead (a backfill,
 * a batch drop, the audit, the lookup) tells them apart with {@link isRefusedCall} and
 * {@link isTransientErrorCode}: no retry changes them.
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

/** True when the store answered the call with a client error (4xx): its code is its answer. */
function isClientError(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata
    ?.httpStatusCode;
  return status !== undefined && status >= 400 && status < 500;
}

/**
 * True when the store answered a whole call with a code no retry changes: a 4xx that is not
 * throttling (AccessForbidden, IAM's AccessDeniedException, ResourceNotFound…). A call that got
 * no answer (unreachable, a timeout, aborted) or a 5xx is not refused: it may succeed again.
 */
function isRefusedCall(error: unknown): boolean {
  return isClientError(error) && !isTransientError(error);
}

/** Codes saying the caller's role may not make the call: the store's own, IAM's, S3's. */
const ACCESS_REFUSAL_CODES = new Set([
  'AccessForbidden',
  'AccessDeniedException',
  'AccessDenied',
  'KMS.AccessDeniedException',
]);

/** True when `code` says the caller's role lacks a permission (the hint: check the role). */
function isAccessRefusal(code: string): boolean {
  return ACCESS_REFUSAL_CODES.has(code);
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

/**
 * The first id the store refused (a read or a write), its group and the store's code, and how
 * many more ids there are:
 * `record "c2" of feature group "fraud-cards" (AccessForbidden) and 1 more id`. Never the store's
 * own message (an IAM text names roles and accounts): a reader logs that apart.
 */
function describeRefusedIds(
  refused: readonly { readonly group: string; readonly recordId: string; readonly code: string }[]
): string {
  const [first] = refused;
  const more = refused.length - 1;
  return `record "${first?.recordId}" of feature group "${first?.group}" (${first?.code})${more > 0 ? ` and ${more} more id${more > 1 ? 's' : ''}` : ''}`;
}

/**
 * The sentence for reads the store refused, in every reader's words (lookup, audit): what was
 * refused, that a retry gets the same answer, and, for an access refusal, whose read permission
 * to check (`reader`: "the function's", "the audit's").
 */
function refusedReadMessage(what: string, code: string | undefined, reader: string): string {
  const permission =
    code !== undefined && isAccessRefusal(code)
      ? `: check ${reader} read permission on the group`
      : '';
  return `The feature store refused to read ${what}; a retry gets the same answer${permission}`;
}

export type { StoreFailureKind };
export {
  classifyStoreError,
  describeRefusedIds,
  isAccessRefusal,
  isRefusedCall,
  isThrottling,
  isTransientError,
  isTransientErrorCode,
  isUnavailable,
  refusedReadMessage,
};

/**
 * Fault injection for the runtime API (never the control plane), off by default. For each runtime
 * request one uniform draw picks at most one fault, with the configured shares:
 *   drop (socket destroyed, no answer) | throttle (429 ThrottlingException) |
 *   5xx (500 InternalFailure or 503 ServiceUnavailable, half each) | none.
 * Independently, `latencyMs` is added to a `latencyShare` of requests. Faults are decided after
 * the request body is read and before the operation runs: a faulted request changes nothing.
 *
 * BatchWriteRecord entries get their own draw each (only in calls that were not faulted whole):
 *   throttled entry (an `Errors` item with ErrorCode ThrottlingException) |
 *   unprocessed entry (listed in `UnprocessedEntries`) | none.
 * A faulted entry is not written; the other entries of the call are.
 *
 * BatchGetRecord record identifiers (of calls not faulted whole) get a draw each too: an
 * unprocessed identifier is answered in `UnprocessedIdentifiers` (not read), as the service
 * answers what it could not read in time, and the caller must retry or report it.
 */
import { seededRandom } from '../runtime/seededRandom.ts';

interface FaultOptions {
  /** Share (0-1) of runtime requests answered 429 ThrottlingException. */
  readonly throttle?: number;
  /** Share (0-1) answered 500 InternalFailure / 503 ServiceUnavailable. */
  readonly serverError?: number;
  /** Share (0-1) whose connection is destroyed without an answer. */
  readonly drop?: number;
  /** Milliseconds added before answering. */
  readonly latencyMs?: number;
  /** Share (0-1) of requests that get `latencyMs` (default 1 when latencyMs > 0). */
  readonly latencyShare?: number;
  /** Share (0-1) of BatchWriteRecord entries answered as an `Errors` item ThrottlingException. */
  readonly entryThrottle?: number;
  /** Share (0-1) of BatchWriteRecord entries returned in `UnprocessedEntries`. */
  readonly entryUnprocessed?: number;
  /** Share (0-1) of BatchGetRecord record identifiers returned in `UnprocessedIdentifiers`. */
  readonly identifierUnprocessed?: number;
  /** Seed for a deterministic sequence of draws (default: Math.random). */
  readonly seed?: number;
}

/** What happens to one BatchWriteRecord entry. */
type EntryFault = 'none' | 'throttle' | 'unprocessed';

type FaultDecision =
  | { readonly kind: 'none'; readonly delayMs: number }
  | { readonly kind: 'drop'; readonly delayMs: number }
  | {
      readonly kind: 'error';
      readonly delayMs: number;
      readonly code: 'ThrottlingException' | 'InternalFailure' | 'ServiceUnavailable';
    };

const NO_FAULT: FaultDecision = { kind: 'none', delayMs: 0 };

function share(value: number | undefined, name: string): number {
  const v = value ?? 0;
  if (!Number.isFinite(v) || v < 0 || v > 1)
    throw new RangeError(`${name} must be a share from 0 to 1, got ${value}`);
  return v;
}

class FaultInjector {
  private drop = 0;
  private throttle = 0;
  private serverError = 0;
  private latencyMs = 0;
  private latencyShare = 0;
  private entryThrottle = 0;
  private entryUnprocessed = 0;
  private identifierUnprocessed = 0;
  private random: () => number = Math.random;
  active = false;

  constructor(options: FaultOptions = {}) {
    this.configure(options);
  }

  configure(options: FaultOptions): void {
    const drop = share(options.drop, 'drop');
    const throttle = share(options.throttle, 'throttle');
    const serverError = share(options.serverError, 'serverError');
    if (drop + throttle + serverError > 1) {
      throw new RangeError('drop + throttle + serverError shares must not exceed 1');
    }
    const entryThrottle = share(options.entryThrottle, 'entryThrottle');
    const entryUnprocessed = share(options.entryUnprocessed, 'entryUnprocessed');
    if (entryThrottle + entryUnprocessed > 1) {
      throw new RangeError('entryThrottle + entryUnprocessed shares must not exceed 1');
    }
    const identifierUnprocessed = share(options.identifierUnprocessed, 'identifierUnprocessed');
    const latencyMs = options.latencyMs ?? 0;
    if (!Number.isFinite(latencyMs) || latencyMs < 0)
      throw new RangeError('latencyMs must be >= 0');
    this.drop = drop;
    this.throttle = throttle;
    this.serverError = serverError;
    this.latencyMs = latencyMs;
    this.latencyShare = latencyMs > 0 ? share(options.latencyShare ?? 1, 'latencyShare') : 0;
    this.entryThrottle = entryThrottle;
    this.entryUnprocessed = entryUnprocessed;
    this.identifierUnprocessed = identifierUnprocessed;
    this.random = options.seed === undefined ? Math.random : seededRandom(options.seed);
    this.active =
      drop + throttle + serverError + entryThrottle + entryUnprocessed + identifierUnprocessed >
        0 || this.latencyShare > 0;
  }

  /** e.g. `throttle 0.1, 5xx 0.05, drop 0, latency 20 ms × 1` or `off`. */
  describe(): string {
    if (!this.active) return 'off';
    const entries =
      this.entryThrottle + this.entryUnprocessed > 0
        ? `, entry throttle ${this.entryThrottle}, entry unprocessed ${this.entryUnprocessed}`
        : '';
    const identifiers =
      this.identifierUnprocessed > 0
        ? `, identifier unprocessed ${this.identifierUnprocessed}`
        : '';
    return `throttle ${this.throttle}, 5xx ${this.serverError}, drop ${this.drop}, latency ${this.latencyMs} ms × ${this.latencyShare}${entries}${identifiers}`;
  }

  /** Whether one BatchGetRecord record identifier goes unprocessed (its own draw). */
  decideIdentifier(): boolean {
    return this.identifierUnprocessed > 0 && this.random() < this.identifierUnprocessed;
  }

  /** The fault of one BatchWriteRecord entry (its own draw). */
  decideEntry(): EntryFault {
    if (this.entryThrottle + this.entryUnprocessed === 0) return 'none';
    const r = this.random();
    if (r < this.entryThrottle) return 'throttle';
    if (r < this.entryThrottle + this.entryUnprocessed) return 'unprocessed';
    return 'none';
  }

  decide(): FaultDecision {
    if (!this.active) return NO_FAULT;
    const delayMs = this.latencyShare > 0 && this.random() < this.latencyShare ? this.latencyMs : 0;
    const r = this.random();
    if (r < this.drop) return { kind: 'drop', delayMs };
    if (r < this.drop + this.throttle)
      return { kind: 'error', delayMs, code: 'ThrottlingException' };
    if (r < this.drop + this.throttle + this.serverError) {
      return {
        kind: 'error',
        delayMs,
        code: this.random() < 0.5 ? 'InternalFailure' : 'ServiceUnavailable',
      };
    }
    return delayMs === 0 ? NO_FAULT : { kind: 'none', delayMs };
  }
}

export type { EntryFault, FaultDecision, FaultOptions };
export { FaultInjector };

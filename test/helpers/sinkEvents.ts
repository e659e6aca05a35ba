/**
 * A recorder of what a row sink (`shared/backfill/sink.ts`) reports, for the tests of the sinks
 * of backfill and batch: every row written, rejected (with its reason) and failed (with its error);
 * and the SDK errors their mocked calls are refused with.
 */
import type { SinkEvents } from '../../shared/backfill/sink.ts';

interface SeenOutcomes {
  readonly written: number[];
  readonly rejected: [number, string][];
  /** The rows of every failure, in the order reported. */
  readonly failed: number[];
  /** The error of every failure, in the order reported. */
  readonly errors: unknown[];
  /** Each failure as reported: its rows with its error. */
  readonly failures: { indices: number[]; error: unknown }[];
}

/**
 * Records every outcome the sink reports. With `rejectsUnexpected`, a reject throws instead (a
 * test whose rows are all valid).
 */
function recordingEvents({ rejectsUnexpected = false } = {}): {
  seen: SeenOutcomes;
  events: SinkEvents;
} {
  const seen: SeenOutcomes = { written: [], rejected: [], failed: [], errors: [], failures: [] };
  const events: SinkEvents = {
    written: (indices) => seen.written.push(...indices),
    rejected: (index, reason) => {
      if (rejectsUnexpected) throw new Error(`unexpected reject of row ${index}: ${reason}`);
      seen.rejected.push([index, reason]);
    },
    failed: (indices, error) => {
      seen.failed.push(...indices);
      seen.errors.push(error);
      seen.failures.push({ indices: [...indices], error });
    },
  };
  return { seen, events };
}

/**
 * An error as the SDK throws it for a service's answer (its `name`, the HTTP status), for a mocked
 * call to reject with: the codes the sinks tell apart (refused or retried) by name and status.
 */
const callError = (name: string, status: number) =>
  Object.assign(new Error(`${name} (injected)`), { name, $metadata: { httpStatusCode: status } });

export type { SeenOutcomes };
export { callError, recordingEvents };

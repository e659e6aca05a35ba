/**
 * Watches this process's HTTP clients for BatchWriteRecord calls whose answer never came: the
 * request was sent whole, then closed without a complete response (the SDK's request timeout, an
 * aborted call, a reset connection). The store may have written such a call's entries all the
 * same, and the SDK's retry or the record's redelivery then writes them again: the at-least-once
 * offline row of docs/ingest.md, which no client can avoid (it cannot know what the store did).
 * On a loaded machine a test's store, sharing one event loop with its clients, can answer later
 * than the 5 s request timeout. Observation only: each request is found through
 * node:diagnostics_channel, and its `end` wrapped to read the body it sends, which it passes on
 * unchanged.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';

/** One entry of an unanswered call: its group and feature values by name. */
interface UnansweredEntry {
  readonly group: string;
  readonly values: Readonly<Record<string, string | undefined>>;
}

interface UnansweredWrites {
  /** Calls sent whole that closed without a complete answer. */
  calls(): number;
  /** Their entries, once per unanswered call that carried them. */
  entries(): readonly UnansweredEntry[];
  stop(): void;
}

interface WireBody {
  Entries?: {
    FeatureGroupName?: string;
    Record?: { FeatureName?: string; ValueAsString?: string }[];
  }[];
}

function entriesOf(body: string): UnansweredEntry[] {
  const parsed = JSON.parse(body) as WireBody;
  return (parsed.Entries ?? []).map((entry) => ({
    group: entry.FeatureGroupName ?? '',
    values: Object.fromEntries((entry.Record ?? []).map((v) => [v.FeatureName, v.ValueAsString])),
  }));
}

/**
 * Start watching; `stop()` when the writes under test are done.
 *
 * @example
 * ```typescript
 * const unanswered = watchUnansweredWrites();
 * await drive();
 * unanswered.stop();
 * if (unanswered.calls() === 0) expect(offline).toHaveLength(expected.size);
 * ```
 */
function watchUnansweredWrites(): UnansweredWrites {
  let calls = 0;
  const entries: UnansweredEntry[] = [];
  const onCreated = (message: unknown): void => {
    const request = (message as { request: ClientRequest }).request;
    if (!request.path.endsWith('/BatchWriteRecord')) return;
    let body: string | undefined;
    let answered = false;
    const end = request.end.bind(request) as (...args: unknown[]) => ClientRequest;
    // The SDK sends a JSON body in one `end(body)`.
    request.end = ((...args: unknown[]) => {
      const chunk = args[0];
      if (typeof chunk === 'string' || Buffer.isBuffer(chunk) || chunk instanceof Uint8Array)
        body = Buffer.from(chunk).toString('utf8');
      return end(...args);
    }) as ClientRequest['end'];
    request.once('response', (response: IncomingMessage) => {
      response.once('end', () => {
        answered = true;
      });
    });
    request.once('close', () => {
      if (answered || body === undefined) return;
      calls++;
      entries.push(...entriesOf(body));
    });
  };
  subscribe('http.client.request.created', onCreated);
  return {
    calls: () => calls,
    entries: () => entries,
    stop: () => {
      unsubscribe('http.client.request.created', onCreated);
    },
  };
}

export type { UnansweredEntry, UnansweredWrites };
export { watchUnansweredWrites };

/**
 * The audit's online reads against a slow store, through the client the audit handler builds:
 * however many slices are waiting, no BatchGetRecord call may wait for a socket, since the time a
 * call waits for one counts against the client's request timeout, which fails the call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnlineSide, ONLINE_CALLS_IN_FLIGHT } from '../../shared/audit/online.ts';
import { runAudit } from '../../shared/audit/runAudit.ts';
import { createAuditRuntime } from '../../shared/audit/service.ts';
import { createDuckDbEngine } from '../../shared/offline/duckdb.ts';
import { countCallsInFlight } from '../helpers/callsInFlight.ts';
import { startTestStore, type TestStore } from '../helpers/store.ts';
import { account, accounts, createGroups, put } from './fixtures.ts';

/** Enough identifiers for more slices (500 each) than the online side reads at once. */
const RECORDS = 2_600;
const WRITES_AT_ONCE = 50;

describe('Function: runAudit() through the audit handler client, on a slow store', () => {
  let store: TestStore;
  const saved = { ...process.env };

  beforeAll(async () => {
    store = await startTestStore();
    await createGroups(store, [accounts]);
    const at = Date.now() - 60_000;
    for (let i = 0; i < RECORDS; i += WRITES_AT_ONCE) {
      await Promise.all(
        Array.from({ length: WRITES_AT_ONCE }, (_, j) =>
          put(store, accounts, account(`a${i + j}`, at))
        )
      );
    }
    await store.store.flush();
    process.env.AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME = store.store.endpoint;
  });

  afterAll(async () => {
    process.env = saved;
    await store?.close();
  });

  it('never has more BatchGetRecord calls in flight than the client has sockets', async () => {
    // Prepare: every call answers after 200 ms, so the reads pile up as far as the audit lets them.
    store.store.setFaults({ latencyMs: 200 });
    const runtime = createAuditRuntime({
      engine: 'duckdb',
      athenaWorkGroup: undefined,
      athenaOutputLocation: undefined,
      reportsBucket: undefined,
      reportsDir: store.dataDir,
      storeDataDir: store.dataDir,
      groups: undefined,
      options: {},
    });
    const client = runtime.featureStore;
    const calls = countCallsInFlight(client);
    const engine = await createDuckDbEngine({ dataDir: store.dataDir, threads: 1 });
    try {
      // Act
      const report = await runAudit([accounts], { engine, online: createOnlineSide(client) });
      // Assess
      const sockets = calls.sockets();
      expect(report.totals).toMatchObject({ checked: RECORDS, coherenceMismatches: 0 });
      expect(report.groups[0]?.coherence.unread).toBe(0);
      expect(calls.most()).toBe(ONLINE_CALLS_IN_FLIGHT);
      expect(calls.most()).toBeLessThanOrEqual(sockets ?? 0);
    } finally {
      await engine.close();
      client.destroy();
    }
  });
});

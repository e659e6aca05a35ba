/**
 * The ingest function's metrics, as the bundled handler prints them (Embedded Metric Format on
 * stdout) while it writes to the embedded store over HTTP: the values the dashboard graphs, told
 * apart by counts that differ, and the names, namespace and dimensions template.yaml reads.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { IngestMetric } from '../../shared/ingest/metrics.ts';
import * as kinesis from '../helpers/kinesisEvents.ts';
import {
  type EmittedMetric,
  emittedMetrics,
  functionMetricEnvironment,
  functionMetricReferences,
  matches,
} from '../helpers/templateMetrics.ts';
import { type IngestFixture, startIngestFixture } from './fixture.ts';

let fx: IngestFixture;
const { namespace, service } = functionMetricEnvironment();

beforeAll(async () => {
  // The function's Metrics reads its environment when the bundle loads: enabled, with the
  // namespace and service name template.yaml's Globals give every function.
  fx = await startIngestFixture({
    POWERTOOLS_METRICS_DISABLED: 'false',
    POWERTOOLS_METRICS_NAMESPACE: namespace,
    POWERTOOLS_SERVICE_NAME: service,
    INGEST_MAX_ATTEMPTS: '2',
    INGEST_RETRY_BASE_DELAY_MS: '5',
  });
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});
afterAll(async () => {
  await fx?.close();
});

const HOUR = 3_600_000;
const hoursAgo = (h: number) => new Date(Date.now() - h * HOUR).toISOString();

/** The metrics the handler printed while `act` ran (stdout captured, nothing else printed). */
async function emfOf(act: () => Promise<unknown>): Promise<EmittedMetric[]> {
  const printed: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    printed.push(String(chunk));
    return true;
  });
  try {
    await act();
  } finally {
    write.mockRestore();
  }
  return emittedMetrics(printed.flatMap((p) => p.split('\n')));
}

/** The values of one metric printed under exactly `dimensions` (besides the service). */
function valuesOf(
  emitted: readonly EmittedMetric[],
  name: string,
  dimensions: Record<string, string> = {}
): number[] {
  const wanted: Record<string, string> = { service, ...dimensions };
  const keys = Object.keys(wanted).sort().join();
  return emitted
    .filter(
      (m) =>
        m.namespace === namespace &&
        m.name === name &&
        Object.keys(m.dimensions).sort().join() === keys &&
        Object.entries(wanted).every(([k, v]) => m.dimensions[k] === v)
    )
    .flatMap((m) => m.values);
}

/** Every printing of metric `name`, whatever its namespace and dimensions. */
const emitted = (all: readonly EmittedMetric[], name: string) => all.filter((m) => m.name === name);

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

describe('Ingest function (bundled) metrics', () => {
  it('counts written, dead-lettered and retried records per group and in total, and tells store latency from ingestion lag', async () => {
    // Prepare: a batch the store throttles throughout (3 records retried), then a batch written
    // through a store that answers after 250 ms: 4 transactions an hour old, 1 card two hours
    // old, 1 transaction that fails validation and 1 record that is not JSON (dead-lettered).
    const throttled = kinesis.kinesisEvent(
      ['m-retry-1', 'm-retry-2', 'm-retry-3'].map((id) =>
        kinesis.jsonRecord(kinesis.transaction(id))
      )
    );
    const mixed = kinesis.kinesisEvent([
      ...['m-ok-1', 'm-ok-2', 'm-ok-3', 'm-ok-4'].map((id) =>
        kinesis.jsonRecord(kinesis.transaction(id, { event_time: hoursAgo(1) }))
      ),
      kinesis.jsonRecord({
        featureGroup: 'fraud-cards',
        record: { card_id: 'm-card', event_time: hoursAgo(2), txn_count_7d: 7 },
      }),
      kinesis.jsonRecord(kinesis.transaction('m-bad', { amount: 'lots' })),
      kinesis.kinesisRecord('***'),
    ]);
    // Act
    const emitted = await emfOf(async () => {
      fx.store.store.setFaults({ entryThrottle: 1 });
      try {
        await fx.handler(throttled, kinesis.lambdaContext());
      } finally {
        fx.store.store.setFaults({ latencyMs: 250 });
      }
      try {
        await fx.handler(mixed, kinesis.lambdaContext());
      } finally {
        fx.store.store.setFaults({});
      }
    });
    // Assess: the totals the dashboard graphs (dimension set [service]) differ from each other.
    expect({
      written: sum(valuesOf(emitted, IngestMetric.RecordsWritten)),
      deadLettered: sum(valuesOf(emitted, IngestMetric.RecordsDeadLettered)),
      retried: sum(valuesOf(emitted, IngestMetric.RecordsRetried)),
      batchSize: valuesOf(emitted, IngestMetric.BatchSize),
    }).toEqual({ written: 5, deadLettered: 2, retried: 3, batchSize: [3, 7] });
    const perGroup = (featureGroup: string) => ({
      written: sum(valuesOf(emitted, IngestMetric.RecordsWritten, { featureGroup })),
      deadLettered: sum(valuesOf(emitted, IngestMetric.RecordsDeadLettered, { featureGroup })),
      retried: sum(valuesOf(emitted, IngestMetric.RecordsRetried, { featureGroup })),
    });
    expect(perGroup('fraud-transactions')).toEqual({ written: 4, deadLettered: 1, retried: 3 });
    expect(perGroup('fraud-cards')).toEqual({ written: 1, deadLettered: 0, retried: 0 });
    expect(perGroup('(none)')).toEqual({ written: 0, deadLettered: 1, retried: 0 });
    // One lag and one latency per written record: lag from the event time (an hour, two for the
    // card), latency the store's 250 ms answer, well under a minute.
    const lag = valuesOf(emitted, IngestMetric.IngestionLag, {
      featureGroup: 'fraud-transactions',
    });
    expect(lag).toHaveLength(4);
    for (const ms of lag) expect(ms).toBeGreaterThanOrEqual(HOUR);
    for (const ms of lag) expect(ms).toBeLessThan(HOUR + 60_000);
    const cardLag = valuesOf(emitted, IngestMetric.IngestionLag, { featureGroup: 'fraud-cards' });
    expect(cardLag).toHaveLength(1);
    expect(cardLag[0]).toBeGreaterThanOrEqual(2 * HOUR);
    const latency = valuesOf(emitted, IngestMetric.StoreWriteLatency);
    expect(latency).toHaveLength(5);
    for (const ms of latency) expect(ms).toBeGreaterThanOrEqual(250);
    for (const ms of latency) expect(ms).toBeLessThan(60_000);
  });

  it("prints Powertools' ColdStart once, on a new instance's first invocation, with the function's name", async () => {
    // Prepare: a new instance of the bundle (the metrics environment of beforeAll applied again,
    // and kept while it runs: Powertools builds the ColdStart's own Metrics at the invocation).
    const handler = await fx.coldHandler();
    const batch = (id: string) =>
      kinesis.kinesisEvent([kinesis.jsonRecord(kinesis.transaction(id))]);
    const context = kinesis.lambdaContext();
    // Act
    let first: EmittedMetric[];
    let second: EmittedMetric[];
    try {
      first = await emfOf(() => handler(batch('m-cold-1'), context));
      second = await emfOf(() => handler(batch('m-cold-2'), context));
    } finally {
      process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    }
    // Assess: the count, under the function's name, apart from the records it wrote.
    const coldStarts = (emitted: EmittedMetric[]) =>
      valuesOf(emitted, 'ColdStart', { function_name: context.functionName });
    expect(coldStarts(first)).toEqual([1]);
    expect(coldStarts(second)).toEqual([]);
    expect(emitted(first, 'ColdStart')).toHaveLength(1);
    expect(emitted(second, 'ColdStart')).toEqual([]);
    expect(sum(valuesOf(second, IngestMetric.RecordsWritten))).toBe(1);
  });

  it("prints every ingest metric template.yaml's alarms and dashboard read, under their namespace and dimensions", async () => {
    // Prepare
    const ingestNames = new Set<string>(Object.values(IngestMetric));
    const read = functionMetricReferences().filter((r) => ingestNames.has(r.name));
    // Act
    const emitted = await emfOf(() =>
      fx.handler(
        kinesis.kinesisEvent([kinesis.jsonRecord(kinesis.transaction('m-template'))]),
        kinesis.lambdaContext()
      )
    );
    // Assess
    expect(read.map((r) => r.name).sort()).toEqual([
      'IngestionLag',
      'RecordsDeadLettered',
      'RecordsRetried',
      'RecordsWritten',
    ]);
    const missing = read.filter((r) => !emitted.some((m) => matches(r, m)));
    expect(missing).toEqual([]);
  });
});

// calendar-fixed: test group without online TTL; the time is data.
/**
 * Fault injection: the configured shares are honoured, faults hit the runtime API only, and a
 * faulted request changes nothing in either store.
 */
import { DescribeFeatureGroupCommand } from '@aws-sdk/client-sagemaker';
import {
  BatchGetRecordCommand,
  GetRecordCommand,
  PutRecordCommand,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offlineRows } from '../helpers/offlineRows.ts';
import { createGroup, startTestStore, type TestStore } from '../helpers/store.ts';

let t: TestStore;

beforeAll(async () => {
  t = await startTestStore();
  await createGroup(t.sagemaker, 'faulty');
});

afterAll(async () => {
  await t?.close();
});

type Outcome = 'ok' | 'throttle' | '5xx' | 'drop' | 'other';

function classify(error: unknown): Outcome {
  const e = error as {
    name?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'ThrottlingException' && status === 429) return 'throttle';
  if (
    (e.name === 'InternalFailure' && status === 500) ||
    (e.name === 'ServiceUnavailable' && status === 503)
  ) {
    return '5xx';
  }
  if (status === undefined && /ECONNRESET|socket hang up|EPIPE/i.test(`${e.code} ${e.message}`))
    return 'drop';
  return 'other';
}

describe('fault injection', () => {
  it('honours the configured shares and a faulted request writes nothing', async () => {
    const total = 600;
    t.store.setFaults({ throttle: 0.2, serverError: 0.1, drop: 0.1, seed: 7 });
    const outcomes = new Map<string, Outcome>();
    let next = 0;
    const worker = async () => {
      while (next < total) {
        const id = `f${next++}`;
        try {
          await t.runtime.send(
            new PutRecordCommand({
              FeatureGroupName: 'faulty',
              Record: [
                { FeatureName: 'id', ValueAsString: id },
                { FeatureName: 'event_time', ValueAsString: '2024-01-01T00:00:00Z' },
              ],
            })
          );
          outcomes.set(id, 'ok');
        } catch (error) {
          outcomes.set(id, classify(error));
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    t.store.setFaults({});
    const count = (o: Outcome) => [...outcomes.values()].filter((v) => v === o).length / total;
    expect(count('other')).toBe(0);
    expect(count('throttle')).toBeCloseTo(0.2, 1);
    expect(count('5xx')).toBeCloseTo(0.1, 1);
    expect(count('drop')).toBeCloseTo(0.1, 1);
    expect(count('ok')).toBeCloseTo(0.6, 1);
    expect(Math.abs(count('throttle') - 0.2)).toBeLessThan(0.05);
    expect(Math.abs(count('drop') - 0.1)).toBeLessThan(0.05);

    const ids = [...outcomes.keys()];
    const online = new Set<string>();
    for (let i = 0; i < ids.length; i += 100) {
      const out = await t.runtime.send(
        new BatchGetRecordCommand({
          Identifiers: [
            { FeatureGroupName: 'faulty', RecordIdentifiersValueAsString: ids.slice(i, i + 100) },
          ],
        })
      );
      for (const r of out.Records ?? []) online.add(r.RecordIdentifierValueAsString ?? '');
    }
    const succeeded = new Set(ids.filter((id) => outcomes.get(id) === 'ok'));
    expect(online).toEqual(succeeded);
    await t.store.flush();
    const offline = (await offlineRows(t.store.offlineDataPath('faulty'))).map((r) => String(r.id));
    expect(offline).toHaveLength(succeeded.size);
    expect(new Set(offline)).toEqual(succeeded);
  });

  it('never touches the control plane', async () => {
    t.store.setFaults({ throttle: 1 });
    try {
      await createGroup(t.sagemaker, 'made-during-faults');
      const d = await t.sagemaker.send(
        new DescribeFeatureGroupCommand({ FeatureGroupName: 'made-during-faults' })
      );
      expect(d.FeatureGroupStatus).toBe('Created');
      const e = await t.runtime
        .send(
          new GetRecordCommand({
            FeatureGroupName: 'made-during-faults',
            RecordIdentifierValueAsString: 'x',
          })
        )
        .catch((error: unknown) => error);
      expect(classify(e)).toBe('throttle');
      expect((e as Error).message).toMatch(/Rate exceeded/);
    } finally {
      t.store.setFaults({});
    }
  });

  it('adds latency', async () => {
    t.store.setFaults({ latencyMs: 120 });
    try {
      const started = performance.now();
      await t.runtime.send(
        new GetRecordCommand({ FeatureGroupName: 'faulty', RecordIdentifierValueAsString: 'x' })
      );
      expect(performance.now() - started).toBeGreaterThanOrEqual(115);
    } finally {
      t.store.setFaults({});
    }
  });

  it('answers throttling so that the SDK retries it with its default policy', async () => {
    t.store.setFaults({ throttle: 0.5, seed: 1 });
    const { SageMakerFeatureStoreRuntimeClient } = await import(
      '@aws-sdk/client-sagemaker-featurestore-runtime'
    );
    const retrying = new SageMakerFeatureStoreRuntimeClient({
      endpoint: t.store.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 10,
    });
    try {
      let retried = false;
      for (let i = 0; i < 10 && !retried; i++) {
        const out = await retrying.send(
          new GetRecordCommand({ FeatureGroupName: 'faulty', RecordIdentifierValueAsString: 'f0' })
        );
        retried = (out.$metadata.attempts ?? 1) > 1;
      }
      expect(retried).toBe(true);
    } finally {
      retrying.destroy();
      t.store.setFaults({});
    }
  });
});

describe('BatchWriteRecord entry faults', () => {
  it('answers the configured shares of entries as throttled or unprocessed and writes none of them', async () => {
    const { BatchWriteRecordCommand } = await import(
      '@aws-sdk/client-sagemaker-featurestore-runtime'
    );
    t.store.setFaults({ entryThrottle: 0.25, entryUnprocessed: 0.25, seed: 3 });
    const throttled: string[] = [];
    const unprocessed: string[] = [];
    const sent: string[] = [];
    try {
      for (let call = 0; call < 24; call++) {
        const entries = Array.from({ length: 25 }, (_, k) => {
          const id = `e${call}-${k}`;
          sent.push(id);
          return {
            FeatureGroupName: 'faulty',
            Record: [
              { FeatureName: 'id', ValueAsString: id },
              { FeatureName: 'event_time', ValueAsString: '2024-01-01T00:00:00Z' },
            ],
          };
        });
        const out = await t.runtime.send(new BatchWriteRecordCommand({ Entries: entries }));
        const idOf = (e: { Record?: { ValueAsString?: string }[] } | undefined) =>
          e?.Record?.[0]?.ValueAsString ?? '';
        for (const e of out.Errors ?? []) {
          expect(e.ErrorCode).toBe('ThrottlingException');
          throttled.push(idOf(e.Entry));
        }
        for (const e of out.UnprocessedEntries ?? []) unprocessed.push(idOf(e));
      }
    } finally {
      t.store.setFaults({});
    }
    expect(throttled.length / sent.length).toBeCloseTo(0.25, 1);
    expect(unprocessed.length / sent.length).toBeCloseTo(0.25, 1);
    for (const id of [...throttled.slice(0, 10), ...unprocessed.slice(0, 10)]) {
      const got = await t.runtime.send(
        new GetRecordCommand({ FeatureGroupName: 'faulty', RecordIdentifierValueAsString: id })
      );
      expect(got.Record).toBeUndefined();
    }
    const written = sent.find((id) => !throttled.includes(id) && !unprocessed.includes(id));
    const got = await t.runtime.send(
      new GetRecordCommand({ FeatureGroupName: 'faulty', RecordIdentifierValueAsString: written })
    );
    expect(got.Record).toBeDefined();
  });
});

describe('BatchGetRecord identifier faults', () => {
  it('answers the configured share of identifiers in UnprocessedIdentifiers, the others as read', async () => {
    // Prepare: 1,000 written records, read in ten calls of 100 with a feature subset.
    const ids = Array.from({ length: 1000 }, (_, i) => `u${i}`);
    for (let i = 0; i < ids.length; i += 100) {
      await Promise.all(
        ids.slice(i, i + 100).map((id) =>
          t.runtime.send(
            new PutRecordCommand({
              FeatureGroupName: 'faulty',
              Record: [
                { FeatureName: 'id', ValueAsString: id },
                { FeatureName: 'event_time', ValueAsString: '2024-01-01T00:00:00Z' },
              ],
            })
          )
        )
      );
    }
    t.store.setFaults({ identifierUnprocessed: 0.3, seed: 5 });
    const read: string[] = [];
    const unprocessed: string[] = [];
    try {
      for (let i = 0; i < ids.length; i += 100) {
        // Act
        const out = await t.runtime.send(
          new BatchGetRecordCommand({
            Identifiers: [
              {
                FeatureGroupName: 'faulty',
                RecordIdentifiersValueAsString: ids.slice(i, i + 100),
                FeatureNames: ['id'],
              },
            ],
          })
        );
        // Assess: an unprocessed identifier comes back as the request named it, to be retried.
        for (const r of out.Records ?? []) read.push(r.RecordIdentifierValueAsString ?? '');
        for (const u of out.UnprocessedIdentifiers ?? []) {
          expect(u).toMatchObject({ FeatureGroupName: 'faulty', FeatureNames: ['id'] });
          unprocessed.push(...(u.RecordIdentifiersValueAsString ?? []));
        }
        expect(out.Errors).toEqual([]);
      }
    } finally {
      t.store.setFaults({});
    }
    expect(unprocessed.length / ids.length).toBeCloseTo(0.3, 1);
    expect([...read, ...unprocessed].sort()).toEqual([...ids].sort());
  });
});

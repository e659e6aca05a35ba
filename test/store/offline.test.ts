// calendar-fixed: test groups without online TTL; event times are partition data.
/**
 * The offline store: Parquet files in the service's key layout, read back by DuckDB with hive
 * partitioning, typed as the service types them; flushed on demand, on an interval and at
 * shutdown; never losing or duplicating a row when a flush is interrupted.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  BatchWriteRecordCommand,
  DeleteRecordCommand,
  type FeatureValue,
  PutRecordCommand,
  type SageMakerFeatureStoreRuntimeClient,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { offlineColumnTypes, offlineRows } from '../helpers/offlineRows.ts';
import { createGroup, startTestStore, type TestStore } from '../helpers/store.ts';

const stores: TestStore[] = [];

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

async function start(options: Parameters<typeof startTestStore>[0] = {}, dir?: string) {
  const s = await startTestStore(options, dir);
  stores.push(s);
  return s;
}

function record(fields: Record<string, string>): FeatureValue[] {
  return Object.entries(fields).map(([FeatureName, ValueAsString]) => ({
    FeatureName,
    ValueAsString,
  }));
}

function put(
  client: SageMakerFeatureStoreRuntimeClient,
  group: string,
  fields: Record<string, string>
) {
  return client.send(new PutRecordCommand({ FeatureGroupName: group, Record: record(fields) }));
}

function parquetFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.parquet'))
    .sort();
}

describe('offline store layout and schema', () => {
  it('writes hourly hive partitions by event time with typed columns', async () => {
    const t = await start();
    await createGroup(t.sagemaker, 'typed', {
      amount: 'Integral',
      price: 'Fractional',
      note: 'String',
    });
    const before = Date.now();
    await put(t.runtime, 'typed', {
      id: 'a',
      event_time: '2024-02-29T23:59:59.999Z',
      amount: '-5',
      price: '1.25',
      note: 'x',
    });
    await put(t.runtime, 'typed', {
      id: 'b',
      event_time: '2024-03-01T00:00:00Z',
      amount: '9223372036854775807',
    });
    await put(t.runtime, 'typed', { id: 'c', event_time: '2024-03-01T00:30:00Z', price: '-0.5e3' });
    await t.runtime.send(
      new DeleteRecordCommand({
        FeatureGroupName: 'typed',
        RecordIdentifierValueAsString: 'a',
        EventTime: '2024-03-01T00:45:00Z',
      })
    );
    await t.store.flush();
    const dataPath = t.store.offlineDataPath('typed') ?? '';
    expect(dataPath).toMatch(
      new RegExp(
        `^${t.dataDir}/offline-store/000000000000/sagemaker/us-east-1/offline-store/typed-\\d{10}/data$`
      )
    );
    const files = parquetFiles(dataPath);
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(
      /^year=2024\/month=02\/day=29\/hour=23\/20240229T235959Z_[A-Za-z0-9]{16}\.parquet$/
    );
    expect(files[1]).toMatch(
      /^year=2024\/month=03\/day=01\/hour=00\/20240301T004500Z_[A-Za-z0-9]{16}\.parquet$/
    );

    expect(await offlineColumnTypes(dataPath)).toEqual({
      id: 'VARCHAR',
      event_time: 'VARCHAR',
      amount: 'BIGINT',
      price: 'DOUBLE',
      note: 'VARCHAR',
      write_time: 'TIMESTAMP',
      api_invocation_time: 'TIMESTAMP',
      is_deleted: 'BOOLEAN',
      year: 'BIGINT',
      month: 'VARCHAR',
      day: 'VARCHAR',
      hour: 'VARCHAR',
    });
    const rows = await offlineRows(dataPath);
    expect(rows.map(({ write_time: _w, api_invocation_time: _a, ...rest }) => rest)).toEqual([
      {
        id: 'a',
        event_time: '2024-02-29T23:59:59.999Z',
        amount: -5n,
        price: 1.25,
        note: 'x',
        is_deleted: false,
        year: 2024n,
        month: '02',
        day: '29',
        hour: '23',
      },
      {
        id: 'b',
        event_time: '2024-03-01T00:00:00Z',
        amount: 9223372036854775807n,
        price: null,
        note: null,
        is_deleted: false,
        year: 2024n,
        month: '03',
        day: '01',
        hour: '00',
      },
      {
        id: 'c',
        event_time: '2024-03-01T00:30:00Z',
        amount: null,
        price: -500,
        note: null,
        is_deleted: false,
        year: 2024n,
        month: '03',
        day: '01',
        hour: '00',
      },
      {
        id: 'a',
        event_time: '2024-03-01T00:45:00Z',
        amount: null,
        price: null,
        note: null,
        is_deleted: true,
        year: 2024n,
        month: '03',
        day: '01',
        hour: '00',
      },
    ]);
    const apiTimes = rows.map((r) => (r.api_invocation_time as Date).getTime());
    expect([...apiTimes].sort((x, y) => x - y)).toEqual(apiTimes);
    for (const r of rows) {
      const api = (r.api_invocation_time as Date).getTime();
      const written = (r.write_time as Date).getTime();
      expect(api).toBeGreaterThanOrEqual(before - 5);
      expect(written).toBeGreaterThanOrEqual(api);
    }
  });

  it('keeps a Fractional event time as DOUBLE and partitions it by UTC hour', async () => {
    const t = await start();
    await t.sagemaker.send(
      new (await import('@aws-sdk/client-sagemaker')).CreateFeatureGroupCommand({
        FeatureGroupName: 'fractional',
        RecordIdentifierFeatureName: 'id',
        EventTimeFeatureName: 'ts',
        FeatureDefinitions: [
          { FeatureName: 'id', FeatureType: 'Fractional' },
          { FeatureName: 'ts', FeatureType: 'Fractional' },
        ],
        OfflineStoreConfig: { S3StorageConfig: { S3Uri: 's3://bucket/prefix' } },
      })
    );
    await put(t.runtime, 'fractional', { id: '10.0', ts: '1767225600.5' });
    await t.store.flush();
    const dataPath = t.store.offlineDataPath('fractional') ?? '';
    expect(parquetFiles(dataPath)[0]).toMatch(
      /^year=2026\/month=01\/day=01\/hour=00\/20260101T000000Z_/
    );
    const types = await offlineColumnTypes(dataPath);
    expect(types.id).toBe('DOUBLE');
    expect(types.ts).toBe('DOUBLE');
    expect((await offlineRows(dataPath)).map((r) => [r.id, r.ts])).toEqual([[10, 1767225600.5]]);
  });

  it('partitions event times before 1970 by their UTC hour (floored, not truncated toward 1970)', async () => {
    // Prepare
    const t = await start();
    await createGroup(t.sagemaker, 'early');
    // Act
    await put(t.runtime, 'early', { id: 'e1', event_time: '1969-12-31T23:30:00Z' });
    await put(t.runtime, 'early', { id: 'e2', event_time: '1969-12-31T22:59:59Z' });
    await t.store.flush();
    // Assess
    const dataPath = t.store.offlineDataPath('early') ?? '';
    const files = parquetFiles(dataPath);
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^year=1969\/month=12\/day=31\/hour=22\/19691231T225959Z_/);
    expect(files[1]).toMatch(/^year=1969\/month=12\/day=31\/hour=23\/19691231T233000Z_/);
  });
});

describe('offline flushing', () => {
  it('flushes on its interval without being asked', async () => {
    const t = await start({ flushIntervalMs: 50 });
    await createGroup(t.sagemaker, 'interval');
    await put(t.runtime, 'interval', { id: 'i', event_time: '2024-01-01T00:00:00Z' });
    const dataPath = t.store.offlineDataPath('interval') ?? '';
    // The first interval flush starts a worker thread: 0.65-0.86 s under load here, so the wait
    // is bounded well past that (it ends as soon as the file is there).
    const deadline = Date.now() + 30_000;
    while (parquetFiles(dataPath).length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await offlineRows(dataPath)).map((r) => r.id)).toEqual(['i']);
  });

  it('flushes at shutdown', async () => {
    const t = await start();
    await createGroup(t.sagemaker, 'shutdown');
    await put(t.runtime, 'shutdown', { id: 's', event_time: '2024-01-01T00:00:00Z' });
    const dataPath = t.store.offlineDataPath('shutdown') ?? '';
    expect(parquetFiles(dataPath)).toEqual([]);
    await t.store.close();
    expect((await offlineRows(dataPath)).map((r) => r.id)).toEqual(['s']);
  });

  it('flushes more rows than one batch claims (batches overlap) with every row exactly once', {
    timeout: 60_000,
  }, async () => {
    // Prepare: 45,000 offline rows (a batch claims 20,000) over three hours.
    const t = await start();
    await createGroup(t.sagemaker, 'many');
    const ROWS = 45_000;
    const hour = 3_600_000;
    const start0 = Math.floor((Date.now() - 10 * hour) / hour) * hour;
    const calls = Array.from({ length: ROWS / 25 }, (_, c) =>
      Array.from({ length: 25 }, (_, k) => {
        const i = c * 25 + k;
        return {
          FeatureGroupName: 'many',
          Record: record({
            id: `m${i}`,
            event_time: new Date(start0 + (i % 3) * hour + i).toISOString(),
          }),
          TargetStores: ['OfflineStore' as const],
        };
      })
    );
    for (let c = 0; c < calls.length; c += 20) {
      const outs = await Promise.all(
        calls
          .slice(c, c + 20)
          .map((Entries) => t.runtime.send(new BatchWriteRecordCommand({ Entries })))
      );
      expect(outs.every((o) => (o.Errors ?? []).length === 0)).toBe(true);
    }
    // Act
    await t.store.flush();
    // Assess: three batches, each with a file per hour.
    const dataPath = t.store.offlineDataPath('many') ?? '';
    expect(parquetFiles(dataPath)).toHaveLength(9);
    const ids = (await offlineRows(dataPath)).map((r) => String(r.id));
    expect(ids).toHaveLength(ROWS);
    expect(new Set(ids).size).toBe(ROWS);
    // Nothing is left to flush: a second flush writes no file.
    await t.store.flush();
    expect(parquetFiles(dataPath)).toHaveLength(9);
  });

  it('flushes journal rows of an earlier version (stored records, FeatureValue arrays) at the next start', async () => {
    // Prepare: a row journalled in the current format, then, with the store stopped, a row as an
    // earlier version journalled it (the stored record itself) in the same data dir.
    const t = await start();
    await createGroup(t.sagemaker, 'upgraded', { amount: 'Integral' });
    await t.runtime.send(
      new PutRecordCommand({
        FeatureGroupName: 'upgraded',
        Record: record({ id: 'now', event_time: '2024-01-01T00:00:00Z', amount: '1' }),
        TargetStores: ['OfflineStore'],
      })
    );
    const dataPath = t.store.offlineDataPath('upgraded') ?? '';
    await t.store.close();
    const db = new DatabaseSync(join(t.dataDir, 'store.sqlite'));
    const { id: tid } = db.prepare('SELECT id FROM offline_tables').get() as { id: number };
    const pending = db.prepare('SELECT count(*) AS n FROM journal').get() as { n: number };
    db.prepare(
      'INSERT INTO journal (tid, et_s, et_ns, api_us, del, rec) VALUES (?, ?, ?, ?, ?, ?)'
    ).run(
      tid,
      Date.UTC(2024, 0, 1, 0, 30) / 1000,
      0,
      Date.UTC(2024, 0, 1, 0, 30) * 1000,
      0,
      JSON.stringify([
        { FeatureName: 'id', ValueAsString: 'before' },
        { FeatureName: 'event_time', ValueAsString: '2024-01-01T00:30:00Z' },
        { FeatureName: 'amount', ValueAsString: '2' },
      ])
    );
    db.close();
    // Act: the start replays the journal.
    await start({}, t.dataDir);
    // Assess: close() flushed the first row already; the earlier version's row is read alike.
    expect(pending.n).toBe(0);
    const rows = await offlineRows(dataPath);
    expect(rows.map((r) => [r.id, r.event_time, r.amount]).sort()).toEqual([
      ['before', '2024-01-01T00:30:00Z', 2n],
      ['now', '2024-01-01T00:00:00Z', 1n],
    ]);
  });

  it('never loses or duplicates rows when a flush dies between file and journal (replayed at start)', async () => {
    let crashes = 0;
    const t = await start({
      hooks: {
        afterOfflineFile: () => {
          crashes++;
          throw new Error('simulated crash after rename');
        },
      },
    });
    await createGroup(t.sagemaker, 'crashy');
    const ids = Array.from({ length: 30 }, (_, i) => `r${i}`);
    for (const [i, id] of ids.entries()) {
      // Three hours → three files in one batch.
      await put(t.runtime, 'crashy', { id, event_time: `2024-01-01T0${i % 3}:00:00Z` });
    }
    await expect(t.store.flush()).rejects.toThrow(/simulated crash/);
    const dataPath = t.store.offlineDataPath('crashy') ?? '';
    // The batch's three files are written together; each one "crashed" after its rename.
    expect(crashes).toBe(3);
    const files = parquetFiles(dataPath);
    expect(files).toHaveLength(3);
    // As if the process had died before the last rename: that file is missing.
    rmSync(join(dataPath, files[2] as string));
    // close() replays the open batch: it writes the missing file only ("crashing" once more)
    // and leaves the journal as it was.
    await t.store.close();
    expect(crashes).toBe(4);
    expect(parquetFiles(dataPath)).toHaveLength(3);
    const again = await start({}, t.dataDir);
    expect(parquetFiles(dataPath)).toHaveLength(3);
    const rows = await offlineRows(dataPath);
    expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(relative(again.dataDir, dataPath)).toMatch(/^offline-store\//);
  });
});

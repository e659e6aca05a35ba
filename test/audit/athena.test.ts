// calendar-fixed: audit SQL text with an injected "now".
/**
 * The Athena path of the audit, with `aws-sdk-client-mock`: every statement is started in the
 * work group, polled until it succeeds, and its paginated results parsed; failures surface in the
 * report. The mocked Athena answers each statement by running the very same text on DuckDB over
 * the same Parquet, rendered the way Athena renders results (all text, header row, doubles as
 * `10.0`), so the two paths must produce the same report and send the same SQL.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type ResultSet,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OnlineSide } from '../../shared/audit/online.ts';
import { runAudit } from '../../shared/audit/runAudit.ts';
import type { AuditOptions, AuditReport } from '../../shared/audit/types.ts';
import { AthenaEngine } from '../../shared/offline/athena.ts';
import { createDuckDbEngine, type DuckDbEngine } from '../../shared/offline/duckdb.ts';
import type { QueryResult, SqlValue } from '../../shared/offline/engine.ts';
import { fromRecord } from '../../shared/record/codec.ts';
import type { OnlineRecord } from '../../shared/store/onlineReader.ts';
import { DEFAULT_CREATION_EPOCH, writeOfflineRows } from '../helpers/offlineFixtures.ts';
import { account, accounts, iso } from './fixtures.ts';

const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const MINUTE = 60_000;
const TABLE = `${accounts.name}-${DEFAULT_CREATION_EPOCH}`;
const OPTIONS: AuditOptions = { marginSeconds: 60 };

/** An online side answering from a fixed set of records (no ListRecords scan in these tests). */
function fixedOnline(records: Record<string, Record<string, string>>): OnlineSide {
  return {
    read: async (group, ids) => ({
      found: ids.flatMap((id): OnlineRecord[] => {
        const values = records[id];
        if (values === undefined) return [];
        const wire = Object.entries(values).map(([FeatureName, ValueAsString]) => ({
          FeatureName,
          ValueAsString,
        }));
        return [{ group, recordId: id, values: fromRecord(group, wire) }];
      }),
      unread: [],
    }),
    list: async () => ({ recordIds: [] }),
  };
}

const online = fixedOnline({
  'acc-1': account('acc-1', NOW - 10 * MINUTE),
  'acc-3': account('acc-3', NOW - 12 * MINUTE, '55'),
});

/** A DuckDB value as Athena renders it in GetQueryResults (text; doubles keep a `.0`). */
function athenaText(value: SqlValue | undefined, type: string): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Date) return value.toISOString().replace('T', ' ').replace('Z', '');
  if (type === 'double' && typeof value === 'number' && Number.isInteger(value)) {
    return `${value}.0`;
  }
  return String(value);
}

/** A DuckDB result as Athena's paginated ResultSets (header row on the first page). */
function athenaPages(result: QueryResult, pageSize: number): ResultSet[] {
  const columnInfo = result.columns.map((c) => ({
    Name: c.name,
    Label: c.name,
    Type: c.type === 'hugeint' ? 'bigint' : c.type,
  }));
  const header = { Data: result.columns.map((c) => ({ VarCharValue: c.name })) };
  const rows = result.rows.map((row) => ({
    Data: result.columns.map((c) => ({ VarCharValue: athenaText(row[c.name], c.type) })),
  }));
  const all = [header, ...rows];
  const pages: ResultSet[] = [];
  for (let i = 0; i < all.length || i === 0; i += pageSize) {
    pages.push({
      Rows: all.slice(i, i + pageSize),
      ResultSetMetadata: { ColumnInfo: columnInfo },
    });
  }
  return pages;
}

describe('Class: AthenaEngine in the audit', () => {
  const athena = mockClient(AthenaClient);
  let dataDir: string;
  let duck: DuckDbEngine;
  const duckStatements: string[] = [];

  beforeAll(async () => {
    // Prepare: offline rows of five accounts, written in the store's layout.
    dataDir = mkdtempSync(join(tmpdir(), 'skewless-audit-athena-'));
    const row = (
      values: Record<string, string | number | bigint>,
      atMs: number,
      deleted = false
    ) => ({
      values,
      writeTime: new Date(atMs + MINUTE),
      apiInvocationTime: new Date(atMs),
      isDeleted: deleted,
    });
    const at = (minutes: number) => NOW - minutes * MINUTE;
    const values = (id: string, minutes: number, balance = 10) => ({
      account_id: id,
      event_time: iso(at(minutes)),
      balance,
      txn_count: 3n,
      segment: 'retail',
    });
    await writeOfflineRows({
      dataDir,
      group: accounts,
      rows: [
        row(values('acc-1', 30, 9), at(30)),
        row(values('acc-1', 10), at(10)),
        row(values('acc-2', 20), at(20)),
        row(values('acc-3', 12), at(12)),
        row({ account_id: 'acc-4', event_time: iso(at(40)) }, at(40), true),
        row(values('acc-5', 180), at(180)),
      ],
    });
    duck = await createDuckDbEngine({
      dataDir,
      threads: 1,
      onStatement: (sql) => duckStatements.push(sql),
    });
  });

  afterEach(() => {
    athena.reset();
  });

  afterAll(async () => {
    await duck.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Mocks Athena: each started statement runs on DuckDB; two polls before it succeeds. */
  function mockAthenaOverDuckDb(pageSize: number): void {
    const results = new Map<string, Promise<ResultSet[]>>();
    const polls = new Map<string, number>();
    athena.on(StartQueryExecutionCommand).callsFake(async (input) => {
      const id = `q-${results.size + 1}`;
      results.set(
        id,
        duck.queryAll(input.QueryString).then((r) => athenaPages(r, pageSize))
      );
      return { QueryExecutionId: id };
    });
    athena.on(GetQueryExecutionCommand).callsFake(async (input) => {
      const id = input.QueryExecutionId as string;
      const n = (polls.get(id) ?? 0) + 1;
      polls.set(id, n);
      const State = n === 1 ? 'QUEUED' : n === 2 ? 'RUNNING' : 'SUCCEEDED';
      return { QueryExecution: { QueryExecutionId: id, Status: { State } } };
    });
    athena.on(GetQueryResultsCommand).callsFake(async (input) => {
      const pages = await (results.get(input.QueryExecutionId as string) as Promise<ResultSet[]>);
      const index = input.NextToken === undefined ? 0 : Number(input.NextToken);
      return {
        ResultSet: pages[index],
        NextToken: index + 1 < pages.length ? String(index + 1) : undefined,
      };
    });
  }

  function athenaEngine(): AthenaEngine {
    return new AthenaEngine({
      client: new AthenaClient({ region: 'us-east-1' }),
      workGroup: 'skewless-audit',
      tables: { [accounts.name]: TABLE },
      poll: { initialMs: 1, maxMs: 2 },
      pageSize: 2,
    });
  }

  async function auditWithDuckDb(options: AuditOptions): Promise<AuditReport> {
    duckStatements.length = 0;
    return runAudit(
      [accounts],
      { engine: duck, online, now: () => NOW, offlineComplete: true },
      options
    );
  }

  it('produces the same report as DuckDB from paginated, polled results', async () => {
    // Prepare
    mockAthenaOverDuckDb(2);
    const expected = await auditWithDuckDb(OPTIONS);
    // Act
    const report = await runAudit(
      [accounts],
      { engine: athenaEngine(), online, now: () => NOW, offlineComplete: true },
      OPTIONS
    );
    // Assess
    const { durationMs: _a, engine: athenaName, ...fromAthena } = report;
    const { durationMs: _b, engine: duckName, ...fromDuck } = expected;
    expect(athenaName).toBe('athena');
    expect(duckName).toBe('duckdb');
    expect(fromAthena).toEqual(fromDuck);
    const group = report.groups[0];
    expect(group?.coherence.mismatches).toMatchObject({ onlineOlder: 0, valueMismatch: 1 });
    expect(group?.coherence.total).toBe(1);
    expect(group?.coherence.examples.valueMismatch[0]?.features).toEqual([
      { name: 'balance', offline: '10', online: '55' },
    ]);
    // acc-2 and acc-5 were written offline only (history, as a backfill writes it).
    expect(group?.coherence.expectedAbsent).toEqual({ deleted: 1, expired: 0, offlineOnly: 2 });
    expect(group?.staleness.examples.map((e) => e.recordId)).toEqual(['acc-5']);
    // Polled until SUCCEEDED (QUEUED, RUNNING, SUCCEEDED) and read in pages of two rows.
    const started = athena.commandCalls(StartQueryExecutionCommand);
    expect(athena.commandCalls(GetQueryExecutionCommand)).toHaveLength(started.length * 3);
    const latestRows = athena
      .commandCalls(GetQueryResultsCommand)
      .filter((c) => c.args[0].input.QueryExecutionId === 'q-3');
    // Header + five latest rows, two rows a page.
    expect(latestRows).toHaveLength(3);
  });

  it.each([
    { description: 'a full pass', options: OPTIONS },
    { description: 'a sample', options: { ...OPTIONS, sampleSize: 2 } },
  ])('sends Athena the same SQL text DuckDB runs, for $description', async ({ options }) => {
    // Prepare
    mockAthenaOverDuckDb(1000);
    await auditWithDuckDb(options);
    const auditSql = duckStatements.filter((s) => s.includes('WITH ranked AS'));
    // Act
    await runAudit(
      [accounts],
      { engine: athenaEngine(), online, now: () => NOW, offlineComplete: true },
      options
    );
    // Assess
    const sent = athena.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input);
    expect(sent.map((input) => input.QueryString)).toEqual(auditSql);
    expect(auditSql.length).toBeGreaterThanOrEqual(3);
    for (const input of sent) {
      expect(input.WorkGroup).toBe('skewless-audit');
      expect(input.QueryString).toContain(`"sagemaker_featurestore"."${TABLE}"`);
    }
  });

  it('surfaces a failed query as a failed group with Athena’s reason', async () => {
    // Prepare
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-failed' });
    athena.on(GetQueryExecutionCommand).resolves({
      QueryExecution: {
        QueryExecutionId: 'q-failed',
        Status: {
          State: 'FAILED',
          AthenaError: { ErrorMessage: "TABLE_NOT_FOUND: line 7:8: Table 'x' does not exist" },
        },
      },
    });
    // Act
    const report = await runAudit(
      [accounts],
      { engine: athenaEngine(), online, now: () => NOW, offlineComplete: true },
      OPTIONS
    );
    // Assess
    expect(report.totals.failedGroups).toBe(1);
    expect(report.groups[0]?.error).toBe(
      "OfflineQueryError: Athena query q-failed FAILED: TABLE_NOT_FOUND: line 7:8: Table 'x' does not exist"
    );
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
  });
});

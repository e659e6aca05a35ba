// calendar-fixed: offline history: no TTL offline, label times fixed against their own rows.
/**
 * One SQL text: the portable training-set query the Athena engine sends is byte for byte the
 * query DuckDB ran (and whose result the property tests checked against the oracle).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTrainingSet } from '../../shared/dataset/build.ts';
import { cards, fraudModelV3, merchants, transactions } from '../../shared/definitions.ts';
import { AthenaEngine } from '../../shared/offline/athena.ts';
import { createDuckDbEngine } from '../../shared/offline/duckdb.ts';
import { DEFAULT_CREATION_EPOCH, writeOfflineRows } from '../helpers/offlineFixtures.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const LABEL_COLUMNS = [
  ['label_no', 'integer'],
  ['transaction_id', 'varchar'],
  ['card_id', 'varchar'],
  ['merchant_id', 'varchar'],
  ['event_time', 'timestamp'],
  ['is_fraud', 'boolean'],
] as const;

async function duckDbRun(options: { asOfWriteTime: boolean }) {
  const dataDir = mkdtempSync(join(tmpdir(), 'skewless-shared-'));
  dirs.push(dataDir);
  const at = new Date('2026-01-05T10:00:00Z');
  for (const group of [transactions, cards, merchants]) {
    await writeOfflineRows({
      dataDir,
      group,
      rows: [
        {
          values: {
            [group.recordIdentifier]: 'x1',
            event_time: '2026-01-05T09:00:00.000Z',
          },
          writeTime: at,
          apiInvocationTime: at,
          isDeleted: false,
        },
      ],
    });
  }
  const statements: string[] = [];
  const engine = await createDuckDbEngine({ dataDir, onStatement: (s) => statements.push(s) });
  await engine.execute(
    `CREATE TABLE "labels_in" AS SELECT * FROM (VALUES (CAST(1 AS INTEGER), 'x1', 'x1', 'x1', TIMESTAMP '2026-01-05 10:00:00', false)) AS v(${LABEL_COLUMNS.map(([c]) => `"${c}"`).join(', ')})`
  );
  const summary = await buildTrainingSet({
    engine,
    labels: { table: '"labels_in"' },
    featureSet: fraudModelV3,
    labelTimeColumn: 'event_time',
    maxAge: 'schema',
    strictlyBefore: true,
    asOfWriteTime: options.asOfWriteTime,
    deleteRule: 'sdk',
    output: { path: join(dataDir, 'train.parquet') },
    strategy: 'portable',
  });
  await engine.close();
  return { summary, statements };
}

async function athenaRun(options: { asOfWriteTime: boolean }) {
  const athena = mockClient(AthenaClient);
  const sent = new Map<string, string>();
  athena.on(StartQueryExecutionCommand).callsFake((input: { QueryString: string }) => {
    const id = `q-${sent.size + 1}`;
    sent.set(id, input.QueryString);
    return { QueryExecutionId: id };
  });
  athena
    .on(GetQueryExecutionCommand)
    .resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' }, StatementType: 'DML' } });
  athena.on(GetQueryResultsCommand).callsFake((input: { QueryExecutionId: string }) => {
    const sql = sent.get(input.QueryExecutionId) ?? '';
    if (sql.includes('LIMIT 0')) {
      const info = LABEL_COLUMNS.map(([Name, Type]) => ({ Name, Label: Name, Type }));
      return {
        ResultSet: {
          ResultSetMetadata: { ColumnInfo: info },
          Rows: [{ Data: info.map((c) => ({ VarCharValue: c.Name })) }],
        },
      };
    }
    const names = ['rows', ...fraudModelV3.qualifiedFeatureNames.map((_f, i) => `c${i}`)];
    return {
      ResultSet: {
        ResultSetMetadata: {
          ColumnInfo: names.map((Name) => ({ Name, Label: Name, Type: 'bigint' })),
        },
        Rows: [
          { Data: names.map((n) => ({ VarCharValue: n })) },
          { Data: names.map(() => ({ VarCharValue: '1' })) },
        ],
      },
    };
  });
  const epoch = DEFAULT_CREATION_EPOCH;
  const engine = new AthenaEngine({
    client: new AthenaClient({ region: 'us-east-1' }),
    outputLocation: 's3://results/',
    poll: { initialMs: 1 },
    tables: {
      'fraud-transactions': `fraud-transactions-${epoch}`,
      'fraud-cards': `fraud-cards-${epoch}`,
      'fraud-merchants': `fraud-merchants-${epoch}`,
    },
  });
  const summary = await buildTrainingSet({
    engine,
    labels: { table: '"labels_in"' },
    featureSet: fraudModelV3,
    labelTimeColumn: 'event_time',
    maxAge: 'schema',
    strictlyBefore: true,
    asOfWriteTime: options.asOfWriteTime,
    deleteRule: 'sdk',
    output: { path: 's3://bucket/train/' },
  });
  athena.restore();
  return { summary, statements: [...sent.values()] };
}

describe('one SQL text on DuckDB and Athena', () => {
  for (const asOfWriteTime of [false, true]) {
    it(`sends Athena the query DuckDB ran (asOfWriteTime ${asOfWriteTime})`, async () => {
      const duck = await duckDbRun({ asOfWriteTime });
      const cloud = await athenaRun({ asOfWriteTime });
      expect(cloud.summary.strategy).toBe('portable');
      expect(cloud.summary.sql).toBe(duck.summary.sql);
      // The describe of the labels is the same statement too.
      const describeLabels = 'SELECT * FROM (SELECT * FROM "labels_in") AS "q" LIMIT 0';
      expect(duck.statements).toContain(describeLabels);
      expect(cloud.statements[0]).toBe(describeLabels);
      // DuckDB stored the result of that text; Athena unloaded and summarised it.
      expect(duck.statements).toContain(
        `CREATE TEMP TABLE "skewless_relation_1" AS ${duck.summary.sql}`
      );
      expect(cloud.statements[1]).toMatch(/^UNLOAD \(SELECT .* FROM \(/);
      expect(cloud.statements[1]).toContain(`FROM (${duck.summary.sql}) AS "r"`);
      expect(cloud.statements[1]).toMatch(/TO 's3:\/\/bucket\/train\/' WITH \(format = 'PARQUET'/);
      expect(cloud.statements[2]).toContain(`FROM (${duck.summary.sql}) AS "r"`);
      // No DuckDB-only syntax in the shared text.
      expect(duck.summary.sql).not.toMatch(/ASOF|QUALIFY|IGNORE NULLS|::|read_parquet|EXCLUDE/);
      expect(duck.summary.rows).toBe(1);
      expect(cloud.summary.rows).toBe(1);
    });
  }
});

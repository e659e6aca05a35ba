// calendar-fixed: Athena SQL text and mocked results of fixed instants.
import 'aws-sdk-client-mock-vitest/extend';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type GetQueryResultsOutput,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { DescribeFeatureGroupCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { cards } from '../../shared/definitions.ts';
import { AthenaEngine, parseAthenaValue } from '../../shared/offline/athena.ts';
import { OfflineQueryError } from '../../shared/offline/errors.ts';

const athena = mockClient(AthenaClient);

function engine(extra: Partial<ConstructorParameters<typeof AthenaEngine>[0]> = {}): AthenaEngine {
  return new AthenaEngine({
    client: new AthenaClient({ region: 'us-east-1' }),
    workGroup: 'ml',
    outputLocation: 's3://results/athena/',
    poll: { initialMs: 1, maxMs: 2 },
    ...extra,
  });
}

const column = (Name: string, Type: string) => ({ Name, Label: Name, Type });
const row = (...cells: (string | undefined)[]) => ({
  Data: cells.map((VarCharValue) => (VarCharValue === undefined ? {} : { VarCharValue })),
});

beforeEach(() => {
  athena.reset();
});

describe('AthenaEngine', () => {
  it('starts the query, polls QUEUED → RUNNING → SUCCEEDED and parses paginated typed rows', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce({ QueryExecution: { QueryExecutionId: 'q-1', Status: { State: 'QUEUED' } } })
      .resolvesOnce({ QueryExecution: { QueryExecutionId: 'q-1', Status: { State: 'RUNNING' } } })
      .resolves({
        QueryExecution: {
          QueryExecutionId: 'q-1',
          Status: { State: 'SUCCEEDED' },
          StatementType: 'DML',
        },
      });
    const columns = [
      column('card_id', 'varchar'),
      column('n', 'bigint'),
      column('amount', 'double'),
      column('flag', 'boolean'),
      column('at', 'timestamp'),
      column('day', 'date'),
      column('small', 'integer'),
    ];
    const first: GetQueryResultsOutput = {
      ResultSet: {
        ResultSetMetadata: { ColumnInfo: columns },
        Rows: [
          row('card_id', 'n', 'amount', 'flag', 'at', 'day', 'small'),
          row(
            'c1',
            '9007199254740993',
            '1.5',
            'true',
            '2026-01-02 03:04:05.123',
            '2026-01-02',
            '7'
          ),
        ],
      },
      NextToken: 'page-2',
    };
    const second: GetQueryResultsOutput = {
      ResultSet: {
        ResultSetMetadata: { ColumnInfo: columns },
        Rows: [row('c2', undefined, undefined, 'false', undefined, undefined, undefined)],
      },
    };
    athena
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-1', NextToken: undefined })
      .resolves(first)
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-1', NextToken: 'page-2' })
      .resolves(second);

    const states: string[] = [];
    const result = await engine().queryAll('SELECT 1', {
      onProgress: (p) => states.push(p.state),
    });

    expect(athena).toHaveReceivedCommandWith(StartQueryExecutionCommand, {
      QueryString: 'SELECT 1',
      WorkGroup: 'ml',
      ResultConfiguration: { OutputLocation: 's3://results/athena/' },
      QueryExecutionContext: { Catalog: 'AwsDataCatalog', Database: 'sagemaker_featurestore' },
    });
    expect(athena).toHaveReceivedCommandTimes(GetQueryExecutionCommand, 3);
    expect(athena).toHaveReceivedCommandTimes(GetQueryResultsCommand, 2);
    expect(states).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
    expect(result.columns.map((c) => c.type)).toEqual([
      'varchar',
      'bigint',
      'double',
      'boolean',
      'timestamp',
      'date',
      'integer',
    ]);
    expect(result.rows).toEqual([
      {
        card_id: 'c1',
        n: 9007199254740993n,
        amount: 1.5,
        flag: true,
        at: new Date('2026-01-02T03:04:05.123Z'),
        day: new Date('2026-01-02T00:00:00Z'),
        small: 7,
      },
      { card_id: 'c2', n: null, amount: null, flag: false, at: null, day: null, small: null },
    ]);
  });

  it('surfaces FAILED with Athena’s reason and the query id', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-2' });
    athena.on(GetQueryExecutionCommand).resolves({
      QueryExecution: {
        QueryExecutionId: 'q-2',
        Status: {
          State: 'FAILED',
          StateChangeReason: 'line 1:8: Column x cannot be resolved',
          AthenaError: { ErrorMessage: 'COLUMN_NOT_FOUND: line 1:8: Column x cannot be resolved' },
        },
      },
    });
    const error = await engine()
      .execute('SELECT x')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OfflineQueryError);
    expect(error).toMatchObject({
      engine: 'athena',
      state: 'FAILED',
      queryExecutionId: 'q-2',
      message: expect.stringContaining('COLUMN_NOT_FOUND: line 1:8: Column x cannot be resolved'),
    });
    expect(athena).not.toHaveReceivedCommand(GetQueryResultsCommand);
  });

  it('surfaces CANCELLED with its reason', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-3' });
    athena.on(GetQueryExecutionCommand).resolves({
      QueryExecution: {
        Status: { State: 'CANCELLED', StateChangeReason: 'Query cancelled by user' },
      },
    });
    await expect(engine().execute('SELECT 1')).rejects.toMatchObject({
      state: 'CANCELLED',
      message: expect.stringContaining('Query cancelled by user'),
    });
  });

  it('stops the query execution when aborted while polling', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-4' });
    athena
      .on(GetQueryExecutionCommand)
      .resolves({ QueryExecution: { Status: { State: 'RUNNING' } } });
    athena.on(StopQueryExecutionCommand).resolves({});
    const controller = new AbortController();
    const running = engine({ poll: { initialMs: 20, maxMs: 20 } }).execute('SELECT 1', {
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error('user pressed ^C')), 30);
    await expect(running).rejects.toMatchObject({ state: 'CANCELLED', queryExecutionId: 'q-4' });
    expect(athena).toHaveReceivedCommandWith(StopQueryExecutionCommand, {
      QueryExecutionId: 'q-4',
    });
  });

  it('cancels a query aborted before the first call without starting it', async () => {
    const reason = new Error('user pressed ^C');
    const error = await engine()
      .execute('SELECT 1', { signal: AbortSignal.abort(reason) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OfflineQueryError);
    expect(error).toMatchObject({ engine: 'athena', state: 'CANCELLED', cause: reason });
    expect(athena).not.toHaveReceivedCommand(StartQueryExecutionCommand);
  });

  it('stops a query aborted while it was being started', async () => {
    const controller = new AbortController();
    athena.on(StartQueryExecutionCommand).callsFake(() => {
      controller.abort();
      return { QueryExecutionId: 'q-7' };
    });
    athena
      .on(GetQueryExecutionCommand)
      .resolves({ QueryExecution: { Status: { State: 'RUNNING' } } });
    athena.on(StopQueryExecutionCommand).resolves({});
    const error = await engine({ timeoutMs: 500 })
      .execute('SELECT 1', { signal: controller.signal })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OfflineQueryError);
    expect(error).toMatchObject({ state: 'CANCELLED', queryExecutionId: 'q-7' });
    expect(athena).toHaveReceivedCommandWith(StopQueryExecutionCommand, {
      QueryExecutionId: 'q-7',
    });
  });

  it('cancels a query aborted between result pages and during a page request', async () => {
    const columns = [column('n', 'bigint')];
    const page = (n: string, NextToken?: string): GetQueryResultsOutput => ({
      ResultSet: { ResultSetMetadata: { ColumnInfo: columns }, Rows: [row(n)] },
      NextToken,
    });
    const succeeded = () => {
      athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-8' });
      athena
        .on(GetQueryExecutionCommand)
        .resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
    };

    // Between pages: the reader aborts after the first page.
    succeeded();
    athena
      .on(GetQueryResultsCommand, { NextToken: undefined })
      .resolves(page('1', 'page-2'))
      .on(GetQueryResultsCommand, { NextToken: 'page-2' })
      .resolves(page('2'));
    const between = new AbortController();
    const seen: unknown[] = [];
    const readAll = async (signal: AbortSignal, onPage: () => void): Promise<void> => {
      for await (const p of engine().query('SELECT n', { signal })) {
        seen.push(...p.rows.map((r) => r.n));
        onPage();
      }
    };
    const betweenError = await readAll(between.signal, () => between.abort()).catch(
      (e: unknown) => e
    );
    expect(betweenError).toBeInstanceOf(OfflineQueryError);
    expect(betweenError).toMatchObject({ state: 'CANCELLED', queryExecutionId: 'q-8' });
    expect(seen).toEqual([1n]);
    expect(athena).toHaveReceivedCommandTimes(GetQueryResultsCommand, 1);

    // During a page request: the SDK rejects the request it aborted with an AbortError.
    athena.reset();
    succeeded();
    const during = new AbortController();
    athena.on(GetQueryResultsCommand).callsFake(() => {
      during.abort();
      throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    });
    const duringError = await readAll(during.signal, () => {}).catch((e: unknown) => e);
    expect(duringError).toBeInstanceOf(OfflineQueryError);
    expect(duringError).toMatchObject({ state: 'CANCELLED', queryExecutionId: 'q-8' });
  });

  it('stops and fails a query that runs past its timeout', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-5' });
    athena
      .on(GetQueryExecutionCommand)
      .resolves({ QueryExecution: { Status: { State: 'RUNNING' } } });
    athena.on(StopQueryExecutionCommand).resolves({});
    await expect(engine({ timeoutMs: 5 }).execute('SELECT 1')).rejects.toMatchObject({
      state: 'TIMEOUT',
    });
    expect(athena).toHaveReceivedCommandWith(StopQueryExecutionCommand, {
      QueryExecutionId: 'q-5',
    });
  });

  it('sends parameters as SQL literals and UNLOADs exports to S3', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-6' });
    athena
      .on(GetQueryExecutionCommand)
      .resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
    const e = engine();
    await e.execute('SELECT ? AS a, ? AS b, ? AS c, ? AS d, ? AS e', {
      params: ["it's", 42n, 1.5, true, new Date('2026-01-02T03:04:05.006Z')],
    });
    expect(athena).toHaveReceivedCommandWith(StartQueryExecutionCommand, {
      ExecutionParameters: [
        "'it''s'",
        '42',
        "DOUBLE '1.5'",
        'TRUE',
        "TIMESTAMP '2026-01-02 03:04:05.006'",
      ],
    });
    await e.exportQuery('SELECT 1 AS "x"', { path: 's3://bucket/train', format: 'parquet' });
    expect(athena).toHaveReceivedLastCommandWith(StartQueryExecutionCommand, {
      QueryString:
        "UNLOAD (SELECT 1 AS \"x\") TO 's3://bucket/train/' WITH (format = 'PARQUET', compression = 'SNAPPY')",
    });
  });

  it('names group tables from the map, a resolver, or DescribeFeatureGroup', async () => {
    expect(
      await engine({ tables: { 'fraud-cards': 'fraud-cards-1767225600' } }).tableFor(cards)
    ).toBe('"sagemaker_featurestore"."fraud-cards-1767225600"');
    expect(
      await engine({ tables: { 'fraud-cards': { database: 'ml', table: 'cards' } } }).tableFor(
        cards
      )
    ).toBe('"ml"."cards"');
    expect(
      await engine({
        resolveTable: (g) => Promise.resolve({ database: 'db', table: `${g.name}-1` }),
      }).tableFor(cards)
    ).toBe('"db"."fraud-cards-1"');
    await expect(engine().fileTable('labels.parquet', { format: 'parquet' })).rejects.toThrow(
      /Glue table/
    );
  });

  it('parses the cell types it meets', () => {
    expect(parseAthenaValue('2026-01-02 03:04:05.123 UTC', 'timestamp with time zone')).toEqual(
      new Date('2026-01-02T03:04:05.123Z')
    );
    expect(parseAthenaValue('2026-01-02 03:04:05.123456', 'timestamp')).toEqual(
      new Date('2026-01-02T03:04:05.123Z')
    );
    expect(parseAthenaValue('NaN', 'double')).toBeNaN();
    expect(parseAthenaValue('12.50', 'decimal')).toBe('12.50');
    expect(parseAthenaValue(undefined, 'varchar')).toBeNull();
  });
});

describe('AthenaEngine: a group table found by DescribeFeatureGroup', () => {
  it("asks SageMaker in the Athena client's region (dataset --region), not the environment's", async () => {
    // Prepare
    const sageMaker = mockClient(SageMakerClient);
    const regions: string[] = [];
    sageMaker.on(DescribeFeatureGroupCommand).callsFake(async (_input, getClient) => {
      regions.push(await getClient().config.region());
      return {
        OfflineStoreConfig: {
          S3StorageConfig: { S3Uri: 's3://offline/' },
          DataCatalogConfig: {
            Catalog: 'AwsDataCatalog',
            Database: 'sagemaker_featurestore',
            TableName: 'fraud-cards-1700000000',
          },
        },
      };
    });
    const inEurope = engine({ client: new AthenaClient({ region: 'eu-west-1' }) });
    try {
      // Act
      const table = await inEurope.tableFor(cards);
      // Assess
      expect(table).toBe('"sagemaker_featurestore"."fraud-cards-1700000000"');
      expect(regions).toEqual(['eu-west-1']);
    } finally {
      sageMaker.restore();
    }
  });
});

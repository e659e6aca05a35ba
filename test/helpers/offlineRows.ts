/**
 * Reads the store's offline Parquet files back with DuckDB, the way Athena would see them
 * (hive partitioning on year/month/day/hour).
 */
import { existsSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

type Row = Record<string, unknown>;

async function query(sql: string): Promise<Row[]> {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    const reader = await connection.runAndReadAll(sql);
    return reader.getRowObjectsJS() as Row[];
  } finally {
    connection.closeSync();
    db.closeSync();
  }
}

function source(dataPath: string): string {
  return `read_parquet('${dataPath}/**/*.parquet', hive_partitioning = true, union_by_name = true)`;
}

/** Every offline row of a group's `…/data` directory ([] when nothing was written yet). */
async function offlineRows(
  dataPath: string | undefined,
  orderBy = 'api_invocation_time'
): Promise<Row[]> {
  if (dataPath === undefined || !existsSync(dataPath)) return [];
  try {
    return await query(`SELECT * FROM ${source(dataPath)} ORDER BY ${orderBy}`);
  } catch (error) {
    if (String(error).includes('No files found')) return [];
    throw error;
  }
}

/** Column name → DuckDB type of the offline table. */
async function offlineColumnTypes(dataPath: string): Promise<Record<string, string>> {
  const rows = await query(`DESCRIBE SELECT * FROM ${source(dataPath)}`);
  return Object.fromEntries(rows.map((r) => [String(r.column_name), String(r.column_type)]));
}

export { offlineColumnTypes, offlineRows };

// calendar-fixed: offline history: no TTL offline, label times fixed against their own rows.
/**
 * Writes offline-store fixtures exactly as the service and the embedded store lay them out:
 * `<dataDir>/offline-store/<account>/sagemaker/<region>/offline-store/<group>-<epoch>/data/
 * year=YYYY/month=MM/day=DD/hour=HH/*.parquet` (hourly partitions by event time, zero-padded),
 * every feature column typed from the schema plus `write_time`, `api_invocation_time` (TIMESTAMP)
 * and `is_deleted` (BOOLEAN). Each call adds new files, so a later batch may carry more columns
 * (a feature added by UpdateFeatureGroup).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  quoteIdent,
  quoteString,
  sqlTypeOf,
  timestampLiteral,
} from '../../shared/offline/dialect.ts';
import { DEFAULT_ACCOUNT, DEFAULT_REGION } from '../../shared/offline/layout.ts';
import type { FeatureGroup } from '../../shared/schema/index.ts';

type FixtureValue = string | number | bigint | null;

/** One offline row: feature values by name (event time as the group stores it) + service columns. */
interface FixtureRow {
  readonly values: Readonly<Record<string, FixtureValue>>;
  readonly writeTime: Date;
  readonly apiInvocationTime: Date;
  readonly isDeleted: boolean;
}

interface WriteOfflineOptions {
  readonly dataDir: string;
  readonly group: FeatureGroup;
  readonly rows: readonly FixtureRow[];
  /** Default 1767225600 (2026-01-01T00:00:00Z). */
  readonly creationEpochSeconds?: number;
  readonly account?: string;
  readonly region?: string;
  /** Only these features become columns (older files of a group that gained features later). */
  readonly features?: readonly string[];
}

const DEFAULT_CREATION_EPOCH = 1_767_225_600;

/** `<dataDir>/offline-store/<account>/sagemaker/<region>/offline-store/<group>-<epoch>/data`. */
function fixtureDataPath(options: Omit<WriteOfflineOptions, 'rows'>): string {
  return join(
    options.dataDir,
    'offline-store',
    options.account ?? DEFAULT_ACCOUNT,
    'sagemaker',
    options.region ?? DEFAULT_REGION,
    'offline-store',
    `${options.group.name}-${options.creationEpochSeconds ?? DEFAULT_CREATION_EPOCH}`,
    'data'
  );
}

function literalOf(value: FixtureValue, type: string): string {
  if (value === null) return `CAST(NULL AS ${type})`;
  if (typeof value === 'string') return quoteString(value);
  // Through text: a bare literal with many digits is a DECIMAL, and DECIMAL → DOUBLE can miss the
  // last bit (1.3646412903581119e-6 came back as 1.364641290358112e-6).
  if (type === 'DOUBLE') return `CAST(${quoteString(String(value))} AS DOUBLE)`;
  return `CAST(${String(value)} AS ${type})`;
}

function eventMillis(group: FeatureGroup, value: FixtureValue): number {
  const spec = group.features[group.eventTime];
  if (spec?.type === 'String') return Date.parse(String(value));
  return Number(value) * 1000;
}

function partitionOf(ms: number): [string, string, string, string] {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return [p(d.getUTCFullYear(), 4), p(d.getUTCMonth() + 1), p(d.getUTCDate()), p(d.getUTCHours())];
}

let batch = 0;

/**
 * Writes rows into the offline layout with DuckDB (`COPY … PARTITION_BY`), adding files beside
 * any already there. Returns the group's `data` directory.
 *
 * @example
 * ```typescript
 * await writeOfflineRows({ dataDir, group: cards, rows: [{ values: { card_id: 'c1', event_time: '2026-01-02T03:04:05.123Z', txn_count_7d: 3n }, writeTime, apiInvocationTime, isDeleted: false }] });
 * ```
 */
async function writeOfflineRows(options: WriteOfflineOptions): Promise<string> {
  const { group, rows } = options;
  const dataPath = fixtureDataPath(options);
  mkdirSync(dataPath, { recursive: true });
  if (rows.length === 0) return dataPath;
  const features = options.features ?? group.featureNames;
  const types = features.map((f) => {
    const spec = group.features[f];
    if (spec === undefined) throw new Error(`group ${group.name} has no feature ${f}`);
    return sqlTypeOf(spec.type);
  });
  const tuples = rows.map((row) => {
    const cells = features.map((f, i) => literalOf(row.values[f] ?? null, types[i] as string));
    const [y, m, d, h] = partitionOf(eventMillis(group, row.values[group.eventTime] ?? null));
    cells.push(
      timestampLiteral(row.writeTime),
      timestampLiteral(row.apiInvocationTime),
      row.isDeleted ? 'TRUE' : 'FALSE',
      quoteString(y),
      quoteString(m),
      quoteString(d),
      quoteString(h)
    );
    return `(${cells.join(', ')})`;
  });
  const names = [
    ...features,
    'write_time',
    'api_invocation_time',
    'is_deleted',
    'year',
    'month',
    'day',
    'hour',
  ].map(quoteIdent);
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  try {
    batch += 1;
    await connection.run(
      `CREATE TABLE rows_ AS SELECT * FROM (VALUES ${tuples.join(', ')}) AS v(${names.join(', ')})`
    );
    await connection.run(
      `COPY rows_ TO ${quoteString(dataPath)} (FORMAT parquet, PARTITION_BY (year, month, day, hour), APPEND, FILENAME_PATTERN 'b${batch}_{uuid}')`
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return dataPath;
}

export type { FixtureRow, FixtureValue, WriteOfflineOptions };
export { DEFAULT_CREATION_EPOCH, fixtureDataPath, writeOfflineRows };

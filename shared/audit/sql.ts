/**
 * The audit's SQL over the offline store, one text for Athena (Trino) and DuckDB. Only constructs
 * both engines read alike are used: window functions, `CASE`, `max_by`, `random()` and the
 * shared vocabulary of `shared/offline/dialect.ts` (`from_iso8601_timestamp` / `from_unixtime`,
 * built into Trino, macros on DuckDB). Instants the audit compares with (the stale, TTL and
 * margin cut-offs) are computed in TypeScript and written as `TIMESTAMP` literals, so no interval
 * arithmetic differs between the dialects.
 *
 * The latest row per identifier is the first by event time DESC, then live rows before delete
 * markers (`is_deleted` ASC: a delete at the record's own event time does not apply, the record
 * stands), then `api_invocation_time` DESC, then `write_time` DESC — the order of the online store
 * and of the training-set SQL. A delete marker that is the latest row makes the identifier deleted.
 */
import {
  eventTimeExpression as offlineEventTime,
  quoteIdent,
  quoteString,
  timestampLiteral,
} from '../offline/dialect.ts';
import type { FeatureGroup } from '../schema/index.ts';

/** Aliases of the audit's CTEs; prefixed so they do not clash with a feature name in practice. */
const EVENT_TIME = 'skewless_audit_et';
const RANK = 'skewless_audit_rank';
/** The identifier's newest put (not delete marker): its event time as stored, and as a timestamp. */
const NEWEST_PUT = 'skewless_audit_put';
const NEWEST_PUT_AT = 'skewless_audit_put_et';

/** The event time of a row as a UTC timestamp (ISO text parsed, epoch seconds converted). */
function eventTimeExpression(group: FeatureGroup): string {
  const type = group.features[group.eventTime]?.type ?? 'String';
  return offlineEventTime(quoteIdent(group.eventTime), type);
}

/** An instant (epoch ms) as a timestamp literal comparable with {@link eventTimeExpression}. */
function instantLiteral(epochMs: number): string {
  return timestampLiteral(new Date(Math.floor(epochMs)));
}

/** Scalar features, in declared order: collections never reach the offline Parquet. */
function offlineFeatureNames(group: FeatureGroup): string[] {
  return group.featureNames.filter((name) => group.features[name]?.collection === undefined);
}

/**
 * `WITH … latest AS (…)`: one row per identifier, its latest state. `allFeatures` carries every
 * scalar feature (else only the identifier and event time, so Athena scans fewer columns);
 * `where` filters the raw rows before ranking (used to look up given identifiers).
 */
function latestRows(
  group: FeatureGroup,
  table: string,
  allFeatures: boolean,
  where?: string,
  withNewestPut = false
): string {
  const names = allFeatures
    ? offlineFeatureNames(group)
    : [group.recordIdentifier, group.eventTime];
  const columns = [...names.map(quoteIdent), '"is_deleted"'];
  const byIdentifier = `OVER (PARTITION BY ${quoteIdent(group.recordIdentifier)})`;
  const ifPut = (value: string) => `CASE WHEN NOT "is_deleted" THEN ${value} END`;
  return [
    'WITH ranked AS (',
    `  SELECT ${columns.join(', ')},`,
    `    ${eventTimeExpression(group)} AS ${EVENT_TIME},`,
    ...(withNewestPut
      ? [
          `    max_by(${ifPut(quoteIdent(group.eventTime))}, ${ifPut(eventTimeExpression(group))}) ${byIdentifier} AS ${NEWEST_PUT},`,
          `    max(${ifPut(eventTimeExpression(group))}) ${byIdentifier} AS ${NEWEST_PUT_AT},`,
        ]
      : []),
    `    row_number() OVER (PARTITION BY ${quoteIdent(group.recordIdentifier)} ORDER BY ${eventTimeExpression(group)} DESC, "is_deleted" ASC, "api_invocation_time" DESC, "write_time" DESC) AS ${RANK}`,
    `  FROM ${table}`,
    ...(where === undefined ? [] : [`  WHERE ${where}`]),
    '),',
    `latest AS (SELECT * FROM ranked WHERE ${RANK} = 1)`,
  ].join('\n');
}

/** Instants (epoch ms) the summary counts against. */
interface SummaryCutoffs {
  /** Live rows older than this are stale (now − maxAge); undefined when the group has no maxAge. */
  readonly staleBefore?: number;
  /** Live rows at or before this are past their TTL (now − ttl); undefined without a TTL. */
  readonly expiredAtOrBefore?: number;
  /** Live rows after `expiredAtOrBefore` and at or before this expire soon (now + horizon − ttl). */
  readonly expiringAtOrBefore?: number;
}

/** Columns of the summary row. */
const SummaryColumn = {
  identifiers: 'identifiers',
  deleted: 'deleted',
  stale: 'stale',
  expiredOffline: 'expired_offline',
  expiringSoon: 'expiring_soon',
  newestEventTime: 'newest_event_time',
} as const;

function countWhen(condition: string | undefined, alias: string): string {
  return condition === undefined
    ? `0 AS ${alias}`
    : `sum(CASE WHEN ${condition} THEN 1 ELSE 0 END) AS ${alias}`;
}

/**
 * One row of counts over the latest rows: identifiers, deleted, stale, past TTL, expiring soon,
 * and the newest event time (as stored) of a put. Delete markers do not count for freshness: the
 * deleted records the store appends when a TTL expires carry recent event times (their
 * `ExpiresAt`), so a stream stopped a day ago would read as fresh for as long as records from a
 * TTL earlier kept expiring.
 */
function summarySql(group: FeatureGroup, table: string, cutoffs: SummaryCutoffs): string {
  const live = 'NOT "is_deleted"';
  const at = instantLiteral;
  const stale =
    cutoffs.staleBefore === undefined
      ? undefined
      : `${live} AND ${EVENT_TIME} < ${at(cutoffs.staleBefore)}`;
  const expired =
    cutoffs.expiredAtOrBefore === undefined
      ? undefined
      : `${live} AND ${EVENT_TIME} <= ${at(cutoffs.expiredAtOrBefore)}`;
  const expiring =
    cutoffs.expiredAtOrBefore === undefined || cutoffs.expiringAtOrBefore === undefined
      ? undefined
      : `${live} AND ${EVENT_TIME} > ${at(cutoffs.expiredAtOrBefore)} AND ${EVENT_TIME} <= ${at(cutoffs.expiringAtOrBefore)}`;
  return [
    latestRows(group, table, false, undefined, true),
    'SELECT',
    `  count(*) AS ${SummaryColumn.identifiers},`,
    `  ${countWhen('"is_deleted"', SummaryColumn.deleted)},`,
    `  ${countWhen(stale, SummaryColumn.stale)},`,
    `  ${countWhen(expired, SummaryColumn.expiredOffline)},`,
    `  ${countWhen(expiring, SummaryColumn.expiringSoon)},`,
    `  max_by(${NEWEST_PUT}, ${NEWEST_PUT_AT}) AS ${SummaryColumn.newestEventTime}`,
    'FROM latest',
  ].join('\n');
}

/** The `limit` oldest live identifiers older than `staleBefore`: columns `record_id`, `event_time`. */
function staleExamplesSql(
  group: FeatureGroup,
  table: string,
  staleBefore: number,
  limit: number
): string {
  return [
    latestRows(group, table, false),
    `SELECT ${quoteIdent(group.recordIdentifier)} AS record_id, ${quoteIdent(group.eventTime)} AS event_time`,
    'FROM latest',
    `WHERE NOT "is_deleted" AND ${EVENT_TIME} < ${instantLiteral(staleBefore)}`,
    `ORDER BY ${EVENT_TIME} ASC, ${quoteIdent(group.recordIdentifier)} ASC`,
    `LIMIT ${limit}`,
  ].join('\n');
}

/**
 * The latest row of every identifier (scalar features and `is_deleted`), or, with a sample size,
 * a uniform random sample of them.
 */
function latestRowsSql(
  group: FeatureGroup,
  table: string,
  sample?: { readonly size: number }
): string {
  const select = `SELECT ${[...offlineFeatureNames(group).map(quoteIdent), '"is_deleted"'].join(', ')}`;
  if (sample === undefined)
    return [latestRows(group, table, true), select, 'FROM latest'].join('\n');
  return [
    latestRows(group, table, true),
    select,
    'FROM latest',
    'ORDER BY random()',
    `LIMIT ${sample.size}`,
  ].join('\n');
}

/** The latest row of each of the given identifiers that has any offline row. */
function latestRowsOfSql(group: FeatureGroup, table: string, recordIds: readonly string[]): string {
  const select = `SELECT ${[...offlineFeatureNames(group).map(quoteIdent), '"is_deleted"'].join(', ')}`;
  const where = `${quoteIdent(group.recordIdentifier)} IN (${recordIds.map(quoteString).join(', ')})`;
  return [latestRows(group, table, true, where), select, 'FROM latest'].join('\n');
}

export type { SummaryCutoffs };
export {
  latestRowsOfSql,
  latestRowsSql,
  offlineFeatureNames,
  SummaryColumn,
  staleExamplesSql,
  summarySql,
};

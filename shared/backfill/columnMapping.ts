import type { FeatureGroup } from '../schema/index.ts';

/**
 * Column names → feature names through the schema module. An exact name wins; otherwise the
 * match ignores surrounding spaces and case, because offline (Glue/Hive) columns are
 * case-insensitive and warehouse exports often upper-case them (the schema module already
 * forbids features that differ only by case).
 */

/** Resolves a column name to the group's feature, or undefined when it is not one. */
type FeatureResolver = (column: string) => string | undefined;

/**
 * Builds the resolver of a group.
 *
 * @example
 * ```typescript
 * import { featureResolver } from './shared/backfill/columnMapping.ts';
 * import { cards } from './shared/definitions.ts';
 * featureResolver(cards)(' CARD_ID '); // 'card_id'
 * ```
 */
function featureResolver(group: FeatureGroup): FeatureResolver {
  const byLowerCase = new Map(group.featureNames.map((name) => [name.toLowerCase(), name]));
  return (column) => {
    if (Object.hasOwn(group.features, column)) return column;
    return byLowerCase.get(column.trim().toLowerCase());
  };
}

type ColumnMapping =
  | { readonly ok: true; readonly features: readonly string[] }
  | { readonly ok: false; readonly reason: string };

/**
 * Maps the columns of a file with a header (CSV) or a schema (Parquet). A column that is not a
 * feature fails the whole file rather than being dropped from every row: a misspelt column
 * would otherwise silently backfill nothing for that feature.
 *
 * @example
 * ```typescript
 * import { mapColumns } from './shared/backfill/columnMapping.ts';
 * import { cards } from './shared/definitions.ts';
 * mapColumns(cards, ['card_id', 'event_time', 'txn_count_7d']);
 * // { ok: true, features: ['card_id', 'event_time', 'txn_count_7d'] }
 * ```
 */
function mapColumns(group: FeatureGroup, columns: readonly string[]): ColumnMapping {
  const resolve = featureResolver(group);
  const features: string[] = [];
  const unknown: string[] = [];
  const seen = new Map<string, string>();
  const problems: string[] = [];
  for (const column of columns) {
    const feature = resolve(column);
    if (feature === undefined) {
      unknown.push(column);
      continue;
    }
    const earlier = seen.get(feature);
    if (earlier !== undefined) {
      problems.push(`columns "${earlier}" and "${column}" both map to feature ${feature}`);
    }
    seen.set(feature, column);
    features.push(feature);
  }
  if (unknown.length > 0) {
    problems.push(
      `column${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => JSON.stringify(c)).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not a feature of "${group.name}" (features: ${group.featureNames.join(', ')})${unknown.some((c) => c.trim() === '') ? '; a column without a name is often a pandas index: write the file with to_csv(..., index=False)' : ''}`
    );
  }
  for (const key of [group.recordIdentifier, group.eventTime]) {
    if (!seen.has(key))
      problems.push(
        `no column for ${key === group.recordIdentifier ? 'the record identifier' : 'the event time'} "${key}"`
      );
  }
  return problems.length > 0 ? { ok: false, reason: problems.join('; ') } : { ok: true, features };
}

type RenamedKeys =
  | { readonly ok: true; readonly values: Record<string, unknown> }
  | { readonly ok: false; readonly reason: string };

/**
 * Renames the keys of a JSON Lines object to feature names. Keys that are not features are
 * kept as they are, so the schema module reports them as unknown features of that row. Two keys
 * naming one feature (`card_id` and `CARD_ID`) make the row a reject: keeping either value
 * would silently drop the other.
 */
function renameKeys(values: Record<string, unknown>, resolve: FeatureResolver): RenamedKeys {
  let renamed: Record<string, unknown> | undefined;
  let keyOf: Map<string, string> | undefined;
  for (const key of Object.keys(values)) {
    const feature = resolve(key);
    if (feature === undefined) continue;
    keyOf ??= new Map();
    const earlier = keyOf.get(feature);
    if (earlier !== undefined) {
      return { ok: false, reason: `keys "${earlier}" and "${key}" both name feature ${feature}` };
    }
    keyOf.set(feature, key);
    if (feature !== key) {
      renamed ??= { ...values };
      delete renamed[key];
      renamed[feature] = values[key];
    }
  }
  return { ok: true, values: renamed ?? values };
}

/**
 * Parquet cells in the form the schema module takes: timestamps arrive as ISO text (see the
 * Parquet reader), a `Date` (DATE columns) and binary become text for String features.
 */
function normalizeCell(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return value;
}

/** A value as it can be written into a JSON rejects line (bigint and binary are not JSON). */
function jsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = jsonSafe(v);
    return out;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}

export type { ColumnMapping, FeatureResolver, RenamedKeys };
export { featureResolver, jsonSafe, mapColumns, normalizeCell, renameKeys };

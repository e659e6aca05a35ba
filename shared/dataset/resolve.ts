/**
 * Turns what a user names (a feature set, `group.feature` strings, max ages) into per-group
 * selections, checked against the schema module.
 */
import { UnknownNameError } from '../errors.ts';
import type { Duration, FeatureGroup, FeatureSet } from '../schema/index.ts';
import { durationSeconds } from '../schema/index.ts';

/** The features taken from one group, in output order. */
interface GroupSelection {
  readonly group: FeatureGroup;
  readonly features: readonly string[];
}

/**
 * Max age: one duration for every group, a duration per group name, or `'schema'` for the
 * feature set's `maxAge`, else each group's own `maxAge` (groups without one: unbounded).
 * A per-group map may say `'schema'` for single groups.
 */
type MaxAgeOption = 'schema' | Duration | Readonly<Record<string, Duration | 'schema'>>;

/**
 * Whether a max-age option is one duration (not a per-group map).
 *
 * @example
 * ```typescript
 * isDuration({ unit: 'Days', value: 2 }); // true
 * ```
 */
function isDuration(value: unknown): value is Duration {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Duration).unit === 'string' &&
    typeof (value as Duration).value === 'number'
  );
}

/**
 * Selections from a feature set or from `group.feature` names (grouped in first-seen order).
 *
 * @example
 * ```typescript
 * resolveSelections({ features: ['fraud-cards.txn_count_7d', 'fraud-merchants.mcc'] }, featureGroups);
 * ```
 * @throws UnknownNameError for an unknown group or feature
 */
function resolveSelections(
  source: { readonly featureSet?: FeatureSet; readonly features?: readonly string[] },
  groups: readonly FeatureGroup[]
): GroupSelection[] {
  if (source.featureSet !== undefined && source.features !== undefined) {
    throw new Error('give either a feature set or a list of features, not both');
  }
  if (source.featureSet !== undefined) {
    return source.featureSet.selections.map((s) => ({ group: s.group, features: [...s.features] }));
  }
  const names = source.features ?? [];
  if (names.length === 0) throw new Error('select at least one feature (group.feature)');
  const byName = new Map(groups.map((g) => [g.name, g]));
  const out = new Map<string, { group: FeatureGroup; features: string[] }>();
  for (const name of names) {
    // Group names have no dots; feature names neither: split at the first dot.
    const dot = name.indexOf('.');
    if (dot <= 0 || dot === name.length - 1) {
      throw new Error(`"${name}" is not group.feature`);
    }
    const groupName = name.slice(0, dot);
    const featureName = name.slice(dot + 1);
    const group = byName.get(groupName);
    if (group === undefined)
      throw new UnknownNameError('feature group', groupName, [...byName.keys()]);
    if (!Object.hasOwn(group.features, featureName)) {
      throw new UnknownNameError(
        'feature',
        name,
        group.featureNames.map((f) => `${group.name}.${f}`)
      );
    }
    const entry = out.get(groupName) ?? { group, features: [] };
    if (!entry.features.includes(featureName)) entry.features.push(featureName);
    out.set(groupName, entry);
  }
  return [...out.values()];
}

/**
 * Max age in seconds per group, from the option (undefined: no bound).
 *
 * @example
 * ```typescript
 * resolveMaxAgeSeconds('schema', cards, undefined); // 172800 (cards.maxAge = 2 days)
 * ```
 */
function resolveMaxAgeSeconds(
  option: MaxAgeOption | undefined,
  group: FeatureGroup,
  featureSet: FeatureSet | undefined
): number | undefined {
  if (option === undefined) return undefined;
  const fromSchema = (): number | undefined => {
    const d = featureSet?.maxAge ?? group.maxAge;
    return d === undefined ? undefined : durationSeconds(d);
  };
  if (option === 'schema') return fromSchema();
  if (isDuration(option)) return durationSeconds(option);
  const entry = option[group.name];
  if (entry === undefined) return undefined;
  return entry === 'schema' ? fromSchema() : durationSeconds(entry);
}

const UNIT_BY_SUFFIX = { s: 'Seconds', m: 'Minutes', h: 'Hours', d: 'Days', w: 'Weeks' } as const;

/**
 * Parses a duration like `90s`, `15m`, `12h`, `2d` or `1w`.
 *
 * @example
 * ```typescript
 * parseDuration('2d'); // { unit: 'Days', value: 2 }
 * ```
 */
function parseDuration(text: string): Duration {
  const m = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (m === null) throw new Error(`"${text}" is not a duration like 90s, 15m, 12h, 2d or 1w`);
  const value = Number(m[1]);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`"${text}": duration must be >= 1`);
  return { unit: UNIT_BY_SUFFIX[m[2] as keyof typeof UNIT_BY_SUFFIX], value };
}

/**
 * Parses the CLI's `--max-age`: `schema`, one duration (`2d`) or per group
 * (`fraud-cards=2d,fraud-transactions=schema`).
 *
 * @example
 * ```typescript
 * parseMaxAgeOption('fraud-cards=2d'); // { 'fraud-cards': { unit: 'Days', value: 2 } }
 * ```
 * @throws Error for text that is none of these
 */
function parseMaxAgeOption(text: string): MaxAgeOption {
  const trimmed = text.trim();
  if (trimmed === 'schema') return 'schema';
  if (!trimmed.includes('=')) return parseDuration(trimmed);
  const out: Record<string, Duration | 'schema'> = {};
  for (const part of trimmed.split(',')) {
    const [group, value] = part.split('=').map((s) => s.trim());
    if (!group || !value) throw new Error(`"${part}" is not group=duration`);
    out[group] = value === 'schema' ? 'schema' : parseDuration(value);
  }
  return out;
}

export type { GroupSelection, MaxAgeOption };
export { isDuration, parseDuration, parseMaxAgeOption, resolveMaxAgeSeconds, resolveSelections };

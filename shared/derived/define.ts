/**
 * Declaring derived features: `defineDerivedFeatures` binds expressions to features of a source
 * group, keyed by an entity, and checks every rule at definition time (import time of
 * `shared/definitions.ts`), listing all problems at once.
 */
import { DefinitionError } from '../errors.ts';
import { defineFeatureGroup, type FeatureGroup, feature } from '../schema/index.ts';
import { GROUP_NAME_PATTERN, Limits } from '../schema/limits.ts';
import type { Duration, FeatureSpec, Features } from '../schema/types.ts';
import {
  Aggregation,
  buildersFor,
  type DerivedBuilders,
  type DerivedOutputs,
  ExprKind,
  type ExprNode,
  formatExpr,
  type OnlyFeaturesOf,
  type ScalarFeatureName,
  type ValueType,
} from './expressions.ts';
import { formatWindow, type WindowSpec, windowNanos } from './window.ts';

/** Name of the String feature of a state group that holds the entity's state (compact JSON). */
const STATE_FEATURE = 'state';
/** Name of the event-time feature of a state group: the latest event time applied. */
const STATE_EVENT_TIME = 'event_time';
/**
 * Default budget of one entity's serialised state. The record limit is 350 KB; the rest is left for
 * the identifier, the event time and feature names.
 */
const DEFAULT_MAX_STATE_BYTES = 300 * 1024;
/** Room kept for the state record's other values when a budget is configured. */
const STATE_RECORD_OVERHEAD_BYTES = 4 * 1024;

/** A compiled expression: fields resolved to their slot in an event, windows to nanoseconds. */
type CompiledExpr =
  | {
      readonly kind: typeof ExprKind.Aggregation;
      readonly aggregation: Aggregation;
      /** Slot of the field in `DerivedEvent.values`; -1 for `count`. */
      readonly slot: number;
      readonly numeric: boolean;
      readonly windowNanos: bigint;
      readonly excludeCurrent: boolean;
    }
  | { readonly kind: typeof ExprKind.Field; readonly slot: number; readonly numeric: boolean }
  | {
      readonly kind: typeof ExprKind.Ratio | typeof ExprKind.Difference;
      readonly left: CompiledExpr;
      readonly right: CompiledExpr;
    };

/** One derived feature of the source group. */
interface DerivedOutput {
  /** The feature of the source group that receives the value. */
  readonly feature: string;
  /** Its declared type. */
  readonly featureType: ValueType;
  /** The expression as declared, and as text (`amount / mean(amount, 7d)`). */
  readonly node: ExprNode;
  readonly expression: string;
  readonly compiled: CompiledExpr;
}

/** A checked, frozen set of derived features of one source group. */
interface DerivedDefinition<G extends FeatureGroup = FeatureGroup> {
  readonly name: string;
  readonly description: string;
  /** The group whose records are the events, and which receives the derived values. */
  readonly source: G;
  /** The feature of the source group whose value keys the aggregations (e.g. `card_id`). */
  readonly entity: string;
  /** The online-only group holding one state record per entity. */
  readonly state: FeatureGroup;
  readonly outputs: readonly DerivedOutput[];
  /**
   * Features of the source group kept in the state for every event (every feature except the
   * record identifier, the event time, the entity and the derived outputs), so an event's record
   * can be rewritten whole when a late event changes its values.
   */
  readonly rawFeatures: readonly string[];
  /** The longest window of any aggregation. */
  readonly longestWindowNanos: bigint;
  /** How far behind the entity's latest event time an event may arrive and still be applied. */
  readonly allowedLatenessNanos: bigint;
  /** Budget of one entity's serialised state, in bytes; beyond it the oldest events are evicted. */
  readonly maxStateBytes: number;
}

interface DerivedFeaturesConfig<F extends Features, O> {
  /** Names the definition in logs, metrics and errors (letters, digits and dashes). */
  readonly name: string;
  readonly description?: string;
  /** The entity the windows are keyed by: a scalar String or Integral feature of the group. */
  readonly entity: ScalarFeatureName<F, 'String' | 'Integral'>;
  /** The state group, made with {@link defineDerivedStateGroup}; list it in `featureGroups`. */
  readonly state: FeatureGroup;
  /**
   * Events whose event time is older than the entity's latest event time minus this are too late:
   * written without derived values and not applied. Default: the longest window.
   */
  readonly allowedLateness?: WindowSpec;
  /** State budget per entity in bytes (default 300 KiB, at most 350 KB minus 4 KiB). */
  readonly maxStateBytes?: number;
  /** Feature name → expression, built with the typed builders. */
  readonly features: (f: DerivedBuilders<F>) => O & OnlyFeaturesOf<F, O>;
}

interface CheckContext {
  readonly group: FeatureGroup;
  readonly entity: string;
  readonly outputs: ReadonlySet<string>;
  readonly rawSlots: ReadonlyMap<string, number>;
  readonly problems: string[];
  windows: bigint[];
}

function scalarSpec(group: FeatureGroup, name: string): FeatureSpec | undefined {
  return Object.hasOwn(group.features, name) ? group.features[name] : undefined;
}

const NUMERIC_AGGREGATIONS: ReadonlySet<Aggregation> = new Set([
  Aggregation.Sum,
  Aggregation.Mean,
  Aggregation.Min,
  Aggregation.Max,
]);

/** Checks a field an expression reads; returns its slot, or undefined after a problem. */
function checkField(
  ctx: CheckContext,
  where: string,
  field: unknown,
  needsNumber: boolean
): { slot: number; numeric: boolean; type: ValueType } | undefined {
  const { group, problems } = ctx;
  if (typeof field !== 'string') {
    problems.push(`${where}: the field must be a feature name`);
    return undefined;
  }
  const spec = scalarSpec(group, field);
  if (spec === undefined) {
    problems.push(`${where}: "${field}" is not a feature of "${group.name}"`);
    return undefined;
  }
  if (spec.collection !== undefined) {
    problems.push(`${where}: "${field}" is a ${spec.collection}; only scalar features aggregate`);
    return undefined;
  }
  if (field === group.recordIdentifier || field === group.eventTime || field === ctx.entity) {
    problems.push(
      `${where}: "${field}" is the record identifier, event time or entity; aggregate another feature`
    );
    return undefined;
  }
  if (ctx.outputs.has(field)) {
    problems.push(
      `${where}: "${field}" is itself a derived output; derived values cannot feed derived values`
    );
    return undefined;
  }
  const numeric = spec.type === 'Integral' || spec.type === 'Fractional';
  if (needsNumber && !numeric) {
    problems.push(`${where}: "${field}" is ${spec.type}; this aggregation needs a numeric feature`);
    return undefined;
  }
  const slot = ctx.rawSlots.get(field);
  if (slot === undefined) throw new Error(`unreachable: no slot for ${field}`);
  return { slot, numeric, type: spec.type };
}

/** Checks and compiles a node; returns its result type, or undefined after a problem. */
function compileNode(
  ctx: CheckContext,
  where: string,
  node: unknown
): { compiled: CompiledExpr; type: ValueType } | undefined {
  const { problems } = ctx;
  if (typeof node !== 'object' || node === null || !('kind' in node)) {
    problems.push(`${where}: not an expression; build it with the builders passed to features`);
    return undefined;
  }
  const n = node as ExprNode;
  switch (n.kind) {
    case ExprKind.Aggregation: {
      const label = `${where}: ${n.aggregation}`;
      if (!Object.values(Aggregation).includes(n.aggregation)) {
        problems.push(`${where}: unknown aggregation "${n.aggregation}"`);
        return undefined;
      }
      const window = windowNanos(n.window);
      if (!window.ok) problems.push(`${label}: ${window.reason}`);
      let slot = -1;
      let numeric = false;
      let type: ValueType = 'Integral';
      if (n.aggregation !== Aggregation.Count) {
        const checked = checkField(ctx, label, n.field, NUMERIC_AGGREGATIONS.has(n.aggregation));
        if (checked === undefined) return undefined;
        ({ slot, numeric } = checked);
        if (n.aggregation === Aggregation.Mean) type = 'Fractional';
        else if (n.aggregation !== Aggregation.DistinctCount) type = checked.type;
      }
      if (!window.ok) return undefined;
      ctx.windows.push(window.nanos);
      return {
        compiled: {
          kind: ExprKind.Aggregation,
          aggregation: n.aggregation,
          slot,
          numeric,
          windowNanos: window.nanos,
          excludeCurrent: n.excludeCurrent === true,
        },
        type,
      };
    }
    case ExprKind.Field: {
      const checked = checkField(ctx, `${where}: value`, n.field, false);
      if (checked === undefined) return undefined;
      return {
        compiled: { kind: ExprKind.Field, slot: checked.slot, numeric: checked.numeric },
        type: checked.type,
      };
    }
    case ExprKind.Ratio:
    case ExprKind.Difference: {
      const left = compileNode(ctx, where, n.left);
      const right = compileNode(ctx, where, n.right);
      if (left === undefined || right === undefined) return undefined;
      for (const [side, operand] of [
        ['left', left],
        ['right', right],
      ] as const) {
        if (operand.type === 'String') {
          problems.push(`${where}: the ${side} operand of ${n.kind} is a String; use numbers`);
          return undefined;
        }
      }
      const type: ValueType =
        n.kind === ExprKind.Difference && left.type === 'Integral' && right.type === 'Integral'
          ? 'Integral'
          : 'Fractional';
      return { compiled: { kind: n.kind, left: left.compiled, right: right.compiled }, type };
    }
    default:
      problems.push(`${where}: unknown expression kind "${(n as { kind: unknown }).kind}"`);
      return undefined;
  }
}

function accepts(featureType: ValueType, resultType: ValueType): boolean {
  return featureType === resultType || (featureType === 'Fractional' && resultType === 'Integral');
}

function checkStateGroup(state: unknown, maxStateBytes: number, problems: string[]): void {
  if (typeof state !== 'object' || state === null || !('features' in state)) {
    problems.push('state must be a feature group made with defineDerivedStateGroup');
    return;
  }
  const group = state as FeatureGroup;
  if (group.online === undefined)
    problems.push(`state group "${group.name}" needs an online store`);
  if (group.offline !== undefined) {
    problems.push(
      `state group "${group.name}" must be online-only: an offline store would keep every state version`
    );
  }
  const spec = scalarSpec(group, STATE_FEATURE);
  if (spec === undefined || spec.type !== 'String' || spec.collection !== undefined) {
    problems.push(`state group "${group.name}" needs a scalar String feature "${STATE_FEATURE}"`);
  }
  const id = scalarSpec(group, group.recordIdentifier);
  if (id?.type !== 'String') {
    problems.push(`state group "${group.name}": its record identifier must be a String feature`);
  }
  if (
    !Number.isSafeInteger(maxStateBytes) ||
    maxStateBytes < 1024 ||
    maxStateBytes > Limits.maxRecordBytes - STATE_RECORD_OVERHEAD_BYTES
  ) {
    problems.push(
      `maxStateBytes must be an integer 1024-${Limits.maxRecordBytes - STATE_RECORD_OVERHEAD_BYTES} (got ${maxStateBytes})`
    );
  }
}

function ttlNanos(duration: Duration | undefined): bigint | undefined {
  if (duration === undefined) return undefined;
  const result = windowNanos(duration);
  return result.ok ? result.nanos : undefined;
}

/**
 * Declare derived features of a group: windowed aggregations of the group's own records (the
 * events), keyed by an entity, written into features the group declares. The same definition runs
 * online (ingest) and in backfill; see docs/derived-features.md for the exact semantics.
 *
 * Every derived output must be a declared scalar feature of the group whose type accepts the
 * expression's result (Integral widens to Fractional); a mistake is a compile error and, for
 * callers without the compiler, a {@link DefinitionError} listing every problem.
 *
 * @example
 * ```typescript
 * export const cardVelocities = defineDerivedFeatures(transactions, {
 *   name: 'card-velocities',
 *   entity: 'card_id',
 *   state: cardState,
 *   features: (f) => ({
 *     card_txn_count_60s: f.count('60s'),
 *     card_amount_sum_1h: f.sum('amount', '1h'),
 *     amount_to_avg_7d_ratio: f.ratio(f.value('amount'), f.mean('amount', '7d')),
 *   }),
 * });
 * ```
 *
 * @throws DefinitionError listing every problem found
 */
function defineDerivedFeatures<
  G extends FeatureGroup,
  const O extends DerivedOutputs<G['features']>,
>(group: G, config: DerivedFeaturesConfig<G['features'], O>): DerivedDefinition<G> {
  const name = String(config.name);
  const problems: string[] = [];
  if (!GROUP_NAME_PATTERN.test(name)) {
    problems.push(`name must be 1-64 letters, digits and dashes (${GROUP_NAME_PATTERN.source})`);
  }
  const entity = String(config.entity);
  const entitySpec = scalarSpec(group, entity);
  if (entitySpec === undefined) {
    problems.push(`entity "${entity}" is not a feature of "${group.name}"`);
  } else if (
    entitySpec.collection !== undefined ||
    (entitySpec.type !== 'String' && entitySpec.type !== 'Integral')
  ) {
    problems.push(`entity "${entity}" must be a scalar String or Integral feature`);
  } else if (entity === group.recordIdentifier || entity === group.eventTime) {
    problems.push(
      `entity "${entity}" is the record identifier or event time; key by another feature`
    );
  }
  const maxStateBytes = config.maxStateBytes ?? DEFAULT_MAX_STATE_BYTES;
  checkStateGroup(config.state, maxStateBytes, problems);

  let declared: Record<string, unknown> = {};
  try {
    const result = config.features(buildersFor(group.features)) as unknown;
    if (typeof result !== 'object' || result === null || Array.isArray(result)) {
      problems.push('features must return an object of feature name → expression');
    } else {
      declared = result as Record<string, unknown>;
    }
  } catch (error) {
    problems.push(`features threw: ${(error as Error).message}`);
  }
  const outputNames = Object.keys(declared);
  if (outputNames.length === 0 && problems.length === 0) {
    problems.push('declare at least one derived feature');
  }
  const outputs = new Set(outputNames);
  const rawFeatures = group.featureNames.filter(
    (f) => f !== group.recordIdentifier && f !== group.eventTime && f !== entity && !outputs.has(f)
  );
  const ctx: CheckContext = {
    group,
    entity,
    outputs,
    rawSlots: new Map(rawFeatures.map((f, i) => [f, i])),
    problems,
    windows: [],
  };
  const compiledOutputs: DerivedOutput[] = [];
  for (const feature of outputNames) {
    const where = `feature "${feature}"`;
    const spec = scalarSpec(group, feature);
    if (spec === undefined) {
      problems.push(`${where} is not declared in "${group.name}"; declare it in its features`);
      continue;
    }
    if (spec.collection !== undefined) {
      problems.push(`${where} is a ${spec.collection}; derived features are scalars`);
      continue;
    }
    if (feature === group.recordIdentifier || feature === group.eventTime || feature === entity) {
      problems.push(
        `${where} is the record identifier, event time or entity; it cannot be derived`
      );
      continue;
    }
    const expr = declared[feature] as { node?: unknown } | undefined;
    const compiled = compileNode(ctx, where, expr?.node);
    if (compiled === undefined) continue;
    if (!accepts(spec.type, compiled.type)) {
      problems.push(
        `${where} is ${spec.type} but ${formatExpr(expr?.node as ExprNode)} is ${compiled.type}`
      );
      continue;
    }
    compiledOutputs.push(
      Object.freeze({
        feature,
        featureType: spec.type,
        node: expr?.node as ExprNode,
        expression: formatExpr(expr?.node as ExprNode),
        compiled: compiled.compiled,
      })
    );
  }
  let longestWindowNanos = 0n;
  for (const window of ctx.windows) if (window > longestWindowNanos) longestWindowNanos = window;
  let allowedLatenessNanos = longestWindowNanos;
  if (config.allowedLateness !== undefined) {
    const lateness = windowNanos(config.allowedLateness);
    if (lateness.ok) allowedLatenessNanos = lateness.nanos;
    else problems.push(`allowedLateness: ${lateness.reason}`);
  }
  if (ctx.windows.length === 0 && outputNames.length > 0 && problems.length === 0) {
    problems.push('declare at least one windowed aggregation (only row-level values were given)');
  }
  const stateTtl = ttlNanos((config.state as FeatureGroup | undefined)?.online?.ttl);
  if (stateTtl !== undefined && stateTtl < longestWindowNanos + allowedLatenessNanos) {
    problems.push(
      `state group ttl must be at least the longest window plus the allowed lateness (${formatWindow(longestWindowNanos + allowedLatenessNanos)}), or the state expires while still needed`
    );
  }
  if (problems.length > 0) throw new DefinitionError(name, problems);
  return Object.freeze({
    name,
    description: config.description ?? '',
    source: group,
    entity,
    state: config.state,
    outputs: Object.freeze(compiledOutputs),
    rawFeatures: Object.freeze(rawFeatures),
    longestWindowNanos,
    allowedLatenessNanos,
    maxStateBytes,
  });
}

interface DerivedStateGroupConfig {
  readonly name: string;
  readonly description: string;
  /** Name of the record identifier, usually the entity's name (`card_id`). */
  readonly entity: string;
  /** Online TTL of a state record: at least the longest window plus the allowed lateness. */
  readonly ttl?: Duration;
}

/**
 * The online-only group holding derived-feature state: one record per entity with its latest
 * applied event time and its recent events as compact JSON (`state`). List it in `featureGroups`
 * so the template and the embedded store create it.
 *
 * @example
 * ```typescript
 * export const cardState = defineDerivedStateGroup({
 *   name: 'fraud-card-state',
 *   description: 'Recent payments per card (state of the derived card velocities)',
 *   entity: 'card_id',
 *   ttl: { unit: 'Days', value: 10 },
 * });
 * ```
 */
function defineDerivedStateGroup(config: DerivedStateGroupConfig): FeatureGroup {
  return defineFeatureGroup({
    name: config.name,
    description: config.description,
    recordIdentifier: config.entity,
    eventTime: STATE_EVENT_TIME,
    features: {
      [config.entity]: feature.string('Entity key of the derived-feature state'),
      [STATE_EVENT_TIME]: feature.string('Latest event time applied to the state (UTC)'),
      [STATE_FEATURE]: feature.string('Recent events of the entity, compact JSON (internal)'),
    },
    online: { ttl: config.ttl },
    // State is Skewless' own bookkeeping: never served by lookup nor written by backfill/batch.
    internal: true,
  }) as FeatureGroup;
}

/**
 * Checks a deployment's derived definitions together: at most one per source group (an event's
 * record is rewritten whole, so one state must know all its derived values), state groups unique
 * and listed among the feature groups.
 *
 * @throws DefinitionError listing every problem found
 */
function checkDerivedDefinitions(
  definitions: readonly DerivedDefinition[],
  groups: readonly FeatureGroup[]
): void {
  const problems: string[] = [];
  const sources = new Set<string>();
  const states = new Set<string>();
  const listed = new Set(groups.map((g) => g.name));
  for (const d of definitions) {
    if (sources.has(d.source.name)) {
      problems.push(`group "${d.source.name}" has two derived definitions; merge them into one`);
    }
    sources.add(d.source.name);
    if (states.has(d.state.name)) {
      problems.push(`state group "${d.state.name}" is used by two derived definitions`);
    }
    states.add(d.state.name);
    if (!listed.has(d.state.name)) {
      problems.push(`state group "${d.state.name}" of "${d.name}" is not listed in featureGroups`);
    }
    if (!listed.has(d.source.name)) {
      problems.push(
        `source group "${d.source.name}" of "${d.name}" is not listed in featureGroups`
      );
    }
  }
  if (problems.length > 0) throw new DefinitionError('derived features', problems);
}

export type {
  CompiledExpr,
  DerivedDefinition,
  DerivedFeaturesConfig,
  DerivedOutput,
  DerivedStateGroupConfig,
};
export {
  checkDerivedDefinitions,
  DEFAULT_MAX_STATE_BYTES,
  defineDerivedFeatures,
  defineDerivedStateGroup,
  STATE_EVENT_TIME,
  STATE_FEATURE,
};

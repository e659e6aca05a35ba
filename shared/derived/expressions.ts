/**
 * The vocabulary of derived features: windowed aggregations over an entity's events and simple
 * row-level arithmetic over them. Expressions are plain data (a small tree), so one definition can
 * be checked, printed, stored and evaluated the same way online and in backfill.
 */
import type { FeatureSpec, Features, FeatureType } from '../schema/types.ts';
import type { WindowSpec } from './window.ts';

/** The aggregations a derived feature can compute over a window. */
const Aggregation = {
  /** Events in the window. */
  Count: 'count',
  /** Sum of a numeric field (0 when no event in the window has the field). */
  Sum: 'sum',
  /** Arithmetic mean of a numeric field (absent when no event has it). */
  Mean: 'mean',
  /** Smallest value of a numeric field (absent when no event has it). */
  Min: 'min',
  /** Largest value of a numeric field (absent when no event has it). */
  Max: 'max',
  /** Distinct values of a scalar field (0 when no event has it). */
  DistinctCount: 'distinctCount',
  /** The field of the latest event in the window that has it (absent when none has it). */
  Last: 'last',
} as const;
type Aggregation = (typeof Aggregation)[keyof typeof Aggregation];

/** Kinds of expression nodes. */
const ExprKind = {
  Aggregation: 'aggregation',
  /** The event's own value of a field. */
  Field: 'field',
  /** left / right (absent when either is absent, or right is 0). */
  Ratio: 'ratio',
  /** left − right (absent when either is absent). */
  Difference: 'difference',
} as const;
type ExprKind = (typeof ExprKind)[keyof typeof ExprKind];

/** Scalar types a derived value can have (the feature types of the schema module). */
type ValueType = FeatureType;
type NumericType = 'Integral' | 'Fractional';

interface AggregationNode {
  readonly kind: typeof ExprKind.Aggregation;
  readonly aggregation: Aggregation;
  /** The aggregated field; undefined for `count`. */
  readonly field: string | undefined;
  readonly window: WindowSpec;
  /** Leave the event itself out of its own window (e.g. "payments before this one"). */
  readonly excludeCurrent: boolean;
}

interface FieldNode {
  readonly kind: typeof ExprKind.Field;
  readonly field: string;
}

interface ArithmeticNode {
  readonly kind: typeof ExprKind.Ratio | typeof ExprKind.Difference;
  readonly left: ExprNode;
  readonly right: ExprNode;
}

/** One node of an expression tree. */
type ExprNode = AggregationNode | FieldNode | ArithmeticNode;

/**
 * A typed expression: the tree and the scalar type of its result. The type parameter makes a
 * mismatch (a Fractional mean into an Integral feature) a compile error; the same check runs
 * again at definition time for callers without the compiler.
 */
interface Expr<T extends ValueType = ValueType> {
  readonly node: ExprNode;
  /** Undefined only when the expression names a field the group does not have. */
  readonly resultType: T;
}

interface AggregationOptions {
  /** Leave the event itself out of the window (default false: the event counts itself). */
  readonly excludeCurrent?: boolean;
}

/** Names of the group's scalar features whose type is one of `T`. */
type ScalarFeatureName<F extends Features, T extends ValueType = ValueType> = {
  [K in keyof F & string]: F[K]['collection'] extends undefined
    ? F[K]['type'] extends T
      ? K
      : never
    : never;
}[keyof F & string];

type NumericFeatureName<F extends Features> = ScalarFeatureName<F, NumericType>;

/** The builders a definition's `features` callback receives, typed to the source group. */
interface DerivedBuilders<F extends Features> {
  /** Events of the entity in the window. */
  count(window: WindowSpec, options?: AggregationOptions): Expr<'Integral'>;
  /** Sum of a numeric field over the window (Integral for an Integral field). */
  sum<K extends NumericFeatureName<F>>(
    field: K,
    window: WindowSpec,
    options?: AggregationOptions
  ): Expr<F[K]['type']>;
  /** Mean of a numeric field over the window. */
  mean<K extends NumericFeatureName<F>>(
    field: K,
    window: WindowSpec,
    options?: AggregationOptions
  ): Expr<'Fractional'>;
  /** Minimum of a numeric field over the window. */
  min<K extends NumericFeatureName<F>>(
    field: K,
    window: WindowSpec,
    options?: AggregationOptions
  ): Expr<F[K]['type']>;
  /** Maximum of a numeric field over the window. */
  max<K extends NumericFeatureName<F>>(
    field: K,
    window: WindowSpec,
    options?: AggregationOptions
  ): Expr<F[K]['type']>;
  /** Distinct values of a scalar field over the window. */
  distinctCount<K extends ScalarFeatureName<F>>(
    field: K,
    window: WindowSpec,
    options?: AggregationOptions
  ): Expr<'Integral'>;
  /** The field of the latest event (by event time, then event id) in the window that has it. */
  last<K extends ScalarFeatureName<F>>(
    field: K,
    window: WindowSpec,
    options?: AggregationOptions
  ): Expr<F[K]['type']>;
  /** The event's own value of a field (row level, no window). */
  value<K extends ScalarFeatureName<F>>(field: K): Expr<F[K]['type']>;
  /** `numerator / denominator`; absent when either is absent or the denominator is 0. */
  ratio(numerator: Expr<NumericType>, denominator: Expr<NumericType>): Expr<'Fractional'>;
  /** `left − right`; Integral when both are Integral. */
  difference<A extends NumericType, B extends NumericType>(
    left: Expr<A>,
    right: Expr<B>
  ): Expr<[A | B] extends ['Integral'] ? 'Integral' : 'Fractional'>;
}

/** The result types a feature of spec `S` accepts: Integral widens to Fractional, nothing else. */
type AcceptedType<S extends FeatureSpec> = S['collection'] extends undefined
  ? S['type'] extends 'Fractional'
    ? NumericType
    : S['type']
  : never;

/** What the `features` callback returns: feature name → expression, checked against the group. */
type DerivedOutputs<F extends Features> = {
  readonly [K in keyof F & string]?: Expr<AcceptedType<F[K]>>;
};

/** Turns a key the group does not have into a readable compile error. */
type OnlyFeaturesOf<F extends Features, O> = {
  [K in keyof O]: K extends keyof F ? O[K] : `"${K & string}" is not a feature of the source group`;
};

function fieldType(features: Features, field: string): ValueType {
  const spec = Object.hasOwn(features, field) ? features[field] : undefined;
  // An unknown field is reported by the definition check; the placeholder type never escapes it.
  return (spec?.type ?? 'Fractional') as ValueType;
}

/**
 * Builders bound to a group's features (the result types of `sum`, `min`, `max`, `last` and
 * `value` follow the field's type).
 */
function buildersFor<F extends Features>(features: F): DerivedBuilders<F> {
  const aggregation = (
    kind: Aggregation,
    field: string | undefined,
    window: WindowSpec,
    options: AggregationOptions | undefined,
    resultType: ValueType
  ): Expr => ({
    node: {
      kind: ExprKind.Aggregation,
      aggregation: kind,
      field,
      window,
      excludeCurrent: options?.excludeCurrent ?? false,
    },
    resultType,
  });
  const builders = {
    count: (window: WindowSpec, options?: AggregationOptions) =>
      aggregation(Aggregation.Count, undefined, window, options, 'Integral'),
    sum: (field: string, window: WindowSpec, options?: AggregationOptions) =>
      aggregation(Aggregation.Sum, field, window, options, fieldType(features, field)),
    mean: (field: string, window: WindowSpec, options?: AggregationOptions) =>
      aggregation(Aggregation.Mean, field, window, options, 'Fractional'),
    min: (field: string, window: WindowSpec, options?: AggregationOptions) =>
      aggregation(Aggregation.Min, field, window, options, fieldType(features, field)),
    max: (field: string, window: WindowSpec, options?: AggregationOptions) =>
      aggregation(Aggregation.Max, field, window, options, fieldType(features, field)),
    distinctCount: (field: string, window: WindowSpec, options?: AggregationOptions) =>
      aggregation(Aggregation.DistinctCount, field, window, options, 'Integral'),
    last: (field: string, window: WindowSpec, options?: AggregationOptions) =>
      aggregation(Aggregation.Last, field, window, options, fieldType(features, field)),
    value: (field: string): Expr => ({
      node: { kind: ExprKind.Field, field },
      resultType: fieldType(features, field),
    }),
    ratio: (numerator: Expr, denominator: Expr): Expr => ({
      node: { kind: ExprKind.Ratio, left: numerator.node, right: denominator.node },
      resultType: 'Fractional',
    }),
    difference: (left: Expr, right: Expr): Expr => ({
      node: { kind: ExprKind.Difference, left: left.node, right: right.node },
      resultType:
        left.resultType === 'Integral' && right.resultType === 'Integral'
          ? 'Integral'
          : 'Fractional',
    }),
  };
  return builders as unknown as DerivedBuilders<F>;
}

function formatWindowSpec(window: WindowSpec): string {
  return typeof window === 'string' ? window : `${window.value} ${window.unit}`;
}

/**
 * An expression as text, for errors, logs and docs: `amount / mean(amount, 7d)`.
 *
 * @example
 * ```typescript
 * formatExpr({ kind: 'aggregation', aggregation: 'count', field: undefined, window: '1h', excludeCurrent: false });
 * // 'count(1h)'
 * ```
 */
function formatExpr(node: ExprNode): string {
  switch (node.kind) {
    case ExprKind.Aggregation: {
      const args = [
        ...(node.field === undefined ? [] : [node.field]),
        formatWindowSpec(node.window),
      ];
      return `${node.aggregation}(${args.join(', ')}${node.excludeCurrent ? ', excluding current' : ''})`;
    }
    case ExprKind.Field:
      return node.field;
    case ExprKind.Ratio:
      return `${formatOperand(node.left)} / ${formatOperand(node.right)}`;
    case ExprKind.Difference:
      return `${formatOperand(node.left)} - ${formatOperand(node.right)}`;
  }
}

function formatOperand(node: ExprNode): string {
  return node.kind === ExprKind.Ratio || node.kind === ExprKind.Difference
    ? `(${formatExpr(node)})`
    : formatExpr(node);
}

export type {
  AcceptedType,
  AggregationNode,
  AggregationOptions,
  ArithmeticNode,
  DerivedBuilders,
  DerivedOutputs,
  Expr,
  ExprNode,
  FieldNode,
  NumericFeatureName,
  NumericType,
  OnlyFeaturesOf,
  ScalarFeatureName,
  ValueType,
};
export { Aggregation, buildersFor, ExprKind, formatExpr };

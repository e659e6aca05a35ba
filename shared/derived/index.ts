/**
 * Derived streaming features: one definition, computed identically online (ingest) and in
 * backfill. See docs/derived-features.md.
 */
export type { DerivedValue, DerivedValues } from './compute.ts';
export { computeDerived } from './compute.ts';
export type {
  CompiledExpr,
  DerivedDefinition,
  DerivedFeaturesConfig,
  DerivedOutput,
  DerivedStateGroupConfig,
} from './define.ts';
export {
  checkDerivedDefinitions,
  DEFAULT_MAX_STATE_BYTES,
  defineDerivedFeatures,
  defineDerivedStateGroup,
  STATE_EVENT_TIME,
  STATE_FEATURE,
} from './define.ts';
export type { DerivedEvent, WireValue } from './events.ts';
export { compareEvents, eventOfRecord, makeEvent, sameEvent } from './events.ts';
export type {
  AggregationOptions,
  DerivedBuilders,
  DerivedOutputs,
  Expr,
  ExprNode,
  ValueType,
} from './expressions.ts';
export { Aggregation, ExprKind, formatExpr } from './expressions.ts';
export { derivedRecord, withoutDerived } from './records.ts';
export type { ReplayResult, ReplayStats } from './replay.ts';
export { replayDerived } from './replay.ts';
export type { ApplyResult, CompactResult, EventKey } from './state.ts';
export { ApplyOutcome, DerivedStateError, EntityState } from './state.ts';
export type { WindowSpec, WindowText } from './window.ts';
export { formatWindow, windowNanos } from './window.ts';

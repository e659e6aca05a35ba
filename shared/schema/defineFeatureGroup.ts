import { DefinitionError } from '../errors.ts';
import {
  FEATURE_NAME_PATTERN,
  GROUP_NAME_PATTERN,
  Limits,
  RESERVED_FEATURE_NAMES,
  SECONDS_PER_UNIT,
} from './limits.ts';
import type {
  Duration,
  Features,
  InputOf,
  OfflineTableFormat,
  OnlineStorageType,
  TargetStore,
  ValueOf,
} from './types.ts';

interface OnlineStoreOptions {
  /** Default `TtlDuration`: the service hard-deletes the online record at event time + ttl. */
  readonly ttl?: Duration;
  /** `Standard` (default) or `InMemory` (required for collection features). */
  readonly storageType?: OnlineStorageType;
}

interface OfflineStoreOptions {
  /** `Glue` (default, hive-partitioned Parquet) or `Iceberg`. */
  readonly tableFormat?: OfflineTableFormat;
}

/**
 * Declares a group as fed by a scheduled batch job (nightly aggregates and the like): only such
 * groups accept `batch/<group>/` drops, which write both stores (docs/batch.md). The cadence is
 * also what the audit's freshness check expects of the group.
 */
interface BatchFeedOptions {
  /** How often the job delivers a drop, e.g. `{ unit: 'Days', value: 1 }` for a nightly job. */
  readonly cadence: Duration;
  /**
   * How long after its event time a drop may land at the latest (the job's own run time and
   * queueing). Default 0. The audit raises a freshness breach when the newest event time is
   * older than `cadence + maxDelay`: one drop did not land.
   */
  readonly maxDelay?: Duration;
}

/** What a user writes in the definitions file. */
interface FeatureGroupConfig<
  F extends Features,
  Id extends keyof F & string,
  Et extends keyof F & string,
> {
  readonly name: string;
  readonly description: string;
  /** The feature whose value identifies a record (SageMaker's `RecordIdentifierFeatureName`). */
  readonly recordIdentifier: Id;
  /** The feature holding the event time (SageMaker's `EventTimeFeatureName`). */
  readonly eventTime: Et;
  readonly features: F;
  /** Omit for an offline-only group. */
  readonly online?: OnlineStoreOptions;
  /** Omit for an online-only group. */
  readonly offline?: OfflineStoreOptions;
  /**
   * Freshness bound: a value older than this is *stale* (audit, feature-set vectors,
   * training-set max age). Unlike `online.ttl` it never deletes anything.
   */
  readonly maxAge?: Duration;
  /**
   * Internal to Skewless (such as the derived-feature state `fraud-card-state`): the store and the
   * template create it, but the lookup API does not serve it nor name it in its errors, and
   * backfill and batch do not accept it as a target. Default false.
   */
  readonly internal?: boolean;
  /** Omit unless a batch job feeds the group through `batch/<group>/` (see {@link BatchFeedOptions}). */
  readonly batch?: BatchFeedOptions;
}

/** A checked, frozen feature group definition. */
interface FeatureGroup<
  F extends Features = Features,
  Id extends keyof F & string = keyof F & string,
  Et extends keyof F & string = keyof F & string,
> {
  readonly name: string;
  readonly description: string;
  readonly recordIdentifier: Id;
  readonly eventTime: Et;
  readonly features: F;
  /** Declared order. Typed loosely on purpose: `keyof F` here would make groups invariant in `F`. */
  readonly featureNames: readonly string[];
  readonly online:
    | { readonly ttl: Duration | undefined; readonly storageType: OnlineStorageType }
    | undefined;
  readonly offline: { readonly tableFormat: OfflineTableFormat } | undefined;
  readonly maxAge: Duration | undefined;
  /** Present on batch-fed groups only: the only ones accepting `batch/<group>/` drops. */
  readonly batch:
    | { readonly cadence: Duration; readonly maxDelay: Duration | undefined }
    | undefined;
  /** The stores a write reaches by default (`TargetStores` left out). */
  readonly stores: readonly TargetStore[];
  /** Not served by the lookup API, not a backfill or batch target (see the config's `internal`). */
  readonly internal: boolean;
}

/** The decoded record of a group: identifier and event time always present, the rest optional. */
type RecordOf<G> =
  G extends FeatureGroup<infer F, infer Id, infer Et>
    ? { [K in Id | Et]: ValueOf<F[K]> } & {
        [K in Exclude<keyof F & string, Id | Et>]?: ValueOf<F[K]>;
      }
    : never;

/** What `encodeRecord` accepts: event time may be ISO-8601 with offset, epoch seconds or a Date. */
type InputRecordOf<G> =
  G extends FeatureGroup<infer F, infer Id, infer Et>
    ? { [K in Id]: InputOf<F[K]> } & { [K in Et]: InputOf<F[K]> | number | Date } & {
        [K in Exclude<keyof F & string, Id | Et>]?: InputOf<F[K]> | null;
      }
    : never;

function durationSeconds(duration: Duration): number {
  return duration.value * SECONDS_PER_UNIT[duration.unit];
}

function checkDuration(label: string, duration: Duration | undefined, problems: string[]): void {
  if (duration === undefined) return;
  if (!Object.hasOwn(SECONDS_PER_UNIT, duration.unit)) {
    problems.push(
      `${label}.unit "${duration.unit}" is not one of ${Object.keys(SECONDS_PER_UNIT).join(', ')}`
    );
  }
  if (!Number.isSafeInteger(duration.value) || duration.value < 1) {
    problems.push(`${label}.value must be an integer >= 1 (got ${duration.value})`);
  }
}

function isValidDuration(duration: Duration | undefined): boolean {
  const problems: string[] = [];
  checkDuration('', duration, problems);
  return problems.length === 0;
}

function checkBatchFeed(
  config: FeatureGroupConfig<Features, string, string>,
  problems: string[]
): void {
  const batch = config.batch;
  if (batch === undefined) return;
  if (typeof batch !== 'object' || batch === null || batch.cadence === undefined) {
    problems.push('batch.cadence is required: how often the batch job delivers a drop');
    return;
  }
  const before = problems.length;
  checkDuration('batch.cadence', batch.cadence, problems);
  checkDuration('batch.maxDelay', batch.maxDelay, problems);
  const durationsValid = problems.length === before && isValidDuration(config.maxAge);
  if (config.internal === true) {
    problems.push(
      'an internal group cannot be batch-fed: only Skewless itself writes it (drop batch or internal)'
    );
  }
  if (config.online === undefined || config.offline === undefined) {
    problems.push(
      'a batch-fed group needs both stores: batch drops write the online store (latest by event time) and the offline store (every row); an offline-only group takes backfill/ drops'
    );
  }
  if (config.maxAge !== undefined && durationsValid) {
    const expected =
      durationSeconds(batch.cadence) +
      (batch.maxDelay === undefined ? 0 : durationSeconds(batch.maxDelay));
    if (durationSeconds(config.maxAge) < expected) {
      problems.push(
        `maxAge (${config.maxAge.value} ${config.maxAge.unit}) is shorter than batch.cadence + batch.maxDelay (${expected} s): values would go stale before the next drop lands`
      );
    }
  }
}

function checkFeatures(
  config: FeatureGroupConfig<Features, string, string>,
  problems: string[]
): void {
  const names = Object.keys(config.features);
  if (names.length === 0) problems.push('at least one feature is required');
  if (names.length > Limits.maxFeaturesPerGroup) {
    problems.push(`${names.length} features exceed the limit of ${Limits.maxFeaturesPerGroup}`);
  }
  const seenLower = new Map<string, string>();
  let vectors = 0;
  for (const name of names) {
    const spec = config.features[name];
    if (spec === undefined) continue;
    if (!FEATURE_NAME_PATTERN.test(name)) {
      problems.push(
        `feature "${name}": name must be 1-${Limits.maxNameLength} characters matching ${FEATURE_NAME_PATTERN.source}`
      );
    }
    if ((RESERVED_FEATURE_NAMES as readonly string[]).includes(name.toLowerCase())) {
      problems.push(
        `feature "${name}": name is reserved for an offline store column (${RESERVED_FEATURE_NAMES.join(', ')})`
      );
    }
    const lower = name.toLowerCase();
    const clash = seenLower.get(lower);
    if (clash !== undefined) {
      problems.push(
        `feature "${name}": differs from "${clash}" only by case; offline (Glue/Hive) columns are case-insensitive`
      );
    }
    seenLower.set(lower, name);
    if (!['String', 'Integral', 'Fractional'].includes(spec.type)) {
      problems.push(`feature "${name}": type "${spec.type}" is not String, Integral or Fractional`);
    }
    if (typeof spec.description !== 'string' || spec.description.trim() === '') {
      problems.push(`feature "${name}": a description is required`);
    }
    if (spec.collection !== undefined) {
      if (config.online?.storageType !== 'InMemory') {
        problems.push(
          `feature "${name}": collection type ${spec.collection} needs online.storageType "InMemory"`
        );
      }
      if (spec.collection === 'Vector') {
        vectors += 1;
        if (spec.type !== 'Fractional')
          problems.push(`feature "${name}": a Vector must be Fractional`);
        const dim = spec.dimension;
        if (
          dim === undefined ||
          !Number.isInteger(dim) ||
          dim < 1 ||
          dim > Limits.maxVectorDimension
        ) {
          problems.push(
            `feature "${name}": Vector dimension must be an integer 1-${Limits.maxVectorDimension} (got ${dim})`
          );
        }
      } else if (spec.collection !== 'List' && spec.collection !== 'Set') {
        problems.push(
          `feature "${name}": collection "${spec.collection}" is not List, Set or Vector`
        );
      }
    }
  }
  if (vectors > 1) problems.push(`at most one Vector feature per group (found ${vectors})`);
}

/**
 * Define a feature group once: the handlers, the template, the embedded store and the training-set
 * SQL all derive from what this returns. Every rule of the service is checked here, so a bad
 * definition fails at import time with all its problems listed, not at deploy time.
 *
 * @example
 * ```typescript
 * import { defineFeatureGroup, feature } from './shared/schema/index.ts';
 *
 * export const cards = defineFeatureGroup({
 *   name: 'fraud-cards',
 *   description: 'Daily batch aggregates per card',
 *   recordIdentifier: 'card_id',
 *   eventTime: 'event_time',
 *   features: {
 *     card_id: feature.string('Card token'),
 *     event_time: feature.string('When the aggregate was computed'),
 *     txn_count_7d: feature.integral('Transactions in the last 7 days'),
 *   },
 *   online: { ttl: { unit: 'Days', value: 30 } },
 *   offline: {},
 * });
 * ```
 *
 * @param config - the definition; see {@link FeatureGroupConfig}
 * @throws DefinitionError listing every problem found
 */
function defineFeatureGroup<
  const F extends Features,
  const Id extends keyof F & string,
  const Et extends keyof F & string,
>(config: FeatureGroupConfig<F, Id, Et>): FeatureGroup<F, Id, Et> {
  const problems: string[] = [];
  const name = String(config.name);
  if (!GROUP_NAME_PATTERN.test(name)) {
    problems.push(
      `name must be 1-64 characters matching ${GROUP_NAME_PATTERN.source} (CloudFormation's rule)`
    );
  }
  if (
    typeof config.description !== 'string' ||
    config.description.length > Limits.maxDescriptionLength
  ) {
    problems.push(
      `description must be a string of at most ${Limits.maxDescriptionLength} characters`
    );
  }
  checkFeatures(config, problems);

  const idSpec = Object.hasOwn(config.features, config.recordIdentifier)
    ? config.features[config.recordIdentifier]
    : undefined;
  if (idSpec === undefined) {
    problems.push(`recordIdentifier "${config.recordIdentifier}" is not a declared feature`);
  } else if (idSpec.collection !== undefined) {
    problems.push(`recordIdentifier "${config.recordIdentifier}" cannot be a collection`);
  }
  const etSpec = Object.hasOwn(config.features, config.eventTime)
    ? config.features[config.eventTime]
    : undefined;
  if (etSpec === undefined) {
    problems.push(`eventTime "${config.eventTime}" is not a declared feature`);
  } else if (
    etSpec.collection !== undefined ||
    (etSpec.type !== 'String' && etSpec.type !== 'Fractional')
  ) {
    problems.push(`eventTime "${config.eventTime}" must be a scalar String or Fractional feature`);
  }
  if (config.recordIdentifier === (config.eventTime as string)) {
    problems.push('recordIdentifier and eventTime must be different features');
  }

  if (config.online === undefined && config.offline === undefined) {
    problems.push('at least one store (online or offline) is required');
  }
  const storageType = config.online?.storageType ?? 'Standard';
  if (config.online !== undefined && storageType !== 'Standard' && storageType !== 'InMemory') {
    problems.push(`online.storageType "${storageType}" is not Standard or InMemory`);
  }
  if (config.online?.storageType === 'InMemory' && config.offline !== undefined) {
    problems.push(
      'an InMemory online store does not replicate to an offline store; drop offline or use Standard'
    );
  }
  if (config.internal !== undefined && typeof config.internal !== 'boolean') {
    problems.push(`internal must be true or false (got ${JSON.stringify(config.internal)})`);
  }
  checkDuration('online.ttl', config.online?.ttl, problems);
  checkDuration('maxAge', config.maxAge, problems);
  checkBatchFeed(config, problems);
  const tableFormat = config.offline?.tableFormat ?? 'Glue';
  if (config.offline !== undefined && tableFormat !== 'Glue' && tableFormat !== 'Iceberg') {
    problems.push(`offline.tableFormat "${tableFormat}" is not Glue or Iceberg`);
  }
  if (
    tableFormat === 'Iceberg' &&
    config.offline !== undefined &&
    etSpec !== undefined &&
    etSpec.type !== 'String'
  ) {
    problems.push('an Iceberg offline store needs a String eventTime');
  }
  if (problems.length > 0) throw new DefinitionError(name, problems);

  const stores: TargetStore[] = [];
  if (config.online !== undefined) stores.push('OnlineStore');
  if (config.offline !== undefined) stores.push('OfflineStore');
  const features = Object.freeze(
    Object.fromEntries(
      Object.entries(config.features).map(([k, v]) => [k, Object.freeze({ ...v })])
    )
  ) as F;
  return Object.freeze({
    name,
    description: config.description,
    recordIdentifier: config.recordIdentifier,
    eventTime: config.eventTime,
    features,
    featureNames: Object.freeze(Object.keys(features)),
    online:
      config.online === undefined
        ? undefined
        : Object.freeze({ ttl: config.online.ttl, storageType }),
    offline: config.offline === undefined ? undefined : Object.freeze({ tableFormat }),
    maxAge: config.maxAge,
    batch:
      config.batch === undefined
        ? undefined
        : Object.freeze({ cadence: config.batch.cadence, maxDelay: config.batch.maxDelay }),
    stores: Object.freeze(stores),
    internal: config.internal === true,
  });
}

/**
 * The freshness bound of a group, in seconds: `batch.cadence + batch.maxDelay` for a batch-fed
 * group (a drop is overdue), else `maxAge`; undefined when the group declares neither.
 *
 * @example
 * ```typescript
 * import { cards } from './shared/definitions.ts';
 * import { freshnessBound } from './shared/schema/index.ts';
 * freshnessBound(cards); // { seconds: 108000, from: 'batch' } (1 day + 6 hours)
 * ```
 */
function freshnessBound(
  group: FeatureGroup
): { readonly seconds: number; readonly from: 'batch' | 'maxAge' } | undefined {
  if (group.batch !== undefined) {
    const delay = group.batch.maxDelay === undefined ? 0 : durationSeconds(group.batch.maxDelay);
    return { seconds: durationSeconds(group.batch.cadence) + delay, from: 'batch' };
  }
  if (group.maxAge !== undefined) return { seconds: durationSeconds(group.maxAge), from: 'maxAge' };
  return undefined;
}

export type {
  BatchFeedOptions,
  FeatureGroup,
  FeatureGroupConfig,
  InputRecordOf,
  OfflineStoreOptions,
  OnlineStoreOptions,
  RecordOf,
};
export { defineFeatureGroup, durationSeconds, freshnessBound };

/**
 * Derived features on the ingest path. Around one Kinesis batch:
 *
 *   1. plan: read the state record of every entity in the batch (BatchGetRecord), apply the
 *      entity's events in stream order, and compute the final values of every event whose values
 *      changed (the new events, and the older events a late one reaches);
 *   2. write: the ingest pipeline writes, for each Kinesis record, the records planned for it
 *      (through its transform step, with BatchWriteRecord), with its own dead letters and partial
 *      responses;
 *   3. commit: save each entity's state (BatchWriteRecord) holding exactly the events of its
 *      records up to its first failed one; that record and the entity's later records are
 *      reported, so Lambda replays them against the saved state. Records before an entity's first
 *      failure are never reported: the shard's checkpoint advances under partial failures. A
 *      state that could not be read, or not saved, has all the entity's records reported.
 *
 * Throttling or 5xx on a state read or write is a partial batch failure of the records that
 * needed it, never a function error.
 *
 * A replayed batch never double-counts: events are keyed by event id in the state, and a saved
 * state implies its records were written with their final values. Safe under Kinesis ordering
 * as long as the producer's partition key is the entity (one entity never in two batches at once).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type {
  KinesisStreamBatchResponse,
  KinesisStreamEvent,
  KinesisStreamRecord,
} from 'aws-lambda';
import type { LimitFunction } from 'p-limit';
import { type DerivedDefinition, STATE_EVENT_TIME, STATE_FEATURE } from '../derived/define.ts';
import { type DerivedEvent, eventOfRecord } from '../derived/events.ts';
import { derivedRecord, withoutDerived } from '../derived/records.ts';
import { SavedStates } from '../derived/savedStates.ts';
import { ApplyOutcome, DerivedStateError, EntityState } from '../derived/state.ts';
import { type DerivedRegistry, derivedRegistry } from '../derivedRegistry.ts';
import { describeError, RecordValidationError } from '../errors.ts';
import { type EncodedRecord, toRecord } from '../record/codec.ts';
import {
  type EventTimeBound,
  epochNanosToMillis,
  formatIsoEventTime,
  parseEventTime,
} from '../record/eventTime.ts';
import type { SchemaRegistry } from '../registry.ts';
import { ConfigurationError, getOptionalStringFromEnv } from '../runtime/env.ts';
import type { LogSink } from '../runtime/powertools.ts';
import { type Duration, durationSeconds, type FeatureGroup } from '../schema/index.ts';
import { writeBatch } from '../store/batchWriter.ts';
import { batchGetOnline } from '../store/onlineReader.ts';
import {
  eventTimeBoundOf,
  type IngestOptions,
  type IngestRuntime,
  ingestBatch,
  ingestKinesisEvent,
} from './ingest.ts';
import { repeatedRecords } from './kinesisRecord.ts';
import type { MetricsSink } from './metrics.ts';
import { type ParsedPayload, parseIngestPayload } from './payload.ts';
import type { IngestTransform } from './transform.ts';

/** Metric names of the derived step (EMF, namespace of the ingest function). */
const DerivedMetric = {
  /** New events applied to a state. */
  EventsApplied: 'DerivedEventsApplied',
  /** Already-written events rewritten because a late event changed their values. */
  LateRewrites: 'DerivedLateRewrites',
  /** Redeliveries of applied events (nothing written). */
  Duplicates: 'DerivedDuplicates',
  /** Applied event ids arriving with different content (dead-lettered). */
  Conflicts: 'DerivedConflicts',
  /** Events beyond the allowed lateness (written without derived values). */
  TooLate: 'DerivedTooLate',
  /** Events evicted from a state over its byte budget. */
  StateEvictions: 'DerivedStateEvictions',
  /** Unreadable states replaced by an empty one (logged as errors). */
  StateResets: 'DerivedStateResets',
  /** State records written. */
  StateWrites: 'DerivedStateWrites',
  /** Largest state written in the invocation, bytes. */
  StateBytes: 'DerivedStateMaxBytes',
} as const;
type DerivedMetric = (typeof DerivedMetric)[keyof typeof DerivedMetric];

/** What the derived step needs; the ingest runtime provides all of it. */
interface DerivedDependencies {
  readonly client: SageMakerFeatureStoreRuntimeClient;
  readonly registry: SchemaRegistry;
  readonly defaultFeatureGroup: string | undefined;
  /** The pipeline's far-future bound, so plan and pipeline reject the same records. */
  readonly eventTimeBound?: EventTimeBound;
  readonly derived: DerivedRegistry;
  /**
   * Bounds the step's state reads and writes, shared with the pipeline's BatchWriteRecord calls:
   * the client's sockets (as many as the limiter's slots) are never all taken by reads.
   */
  readonly limit: LimitFunction;
  readonly logger: LogSink;
  readonly metrics: MetricsSink;
  /** States this container saved, reused when read back unchanged (see shared/derived/savedStates.ts). */
  readonly savedStates?: SavedStates;
  /**
   * The invocation's clock reading, epoch ms (default `Date.now`): a state is saved to live at
   * least its group's TTL from now, however old its events (see {@link stateTtl}).
   */
  readonly now?: () => number;
}

/** What the plan says about one Kinesis record of a source group. */
type PlannedRecord =
  | { readonly kind: 'write'; readonly outputs: EncodedRecord[] }
  | { readonly kind: 'reject'; readonly error: RecordValidationError }
  | { readonly kind: 'retry'; readonly error: Error };

/** One entity's share of the batch. */
interface EntityBatch {
  readonly definition: DerivedDefinition;
  readonly entity: string;
  /** Undefined when its state could not be read (its records are retried). */
  state: EntityState | undefined;
  /** The state text as read (undefined: none stored, or unreadable and reset to empty). */
  storedText: string | undefined;
  /** Its events by sequence number (to rebuild the state up to a failed record). */
  readonly events: Map<string, DerivedEvent>;
  /** Event time of the stored state record: a new one is never written with an older one. */
  storedEventTime: bigint | undefined;
  /** Sequence numbers of its Kinesis records, in batch order. */
  readonly sequenceNumbers: string[];
  changed: boolean;
}

interface PendingEvent {
  readonly sequenceNumber: string;
  readonly encoded: EncodedRecord;
  readonly definition: DerivedDefinition;
  /** Undefined when the record has no entity value. */
  readonly event: DerivedEvent | undefined;
}

function entityKey(definition: DerivedDefinition, entity: string): string {
  return `${definition.name}\u0000${entity}`;
}

/** The plan of one batch: outputs per Kinesis record, then the state commit. */
class DerivedBatch {
  private readonly deps: DerivedDependencies;
  private readonly planned = new Map<string, PlannedRecord>();
  private readonly entities = new Map<string, EntityBatch>();
  private readonly order: string[];
  private readonly counts = new Map<DerivedMetric, number>();
  /** The definition of each planned Kinesis record. */
  private readonly definitions = new Map<string, DerivedDefinition>();
  /** Ids of events applied in this batch (an affected event not among them is a rewrite). */
  private readonly appliedHere = new Set<string>();
  /** The validated record of each event applied in this batch (its rewrite reuses the encoding). */
  private readonly recordOf = new Map<DerivedEvent, EncodedRecord>();
  /** Ids of events already given to a Kinesis record to write (each is written once). */
  private readonly owned = new Set<string>();
  /** Too-late records by sequence number (checked against the online store). */
  private readonly tooLate = new Map<string, EncodedRecord>();
  /** Every record of the batch decoded and validated, by sequence number (the pipeline reuses it). */
  readonly parsed = new Map<string, ParsedPayload>();

  constructor(deps: DerivedDependencies, records: readonly KinesisStreamRecord[]) {
    this.deps = deps;
    this.order = records.map((r) => r.kinesis.sequenceNumber);
  }

  /** Build the plan: read states, apply events in stream order, compute final values. */
  async plan(records: readonly KinesisStreamRecord[]): Promise<this> {
    const pending = this.collect(records);
    await this.loadStates();
    const owners = new Map<string, Map<string, DerivedEvent>>();
    for (const item of pending) this.applyOne(item, owners);
    for (const [sequenceNumber, dirty] of owners) {
      const planned = this.planned.get(sequenceNumber);
      if (planned?.kind !== 'write') continue;
      for (const event of dirty.values()) {
        const entity = this.entities.get(
          entityKey(this.definitionOf(sequenceNumber), event.entity)
        );
        const state = entity?.state as EntityState;
        try {
          planned.outputs.push(
            derivedRecord(state.definition, event, state.valuesOf(event), this.recordOf.get(event))
          );
        } catch (error) {
          if (!(error instanceof RecordValidationError)) throw error;
          this.planned.set(sequenceNumber, { kind: 'reject', error });
          break;
        }
      }
    }
    await this.keepWrittenTooLate();
    return this;
  }

  /**
   * A too-late event may be a redelivery of one applied long ago (its id pruned from the state):
   * when the online store already has its record at the same event time, nothing is written, so
   * the values written back then are not replaced by a record without them.
   */
  private async keepWrittenTooLate(): Promise<void> {
    const byGroup = new Map<FeatureGroup, { sequenceNumber: string; encoded: EncodedRecord }[]>();
    for (const [sequenceNumber, late] of this.tooLate) {
      const group = this.definitionOf(sequenceNumber).source;
      if (group.online === undefined) continue;
      const list = byGroup.get(group) ?? [];
      list.push({ sequenceNumber, encoded: late });
      byGroup.set(group, list);
    }
    for (const [group, list] of byGroup) {
      const result = await batchGetOnline(
        this.deps.client,
        [
          {
            group,
            recordIds: [...new Set(list.map((l) => l.encoded.recordIdentifier))],
            features: [group.eventTime],
          },
        ],
        { tolerateChunkFailures: true, evenWhenAllFail: true, limit: this.deps.limit }
      );
      const written = new Map(
        result.found.map((f) => [
          f.recordId,
          String((f.values as Record<string, unknown>)[group.eventTime]),
        ])
      );
      const unread = new Set(result.unprocessed.map((u) => u.recordId));
      for (const { sequenceNumber, encoded } of list) {
        if (unread.has(encoded.recordIdentifier)) {
          this.planned.set(sequenceNumber, {
            kind: 'retry',
            error: new Error(
              `the online record of too-late "${encoded.recordIdentifier}" could not be read`
            ),
          });
        } else if (written.get(encoded.recordIdentifier) === encoded.eventTime) {
          this.count(DerivedMetric.TooLate, -1);
          this.count(DerivedMetric.Duplicates);
          this.planned.set(sequenceNumber, { kind: 'write', outputs: [] });
        }
      }
    }
  }

  /**
   * The transform for the ingest pipeline: planned outputs for records of a source group, the
   * fallback (identity) for every other record.
   */
  transform(fallback: IngestTransform): IngestTransform {
    return (record) => {
      const planned = this.planned.get(record.source.sequenceNumber);
      if (planned === undefined) return fallback(record);
      if (planned.kind === 'reject') throw planned.error;
      if (planned.kind === 'retry') throw planned.error;
      return planned.outputs;
    };
  }

  /**
   * After the pipeline: save each entity's state up to its first failed record, report that
   * record and the entity's later ones (and every record of an entity whose state could not be
   * read or saved), and publish the step's metrics. Records of other groups keep the pipeline's
   * verdict.
   */
  async commit(response: KinesisStreamBatchResponse): Promise<KinesisStreamBatchResponse> {
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    const saves: {
      entity: EntityBatch;
      record: EncodedRecord;
      state: EntityState;
      text: string;
    }[] = [];
    const saved = this.deps.savedStates;
    let maxBytes = 0;
    for (const entity of this.entities.values()) {
      if (entity.state === undefined) {
        for (const s of entity.sequenceNumbers) failed.add(s);
        continue;
      }
      const firstFailed = entity.sequenceNumbers.findIndex((s) => failed.has(s));
      let state: EntityState | undefined = entity.state;
      if (firstFailed !== -1) {
        for (const s of entity.sequenceNumbers.slice(firstFailed)) failed.add(s);
        state = this.stateBefore(entity, firstFailed);
        if (state === undefined) continue;
      } else if (!entity.changed) {
        // Read and left as it was: still exactly its stored text.
        if (entity.storedText !== undefined)
          saved?.put(this.keyOf(entity), entity.storedText, entity.state);
        continue;
      }
      const { evicted } = state.compact();
      const text = state.serialize();
      maxBytes = Math.max(maxBytes, Buffer.byteLength(text, 'utf8'));
      if (evicted > 0) {
        this.count(DerivedMetric.StateEvictions, evicted);
        this.deps.logger.warn('derived state over its byte budget: oldest events evicted', {
          definition: entity.definition.name,
          entity: entity.entity,
          evicted,
          kept: state.events.length,
        });
      }
      saves.push({ entity, record: this.stateRecord(entity, state, text), state, text });
    }
    const nowMs = (this.deps.now ?? Date.now)();
    const outcomes = await writeBatch(
      this.deps.client,
      saves.map((save, index) => ({
        ref: index,
        record: save.record,
        ttl: stateTtl(save.entity.definition.state, save.record.eventTimeEpochNanos, nowMs),
      })),
      { limit: this.deps.limit }
    );
    for (const outcome of outcomes) {
      const { entity, state, text } = saves[outcome.ref] as (typeof saves)[number];
      if (outcome.status === 'written') {
        this.count(DerivedMetric.StateWrites);
        saved?.put(this.keyOf(entity), text, state);
        continue;
      }
      const log = outcome.status === 'rejected' ? this.deps.logger.error : this.deps.logger.warn;
      log.call(this.deps.logger, 'derived state not saved; its records are retried', {
        definition: entity.definition.name,
        entity: entity.entity,
        error: `${outcome.code}: ${outcome.message}`,
      });
      for (const s of entity.sequenceNumbers) failed.add(s);
    }
    if (maxBytes > 0)
      this.deps.metrics.addMetric(DerivedMetric.StateBytes, MetricUnit.Bytes, maxBytes);
    for (const [metric, value] of this.counts) {
      if (value > 0) this.deps.metrics.addMetric(metric, MetricUnit.Count, value);
    }
    return {
      batchItemFailures: this.order
        .filter((s) => failed.has(s))
        .map((itemIdentifier) => ({ itemIdentifier })),
    };
  }

  /**
   * The entity's state as read plus the events of its first `count` records, in batch order;
   * undefined when none of them changes it (nothing to save).
   */
  private stateBefore(entity: EntityBatch, count: number): EntityState | undefined {
    if (count === 0) return undefined;
    const state =
      entity.storedText === undefined
        ? EntityState.empty(entity.definition, entity.entity)
        : EntityState.parse(entity.definition, entity.entity, entity.storedText);
    let changed = false;
    for (const sequenceNumber of entity.sequenceNumbers.slice(0, count)) {
      const event = entity.events.get(sequenceNumber);
      if (event === undefined) continue;
      if (state.apply(event).outcome === ApplyOutcome.Applied) changed = true;
    }
    return changed ? state : undefined;
  }

  private count(metric: DerivedMetric, by = 1): void {
    this.counts.set(metric, (this.counts.get(metric) ?? 0) + by);
  }

  private keyOf(entity: EntityBatch): string {
    return entityKey(entity.definition, entity.entity);
  }

  private definitionOf(sequenceNumber: string): DerivedDefinition {
    return this.definitions.get(sequenceNumber) as DerivedDefinition;
  }

  /** Decode and validate exactly as the pipeline will; keep the records of source groups. */
  private collect(records: readonly KinesisStreamRecord[]): PendingEvent[] {
    const pending: PendingEvent[] = [];
    for (const record of records) {
      const parsed = parseIngestPayload(record.kinesis.data, {
        registry: this.deps.registry,
        defaultFeatureGroup: this.deps.defaultFeatureGroup,
        eventTimeBound: this.deps.eventTimeBound,
      });
      this.parsed.set(record.kinesis.sequenceNumber, parsed);
      // A record that does not validate is dead-lettered by the pipeline; nothing to plan.
      if (!parsed.ok) continue;
      const definition = this.deps.derived.forGroup(parsed.value.routed.group.name);
      if (definition === undefined) continue;
      const sequenceNumber = record.kinesis.sequenceNumber;
      const event = eventOfRecord(definition, parsed.value.encoded);
      this.definitions.set(sequenceNumber, definition);
      pending.push({ sequenceNumber, encoded: parsed.value.encoded, definition, event });
      if (event === undefined) continue;
      const key = entityKey(definition, event.entity);
      let entity = this.entities.get(key);
      if (entity === undefined) {
        entity = {
          definition,
          entity: event.entity,
          state: undefined,
          storedText: undefined,
          events: new Map(),
          storedEventTime: undefined,
          sequenceNumbers: [],
          changed: false,
        };
        this.entities.set(key, entity);
      }
      entity.sequenceNumbers.push(sequenceNumber);
      entity.events.set(sequenceNumber, event);
    }
    return pending;
  }

  /**
   * One BatchGetRecord pass per state group; an unread entity is retried, not guessed: throttled,
   * failed, or answered with an `Errors` item of any code (an `AccessForbidden` too: like a write
   * refused for it, the deployment stops and alarms rather than dropping or guessing).
   */
  private async loadStates(): Promise<void> {
    const byGroup = new Map<FeatureGroup, EntityBatch[]>();
    for (const entity of this.entities.values()) {
      const list = byGroup.get(entity.definition.state) ?? [];
      list.push(entity);
      byGroup.set(entity.definition.state, list);
    }
    const requests = [...byGroup].map(([group, list]) => ({
      group,
      recordIds: list.map((e) => e.entity),
    }));
    if (requests.length === 0) return;
    const result = await batchGetOnline(this.deps.client, requests, {
      tolerateChunkFailures: true,
      evenWhenAllFail: true,
      limit: this.deps.limit,
    });
    const byKey = new Map<string, EntityBatch>();
    for (const entity of this.entities.values()) {
      byKey.set(`${entity.definition.state.name}\u0000${entity.entity}`, entity);
    }
    const find = (group: string, id: string) => byKey.get(`${group}\u0000${id}`);
    for (const { group, recordId } of result.notFound) {
      const entity = find(group, recordId);
      if (entity === undefined) continue;
      this.deps.savedStates?.forget(this.keyOf(entity));
      entity.state = EntityState.empty(entity.definition, entity.entity);
    }
    for (const found of result.found) {
      const entity = find(found.group.name, found.recordId);
      if (entity === undefined) continue;
      const values = found.values as Record<string, unknown>;
      const stored = parseEventTime(values[STATE_EVENT_TIME]);
      entity.storedEventTime = stored.ok ? stored.epochNanos : undefined;
      const text = String(values[STATE_FEATURE]);
      const kept = this.deps.savedStates?.take(this.keyOf(entity), text);
      if (kept !== undefined && kept.definition === entity.definition) {
        entity.state = kept;
        entity.storedText = text;
        continue;
      }
      try {
        entity.state = EntityState.parse(entity.definition, entity.entity, text);
        entity.storedText = text;
      } catch (error) {
        if (!(error instanceof DerivedStateError)) throw error;
        // An unreadable state would block the entity forever; start over, loudly.
        this.deps.logger.error('derived state unreadable; starting from an empty state', {
          definition: entity.definition.name,
          entity: entity.entity,
          error: describeError(error),
        });
        this.count(DerivedMetric.StateResets);
        entity.state = EntityState.empty(entity.definition, entity.entity);
      }
    }
    for (const { group, recordId, reason } of result.unprocessed) {
      this.deps.logger.warn('derived state not read; its records are retried', {
        stateGroup: group,
        entity: recordId,
        reason,
      });
    }
  }

  private applyOne(item: PendingEvent, owners: Map<string, Map<string, DerivedEvent>>): void {
    const { sequenceNumber, encoded, definition, event } = item;
    if (event === undefined) {
      this.planned.set(sequenceNumber, {
        kind: 'write',
        outputs: [withoutDerived(definition, encoded)],
      });
      return;
    }
    const entity = this.entities.get(entityKey(definition, event.entity)) as EntityBatch;
    if (entity.state === undefined) {
      this.planned.set(sequenceNumber, {
        kind: 'retry',
        error: new Error(`the derived state of "${event.entity}" could not be read`),
      });
      return;
    }
    const result = entity.state.apply(event);
    switch (result.outcome) {
      case ApplyOutcome.Applied: {
        entity.changed = true;
        this.count(DerivedMetric.EventsApplied);
        const outputs: EncodedRecord[] = [];
        this.planned.set(sequenceNumber, { kind: 'write', outputs });
        this.appliedHere.add(event.id);
        this.recordOf.set(event, encoded);
        const owned = new Map<string, DerivedEvent>();
        for (const affected of result.affected) {
          if (this.owned.has(affected.id)) continue;
          this.owned.add(affected.id);
          owned.set(affected.id, affected);
          if (!this.appliedHere.has(affected.id)) this.count(DerivedMetric.LateRewrites);
        }
        owners.set(sequenceNumber, owned);
        return;
      }
      case ApplyOutcome.Duplicate:
        this.count(DerivedMetric.Duplicates);
        this.planned.set(sequenceNumber, { kind: 'write', outputs: [] });
        return;
      case ApplyOutcome.Conflict:
        this.count(DerivedMetric.Conflicts);
        this.planned.set(sequenceNumber, {
          kind: 'reject',
          error: new RecordValidationError(definition.source.name, [
            {
              feature: definition.source.recordIdentifier,
              value: event.id,
              reason:
                'an event with this id was already applied with different content; event ids must identify immutable events',
            },
          ]),
        });
        return;
      case ApplyOutcome.TooLate:
        this.count(DerivedMetric.TooLate);
        this.tooLate.set(sequenceNumber, encoded);
        this.planned.set(sequenceNumber, {
          kind: 'write',
          outputs: [withoutDerived(definition, encoded)],
        });
        return;
    }
  }

  private stateRecord(entity: EntityBatch, state: EntityState, text: string): EncodedRecord {
    const latest = state.maxTime ?? 0n;
    const time =
      entity.storedEventTime !== undefined && entity.storedEventTime > latest
        ? entity.storedEventTime
        : latest;
    const group = entity.definition.state;
    return toRecord(group, {
      [group.recordIdentifier]: entity.entity,
      [STATE_EVENT_TIME]: formatIsoEventTime(time),
      [STATE_FEATURE]: text,
    } as never);
  }
}

/** The largest `TtlDuration.Value` the service accepts. */
const MAX_TTL_VALUE = 2_147_483_647;

/**
 * The TTL of a state record saved now, when the group's own would not do. The store expires a
 * record at its event time + TTL, and a state's event time is the latest event applied: a stream
 * carrying events older than the state group's TTL (a consumer catching up after an outage, a
 * replay of old events) would save states that are expired on arrival, so every batch would start
 * from an empty state and write wrong velocities to both stores. Such a state is given the TTL
 * that keeps it the group's TTL from now; a current state (event time ≥ now) keeps the group's.
 *
 * @returns undefined (the group's TTL) or a TTL in seconds
 */
function stateTtl(
  stateGroup: FeatureGroup,
  stateEventTimeNanos: bigint,
  nowMs: number
): Duration | undefined {
  const ttl = stateGroup.online?.ttl;
  if (ttl === undefined) return undefined;
  const behindMs = nowMs - epochNanosToMillis(stateEventTimeNanos);
  if (behindMs <= 0) return undefined;
  const seconds = durationSeconds(ttl) + Math.ceil(behindMs / 1000);
  return { unit: 'Seconds', value: Math.min(seconds, MAX_TTL_VALUE) };
}

/**
 * Plan the derived features of one Kinesis batch (see the module comment).
 *
 * @example
 * ```typescript
 * const batch = await planDerivedBatch(event.Records, deps);
 * const response = await ingestKinesisEvent(event, { ...runtime, transform: batch.transform(runtime.transform) });
 * return batch.commit(response);
 * ```
 */
function planDerivedBatch(
  records: readonly KinesisStreamRecord[],
  deps: DerivedDependencies
): Promise<DerivedBatch> {
  return new DerivedBatch(deps, records).plan(records);
}

/** One {@link SavedStates} per runtime: the container's, kept across its invocations. */
const savedStatesByRuntime = new WeakMap<IngestRuntime, SavedStates>();

function savedStatesOf(runtime: IngestRuntime): SavedStates {
  let saved = savedStatesByRuntime.get(runtime);
  if (saved === undefined) {
    saved = new SavedStates();
    savedStatesByRuntime.set(runtime, saved);
  }
  return saved;
}

/**
 * `ingestKinesisEvent` with derived features: the entry point of the ingest function. Without
 * derived definitions it is exactly `ingestKinesisEvent`.
 *
 * @example
 * ```typescript
 * const runtime = createIngestRuntime(readIngestConfig(), { logger, metrics });
 * const { batchItemFailures } = await ingestWithDerivedFeatures(event, runtime);
 * ```
 */
async function ingestWithDerivedFeatures(
  event: KinesisStreamEvent,
  runtime: IngestRuntime,
  options: IngestOptions = {},
  derived: DerivedRegistry = derivedRegistry
): Promise<KinesisStreamBatchResponse> {
  if (derived.definitions.length === 0) return ingestKinesisEvent(event, runtime, options);
  const started = performance.now();
  // One clock reading for the plan and the pipeline: both judge far-future event times alike.
  const clockAt = options.clockAt ?? runtime.now();
  // Only the first record of a sequence number is planned: the pipeline sets the others aside.
  const repeats = repeatedRecords(event.Records);
  const batch = await planDerivedBatch(
    event.Records.filter((record) => !repeats.has(record)),
    {
      client: runtime.client,
      registry: runtime.registry,
      defaultFeatureGroup: runtime.config.defaultFeatureGroup,
      eventTimeBound: eventTimeBoundOf(runtime, clockAt),
      derived,
      limit: runtime.limit,
      logger: runtime.logger,
      metrics: runtime.metrics,
      savedStates: savedStatesOf(runtime),
      now: () => clockAt,
    }
  );
  const remainingTimeMs =
    options.remainingTimeMs === undefined
      ? undefined
      : Math.max(0, options.remainingTimeMs - (performance.now() - started));
  const { response, done } = await ingestBatch(
    event,
    { ...runtime, transform: batch.transform(runtime.transform) },
    { ...options, remainingTimeMs, clockAt, parsed: batch.parsed }
  );
  const committed = await batch.commit(response);
  runtime.writtenAhead.remember(event.Records, committed, done);
  return committed;
}

/**
 * Whether the ingest function computes derived features: `DERIVED_FEATURES` is `on` (default) or
 * `off` (records are written as sent, e.g. to test the pipeline alone).
 *
 * @throws ConfigurationError for any other value
 */
function derivedFeaturesEnabled(): boolean {
  const value = getOptionalStringFromEnv('DERIVED_FEATURES') ?? 'on';
  if (value !== 'on' && value !== 'off') {
    throw new ConfigurationError(
      `environment variable DERIVED_FEATURES must be on or off, not "${value}"`
    );
  }
  return value === 'on';
}

export type { DerivedDependencies, PlannedRecord };
export { derivedFeaturesEnabled, ingestWithDerivedFeatures };

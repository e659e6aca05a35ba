/**
 * Backfill of derived features: replay a history of raw events through the same state and the
 * same `computeDerived` as the ingest path, in event-time order per entity, and produce each
 * event's record as it would have been at its event time.
 */
import type { EncodedRecord } from '../record/codec.ts';
import type { DerivedDefinition } from './define.ts';
import { compareEvents, type DerivedEvent, eventOfRecord, sameEvent } from './events.ts';
import { derivedRecord, withoutDerived } from './records.ts';
import { ApplyOutcome, EntityState } from './state.ts';

/** What a replay did, for reports and tests. */
interface ReplayStats {
  /** Records read. */
  records: number;
  /** Distinct events written with derived values. */
  derived: number;
  /** Records written without derived values because they have no entity value. */
  withoutEntity: number;
  /** Repeated event ids with the same content (written once). */
  duplicates: number;
  /** Repeated event ids with different content: the first in input order wins, these are skipped. */
  conflicts: number;
  /** Events evicted from a state for size (values of later events are then truncated). */
  evicted: number;
  entities: number;
}

interface ReplayResult {
  /** One record per distinct event, per entity in event order. */
  readonly records: EncodedRecord[];
  /**
   * Each of `records` → the input record it is the event of: `records` are in event order, not
   * input order, and a caller reporting on one names its input (a backfill: its row of the file).
   */
  readonly inputOf: ReadonlyMap<EncodedRecord, EncodedRecord>;
  /** Input records not written: repeated ids, as duplicates or conflicts, in input order. */
  readonly skipped: { readonly record: EncodedRecord; readonly reason: 'duplicate' | 'conflict' }[];
  readonly stats: ReplayStats;
}

/**
 * Replay `records` (validated records of `definition.source`, in any order) and return each
 * distinct event's record with its derived values. Duplicates by event id count once; when two
 * records share an id but differ, the first in input order is the event and the other is a
 * conflict (the ingest path dead-letters the later arrival the same way).
 *
 * Holds the history in memory (one `DerivedEvent` per record, a few hundred bytes each).
 *
 * @example
 * ```typescript
 * const { records, stats } = replayDerived(cardVelocities, history);
 * for (const record of records) await putEncodedRecord(client, record, { targetStores: ['OfflineStore'] });
 * ```
 */
function replayDerived(
  definition: DerivedDefinition,
  records: Iterable<EncodedRecord>
): ReplayResult {
  const stats: ReplayStats = {
    records: 0,
    derived: 0,
    withoutEntity: 0,
    duplicates: 0,
    conflicts: 0,
    evicted: 0,
    entities: 0,
  };
  const out: EncodedRecord[] = [];
  const inputOf = new Map<EncodedRecord, EncodedRecord>();
  const emit = (record: EncodedRecord, input: EncodedRecord) => {
    out.push(record);
    inputOf.set(record, input);
  };
  const skipped: ReplayResult['skipped'] = [];
  const byEntity = new Map<string, DerivedEvent[]>();
  const byId = new Map<string, DerivedEvent>();
  /** The validated record of each event: its record with derived values reuses its encoding. */
  const recordOf = new Map<DerivedEvent, EncodedRecord>();
  for (const record of records) {
    stats.records++;
    const event = eventOfRecord(definition, record);
    if (event === undefined) {
      stats.withoutEntity++;
      emit(withoutDerived(definition, record), record);
      continue;
    }
    const first = byId.get(event.id);
    if (first !== undefined) {
      const reason = sameEvent(first, event) ? 'duplicate' : 'conflict';
      if (reason === 'duplicate') stats.duplicates++;
      else stats.conflicts++;
      skipped.push({ record, reason });
      continue;
    }
    byId.set(event.id, event);
    recordOf.set(event, record);
    let events = byEntity.get(event.entity);
    if (events === undefined) {
      events = [];
      byEntity.set(event.entity, events);
    }
    events.push(event);
  }
  stats.entities = byEntity.size;
  for (const [entity, events] of byEntity) {
    events.sort(compareEvents);
    const state = EntityState.empty(definition, entity);
    for (const event of events) {
      const { outcome } = state.apply(event);
      if (outcome !== ApplyOutcome.Applied) {
        // In event order nothing is late; only an event not after one evicted for size lands here.
        const record = recordOf.get(event) as EncodedRecord;
        emit(withoutDerived(definition, derivedRecord(definition, event, {}, record)), record);
        continue;
      }
      const record = recordOf.get(event) as EncodedRecord;
      emit(derivedRecord(definition, event, state.valuesOf(event), record), record);
      stats.derived++;
      stats.evicted += state.compact().evicted;
    }
  }
  return { records: out, inputOf, skipped, stats };
}

export type { ReplayResult, ReplayStats };
export { replayDerived };

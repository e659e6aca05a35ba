/**
 * Ingestion metrics, accumulated per feature group during one invocation and published as EMF
 * at its end: one line per group, each metric under two dimension sets, `[service]` (what the
 * dashboard and alarms read) and `[service, featureGroup]` (per-group breakdown).
 */
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** Metric names; template.yaml's dashboard reads the same names. */
const IngestMetric = {
  RecordsWritten: 'RecordsWritten',
  RecordsDeadLettered: 'RecordsDeadLettered',
  RecordsRetried: 'RecordsRetried',
  StoreWriteLatency: 'StoreWriteLatency',
  IngestionLag: 'IngestionLag',
  BatchSize: 'BatchSize',
} as const;

/** Dimension of the per-group breakdown; `(none)` for records that never named a known group. */
const FEATURE_GROUP_DIMENSION = 'featureGroup';
const NO_GROUP = '(none)';
/** Powertools flushes a metric on its 100th value, which would drop the group dimension. */
const MAX_VALUES = 99;

/** What publishing needs from Powertools Metrics (narrow, so tests can pass a real or fake one). */
type MetricsSink = Pick<
  Metrics,
  'addMetric' | 'addDimension' | 'addDimensions' | 'publishStoredMetrics'
>;

/** A bounded sample of a distribution: every value up to 99, else a uniform sample plus the max. */
class Sample {
  count = 0;
  max = Number.NEGATIVE_INFINITY;
  readonly #values: number[] = [];

  add(value: number): void {
    this.count++;
    if (value > this.max) this.max = value;
    if (this.#values.length < MAX_VALUES) this.#values.push(value);
    else {
      const slot = Math.floor(Math.random() * this.count);
      if (slot < MAX_VALUES) this.#values[slot] = value;
    }
  }

  /** The values to publish; the maximum is always among them (alarms read Maximum). */
  values(): number[] {
    const values = [...this.#values];
    if (this.count > 0 && !values.includes(this.max)) values[values.length - 1] = this.max;
    return values;
  }
}

interface GroupStats {
  written: number;
  deadLettered: number;
  retried: number;
  readonly latencyMs: Sample;
  readonly lagMs: Sample;
}

/**
 * Per-group counters and distributions of one invocation.
 *
 * @example
 * ```typescript
 * import { metrics } from '../runtime/powertools.ts';
 * import { IngestStats } from './metrics.ts';
 *
 * const stats = new IngestStats();
 * stats.written('fraud-transactions', 12.5, 840);
 * stats.publish(metrics);
 * ```
 */
class IngestStats {
  readonly #groups = new Map<string, GroupStats>();

  /**
   * A record was written to the store: the latency of the BatchWriteRecord call that wrote it and
   * the ingestion lag, in ms.
   */
  written(group: string, latencyMs: number, lagMs: number): void {
    const stats = this.#group(group);
    stats.written++;
    stats.latencyMs.add(latencyMs);
    stats.lagMs.add(lagMs);
  }

  deadLettered(group: string | undefined): void {
    this.#group(group ?? NO_GROUP).deadLettered++;
  }

  retried(group: string | undefined): void {
    this.#group(group ?? NO_GROUP).retried++;
  }

  /** Sums over every group. */
  totals(): { written: number; deadLettered: number; retried: number } {
    const totals = { written: 0, deadLettered: 0, retried: 0 };
    for (const s of this.#groups.values()) {
      totals.written += s.written;
      totals.deadLettered += s.deadLettered;
      totals.retried += s.retried;
    }
    return totals;
  }

  /** Per-group view, for the batch summary log line. */
  byGroup(): Record<string, { written: number; deadLettered: number; retried: number }> {
    const out: Record<string, { written: number; deadLettered: number; retried: number }> = {};
    for (const [name, s] of this.#groups) {
      out[name] = { written: s.written, deadLettered: s.deadLettered, retried: s.retried };
    }
    return out;
  }

  /**
   * Publish one EMF line per group. Runs synchronously from the first `addDimension` to the
   * `publishStoredMetrics`, so concurrent invocations in one process cannot mix dimensions.
   */
  publish(metrics: MetricsSink): void {
    for (const [name, s] of this.#groups) {
      metrics.addDimension(FEATURE_GROUP_DIMENSION, name);
      // An empty dimension set is the `[service]` set: totals for the dashboard and alarms.
      metrics.addDimensions({});
      metrics.addMetric(IngestMetric.RecordsWritten, MetricUnit.Count, s.written);
      metrics.addMetric(IngestMetric.RecordsDeadLettered, MetricUnit.Count, s.deadLettered);
      metrics.addMetric(IngestMetric.RecordsRetried, MetricUnit.Count, s.retried);
      for (const v of s.latencyMs.values()) {
        metrics.addMetric(IngestMetric.StoreWriteLatency, MetricUnit.Milliseconds, v);
      }
      for (const v of s.lagMs.values()) {
        metrics.addMetric(IngestMetric.IngestionLag, MetricUnit.Milliseconds, v);
      }
      metrics.publishStoredMetrics();
    }
  }

  #group(name: string): GroupStats {
    let stats = this.#groups.get(name);
    if (stats === undefined) {
      stats = {
        written: 0,
        deadLettered: 0,
        retried: 0,
        latencyMs: new Sample(),
        lagMs: new Sample(),
      };
      this.#groups.set(name, stats);
    }
    return stats;
  }
}

export type { MetricsSink };
export { FEATURE_GROUP_DIMENSION, IngestMetric, IngestStats, Sample };

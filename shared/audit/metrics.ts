/**
 * The audit's CloudWatch metrics (namespace and `service` dimension from the one Metrics of
 * `shared/runtime/powertools.ts`). Per group, with a `featureGroup` dimension: FreshnessSeconds,
 * StaleShare (percent), ExpiredStillServed, ExpiringSoon, CoherenceMismatches and
 * CoherenceChecked; per group and kind (`featureGroup`, `kind`): CoherenceMismatches. Service-wide
 * totals (only the `service` dimension), which the template's alarms watch: CoherenceMismatches,
 * ExpiredStillServed, FreshnessBreaches and AuditFailedGroups.
 */

import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { type AuditReport, MISMATCH_KINDS } from './types.ts';

/** Metric names, shared with template.yaml (alarms and dashboard). */
const AuditMetric = {
  freshnessSeconds: 'FreshnessSeconds',
  staleShare: 'StaleShare',
  expiredStillServed: 'ExpiredStillServed',
  expiringSoon: 'ExpiringSoon',
  coherenceMismatches: 'CoherenceMismatches',
  coherenceChecked: 'CoherenceChecked',
  freshnessBreaches: 'FreshnessBreaches',
  failedGroups: 'AuditFailedGroups',
} as const;

/** What publishing needs from Powertools Metrics: a narrow type, so tests pass a recorder. */
type MetricsSink = Pick<Metrics, 'addDimension' | 'addMetric' | 'publishStoredMetrics'>;

/**
 * Adds the report's metrics. Each per-group set is published at once (a dimension set per EMF
 * blob); the service-wide totals stay buffered for the caller (the `logMetrics` middleware)
 * to flush.
 *
 * @example
 * ```typescript
 * import { metrics } from '../runtime/powertools.ts';
 * import { addAuditMetrics } from './metrics.ts';
 *
 * addAuditMetrics(metrics, report);
 * metrics.publishStoredMetrics();
 * ```
 *
 * @param metrics - Powertools Metrics (or a recorder with the same three methods)
 * @param report - the audit report
 */
function addAuditMetrics(metrics: MetricsSink, report: AuditReport): void {
  for (const group of report.groups) {
    if (group.error !== undefined) continue;
    metrics.addDimension('featureGroup', group.group);
    if (group.freshness.seconds !== null) {
      metrics.addMetric(AuditMetric.freshnessSeconds, MetricUnit.Seconds, group.freshness.seconds);
    }
    metrics.addMetric(AuditMetric.staleShare, MetricUnit.Percent, group.staleness.share * 100);
    metrics.addMetric(
      AuditMetric.expiredStillServed,
      MetricUnit.Count,
      group.ttl.expiredStillServed
    );
    metrics.addMetric(AuditMetric.expiringSoon, MetricUnit.Count, group.ttl.expiringSoon);
    metrics.addMetric(AuditMetric.coherenceMismatches, MetricUnit.Count, group.coherence.total);
    metrics.addMetric(AuditMetric.coherenceChecked, MetricUnit.Count, group.coherence.checked);
    metrics.publishStoredMetrics();
    for (const kind of MISMATCH_KINDS) {
      metrics.addDimension('featureGroup', group.group);
      metrics.addDimension('kind', kind);
      metrics.addMetric(
        AuditMetric.coherenceMismatches,
        MetricUnit.Count,
        group.coherence.mismatches[kind]
      );
      metrics.publishStoredMetrics();
    }
  }
  const totals = report.totals;
  metrics.addMetric(AuditMetric.coherenceMismatches, MetricUnit.Count, totals.coherenceMismatches);
  metrics.addMetric(AuditMetric.expiredStillServed, MetricUnit.Count, totals.expiredStillServed);
  metrics.addMetric(AuditMetric.freshnessBreaches, MetricUnit.Count, totals.freshnessBreaches);
  metrics.addMetric(AuditMetric.failedGroups, MetricUnit.Count, totals.failedGroups);
}

export type { MetricsSink };
export { AuditMetric, addAuditMetrics };

/**
 * template.yaml's alarms and dashboard against the metrics the code declares: a metric renamed
 * in the code, or read under another namespace or dimensions, leaves its alarm without data
 * (TreatMissingData: notBreaching, so silently OK) and its graph empty. The ingest function's
 * printed metrics are matched with the template in test/ingest/metrics.integration.test.ts.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTemplate } from '../../scripts/lib/cfnYaml.ts';
import { AuditMetric } from '../../shared/audit/metrics.ts';
import { BackfillMetric, BatchMetric } from '../../shared/backfill/runBackfill.ts';
import { IngestMetric } from '../../shared/ingest/metrics.ts';
import { LookupMetric } from '../../shared/lookup/edge.ts';
import { root } from '../helpers/stackProcess.ts';
import {
  functionMetricEnvironment,
  functionMetricReferences,
  type MetricReference,
  metricReferences,
} from '../helpers/templateMetrics.ts';

/** Every metric name the functions add, from the constants their code adds them by. */
const declared = new Set<string>(
  [AuditMetric, BackfillMetric, BatchMetric, IngestMetric, LookupMetric].flatMap((names) =>
    Object.values(names)
  )
);

describe("template.yaml's alarms and dashboard", () => {
  it('read only metric names the functions add', () => {
    // Act
    const read = functionMetricReferences();
    // Assess
    expect(read.length).toBeGreaterThan(0);
    const unknown = read.filter((r) => !declared.has(r.name)).map((r) => `${r.readBy}: ${r.name}`);
    expect(unknown).toEqual([]);
  });

  it("read them under the functions' service dimension, or per group by a SEARCH", () => {
    // Prepare: every function publishes the service-wide set [service]; the audit and ingest
    // add [service, featureGroup].
    const { service } = functionMetricEnvironment();
    const serviceWide = { service };
    const perGroup = { featureGroup: '*', service: '*' };
    const shapeOf = (r: MetricReference) => ({ name: r.name, dimensions: r.dimensions });
    // Act
    const read = functionMetricReferences().map(shapeOf);
    // Assess
    const odd = read.filter(
      (r) =>
        JSON.stringify(r.dimensions) !== JSON.stringify(serviceWide) &&
        JSON.stringify(r.dimensions) !== JSON.stringify(perGroup)
    );
    expect(odd).toEqual([]);
  });

  it("give every function the Globals' metric namespace and service name", () => {
    // Prepare
    const template = loadTemplate(join(root, 'template.yaml'));
    const functions = Object.entries(template.Resources).filter(
      ([, r]) => r.Type === 'AWS::Serverless::Function'
    );
    // Act
    const overridden = functions.filter(([, r]) => {
      const variables =
        (r.Properties as { Environment?: { Variables?: Record<string, unknown> } }).Environment
          ?.Variables ?? {};
      return 'POWERTOOLS_METRICS_NAMESPACE' in variables || 'POWERTOOLS_SERVICE_NAME' in variables;
    });
    // Assess
    expect(functions.length).toBeGreaterThan(0);
    expect(overridden.map(([id]) => id)).toEqual([]);
  });

  it("read every metric that is not AWS's own in the functions' namespace", () => {
    // Prepare
    const { namespace } = functionMetricEnvironment();
    // Act
    const elsewhere = metricReferences().filter(
      (r) => !r.namespace.startsWith('AWS/') && r.namespace !== namespace
    );
    // Assess
    expect(elsewhere).toEqual([]);
  });
});

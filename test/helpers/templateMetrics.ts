/**
 * The custom metrics template.yaml's alarms and dashboard read, as CloudWatch will look them up:
 * namespace, metric name and dimensions. A metric the code renames, moves to another namespace or
 * publishes under other dimensions leaves its alarm at "insufficient data" (TreatMissingData:
 * notBreaching, so silently OK) and its dashboard graph empty; the tests compare these
 * references with what the functions emit.
 */
import { join } from 'node:path';
import { loadTemplate, type Template } from '../../scripts/lib/cfnYaml.ts';
import { root } from './stackProcess.ts';

/** One metric a resource of the template reads. */
interface MetricReference {
  /** The alarm's logical id, or `Dashboard`. */
  readonly readBy: string;
  readonly namespace: string;
  readonly name: string;
  /**
   * Dimension names and values the lookup matches exactly; for a dashboard SEARCH, the schema's
   * dimension names with the value `*` (any).
   */
  readonly dimensions: Readonly<Record<string, string>>;
}

const template: Template = loadTemplate(join(root, 'template.yaml'));

/** The functions' metric environment (template Globals), the same for every function. */
function functionMetricEnvironment(): { namespace: string; service: string } {
  const variables = (
    template.Globals as { Function: { Environment: { Variables: Record<string, string> } } }
  ).Function.Environment.Variables;
  return {
    namespace: String(variables.POWERTOOLS_METRICS_NAMESPACE),
    service: String(variables.POWERTOOLS_SERVICE_NAME),
  };
}

function alarmReferences(): MetricReference[] {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
    .map(([id, r]) => {
      const p = r.Properties as {
        Namespace: string;
        MetricName: string;
        Dimensions?: { Name: string; Value: unknown }[];
      };
      return {
        readBy: id,
        namespace: p.Namespace,
        name: p.MetricName,
        dimensions: Object.fromEntries(
          (p.Dimensions ?? []).map((d) => [d.Name, typeof d.Value === 'string' ? d.Value : '*'])
        ),
      };
    });
}

type DashboardMetric = (string | Record<string, unknown>)[];

/** A dashboard metric line with CloudWatch's `.` (same as the line above) and `...` expanded. */
function expandLine(line: DashboardMetric, previous: string[]): string[] {
  const fields = line.filter((f): f is string => typeof f === 'string');
  if (fields[0] === '...') return [...previous, ...fields.slice(1)];
  return fields.map((f, i) => (f === '.' ? (previous[i] ?? f) : f));
}

const SEARCH = /SEARCH\('\{([^}]*)\} MetricName="([^"]+)"/;

function dashboardReferences(): MetricReference[] {
  const body = (
    template.Resources.Dashboard?.Properties?.DashboardBody as { 'Fn::Sub'?: string }
  )?.['Fn::Sub'];
  if (body === undefined) throw new Error('template.yaml has no Dashboard with a !Sub body');
  // ${Resource} and ${AWS::Region} are substituted at deploy time; any string parses.
  const parsed = JSON.parse(body.replace(/\$\{[^}]+\}/g, 'substituted')) as {
    widgets: { properties: { metrics?: DashboardMetric[] } }[];
  };
  const references: MetricReference[] = [];
  for (const widget of parsed.widgets) {
    let previous: string[] = [];
    for (const line of widget.properties.metrics ?? []) {
      const expression = line.find(
        (f): f is { expression: string } => typeof f === 'object' && 'expression' in f
      );
      if (expression !== undefined) {
        const search = SEARCH.exec(expression.expression);
        if (search === null) throw new Error(`unread expression: ${expression.expression}`);
        const [namespace = '', ...keys] = (search[1] ?? '').split(',');
        references.push({
          readBy: 'Dashboard',
          namespace,
          name: search[2] ?? '',
          dimensions: Object.fromEntries(keys.map((k) => [k, '*'])),
        });
        continue;
      }
      const fields = expandLine(line, previous);
      previous = fields;
      const [namespace = '', name = '', ...pairs] = fields;
      const dimensions: Record<string, string> = {};
      for (let i = 0; i + 1 < pairs.length; i += 2) dimensions[pairs[i] ?? ''] = pairs[i + 1] ?? '';
      references.push({ readBy: 'Dashboard', namespace, name, dimensions });
    }
  }
  return references;
}

/** Every metric an alarm or the dashboard reads, AWS's own included. */
function metricReferences(): MetricReference[] {
  return [...alarmReferences(), ...dashboardReferences()];
}

/** Every metric of the functions' own namespace that an alarm or the dashboard reads. */
function functionMetricReferences(): MetricReference[] {
  const { namespace } = functionMetricEnvironment();
  return metricReferences().filter((r) => r.namespace === namespace);
}

/** One metric as an EMF line declares it, with the line's values of it. */
interface EmittedMetric {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly values: readonly number[];
}

/** The metrics of Embedded Metric Format lines: each metric under each of its dimension sets. */
function emittedMetrics(lines: readonly string[]): EmittedMetric[] {
  const out: EmittedMetric[] = [];
  for (const line of lines) {
    let emf: Record<string, unknown> & {
      _aws?: {
        CloudWatchMetrics: {
          Namespace: string;
          Dimensions: string[][];
          Metrics: { Name: string }[];
        }[];
      };
    };
    try {
      emf = JSON.parse(line);
    } catch {
      continue;
    }
    for (const directive of emf._aws?.CloudWatchMetrics ?? []) {
      for (const set of directive.Dimensions) {
        const dimensions = Object.fromEntries(set.map((d) => [d, String(emf[d])]));
        for (const metric of directive.Metrics) {
          const value = emf[metric.Name];
          const values = (Array.isArray(value) ? value : [value]).map(Number);
          out.push({ namespace: directive.Namespace, name: metric.Name, dimensions, values });
        }
      }
    }
  }
  return out;
}

/** Whether an emitted metric is the one a reference reads (`*`: any value of that dimension). */
function matches(reference: MetricReference, emitted: EmittedMetric): boolean {
  const names = Object.keys(reference.dimensions).sort();
  const emittedNames = Object.keys(emitted.dimensions).sort();
  return (
    reference.namespace === emitted.namespace &&
    reference.name === emitted.name &&
    names.join() === emittedNames.join() &&
    names.every(
      (n) => reference.dimensions[n] === '*' || reference.dimensions[n] === emitted.dimensions[n]
    )
  );
}

export type { EmittedMetric, MetricReference };
export {
  emittedMetrics,
  functionMetricEnvironment,
  functionMetricReferences,
  matches,
  metricReferences,
};

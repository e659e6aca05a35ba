/**
 * The scheduled audit end to end: open the offline engine named by the configuration, run the
 * audit over the configured groups, add the metrics, write the JSON report. What the handler
 * calls; free of Lambda types so it runs the same from `skewless start` and tests.
 */
import { AthenaClient } from '@aws-sdk/client-athena';
import { S3Client } from '@aws-sdk/client-s3';
import type { SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { AthenaEngine } from '../offline/athena.ts';
import type { OfflineQueryEngine } from '../offline/engine.ts';
import { registry } from '../registry.ts';
import { baseClientConfig, createFeatureStoreClient } from '../runtime/clients.ts';
import type { LogSink } from '../runtime/powertools.ts';
import type { FeatureGroup } from '../schema/index.ts';
import type { AuditConfig } from './config.ts';
import { FileLedger, type InFlightLedger, ledgerPathIn, S3Ledger } from './inFlight.ts';
import { addAuditMetrics, type MetricsSink } from './metrics.ts';
import { createOnlineSide, ONLINE_CALLS_IN_FLIGHT } from './online.ts';
import { writeReportToFile, writeReportToS3 } from './report.ts';
import { runAudit } from './runAudit.ts';
import type { AuditReport } from './types.ts';

/** Clients built once per container and reused by every invocation. */
interface AuditRuntime {
  readonly config: AuditConfig;
  readonly groups: readonly FeatureGroup[];
  readonly featureStore: SageMakerFeatureStoreRuntimeClient;
  readonly s3: S3Client | undefined;
  /** Where runs keep the first-seen instants of online writes missing offline (next to the reports). */
  readonly inFlight: InFlightLedger;
  /**
   * Opens the offline engine for one run. Athena's is shared (it keeps nothing but table names);
   * DuckDB's is opened per run so files and columns written since the last run are seen.
   */
  openEngine(): Promise<{ engine: OfflineQueryEngine; release(): Promise<void> }>;
}

/** What one scheduled run returns (and logs). */
interface AuditRunSummary {
  /** `s3://…` or a file path. */
  readonly reportLocation: string;
  readonly auditedAt: string;
  readonly durationMs: number;
  readonly totals: AuditReport['totals'];
}

/**
 * Builds the runtime from the configuration. The DuckDB engine module (and `@duckdb/node-api`)
 * is imported only when the configuration asks for DuckDB, so the Athena bundle never loads it.
 *
 * @throws UnknownNameError when `groups` names a group the definitions do not have
 */
function createAuditRuntime(config: AuditConfig): AuditRuntime {
  const groups =
    config.groups === undefined
      ? [...registry.groups.values()]
      : config.groups.map((name) => registry.getGroup(name));
  let athena: AthenaEngine | undefined;
  const s3 =
    config.reportsBucket === undefined
      ? undefined
      : // A custom endpoint (the local S3 of `skewless start`) needs path-style addressing.
        new S3Client({
          ...baseClientConfig(),
          forcePathStyle: process.env.AWS_ENDPOINT_URL_S3 !== undefined,
        });
  return {
    config,
    groups,
    // A socket for every call the online side can have in flight: none waits for one.
    featureStore: createFeatureStoreClient({ maxSockets: ONLINE_CALLS_IN_FLIGHT }),
    s3,
    inFlight:
      s3 !== undefined && config.reportsBucket !== undefined
        ? new S3Ledger(s3, config.reportsBucket)
        : new FileLedger(ledgerPathIn(config.reportsDir)),
    async openEngine() {
      if (config.engine === 'athena') {
        athena ??= new AthenaEngine({
          client: new AthenaClient(baseClientConfig()),
          workGroup: config.athenaWorkGroup,
          outputLocation: config.athenaOutputLocation,
        });
        return { engine: athena, release: () => Promise.resolve() };
      }
      const { createDuckDbEngine } = await import('../offline/duckdb.ts');
      const engine = await createDuckDbEngine({ dataDir: config.storeDataDir });
      return { engine, release: () => engine.close() };
    },
  };
}

/**
 * Runs one audit: report, metrics (per group published now, totals left buffered for the
 * caller's `logMetrics`), report written to S3 or a file.
 *
 * @example
 * ```typescript
 * const runtime = createAuditRuntime(readAuditConfig());
 * const summary = await runScheduledAudit(runtime, { metrics, logger });
 * ```
 */
async function runScheduledAudit(
  runtime: AuditRuntime,
  deps: { metrics: MetricsSink; logger: Pick<LogSink, 'info' | 'warn'>; now?: () => number }
): Promise<AuditRunSummary> {
  const { engine, release } = await runtime.openEngine();
  let report: AuditReport;
  try {
    report = await runAudit(
      runtime.groups,
      {
        engine,
        online: createOnlineSide(runtime.featureStore),
        inFlight: runtime.inFlight,
        now: deps.now,
        logger: deps.logger,
      },
      runtime.config.options
    );
  } finally {
    await release();
  }
  addAuditMetrics(deps.metrics, report);
  const bucket = runtime.config.reportsBucket;
  const reportLocation =
    bucket !== undefined && runtime.s3 !== undefined
      ? await writeReportToS3(runtime.s3, bucket, report)
      : await writeReportToFile(runtime.config.reportsDir, report);
  const summary: AuditRunSummary = {
    reportLocation,
    auditedAt: report.auditedAt,
    durationMs: report.durationMs,
    totals: report.totals,
  };
  deps.logger.info('audit finished', { ...summary });
  return summary;
}

export type { AuditRunSummary, AuditRuntime };
export { createAuditRuntime, runScheduledAudit };

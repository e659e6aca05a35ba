/**
 * AuditFunction — trigger: EventBridge schedule (`AuditSchedule`). Audits freshness, staleness,
 * TTL health and the coherence of the online and offline stores of every feature group, emits
 * the metrics the alarms watch and writes the JSON report. See docs/audit.md.
 *
 * Thin wiring only: the audit lives in shared/audit.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { readAuditConfig } from '../../shared/audit/config.ts';
import {
  type AuditRunSummary,
  type AuditRuntime,
  createAuditRuntime,
  runScheduledAudit,
} from '../../shared/audit/service.ts';
import { logger, metrics } from '../../shared/runtime/powertools.ts';

/**
 * Built at cold start. A configuration error is logged at init and rethrown by every invocation
 * (the AuditMissedAlarm fires); importing the module never throws.
 */
const runtime: AuditRuntime | Error = (() => {
  try {
    return createAuditRuntime(readAuditConfig());
  } catch (error) {
    logger.error('audit configuration is invalid', { error });
    return error as Error;
  }
})();

const auditHandler = async (): Promise<AuditRunSummary> => {
  if (runtime instanceof Error) throw runtime;
  return runScheduledAudit(runtime, { metrics, logger });
};

/**
 * The Lambda handler: Powertools Logger context and EMF metrics around
 * {@link runScheduledAudit}. The event (a scheduled event) carries nothing the audit needs.
 *
 * @example
 * ```typescript
 * process.env.OFFLINE_ENGINE = 'duckdb';
 * process.env.SKEWLESS_DATA_DIR = '.skewless';
 * const { handler } = await import('./functions/audit/index.ts');
 * const { reportLocation, totals } = await handler({}, context);
 * ```
 */
export const handler = middy(auditHandler)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * The one Logger and the one Metrics of Skewless, configured once and imported everywhere
 * (service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE,
 * set in the template's Globals; the defaults below serve local runs and tests).
 */
const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'skewless' });

const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Skewless',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'skewless',
});

/**
 * What shared logic needs from a logger: a narrow type, so tests and the local runners can pass
 * a plain object. The Powertools `Logger` satisfies it.
 */
interface LogSink {
  debug(message: string, ...extra: unknown[]): void;
  info(message: string, ...extra: unknown[]): void;
  warn(message: string, ...extra: unknown[]): void;
  error(message: string, ...extra: unknown[]): void;
}

export type { LogSink };
export { logger, metrics };

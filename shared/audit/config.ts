/**
 * Configuration of the audit function, from its environment (see docs/audit.md).
 */
import { join } from 'node:path';
import { ConfigurationError, getIntegerFromEnv, getOptionalStringFromEnv } from '../runtime/env.ts';
import type { AuditOptions } from './types.ts';

const OfflineEngineName = { athena: 'athena', duckdb: 'duckdb' } as const;
type OfflineEngineName = (typeof OfflineEngineName)[keyof typeof OfflineEngineName];

/** Margin when the offline store is the embedded one: it flushes every few seconds. */
const LOCAL_MARGIN_SECONDS = 10;
/** Margin on AWS: the offline store receives rows within about 15 minutes. */
const AWS_MARGIN_SECONDS = 900;

interface AuditConfig {
  readonly engine: OfflineEngineName;
  /** Athena work group (athena engine). */
  readonly athenaWorkGroup: string | undefined;
  /** Athena result location, when the work group does not enforce one. */
  readonly athenaOutputLocation: string | undefined;
  /** Reports go to `s3://<bucket>/audit/…` when set, else to files in `reportsDir`. */
  readonly reportsBucket: string | undefined;
  readonly reportsDir: string;
  /** Data directory of the embedded store (duckdb engine). */
  readonly storeDataDir: string;
  /** Groups to audit; undefined audits every group of the definitions. */
  readonly groups: readonly string[] | undefined;
  readonly options: AuditOptions;
}

/**
 * Reads and checks the audit's environment variables.
 *
 * @throws ConfigurationError naming the variable that is missing or malformed
 */
function readAuditConfig(): AuditConfig {
  const engineName = getOptionalStringFromEnv('OFFLINE_ENGINE') ?? OfflineEngineName.athena;
  if (engineName !== OfflineEngineName.athena && engineName !== OfflineEngineName.duckdb) {
    throw new ConfigurationError(
      `environment variable OFFLINE_ENGINE="${engineName}" must be athena or duckdb`
    );
  }
  const athenaWorkGroup = getOptionalStringFromEnv('ATHENA_WORKGROUP');
  if (engineName === OfflineEngineName.athena && athenaWorkGroup === undefined) {
    throw new ConfigurationError('environment variable ATHENA_WORKGROUP is required for athena');
  }
  const dataDir = getOptionalStringFromEnv('SKEWLESS_DATA_DIR') ?? '.skewless';
  const reportsDirOverride = getOptionalStringFromEnv('AUDIT_REPORTS_DIR');
  const sample = getIntegerFromEnv('AUDIT_SAMPLE_SIZE', 0, 0);
  const groups = getOptionalStringFromEnv('AUDIT_GROUPS')
    ?.split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
  return {
    engine: engineName,
    athenaWorkGroup,
    athenaOutputLocation: getOptionalStringFromEnv('ATHENA_OUTPUT_LOCATION'),
    // AUDIT_REPORTS_DIR wins: the local stack shares REPORTS_BUCKET with the backfill but keeps
    // audit reports as files, as the embedded default promises.
    reportsBucket:
      reportsDirOverride === undefined ? getOptionalStringFromEnv('REPORTS_BUCKET') : undefined,
    reportsDir: reportsDirOverride ?? join(dataDir, 'reports'),
    storeDataDir: getOptionalStringFromEnv('SKEWLESS_STORE_DATA_DIR') ?? dataDir,
    groups,
    options: {
      marginSeconds: getIntegerFromEnv(
        'AUDIT_MARGIN_SECONDS',
        engineName === OfflineEngineName.athena ? AWS_MARGIN_SECONDS : LOCAL_MARGIN_SECONDS,
        0
      ),
      sampleSize: sample === 0 ? undefined : sample,
      expiringWithinSeconds: getIntegerFromEnv('AUDIT_EXPIRING_WITHIN_SECONDS', 86_400, 0),
      onlineScanLimit: getIntegerFromEnv('AUDIT_ONLINE_SCAN_LIMIT', 0, 0),
      examplesPerKind: getIntegerFromEnv('AUDIT_EXAMPLES', 20, 0, 1000),
    },
  };
}

export type { AuditConfig };
export { LOCAL_MARGIN_SECONDS, readAuditConfig };

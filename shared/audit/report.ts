/**
 * Where the JSON report goes (S3 on AWS, a file locally) and how it reads on a terminal.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { makeDirectory } from '../runtime/makeDirectory.ts';
import { shortDuration } from '../shortDuration.ts';
import { type AuditReport, MISMATCH_KINDS, type MismatchKind } from './types.ts';

/** `2026-01-02T03-04-05.678Z`: the audit instant, safe in file names and S3 keys. */
function reportStamp(report: AuditReport): string {
  return report.auditedAt.replaceAll(':', '-');
}

/** `audit/year=YYYY/month=MM/day=DD/audit-<stamp>.json`: partitioned so Athena can read reports. */
function reportKey(report: AuditReport, prefix = 'audit/'): string {
  const [year, month, day] = report.auditedAt.slice(0, 10).split('-');
  return `${prefix}year=${year}/month=${month}/day=${day}/audit-${reportStamp(report)}.json`;
}

/**
 * Writes the report to S3 under `audit/`.
 *
 * @example
 * ```typescript
 * import { S3Client } from '@aws-sdk/client-s3';
 * const location = await writeReportToS3(new S3Client({}), 'my-reports-bucket', report);
 * // s3://my-reports-bucket/audit/year=2026/month=01/day=02/audit-2026-01-02T03-04-05.678Z.json
 * ```
 *
 * @returns the `s3://` URI written
 */
async function writeReportToS3(
  client: S3Client,
  bucket: string,
  report: AuditReport
): Promise<string> {
  const key = reportKey(report);
  await client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: `${JSON.stringify(report, null, 2)}\n`,
      ContentType: 'application/json',
    })
  );
  return `s3://${bucket}/${key}`;
}

/**
 * Writes the report as `<dir>/audit-<stamp>.json` (the directory is created if missing).
 *
 * @returns the path written
 */
async function writeReportToFile(dir: string, report: AuditReport): Promise<string> {
  makeDirectory(dir);
  const path = join(dir, `audit-${reportStamp(report)}.json`);
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}

const KIND_LABELS: Record<MismatchKind, string> = {
  onlineOlder: 'online older (offline has a newer write)',
  onlineNewer: 'online newer (offline missing the write)',
  deletedButOnline: 'deleted offline, served online',
  valueMismatch: 'values differ',
  onlineOnly: 'online only (no offline row)',
};

function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join('  ')
        .trimEnd()
    )
    .join('\n');
}

/**
 * The report as a terminal table: one line per group, then the worst examples of every finding.
 *
 * @example
 * ```typescript
 * process.stdout.write(`${formatAuditReport(report)}\n`);
 * ```
 */
function formatAuditReport(report: AuditReport): string {
  const header = [
    'group',
    'identifiers',
    'freshness',
    'max age',
    'stale',
    'expiring',
    'expired served',
    'checked',
    'in flight',
    'mismatches',
  ];
  const rows = report.groups.map((g) =>
    g.error !== undefined
      ? [g.group, 'FAILED', '', '', '', '', '', '', '', '']
      : [
          g.group,
          String(g.offline.identifiers),
          `${shortDuration(g.freshness.seconds)}${g.freshness.breached ? ' !' : ''}`,
          shortDuration(g.freshness.maxAgeSeconds),
          `${g.staleness.stale} (${(g.staleness.share * 100).toFixed(1)}%)`,
          String(g.ttl.expiringSoon),
          String(g.ttl.expiredStillServed),
          `${g.coherence.checked}${g.coherence.sampled ? ' (sample)' : ''}`,
          String(g.coherence.inFlight),
          String(g.coherence.total),
        ]
  );
  const lines = [
    `Skewless audit at ${report.auditedAt} (${report.engine}, ${report.durationMs} ms, margin ${report.options.marginSeconds}s${report.options.sampleSize === null ? '' : `, sample ${report.options.sampleSize}`})`,
    '',
    table([header, ...rows]),
  ];
  for (const g of report.groups) {
    const details: string[] = [];
    if (g.error !== undefined) details.push(`  error: ${g.error}`);
    if (g.freshness.breached) {
      details.push(
        g.freshness.boundFrom === 'batch'
          ? `  freshness: newest event time ${g.freshness.newestEventTime} is ${shortDuration(g.freshness.seconds)} old: a batch drop is overdue (cadence + max delay ${shortDuration(g.freshness.boundSeconds)})`
          : `  freshness: newest event time ${g.freshness.newestEventTime} is ${shortDuration(g.freshness.seconds)} old (max age ${shortDuration(g.freshness.boundSeconds)})`
      );
    }
    for (const kind of MISMATCH_KINDS) {
      const n = g.coherence.mismatches[kind];
      if (n === 0) continue;
      details.push(`  ${KIND_LABELS[kind]}: ${n}`);
      for (const e of g.coherence.examples[kind]) {
        const times = [
          e.offlineEventTime === undefined ? undefined : `offline ${e.offlineEventTime}`,
          e.onlineEventTime === undefined ? undefined : `online ${e.onlineEventTime}`,
        ].filter((t) => t !== undefined);
        const features = (e.features ?? [])
          .map((f) => `${f.name}: ${f.offline ?? 'null'} != ${f.online ?? 'null'}`)
          .join(', ');
        details.push(
          `    ${e.recordId}  ${times.join(', ')}${features === '' ? '' : `  [${features}]`}`
        );
      }
    }
    if (g.ttl.expiredStillServed > 0) {
      details.push(`  expired but still served: ${g.ttl.expiredStillServed}`);
      for (const e of g.ttl.expiredStillServedExamples) {
        details.push(
          `    ${e.recordId}  expired ${e.expiresAt} (${shortDuration(e.overdueSeconds)} ago)`
        );
      }
    }
    if (g.staleness.stale > 0) {
      details.push(`  stale (oldest first): ${g.staleness.stale}`);
      for (const e of g.staleness.examples) {
        details.push(`    ${e.recordId}  ${e.eventTime} (${shortDuration(e.ageSeconds)} old)`);
      }
    }
    for (const p of g.problems) details.push(`  problem: ${p}`);
    if (details.length > 0) lines.push('', `${g.group}:`, ...details);
  }
  const t = report.totals;
  // "Not fresh", not "past max age": a batch-fed group breaches at cadence + max delay, which can
  // be well within its max age (the group's details say which bound applied).
  lines.push(
    '',
    `${t.coherenceMismatches} mismatch(es) in ${t.checked} identifier(s) checked, ${t.expiredStillServed} expired record(s) still served, ${t.freshnessBreaches} group(s) not fresh, ${t.failedGroups} group(s) failed`
  );
  return lines.join('\n');
}

export { formatAuditReport, reportKey, writeReportToFile, writeReportToS3 };

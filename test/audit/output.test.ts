// calendar-fixed: outputs of a fixed audit report; its times and ages are data in the report, nothing here reads the clock.
/**
 * The audit's outputs: metrics (names the template's alarms and dashboard use), the JSON report's
 * S3 key and file, and the terminal table.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { parseTemplate } from '../../scripts/lib/cfnYaml.ts';
import { AuditMetric, addAuditMetrics, type MetricsSink } from '../../shared/audit/metrics.ts';
import {
  formatAuditReport,
  reportKey,
  writeReportToFile,
  writeReportToS3,
} from '../../shared/audit/report.ts';
import type { AuditReport, GroupAudit } from '../../shared/audit/types.ts';

const noMismatches = {
  onlineOlder: 0,
  onlineNewer: 0,
  deletedButOnline: 0,
  valueMismatch: 0,
  onlineOnly: 0,
};
const noExamples = {
  onlineOlder: [],
  onlineNewer: [],
  deletedButOnline: [],
  valueMismatch: [],
  onlineOnly: [],
};

const cardsAudit: GroupAudit = {
  group: 'fraud-cards',
  offline: { identifiers: 100, live: 98, deleted: 2 },
  freshness: {
    newestEventTime: '2026-03-01T09:00:00.000Z',
    seconds: 10_800,
    maxAgeSeconds: 172_800,
    boundSeconds: 108_000,
    boundFrom: 'batch',
    breached: false,
  },
  staleness: {
    maxAgeSeconds: 172_800,
    stale: 49,
    share: 0.5,
    examples: [{ recordId: 'card-7', eventTime: '2026-02-20T00:00:00.000Z', ageSeconds: 820_800 }],
  },
  ttl: {
    ttlSeconds: 7_776_000,
    expiredOffline: 0,
    expiringSoon: 6,
    expiringWithinSeconds: 86_400,
    expiredStillServed: 1,
    expiredStillServedExamples: [
      { recordId: 'card-9', expiresAt: '2026-03-01T11:00:00.000Z', overdueSeconds: 3600 },
    ],
  },
  coherence: {
    sampled: false,
    checked: 98,
    inFlight: 2,
    unread: 0,
    expectedAbsent: { deleted: 2, expired: 0, offlineOnly: 5 },
    scannedOnline: 0,
    mismatches: { ...noMismatches, onlineOlder: 2, valueMismatch: 1 },
    total: 3,
    examples: {
      ...noExamples,
      onlineOlder: [
        {
          recordId: 'card-1',
          offlineEventTime: '2026-03-01T09:00:00.000Z',
          onlineEventTime: '2026-03-01T08:00:00.000Z',
        },
        {
          recordId: 'card-2',
          offlineEventTime: '2026-03-01T08:00:00.000Z',
          onlineEventTime: '2026-03-01T07:30:00.000Z',
        },
      ],
      valueMismatch: [
        {
          recordId: 'card-3',
          offlineEventTime: '2026-03-01T07:00:00.000Z',
          onlineEventTime: '2026-03-01T07:00:00.000Z',
          features: [{ name: 'txn_count_7d', offline: '4', online: '5' }],
        },
      ],
    },
  },
  problems: [],
};

const report: AuditReport = {
  version: 1,
  auditedAt: '2026-03-01T12:00:00.000Z',
  durationMs: 1234,
  engine: 'athena',
  options: {
    marginSeconds: 900,
    sampleSize: null,
    expiringWithinSeconds: 86_400,
    onlineScanLimit: 0,
    examplesPerKind: 20,
  },
  totals: {
    groups: 2,
    failedGroups: 1,
    identifiers: 100,
    stale: 49,
    freshnessBreaches: 0,
    expiredStillServed: 1,
    expiringSoon: 6,
    checked: 98,
    coherenceMismatches: 3,
    mismatches: { ...noMismatches, onlineOlder: 2, valueMismatch: 1 },
  },
  groups: [
    cardsAudit,
    {
      ...cardsAudit,
      group: 'fraud-merchants',
      error: 'OfflineQueryError: Athena query q-1 FAILED: boom',
    },
  ],
};

/** Records what Powertools Metrics would emit: one entry per published dimension set. */
function recorder(): MetricsSink & {
  published: { dimensions: Record<string, string>; metrics: Record<string, [string, number]> }[];
  pending: () => Record<string, [string, number]>;
} {
  let dimensions: Record<string, string> = {};
  let metrics: Record<string, [string, number]> = {};
  const published: {
    dimensions: Record<string, string>;
    metrics: Record<string, [string, number]>;
  }[] = [];
  const sink = {
    published,
    pending: () => metrics,
    addDimension(name: string, value: string) {
      dimensions[name] = value;
      return sink;
    },
    addMetric(name: string, unit: string, value: number) {
      metrics[name] = [unit, value];
      return sink;
    },
    publishStoredMetrics() {
      published.push({ dimensions, metrics });
      dimensions = {};
      metrics = {};
      return sink;
    },
  };
  return sink as never;
}

describe('Function: addAuditMetrics()', () => {
  it('publishes per-group and per-kind metrics and leaves the service totals buffered', () => {
    // Prepare: service totals that differ from one another (the fixture's are 3, 1, 0 and 1),
    // so a total read from the wrong field, or a constant 0, shows in the alarmed metrics.
    const metrics = recorder();
    const totals = {
      ...report.totals,
      coherenceMismatches: 3,
      expiredStillServed: 4,
      freshnessBreaches: 2,
      failedGroups: 1,
    };
    // Act
    addAuditMetrics(metrics, { ...report, totals });
    // Assess: the failed group emits nothing of its own.
    expect(metrics.published[0]).toEqual({
      dimensions: { featureGroup: 'fraud-cards' },
      metrics: {
        FreshnessSeconds: ['Seconds', 10_800],
        StaleShare: ['Percent', 50],
        ExpiredStillServed: ['Count', 1],
        ExpiringSoon: ['Count', 6],
        CoherenceMismatches: ['Count', 3],
        CoherenceChecked: ['Count', 98],
      },
    });
    const byKind = metrics.published.slice(1);
    expect(byKind).toHaveLength(5);
    expect(byKind).toContainEqual({
      dimensions: { featureGroup: 'fraud-cards', kind: 'onlineOlder' },
      metrics: { CoherenceMismatches: ['Count', 2] },
    });
    expect(metrics.pending()).toEqual({
      CoherenceMismatches: ['Count', 3],
      ExpiredStillServed: ['Count', 4],
      FreshnessBreaches: ['Count', 2],
      AuditFailedGroups: ['Count', 1],
    });
  });

  it('emits the metrics the template alarms watch, with their dimensions', () => {
    // Prepare
    const template = parseTemplate(
      readFileSync(new URL('../../template.yaml', import.meta.url), 'utf8')
    );
    const metrics = recorder();
    // Act
    addAuditMetrics(metrics, report);
    // Assess: every Audit* alarm on the Skewless namespace names a service-wide total.
    const alarms = Object.entries(template.Resources)
      .filter(([id, r]) => id.startsWith('Audit') && r.Type === 'AWS::CloudWatch::Alarm')
      .map(
        ([, r]) => r.Properties as { Namespace: string; MetricName: string; Dimensions: unknown }
      );
    const ours = alarms.filter((a) => a.Namespace === 'Skewless');
    expect(ours.map((a) => a.MetricName).sort()).toEqual([
      AuditMetric.coherenceMismatches,
      AuditMetric.expiredStillServed,
      AuditMetric.freshnessBreaches,
    ]);
    for (const alarm of ours) {
      expect(alarm.Dimensions).toEqual([{ Name: 'service', Value: 'skewless' }]);
      expect(Object.keys(metrics.pending())).toContain(alarm.MetricName);
    }
    const dashboard = JSON.stringify(template.Resources.Dashboard?.Properties);
    for (const name of [AuditMetric.freshnessSeconds, AuditMetric.staleShare]) {
      expect(dashboard).toContain(name);
    }
  });
});

describe('Function: writeReportToS3()', () => {
  it('puts the JSON report under audit/, partitioned by day', async () => {
    // Prepare
    const s3 = mockClient(S3Client);
    s3.on(PutObjectCommand).resolves({});
    // Act
    const location = await writeReportToS3(new S3Client({}), 'reports', report);
    // Assess
    const key = 'audit/year=2026/month=03/day=01/audit-2026-03-01T12-00-00.000Z.json';
    expect(location).toBe(`s3://reports/${key}`);
    expect(reportKey(report)).toBe(key);
    const input = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ Bucket: 'reports', Key: key, ContentType: 'application/json' });
    expect(JSON.parse(String(input?.Body))).toEqual(report);
    s3.restore();
  });
});

describe('Function: writeReportToFile()', () => {
  it('writes audit-<time>.json in the directory', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'skewless-audit-report-'));
    try {
      // Act
      const path = await writeReportToFile(join(dir, 'reports'), report);
      // Assess
      expect(path).toBe(join(dir, 'reports', 'audit-2026-03-01T12-00-00.000Z.json'));
      expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(report);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Function: formatAuditReport()', () => {
  it('prints one line per group and the worst examples of each finding', () => {
    // Act
    const text = formatAuditReport(report);
    // Assess
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      'Skewless audit at 2026-03-01T12:00:00.000Z (athena, 1234 ms, margin 900s)'
    );
    expect(lines[2]).toMatch(/^group\s+identifiers\s+freshness\s+max age\s+stale/);
    expect(lines[3]).toMatch(
      /^fraud-cards\s+100\s+3\.0h\s+2\.0d\s+49 \(50\.0%\)\s+6\s+1\s+98\s+2\s+3$/
    );
    expect(lines[4]).toMatch(/^fraud-merchants\s+FAILED$/);
    expect(lines[2]).toMatch(/\s+checked\s+in flight\s+mismatches$/);
    expect(text).toContain(
      '  online older (offline has a newer write): 2\n    card-1  offline 2026-03-01T09:00:00.000Z, online 2026-03-01T08:00:00.000Z'
    );
    expect(text).toContain(
      '    card-3  offline 2026-03-01T07:00:00.000Z, online 2026-03-01T07:00:00.000Z  [txn_count_7d: 4 != 5]'
    );
    expect(text).toContain('    card-9  expired 2026-03-01T11:00:00.000Z (60m ago)');
    expect(text).toContain('  error: OfflineQueryError: Athena query q-1 FAILED: boom');
    expect(lines.at(-1)).toBe(
      '3 mismatch(es) in 98 identifier(s) checked, 1 expired record(s) still served, 0 group(s) not fresh, 1 group(s) failed'
    );
  });

  it("counts a batch-fed group's overdue drop as not fresh, not as past its max age", () => {
    // A drop 31 h old: within the 2-day max age, beyond cadence + max delay (30 h).
    const overdue: GroupAudit = {
      ...cardsAudit,
      freshness: { ...cardsAudit.freshness, seconds: 111_600, breached: true },
    };
    const text = formatAuditReport({
      ...report,
      totals: { ...report.totals, freshnessBreaches: 1 },
      groups: [overdue],
    });
    expect(text).toContain('1 group(s) not fresh');
    expect(text).not.toContain('past max age');
  });
});

/**
 * One audit run over the feature groups: per group, the offline summary (freshness, staleness,
 * TTL counts) by one SQL statement, the oldest stale identifiers by another, then the coherence
 * check of the latest offline row of every identifier (or a sample) against its online record.
 */
import type { OfflineQueryEngine, SqlValue } from '../offline/engine.ts';
import { epochNanosToMillis } from '../record/eventTime.ts';
import type { LogSink } from '../runtime/powertools.ts';
import { durationSeconds, type FeatureGroup, freshnessBound } from '../schema/index.ts';
import type { OnlineRecord } from '../store/onlineReader.ts';
import { type ClassifyContext, classify } from './classify.ts';
import { cellText, decodeOfflineRow, eventTimeNanos, type OfflineLatest } from './decode.ts';
import {
  candidateKey,
  candidateOf,
  type FirstSeen,
  type InFlightLedger,
  MemoryLedger,
} from './inFlight.ts';
import type { OnlineSide } from './online.ts';
import {
  latestRowsOfSql,
  latestRowsSql,
  SummaryColumn,
  staleExamplesSql,
  summarySql,
} from './sql.ts';
import {
  type AuditOptions,
  type AuditReport,
  type ExpiredExample,
  type GroupAudit,
  MISMATCH_KINDS,
  type MismatchExample,
  type MismatchKind,
  type StaleExample,
} from './types.ts';
import { WorstExamples } from './worst.ts';

/** The engine members the audit uses (any {@link OfflineQueryEngine} fits). */
type AuditEngine = Pick<OfflineQueryEngine, 'dialect' | 'tableFor' | 'query' | 'queryAll'>;

interface AuditDependencies {
  readonly engine: AuditEngine;
  readonly online: OnlineSide;
  /** Epoch ms; default `Date.now`. */
  readonly now?: () => number;
  readonly logger?: Pick<LogSink, 'info' | 'warn'>;
  /**
   * When earlier runs first saw each online version missing offline. Default: a fresh in-memory
   * ledger (nothing seen before, so every such version is in flight this run).
   */
  readonly inFlight?: InFlightLedger;
  /**
   * The caller guarantees that nothing is in flight: every write the online store holds has
   * reached the offline store (e.g. it flushed an embedded store nobody else writes to). Online
   * versions missing offline are then mismatches at once.
   */
  readonly offlineComplete?: boolean;
}

/** The first-seen instants of earlier runs, and those of this run as it goes. */
interface InFlightRun {
  readonly previous: FirstSeen;
  readonly next: Map<string, number>;
}

type ResolvedOptions = Required<Omit<AuditOptions, 'sampleSize'>> & {
  readonly sampleSize: number | undefined;
};

/** Every option with its default filled in. */
function resolveAuditOptions(options: AuditOptions = {}): ResolvedOptions {
  return {
    marginSeconds: options.marginSeconds ?? 900,
    sampleSize: options.sampleSize,
    expiringWithinSeconds: options.expiringWithinSeconds ?? 86_400,
    onlineScanLimit: options.onlineScanLimit ?? 0,
    examplesPerKind: options.examplesPerKind ?? 20,
  };
}

/** Identifiers per slice handed to the online reader. */
const ONLINE_SLICE_SIZE = 500;
/**
 * Slices handed to the online side at once, so the SQL stream reads ahead while they are read. The
 * online side's own limit, shared by every read, bounds the calls in flight (`ONLINE_CALLS_IN_FLIGHT`).
 */
const ONLINE_CONCURRENCY = 4;

/** Identifiers looked up by an `IN (…)` list per statement, for the online-only check. */
const LOOKUP_BATCH = 500;

function count(value: SqlValue | undefined): number {
  if (value === null || value === undefined) return 0;
  return Number(value);
}

function zeroByKind(): Record<MismatchKind, number> {
  return Object.fromEntries(MISMATCH_KINDS.map((k) => [k, 0])) as Record<MismatchKind, number>;
}

/** Tallies of one group's coherence check, filled as identifiers are classified. */
class CoherenceTally {
  readonly mismatches = zeroByKind();
  readonly examples: Record<MismatchKind, WorstExamples<MismatchExample>>;
  readonly expired: WorstExamples<ExpiredExample>;
  checked = 0;
  inFlight = 0;
  unread = 0;
  expiredStillServed = 0;
  absentDeleted = 0;
  absentExpired = 0;
  absentOfflineOnly = 0;

  constructor(examplesPerKind: number) {
    this.examples = Object.fromEntries(
      MISMATCH_KINDS.map((k) => [k, new WorstExamples<MismatchExample>(examplesPerKind)])
    ) as Record<MismatchKind, WorstExamples<MismatchExample>>;
    this.expired = new WorstExamples<ExpiredExample>(examplesPerKind);
  }
}

class GroupAuditor {
  private readonly group: FeatureGroup;
  private readonly deps: AuditDependencies;
  private readonly options: ResolvedOptions;
  private readonly nowMs: number;
  private readonly tally: CoherenceTally;
  private readonly problems: string[] = [];
  private readonly context: ClassifyContext;
  private readonly inFlight: InFlightRun;

  constructor(
    group: FeatureGroup,
    deps: AuditDependencies,
    options: ResolvedOptions,
    nowMs: number,
    inFlight: InFlightRun
  ) {
    this.group = group;
    this.deps = deps;
    this.options = options;
    this.nowMs = nowMs;
    this.inFlight = inFlight;
    this.tally = new CoherenceTally(options.examplesPerKind);
    this.context = { nowMs, ttl: group.online?.ttl };
  }

  private problem(text: string): void {
    if (this.problems.length < this.options.examplesPerKind) this.problems.push(text);
  }

  async run(): Promise<GroupAudit> {
    const { group, nowMs, options } = this;
    const { engine } = this.deps;
    const table = await engine.tableFor(group);
    const maxAgeSeconds = group.maxAge === undefined ? undefined : durationSeconds(group.maxAge);
    const ttl = this.context.ttl;
    const ttlSeconds = ttl === undefined ? undefined : durationSeconds(ttl);
    const staleBefore = maxAgeSeconds === undefined ? undefined : nowMs - maxAgeSeconds * 1000;
    const summary =
      (
        await engine.queryAll(
          summarySql(group, table, {
            staleBefore,
            expiredAtOrBefore: ttlSeconds === undefined ? undefined : nowMs - ttlSeconds * 1000,
            expiringAtOrBefore:
              ttlSeconds === undefined
                ? undefined
                : nowMs + (options.expiringWithinSeconds - ttlSeconds) * 1000,
          })
        )
      ).rows[0] ?? {};
    const identifiers = count(summary[SummaryColumn.identifiers]);
    const deleted = count(summary[SummaryColumn.deleted]);
    const live = identifiers - deleted;
    const stale = count(summary[SummaryColumn.stale]);
    const newestEventTime = cellText(summary[SummaryColumn.newestEventTime]) ?? null;
    const newestNanos =
      newestEventTime === null ? undefined : eventTimeNanos(summary[SummaryColumn.newestEventTime]);
    const freshnessSeconds =
      newestNanos === undefined ? null : (nowMs - epochNanosToMillis(newestNanos)) / 1000;
    // A batch-fed group is fresh while its drops keep landing on cadence (schema module).
    const bound = freshnessBound(group);

    const staleExamples: StaleExample[] = [];
    if (staleBefore !== undefined && stale > 0 && options.examplesPerKind > 0) {
      const { rows } = await engine.queryAll(
        staleExamplesSql(group, table, staleBefore, options.examplesPerKind)
      );
      for (const row of rows) {
        const eventTime = cellText(row.event_time) ?? '';
        const nanos = eventTimeNanos(row.event_time);
        staleExamples.push({
          recordId: cellText(row.record_id) ?? '',
          eventTime,
          ageSeconds: nanos === undefined ? 0 : (nowMs - epochNanosToMillis(nanos)) / 1000,
        });
      }
    }

    const sampled = options.sampleSize !== undefined && group.online !== undefined;
    let scannedOnline = 0;
    if (group.online !== undefined) scannedOnline = await this.checkCoherence(table);

    const t = this.tally;
    const total = MISMATCH_KINDS.reduce((sum, k) => sum + t.mismatches[k], 0);
    return {
      group: group.name,
      offline: { identifiers, live, deleted },
      freshness: {
        newestEventTime,
        seconds: freshnessSeconds,
        maxAgeSeconds: maxAgeSeconds ?? null,
        boundSeconds: bound?.seconds ?? null,
        boundFrom: bound?.from ?? null,
        breached:
          freshnessSeconds !== null && bound !== undefined && freshnessSeconds > bound.seconds,
      },
      staleness: {
        maxAgeSeconds: maxAgeSeconds ?? null,
        stale,
        share: live === 0 ? 0 : stale / live,
        examples: staleExamples,
      },
      ttl: {
        ttlSeconds: ttlSeconds ?? null,
        expiredOffline: count(summary[SummaryColumn.expiredOffline]),
        expiringSoon: count(summary[SummaryColumn.expiringSoon]),
        expiringWithinSeconds: options.expiringWithinSeconds,
        expiredStillServed: t.expiredStillServed,
        expiredStillServedExamples: t.expired.list(),
      },
      coherence: {
        sampled,
        checked: t.checked,
        inFlight: t.inFlight,
        unread: t.unread,
        expectedAbsent: {
          deleted: t.absentDeleted,
          expired: t.absentExpired,
          offlineOnly: t.absentOfflineOnly,
        },
        scannedOnline,
        mismatches: { ...t.mismatches },
        total,
        examples: Object.fromEntries(
          MISMATCH_KINDS.map((k) => [k, t.examples[k].list()])
        ) as Record<MismatchKind, MismatchExample[]>,
      },
      problems: [...this.problems],
    };
  }

  /** Decodes offline rows; undecodable ones are reported as problems and left out. */
  private decode(rows: readonly Readonly<Record<string, SqlValue>>[]): OfflineLatest[] {
    const latest: OfflineLatest[] = [];
    for (const row of rows) {
      const decoded = decodeOfflineRow(this.group, row);
      if (decoded.ok) latest.push(decoded.value);
      else this.problem(`offline row ${decoded.problem.recordId}: ${decoded.problem.reason}`);
    }
    return latest;
  }

  /** Reads the online records of the given identifiers and classifies each one. */
  private async compare(
    offline: readonly OfflineLatest[],
    onlineOnly: readonly string[] = []
  ): Promise<void> {
    const ids = [...offline.map((o) => o.recordId), ...onlineOnly];
    if (ids.length === 0) return;
    const { found, unread } = await this.deps.online.read(this.group, ids);
    const byId = new Map<string, OnlineRecord>(found.map((r) => [r.recordId, r]));
    const unreadIds = new Set(unread.map((u) => u.recordId));
    this.tally.unread += unreadIds.size;
    for (const id of unreadIds) this.keepEarlier(id);
    for (const u of unread.slice(0, 1)) this.problem(`online read of ${u.recordId}: ${u.reason}`);
    for (const o of offline) {
      if (!unreadIds.has(o.recordId)) this.record(o.recordId, o, byId.get(o.recordId));
    }
    for (const id of onlineOnly) {
      if (!unreadIds.has(id)) this.record(id, undefined, byId.get(id));
    }
  }

  private record(
    recordId: string,
    offline: OfflineLatest | undefined,
    online: OnlineRecord | undefined
  ): void {
    const t = this.tally;
    const verdict = classify(this.group, offline, online, this.context);
    switch (verdict.kind) {
      case 'nothing':
        return;
      case 'expiredStillServed':
        t.expiredStillServed += 1;
        t.expired.add(verdict.overdueMs, {
          recordId,
          expiresAt: verdict.expiresAt,
          overdueSeconds: verdict.overdueMs / 1000,
        });
        return;
      case 'expectedAbsent':
        t.checked += 1;
        if (verdict.reason === 'deleted') t.absentDeleted += 1;
        else if (verdict.reason === 'expired') t.absentExpired += 1;
        else t.absentOfflineOnly += 1;
        return;
      case 'coherent':
        t.checked += 1;
        return;
      case 'mismatch':
        t.checked += 1;
        t.mismatches[verdict.mismatch] += 1;
        t.examples[verdict.mismatch].add(verdict.severity, verdict.example);
        return;
      case 'onlineAhead': {
        // Judged by write time: the version was written before it was first seen missing.
        t.checked += 1;
        const key = candidateKey(this.group.name, recordId, verdict.mismatch, verdict.version);
        const firstSeen = this.inFlight.previous.get(key) ?? this.nowMs;
        this.inFlight.next.set(key, firstSeen);
        const confirmed =
          this.deps.offlineComplete === true ||
          this.nowMs - firstSeen >= this.options.marginSeconds * 1000;
        if (!confirmed) {
          t.inFlight += 1;
          return;
        }
        t.mismatches[verdict.mismatch] += 1;
        t.examples[verdict.mismatch].add(verdict.severity, verdict.example);
        return;
      }
    }
  }

  /** Identifier → this group's ledger keys from earlier runs (built on first use). */
  private earlierKeys: Map<string, string[]> | undefined;

  private earlierKeysById(): Map<string, string[]> {
    if (this.earlierKeys === undefined) {
      this.earlierKeys = new Map();
      for (const key of this.inFlight.previous.keys()) {
        const candidate = candidateOf(key);
        if (candidate?.group !== this.group.name) continue;
        const keys = this.earlierKeys.get(candidate.recordId) ?? [];
        keys.push(key);
        this.earlierKeys.set(candidate.recordId, keys);
      }
    }
    return this.earlierKeys;
  }

  /** Identifiers of this group that earlier runs saw in flight: compared again whatever the sample. */
  private earlierCandidates(): Set<string> {
    return new Set(this.earlierKeysById().keys());
  }

  /**
   * Keeps the first-seen instants earlier runs noted for an identifier this run could not read
   * (throttled): without them its clock would start again at the next run that reads it, and a
   * write only online would be reported a margin late, or never while every other run throttles.
   */
  private keepEarlier(recordId: string): void {
    for (const key of this.earlierKeysById().get(recordId) ?? []) {
      const firstSeen = this.inFlight.previous.get(key);
      if (firstSeen !== undefined && !this.inFlight.next.has(key)) {
        this.inFlight.next.set(key, firstSeen);
      }
    }
  }

  /**
   * Compares every identifier (streamed page by page, `ONLINE_SLICE_SIZE` at a time) or a sample;
   * then the identifiers earlier runs saw in flight that this pass did not cover, and, with the
   * online scan on, the listed identifiers the offline side did not cover.
   * @returns how many identifiers the scan listed
   */
  private async checkCoherence(table: string): Promise<number> {
    const { group, options } = this;
    const { engine } = this.deps;
    const seen = options.onlineScanLimit > 0 ? new Set<string>() : undefined;
    const earlier = this.earlierCandidates();
    const remember = (latest: readonly OfflineLatest[]) => {
      for (const o of latest) {
        seen?.add(o.recordId);
        earlier.delete(o.recordId);
      }
    };
    if (options.sampleSize === undefined) {
      let pending: OfflineLatest[] = [];
      const inFlight = new Set<Promise<void>>();
      const dispatch = async (batch: OfflineLatest[]) => {
        const task = this.compare(batch).finally(() => inFlight.delete(task));
        inFlight.add(task);
        // Bounded: the SQL stream waits while enough slices are being read.
        if (inFlight.size >= ONLINE_CONCURRENCY) await Promise.race(inFlight);
      };
      for await (const page of engine.query(latestRowsSql(group, table))) {
        const latest = this.decode(page.rows);
        remember(latest);
        pending.push(...latest);
        while (pending.length >= ONLINE_SLICE_SIZE) {
          await dispatch(pending.slice(0, ONLINE_SLICE_SIZE));
          pending = pending.slice(ONLINE_SLICE_SIZE);
        }
      }
      if (pending.length > 0) await dispatch(pending);
      await Promise.all(inFlight);
    } else {
      const { rows } = await engine.queryAll(
        latestRowsSql(group, table, { size: options.sampleSize })
      );
      const latest = this.decode(rows);
      remember(latest);
      await this.compare(latest);
    }
    const scan =
      seen === undefined
        ? { recordIds: [] }
        : await this.deps.online.list(group, options.onlineScanLimit);
    const listed = scan.recordIds;
    if (scan.stoppedBy !== undefined) {
      this.problem(
        `online scan stopped after ${listed.length} identifiers: ${scan.stoppedBy}; identifiers only online beyond them were not looked for this run`
      );
    }
    const unknown = listed.filter((id) => !seen?.has(id));
    const listedUnknown = new Set(unknown);
    for (const id of earlier) if (!listedUnknown.has(id)) unknown.push(id);
    for (let i = 0; i < unknown.length; i += LOOKUP_BATCH) {
      const ids = unknown.slice(i, i + LOOKUP_BATCH);
      // A full pass already saw every offline identifier: the rest has no offline row at all.
      const latest =
        options.sampleSize === undefined
          ? []
          : this.decode((await engine.queryAll(latestRowsOfSql(group, table, ids))).rows);
      const covered = new Set(latest.map((o) => o.recordId));
      await this.compare(
        latest,
        ids.filter((id) => !covered.has(id))
      );
    }
    return listed.length;
  }
}

/** Earlier first-seen entries of groups this run did not audit (failed or left out): kept. */
function carryOver(previous: FirstSeen, next: Map<string, number>, audited: Set<string>): void {
  for (const [key, firstSeen] of previous) {
    const group = candidateOf(key)?.group;
    if (group !== undefined && !audited.has(group) && !next.has(key)) next.set(key, firstSeen);
  }
}

function failedGroup(group: FeatureGroup, error: unknown, options: ResolvedOptions): GroupAudit {
  const e = error as { name?: string; message?: string };
  return {
    group: group.name,
    offline: { identifiers: 0, live: 0, deleted: 0 },
    freshness: {
      newestEventTime: null,
      seconds: null,
      maxAgeSeconds: null,
      boundSeconds: null,
      boundFrom: null,
      breached: false,
    },
    staleness: { maxAgeSeconds: null, stale: 0, share: 0, examples: [] },
    ttl: {
      ttlSeconds: null,
      expiredOffline: 0,
      expiringSoon: 0,
      expiringWithinSeconds: options.expiringWithinSeconds,
      expiredStillServed: 0,
      expiredStillServedExamples: [],
    },
    coherence: {
      sampled: false,
      checked: 0,
      inFlight: 0,
      unread: 0,
      expectedAbsent: { deleted: 0, expired: 0, offlineOnly: 0 },
      scannedOnline: 0,
      mismatches: zeroByKind(),
      total: 0,
      examples: Object.fromEntries(MISMATCH_KINDS.map((k) => [k, []])) as unknown as Record<
        MismatchKind,
        MismatchExample[]
      >,
    },
    problems: [],
    error: `${e.name ?? 'Error'}: ${e.message ?? String(error)}`,
  };
}

/**
 * Audits the given feature groups one after the other and builds the report. A group that cannot
 * be audited (its table is missing, a query failed) is reported with `error` set; the others
 * still run. Groups without an offline store are skipped: every check starts from it.
 *
 * @example
 * ```typescript
 * import { featureGroups } from '../definitions.ts';
 * import { createDuckDbEngine } from '../offline/duckdb.ts';
 * import { createFeatureStoreClient } from '../runtime/clients.ts';
 * import { createOnlineSide } from './online.ts';
 * import { runAudit } from './runAudit.ts';
 *
 * const engine = await createDuckDbEngine({ dataDir: '.skewless' });
 * const online = createOnlineSide(createFeatureStoreClient());
 * const report = await runAudit(featureGroups, { engine, online }, { marginSeconds: 10 });
 * console.log(report.totals.coherenceMismatches);
 * ```
 *
 * @param groups - the feature groups to audit
 * @param deps - the offline engine, the online side, the clock and a logger
 * @param options - margin, sampling, horizons; see {@link AuditOptions}
 */
async function runAudit(
  groups: readonly FeatureGroup[],
  deps: AuditDependencies,
  options: AuditOptions = {}
): Promise<AuditReport> {
  const resolved = resolveAuditOptions(options);
  const started = performance.now();
  const nowMs = (deps.now ?? Date.now)();
  const ledger = deps.inFlight ?? new MemoryLedger();
  const inFlight: InFlightRun = { previous: await ledger.load(), next: new Map() };
  const audited = new Set<string>();
  const audits: GroupAudit[] = [];
  for (const group of groups) {
    // Everything starts from the offline store: an online-only group (derived state) has none.
    if (group.offline === undefined) {
      deps.logger?.info(`audit skips ${group.name}: it has no offline store`);
      continue;
    }
    try {
      audits.push(await new GroupAuditor(group, deps, resolved, nowMs, inFlight).run());
      audited.add(group.name);
    } catch (error) {
      deps.logger?.warn(`audit of ${group.name} failed`, { error });
      audits.push(failedGroup(group, error, resolved));
    }
  }
  carryOver(inFlight.previous, inFlight.next, audited);
  await ledger.save(inFlight.next);
  const mismatches = zeroByKind();
  for (const a of audits)
    for (const k of MISMATCH_KINDS) mismatches[k] += a.coherence.mismatches[k];
  const sum = (pick: (a: GroupAudit) => number) => audits.reduce((n, a) => n + pick(a), 0);
  return {
    version: 1,
    auditedAt: new Date(nowMs).toISOString(),
    durationMs: Math.round(performance.now() - started),
    engine: deps.engine.dialect.name,
    options: {
      marginSeconds: resolved.marginSeconds,
      sampleSize: resolved.sampleSize ?? null,
      expiringWithinSeconds: resolved.expiringWithinSeconds,
      onlineScanLimit: resolved.onlineScanLimit,
      examplesPerKind: resolved.examplesPerKind,
    },
    totals: {
      groups: audits.length,
      failedGroups: audits.filter((a) => a.error !== undefined).length,
      identifiers: sum((a) => a.offline.identifiers),
      stale: sum((a) => a.staleness.stale),
      freshnessBreaches: audits.filter((a) => a.freshness.breached).length,
      expiredStillServed: sum((a) => a.ttl.expiredStillServed),
      expiringSoon: sum((a) => a.ttl.expiringSoon),
      checked: sum((a) => a.coherence.checked),
      coherenceMismatches: sum((a) => a.coherence.total),
      mismatches,
    },
    groups: audits,
  };
}

export type { AuditDependencies, AuditEngine, ResolvedOptions };
export { runAudit };

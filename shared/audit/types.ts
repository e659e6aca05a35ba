/**
 * The vocabulary of the audit: the kinds of disagreement between the stores, the options of one
 * run and the JSON report it produces. The report is plain JSON (no bigint, no Date) so it can be
 * written to S3 or a file as is and read back by any tool.
 */

/**
 * How the online record of an identifier can disagree with the offline store. An identifier with
 * offline rows and nothing online is not among them: offline-only history (a backfill) is normal.
 * The kinds where the online store is ahead (`onlineNewer`, `valueMismatch`, `onlineOnly`) may be
 * a write still on its way to the offline store; they count only once the same online version has
 * been missing offline for at least the margin (judged by write time, see `InFlightLedger`).
 */
const MismatchKind = {
  /** The latest offline row is live and newer than the online record: an offline-only newer write. */
  onlineOlder: 'onlineOlder',
  /** The online record is newer than every offline row: a write that reached only the online store. */
  onlineNewer: 'onlineNewer',
  /** The latest offline row is a delete marker newer than the online record, which is still served. */
  deletedButOnline: 'deletedButOnline',
  /** Same event time on both sides, but feature values differ (compared decoded). */
  valueMismatch: 'valueMismatch',
  /** The online store has the identifier, the offline store has no row for it at all. */
  onlineOnly: 'onlineOnly',
} as const;
type MismatchKind = (typeof MismatchKind)[keyof typeof MismatchKind];

/** Every kind, in report order. */
const MISMATCH_KINDS: readonly MismatchKind[] = Object.values(MismatchKind);

/** Options of one audit run; every member has a default (see `resolveAuditOptions`). */
interface AuditOptions {
  /**
   * How long a write may take to reach the offline store (the offline delivery delay), in
   * seconds. An online version missing offline is a mismatch only once it has been seen missing
   * for at least this long (it was written at least this long ago); before, it is in flight.
   * Default 900 (15 min, the AWS offline delivery delay).
   */
  readonly marginSeconds?: number;
  /**
   * Compare at most this many identifiers per group (a uniform random sample of the latest rows
   * outside the margin). Undefined compares every identifier.
   */
  readonly sampleSize?: number;
  /** Horizon of "expiring soon" in seconds (default 86,400: the next day). */
  readonly expiringWithinSeconds?: number;
  /**
   * List at most this many online identifiers per group with ListRecords to find identifiers that
   * exist only online (0, the default, skips the scan).
   */
  readonly onlineScanLimit?: number;
  /** Worst examples kept per finding (default 20). */
  readonly examplesPerKind?: number;
}

/** One identifier that disagrees, with what each side holds. */
interface MismatchExample {
  readonly recordId: string;
  /** Event time of the latest offline row, as stored (absent for `onlineOnly`). */
  readonly offlineEventTime?: string;
  /** Event time of the online record. */
  readonly onlineEventTime?: string;
  /** For `valueMismatch`: each differing feature, decoded values rendered as text. */
  readonly features?: readonly { name: string; offline: string | null; online: string | null }[];
}

interface StaleExample {
  readonly recordId: string;
  readonly eventTime: string;
  readonly ageSeconds: number;
}

interface ExpiredExample {
  readonly recordId: string;
  readonly expiresAt: string;
  /** How long ago the record should have disappeared. */
  readonly overdueSeconds: number;
}

/** The audit of one feature group. */
interface GroupAudit {
  readonly group: string;
  /** Latest rows per identifier in the offline store. */
  readonly offline: {
    readonly identifiers: number;
    readonly live: number;
    readonly deleted: number;
  };
  readonly freshness: {
    /** Newest event time written to the offline store (any row, delete markers included). */
    readonly newestEventTime: string | null;
    /** now − newestEventTime; null when the group has no offline rows. */
    readonly seconds: number | null;
    readonly maxAgeSeconds: number | null;
    /**
     * What `seconds` is held against: `batch.cadence + batch.maxDelay` for a batch-fed group (a
     * drop did not land), else `maxAge`; null when the group declares neither.
     */
    readonly boundSeconds: number | null;
    readonly boundFrom: 'batch' | 'maxAge' | null;
    /** seconds > boundSeconds (false when either is unknown). */
    readonly breached: boolean;
  };
  readonly staleness: {
    readonly maxAgeSeconds: number | null;
    /** Live identifiers whose latest row is older than maxAge. */
    readonly stale: number;
    /** stale / live (0 when there is no live identifier). */
    readonly share: number;
    /** Oldest first. */
    readonly examples: readonly StaleExample[];
  };
  readonly ttl: {
    readonly ttlSeconds: number | null;
    /** Live offline identifiers whose event time + TTL has passed: rightly absent online. */
    readonly expiredOffline: number;
    /** Live offline identifiers whose event time + TTL falls within the horizon. */
    readonly expiringSoon: number;
    readonly expiringWithinSeconds: number;
    /** Online records returned with an ExpiresAt in the past (must be 0). */
    readonly expiredStillServed: number;
    readonly expiredStillServedExamples: readonly ExpiredExample[];
  };
  readonly coherence: {
    /** True when only a sample of the identifiers was compared. */
    readonly sampled: boolean;
    /** Identifiers compared with the online store. */
    readonly checked: number;
    /**
     * Identifiers whose online version is not (yet) offline but was first seen missing less than
     * the margin ago: writes on their way to the offline store, not mismatches (yet).
     */
    readonly inFlight: number;
    /** Identifiers the online store did not answer for (throttled or failed calls). */
    readonly unread: number;
    /**
     * Absent online as expected: deleted offline, past their TTL, or offline-only history (live
     * offline rows never written online, e.g. a backfill).
     */
    readonly expectedAbsent: {
      readonly deleted: number;
      readonly expired: number;
      readonly offlineOnly: number;
    };
    /** Identifiers found online by the ListRecords scan (0 when the scan is off). */
    readonly scannedOnline: number;
    readonly mismatches: Readonly<Record<MismatchKind, number>>;
    /** Sum of `mismatches`. */
    readonly total: number;
    /** Worst examples per kind. */
    readonly examples: Readonly<Record<MismatchKind, readonly MismatchExample[]>>;
  };
  /** Rows that could not be decoded through the schema module, and other non-fatal problems. */
  readonly problems: readonly string[];
  /** Set when the group could not be audited at all; the other figures are then zero. */
  readonly error?: string;
}

/** The JSON report of one audit run. */
interface AuditReport {
  readonly version: 1;
  /** ISO instant the audit measured against ("now"). */
  readonly auditedAt: string;
  readonly durationMs: number;
  /** `athena` or `duckdb`. */
  readonly engine: string;
  readonly options: {
    readonly marginSeconds: number;
    readonly sampleSize: number | null;
    readonly expiringWithinSeconds: number;
    readonly onlineScanLimit: number;
    readonly examplesPerKind: number;
  };
  readonly totals: {
    readonly groups: number;
    readonly failedGroups: number;
    readonly identifiers: number;
    readonly stale: number;
    readonly freshnessBreaches: number;
    readonly expiredStillServed: number;
    readonly expiringSoon: number;
    readonly checked: number;
    readonly coherenceMismatches: number;
    readonly mismatches: Readonly<Record<MismatchKind, number>>;
  };
  readonly groups: readonly GroupAudit[];
}

export type {
  AuditOptions,
  AuditReport,
  ExpiredExample,
  GroupAudit,
  MismatchExample,
  StaleExample,
};
export { MISMATCH_KINDS, MismatchKind };

/**
 * The coherence verdict for one identifier: its latest offline state against its online record.
 * Pure and synchronous, so every rule is unit-testable without a store.
 */
import { createHash } from 'node:crypto';
import { epochNanosToMillis } from '../record/eventTime.ts';
import { expiresAtNanos, isExpiredAt, parseExpiresAt } from '../record/expiry.ts';
import type { Duration, FeatureGroup } from '../schema/index.ts';
import type { OnlineRecord } from '../store/onlineReader.ts';
import { differingFeatures, eventTimeNanos, type OfflineLatest } from './decode.ts';
import { type MismatchExample, MismatchKind } from './types.ts';

/** The instants a verdict depends on. */
interface ClassifyContext {
  /** Now, epoch ms. */
  readonly nowMs: number;
  /** The group's default online TTL, if any. */
  readonly ttl: Duration | undefined;
}

/** A disagreement: its kind, what each side holds and how bad it is. */
interface Disagreement {
  readonly mismatch: MismatchKind;
  readonly example: MismatchExample;
  /** Larger is worse; examples are kept worst first. */
  readonly severity: number;
}

/** What the comparison found for one identifier. */
type Verdict =
  | { readonly kind: 'coherent' }
  /** Online returned a record whose ExpiresAt has passed: a TTL failure, not a coherence one. */
  | { readonly kind: 'expiredStillServed'; readonly expiresAt: string; readonly overdueMs: number }
  /** Absent online, as it should be. */
  | { readonly kind: 'expectedAbsent'; readonly reason: 'deleted' | 'expired' | 'offlineOnly' }
  /** Neither store has anything to compare (a listed identifier gone by the time it was read). */
  | { readonly kind: 'nothing' }
  /** The offline store is ahead of, or disagrees with, what online serves: a mismatch now. */
  | ({ readonly kind: 'mismatch' } & Disagreement)
  /**
   * The online version is not in the offline store: a write on its way there (in flight) or one
   * that reached only the online store. Which one depends on when it was written, which only
   * time tells: the caller confirms it once it has been missing for the margin. `version` names
   * the online version (identifier, event time and values), so a rewrite starts the clock again.
   */
  | ({ readonly kind: 'onlineAhead'; readonly version: string } & Disagreement);

function onlineEventTimeText(group: FeatureGroup, online: OnlineRecord): string {
  return String((online.values as Record<string, unknown>)[group.eventTime] ?? '');
}

/** A stable name of the online version: a digest of its decoded values. */
function versionOf(online: OnlineRecord): string {
  const canonical = Object.entries(online.values as Record<string, unknown>)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => [k, typeof v === 'bigint' ? `${v}n` : v]);
  return createHash('sha256')
    .update(JSON.stringify([online.recordId, canonical]))
    .digest('base64url')
    .slice(0, 22);
}

function mismatch(
  kind: MismatchKind,
  severity: number,
  example: MismatchExample
): Extract<Verdict, { kind: 'mismatch' }> {
  return { kind: 'mismatch', mismatch: kind, severity, example };
}

function onlineAhead(
  online: OnlineRecord,
  kind: MismatchKind,
  severity: number,
  example: MismatchExample
): Extract<Verdict, { kind: 'onlineAhead' }> {
  return { kind: 'onlineAhead', mismatch: kind, severity, example, version: versionOf(online) };
}

/**
 * Compares the latest offline state of an identifier with its online record, under the group's
 * semantics: online holds the latest write by event time (a put at an equal event time
 * overwrites; a delete applies only when strictly newer), the offline store holds every write,
 * including offline-only ones, and its latest row is the first by event time DESC, then live
 * before deleted, then `api_invocation_time` DESC, then `write_time` DESC.
 *
 * Rules, in order: an online record past its `ExpiresAt` is `expiredStillServed`. Absent online:
 * expected after a delete, past the TTL, or for offline-only history (a backfill is offline-only
 * by design). The offline store strictly ahead of online is a mismatch now (a write cannot reach
 * the offline store before the online one): `onlineOlder` (a newer live row), `deletedButOnline`
 * (a newer delete). The online version missing offline is `onlineAhead` (`onlineOnly`,
 * `onlineNewer`, or `valueMismatch` at an equal event time): in flight or online-only, for the
 * caller to judge by write time.
 *
 * @param group - the feature group both sides belong to
 * @param offline - the latest offline state, or undefined when the offline store has no row
 * @param online - the online record read with expiration, or undefined when absent
 * @param context - now and the TTL
 */
function classify(
  group: FeatureGroup,
  offline: OfflineLatest | undefined,
  online: OnlineRecord | undefined,
  context: ClassifyContext
): Verdict {
  if (online?.expiresAt !== undefined) {
    // The store's own rule, in nanoseconds: an ExpiresAt with sub-millisecond digits is still
    // served during the millisecond it falls in.
    const expiresAt = parseExpiresAt(online.expiresAt);
    if (expiresAt !== undefined && isExpiredAt(expiresAt, context.nowMs)) {
      return {
        kind: 'expiredStillServed',
        expiresAt: online.expiresAt,
        overdueMs: context.nowMs - epochNanosToMillis(expiresAt),
      };
    }
  }
  const onlineText = online === undefined ? undefined : onlineEventTimeText(group, online);
  const onlineNanos = onlineText === undefined ? undefined : eventTimeNanos(onlineText);
  if (offline === undefined) {
    if (online === undefined) return { kind: 'nothing' };
    return onlineAhead(online, MismatchKind.onlineOnly, epochNanosToMillis(onlineNanos ?? 0n), {
      recordId: online.recordId,
      onlineEventTime: onlineText,
    });
  }
  const base = { recordId: offline.recordId, offlineEventTime: offline.eventTime };
  if (online === undefined) {
    if (offline.deleted) return { kind: 'expectedAbsent', reason: 'deleted' };
    if (
      context.ttl !== undefined &&
      isExpiredAt(expiresAtNanos(offline.eventTimeNanos, context.ttl), context.nowMs)
    ) {
      return { kind: 'expectedAbsent', reason: 'expired' };
    }
    // Offline-only history (a backfill), never written online: not a mismatch.
    return { kind: 'expectedAbsent', reason: 'offlineOnly' };
  }
  const example = { ...base, onlineEventTime: onlineText };
  const onlineAt = onlineNanos ?? 0n;
  const gapMs = Math.abs(epochNanosToMillis(onlineAt - offline.eventTimeNanos));
  if (onlineAt > offline.eventTimeNanos) {
    return onlineAhead(online, MismatchKind.onlineNewer, gapMs, example);
  }
  if (offline.deleted) {
    // A delete at the online record's own event time does not apply (the record stands), so the
    // offline store must also hold that record at that time, ranked before the marker: the
    // online version is missing offline.
    if (onlineAt === offline.eventTimeNanos) {
      return onlineAhead(online, MismatchKind.valueMismatch, 1, example);
    }
    return mismatch(
      MismatchKind.deletedButOnline,
      epochNanosToMillis(offline.eventTimeNanos),
      example
    );
  }
  if (onlineAt < offline.eventTimeNanos) return mismatch(MismatchKind.onlineOlder, gapMs, example);
  const features = differingFeatures(
    group,
    offline.values,
    online.values as Record<string, unknown>
  );
  if (features.length === 0) return { kind: 'coherent' };
  return onlineAhead(online, MismatchKind.valueMismatch, features.length, {
    ...example,
    features,
  });
}

export type { ClassifyContext, Disagreement, Verdict };
export { classify };

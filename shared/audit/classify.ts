/**
 * The coherence verdict for one identifier: its latest offline state against its online record.
 * Pure and synchronous, so every rule is unit-testable without a store.
 */
import { epochNanosToMillis } from '../record/eventTime.ts';
import type { FeatureGroup } from '../schema/index.ts';
import type { OnlineRecord } from '../store/onlineReader.ts';
import { differingFeatures, eventTimeNanos, type OfflineLatest } from './decode.ts';
import { type MismatchExample, MismatchKind } from './types.ts';

/** The instants a verdict depends on. */
interface ClassifyContext {
  /** Now, epoch ms. */
  readonly nowMs: number;
  /** Event times after this (epoch ms) may still be on their way to the offline store. */
  readonly recentAfterMs: number;
  /** The group's default online TTL, if any. */
  readonly ttlSeconds: number | undefined;
}

/** What the comparison found for one identifier. */
type Verdict =
  | { readonly kind: 'coherent' }
  /** An event time inside the margin: not compared. */
  | { readonly kind: 'skippedRecent' }
  /** Online returned a record whose ExpiresAt has passed: a TTL failure, not a coherence one. */
  | { readonly kind: 'expiredStillServed'; readonly expiresAt: string; readonly overdueMs: number }
  /** Absent online, as it should be. */
  | { readonly kind: 'expectedAbsent'; readonly reason: 'deleted' | 'expired' }
  /** Neither store has anything to compare (a listed identifier gone by the time it was read). */
  | { readonly kind: 'nothing' }
  | {
      readonly kind: 'mismatch';
      readonly mismatch: MismatchKind;
      readonly example: MismatchExample;
      /** Larger is worse; examples are kept worst first. */
      readonly severity: number;
    };

function onlineEventTimeText(group: FeatureGroup, online: OnlineRecord): string {
  return String((online.values as Record<string, unknown>)[group.eventTime] ?? '');
}

function mismatch(
  kind: MismatchKind,
  severity: number,
  example: MismatchExample
): Extract<Verdict, { kind: 'mismatch' }> {
  return { kind: 'mismatch', mismatch: kind, severity, example };
}

/**
 * Compares the latest offline state of an identifier with its online record.
 *
 * Rules, in order: an online record past its `ExpiresAt` is `expiredStillServed`; an event time
 * (either side) after `recentAfterMs` skips the identifier; an identifier only online is
 * `onlineOnly`; a delete marker expects nothing online (else `onlineNewer` when the online record
 * is newer than the delete, `deletedButOnline` otherwise); a live row absent online is expected
 * when event time + TTL has passed and `missingOnline` otherwise; then event times are compared
 * (`onlineOlder` / `onlineNewer`) and, when equal, the decoded values (`valueMismatch`).
 *
 * @param group - the feature group both sides belong to
 * @param offline - the latest offline state, or undefined when the offline store has no row
 * @param online - the online record read with expiration, or undefined when absent
 * @param context - now, the margin and the TTL
 */
function classify(
  group: FeatureGroup,
  offline: OfflineLatest | undefined,
  online: OnlineRecord | undefined,
  context: ClassifyContext
): Verdict {
  if (online?.expiresAt !== undefined) {
    const expiresMs = Date.parse(online.expiresAt);
    if (Number.isFinite(expiresMs) && expiresMs <= context.nowMs) {
      return {
        kind: 'expiredStillServed',
        expiresAt: online.expiresAt,
        overdueMs: context.nowMs - expiresMs,
      };
    }
  }
  const recentAfterNanos = BigInt(Math.floor(context.recentAfterMs)) * 1_000_000n;
  const onlineText = online === undefined ? undefined : onlineEventTimeText(group, online);
  const onlineNanos = onlineText === undefined ? undefined : eventTimeNanos(onlineText);
  if (
    (offline !== undefined && offline.eventTimeNanos > recentAfterNanos) ||
    (onlineNanos !== undefined && onlineNanos > recentAfterNanos)
  ) {
    return { kind: 'skippedRecent' };
  }
  if (offline === undefined) {
    if (online === undefined) return { kind: 'nothing' };
    return mismatch(MismatchKind.onlineOnly, epochNanosToMillis(onlineNanos ?? 0n), {
      recordId: online.recordId,
      onlineEventTime: onlineText,
    });
  }
  const base = { recordId: offline.recordId, offlineEventTime: offline.eventTime };
  if (online === undefined) {
    if (offline.deleted) return { kind: 'expectedAbsent', reason: 'deleted' };
    const expiresMs =
      context.ttlSeconds === undefined
        ? undefined
        : epochNanosToMillis(offline.eventTimeNanos) + context.ttlSeconds * 1000;
    if (expiresMs !== undefined && expiresMs <= context.nowMs) {
      return { kind: 'expectedAbsent', reason: 'expired' };
    }
    // The most recent missing values hurt most: they are what the model should be reading now.
    return mismatch(MismatchKind.missingOnline, epochNanosToMillis(offline.eventTimeNanos), base);
  }
  const example = { ...base, onlineEventTime: onlineText };
  const onlineAt = onlineNanos ?? 0n;
  const gapMs = Math.abs(epochNanosToMillis(onlineAt - offline.eventTimeNanos));
  if (offline.deleted) {
    return onlineAt > offline.eventTimeNanos
      ? mismatch(MismatchKind.onlineNewer, gapMs, example)
      : mismatch(
          MismatchKind.deletedButOnline,
          epochNanosToMillis(offline.eventTimeNanos),
          example
        );
  }
  if (onlineAt < offline.eventTimeNanos) return mismatch(MismatchKind.onlineOlder, gapMs, example);
  if (onlineAt > offline.eventTimeNanos) return mismatch(MismatchKind.onlineNewer, gapMs, example);
  const features = differingFeatures(
    group,
    offline.values,
    online.values as Record<string, unknown>
  );
  if (features.length === 0) return { kind: 'coherent' };
  return mismatch(MismatchKind.valueMismatch, features.length, { ...example, features });
}

export type { ClassifyContext, Verdict };
export { classify };

/**
 * Whether an earlier run on this data dir sent the demo's first payment (`txn-demo-0001`): an id
 * names one payment, so it is sent once per feature group. The online store alone cannot tell:
 * past the group's online TTL (30 days for fraud-transactions) it no longer serves the record, and
 * a restart then sent the payment again, two payments under one id in the offline store. So the
 * demo also keeps a note in the data dir, tied to the group's creation time: a store wiped (or a
 * group created anew) holds no earlier payment, whatever the note says. The note is taken when
 * the stream takes the payment, before the ingest writes it: a payment noted and not served while
 * still within the online TTL never reached the store (the local stream is in memory), and is sent
 * again.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** `<data dir>/demo-first-payment.json`: the first payment as sent, and to which group. */
const NOTE_FILE = 'demo-first-payment.json';

interface FirstPaymentNote {
  readonly transactionId: string;
  readonly eventTime: string;
  /** CreationTime of the feature group it was sent to (DescribeFeatureGroup), ISO-8601. */
  readonly featureGroupCreationTime: string;
}

/** The demo's first payment as an earlier run sent it. */
interface EarlierFirstPayment {
  readonly eventTime: string;
  /** The online store still serves it (false: past the online TTL, kept offline only). */
  readonly served: boolean;
}

/**
 * Notes in the data dir that the first payment was sent to the group created at
 * `groupCreationTime` (written over any earlier note).
 */
function noteFirstPaymentSent(
  dataDir: string,
  payment: { readonly transactionId: string; readonly eventTime: string },
  groupCreationTime: Date
): void {
  const note: FirstPaymentNote = {
    transactionId: payment.transactionId,
    eventTime: payment.eventTime,
    featureGroupCreationTime: groupCreationTime.toISOString(),
  };
  writeFileSync(join(dataDir, NOTE_FILE), `${JSON.stringify(note, null, 2)}\n`);
}

/** The noted first payment's event time, when the note is of the group created at that time. */
function notedFirstPayment(
  dataDir: string,
  transactionId: string,
  groupCreationTime: Date
): string | undefined {
  let note: Partial<FirstPaymentNote>;
  try {
    note = JSON.parse(readFileSync(join(dataDir, NOTE_FILE), 'utf8')) as Partial<FirstPaymentNote>;
  } catch {
    // None (a data dir of a first run, or of a version before the note): the online store tells.
    return undefined;
  }
  if (
    note.transactionId !== transactionId ||
    typeof note.eventTime !== 'string' ||
    note.featureGroupCreationTime !== groupCreationTime.toISOString()
  ) {
    return undefined;
  }
  return note.eventTime;
}

/**
 * The demo's first payment when an earlier run on this data dir sent it to the group as it exists
 * now: what the online store serves, else what the data dir notes when the noted payment is past
 * the online TTL (a younger one the store does not serve was lost with the earlier run's stream).
 * A payment found online and not noted yet (a data dir of an earlier version) is noted now, while
 * it is still served.
 *
 * @example
 * ```typescript
 * const earlier = await earlierFirstPayment({
 *   dataDir, transactionId: 'txn-demo-0001', groupCreationTime, served: () => servedEventTime(),
 *   onlineTtlMs: 30 * 86_400_000, nowMs: storeClock.now(),
 * });
 * producer.start({ firstPayment: earlier === undefined });
 * ```
 */
async function earlierFirstPayment(options: {
  readonly dataDir: string;
  readonly transactionId: string;
  readonly groupCreationTime: Date;
  /** The event time of the record the online store serves under the id, if any. */
  readonly served: () => Promise<string | undefined>;
  /** The group's online TTL (undefined: none, a record stays served). */
  readonly onlineTtlMs: number | undefined;
  /** Now by the store's clock, which expires records. */
  readonly nowMs: number;
}): Promise<EarlierFirstPayment | undefined> {
  const { dataDir, transactionId, groupCreationTime, onlineTtlMs, nowMs } = options;
  const noted = notedFirstPayment(dataDir, transactionId, groupCreationTime);
  const served = await options.served();
  if (served !== undefined) {
    if (noted === undefined) {
      noteFirstPaymentSent(dataDir, { transactionId, eventTime: served }, groupCreationTime);
    }
    return { eventTime: served, served: true };
  }
  const expired = onlineTtlMs !== undefined && nowMs - Date.parse(noted ?? '') >= onlineTtlMs;
  return noted === undefined || !expired ? undefined : { eventTime: noted, served: false };
}

export type { EarlierFirstPayment };
export { earlierFirstPayment, noteFirstPaymentSent };

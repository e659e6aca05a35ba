/**
 * The dead letter: one rejected Kinesis record with everything needed to understand it and send
 * it again. The payload is kept exactly as received (the base64 `data` of the Kinesis record);
 * only when a letter would exceed its destination's size limit is the payload gzipped, and only
 * if even that does not fit is it truncated, with its SHA-256 and the shard and sequence number
 * to re-read it from the stream.
 */
import { createHash } from 'node:crypto';
import type { Rejection, RejectionProblem } from './errors.ts';
import type { KinesisSource } from './kinesisRecord.ts';

/**
 * node:zlib, loaded the first time a letter needs it (one too big for its destination, or its
 * redrive): a static import would load it at every cold start of the ingest function (~1 ms of
 * import CPU: medians of 41 interleaved imports of the bundle, 49.0 → 48.1 ms) for letters that
 * are rare.
 */
const zlib = (): typeof import('node:zlib') => process.getBuiltinModule('node:zlib');

/** How {@link DeadLetterPayload.data} is encoded. */
const PayloadEncoding = {
  /** The Kinesis `data` field exactly as received. */
  Base64: 'base64',
  /** base64 of the gzip of the decoded Kinesis data (only when the letter would not fit). */
  GzipBase64: 'gzip+base64',
} as const;
type PayloadEncoding = (typeof PayloadEncoding)[keyof typeof PayloadEncoding];

interface DeadLetterPayload {
  readonly encoding: PayloadEncoding;
  readonly data: string;
  /** Size of the decoded Kinesis data in bytes. */
  readonly bytes: number;
  /** SHA-256 (hex) of the decoded Kinesis data, to check a redrive or a re-read from the stream. */
  readonly sha256: string;
  /** True when `data` was cut to fit the destination; re-read the record from the stream. */
  readonly truncated: boolean;
}

/** One dead-lettered record, as written to SQS (message body) or a JSONL line. */
interface DeadLetter {
  readonly version: 1;
  readonly source: 'skewless-ingest';
  /** ISO-8601 time the record was dead-lettered. */
  readonly deadLetteredAt: string;
  readonly stage: Rejection['stage'];
  readonly reason: string;
  readonly problems: readonly RejectionProblem[];
  /** Target group, or null when the payload never named a known one. */
  readonly featureGroup: string | null;
  readonly recordIdentifier: string | null;
  readonly kinesis: KinesisSource;
  readonly payload: DeadLetterPayload;
}

/**
 * Build the dead letter of a rejected record.
 *
 * @example
 * ```typescript
 * import { buildDeadLetter } from './deadLetter.ts';
 *
 * const letter = buildDeadLetter(record.kinesis.data, kinesisSourceOf(record), rejected);
 * ```
 */
function buildDeadLetter(
  data: string,
  kinesis: KinesisSource,
  rejected: Rejection,
  now: Date = new Date()
): DeadLetter {
  const decoded = Buffer.from(data, 'base64');
  return {
    version: 1,
    source: 'skewless-ingest',
    deadLetteredAt: now.toISOString(),
    stage: rejected.stage,
    reason: rejected.reason,
    problems: rejected.problems,
    featureGroup: rejected.featureGroup ?? null,
    recordIdentifier: rejected.recordIdentifier ?? null,
    kinesis,
    payload: {
      encoding: PayloadEncoding.Base64,
      // Kept as received even when it is not valid base64: that is the evidence.
      data,
      bytes: decoded.length,
      sha256: createHash('sha256').update(decoded).digest('hex'),
      truncated: false,
    },
  };
}

/**
 * The fields of ingest's `record dead-lettered` WARN line for `letter` sent to `destination`: its
 * stage and reason, and its record identifier (as the writers encode it and the store would hold
 * it) when the record had a valid one, so an operator finds the record from the log line as from
 * the letter. The shard, sequence number and group come from the record's log wrapper.
 *
 * @example
 * ```typescript
 * import { buildDeadLetter, deadLetteredLogFields } from './deadLetter.ts';
 *
 * log.warn('record dead-lettered', deadLetteredLogFields(letter, sink.destination));
 * // { stage: 'validate', reason: '…', recordIdentifier: 'tx-0001', deadLetterDestination: '…' }
 * ```
 */
function deadLetteredLogFields(letter: DeadLetter, destination: string): Record<string, unknown> {
  return {
    stage: letter.stage,
    reason: letter.reason,
    ...(letter.recordIdentifier === null ? {} : { recordIdentifier: letter.recordIdentifier }),
    deadLetterDestination: destination,
  };
}

/**
 * Serialise a letter to JSON text of at most `maxBytes` UTF-8 bytes: as is when it fits, else
 * with the payload gzipped, else with the payload truncated (reason, problems, shard and
 * sequence number are always kept). Characters SQS refuses (U+FFFE, U+FFFF) are escaped.
 */
function serializeDeadLetter(letter: DeadLetter, maxBytes: number): string {
  const plain = toJson(letter);
  if (Buffer.byteLength(plain) <= maxBytes) return plain;
  const canonical =
    Buffer.from(letter.payload.data, 'base64').toString('base64') === letter.payload.data;
  if (canonical) {
    const gzipped = zlib().gzipSync(Buffer.from(letter.payload.data, 'base64')).toString('base64');
    const compressed = toJson({
      ...letter,
      payload: { ...letter.payload, encoding: PayloadEncoding.GzipBase64, data: gzipped },
    });
    if (Buffer.byteLength(compressed) <= maxBytes) return compressed;
  }
  const shell = toJson({ ...letter, payload: { ...letter.payload, data: '', truncated: true } });
  const room = Math.max(0, maxBytes - Buffer.byteLength(shell));
  // base64 is ASCII (one byte per character): keep whole 4-character groups. Invalid "base64"
  // may hold wider characters, hence the loop until it fits.
  let kept = letter.payload.data.slice(0, room - (room % 4));
  for (;;) {
    const text = toJson({ ...letter, payload: { ...letter.payload, data: kept, truncated: true } });
    const excess = Buffer.byteLength(text) - maxBytes;
    if (excess <= 0 || kept.length === 0) return text;
    kept = kept.slice(0, Math.max(0, kept.length - excess - 4));
  }
}

/**
 * The Kinesis data bytes of a dead letter, whatever its payload encoding: what a redrive puts
 * back on the stream.
 *
 * @throws Error when the payload was truncated (re-read the record from the stream instead)
 */
function deadLetterPayloadBytes(letter: Pick<DeadLetter, 'payload' | 'kinesis'>): Buffer {
  if (letter.payload.truncated) {
    throw new Error(
      `payload of ${letter.kinesis.shardId} @ ${letter.kinesis.sequenceNumber} was truncated; ` +
        're-read it from the stream (GetShardIterator AT_SEQUENCE_NUMBER)'
    );
  }
  const raw = Buffer.from(letter.payload.data, 'base64');
  return letter.payload.encoding === PayloadEncoding.GzipBase64 ? zlib().gunzipSync(raw) : raw;
}

function toJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\uFFFE\uFFFF]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16)}`
  );
}

export type { DeadLetter, DeadLetterPayload };
export {
  buildDeadLetter,
  deadLetteredLogFields,
  deadLetterPayloadBytes,
  PayloadEncoding,
  serializeDeadLetter,
};

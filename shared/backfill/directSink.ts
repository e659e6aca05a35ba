import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import {
  encodeOfflineParquet,
  type OfflineCell,
  offlineCell,
  offlineFileStamp,
  offlineFileSuffix,
  offlinePartition,
} from '../offline/parquetFile.ts';
import type { EncodedRecord } from '../record/codec.ts';
import { NANOS_PER_SECOND } from '../record/eventTime.ts';
import { describeFeatureGroup } from '../store/describeGroup.ts';
import type { DescribedGroup, DirectTarget } from './offlineTarget.ts';
import {
  OfflineStoreNotWritableError,
  type PendingPart,
  type RowSink,
  type SinkCheckpoint,
  type SinkEvents,
  StoreRefusedError,
  WriteMode,
} from './sink.ts';
import type { SourceObject } from './types.ts';

/**
 * Direct offline mode: validated rows become Parquet objects in the group's offline store
 * location (`ResolvedOutputS3Uri`), in the service's layout and types — what the Feature Store
 * Spark connector does with `target_stores=["OfflineStore"]`. No PutRecord, no write units.
 *
 * Rows are buffered into a **part** (up to `partBytes` of record bytes); a part becomes one
 * object per hourly partition of the event time (one row group each). Exactly once, per source
 * object version:
 *  1. before any object of a part is written, the part's intent (its first and one-past-last row
 *     and its write time) is saved in the backfill's state (compare-and-swap, under the lease);
 *  2. object names are derived from (source object version, part start, partition), never random;
 *  3. a resumed invocation that finds an intent rebuilds exactly that part (same rows, same write
 *     time) before anything else, so its objects replace the earlier ones byte for byte.
 * A redelivered event or a duplicated continuation therefore overwrites, never adds.
 */

/** S3 answers meaning "this function cannot write there", as opposed to a transient failure. */
const NOT_WRITABLE = new Set([
  'AccessDenied',
  'NoSuchBucket',
  'AllAccessDisabled',
  'KMS.AccessDeniedException',
  'KMS.DisabledException',
  'KMS.NotFoundException',
]);

function isNotWritable(error: unknown): boolean {
  const e = error as { name?: string; Code?: string } | null;
  return NOT_WRITABLE.has(e?.name ?? '') || NOT_WRITABLE.has(e?.Code ?? '');
}

/** The rows of one hourly partition of a part, column by column. */
interface PartitionRows {
  readonly partition: string;
  readonly cells: OfflineCell[][];
  /** Per row: how many earlier rows of the part have its identifier and event time. */
  readonly repeats: number[];
  rows: number;
  maxSeconds: number;
}

interface Part {
  readonly partitions: Map<number, PartitionRows>;
  readonly indices: number[];
  /** Identifier and event time → rows of the part with them so far. */
  readonly seen: Map<string, number>;
  /** The largest entry of any partition's `repeats`. */
  maxRepeat: number;
  bytes: number;
}

interface DirectSinkOptions {
  readonly s3: S3Client;
  readonly target: DirectTarget;
  readonly source: SourceObject;
  readonly events: SinkEvents;
  /** A part is written when its rows reach this many record bytes. */
  readonly partBytes: number;
  /** …or this many rows. */
  readonly partMaxRows: number;
  /** Objects written at once. */
  readonly putConcurrency: number;
  readonly now: () => number;
  /** The part a previous invocation was writing (from the state): rebuilt first, identically. */
  readonly pendingPart?: PendingPart;
  readonly directParts: number;
  /** Saves the backfill state (with {@link DirectOfflineSink.checkpoint}) under the lease. */
  readonly saveIntent: () => Promise<void>;
}

function emptyPart(): Part {
  return { partitions: new Map(), indices: [], seen: new Map(), maxRepeat: 0, bytes: 0 };
}

/** Whole seconds (floor) of an epoch-nanosecond instant. */
function epochSeconds(nanos: bigint): number {
  const s = nanos / NANOS_PER_SECOND;
  return Number(nanos < 0n && s * NANOS_PER_SECOND !== nanos ? s - 1n : s);
}

class DirectOfflineSink implements RowSink {
  private readonly options: DirectSinkOptions;
  private readonly columnIndex: Map<string, number>;
  private part = emptyPart();
  /** The part being written (its objects), at most one at a time. */
  private writing: Promise<void> = Promise.resolve();
  private writingRows = 0;
  private intent: PendingPart | undefined;
  private replay: PendingPart | undefined;
  /** The earliest write time of the next part: later than the last part's rows. */
  private nextWriteTimeMs = 0;
  private parts: number;
  /** Set by a failed part: nothing more is written in this invocation (its intent must stay). */
  private failure: unknown;
  /** The location turned out not writable before anything was written: records mode from now. */
  private notWritable = false;
  private readonly limit: ReturnType<typeof pLimit>;

  constructor(options: DirectSinkOptions) {
    this.options = options;
    this.columnIndex = new Map(options.target.columns.map((c, i) => [c.n, i]));
    this.replay = options.pendingPart;
    this.intent = options.pendingPart;
    this.parts = options.directParts;
    this.limit = pLimit(options.putConcurrency);
  }

  get pending(): number {
    return this.part.indices.length + this.writingRows;
  }

  async add(index: number, record: EncodedRecord): Promise<void> {
    if (this.replay !== undefined && index >= this.replay.end) await this.startWrite();
    this.append(index, record);
    if (
      this.replay === undefined &&
      (this.part.bytes >= this.options.partBytes ||
        this.part.indices.length >= this.options.partMaxRows)
    ) {
      await this.startWrite();
    }
  }

  async makeRoom(): Promise<void> {
    if (this.writingRows > 0) await this.writing;
    else await this.startWrite();
  }

  async drain(): Promise<void> {
    await this.startWrite();
    await this.writing;
  }

  canStopBefore(index: number): boolean {
    return this.replay === undefined || index >= this.replay.end;
  }

  checkpoint(): SinkCheckpoint {
    if (this.notWritable) return { writeMode: WriteMode.Records };
    return {
      writeMode: WriteMode.Direct,
      directParts: this.parts,
      ...(this.intent !== undefined ? { pendingPart: this.intent } : {}),
    };
  }

  private append(index: number, record: EncodedRecord): void {
    const { columns } = this.options.target;
    const seconds = epochSeconds(record.eventTimeEpochNanos);
    const hour = Math.floor(seconds / 3600);
    let rows = this.part.partitions.get(hour);
    if (rows === undefined) {
      rows = {
        partition: offlinePartition(seconds),
        cells: columns.map(() => []),
        repeats: [],
        rows: 0,
        maxSeconds: seconds,
      };
      this.part.partitions.set(hour, rows);
    }
    // The schema module encodes features in definition order, which is the columns' order: walk
    // both together (no lookups); a feature out of that order is placed by name.
    const values = record.record;
    let k = 0;
    for (let c = 0; c < columns.length; c++) {
      const column = columns[c] as DirectTarget['columns'][number];
      const fv = values[k];
      if (fv !== undefined && fv.FeatureName === column.n) {
        k += 1;
        (rows.cells[c] as OfflineCell[]).push(
          fv.ValueAsString === undefined ? null : offlineCell(column.t, fv.ValueAsString)
        );
      } else {
        (rows.cells[c] as OfflineCell[]).push(null);
      }
    }
    for (; k < values.length; k++) {
      const fv = values[k] as (typeof values)[number];
      const c = this.columnIndex.get(fv.FeatureName as string);
      if (c === undefined || fv.ValueAsString === undefined) continue;
      const cells = rows.cells[c] as OfflineCell[];
      cells[cells.length - 1] = offlineCell(
        (columns[c] as DirectTarget['columns'][number]).t,
        fv.ValueAsString
      );
    }
    rows.rows += 1;
    const instant = `${record.recordIdentifier}\u0000${record.eventTimeEpochNanos}`;
    const repeat = this.part.seen.get(instant) ?? 0;
    this.part.seen.set(instant, repeat + 1);
    rows.repeats.push(repeat);
    if (repeat > this.part.maxRepeat) this.part.maxRepeat = repeat;
    if (seconds > rows.maxSeconds) rows.maxSeconds = seconds;
    this.part.indices.push(index);
    this.part.bytes += record.sizeBytes;
  }

  /** Waits for the part being written, then starts writing the buffered one. */
  private async startWrite(): Promise<void> {
    await this.writing;
    const part = this.part;
    if (part.indices.length === 0) return;
    this.part = emptyPart();
    if (this.failure !== undefined) {
      // Behind a failed part: these rows are retried from the checkpoint, with that part first.
      this.options.events.failed(part.indices, this.failure);
      return;
    }
    const intent: PendingPart = this.replay ?? {
      start: part.indices[0] as number,
      end: (part.indices[part.indices.length - 1] as number) + 1,
      // After every api_invocation_time of the previous part (see `write`).
      writeTimeMs: Math.max(this.options.now(), this.nextWriteTimeMs),
    };
    this.nextWriteTimeMs = intent.writeTimeMs + part.maxRepeat + 1;
    this.replay = undefined;
    this.writingRows = part.indices.length;
    this.writing = this.write(part, intent).finally(() => {
      this.writingRows = 0;
    });
  }

  private async write(part: Part, intent: PendingPart): Promise<void> {
    const { s3, target, source, events } = this.options;
    try {
      this.intent = intent;
      await this.options.saveIntent();
      const writeMicros = BigInt(intent.writeTimeMs) * 1000n;
      const seed = `${source.bucket}\n${source.key}\n${source.versionId ?? source.etag}\n${intent.start}`;
      await Promise.all(
        [...part.partitions.values()].map((rows) =>
          this.limit(async () => {
            const name = `${offlineFileStamp(rows.maxSeconds)}_${offlineFileSuffix(`${seed}\n${rows.partition}`)}.parquet`;
            const body = encodeOfflineParquet({
              columns: target.columns,
              cells: rows.cells,
              rows: rows.rows,
              writeMicros,
              // Direct ingestion has no API call: the service sets both to the write time. A
              // row repeating an identifier and event time of the part (a corrected repeat)
              // gets one millisecond more per earlier such row, so that the file's later row
              // ranks first for every reader ("latest" orders by api_invocation_time, and
              // Athena reads timestamps to the millisecond); otherwise they would tie on every
              // column readers order by, and the training set and the audit would pick either.
              apiMicros: rows.repeats.map((repeat) => writeMicros + BigInt(repeat) * 1000n),
              deleted: false,
            });
            await s3.send(
              new PutObjectCommand({
                Bucket: target.bucket,
                Key: `${target.prefix}/${rows.partition}/${name}`,
                Body: body,
                ContentType: 'application/vnd.apache.parquet',
                ...(target.kmsKeyId !== undefined
                  ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: target.kmsKeyId }
                  : {}),
              })
            );
          })
        )
      );
    } catch (error) {
      // Falling back is safe only if no object of this backfill can exist yet; later, the same
      // answer is a refusal no retry changes (the role or the bucket changed): fail, resumable.
      const location = `s3://${target.bucket}/${target.prefix}`;
      const code = (error as { name?: string; Code?: string }).Code ?? (error as Error).name;
      this.notWritable =
        isNotWritable(error) && this.parts === 0 && this.options.pendingPart === undefined;
      this.failure = this.notWritable
        ? new OfflineStoreNotWritableError(
            `${location} is not writable by this function (${(error as Error).name}: ${(error as Error).message}); continuing with offline-only record writes`,
            { cause: error }
          )
        : isNotWritable(error)
          ? new StoreRefusedError(
              `S3 refused PutObject into the offline store location ${location} (${code})`,
              `the function's role needs s3:PutObject on ${location}/* (and kms:GenerateDataKey on the group's KMS key), and the bucket must exist`,
              { cause: error }
            )
          : error;
      if (this.notWritable) this.intent = undefined;
      events.failed(part.indices, this.failure);
      return;
    }
    this.parts += 1;
    this.intent = undefined;
    events.written(part.indices);
  }
}

/**
 * What the backfill needs for direct mode: where a group's offline store is, and a sink that
 * writes Parquet there. The backfill function passes {@link directWrites}; the batch function
 * writes through the service only and leaves them out, so its bundle carries neither the Parquet
 * writer nor the SageMaker control-plane client.
 */
interface DirectWrites {
  readonly describeGroup: (name: string) => Promise<DescribedGroup>;
  readonly createSink: (options: DirectSinkOptions) => RowSink;
}

const directWrites: DirectWrites = {
  describeGroup: describeFeatureGroup,
  createSink: (options) => new DirectOfflineSink(options),
};

export type { DirectSinkOptions, DirectWrites };
export { directWrites };

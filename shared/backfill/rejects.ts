import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { RejectLine, RejectsProgress } from './types.ts';

const CONTENT_TYPE = 'application/x-ndjson';

/**
 * The rejects object (JSON Lines) of one backfill, written across invocations without holding
 * it in memory: lines collect in a buffer; a full buffer becomes a part of a multipart upload
 * whose id and part ETags travel in the checkpoint, along with the unsent remainder (less than
 * one part). A small rejects object is one PutObject at the end.
 */
class RejectsWriter {
  private readonly s3: S3Client;
  private readonly bucket: string;
  private readonly key: string;
  private readonly partBytes: number;
  private uploadId: string | undefined;
  private parts: { partNumber: number; etag: string }[];
  private pending: string;
  private pendingBytes: number;

  constructor(
    s3: S3Client,
    location: { bucket: string; key: string },
    partBytes: number,
    progress: RejectsProgress
  ) {
    this.s3 = s3;
    this.bucket = location.bucket;
    this.key = location.key;
    this.partBytes = partBytes;
    this.uploadId = progress.uploadId;
    this.parts = [...progress.parts];
    this.pending = progress.pending;
    this.pendingBytes = Buffer.byteLength(progress.pending);
  }

  /** Appends a line (synchronously: called the moment a row is finished). */
  add(line: RejectLine): void {
    const text = `${JSON.stringify(line)}\n`;
    this.pending += text;
    this.pendingBytes += Buffer.byteLength(text);
  }

  /** True when a part is ready to upload. */
  get partReady(): boolean {
    return this.pendingBytes >= this.partBytes;
  }

  /** Uploads the buffer as the next part (call between rows, not concurrently with itself). */
  async uploadPart(): Promise<void> {
    const body = this.pending;
    const bytes = this.pendingBytes;
    this.pending = '';
    this.pendingBytes = 0;
    try {
      if (this.uploadId === undefined) {
        const created = await this.s3.send(
          new CreateMultipartUploadCommand({
            Bucket: this.bucket,
            Key: this.key,
            ContentType: CONTENT_TYPE,
          })
        );
        this.uploadId = created.UploadId;
      }
      const partNumber = this.parts.length + 1;
      const out = await this.s3.send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: this.uploadId,
          PartNumber: partNumber,
          Body: body,
        })
      );
      this.parts.push({ partNumber, etag: out.ETag ?? '' });
    } catch (error) {
      // Keep the lines (and anything added meanwhile) for the next attempt or the checkpoint.
      this.pending = body + this.pending;
      this.pendingBytes += bytes;
      throw error;
    }
  }

  /** What the checkpoint keeps. */
  progress(): RejectsProgress {
    return {
      ...(this.uploadId !== undefined ? { uploadId: this.uploadId } : {}),
      parts: [...this.parts],
      pending: this.pending,
    };
  }

  /** Writes the final object: the remaining lines as the last part, or one PutObject. */
  async finish(): Promise<void> {
    if (this.uploadId === undefined) {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.key,
          Body: this.pending,
          // Given explicitly: the SDK cannot tell an empty string from a stream of unknown length.
          ContentLength: this.pendingBytes,
          ContentType: CONTENT_TYPE,
        })
      );
      this.pending = '';
      this.pendingBytes = 0;
      return;
    }
    if (this.pendingBytes > 0) await this.uploadPart();
    await this.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        MultipartUpload: {
          Parts: this.parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })),
        },
      })
    );
  }
}

export { RejectsWriter };

/**
 * Object storage of the local S3 server, on disk under a data directory:
 *
 *   <dataDir>/<bucket>/bucket.json                     creation date, versioning status
 *   <dataDir>/<bucket>/objects/<sha256(key)>/meta.json  the key and its versions
 *   <dataDir>/<bucket>/objects/<sha256(key)>/<versionId>.bin   the bytes of one version
 *   <dataDir>/.staging/…                                 bodies being received
 *
 * Bodies are streamed to a staging file first and committed with a rename, so a reader never
 * sees a half-written object and an unversioned overwrite is atomic. Every commit checks its
 * preconditions and updates the index synchronously (one event-loop turn), which makes
 * conditional writes (`If-None-Match: *`, `If-Match`) atomic among concurrent requests, as they
 * are on S3. Multipart uploads live in memory and in `.staging` until completed; they do not
 * survive a restart.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  copyFileSync,
  createReadStream,
  createWriteStream,
  type Dirent,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  invalidArgument,
  noSuchBucket,
  noSuchKey,
  noSuchUpload,
  noSuchVersion,
  preconditionFailed,
  S3Error,
} from './errors.ts';

/** S3's minimum size of every multipart part except the last. */
const MIN_PART_BYTES = 5 * 1024 * 1024;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const MAX_KEY_BYTES = 1024;

/** One stored version of an object. */
interface StoredVersion {
  /** `null` (the string, as S3 spells it) for objects written while versioning was off. */
  readonly versionId: string;
  /** Hex MD5 of the bytes, or `<hex>-<parts>` for multipart uploads; unquoted. */
  readonly etag: string;
  readonly size: number;
  readonly lastModified: string;
  readonly contentType: string | undefined;
  readonly contentEncoding: string | undefined;
  readonly metadata: Readonly<Record<string, string>>;
  readonly dataFile: string;
}

interface StoredObject {
  readonly key: string;
  /** Oldest first; the current version is the last. */
  versions: StoredVersion[];
}

type Versioning = 'Enabled' | 'Suspended';

interface Bucket {
  readonly name: string;
  readonly createdAt: string;
  versioning: Versioning | undefined;
  readonly objects: Map<string, StoredObject>;
  /** Set for a bucket whose objects are the plain files of a directory (see {@link BucketMount}). */
  readonly mount?: BucketMount;
}

/**
 * A bucket (or a prefix of it) served from a directory that another component writes too: the
 * embedded feature store's offline files, so that `s3://<bucket>/<prefix>…` (the group's
 * `ResolvedOutputS3Uri`) reads and writes the very files DuckDB and the audit read. Keys map to
 * paths (`<prefix>a/b.parquet` → `<directory>/a/b.parquet`); keys outside the prefix are refused
 * (403), files ending in `.tmp` (writes in progress) are not listed. Unversioned; the ETag is
 * derived from size and modification time, as the files are not indexed.
 */
interface BucketMount {
  readonly prefix: string;
  readonly directory: string;
}

/** Attributes a writer gives an object. */
interface ObjectAttributes {
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** PutObject / CompleteMultipartUpload preconditions. */
interface WriteConditions {
  /** `*`: fail with 412 when the key exists. */
  readonly ifNoneMatch?: string;
  /** An ETag (quoted or not): fail unless the current version has it. */
  readonly ifMatch?: string;
}

/** A body received into a staging file. */
interface StagedBody {
  readonly path: string;
  readonly size: number;
  /** Hex MD5. */
  readonly md5: string;
}

interface UploadPart {
  readonly partNumber: number;
  readonly staged: StagedBody;
}

interface MultipartUpload {
  readonly uploadId: string;
  readonly bucket: string;
  readonly key: string;
  readonly attributes: ObjectAttributes;
  readonly parts: Map<number, UploadPart>;
}

/** An ETag without its quotes (and without a weak `W/` marker). */
function unquote(etag: string): string {
  const trimmed = etag.trim();
  return trimmed.startsWith('W/') ? unquote(trimmed.slice(2)) : trimmed.replace(/^"|"$/g, '');
}

/** True when an `If-Match`/`If-None-Match` header value matches an ETag. */
function etagMatches(header: string, etag: string): boolean {
  return header.split(',').some((candidate) => {
    const c = candidate.trim();
    return c === '*' || unquote(c) === etag;
  });
}

function newVersionId(): string {
  // S3 version ids are opaque, URL-safe and about 32 characters long.
  return randomBytes(24).toString('base64url');
}

function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * The on-disk store of the local S3 server.
 *
 * @example
 * ```typescript
 * import { LocalS3Storage } from './local/s3/storage.ts';
 * const storage = new LocalS3Storage('.skewless/s3');
 * storage.createBucket('skewless-backfill');
 * ```
 */
class LocalS3Storage {
  readonly dataDir: string;
  private readonly buckets = new Map<string, Bucket>();
  private readonly uploads = new Map<string, MultipartUpload>();
  private readonly stagingDir: string;

  constructor(dataDir: string) {
    this.dataDir = dataDir;
    this.stagingDir = join(dataDir, '.staging');
    rmSync(this.stagingDir, { recursive: true, force: true });
    mkdirSync(this.stagingDir, { recursive: true });
    this.load();
  }

  private load(): void {
    for (const entry of readdirSync(this.dataDir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const bucketFile = join(this.dataDir, entry.name, 'bucket.json');
      if (!existsSync(bucketFile)) continue;
      const doc = JSON.parse(readFileSync(bucketFile, 'utf8')) as {
        createdAt: string;
        versioning?: Versioning;
      };
      const bucket: Bucket = {
        name: entry.name,
        createdAt: doc.createdAt,
        versioning: doc.versioning,
        objects: new Map(),
      };
      const objectsDir = join(this.dataDir, entry.name, 'objects');
      if (existsSync(objectsDir)) {
        for (const dir of readdirSync(objectsDir)) {
          const metaFile = join(objectsDir, dir, 'meta.json');
          if (!existsSync(metaFile)) continue;
          const object = JSON.parse(readFileSync(metaFile, 'utf8')) as StoredObject;
          if (object.versions.length > 0) bucket.objects.set(object.key, object);
        }
      }
      this.buckets.set(bucket.name, bucket);
    }
  }

  private saveBucket(bucket: Bucket): void {
    const dir = join(this.dataDir, bucket.name);
    mkdirSync(join(dir, 'objects'), { recursive: true });
    writeAtomically(
      join(dir, 'bucket.json'),
      JSON.stringify({ createdAt: bucket.createdAt, versioning: bucket.versioning })
    );
  }

  private objectDir(bucket: string, key: string): string {
    return join(this.dataDir, bucket, 'objects', keyHash(key));
  }

  private saveObject(bucket: string, object: StoredObject): void {
    const dir = this.objectDir(bucket, object.key);
    if (object.versions.length === 0) {
      rmSync(dir, { recursive: true, force: true });
      return;
    }
    mkdirSync(dir, { recursive: true });
    writeAtomically(join(dir, 'meta.json'), JSON.stringify(object));
  }

  /** Buckets in name order. */
  listBuckets(): { name: string; createdAt: string }[] {
    return [...this.buckets.values()]
      .map((b) => ({ name: b.name, createdAt: b.createdAt }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** @returns false when the bucket already existed (S3 answers 200 to its owner in us-east-1). */
  createBucket(name: string): boolean {
    if (!BUCKET_NAME.test(name) || name.includes('..')) {
      throw new S3Error('InvalidBucketName', 400, 'The specified bucket is not valid.', {
        bucket: name,
      });
    }
    if (this.buckets.has(name)) return false;
    const bucket: Bucket = {
      name,
      createdAt: new Date().toISOString(),
      versioning: undefined,
      objects: new Map(),
    };
    this.saveBucket(bucket);
    this.buckets.set(name, bucket);
    return true;
  }

  /** Serves `name` (under `prefix`) from `directory`; not persisted (re-declared at each start). */
  mountBucket(name: string, mount: BucketMount): void {
    mkdirSync(mount.directory, { recursive: true });
    this.buckets.set(name, {
      name,
      createdAt: new Date().toISOString(),
      versioning: undefined,
      objects: new Map(),
      mount: { prefix: mount.prefix, directory: resolve(mount.directory) },
    });
  }

  /** The file of a key in a mounted bucket; keys outside the prefix, or escaping it, are refused. */
  private mountedPath(bucket: Bucket, key: string): string {
    const mount = bucket.mount as BucketMount;
    const rest = key.startsWith(mount.prefix) ? key.slice(mount.prefix.length) : undefined;
    const path = rest === undefined || rest === '' ? undefined : resolve(mount.directory, rest);
    if (path === undefined || !path.startsWith(`${mount.directory}${sep}`)) {
      throw new S3Error('AccessDenied', 403, 'Access Denied', { bucket: bucket.name, key });
    }
    return path;
  }

  private mountedVersion(bucket: Bucket, key: string): StoredVersion | undefined {
    let path: string;
    try {
      path = this.mountedPath(bucket, key);
    } catch {
      return undefined;
    }
    let stats: Stats;
    try {
      stats = statSync(path);
    } catch {
      return undefined;
    }
    if (!stats.isFile()) return undefined;
    return {
      versionId: 'null',
      etag: createHash('md5').update(`${key}:${stats.size}:${stats.mtimeMs}`).digest('hex'),
      size: stats.size,
      lastModified: stats.mtime.toISOString(),
      contentType: undefined,
      contentEncoding: undefined,
      metadata: {},
      dataFile: path,
    };
  }

  bucket(name: string): Bucket {
    const bucket = this.buckets.get(name);
    if (bucket === undefined) throw noSuchBucket(name);
    return bucket;
  }

  deleteBucket(name: string): void {
    const bucket = this.bucket(name);
    if (bucket.mount !== undefined || bucket.objects.size > 0) {
      throw new S3Error('BucketNotEmpty', 409, 'The bucket you tried to delete is not empty', {
        bucket: name,
      });
    }
    rmSync(join(this.dataDir, name), { recursive: true, force: true });
    this.buckets.delete(name);
  }

  setVersioning(name: string, status: Versioning): void {
    const bucket = this.bucket(name);
    if (bucket.mount !== undefined)
      throw new S3Error('NotImplemented', 501, 'A mounted bucket is not versioned');
    bucket.versioning = status;
    this.saveBucket(bucket);
  }

  /** Streams a body into a staging file, computing its size and MD5 on the way. */
  async stage(body: Readable): Promise<StagedBody> {
    const path = join(this.stagingDir, randomUUID());
    const hash = createHash('md5');
    let size = 0;
    try {
      await pipeline(
        body,
        async function* measure(source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            hash.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(path)
      );
    } catch (error) {
      rmSync(path, { force: true });
      throw error;
    }
    return { path, size, md5: hash.digest('hex') };
  }

  /** Drops a staged body that will not be committed. */
  discard(staged: StagedBody): void {
    rmSync(staged.path, { force: true });
  }

  private checkConditions(
    bucket: string,
    key: string,
    current: StoredVersion | undefined,
    conditions: WriteConditions
  ): void {
    if (conditions.ifNoneMatch !== undefined) {
      if (conditions.ifNoneMatch.trim() !== '*') {
        throw new S3Error('NotImplemented', 501, 'If-None-Match on writes only supports "*"');
      }
      if (current !== undefined) throw preconditionFailed(bucket, key);
    }
    if (conditions.ifMatch !== undefined) {
      if (current === undefined) throw noSuchKey(bucket, key);
      if (!etagMatches(conditions.ifMatch, current.etag)) throw preconditionFailed(bucket, key);
    }
  }

  /**
   * Commits a staged body as the new current version of `key`. Synchronous from the checks to
   * the index update, so concurrent conditional writes cannot both succeed.
   */
  commit(
    bucketName: string,
    key: string,
    staged: StagedBody,
    etag: string,
    attributes: ObjectAttributes,
    conditions: WriteConditions = {}
  ): StoredVersion {
    if (Buffer.byteLength(key) > MAX_KEY_BYTES || key.length === 0) {
      this.discard(staged);
      throw new S3Error('KeyTooLongError', 400, 'Your key is too long');
    }
    const bucket = this.bucket(bucketName);
    if (bucket.mount !== undefined)
      return this.commitMounted(bucket, key, staged, etag, conditions);
    const existing = bucket.objects.get(key);
    try {
      this.checkConditions(bucketName, key, existing?.versions.at(-1), conditions);
    } catch (error) {
      this.discard(staged);
      throw error;
    }
    const versionId = bucket.versioning === 'Enabled' ? newVersionId() : 'null';
    const version: StoredVersion = {
      versionId,
      etag,
      size: staged.size,
      lastModified: new Date().toISOString(),
      contentType: attributes.contentType,
      contentEncoding: attributes.contentEncoding,
      metadata: attributes.metadata ?? {},
      dataFile: `${versionId}.bin`,
    };
    const dir = this.objectDir(bucketName, key);
    mkdirSync(dir, { recursive: true });
    renameSync(staged.path, join(dir, version.dataFile));
    const object: StoredObject = existing ?? { key, versions: [] };
    // A 'null' version replaces the previous 'null' version, as on S3.
    object.versions = object.versions.filter((v) => v.versionId !== versionId);
    object.versions.push(version);
    bucket.objects.set(key, object);
    this.saveObject(bucketName, object);
    return version;
  }

  /** A write into a mounted directory: the staged file is renamed into place (atomic for readers). */
  private commitMounted(
    bucket: Bucket,
    key: string,
    staged: StagedBody,
    etag: string,
    conditions: WriteConditions
  ): StoredVersion {
    let path: string;
    try {
      path = this.mountedPath(bucket, key);
      this.checkConditions(bucket.name, key, this.mountedVersion(bucket, key), conditions);
    } catch (error) {
      this.discard(staged);
      throw error;
    }
    mkdirSync(dirname(path), { recursive: true });
    try {
      renameSync(staged.path, path);
    } catch (error) {
      // Staging and the mounted directory on different file systems.
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      copyFileSync(staged.path, `${path}.tmp`);
      renameSync(`${path}.tmp`, path);
      this.discard(staged);
    }
    const version = this.mountedVersion(bucket, key) as StoredVersion;
    return { ...version, etag };
  }

  /** The current version, or the one asked for. */
  version(bucketName: string, key: string, versionId?: string): StoredVersion {
    const bucket = this.bucket(bucketName);
    if (bucket.mount !== undefined) {
      const found = this.mountedVersion(bucket, key);
      if (found === undefined || (versionId !== undefined && versionId !== 'null'))
        throw noSuchKey(bucketName, key);
      return found;
    }
    const object = bucket.objects.get(key);
    if (versionId === undefined) {
      const current = object?.versions.at(-1);
      if (current === undefined) throw noSuchKey(bucketName, key);
      return current;
    }
    const found = object?.versions.find((v) => v.versionId === versionId);
    if (found === undefined) {
      if (!/^[A-Za-z0-9._-]+$/.test(versionId))
        throw invalidArgument('Invalid version id specified');
      throw noSuchVersion(bucketName, key);
    }
    return found;
  }

  /** Path of a version's bytes on disk. */
  dataPath(bucketName: string, key: string, version: StoredVersion): string {
    if (this.bucket(bucketName).mount !== undefined) return version.dataFile;
    return join(this.objectDir(bucketName, key), version.dataFile);
  }

  /**
   * A read stream over `[start, end]` (inclusive) of a version. The file is opened now, in the
   * same turn as the caller resolved the version (and sent its size): a PUT that replaces the
   * object later renames a new file over the path, and this read keeps the bytes it announced.
   * (createReadStream opening the path asynchronously read the next write's bytes, cut to the
   * earlier size: truncated JSON under concurrent state writes.)
   */
  read(bucketName: string, key: string, version: StoredVersion, start: number, end: number) {
    const fd = openSync(this.dataPath(bucketName, key, version), 'r');
    return createReadStream('', { fd, start, end });
  }

  /**
   * Deletes one version, or (without a version id) the whole key. Delete markers are not
   * modelled: deleting the key of a versioned bucket removes all its versions.
   */
  deleteObject(bucketName: string, key: string, versionId?: string): void {
    const bucket = this.bucket(bucketName);
    if (bucket.mount !== undefined) {
      const found = this.mountedVersion(bucket, key);
      if (found !== undefined) rmSync(found.dataFile, { force: true });
      return;
    }
    const object = bucket.objects.get(key);
    if (object === undefined) return;
    const removed =
      versionId === undefined
        ? object.versions
        : object.versions.filter((v) => v.versionId === versionId);
    for (const v of removed) rmSync(this.dataPath(bucketName, key, v), { force: true });
    object.versions = object.versions.filter((v) => !removed.includes(v));
    if (object.versions.length === 0) bucket.objects.delete(key);
    this.saveObject(bucketName, object);
  }

  /** Keys of a bucket in S3's order (UTF-8 binary). */
  sortedKeys(bucketName: string): string[] {
    const bucket = this.bucket(bucketName);
    if (bucket.mount !== undefined) {
      const { prefix, directory } = bucket.mount;
      return listFiles(directory)
        .map((relative) => `${prefix}${relative}`)
        .sort(compareKeys);
    }
    return [...bucket.objects.keys()].sort(compareKeys);
  }

  createUpload(bucketName: string, key: string, attributes: ObjectAttributes): string {
    this.bucket(bucketName);
    const uploadId = randomBytes(32).toString('base64url');
    this.uploads.set(uploadId, {
      uploadId,
      bucket: bucketName,
      key,
      attributes,
      parts: new Map(),
    });
    return uploadId;
  }

  private upload(bucketName: string, key: string, uploadId: string): MultipartUpload {
    const upload = this.uploads.get(uploadId);
    if (upload === undefined || upload.bucket !== bucketName || upload.key !== key) {
      throw noSuchUpload(bucketName, key);
    }
    return upload;
  }

  /** Records a staged part; a part number uploaded again replaces the earlier one. */
  putPart(
    bucketName: string,
    key: string,
    uploadId: string,
    partNumber: number,
    staged: StagedBody
  ): void {
    let upload: MultipartUpload;
    try {
      upload = this.upload(bucketName, key, uploadId);
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
        throw invalidArgument('Part number must be an integer between 1 and 10000, inclusive');
      }
    } catch (error) {
      this.discard(staged);
      throw error;
    }
    const previous = upload.parts.get(partNumber);
    if (previous !== undefined) this.discard(previous.staged);
    upload.parts.set(partNumber, { partNumber, staged });
  }

  /** Assembles the listed parts into the object, with S3's checks and multipart ETag. */
  async completeUpload(
    bucketName: string,
    key: string,
    uploadId: string,
    requested: readonly { partNumber: number; etag: string }[],
    conditions: WriteConditions = {}
  ): Promise<StoredVersion> {
    const upload = this.upload(bucketName, key, uploadId);
    if (requested.length === 0) {
      throw new S3Error(
        'MalformedXML',
        400,
        'The XML you provided was not well-formed or did not validate against our published schema'
      );
    }
    const parts: UploadPart[] = [];
    let previousNumber = 0;
    for (const [index, r] of requested.entries()) {
      if (r.partNumber <= previousNumber) {
        throw new S3Error(
          'InvalidPartOrder',
          400,
          'The list of parts was not in ascending order. The parts list must be specified in order by part number.'
        );
      }
      previousNumber = r.partNumber;
      const part = upload.parts.get(r.partNumber);
      if (part === undefined || unquote(r.etag) !== part.staged.md5) {
        throw new S3Error(
          'InvalidPart',
          400,
          'One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not have matched the part\u2019s entity tag.'
        );
      }
      if (index < requested.length - 1 && part.staged.size < MIN_PART_BYTES) {
        throw new S3Error(
          'EntityTooSmall',
          400,
          'Your proposed upload is smaller than the minimum allowed object size.'
        );
      }
      parts.push(part);
    }
    const target = join(this.stagingDir, randomUUID());
    // One pipeline for all parts: one per part into the same file stream (`end: false`) left
    // each part's listeners on it: a MaxListenersExceededWarning in the log of a large upload.
    await pipeline(async function* () {
      for (const part of parts) yield* createReadStream(part.staged.path);
    }, createWriteStream(target));
    const size = parts.reduce((sum, part) => sum + part.staged.size, 0);
    const digests = parts.map((part) => Buffer.from(part.staged.md5, 'hex'));
    const etag = `${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${parts.length}`;
    const version = this.commit(
      bucketName,
      key,
      { path: target, size, md5: etag },
      etag,
      upload.attributes,
      conditions
    );
    this.abortUpload(bucketName, key, uploadId);
    return version;
  }

  abortUpload(bucketName: string, key: string, uploadId: string): void {
    const upload = this.upload(bucketName, key, uploadId);
    for (const part of upload.parts.values()) this.discard(part.staged);
    this.uploads.delete(uploadId);
  }
}

/** S3's key order: UTF-8 bytes, not UTF-16 code units. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Files under a directory (relative, `/`-separated), without writes in progress (`*.tmp`). */
function listFiles(directory: string): string[] {
  if (!existsSync(directory)) return [];
  return (readdirSync(directory, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((entry) => entry.isFile() && !entry.name.endsWith('.tmp'))
    .map((entry) => relative(directory, join(entry.parentPath, entry.name)).split(sep).join('/'));
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export type {
  Bucket,
  BucketMount,
  MultipartUpload,
  ObjectAttributes,
  StagedBody,
  StoredObject,
  StoredVersion,
  Versioning,
  WriteConditions,
};
export { compareKeys, etagMatches, LocalS3Storage };

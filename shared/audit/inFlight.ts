/**
 * The in-flight ledger: when the audit first saw each online version that the offline store does
 * not hold. Neither store tells when an online record was written, and a late event (an old event
 * time, written just now) is as much "in flight" as a new one, so the margin cannot be applied to
 * event times. Instead an online version missing offline becomes a mismatch only once it has been
 * missing for at least the margin: it was written before it was first seen, so by then it has had
 * the whole delivery delay to reach the offline store. The ledger carries the first-seen instants
 * from one run to the next (S3 on AWS, a file locally).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** First-seen instants (epoch ms) by candidate key (group, identifier, kind, online version). */
type FirstSeen = ReadonlyMap<string, number>;

/** Where the first-seen instants live between runs. */
interface InFlightLedger {
  /** What earlier runs saw (empty the first time). */
  load(): Promise<FirstSeen>;
  /** Replaces the ledger with what this run saw. */
  save(firstSeen: FirstSeen): Promise<void>;
}

/** Entries kept at most (the worst case is a store where everything disagrees). */
const MAX_ENTRIES = 200_000;

interface LedgerDocument {
  readonly version: 1;
  /** `[key, firstSeenMs]` pairs. */
  readonly entries: readonly (readonly [string, number])[];
}

function encode(firstSeen: FirstSeen): string {
  const entries = [...firstSeen].slice(0, MAX_ENTRIES);
  return JSON.stringify({ version: 1, entries } satisfies LedgerDocument);
}

function decode(text: string): Map<string, number> {
  const doc = JSON.parse(text) as Partial<LedgerDocument>;
  const map = new Map<string, number>();
  if (doc.version !== 1 || !Array.isArray(doc.entries)) return map;
  for (const entry of doc.entries) {
    if (Array.isArray(entry) && typeof entry[0] === 'string' && Number.isFinite(entry[1])) {
      map.set(entry[0], entry[1]);
    }
  }
  return map;
}

/** A ledger kept in memory: tests, and callers that audit more than once in one process. */
class MemoryLedger implements InFlightLedger {
  private entries: FirstSeen = new Map();
  load(): Promise<FirstSeen> {
    return Promise.resolve(this.entries);
  }
  save(firstSeen: FirstSeen): Promise<void> {
    this.entries = new Map(firstSeen);
    return Promise.resolve();
  }
}

/** A JSON file (written to a temporary name, then renamed: a crash never leaves half a file). */
class FileLedger implements InFlightLedger {
  readonly path: string;
  constructor(path: string) {
    this.path = path;
  }
  async load(): Promise<FirstSeen> {
    try {
      return decode(await readFile(this.path, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof SyntaxError) {
        return new Map();
      }
      throw error;
    }
  }
  async save(firstSeen: FirstSeen): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    // Unique per save, not per process: two audits saving at once must not rename one file twice.
    const tmp = `${this.path}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(tmp, encode(firstSeen));
    await rename(tmp, this.path);
  }
}

/** An S3 object (the reports bucket on AWS, `audit-state/in-flight.json`). */
class S3Ledger implements InFlightLedger {
  private readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  constructor(client: S3Client, bucket: string, key = 'audit-state/in-flight.json') {
    this.client = client;
    this.bucket = bucket;
    this.key = key;
  }
  async load(): Promise<FirstSeen> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key })
      );
      return decode((await out.Body?.transformToString('utf8')) ?? '');
    } catch (error) {
      const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return new Map();
      if (error instanceof SyntaxError) return new Map();
      throw error;
    }
  }
  async save(firstSeen: FirstSeen): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.key,
        Body: encode(firstSeen),
        ContentType: 'application/json',
      })
    );
  }
}

/** The ledger file next to the report files of a reports directory. */
function ledgerPathIn(reportsDir: string): string {
  return join(reportsDir, 'in-flight-ledger.json');
}

/** The ledger key of one candidate. */
function candidateKey(group: string, recordId: string, kind: string, version: string): string {
  return JSON.stringify([group, recordId, kind, version]);
}

/** The group and identifier of a ledger key (for re-checking earlier candidates). */
function candidateOf(key: string): { group: string; recordId: string } | undefined {
  try {
    const [group, recordId] = JSON.parse(key) as unknown[];
    return typeof group === 'string' && typeof recordId === 'string'
      ? { group, recordId }
      : undefined;
  } catch {
    return undefined;
  }
}

export type { FirstSeen, InFlightLedger };
export { candidateKey, candidateOf, FileLedger, ledgerPathIn, MemoryLedger, S3Ledger };

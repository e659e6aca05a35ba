/**
 * The store's SQLite database (node:sqlite, WAL): feature groups, the online store, and the
 * offline journal. Writes are group-committed: every mutating request runs inside a savepoint of
 * one transaction that stays open until the end of the current event-loop turn (or 1,000
 * requests), and a request is answered only after that transaction committed. The online change
 * and the offline journal row of a request are therefore durable together, before the answer.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { StoredFeatureValue } from './validate.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS groups (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE COLLATE NOCASE,
  doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS offline_tables (
  id INTEGER PRIMARY KEY,
  dir TEXT NOT NULL,
  columns TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS online (
  gid INTEGER NOT NULL,
  rid TEXT NOT NULL,
  et_s INTEGER NOT NULL,
  et_ns INTEGER NOT NULL,
  exp_ms REAL,
  ttl_s INTEGER,
  deleted INTEGER NOT NULL,
  rec TEXT NOT NULL,
  PRIMARY KEY (gid, rid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS online_expiry ON online (exp_ms) WHERE exp_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS journal (
  seq INTEGER PRIMARY KEY,
  tid INTEGER NOT NULL,
  et_s INTEGER NOT NULL,
  et_ns INTEGER NOT NULL,
  api_us INTEGER NOT NULL,
  del INTEGER NOT NULL,
  rec TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS offline_batches (
  id INTEGER PRIMARY KEY,
  lo INTEGER NOT NULL,
  hi INTEGER NOT NULL,
  write_us INTEGER NOT NULL,
  files TEXT NOT NULL
);
`;

/** An online row as read back. */
interface OnlineRow {
  et_s: number;
  et_ns: number;
  exp_ms: number | null;
  ttl_s: number | null;
  deleted: number;
  rec: string;
}

/**
 * The journal's `rec`: the row's scalar features as one JSON object `{"<feature>": "<text>"}`,
 * which the offline flush parses about three times faster than the stored record (an array of
 * FeatureValue objects). Lists are left out: the offline files hold scalar columns only. Rows
 * journalled before this format (an array) are still read (`journalValues`).
 */
function journalRecord(values: readonly StoredFeatureValue[]): string {
  return JSON.stringify(scalarsOf(values));
}

/** Feature name → text of the scalar values (lists left out). */
function scalarsOf(values: readonly StoredFeatureValue[]): Record<string, string> {
  // No prototype: every feature name is an own key, whatever it is called.
  const scalars: Record<string, string> = Object.create(null);
  for (const v of values) if ('ValueAsString' in v) scalars[v.FeatureName] = v.ValueAsString;
  return scalars;
}

/**
 * A journal `rec` back as feature name → text. A name that is not an own property of the result
 * (a missing feature named like an `Object.prototype` member) is not a string there: callers take
 * strings only.
 */
function journalValues(rec: string): Record<string, unknown> {
  const parsed = JSON.parse(rec) as Record<string, unknown> | StoredFeatureValue[];
  return Array.isArray(parsed) ? scalarsOf(parsed) : parsed;
}

type CommitCallback = (error?: Error) => void;

/** Commit at the latest after this many queued answers. */
const MAX_GROUP_COMMIT = 1000;

class StoreDatabase {
  readonly path: string;
  readonly sql: DatabaseSync;
  readonly selOnline: StatementSync;
  readonly putOnline: StatementSync;
  /** Upsert that only replaces a row with an older (or equal) event time, or an expired one. */
  readonly putOnlineIfNewer: StatementSync;
  readonly delOnline: StatementSync;
  readonly addJournal: StatementSync;
  readonly listIds: StatementSync;
  private readonly begin: StatementSync;
  private readonly commitStmt: StatementSync;
  private readonly rollback: StatementSync;
  private readonly savepoint: StatementSync;
  private readonly release: StatementSync;
  private readonly rollbackTo: StatementSync;
  private open = false;
  private waiters: CommitCallback[] = [];
  private scheduled: NodeJS.Immediate | undefined;

  constructor(path: string, options: { fsync?: boolean } = {}) {
    this.path = path;
    this.sql = new DatabaseSync(path);
    this.sql.exec('PRAGMA journal_mode = WAL');
    this.sql.exec(`PRAGMA synchronous = ${options.fsync === true ? 'FULL' : 'NORMAL'}`);
    this.sql.exec('PRAGMA busy_timeout = 5000');
    this.sql.exec('PRAGMA cache_size = -65536');
    // The offline worker checkpoints after every flush; this is only the safety net.
    this.sql.exec('PRAGMA wal_autocheckpoint = 10000');
    this.sql.exec(SCHEMA);
    this.selOnline = this.sql.prepare(
      // min(): a TTL stored before TtlDuration was bounded may exceed 2^53 seconds, which
      // node:sqlite refuses to read as a number; a read must never fail because of stored data.
      'SELECT et_s, et_ns, exp_ms, min(ttl_s, 9007199254740991) AS ttl_s, deleted, rec FROM online WHERE gid = ? AND rid = ?'
    );
    this.putOnline = this.sql.prepare(
      'INSERT OR REPLACE INTO online (gid, rid, et_s, et_ns, exp_ms, ttl_s, deleted, rec) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'
    );
    this.putOnlineIfNewer = this.sql.prepare(
      `INSERT INTO online (gid, rid, et_s, et_ns, exp_ms, ttl_s, deleted, rec) VALUES (?, ?, ?, ?, ?, ?, 0, ?)
       ON CONFLICT (gid, rid) DO UPDATE SET et_s = excluded.et_s, et_ns = excluded.et_ns,
         exp_ms = excluded.exp_ms, ttl_s = excluded.ttl_s, deleted = 0, rec = excluded.rec
       WHERE excluded.et_s > online.et_s
          OR (excluded.et_s = online.et_s AND excluded.et_ns >= online.et_ns)
          OR (online.exp_ms IS NOT NULL AND online.exp_ms <= ?)`
    );
    this.delOnline = this.sql.prepare('DELETE FROM online WHERE gid = ? AND rid = ?');
    this.addJournal = this.sql.prepare(
      'INSERT INTO journal (tid, et_s, et_ns, api_us, del, rec) VALUES (?, ?, ?, ?, ?, ?)'
    );
    this.listIds = this.sql.prepare(
      'SELECT rid FROM online WHERE gid = ? AND rid > ? AND (exp_ms IS NULL OR exp_ms > ?) AND (deleted = 0 OR ?) ORDER BY rid LIMIT ?'
    );
    this.begin = this.sql.prepare('BEGIN IMMEDIATE');
    this.commitStmt = this.sql.prepare('COMMIT');
    this.rollback = this.sql.prepare('ROLLBACK');
    this.savepoint = this.sql.prepare('SAVEPOINT request');
    this.release = this.sql.prepare('RELEASE request');
    this.rollbackTo = this.sql.prepare('ROLLBACK TO request');
  }

  /**
   * Runs `fn` in the open group transaction, inside a savepoint: if it throws, its changes are
   * undone and the error propagates; the rest of the group is unaffected. Answer the request from
   * `afterCommit`, never directly.
   */
  write<T>(fn: () => T): T {
    if (!this.open) {
      this.begin.run();
      this.open = true;
      this.scheduled = setImmediate(() => this.commit());
    }
    this.savepoint.run();
    try {
      const result = fn();
      this.release.run();
      return result;
    } catch (error) {
      this.rollbackTo.run();
      this.release.run();
      throw error;
    }
  }

  /** Calls `cb` once everything written so far is committed (at once if nothing is pending). */
  afterCommit(cb: CommitCallback): void {
    if (!this.open) {
      cb();
      return;
    }
    this.waiters.push(cb);
    if (this.waiters.length >= MAX_GROUP_COMMIT) this.commit();
  }

  /** Commits the open group transaction, then runs its callbacks. */
  commit(): void {
    if (!this.open) return;
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.open = false;
    const waiters = this.waiters;
    this.waiters = [];
    let failure: Error | undefined;
    try {
      this.commitStmt.run();
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      try {
        this.rollback.run();
      } catch {
        // The transaction may already be gone.
      }
    }
    for (const cb of waiters) cb(failure);
  }

  /** Runs `fn` in its own transaction, after committing the open group (control plane, flush). */
  transaction<T>(fn: () => T): T {
    this.commit();
    this.begin.run();
    try {
      const result = fn();
      this.commitStmt.run();
      return result;
    } catch (error) {
      this.rollback.run();
      throw error;
    }
  }

  getMeta(key: string): string | undefined {
    const row = this.sql.prepare('SELECT value FROM meta WHERE key = ?').get(key) as
      | { value: string }
      | undefined;
    return row?.value;
  }

  setMeta(key: string, value: string): void {
    this.sql.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value);
  }

  close(): void {
    this.commit();
    this.sql.close();
  }
}

export type { OnlineRow };
export { journalRecord, journalValues, StoreDatabase };

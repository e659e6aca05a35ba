/**
 * What every operation needs: the database, the feature groups (cached in memory, persisted in
 * SQLite), the clock and the ARN settings.
 */
import type { StoreDatabase } from './db.ts';
import { type Group, parseGroupArn } from './group.ts';

/** Wall-clock time in epoch milliseconds. Injectable so tests can move time (TTL) at will. */
interface Clock {
  now(): number;
}

const systemClock: Clock = { now: () => Date.now() };

/** Feature groups by name; names are unique regardless of case (ARNs are lower-cased). */
class GroupRegistry {
  private readonly byLowerName = new Map<string, Group>();
  private readonly account: string;
  private readonly region: string;

  constructor(account: string, region: string) {
    this.account = account;
    this.region = region;
  }

  set(group: Group): void {
    this.byLowerName.set(group.name.toLowerCase(), group);
  }

  delete(group: Group): void {
    this.byLowerName.delete(group.name.toLowerCase());
  }

  /** A group by exact name, or by ARN (this account and region; name case-insensitive). */
  resolve(nameOrArn: string): Group | undefined {
    if (nameOrArn.startsWith('arn:')) {
      const arn = parseGroupArn(nameOrArn);
      if (arn === undefined || arn.account !== this.account || arn.region !== this.region) {
        return undefined;
      }
      return this.byLowerName.get(arn.name.toLowerCase());
    }
    const group = this.byLowerName.get(nameOrArn.toLowerCase());
    return group !== undefined && group.name === nameOrArn ? group : undefined;
  }

  /** A group whose name equals `name` ignoring case (uniqueness check). */
  findIgnoringCase(name: string): Group | undefined {
    return this.byLowerName.get(name.toLowerCase());
  }

  list(): Group[] {
    return [...this.byLowerName.values()];
  }
}

/**
 * Feature-group lifecycle: on AWS a new group is `Creating` for a while before it is `Created`
 * and accepts records. Timed on the process's monotonic clock, not the injectable one (a test
 * clock that stands still must not keep a group `Creating` forever); a group loaded at start is
 * `Created`.
 */
class GroupLifecycle {
  readonly creatingMs: number;
  private readonly readyAt = new Map<number, number>();

  constructor(creatingMs: number) {
    this.creatingMs = creatingMs;
  }

  created(groupId: number): void {
    if (this.creatingMs > 0) this.readyAt.set(groupId, performance.now() + this.creatingMs);
  }

  status(groupId: number): 'Creating' | 'Created' {
    const at = this.readyAt.get(groupId);
    if (at === undefined) return 'Created';
    if (performance.now() < at) return 'Creating';
    this.readyAt.delete(groupId);
    return 'Created';
  }
}

interface StoreContext {
  readonly db: StoreDatabase;
  readonly groups: GroupRegistry;
  readonly clock: Clock;
  readonly account: string;
  readonly region: string;
  /** `<dataDir>/offline-store`. */
  readonly offlineRoot: string;
  readonly lifecycle: GroupLifecycle;
  /** `api_invocation_time` in epoch microseconds, strictly increasing within the process. */
  apiMicros(): number;
}

function microsCounter(clock: Clock): () => number {
  let last = 0;
  return () => {
    const now = Math.round(clock.now() * 1000);
    last = now > last ? now : last + 1;
    return last;
  };
}

export type { Clock, StoreContext };
export { GroupLifecycle, GroupRegistry, microsCounter, systemClock };

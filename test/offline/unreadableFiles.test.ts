// calendar-fixed: offline history: no TTL offline, rows at fixed instants read back as written.
/**
 * A folder of a group's offline files that cannot be listed must fail the read, not drop its
 * rows from a training set without a word; a folder that is not there (no data yet, removed
 * during the walk) reads as nothing.
 */

import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { cards } from '../../shared/definitions.ts';
import {
  createDuckDbEngine,
  type DuckDbEngine,
  type DuckDbEngineOptions,
} from '../../shared/offline/duckdb.ts';
import { OfflineFilesUnreadableError } from '../../shared/offline/errors.ts';
import { type FixtureRow, fixtureDataPath, writeOfflineRows } from '../helpers/offlineFixtures.ts';

// The engine's directory reads (node:fs as it imports it), so a test can change the file system
// between a folder's listing and the listing of a folder in it: the race of a real walk.
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return { ...fs, readdirSync: vi.fn(fs.readdirSync) };
});
const { readdirSync: realReaddirSync } = await vi.importActual<typeof import('node:fs')>('node:fs');

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
let engine: DuckDbEngine | undefined;
afterEach(async () => {
  vi.mocked(readdirSync).mockImplementation(realReaddirSync as typeof readdirSync);
  await engine?.close();
  engine = undefined;
});

const written = new Date('2026-01-02T00:00:00.000Z');
const cardAt = (id: string, eventTime: string): FixtureRow => ({
  values: { card_id: id, event_time: eventTime },
  writeTime: written,
  apiInvocationTime: written,
  isDeleted: false,
});

/** A store with one card row in each of two hourly partitions; the paths of both hours. */
async function twoHours(): Promise<{ dataDir: string; data: string; hours: string[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'skewless-unreadable-'));
  dirs.push(dataDir);
  await writeOfflineRows({
    dataDir,
    group: cards,
    rows: [cardAt('c0', '2026-01-01T00:00:00.000Z'), cardAt('c1', '2026-01-01T01:00:00.000Z')],
  });
  const data = fixtureDataPath({ dataDir, group: cards });
  const day = join(data, 'year=2026', 'month=01', 'day=01');
  return { dataDir, data, hours: [join(day, 'hour=00'), join(day, 'hour=01')] };
}

/** Runs `change` once, right after the engine has listed `parent` (before it lists inside it). */
function afterListing(parent: string, change: () => void): void {
  vi.mocked(readdirSync).mockImplementation(((path: string, options: never) => {
    const entries = realReaddirSync(path, options);
    if (path === parent) change();
    return entries;
  }) as typeof readdirSync);
}

async function cardIds(dataDir: string): Promise<string[]> {
  engine = await createDuckDbEngine({ dataDir });
  const table = await engine.tableFor(cards);
  const { rows } = await engine.queryAll(`SELECT "card_id" FROM ${table} ORDER BY 1`);
  return rows.map((r) => String(r.card_id));
}

/** uid and gid of `nobody` (a root test reads through any permission). */
const NOBODY = 65534;

/**
 * The error of a card table's listing by an engine of `options`, made in a child process: this
 * user's unless this user is root, whose reads no folder's permissions refuse; then `nobody`'s.
 */
function listAsUnprivileged(options: DuckDbEngineOptions, cwd: string): unknown {
  const script = `
    const { createDuckDbEngine } = await import(${JSON.stringify(new URL('../../shared/offline/duckdb.ts', import.meta.url).href)});
    const { cards } = await import(${JSON.stringify(new URL('../../shared/definitions.ts', import.meta.url).href)});
    const engine = await createDuckDbEngine(${JSON.stringify(options)});
    try {
      await engine.tableFor(cards);
      console.log('null');
    } catch (error) {
      console.log(JSON.stringify({ name: error.name, directory: error.directory, code: error.code }));
    } finally {
      await engine.close();
    }`;
  const root = process.getuid?.() === 0;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    ...(root ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  if (child.status !== 0) throw new Error(`the listing process failed: ${child.stderr}`);
  return JSON.parse(child.stdout);
}

describe('DuckDbEngine: a group folder that cannot be listed', () => {
  it('fails naming a partition folder replaced by a file during the walk (ENOTDIR)', async () => {
    // Prepare: hour=01 becomes a file between the day's listing and its own
    const { dataDir, hours } = await twoHours();
    const [, late] = hours as [string, string];
    afterListing(dirname(late), () => {
      rmSync(late, { recursive: true });
      writeFileSync(late, 'not a folder');
    });
    // Act, Assess
    const read = cardIds(dataDir);
    await expect(read).rejects.toBeInstanceOf(OfflineFilesUnreadableError);
    await expect(read).rejects.toMatchObject({
      directory: late,
      code: 'ENOTDIR',
      message: `cannot list the offline files in ${late} (not a directory, ENOTDIR): the rows under it would be left out`,
    });
  });

  it('fails when the group’s data directory is a file, not a folder', async () => {
    // Prepare: the table directory holds a file named data
    const dataDir = mkdtempSync(join(tmpdir(), 'skewless-unreadable-'));
    dirs.push(dataDir);
    const data = fixtureDataPath({ dataDir, group: cards });
    mkdirSync(dirname(data), { recursive: true });
    writeFileSync(data, '');
    // Act, Assess
    await expect(cardIds(dataDir)).rejects.toMatchObject({ directory: data, code: 'ENOTDIR' });
  });

  it('fails naming a link among the files that cannot be followed (ELOOP), not with the raw error', async () => {
    // Prepare: a link named like a data file that points at itself
    const { dataDir, hours } = await twoHours();
    const loop = join(hours[0] as string, 'loop.parquet');
    symlinkSync(loop, loop);
    // Act, Assess
    await expect(cardIds(dataDir)).rejects.toMatchObject({
      name: 'OfflineFilesUnreadableError',
      directory: loop,
      code: 'ELOOP',
      message: `cannot follow the link ${loop} among the offline files (too many symbolic links encountered, ELOOP): the rows of the file it names would be left out`,
    });
  });

  type TwoHours = Awaited<ReturnType<typeof twoHours>>;
  it.each([
    [
      'a partition folder of the offline store',
      ({ dataDir }: TwoHours) => ({ dataDir }),
      ({ hours }: TwoHours) => hours[1] as string,
    ],
    // A custom directory was listed by DuckDB's glob, which passes over a folder it cannot list.
    [
      'a partition folder of a custom group directory',
      ({ data }: TwoHours) => ({ groupPaths: { [cards.name]: `${data}/` } }),
      ({ hours }: TwoHours) => hours[1] as string,
    ],
    // Read behind an existsSync (a stat, which the folder's own permissions allow): the readdir's
    // raw error reached the CLI as an unexpected one (exit 2), the folder unnamed.
    [
      'the folder of the group tables',
      ({ dataDir }: TwoHours) => ({ dataDir }),
      ({ data }: TwoHours) => dirname(dirname(data)),
    ],
  ] as const)(
    'fails naming %s when this user may not list it (EACCES)',
    async (_, options, folder) => {
      // Prepare: that folder readable by nobody; the rest readable by all
      const store = await twoHours();
      const locked = folder(store);
      chmodSync(store.dataDir, 0o755);
      chmodSync(locked, 0o000);
      try {
        // Act: the listing in a process of its own; as root (who reads any folder) as nobody
        const failure = listAsUnprivileged(options(store), store.dataDir);
        // Assess
        expect(failure).toEqual({
          name: 'OfflineFilesUnreadableError',
          directory: locked,
          code: 'EACCES',
        });
      } finally {
        chmodSync(locked, 0o755);
      }
    }
  );

  it('reads the rest when a partition folder is removed during the walk (ENOENT: nothing there)', async () => {
    // Prepare: hour=01 removed between the day's listing and its own
    const { dataDir, hours } = await twoHours();
    const [, late] = hours as [string, string];
    afterListing(dirname(late), () => rmSync(late, { recursive: true }));
    // Act, Assess
    expect(await cardIds(dataDir)).toEqual(['c0']);
  });

  it('reads a table directory without its data folder as empty (nothing written yet)', async () => {
    // Prepare
    const { dataDir, data } = await twoHours();
    rmSync(data, { recursive: true });
    // Act, Assess
    expect(await cardIds(dataDir)).toEqual([]);
  });
});

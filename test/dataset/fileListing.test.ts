// calendar-fixed: offline history: no TTL offline, label times fixed against their own rows.
/**
 * Over 18 months of hourly partitions a group is ~13,000 files, and listing them is a walk of as
 * many directories: a training set lists each group's files once. A view over a glob made DuckDB
 * list them again at every statement that bound it (the view's creation, then the join).
 */
import { mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { buildTrainingSet } from '../../shared/dataset/build.ts';
import { cards, merchants } from '../../shared/definitions.ts';
import { createDuckDbEngine } from '../../shared/offline/duckdb.ts';
import type { FeatureGroup } from '../../shared/schema/index.ts';
import { type FixtureRow, fixtureDataPath, writeOfflineRows } from '../helpers/offlineFixtures.ts';

// Counts the directory reads of the engine's own listing (node:fs as the engine imports it).
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return { ...fs, readdirSync: vi.fn(fs.readdirSync) };
});

const dir = mkdtempSync(join(tmpdir(), 'skewless-listing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const written = new Date('2026-01-02T00:00:00.000Z');
const row = (values: FixtureRow['values']): FixtureRow => ({
  values,
  writeTime: written,
  apiInvocationTime: written,
  isDeleted: false,
});
const hourly = (hour: number) => `2026-01-01T${String(hour).padStart(2, '0')}:00:00.000Z`;

/** The directories under `path` (itself included), each of which one listing reads once. */
function directoriesUnder(path: string): string[] {
  const entries = readdirSync(path, { withFileTypes: true, recursive: true });
  return [path, ...entries.filter((e) => e.isDirectory()).map((e) => join(e.parentPath, e.name))];
}

describe('a training set over hourly partitions', () => {
  it('lists each group’s files once, and its join reads the files so listed', async () => {
    // Prepare: cards over six hourly partitions, merchants over four; one label per group
    for (let hour = 0; hour < 6; hour++) {
      await writeOfflineRows({
        dataDir: dir,
        group: cards,
        rows: [row({ card_id: 'c1', event_time: hourly(hour), txn_count_7d: BigInt(hour) })],
      });
    }
    for (let hour = 0; hour < 4; hour++) {
      await writeOfflineRows({
        dataDir: dir,
        group: merchants,
        rows: [row({ merchant_id: 'm1', event_time: hourly(hour), mcc: `58${hour}` })],
      });
    }
    // A card row flushed while the build runs (hour 7, before the label): staged elsewhere, moved
    // into the store as the join starts.
    const staging = join(dir, 'staging');
    const late = join(
      await writeOfflineRows({
        dataDir: staging,
        group: cards,
        rows: [row({ card_id: 'c1', event_time: hourly(7), txn_count_7d: 99n })],
      }),
      'year=2026',
      'month=01',
      'day=01',
      'hour=07'
    );
    const cardsData = fixtureDataPath({ dataDir: dir, group: cards });
    const labels = join(dir, 'labels.csv');
    writeFileSync(labels, `card_id,merchant_id,label_time\nc1,m1,${hourly(9)}\n`);
    /** A build on its own engine: the label's two features. */
    const build = async (onStatement?: (sql: string) => void): Promise<unknown[]> => {
      const engine = await createDuckDbEngine({ dataDir: dir, onStatement });
      const output = join(dir, 'train.parquet');
      try {
        await buildTrainingSet({
          engine,
          labels,
          features: ['fraud-cards.txn_count_7d', 'fraud-merchants.mcc'],
          labelTimeColumn: 'label_time',
          output: { path: output },
        });
        const { rows } = await engine.queryAll(`SELECT * FROM read_parquet('${output}')`);
        return rows.map((r) => [r['fraud-cards.txn_count_7d'], r['fraud-merchants.mcc']]);
      } finally {
        await engine.close();
      }
    };
    const statements: string[] = [];
    const listing = vi.mocked(readdirSync);
    listing.mockClear();
    // Act
    const result = await build((sql) => {
      statements.push(sql);
      if (sql.includes('ASOF'))
        renameSync(late, join(cardsData, 'year=2026/month=01/day=01/hour=07'));
    });
    // Assess: the join read the files as listed: not the row that landed after the listing (DuckDB
    // listing them again for the join read it)
    expect(result).toEqual([[5n, '583']]);
    // DuckDB lists nothing itself: no statement reads the files through a pattern
    expect(statements.filter((sql) => /\bglob\(|\*\.parquet/.test(sql))).toEqual([]);
    // Each directory of each group read once, by the engine's one listing
    const reads = listing.mock.calls.map(([path]) => String(path));
    for (const group of [cards, merchants] as FeatureGroup[]) {
      const data = fixtureDataPath({ dataDir: dir, group });
      const ofGroup = reads.filter((p) => p === data || p.startsWith(`${data}/`));
      expect(ofGroup.sort(), group.name).toEqual(
        directoriesUnder(data)
          .filter((d) => !d.endsWith('hour=07'))
          .sort()
      );
    }
    // The next build lists it
    expect(await build()).toEqual([[99n, '583']]);
  });
});

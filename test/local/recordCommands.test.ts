/**
 * `skewless get` / `put` in-process, for groups whose record identifier is Integral or
 * Fractional (test/helpers/numberKeyedGroups.ts: shared/definitions.ts has none): get asks the
 * embedded store, through the real SDK, for the id as every writer stores it (`007` → `7`,
 * `42.0` → `42`), as the lookup does, and refuses an id that is no value of the type in one line
 * with a hint.
 */
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerRecordCommands } from '../../local/cli/records.ts';
import { reportCliError } from '../../local/cli/userErrors.ts';
import { ensureFeatureGroups } from '../../local/setup/ensureFeatureGroups.ts';
import { SchemaRegistry } from '../../shared/registry.ts';
import { numberKeyedGroups } from '../helpers/numberKeyedGroups.ts';
import { startTestStore, type TestStore } from '../helpers/store.ts';

const { accounts, scores } = numberKeyedGroups('cli');

let store: TestStore;

/** Runs `skewless <args>` with the two groups; returns what it printed, or its error as printed. */
async function skewless(...args: string[]): Promise<{ out: string; err: string }> {
  const program = new Command().exitOverride();
  registerRecordCommands(program, new SchemaRegistry([accounts, scores], []));
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  let err = '';
  try {
    await program.parseAsync([...args, '--endpoint', store.store.endpoint], { from: 'user' });
  } catch (error) {
    reportCliError(error, args, (text) => {
      err += text;
    });
  } finally {
    vi.restoreAllMocks();
  }
  return { out, err };
}

beforeAll(async () => {
  store = await startTestStore();
  await ensureFeatureGroups(store.sagemaker, [accounts, scores], {
    offlineS3Uri: 's3://local-bucket/offline-store',
    roleArn: 'arn:aws:iam::000000000000:role/skewless-local-offline-store',
  });
  const now = Math.floor(Date.now() / 1000);
  // Written through put, the schema module's encoder: the store holds "7" and "42".
  for (const [group, record] of [
    ['cli-accounts', { account_id: '007', event_time: now, balance: 1.5 }],
    ['cli-scores', { score_key: 42, event_time: now, hits: 3 }],
  ] as const) {
    const { err } = await skewless('put', group, JSON.stringify(record));
    expect(err).toBe('');
  }
});

afterAll(async () => {
  await store?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('skewless get with a number-typed record identifier', () => {
  it.each([
    ['cli-accounts', '007', '7'],
    ['cli-accounts', '+7', '7'],
    ['cli-scores', '42.0', '42'],
    ['cli-scores', '4.2e1', '42'],
  ])('finds %s record %j as the store holds it (%j)', async (group, given, stored) => {
    // Act
    const { out, err } = await skewless('get', group, given);
    // Assess
    expect(err).toBe('');
    expect(JSON.parse(out)).toMatchObject({ featureGroup: group, recordId: stored });
  });

  it.each([
    [
      'abc',
      'skewless: "abc" is not a record identifier of cli-accounts: its account_id is Integral (Integral value must be a base-10 integer)\n',
    ],
    [
      '42.0',
      `skewless: "42.0" is not a record identifier of cli-accounts: its account_id is Integral (Integral value must be a base-10 integer, not a float's text`,
    ],
  ])(
    'refuses Integral id %j in one line with a hint, not "no live record"',
    async (given, line) => {
      // Act
      const { out, err } = await skewless('get', 'cli-accounts', given);
      // Assess
      expect(out).toBe('');
      expect(err.startsWith(line)).toBe(true);
      expect(err).toMatch(
        /\n {2}hint: give the account_id of the record as a number: skewless get cli-accounts <account_id>\n$/
      );
      expect(err.split('\n')).toHaveLength(3);
    }
  );
});

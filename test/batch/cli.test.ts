/**
 * `skewless batch` in-process (no running stack): a dry run counts and writes nothing, the real
 * run writes both stores of the embedded store on the data dir, a second dry run then finds the
 * values unchanged. Event times relative to the clock.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetRecordCommand,
  SageMakerFeatureStoreRuntimeClient,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BatchCliOptions,
  registerBatchCommand,
  runBatchCommand,
} from '../../local/cli/batch.ts';
import { startStore } from '../../local/store/index.ts';
import { toCsv } from '../backfill/fixtures.ts';
import { captureIo } from '../helpers/cliIo.ts';
import { startTestS3 } from '../helpers/s3Events.ts';
import { startRefusingEndpoint, startTestStore } from '../helpers/store.ts';

describe('Command: skewless batch', () => {
  let dir: string;
  let file: string;
  let options: BatchCliOptions;
  const eventTime = new Date(Date.now() - 3_600_000).toISOString();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'skewless-batch-cli-'));
    file = join(dir, 'nightly.csv');
    const row = (id: string | null, count: string) => ({
      card_id: id,
      event_time: eventTime,
      txn_count_7d: count,
      txn_count_30d: '8',
      amount_sum_7d: '10.5',
      amount_sum_30d: '42',
      distinct_merchants_30d: '2',
      chargebacks_365d: '0',
      card_age_days: '100',
      home_country: 'DE',
    });
    writeFileSync(
      file,
      toCsv([row('cli-card-1', '3'), row('cli-card-2', 'three'), row('cli-card-3', '5')])
    );
    options = {
      group: 'fraud-cards',
      dataDir: join(dir, 'data'),
      bucket: 'skewless-backfill',
      reportsBucket: 'skewless-reports',
      timeout: 60,
      json: false,
      progress: false,
      dryRun: true,
    };
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function online(ids: readonly string[]): Promise<(string | undefined)[]> {
    const store = await startStore({
      port: 0,
      dataDir: join(options.dataDir, 'store'),
      logLevel: 'warn',
    });
    const client = new SageMakerFeatureStoreRuntimeClient({
      endpoint: store.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    try {
      const out: (string | undefined)[] = [];
      for (const id of ids) {
        const got = await client.send(
          new GetRecordCommand({
            FeatureGroupName: 'fraud-cards',
            RecordIdentifierValueAsString: id,
          })
        );
        out.push(got.Record?.find((v) => v.FeatureName === 'txn_count_7d')?.ValueAsString);
      }
      return out;
    } finally {
      client.destroy();
      await store.close();
    }
  }

  it('registers its arguments and options', () => {
    const program = new Command();
    registerBatchCommand(program);
    const command = program.commands.find((c) => c.name() === 'batch');
    expect(command?.registeredArguments.map((a) => a.name())).toEqual(['file']);
    expect(command?.options.map((o) => o.long)).toEqual(
      expect.arrayContaining(['--group', '--dry-run', '--key', '--data-dir', '--json'])
    );
  });

  it('dry run: counts rows, rejects and online values that would change, writes nothing', async () => {
    // Act
    const output = captureIo();
    const code = await runBatchCommand(file, { ...options, progress: true }, output.io);
    // Assess
    expect(code).toBe(0);
    expect(output.err().split('\n')[0]).toBe(
      `no running stack in ${options.dataDir} (no endpoints.json): running the dry run in this process, on the store in ${join(options.dataDir, 'store')}`
    );
    // Its progress counts valid rows, as its summary does: a dry run writes nothing.
    expect(output.err()).toMatch(/^dry run: 3 rows read, 2 valid, 1 rejected \(/m);
    expect(output.err()).not.toContain('written');
    expect(output.out()).toContain(
      'Dry run of nightly.csv for fraud-cards (nothing written): 3 rows read, 2 valid, 1 rejected\n  online values: 2 would change, 0 unchanged, 0 would stay (older rows: offline store only)'
    );
    expect(output.out()).toContain('row 2 (line 3): txn_count_7d="three"');
    expect(await online(['cli-card-1', 'cli-card-3'])).toEqual([undefined, undefined]);
  }, 60_000);

  it('applies the drop to both stores, after which a dry run finds nothing to change', async () => {
    // Act
    const applied = captureIo();
    const code = await runBatchCommand(file, { ...options, dryRun: false }, applied.io);
    const again = captureIo();
    const dryCode = await runBatchCommand(file, options, again.io);
    // Assess
    expect(code).toBe(0);
    expect(applied.out()).toContain(
      'Applied batch/fraud-cards/nightly.csv to both stores of fraud-cards: 2 rows written, 1 rejected of 3'
    );
    expect(applied.out()).toContain(
      'online values: 2 changed, 0 unchanged, 0 stayed (older rows: offline store only)'
    );
    expect(await online(['cli-card-1', 'cli-card-3'])).toEqual(['3', '5']);
    expect(dryCode).toBe(0);
    expect(again.out()).toContain('online values: 0 would change, 2 unchanged, 0 would stay');
  }, 60_000);

  it("a store that refuses the online reads (IAM's AccessDeniedException): exit 1, the reason in one line", async () => {
    // Prepare: --endpoint names a store whose BatchGetRecord the role may not call.
    const store = await startTestStore();
    const endpoint = await startRefusingEndpoint(store.store.endpoint, (operation) =>
      operation === 'BatchGetRecord' ? { status: 400, code: 'AccessDeniedException' } : undefined
    );
    const output = captureIo();
    try {
      // Act
      const code = await runBatchCommand(
        file,
        {
          ...options,
          dryRun: false,
          key: 'denied.csv',
          dataDir: join(dir, 'denied-data'),
          endpoint: endpoint.endpoint,
        },
        output.io
      );
      // Assess: the first line says why, with no stack trace.
      expect(code).toBe(1);
      expect(output.out().split('\n')[0]).toBe(
        'Batch drop batch/fraud-cards/denied.csv FAILED: the feature store refused BatchGetRecord for record "cli-card-1" of feature group "fraud-cards" (AccessDeniedException) and 1 more id, from row 1 (line 2): no retry changes that answer; the function\'s role needs sagemaker:BatchGetRecord on "fraud-cards". The checkpoint is kept: once fixed, send a continuation message with "resume": true to go on (the rejects so far are written when it completes)'
      );
      expect(output.err()).not.toMatch(/\n\s+at /);
    } finally {
      await endpoint.close();
      await store.close();
    }
  }, 60_000);

  it('refuses a group that is not batch-fed, naming the ones that are', async () => {
    await expect(
      runBatchCommand(file, { ...options, group: 'fraud-transactions' }, captureIo().io)
    ).rejects.toMatchObject({
      name: 'UserError',
      message: 'fraud-transactions is not batch-fed (batch-fed: fraud-cards, fraud-merchants)',
      hint: 'declare batch: { cadence } on it in shared/definitions.ts, or use `skewless backfill` for its offline store only',
    });
  });
  it('a dry run against an --endpoint where no store answers: one line naming the flag, a hint', async () => {
    await expect(
      runBatchCommand(
        file,
        { ...options, dryRun: true, endpoint: 'http://127.0.0.1:1' },
        captureIo().io
      )
    ).rejects.toMatchObject({
      name: 'UserError',
      message: 'no feature store answers at http://127.0.0.1:1 (--endpoint)',
      hint: expect.stringContaining('leave --endpoint out'),
    });
  });

  it('refuses a directory given as the file, dry run or not', async () => {
    const folder = join(dir, 'folder.parquet');
    mkdirSync(folder, { recursive: true });
    for (const dryRun of [true, false]) {
      await expect(runBatchCommand(folder, { ...options, dryRun }, captureIo().io)).rejects.toThrow(
        `not a file: ${folder} is a directory`
      );
    }
  });

  it('refuses a file whose ending names no format, dry run or not, before reading it', async () => {
    const notes = join(dir, 'nightly.txt');
    writeFileSync(notes, 'card_id,event_time\n');
    for (const dryRun of [true, false]) {
      const output = captureIo();
      await expect(
        runBatchCommand(notes, { ...options, dataDir: join(dir, 'untouched'), dryRun }, output.io)
      ).rejects.toThrow(/^batch\/fraud-cards\/nightly\.txt: unsupported file extension: use /);
      expect(output.err()).toBe('');
    }
    expect(existsSync(join(dir, 'untouched'))).toBe(false);
  });

  it('through a running stack, Ctrl-C stops following only and says where the report will be', async () => {
    // Prepare: a running stack's S3 whose batch function is still at work (it answers nothing).
    const s3 = await startTestS3();
    const interrupted = captureIo();
    try {
      // Act
      const running = runBatchCommand(
        file,
        { ...options, dryRun: false, key: 'followed.csv', s3Endpoint: s3.server.endpoint },
        interrupted.io
      );
      while (!interrupted.err().includes('the running stack is applying it')) {
        await new Promise((r) => setTimeout(r, 20));
      }
      process.emit('SIGINT');
      // Assess
      expect(await running).toBe(130);
      expect(interrupted.err()).toContain(
        'The running stack keeps applying s3://skewless-backfill/batch/fraud-cards/followed.csv'
      );
      expect(interrupted.err()).toMatch(/report is at:\n {2}.*aws s3 cp s3:\/\/skewless-reports\//);
      expect(interrupted.out()).toBe('');
    } finally {
      await s3.close();
    }
  });
});

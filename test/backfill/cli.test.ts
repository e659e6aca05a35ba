import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Context, S3Event } from 'aws-lambda';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BackfillCliOptions,
  registerBackfillCommand,
  runBackfillCommand,
} from '../../local/cli/backfill.ts';
import { startStore } from '../../local/store/index.ts';
import { cards } from '../../shared/definitions.ts';
import { createDuckDbEngine } from '../../shared/offline/duckdb.ts';
import { captureIo } from '../helpers/cliIo.ts';
import {
  BACKFILL_BUCKET,
  lambdaContext,
  REPORTS_BUCKET,
  startTestS3,
} from '../helpers/s3Events.ts';
import { startRefusingEndpoint, startTestStore } from '../helpers/store.ts';
import { type CardFile, cardFile, createSchemaGroups, offlineMount, toCsv } from './fixtures.ts';

describe('Command: skewless backfill', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'skewless-backfill-cli-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes `file` as CSV under the test's directory; returns its path. */
  function csvFile(name: string, file: CardFile): string {
    const path = join(dir, name);
    writeFileSync(path, toCsv(file.rows));
    return path;
  }

  it('registers its arguments and options', () => {
    // Prepare
    const program = new Command();
    // Act
    registerBackfillCommand(program);
    // Assess
    const command = program.commands.find((c) => c.name() === 'backfill');
    expect(command?.registeredArguments.map((a) => a.name())).toEqual(['file']);
    expect(command?.options.map((o) => o.long)).toEqual(
      expect.arrayContaining([
        '--group',
        '--key',
        '--data-dir',
        '--s3-endpoint',
        '--endpoint',
        '--json',
        '--no-progress',
      ])
    );
  });

  it('backfills a file through a local S3 in-process, showing progress and the report', async () => {
    // Prepare
    const file = cardFile('cli', 60);
    const path = join(dir, 'october.csv');
    writeFileSync(path, toCsv(file.rows));
    const dataDir = join(dir, 'data');
    const options: BackfillCliOptions = {
      group: 'fraud-cards',
      dataDir,
      bucket: 'skewless-backfill',
      reportsBucket: 'skewless-reports',
      timeout: 60,
      json: false,
      progress: true,
    };
    const output = captureIo();
    // Act
    const code = await runBackfillCommand(path, options, output.io);
    // Assess
    expect(code).toBe(0);
    expect(output.out()).toContain(
      `Backfilled backfill/fraud-cards/october.csv into the offline store of fraud-cards: ${file.good.size} rows written, ${file.badRows.length} rejected of 60`
    );
    const rejectsPath = /rejects: (\S+)/.exec(output.out())?.[1] ?? '';
    expect(
      rejectsPath.startsWith(join(dataDir, 'reports', 'backfill/fraud-cards/october.csv/v-'))
    ).toBe(true);
    expect(readFileSync(rejectsPath, 'utf8').trim().split('\n')).toHaveLength(file.badRows.length);
    expect(output.out()).toContain('row 7 (line 8): txn_count_7d="twelve"');
    expect(output.err()).toMatch(/backfill: 60 rows read, 52 written, 8 rejected/);
    // It says first that no stack ran and where the rows go instead (a stack running from another
    // directory would not see them).
    expect(output.err().split('\n')[0]).toBe(
      `no running stack in ${dataDir} (no endpoints.json): running the backfill in this process, on the store in ${join(dataDir, 'store')}`
    );
    // The embedded store on the data dir now holds the rows offline.
    const store = await startStore({ port: 0, dataDir: join(dataDir, 'store'), logLevel: 'warn' });
    const { asyncBufferFromFile, parquetReadObjects } = await import('hyparquet');
    const { readdirSync } = await import('node:fs');
    const offlineDir = store.offlineDataPath('fraud-cards') ?? '';
    const files = readdirSync(offlineDir, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.parquet'));
    const rows = (
      await Promise.all(
        files.map(async (f) =>
          parquetReadObjects({ file: await asyncBufferFromFile(join(offlineDir, f)) })
        )
      )
    ).flat();
    await store.close();
    expect(new Set(rows.map((r) => r.card_id))).toEqual(file.good);
  }, 60_000);

  it('in-process, Ctrl-C stops at a checkpoint and the same command resumes there: every row once', async () => {
    // Prepare: enough rows for the handler's progress (every 500 ms) to come before the end.
    const rows = 300_000;
    const eventTime = Math.floor(Date.now() / 1000) - 3600;
    const lines = ['card_id,event_time,txn_count_7d'];
    for (let i = 0; i < rows; i++) lines.push(`card-r${i},${eventTime},${i % 50}`);
    const path = join(dir, 'resumable.csv');
    writeFileSync(path, `${lines.join('\n')}\n`);
    const dataDir = join(dir, 'resume');
    const options: BackfillCliOptions = {
      group: 'fraud-cards',
      dataDir,
      bucket: 'skewless-backfill',
      reportsBucket: 'skewless-reports',
      timeout: 60,
      json: false,
      progress: true,
    };
    const listeners = process.listenerCount('SIGINT');
    let err = '';
    const io = {
      out: { write: () => true },
      err: {
        isTTY: false,
        write: (text: string) => {
          err += text;
          // Ctrl-C as the first progress line shows.
          if (text.startsWith('backfill: ') && !err.includes('stopping')) process.emit('SIGINT');
          return true;
        },
      },
    };
    // Act
    const stopped = await runBackfillCommand(path, options, io);
    const again = captureIo();
    const resumed = await runBackfillCommand(path, { ...options, progress: false }, again.io);
    // Assess
    expect(stopped).toBe(130);
    expect(err).toMatch(
      /backfill of backfill\/fraud-cards\/resumable\.csv interrupted at a checkpoint: [\d,]+ rows written, 0 rejected so far; run the same command again to resume from there/
    );
    expect(process.listenerCount('SIGINT')).toBe(listeners);
    expect(resumed).toBe(0);
    expect(again.err()).toContain(
      'resuming the backfill of backfill/fraud-cards/resumable.csv (same content) from its checkpoint'
    );
    expect(again.out()).toContain('300,000 rows written, 0 rejected of 300,000');
    expect(again.out()).toContain('1 resumptions');
    // Its time is the work of both invocations, then the span since it started, the stop between
    // them included (not that span as if it had been backfilling all along)
    const [, work, since] =
      /\(([\d.]+) s of work in 2 invocations, ([\d.]+) s since it started, 1 resumptions\)/.exec(
        again.out()
      ) ?? [];
    expect(Number(work)).toBeLessThan(Number(since));
    // The offline store holds each row once: the rows before the stop were not written again.
    const engine = await createDuckDbEngine({ dataDir });
    try {
      const table = await engine.tableFor(cards);
      const counted = await engine.queryAll(
        `SELECT count(*) AS n, count(DISTINCT card_id) AS d FROM ${table}`
      );
      expect(counted.rows[0]).toEqual({ n: BigInt(rows), d: BigInt(rows) });
    } finally {
      await engine.close();
    }
  }, 120_000);

  it('in-process, a Ctrl-C before the handler runs stops the drop at its first checkpoint, once', async () => {
    const path = join(dir, 'early.csv');
    const eventTime = Math.floor(Date.now() / 1000) - 3600;
    writeFileSync(path, `card_id,event_time\ncard-e1,${eventTime}\ncard-e2,${eventTime}\n`);
    let err = '';
    const io = {
      out: { write: () => true },
      err: {
        isTTY: false,
        write: (text: string) => {
          err += text;
          // Ctrl-C while the command is still starting the store (after its first line).
          if (text.startsWith('no running stack')) setImmediate(() => process.emit('SIGINT'));
          return true;
        },
      },
    };
    const options: BackfillCliOptions = {
      group: 'fraud-cards',
      dataDir: join(dir, 'early'),
      bucket: 'skewless-backfill',
      reportsBucket: 'skewless-reports',
      timeout: 60,
      json: false,
      progress: false,
    };
    const code = await runBackfillCommand(path, options, io);
    expect(code).toBe(130);
    expect(err).toMatch(
      /early\.csv interrupted at a checkpoint: [01] rows written, 0 rejected so far/
    );
    // The same command then does the whole file.
    const again = captureIo();
    expect(await runBackfillCommand(path, options, again.io)).toBe(0);
    expect(again.out()).toContain('2 rows written, 0 rejected of 2');
  }, 60_000);

  it('in-process, a store that refuses the writes (AccessForbidden): exit 1, the reason in one line, no stack trace; the same command run again once fixed resumes', async () => {
    // Prepare: --endpoint names a store whose BatchWriteRecord the role may not call.
    const store = await startTestStore();
    const endpoint = await startRefusingEndpoint(store.store.endpoint, (operation) =>
      operation === 'BatchWriteRecord' ? { status: 403, code: 'AccessForbidden' } : undefined
    );
    const file = cardFile('cli-denied', 30, 0);
    const path = csvFile('denied.csv', file);
    const output = captureIo();
    const options: BackfillCliOptions = {
      group: 'fraud-cards',
      dataDir: join(dir, 'denied-data'),
      endpoint: endpoint.endpoint,
      bucket: 'skewless-backfill',
      reportsBucket: 'skewless-reports',
      timeout: 60,
      json: false,
      progress: false,
    };
    try {
      // Act
      const code = await runBackfillCommand(path, options, output.io);
      // Assess
      expect(code).toBe(1);
      const lines = output.out().trimEnd().split('\n');
      expect(lines[0]).toBe(
        'Backfill of backfill/fraud-cards/denied.csv FAILED: the feature store refused BatchWriteRecord for record "cli-denied-0" of feature group "fraud-cards" (AccessForbidden) and 24 more ids, from row 1 (line 2): no retry changes that answer; the function\'s role needs sagemaker:BatchWriteRecord on "fraud-cards". The checkpoint is kept: once fixed, send a continuation message with "resume": true to go on (the rejects so far are written when it completes)'
      );
      expect(lines.slice(1)).toEqual([
        expect.stringMatching(/^ {2}report: \S+\/report\.json$/),
        '  to resume from the checkpoint once the cause is fixed: run the same command again',
      ]);
      expect(output.err()).not.toMatch(/\n\s+at /);

      // Act: the permission fixed (the store itself), the same command again.
      const again = captureIo();
      const resumed = await runBackfillCommand(
        path,
        { ...options, endpoint: store.store.endpoint },
        again.io
      );
      // Assess: the failed drop went on from its checkpoint (no second upload), every row once.
      expect(resumed, again.err()).toBe(0);
      expect(again.err()).toContain(
        'resuming the failed backfill of backfill/fraud-cards/denied.csv (same content) from its checkpoint'
      );
      expect(again.out()).toContain('30 rows written, 0 rejected of 30');
      await store.store.flush();
      const engine = await createDuckDbEngine({ dataDir: store.dataDir });
      try {
        const counted = await engine.queryAll(
          `SELECT count(*) AS n, count(DISTINCT card_id) AS d FROM ${await engine.tableFor(cards)}`
        );
        expect(counted.rows[0]).toEqual({ n: 30n, d: 30n });
      } finally {
        await engine.close();
      }
    } finally {
      await endpoint.close();
      await store.close();
    }
  }, 60_000);

  it('backfills through the S3 of a running stack and waits for the report', async () => {
    // Prepare: a stack as npm start runs it: store, local S3 whose notifications invoke the handler.
    const store = await startTestStore();
    await createSchemaGroups(store);
    let handler: ((event: S3Event, context: Context) => Promise<unknown>) | undefined;
    const s3 = await startTestS3({
      mounts: [offlineMount(store)],
      onObjectCreated: async (event) => {
        if (event.Records[0]?.s3.bucket.name === BACKFILL_BUCKET)
          await handler?.(event, lambdaContext());
      },
    });
    process.env.AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME = store.store.endpoint;
    process.env.AWS_ENDPOINT_URL_SAGEMAKER = store.store.endpoint;
    process.env.AWS_ENDPOINT_URL_S3 = s3.server.endpoint;
    process.env.REPORTS_BUCKET = REPORTS_BUCKET;
    const { createBackfillHandler } = await import('../../functions/backfill/index.ts');
    handler = createBackfillHandler() as never;
    const file = cardFile('stack', 30);
    const path = csvFile('stack.csv', file);
    const output = captureIo();
    try {
      // Act
      const code = await runBackfillCommand(
        path,
        {
          group: 'fraud-cards',
          key: 'from-cli/stack.csv',
          dataDir: join(dir, 'no-stack-here'),
          s3Endpoint: s3.server.endpoint,
          bucket: BACKFILL_BUCKET,
          reportsBucket: REPORTS_BUCKET,
          timeout: 30,
          json: true,
          progress: false,
        },
        output.io
      );
      // Assess
      expect(code).toBe(0);
      expect(JSON.parse(output.out())).toMatchObject({
        status: 'completed',
        rowsWritten: file.good.size,
        rowsRejected: file.badRows.length,
        source: { key: 'backfill/fraud-cards/from-cli/stack.csv' },
      });
      expect(output.err()).toContain('the running stack is backfilling it');
    } finally {
      await s3.close();
      await store.close();
    }
  }, 60_000);

  it('a running stack that stops while the command follows it: one line, and what resumes the drop', async () => {
    // Prepare: a stack's S3 that takes the upload, then stops before any report.
    const s3 = await startTestS3();
    const path = join(dir, 'stopped.csv');
    writeFileSync(path, toCsv(cardFile('stopped', 3).rows));
    let closing: Promise<void> | undefined;
    const output = captureIo();
    const io = {
      ...output.io,
      err: {
        ...output.io.err,
        write: (text: string) => {
          if (text.startsWith('uploaded to')) closing ??= s3.close();
          return output.io.err.write(text);
        },
      },
    };
    // Act
    const run = runBackfillCommand(
      path,
      {
        group: 'fraud-cards',
        dataDir: join(dir, 'stopped-stack'),
        s3Endpoint: s3.server.endpoint,
        bucket: BACKFILL_BUCKET,
        reportsBucket: REPORTS_BUCKET,
        timeout: 30,
        json: false,
        progress: false,
      },
      io
    );
    // Assess
    await expect(run).rejects.toMatchObject({
      name: 'UserError',
      message: expect.stringMatching(
        new RegExp(
          `^the stack at ${s3.server.endpoint} stopped answering while backfilling backfill/fraud-cards/stopped\\.csv \\((ECONNREFUSED|ECONNRESET)\\)$`
        )
      ),
      hint: expect.stringContaining(
        'npm start on its data dir resumes the drop from its checkpoint'
      ),
    });
    await closing;
  }, 60_000);

  it('a running stack that does not finish the drop within --timeout: exit 3, not the 2 of an unexpected error', async () => {
    // An S3 whose notifications reach no handler: the report never comes.
    const s3 = await startTestS3();
    const path = join(dir, 'unfinished.csv');
    writeFileSync(path, toCsv(cardFile('unfinished', 2).rows));
    const output = captureIo();
    try {
      const code = await runBackfillCommand(
        path,
        {
          group: 'fraud-cards',
          dataDir: join(dir, 'unfinished-stack'),
          s3Endpoint: s3.server.endpoint,
          bucket: BACKFILL_BUCKET,
          reportsBucket: REPORTS_BUCKET,
          timeout: 1,
          json: false,
          progress: false,
        },
        output.io
      );
      expect(code).toBe(3);
      expect(output.err()).toContain(
        'backfill of backfill/fraud-cards/unfinished.csv did not finish within 1 s; it goes on in the running stack'
      );
    } finally {
      await s3.close();
    }
  });

  it('SIGTERM while following a running stack stops following only, as Ctrl-C does: exit 143 and where the report will be', async () => {
    // Prepare: an S3 whose notifications reach no handler (the drop goes on elsewhere)
    const s3 = await startTestS3();
    const path = join(dir, 'followed.csv');
    writeFileSync(path, toCsv(cardFile('followed', 2).rows));
    const output = captureIo();
    try {
      const running = runBackfillCommand(
        path,
        {
          group: 'fraud-cards',
          dataDir: join(dir, 'followed-stack'),
          s3Endpoint: s3.server.endpoint,
          bucket: BACKFILL_BUCKET,
          reportsBucket: REPORTS_BUCKET,
          timeout: 10,
          json: false,
          progress: false,
        },
        output.io
      );
      // Act: SIGTERM once the command follows the drop (bounded wait)
      const deadline = Date.now() + 20_000;
      while (
        !output.err().includes('the running stack is backfilling it') &&
        Date.now() < deadline
      ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      process.emit('SIGTERM');
      // Assess
      expect(await running).toBe(143);
      expect(output.err()).toContain(
        'The running stack keeps backfilling s3://skewless-backfill/backfill/fraud-cards/followed.csv'
      );
      expect(process.listenerCount('SIGTERM')).toBe(0);
    } finally {
      await s3.close();
    }
  });

  it("a running stack's S3 without the --bucket or --reports-bucket given: one line naming it", async () => {
    const s3 = await startTestS3();
    const path = join(dir, 'buckets.csv');
    writeFileSync(path, toCsv(cardFile('buckets', 2).rows));
    const options = {
      group: 'fraud-cards',
      dataDir: join(dir, 'buckets-stack'),
      s3Endpoint: s3.server.endpoint,
      bucket: BACKFILL_BUCKET,
      reportsBucket: REPORTS_BUCKET,
      timeout: 2,
      json: false,
      progress: false,
    };
    try {
      for (const [option, flag] of [
        ['bucket', '--bucket'],
        ['reportsBucket', '--reports-bucket'],
      ] as const) {
        const output = captureIo();
        await expect(
          runBackfillCommand(path, { ...options, [option]: 'no-such-bucket' }, output.io)
        ).rejects.toMatchObject({
          name: 'UserError',
          message: `the S3 at ${s3.server.endpoint} has no bucket no-such-bucket (${flag})`,
          hint: expect.stringContaining(`${BACKFILL_BUCKET}, ${REPORTS_BUCKET}`),
        });
        // Refused before the upload.
        expect(output.err()).toBe('');
      }
    } finally {
      await s3.close();
    }
  });

  it('shows rows moving between checkpoints while following a running stack, and Ctrl-C stops following only', async () => {
    // Prepare: a running stack whose handler writes records (slow enough to watch) with progress
    // every 100 rows and no checkpoint before the end (30 s interval).
    const store = await startTestStore();
    await createSchemaGroups(store);
    // 10 ms more per store call: the 160 BatchWriteRecord calls of 25 rows take ≥ 1.6 s, several
    // of the command's 500 ms polls, however fast the machine (it once ended between two polls).
    store.store.setFaults({ latencyMs: 10 });
    let handler: ((event: S3Event, context: Context) => Promise<unknown>) | undefined;
    // The second drop starts only once Ctrl-C is sent: it cannot finish (and its report end the
    // following) before the interrupt, however slow the machine.
    let releaseSecond: () => void = () => {};
    const secondMayStart = new Promise<void>((resolve) => {
      releaseSecond = resolve;
    });
    const s3 = await startTestS3({
      onObjectCreated: async (event) => {
        const record = event.Records[0];
        if (record?.s3.bucket.name !== BACKFILL_BUCKET) return;
        if (record.s3.object.key.includes('watch-2')) await secondMayStart;
        await handler?.(event, lambdaContext());
      },
    });
    process.env.AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME = store.store.endpoint;
    process.env.AWS_ENDPOINT_URL_SAGEMAKER = store.store.endpoint;
    process.env.AWS_ENDPOINT_URL_S3 = s3.server.endpoint;
    process.env.REPORTS_BUCKET = REPORTS_BUCKET;
    const { createBackfillHandler } = await import('../../functions/backfill/index.ts');
    const { loadBackfillConfig } = await import('../../shared/backfill/index.ts');
    const config = {
      ...loadBackfillConfig(),
      writeMode: 'records' as const,
      concurrency: 1,
      progressEveryRows: 100,
      checkpointIntervalMs: 30_000,
    };
    handler = createBackfillHandler({ config }) as never;
    const file = cardFile('watch', 4_000, 0);
    const path = join(dir, 'watch.csv');
    writeFileSync(path, toCsv(file.rows));
    const options: BackfillCliOptions = {
      group: 'fraud-cards',
      dataDir: join(dir, 'no-stack-here'),
      s3Endpoint: s3.server.endpoint,
      bucket: BACKFILL_BUCKET,
      reportsBucket: REPORTS_BUCKET,
      timeout: 60,
      json: true,
      progress: true,
    };
    const followed = captureIo();
    const interrupted = captureIo();
    try {
      // Act 1: follow to the end.
      const code = await runBackfillCommand(path, { ...options, key: 'watch-1.csv' }, followed.io);
      // Act 2: a second upload, and Ctrl-C while the command follows it.
      const running = runBackfillCommand(path, { ...options, key: 'watch-2.csv' }, interrupted.io);
      while (!interrupted.err().includes('the running stack is backfilling it')) {
        await new Promise((r) => setTimeout(r, 50));
      }
      process.emit('SIGINT');
      releaseSecond();
      const interruptedCode = await running;
      await s3.server.settled();
      // Assess
      expect(code).toBe(0);
      const reads = [
        ...followed.err().matchAll(/backfill: ([\d,]+) rows read, ([\d,]+) written(.*)/g),
      ];
      const moving = reads.filter((m) => {
        const n = Number((m[1] as string).replace(/,/g, ''));
        return n > 0 && n < 4_000 && !(m[3] as string).includes('at the last checkpoint');
      });
      expect(moving.length).toBeGreaterThan(0);
      // The last line shows where the backfill ended, not the last poll before the report.
      expect(reads.at(-1)?.slice(1, 3)).toEqual(['4,000', '4,000']);
      expect(interruptedCode).toBe(130);
      expect(interrupted.err()).toContain(
        'The running stack keeps backfilling s3://skewless-backfill/backfill/fraud-cards/watch-2.csv'
      );
      const printed =
        /report is at:\n {2}AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1 aws s3 cp s3:\/\/skewless-reports\/(\S+) - --endpoint-url http:\/\/127.0.0.1:\d+/.exec(
          interrupted.err()
        );
      expect(printed).not.toBeNull();
      // The stack did go on: the report is where the command said.
      const report = await s3.client.send(
        new GetObjectCommand({ Bucket: REPORTS_BUCKET, Key: printed?.[1] })
      );
      expect(JSON.parse((await report.Body?.transformToString()) ?? '')).toMatchObject({
        status: 'completed',
        rowsWritten: 4_000,
      });
      expect(interrupted.out()).toBe('');
    } finally {
      releaseSecond();
      await s3.close();
      await store.close();
    }
  }, 120_000);

  it('fails with a message for an unknown feature group', async () => {
    // Prepare
    const output = captureIo();
    const options = {
      group: 'nope',
      dataDir: dir,
      bucket: 'b',
      reportsBucket: 'r',
      timeout: 1,
      json: false,
      progress: false,
    };
    // Act
    const run = runBackfillCommand(join(dir, 'october.csv'), options, output.io);
    // Assess
    await expect(run).rejects.toThrow('Unknown feature group "nope"');
  });

  it('refuses a --key that climbs out of the group folder', async () => {
    const options = {
      group: 'fraud-cards',
      key: '../../escape.csv',
      dataDir: join(dir, 'untouched-key'),
      bucket: 'b',
      reportsBucket: 'r',
      timeout: 1,
      json: false,
      progress: false,
    };
    const file = join(dir, 'key.csv');
    writeFileSync(file, 'card_id,event_time\n');
    await expect(runBackfillCommand(file, options, captureIo().io)).rejects.toThrow(
      'backfill/fraud-cards/../../escape.csv: the object name (--key) may not have empty, "." or ".." path segments'
    );
    expect(existsSync(join(dir, 'untouched-key'))).toBe(false);
  });

  it('refuses a directory given as the file, in one line', async () => {
    const folder = join(dir, 'folder.csv');
    mkdirSync(folder, { recursive: true });
    const options = {
      group: 'fraud-cards',
      dataDir: join(dir, 'untouched-dir'),
      bucket: 'b',
      reportsBucket: 'r',
      timeout: 1,
      json: false,
      progress: false,
    };
    await expect(runBackfillCommand(folder, options, captureIo().io)).rejects.toThrow(
      `not a file: ${folder} is a directory`
    );
  });

  it('refuses a file whose ending names no format before uploading it', async () => {
    // Prepare
    const output = captureIo();
    const notes = join(dir, 'notes.txt');
    writeFileSync(notes, 'card_id,event_time\n');
    const dataDir = join(dir, 'untouched');
    const options = {
      group: 'fraud-cards',
      dataDir,
      bucket: 'b',
      reportsBucket: 'r',
      timeout: 1,
      json: false,
      progress: false,
    };
    // Act
    const run = runBackfillCommand(notes, options, output.io);
    // Assess: one line naming the object and every ending read, and no stack was started
    await expect(run).rejects.toThrow(
      /^backfill\/fraud-cards\/notes\.txt: unsupported file extension: use \.parquet, \.pq, \.csv, .*\.json\.gzip \(--key <name> names the object\)$/
    );
    expect(existsSync(dataDir)).toBe(false);
    expect(output.err()).toBe('');
  });

  it('refuses an internal group (derived-feature state) as a target', async () => {
    // Prepare
    const output = captureIo();
    const options = {
      group: 'fraud-card-state',
      dataDir: dir,
      bucket: 'b',
      reportsBucket: 'r',
      timeout: 1,
      json: false,
      progress: false,
    };
    // Act
    const run = runBackfillCommand(join(dir, 'october.csv'), options, output.io);
    // Assess
    await expect(run).rejects.toThrow(
      'Unknown feature group "fraud-card-state"; known: fraud-transactions, fraud-cards, fraud-merchants'
    );
  });
});

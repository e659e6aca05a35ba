/**
 * The whole product as a newcomer runs it: `skewless start` (what `npm start` runs) in a child
 * process on ephemeral ports, driven only through public interfaces — the Kinesis API, HTTP,
 * the S3 API and the CLI — then stopped with SIGINT and restarted on the same data directory.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocalKinesisClient } from '../../local/kinesis/localKinesis.ts';
import { expectLoopbackOnly } from '../helpers/loopback.ts';
import {
  killProcess,
  poll,
  root,
  runCli,
  type StackProcess,
  startStackProcess,
  stopStackProcess,
} from '../helpers/stackProcess.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'skewless-e2e-'));
const startStack = () =>
  startStackProcess(dataDir, ['--no-demo', '--flush-interval', '300', '--audit-interval', '3600']);
const stopStack = stopStackProcess;

const payment = (i: number, eventTime: string) => ({
  transaction_id: `e2e-txn-${i}`,
  event_time: eventTime,
  card_id: `card-${String(1 + (i % 5)).padStart(4, '0')}`,
  merchant_id: 'merchant-001',
  amount: 10 + i,
  currency: 'EUR',
  channel: 'ecom',
});

describe('npm start: the whole product on the embedded default', () => {
  let stack: StackProcess | undefined;
  afterAll(async () => {
    if (stack !== undefined) await killProcess(stack);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('ingests, serves, backfills, audits, builds a training set, stops cleanly and restarts with all state', async () => {
    stack = await startStack();
    const { endpoints } = stack;
    // Every server of the stack listens on 127.0.0.1 only, never on the machine's interfaces.
    for (const url of [endpoints.api, endpoints.store, endpoints.s3, endpoints.kinesis]) {
      await expectLoopbackOnly(url);
    }
    // --no-demo: no demo records to curl; the banner suggests a put and a get instead.
    expect(stack.output()).toContain('npx skewless put fraud-cards');
    expect(stack.output()).not.toContain('txn-demo-0001');

    // Stream 20 payments through the local Kinesis API, partition key = card.
    // Relative to the clock: fraud-transactions has a 30-day online TTL, a fixed date expires.
    const eventTime = new Date(Date.now() - 60_000).toISOString();
    const kinesis = createLocalKinesisClient(endpoints.kinesis);
    await kinesis.send(
      new PutRecordsCommand({
        StreamName: endpoints.streamName,
        Records: Array.from({ length: 20 }, (_, i) => ({
          PartitionKey: payment(i, eventTime).card_id,
          Data: Buffer.from(JSON.stringify(payment(i, eventTime))),
        })),
      })
    );
    kinesis.destroy();

    // Read one back over HTTP from the lookup API.
    const record = await poll('the streamed payment online', async () => {
      const response = await fetch(
        `${endpoints.api}/feature-groups/fraud-transactions/records/e2e-txn-7`
      );
      return response.status === 200
        ? ((await response.json()) as { features: Record<string, unknown>; eventTime: string })
        : undefined;
    });
    expect(record.eventTime).toBe(eventTime);
    expect(record.features.amount).toBe(17);

    // Drop a backfill file through the S3 API; the report lands in the reports bucket.
    const s3 = new S3Client({
      endpoint: endpoints.s3,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const csv = readFileSync(join(root, 'examples/backfill/fraud-cards-october.csv'));
    await s3.send(
      new PutObjectCommand({
        Bucket: endpoints.backfillBucket,
        Key: 'backfill/fraud-cards/october.csv',
        Body: csv,
      })
    );
    const reportKey = await poll('the backfill report', async () => {
      const listing = await s3.send(
        new ListObjectsV2Command({
          Bucket: endpoints.reportsBucket,
          Prefix: 'backfill/fraud-cards/',
        })
      );
      return listing.Contents?.map((o) => o.Key ?? '').find((k) => k.endsWith('report.json'));
    });
    const report = JSON.parse(
      (await (
        await s3.send(new GetObjectCommand({ Bucket: endpoints.reportsBucket, Key: reportKey }))
      ).Body?.transformToString()) ?? '{}'
    ) as { rowsRead: number; rowsWritten: number; rowsRejected: number };
    expect(report).toMatchObject({ rowsRead: 602, rowsWritten: 600, rowsRejected: 2 });
    s3.destroy();

    // The audit, on demand, against the running stack.
    const audit = runCli(['audit', '--data-dir', dataDir, '--json']);
    expect(audit.status, audit.stderr).toBe(0);
    expect(audit.stdout).toContain('fraud-transactions');

    // A point-in-time training set for the streamed payments.
    const labels = join(dataDir, 'labels.csv');
    writeFileSync(
      labels,
      `transaction_id,card_id,merchant_id,event_time,is_fraud\n${Array.from({ length: 20 }, (_, i) => `e2e-txn-${i},${payment(i, eventTime).card_id},merchant-001,${eventTime},${i % 7 === 0}`).join('\n')}\n`
    );
    const out = join(dataDir, 'training.csv');
    const dataset = runCli([
      'dataset',
      labels,
      '--feature-set',
      'fraud_model_v3',
      '--label-time-column',
      'event_time',
      '--out',
      out,
      '--format',
      'csv',
      '--data-dir',
      dataDir,
      '--no-progress',
    ]);
    expect(dataset.status, dataset.stderr + dataset.stdout).toBe(0);
    const rows = readFileSync(out, 'utf8').trim().split('\n');
    expect(rows).toHaveLength(21);
    // Point in time: the streamed payment itself, and the latest backfilled card aggregate not
    // after the label time (the example file is offline history, older than any label here).
    const header = (rows[0] ?? '').split(',');
    const row7 = (rows.find((r) => r.startsWith('e2e-txn-7,')) ?? '').split(',');
    const column = (name: string) => row7[header.indexOf(name)];
    expect(column('fraud-transactions.amount')).toBe('17.0');
    const cardRow = csv
      .toString()
      .split('\n')
      .map((line) => line.split(','))
      .map((cells) => ({ cells, time: cells[1] ?? '' }))
      .filter(({ cells, time }) => cells[0] === 'card-0003' && time !== '' && time <= eventTime)
      .sort((a, b) => (a.time < b.time ? -1 : 1))
      .at(-1)?.cells;
    expect(cardRow).toBeDefined();
    expect(column('fraud-cards.txn_count_7d')).toBe(cardRow?.[2]);

    // Ctrl-C: a clean stop.
    expect(await stopStack(stack)).toBe(0);
    expect(stack.output()).toContain('stopped cleanly');
    // A stale endpoints.json would send scripts and the CLI to a stack that is gone.
    expect(existsSync(join(dataDir, 'endpoints.json'))).toBe(false);

    // Restart on the same data directory: every bit of state is still there.
    stack = await startStack();
    const again = await fetch(
      `${stack.endpoints.api}/feature-groups/fraud-transactions/records/e2e-txn-7`
    );
    expect(again.status).toBe(200);
    expect(((await again.json()) as { features: { amount: number } }).features.amount).toBe(17);
    expect(await stopStack(stack)).toBe(0);
    // The offline store too: the same training set, built again from what is on disk.
    const out2 = join(dataDir, 'training-again.csv');
    const again2 = runCli([
      'dataset',
      labels,
      '--feature-set',
      'fraud_model_v3',
      '--label-time-column',
      'event_time',
      '--out',
      out2,
      '--format',
      'csv',
      '--data-dir',
      dataDir,
      '--no-progress',
    ]);
    expect(again2.status, again2.stderr).toBe(0);
    expect(readFileSync(out2, 'utf8')).toBe(readFileSync(out, 'utf8'));
  }, 240_000);
});

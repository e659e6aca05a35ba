/**
 * `npm start` run again on the data dir of an earlier run, more than the online TTL of
 * fraud-transactions (30 days) after the demo sent its first payment: the online store no longer
 * serves `txn-demo-0001`, and the demo must still not send it again (a second payment under one id
 * in the offline store). The store's clock is moved instead of waiting (the stack in this process).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEMO_TRANSACTION_ID } from '../../local/demo/producer.ts';
import { type StartOptions, startStack } from '../../local/start.ts';
import { quoteString } from '../../shared/offline/dialect.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'skewless-demo-past-ttl-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const DAY_MS = 86_400_000;
/** The store's clock: the wall clock moved on by `aheadMs`. */
const storeClock = { aheadMs: 0, now: () => Date.now() + storeClock.aheadMs };
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** A free port on 127.0.0.1 (the handlers keep the store's endpoint across starts in one process). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * The demo's first payments in the offline store (flushed when the stack stops); not the delete
 * marker the store writes there when the online record expires.
 */
async function offlineFirstPayments(): Promise<number> {
  const files = join(
    dataDir,
    'store',
    'offline-store',
    '*',
    'sagemaker',
    '*',
    'offline-store',
    'fraud-transactions-*',
    'data',
    '**',
    '*.parquet'
  );
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const result = await connection.runAndReadAll(
      `SELECT count(*) FROM read_parquet(${quoteString(files)}, union_by_name = true) WHERE NOT is_deleted AND transaction_id = ${quoteString(DEMO_TRANSACTION_ID)}`
    );
    return Number(result.getRows()[0]?.[0]);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('npm start again past the online TTL of the demo’s first payment', () => {
  let options: StartOptions;
  beforeAll(async () => {
    options = {
      dataDir,
      apiPort: 0,
      storePort: await freePort(),
      kinesisPort: 0,
      s3Port: await freePort(),
      demo: true,
      demoRate: 5,
      demoMaxEvents: 5,
      auditIntervalSeconds: 3600,
      flushIntervalMs: 300,
      logLevel: 'warn',
      storeClock,
    };
  });

  it('does not send it again: one payment under its id offline, and the log says it is no longer served', async () => {
    // Prepare: a first run with the demo on, which sends the first payment and waits until served
    const first = await startStack(options, quiet as never);
    await first.stop();
    expect(await offlineFirstPayments()).toBe(1);
    // Act: 31 days later by the store's clock, started again
    storeClock.aheadMs = 31 * DAY_MS;
    const warnings: string[] = [];
    const stderr = process.stderr.write.bind(process.stderr);
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk, ...rest) => {
      warnings.push(String(chunk));
      return stderr(chunk, ...(rest as []));
    });
    const second = await startStack(options, quiet as never);
    await second.stop();
    // Assess
    expect(await offlineFirstPayments()).toBe(1);
    expect(warnings.join('')).toContain(
      `${DEMO_TRANSACTION_ID} is from an earlier run on this data dir`
    );
    expect(warnings.join('')).toContain(
      'The online store no longer serves it (past the online TTL of fraud-transactions, 30 days): the commands below find no record for it (the offline store keeps it)'
    );
  }, 120_000);

  it('sends it again when the store was wiped since (a new group holds no payment)', async () => {
    // Prepare: the data dir of the runs above, its note kept and its store deleted
    rmSync(join(dataDir, 'store'), { recursive: true, force: true });
    storeClock.aheadMs = 0;
    // Act: started again; it resolves once the first payment is served
    const lookup = await startStack(options, quiet as never);
    const served = await fetch(
      `${lookup.endpoints.api}/feature-groups/fraud-transactions/records/${DEMO_TRANSACTION_ID}`
    );
    await lookup.stop();
    // Assess
    expect(served.status).toBe(200);
    expect(await offlineFirstPayments()).toBe(1);
  }, 120_000);
});

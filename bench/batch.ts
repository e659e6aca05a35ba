/**
 * Benchmark of batch drops (`batch/<group>/`, both stores) end to end, next to the backfill's
 * two write modes measured on the same stack in the same run (the machine is noisy: compare the
 * ratios). Per format (CSV, Parquet), the file is put into the local S3 with the SDK, its
 * `ObjectCreated` event invokes the handler, which streams it back, validates every row and
 * writes it; timed from the PutObject to the report:
 *   - batch drop, new identifiers: BatchGetRecord per 100 identifiers, then every row to both
 *     stores with BatchWriteRecord (every online value changes);
 *   - batch drop, the same rows again: the online read finds every value unchanged, so every row
 *     goes to the offline store only;
 *   - backfill, records mode (BatchWriteRecord, OfflineStore only): the like-for-like baseline;
 *   - backfill, direct mode (Parquet into the offline store through S3), the backfill's default.
 * The store runs as a child process (the managed service is another machine); the batch function
 * runs with the template's settings (8 calls of 25 in flight, adaptive SDK retries).
 *
 * Run alone: `node_modules/.bin/node bench/batch.ts`. Rows: BENCH_BATCH_ROWS (default 20,000).
 * Event times lie in the last few hours (the online TTL counts from them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context, S3Event } from 'aws-lambda';
import type { BackfillReport } from '../shared/backfill/types.ts';
import {
  type BenchStack,
  backfillThroughS3,
  type Format,
  rate,
  startBenchStack,
  writeFile,
} from './backfill.ts';
import { benchSizeOrExit, runAlone } from './harness.ts';
import type { Bench, BenchRow, BenchSection } from './types.ts';

const ROWS = benchSizeOrExit('BENCH_BATCH_ROWS', 20_000);
const FORMATS: readonly Format[] = ['csv', 'parquet'];
/** The backfill bench writes 5,000 rows per hour of event time: the file spans ROWS / 5,000 hours. */
const HOURS = Math.ceil(ROWS / 5_000) + 1;

type Handler = (event: S3Event, context: Context) => Promise<unknown>;

interface Run {
  readonly ms: number;
  readonly report: BackfillReport;
}

async function drop(
  stack: BenchStack,
  workDir: string,
  format: Format,
  key: string,
  prefix: string,
  originMs: number
): Promise<Run> {
  const path = join(workDir, `${prefix}.${format}`);
  const size = await writeFile(format, prefix, ROWS, path, originMs);
  try {
    return await backfillThroughS3(stack, path, size, key, ROWS);
  } finally {
    rmSync(path);
  }
}

const bench: Bench = async (): Promise<BenchSection> => {
  const workDir = mkdtempSync(join(tmpdir(), 'skewless-bench-batch-'));
  const rows: BenchRow[] = [];
  const stack = await startBenchStack(workDir);
  try {
    const { createBackfillHandler } = await import('../functions/backfill/index.ts');
    const { createBatchHandler } = await import('../functions/batch/index.ts');
    const { loadBackfillConfig } = await import('../shared/backfill/index.ts');
    const origin = Date.now() - HOURS * 3_600_000;
    for (const format of FORMATS) {
      stack.setHandler(createBatchHandler() as unknown as Handler, 'batch');
      const fresh = await drop(
        stack,
        workDir,
        format,
        `batch/fraud-cards/bench-new.${format}`,
        `batch-${format}`,
        origin
      );
      const again = await drop(
        stack,
        workDir,
        format,
        `batch/fraud-cards/bench-again.${format}`,
        `batch-${format}`,
        origin
      );
      for (const [run, expected] of [
        [fresh, { changed: ROWS, unchanged: 0, stayed: 0 }],
        [again, { changed: 0, unchanged: ROWS, stayed: 0 }],
      ] as const) {
        const got = run.report.onlineValues;
        if (JSON.stringify(got) !== JSON.stringify(expected)) {
          throw new Error(`unexpected online effects ${JSON.stringify(got)}`);
        }
      }
      const backfill: Record<string, Run> = {};
      for (const mode of ['records', 'direct'] as const) {
        stack.setHandler(
          createBackfillHandler({
            config: { ...loadBackfillConfig(), writeMode: mode },
          }) as unknown as Handler
        );
        backfill[mode] = await drop(
          stack,
          workDir,
          format,
          `backfill/fraud-cards/bench-batch-${mode}.${format}`,
          `backfill-${mode}-${format}`,
          origin
        );
      }
      const records = backfill.records as Run;
      const direct = backfill.direct as Run;
      const perSecond = (r: Run) => ROWS / (r.ms / 1000);
      rows.push({
        metric: `end to end, ${format} (${ROWS.toLocaleString('en-US')} rows): batch drop, new identifiers (both stores) vs backfill records mode (offline only, same write path) vs backfill direct mode`,
        value: `${rate(ROWS, fresh.ms)} vs ${rate(ROWS, records.ms)} (x${(perSecond(fresh) / perSecond(records)).toFixed(2)}) vs ${rate(ROWS, direct.ms)}`,
      });
      rows.push({
        metric: `end to end, ${format} (${ROWS.toLocaleString('en-US')} rows): batch drop of the same rows again (every online value unchanged: offline-only writes after the online read)`,
        value: `${rate(ROWS, again.ms)} (x${(perSecond(again) / perSecond(records)).toFixed(2)} of records mode)`,
      });
    }
  } finally {
    stack.setHandler(undefined);
    await stack.close();
    rmSync(workDir, { recursive: true, force: true });
  }
  return {
    title: 'Batch drops (both stores) next to the backfill',
    method: [
      `per format, ${ROWS.toLocaleString('en-US')} fraud-cards rows (event times in the last ${HOURS} hours), PutObject into the local S3 -> ObjectCreated -> handler -> report, timed from the PutObject to the report; the embedded store in a child process`,
      'batch drop: BatchGetRecord (100 identifiers per call) then BatchWriteRecord (25 per call, 8 calls in flight, adaptive SDK retries), the row that ends up online to both stores, the others to the offline store only; the report counts what changed online',
      'baselines in the same run, same rows: backfill records mode (BatchWriteRecord OfflineStore, 8 calls of 25 in flight) and direct mode (Parquet into the offline store through S3)',
    ],
    rows,
  };
};

export default bench;

if (import.meta.main) await runAlone(bench);

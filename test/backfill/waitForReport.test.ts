/**
 * `skewless backfill` following a running stack's backfill: before the handler's first
 * progress.json, the progress line reads the rows of the last checkpoint from the state; a
 * retry's progress, counted from its checkpoint again, never takes the rows read back.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressDisplay, waitForReport } from '../../local/cli/backfill.ts';
import { reportKeys } from '../../shared/backfill/objectKey.ts';
import type { SourceObject } from '../../shared/backfill/types.ts';
import { REPORTS_BUCKET, startTestS3, type TestS3 } from '../helpers/s3Events.ts';

describe('Function: waitForReport()', () => {
  let s3: TestS3;
  beforeAll(async () => {
    s3 = await startTestS3();
  });
  afterAll(async () => {
    await s3?.close();
  });

  /** A dropped object's version, as the handler's state and progress name it. */
  const dropped = (key: string): SourceObject => ({
    bucket: 'skewless-backfill',
    key,
    etag: 'e',
    size: 1,
  });

  /** Writes the handler's state or progress object of `source` with `body`. */
  const handlerWrites = (source: SourceObject, object: 'state' | 'progress', body: object) =>
    s3.client.send(
      new PutObjectCommand({
        Bucket: REPORTS_BUCKET,
        Key: reportKeys(source)[object],
        Body: JSON.stringify(body),
      })
    );

  it('counts the exact duplicates of the last checkpoint among the rows read', async () => {
    // Prepare: a checkpoint of a derive backfill (10 written, 2 rejected, 3 exact duplicates
    // written once), no progress.json and no report yet.
    const source = dropped('derive/fraud-transactions/payments.jsonl');
    await handlerWrites(source, 'state', { rowsWritten: 10, rowsRejected: 2, rowsDuplicate: 3 });
    const lines: string[] = [];
    const display = progressDisplay(
      { out: { write: () => true }, err: { write: (t) => lines.push(t) } },
      true
    );
    // Act: one poll (the deadline, 250 ms, passes during its 500 ms wait for the next)
    const report = await waitForReport(s3.client, REPORTS_BUCKET, source, 250, display);
    // Assess
    expect(report).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^backfill: 15 rows read, 10 written, 2 rejected \(.*\) \(at the last checkpoint\)\n$/
    );
  });

  it('does not label counts above the last checkpoint as the checkpoint’s', () => {
    // Prepare: a progress.json at 1,000 rows read was shown; the next poll's read of it failed
    // and fell back to the checkpoint (500), whose counts the line does not show
    const lines: string[] = [];
    const display = progressDisplay(
      { out: { write: () => true }, err: { write: (t) => lines.push(t) } },
      true
    );
    // Act
    display.update(1_000, 955, 20);
    display.update(500, 480, 10, ' (at the last checkpoint)');
    display.update(1_010, 990, 20, ' (at the last checkpoint)');
    // Assess: the highest counts, said to be the checkpoint's only when they are
    expect(lines[1]).toMatch(/^backfill: 1,000 rows read, 955 written, 20 rejected \([^)]*\)\n$/);
    expect(lines[2]).toMatch(/ \(at the last checkpoint\)\n$/);
  });

  it('never shows fewer rows than it showed, when the next invocation restarts from its checkpoint', async () => {
    // Prepare: an invocation's last progress (1,000 rows read, 40 of them not written: their
    // writes failed), then its retry's first, counted from the checkpoint before them (975).
    const source = dropped('backfill/fraud-cards/retried.csv');
    const progress = (rowsRead: number, rowsWritten: number, invocation: number) =>
      handlerWrites(source, 'progress', { rowsRead, rowsWritten, rowsRejected: 5, invocation });
    await progress(1000, 955, 1);
    const lines: string[] = [];
    let retried: Promise<unknown> | undefined;
    const display = progressDisplay(
      {
        out: { write: () => true },
        err: {
          write: (t) => {
            lines.push(t);
            retried ??= progress(975, 970, 2);
            return true;
          },
        },
      },
      true
    );
    // Act: two or three polls (500 ms apart), the retry's progress written after the first
    await waitForReport(s3.client, REPORTS_BUCKET, source, 1_200, display);
    await retried;
    // Assess: the rows read stay at 1,000; the rows written move on
    const [first, ...later] = lines.map((l) => l.replace(/ \(\d.*$/s, ''));
    expect(first).toBe('backfill: 1,000 rows read, 955 written, 5 rejected');
    expect(later.length).toBeGreaterThan(0);
    for (const line of later)
      expect(line).toBe('backfill: 1,000 rows read, 970 written, 5 rejected');
  });
});

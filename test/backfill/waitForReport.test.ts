/**
 * `skewless backfill` following a running stack's backfill: before the handler's first
 * progress.json, the progress line reads the rows of the last checkpoint from the state.
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

  it('counts the exact duplicates of the last checkpoint among the rows read', async () => {
    // Prepare: a checkpoint of a derive backfill (10 written, 2 rejected, 3 exact duplicates
    // written once), no progress.json and no report yet.
    const source: SourceObject = {
      bucket: 'skewless-backfill',
      key: 'derive/fraud-transactions/payments.jsonl',
      etag: 'e',
      size: 1,
    };
    const state = { rowsWritten: 10, rowsRejected: 2, rowsDuplicate: 3 };
    await s3.client.send(
      new PutObjectCommand({
        Bucket: REPORTS_BUCKET,
        Key: reportKeys(source).state,
        Body: JSON.stringify(state),
      })
    );
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
});

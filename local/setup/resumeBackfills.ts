import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { ContinuationQueue } from '../../shared/backfill/continuation.ts';
import { BACKFILL_PREFIX } from '../../shared/backfill/objectKey.ts';
import { readState, replaceState, StateConflictError } from '../../shared/backfill/stateStore.ts';
import { BackfillStatus, type SourceObject } from '../../shared/backfill/types.ts';

/** Which drops {@link resumeUnfinishedBackfills} continues, and how. */
interface ResumeOptions {
  /**
   * `backfill/` (default), or `batch/` with the batch function's queue; a drop's own key and `/`
   * for that drop only (`skewless backfill` run again)
   */
  readonly prefix?: string;
  /**
   * Which sources to resume (default: all), e.g. only the same content; asked only of unfinished
   * drops, so a costly check (hashing the file) runs only when there is one
   */
  readonly accept?: (source: SourceObject) => boolean | Promise<boolean>;
  /**
   * Also continue drops that failed resumable (`"resumable": true`: writes kept failing, or the
   * store refused them), with `"resume": true` as an operator would send it on AWS. For the same
   * command run again once the cause is fixed, never at `npm start`: a failure waits for a fix.
   */
  readonly failedToo?: boolean;
}

/** A drop continued by {@link resumeUnfinishedBackfills}. */
interface ResumedDrop {
  readonly source: SourceObject;
  /** It had failed resumable (else it was stopped while running). */
  readonly failed: boolean;
}

/**
 * At `npm start`: every backfill whose state is still `running` (stopped by Ctrl-C at a
 * checkpoint, or by a crash) is continued from its checkpoint. A lease found in such a state
 * belongs to the previous run of this stack, which is gone (one process holds a data dir at a
 * time), so it is released first (compare-and-swap, like any state change); then a continuation
 * message goes to the in-process queue, exactly as the continuation queue would deliver it.
 * `skewless backfill` / `batch` run again on the same file do the same for that drop, and with
 * {@link ResumeOptions.failedToo} resume it after a resumable failure too.
 *
 * @example
 * ```typescript
 * const resumed = await resumeUnfinishedBackfills(s3, 'skewless-reports', inProcessContinuations);
 * ```
 * @returns the drops resumed
 */
async function resumeUnfinishedBackfills(
  s3: S3Client,
  reportsBucket: string,
  continuations: ContinuationQueue,
  options: ResumeOptions = {}
): Promise<ResumedDrop[]> {
  const { prefix = BACKFILL_PREFIX, accept = () => true, failedToo = false } = options;
  const resumed: ResumedDrop[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: reportsBucket,
        Prefix: prefix,
        ContinuationToken: token,
      })
    );
    token = page.NextContinuationToken;
    for (const object of page.Contents ?? []) {
      if (object.Key === undefined || !object.Key.endsWith('/state.json')) continue;
      const location = { bucket: reportsBucket, key: object.Key };
      const current = await readState(s3, location);
      if (current === undefined) continue;
      const failed =
        failedToo &&
        current.state.status === BackfillStatus.Failed &&
        current.state.resumable === true;
      if (current.state.status !== BackfillStatus.Running && !failed) continue;
      if (!(await accept(current.state.source))) continue;
      let generation = current.state.generation;
      if (current.state.lease !== null) {
        try {
          await replaceState(s3, location, { ...current.state, lease: null }, current.etag);
        } catch (error) {
          // Changed meanwhile: something is working on it, leave it alone.
          if (error instanceof StateConflictError) continue;
          throw error;
        }
        generation = current.state.generation;
      }
      await continuations.send(
        {
          type: 'skewless.backfill.continue',
          source: current.state.source,
          reason: failed ? 'retry' : 'checkpoint',
          generation,
          ...(failed ? { resume: true } : {}),
        },
        0
      );
      resumed.push({ source: current.state.source, failed });
    }
  } while (token !== undefined);
  return resumed;
}

export type { ResumedDrop, ResumeOptions };
export { resumeUnfinishedBackfills };

/**
 * Keeps stdout and stderr in order when both go to one pipe (`skewless backfill … 2>&1 | cat`).
 * A write to a pipe is immediate while the pipe has room; once it is full (a reader slower than
 * the command), Node queues the write on that stream, and each stream drains its own queue when
 * the pipe has room again, in no particular order between the two: a report written to stdout
 * after progress lines on stderr could reach the reader first. Waiting for one stream to be
 * flushed before writing to the other keeps the order the command wrote in.
 */
import { Writable } from 'node:stream';

/**
 * Resolves once everything written to `stream` so far has been handed to the operating system;
 * at once for a stream with nothing queued, or a sink that is no Node stream (tests).
 *
 * @example
 * ```typescript
 * process.stderr.write('backfill: 602 rows read\n');
 * await flushed(process.stderr);
 * process.stdout.write('Backfilled …\n');
 * ```
 */
function flushed(stream: unknown): Promise<void> {
  if (!(stream instanceof Writable) || stream.writableLength === 0) return Promise.resolve();
  // Writes complete in order: the callback of an empty one runs after every earlier one.
  return new Promise((resolve) => stream.write('', () => resolve()));
}

export { flushed };

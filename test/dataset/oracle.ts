/**
 * A brute-force point-in-time oracle, written independently of the SQL: plain loops over the
 * generated rows. It states the semantics of docs/training-sets.md directly:
 *
 * for each label and group, among the identifier's rows (written by the cutoff, if any; with the
 * SDK rule only rows after the identifier's latest delete marker, markers dropped) whose event
 * time is ≤ the label time (< when strict) and, with as-of-write-time, whose write time is ≤ the
 * label time, take the newest by (event time, put over delete marker, api time, write time): at
 * equal event time a put stands against a delete (issue 13 §4). Features are delivered when that
 * row exists, is not a delete marker and is not older than label time − max age.
 */

type OracleValue = string | number | bigint | null;

interface OracleRow {
  readonly id: string | bigint;
  /** Event time, epoch ms. */
  readonly et: number;
  /** api_invocation_time, epoch ms. */
  readonly api: number;
  /** write_time, epoch ms. */
  readonly wt: number;
  readonly del: boolean;
  readonly values: Readonly<Record<string, OracleValue>>;
}

interface OracleOptions {
  readonly strictlyBefore: boolean;
  readonly asOfWriteTime: boolean;
  readonly deleteRule: 'service' | 'sdk';
  /** Seconds; undefined = unbounded. */
  readonly maxAgeSeconds: number | undefined;
  /** Epoch ms; undefined = none. */
  readonly writeTimeCutoff: number | undefined;
}

interface OracleResult {
  /** Delivered feature values, or undefined when the label gets none from the group. */
  readonly values: Readonly<Record<string, OracleValue>> | undefined;
}

/** -1, 0, 1 comparing (et, api, wt): the SDK's order, used against its delete markers. */
function compareTuple(a: OracleRow, b: OracleRow): number {
  if (a.et !== b.et) return a.et < b.et ? -1 : 1;
  if (a.api !== b.api) return a.api < b.api ? -1 : 1;
  if (a.wt !== b.wt) return a.wt < b.wt ? -1 : 1;
  return 0;
}

/** -1, 0, 1 comparing the state order (et, put over delete, api, wt). */
function compareState(a: OracleRow, b: OracleRow): number {
  if (a.et !== b.et) return a.et < b.et ? -1 : 1;
  if (a.del !== b.del) return a.del ? -1 : 1;
  return compareTuple(a, b);
}

function pointInTime(
  rows: readonly OracleRow[],
  id: string | bigint | null,
  labelTime: number | null,
  options: OracleOptions
): OracleResult {
  if (id === null || labelTime === null) return { values: undefined };
  let own = rows.filter((r) => r.id === id);
  if (options.writeTimeCutoff !== undefined) {
    const cutoff = options.writeTimeCutoff;
    own = own.filter((r) => r.wt <= cutoff);
  }
  if (options.deleteRule === 'sdk') {
    let marker: OracleRow | undefined;
    for (const r of own) {
      if (r.del && (marker === undefined || compareTuple(r, marker) > 0)) marker = r;
    }
    own = own.filter((r) => !r.del && (marker === undefined || compareTuple(r, marker) > 0));
  }
  let best: OracleRow | undefined;
  for (const r of own) {
    const timeOk = options.strictlyBefore ? r.et < labelTime : r.et <= labelTime;
    if (!timeOk) continue;
    if (options.asOfWriteTime && r.wt > labelTime) continue;
    if (best === undefined || compareState(r, best) > 0) best = r;
  }
  if (best === undefined || best.del) return { values: undefined };
  if (options.maxAgeSeconds !== undefined && best.et < labelTime - options.maxAgeSeconds * 1000) {
    return { values: undefined };
  }
  return { values: best.values };
}

export type { OracleOptions, OracleResult, OracleRow, OracleValue };
export { compareState, compareTuple, pointInTime };

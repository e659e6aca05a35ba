/**
 * One line per command, shared by the lazy listing of `skewless --help` (local/cli/commands.ts)
 * and each command's own registration, so listing the commands loads none of them.
 */
const COMMAND_DESCRIPTIONS = {
  start:
    'Run the whole product on the embedded default: store, stream, S3, lookup API, audit and a demo producer.',
  store:
    'Run the embedded SageMaker Feature Store on 127.0.0.1 (runtime API + feature-group control plane) in the foreground; SIGINT/SIGTERM flush and stop it.',
  backfill:
    "Backfill a Parquet / CSV / JSON Lines file (gzip for text) into a feature group's offline store only, through S3 as in production",
  batch:
    "Feed a batch-fed group's online and offline stores from a batch job's Parquet / CSV / JSON Lines output (gzip for text), through S3 as in production; --dry-run counts what would change",
  audit:
    'Audit freshness, staleness, TTL health and online/offline coherence of every feature group, print a table and write the JSON report.',
  dataset:
    'Build a point-in-time correct training set: for each label row, every selected feature as the offline store knew it at the label time.',
  get: 'GetRecord from the online store, decoded through the schema module',
  put: 'Validate a JSON record with the schema module and PutRecord it (both stores unless --target)',
} as const;

type CommandName = keyof typeof COMMAND_DESCRIPTIONS;

export type { CommandName };
export { COMMAND_DESCRIPTIONS };

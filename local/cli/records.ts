import { existsSync } from 'node:fs';
import type { SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { type Command, InvalidArgumentError } from 'commander';
import { derivedRegistry } from '../../shared/derivedRegistry.ts';
import { RecordValidationError, UnknownNameError } from '../../shared/errors.ts';
import {
  type EncodedRecord,
  encodeRecord,
  encodeRecordIdentifier,
  jsonInputProblems,
} from '../../shared/record/codec.ts';
import { epochNanosToMillis } from '../../shared/record/eventTime.ts';
import { expiresAtNanos, isExpiredAt } from '../../shared/record/expiry.ts';
import { registry, type SchemaRegistry } from '../../shared/registry.ts';
import { createFeatureStoreClient } from '../../shared/runtime/clients.ts';
import { readMaxEventTimeSkewSeconds } from '../../shared/runtime/env.ts';
import type { FeatureGroup, FeatureSpec } from '../../shared/schema/index.ts';
import { getOnlineRecord } from '../../shared/store/onlineReader.ts';
import { putEncodedRecord } from '../../shared/store/writer.ts';
import { COMMAND_DESCRIPTIONS } from './descriptions.ts';
import { type StoreEndpoint, storeEndpoint } from './endpoints.ts';
import { directoryPath, storeUrl } from './parsers.ts';
import { checkFeatureStoreAnswer, storeRequestError, UserError } from './userErrors.ts';

const json = (value: unknown) =>
  JSON.stringify(
    value,
    (_, v) =>
      typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v,
    2
  );

/**
 * When the online store drops the record (event time + the group's TTL), if that is already past:
 * the put succeeds (the offline store keeps it) but `get` and the lookup API will not serve it.
 */
function expiredOnArrival(
  group: FeatureGroup,
  encoded: EncodedRecord,
  nowMs: number
): Date | undefined {
  const ttl = group.online?.ttl;
  if (ttl === undefined) return undefined;
  const expiresAt = expiresAtNanos(encoded.eventTimeEpochNanos, ttl);
  return isExpiredAt(expiresAt, nowMs) ? new Date(epochNanosToMillis(expiresAt)) : undefined;
}

/**
 * How long get and put wait for the store's answer (one attempt): a store that accepts the
 * connection and never answers is a user error after it; the embedded store answers in
 * milliseconds.
 */
const ANSWER_TIMEOUT_MS = 10_000;
const CLIENT_OPTIONS = { maxAttempts: 1, requestTimeoutMs: ANSWER_TIMEOUT_MS };

/**
 * The client `get` and `put` talk to the store with: every answer is checked for the request id a
 * feature store sends, before the command reads it. GetRecord's answer for no record (`{}`) and
 * PutRecord's (empty) both parse from any web server's 200, which would read as "no live record"
 * or as put.
 */
function checkedStoreClient(endpoint: StoreEndpoint): SageMakerFeatureStoreRuntimeClient {
  const client = createFeatureStoreClient(CLIENT_OPTIONS, { endpoint: endpoint.url });
  client.middlewareStack.add(
    (next) => async (args) => {
      const answer = await next(args);
      const { $metadata } = answer.output as {
        $metadata: Parameters<typeof checkFeatureStoreAnswer>[0];
      };
      checkFeatureStoreAnswer($metadata, endpoint);
      return answer;
    },
    { step: 'initialize', name: 'featureStoreAnswerCheck' }
  );
  return client;
}

const STORES = ['OnlineStore', 'OfflineStore'] as const;
type Store = (typeof STORES)[number];

/** `--target`: the stores PutRecord writes, checked here (the store's own answer is an SDK error). */
function targetStores(value: string): Store[] {
  const stores = value.split(',').map((s) => s.trim());
  for (const store of stores) {
    if (!(STORES as readonly string[]).includes(store)) {
      throw new InvalidArgumentError(
        `"${store}" is not a store: expected OnlineStore, OfflineStore or both, comma-separated`
      );
    }
  }
  return stores as Store[];
}

/**
 * The record id `get` asks the store for, as every writer (and the lookup) encodes it: an
 * Integral or Fractional id through the schema module's encoder (`007` and `7.0` → `7`), since the
 * store compares ids as strings; an id that is no value of the type names no record.
 */
function storedRecordId(group: FeatureGroup, recordId: string): string {
  const encoded = encodeRecordIdentifier(group, recordId);
  if (encoded.ok) return encoded.text;
  const type = (group.features[group.recordIdentifier] as FeatureSpec).type;
  throw new UserError(
    `"${recordId}" is not a record identifier of ${group.name}: its ${group.recordIdentifier} is ${type} (${encoded.reason})`,
    `give the ${group.recordIdentifier} of the record as a ${type === 'String' ? 'string' : 'number'}: skewless get ${group.name} <${group.recordIdentifier}>`
  );
}

/**
 * An argument holding U+FFFD (the record of `put`, the id of `get`): Node decodes argv as UTF-8
 * and turns bytes that are not UTF-8 (`é` from a Windows-1252 or Latin-1 terminal, `$'caf\xe9'`)
 * into U+FFFD without a word, so the record would be stored, or looked up, under another id and
 * value than the user typed. The raw bytes are gone by then (only Linux's /proc/self/cmdline
 * keeps them), so the character itself is refused.
 *
 * @param what - the argument, as the message names it ("the record")
 * @param hint - the way to pass the text the user meant
 */
function replacementCharacterError(
  text: string,
  what: string,
  hint: string
): UserError | undefined {
  const at = text.indexOf('\uFFFD');
  if (at < 0) return undefined;
  const from = Math.max(0, at - 16);
  const to = Math.min(text.length, at + 16);
  const context = `${from > 0 ? '…' : ''}${text.slice(from, to)}${to < text.length ? '…' : ''}`;
  return new UserError(
    `${what} holds U+FFFD at character ${at + 1} (${context.replaceAll('\uFFFD', '\\ufffd')}): text that is not UTF-8 (a Windows-1252 or Latin-1 terminal?) arrives as U+FFFD, another value than the one typed`,
    hint
  );
}

/**
 * `skewless get` and `skewless put`: quick looks at the online store through the real SDK.
 *
 * @param schemas - the groups they know (default: shared/definitions.ts)
 */
function registerRecordCommands(program: Command, schemas: SchemaRegistry = registry): void {
  program
    .command('get')
    .description(COMMAND_DESCRIPTIONS.get)
    .argument('<group>', 'feature group name')
    .argument('<recordId>', 'record identifier value')
    .option('--features <names>', 'comma-separated subset of features')
    .option(
      '--endpoint <url>',
      'feature store endpoint (default: the running npm start, else http://127.0.0.1:8765)',
      storeUrl
    )
    .option('--data-dir <dir>', 'data directory of the running stack', directoryPath, '.skewless')
    .action(async (groupName: string, given: string, opts) => {
      const group = schemas.getExternalGroup(groupName);
      // `get fraud-cards "$ID"` with ID unset: the store has no such record, which would read as
      // "never written" (PutRecord refuses an empty identifier).
      if (given === '') {
        throw new UserError(
          `the record identifier (${group.recordIdentifier}) is empty`,
          `give the ${group.recordIdentifier} of the record: skewless get ${group.name} <${group.recordIdentifier}>`
        );
      }
      // A Latin-1 `café` would otherwise look up, and may find, the record "caf\ufffd".
      const replaced = replacementCharacterError(
        given,
        `the record identifier (${group.recordIdentifier})`,
        `give it in UTF-8 (a terminal set to UTF-8), or spell its UTF-8 bytes: skewless get ${group.name} "$(printf 'caf\\303\\251')" for café`
      );
      if (replaced !== undefined) throw replaced;
      const recordId = storedRecordId(group, given);
      const features: string[] | undefined = opts.features
        ?.split(',')
        .map((name: string) => name.trim())
        .filter((name: string) => name !== '');
      // Checked here, in the lookup API's words: the store's own answer is an SDK error.
      const unknown = features?.find((name) => !group.featureNames.includes(name));
      if (unknown !== undefined) {
        throw new UnknownNameError(
          'feature',
          unknown,
          group.featureNames,
          `feature group "${group.name}"`
        );
      }
      const endpoint = storeEndpoint(opts.endpoint, opts.dataDir);
      const client = checkedStoreClient(endpoint);
      // The event time is read too, as the lookup API does: asked only for features a live
      // record lacks, the store answers an empty Record, which reads as no record at all.
      const read =
        features === undefined || features.includes(group.eventTime)
          ? features
          : [...features, group.eventTime];
      const record = await getOnlineRecord(client, group, recordId, read, {
        expiration: true,
      }).catch((error: unknown) => {
        throw storeRequestError(error, endpoint.url, ANSWER_TIMEOUT_MS);
      });
      client.destroy();
      if (record === undefined) {
        throw new UserError(
          `no live record "${recordId}" in ${group.name} (never written online, deleted or expired)`,
          'get reads the online store: a backfill writes only the offline store (skewless dataset reads it); skewless put writes both'
        );
      }
      const values = Object.fromEntries(
        Object.entries(record.values).filter(([name]) => features?.includes(name) ?? true)
      );
      process.stdout.write(
        `${json({ featureGroup: group.name, recordId, expiresAt: record.expiresAt, features: values })}\n`
      );
    });

  program
    .command('put')
    .description(COMMAND_DESCRIPTIONS.put)
    .argument('<group>', 'feature group name')
    .argument(
      '<json>',
      "the record as a JSON object: the group's record identifier, its event time (ISO-8601 or epoch seconds) and features"
    )
    .option('--target <stores>', 'OnlineStore, OfflineStore or both, comma-separated', targetStores)
    .option(
      '--endpoint <url>',
      'feature store endpoint (default: the running npm start, else http://127.0.0.1:8765)',
      storeUrl
    )
    .option('--data-dir <dir>', 'data directory of the running stack', directoryPath, '.skewless')
    .addHelpText(
      'after',
      `
Example (the event time is now, in epoch seconds: a record older than its group's TTL is not served online):
  skewless put fraud-cards '{"card_id":"card-0001","event_time":'$(date -u +%s)',"txn_count_7d":3}'`
    )
    .action(async (groupName: string, text: string, opts) => {
      const group = schemas.getExternalGroup(groupName);
      // A record that means U+FFFD writes it as the JSON escape `\ufffd` (ASCII in argv).
      const replaced = replacementCharacterError(
        text,
        'the record',
        'write its non-ASCII characters as JSON escapes (caf\\u00e9 for café), or \\ufffd where U+FFFD itself is meant'
      );
      if (replaced !== undefined) throw replaced;
      let input: unknown;
      try {
        input = JSON.parse(text);
      } catch (error) {
        throw new UserError(
          `the record is not valid JSON: ${(error as Error).message}`,
          // `put fraud-cards record.json`: the argument is the record itself.
          existsSync(text)
            ? `put takes the record's JSON text, not a file: skewless put ${group.name} "$(cat ${text})"`
            : `quote it for the shell, e.g. '{"${group.recordIdentifier}":"id-1","${group.eventTime}":"…"}'`
        );
      }
      try {
        // Producer data like any other: a far-future event time would be served as the latest
        // value until that date (MAX_EVENT_TIME_SKEW_SECONDS, as ingest, backfill and batch).
        const result = encodeRecord(group, input, {
          eventTimeBound: { maxSkewSeconds: readMaxEventTimeSkewSeconds(), now: Date.now },
        });
        // Worded for JSON: a number beyond ±(2^53 − 1) is not shown as the value JSON.parse made of it.
        if (!result.ok)
          throw new RecordValidationError(group.name, jsonInputProblems(result.problems));
        const encoded = result.value;
        const endpoint = storeEndpoint(opts.endpoint, opts.dataDir);
        const client = checkedStoreClient(endpoint);
        await putEncodedRecord(client, encoded, { targetStores: opts.target })
          .catch((error: unknown) => {
            throw storeRequestError(error, endpoint.url, ANSWER_TIMEOUT_MS);
          })
          .finally(() => client.destroy());
        process.stdout.write(
          `put ${group.name}/${encoded.recordIdentifier} at ${encoded.eventTime}\n`
        );
        // Derived features come from the ingest handler's replay of the entity's events: a record
        // put by hand has none computed, and the entity's state does not see it.
        const derived = derivedRegistry.forGroup(group.name);
        if (derived !== undefined) {
          process.stderr.write(
            `warning: ${group.name} has derived features the ingest handler computes (${derived.outputs.map((o) => o.feature).join(', ')}): put writes the record as given and leaves the ${derived.entity} state unchanged; send it through the stream to have them\n`
          );
        }
        const expired = expiredOnArrival(group, encoded, Date.now());
        const target: Store[] | undefined = opts.target;
        if (expired !== undefined && (target === undefined || target.includes('OnlineStore'))) {
          process.stderr.write(
            `warning: its TTL expired at ${expired.toISOString()} (event time + ${group.online?.ttl?.value} ${group.online?.ttl?.unit}): the online store will not serve it; the offline store keeps it\n`
          );
        }
      } catch (error) {
        if (error instanceof RecordValidationError) {
          // Every problem, each with its feature, value and reason, in the one error line.
          throw new UserError(
            error.message,
            `a record needs ${group.recordIdentifier} (its identifier) and ${group.eventTime} (ISO-8601 or epoch seconds); the features of ${group.name} are in shared/definitions.ts`,
            { cause: error }
          );
        }
        throw error;
      }
    });
}

export { registerRecordCommands };

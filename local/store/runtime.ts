/**
 * The runtime API (restJson1): PutRecord, GetRecord, DeleteRecord, BatchGetRecord,
 * BatchWriteRecord, UpdateRecord, ListRecords, with the semantics of contract §5. Operations are
 * synchronous: mutating ones must run inside `db.write()` and be answered after the commit.
 * Every operation returns the JSON response body ('' for operations without output).
 */
import { Limits } from '../../shared/schema/limits.ts';
import type { StoreContext } from './context.ts';
import { journalRecord, type OnlineRow } from './db.ts';
import { ErrorCode, groupNotFoundMessage, ServiceError, validationError } from './errors.ts';
import {
  compareEventTimes,
  type EventTime,
  expiresAtMillis,
  formatExpiresAt,
} from './eventTime.ts';
import type { EntryFault } from './faults.ts';
import { type Group, StorageType, ttlSecondsOf } from './group.ts';
import {
  checkFeatures,
  eventTimeOf,
  fail,
  identifierProblem,
  recordSizeProblem,
  type StoredFeatureValue,
  unicodeProblem,
  type ValidRecord,
  validateRecord,
} from './validate.ts';

type Query = Record<string, string[]>;

const GROUP_PATTERN =
  /^(arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:feature-group\/)?([a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63})$/;

const BATCH_GET_MAX_GROUPS = 100;
const BATCH_GET_MAX_RECORDS = 100;
const LIST_RECORDS_MAX = 100;
const UPDATE_MAX_FEATURES = 100;

interface Targets {
  readonly online: boolean;
  readonly offline: boolean;
}

function checkGroupName(name: unknown, member = 'FeatureGroupName'): string {
  if (
    typeof name !== 'string' ||
    name.length < 1 ||
    name.length > 150 ||
    !GROUP_PATTERN.test(name)
  ) {
    throw validationError(
      `1 validation error detected: Value ${JSON.stringify(name)} at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]*:[0-9]{12}:feature-group/)?([a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}) and have length 1-150`
    );
  }
  return name;
}

/**
 * Resolves a group name or ARN. Missing groups are a 400 ValidationError for PutRecord and
 * DeleteRecord (what AWS answers, contract §2.2) and a 404 ResourceNotFound elsewhere (§11.2);
 * so is a group still `Creating`.
 */
function requireGroup(
  ctx: StoreContext,
  name: unknown,
  missing: typeof ErrorCode.ValidationError | typeof ErrorCode.ResourceNotFound
): Group {
  const checked = checkGroupName(name);
  const group = ctx.groups.resolve(checked);
  if (group === undefined) throw new ServiceError(missing, groupNotFoundMessage(checked));
  if (ctx.lifecycle.status(group.id) === 'Creating') {
    // As on AWS, a group accepts records only once it is Created: callers must wait for it.
    throw new ServiceError(
      missing,
      `FeatureGroup [${group.name}] is not ready: its FeatureGroupStatus is Creating. Wait until DescribeFeatureGroup reports Created.`
    );
  }
  return group;
}

function requireOnline(group: Group, code: ErrorCode = ErrorCode.ResourceNotFound): void {
  if (!group.online) {
    throw new ServiceError(
      code,
      `FeatureGroup [${group.name}] does not have an online store: the OnlineStore is not enabled.`
    );
  }
}

function resolveTargets(group: Group, value: unknown): Targets {
  if (value === undefined || value === null)
    return { online: group.online, offline: group.offline };
  if (!Array.isArray(value) || value.length < 1 || value.length > 2) {
    throw validationError('TargetStores must list 1 or 2 of OnlineStore, OfflineStore');
  }
  let online = false;
  let offline = false;
  for (const t of value) {
    if (t === 'OnlineStore' && !online) online = true;
    else if (t === 'OfflineStore' && !offline) offline = true;
    else if (t === 'OnlineStore' || t === 'OfflineStore') {
      throw validationError(`TargetStores lists ${t} more than once`);
    } else {
      throw validationError(
        `TargetStores value ${JSON.stringify(t)} is not one of OnlineStore, OfflineStore`
      );
    }
  }
  const disabled = [
    ...(online && !group.online ? ['OnlineStore'] : []),
    ...(offline && !group.offline ? ['OfflineStore'] : []),
  ];
  if (disabled.length > 0) {
    throw validationError(
      `[${disabled.join(', ')}] of FeatureGroup: '${group.name}' are not enabled, however they are specified in target store.`
    );
  }
  return { online, offline };
}

/** TTL precedence: request (or entry) > request-level fallback > group default. */
function resolveTtl(group: Group, ttl: unknown, fallback: unknown): number | undefined {
  const chosen = ttl ?? fallback;
  if (chosen === undefined || chosen === null) return group.ttlSeconds;
  if (!group.online) {
    throw validationError(
      `TtlDuration is set, but FeatureGroup [${group.name}] has no online store; TTL applies to the online store only.`
    );
  }
  return ttlSecondsOf(chosen, 'TtlDuration');
}

function isLive(row: OnlineRow | undefined, now: number): row is OnlineRow {
  return row !== undefined && (row.exp_ms === null || row.exp_ms > now);
}

function rowTime(row: OnlineRow): EventTime {
  return { s: row.et_s, ns: row.et_ns };
}

function writeOnline(
  ctx: StoreContext,
  group: Group,
  id: string,
  et: EventTime,
  ttlSeconds: number | undefined,
  deleted: boolean,
  json: string
): void {
  ctx.db.putOnline.run(
    group.id,
    id,
    et.s,
    et.ns,
    ttlSeconds === undefined ? null : expiresAtMillis(et, ttlSeconds),
    ttlSeconds ?? null,
    deleted ? 1 : 0,
    json
  );
}

function applyPut(
  ctx: StoreContext,
  group: Group,
  record: ValidRecord,
  targets: Targets,
  ttlSeconds: number | undefined,
  apiMicros: number
): void {
  const json = JSON.stringify(record.values);
  if (targets.online) {
    // One statement: replaces the row unless it is live with a later event time. Equal event
    // time overwrites (contract §11.1); an older one is historic: offline only.
    const et = record.et;
    ctx.db.putOnlineIfNewer.run(
      group.id,
      record.id,
      et.s,
      et.ns,
      ttlSeconds === undefined ? null : expiresAtMillis(et, ttlSeconds),
      ttlSeconds ?? null,
      json,
      ctx.clock.now()
    );
  }
  if (targets.offline) {
    const rec = journalRecord(record.values);
    ctx.db.addJournal.run(group.id, record.et.s, record.et.ns, apiMicros, 0, rec);
  }
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw validationError('The request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function putRecord(ctx: StoreContext, groupName: string, body: unknown, apiMicros: number): string {
  const group = requireGroup(ctx, groupName, ErrorCode.ValidationError);
  const input = asObject(body);
  const targets = resolveTargets(group, input.TargetStores);
  const ttl = resolveTtl(group, input.TtlDuration, undefined);
  const record = validateRecord(group, input.Record);
  applyPut(ctx, group, record, targets, ttl, apiMicros);
  return '';
}

function single(query: Query, key: string, required: true): string;
function single(query: Query, key: string, required: false): string | undefined;
function single(query: Query, key: string, required: boolean): string | undefined {
  const values = query[key];
  if (values === undefined || values.length === 0) {
    if (required) throw validationError(`Missing required query parameter ${key}`);
    return undefined;
  }
  if (values.length > 1) throw validationError(`Query parameter ${key} must be given once`);
  return values[0];
}

function expirationEnabled(value: unknown): boolean {
  if (value === undefined || value === null || value === 'Disabled') return false;
  if (value === 'Enabled') return true;
  throw validationError(
    `ExpirationTimeResponse ${JSON.stringify(value)} is not one of Enabled, Disabled`
  );
}

/** Checks requested feature names; returns them as a set, or undefined for "all". */
function featureFilter(group: Group, names: unknown): Set<string> | undefined {
  if (names === undefined || names === null) return undefined;
  if (!Array.isArray(names) || names.length === 0) {
    throw validationError('FeatureNames must list at least one feature name');
  }
  const unknown = names.filter((n) => typeof n !== 'string' || !group.features.has(n));
  if (unknown.length > 0) {
    throw validationError(
      `Feature name(s) ${unknown.map((n) => JSON.stringify(n)).join(', ')} not defined in feature group '${group.name}'`
    );
  }
  return new Set(names as string[]);
}

/** The `"Record":[…]` (+ `,"ExpiresAt":"…"`) members for a live row. */
function recordMembers(
  row: OnlineRow,
  filter: Set<string> | undefined,
  withExpiry: boolean
): string {
  let record = row.rec;
  if (filter !== undefined) {
    const values = JSON.parse(row.rec) as StoredFeatureValue[];
    record = JSON.stringify(values.filter((v) => filter.has(v.FeatureName)));
  }
  if (withExpiry && row.ttl_s !== null) {
    return `"Record":${record},"ExpiresAt":"${formatExpiresAt(rowTime(row), row.ttl_s)}"`;
  }
  return `"Record":${record}`;
}

function liveRow(ctx: StoreContext, group: Group, id: string): OnlineRow | undefined {
  const row = ctx.db.selOnline.get(group.id, id) as OnlineRow | undefined;
  return isLive(row, ctx.clock.now()) && row.deleted === 0 ? row : undefined;
}

function getRecord(ctx: StoreContext, groupName: string, query: Query): string {
  const group = requireGroup(ctx, groupName, ErrorCode.ResourceNotFound);
  requireOnline(group);
  const id = single(query, 'RecordIdentifierValueAsString', true);
  const filter = featureFilter(group, query.FeatureName);
  const withExpiry = expirationEnabled(single(query, 'ExpirationTimeResponse', false));
  const row = liveRow(ctx, group, id);
  if (row === undefined) return '{}';
  return `{${recordMembers(row, filter, withExpiry)}}`;
}

function deleteRecord(
  ctx: StoreContext,
  groupName: string,
  query: Query,
  apiMicros: number
): string {
  const group = requireGroup(ctx, groupName, ErrorCode.ValidationError);
  const id = single(query, 'RecordIdentifierValueAsString', true);
  const etText = single(query, 'EventTime', true);
  const targets = resolveTargets(group, query.TargetStores);
  const mode = single(query, 'DeletionMode', false) ?? 'SoftDelete';
  if (mode !== 'SoftDelete' && mode !== 'HardDelete') {
    throw validationError(
      `DeletionMode ${JSON.stringify(mode)} is not one of SoftDelete, HardDelete`
    );
  }
  const idProblem = identifierProblem(group, id);
  if (idProblem !== undefined) throw fail(group, [idProblem]);
  const et = eventTimeOf(group, etText, 'EventTime for event time feature');
  const values: StoredFeatureValue[] = [
    { FeatureName: group.idFeature.name, ValueAsString: id },
    { FeatureName: group.etFeature.name, ValueAsString: etText },
  ];
  const json = JSON.stringify(values);
  if (targets.online) {
    const row = ctx.db.selOnline.get(group.id, id) as OnlineRow | undefined;
    const live = isLive(row, ctx.clock.now());
    const newer = !live || compareEventTimes(et, rowTime(row)) > 0;
    if (mode === 'HardDelete') {
      if (!newer) {
        throw validationError(
          `HardDelete of record [${id}] in FeatureGroup [${group.name}] failed: EventTime [${etText}] is not later than the EventTime of the stored record.`
        );
      }
      if (row !== undefined) ctx.db.delOnline.run(group.id, id);
    } else if (newer) {
      // The tombstone keeps the delete's event time: older puts become historic (§11.3).
      writeOnline(ctx, group, id, et, undefined, true, json);
    }
  }
  if (targets.offline) {
    ctx.db.addJournal.run(group.id, et.s, et.ns, apiMicros, 1, journalRecord(values));
  }
  return '';
}

interface BatchGetEntry {
  FeatureGroupName: string;
  RecordIdentifiersValueAsString: string[];
  FeatureNames?: string[];
}

function checkBatchGetEntries(value: unknown): BatchGetEntry[] {
  if (!Array.isArray(value) || value.length < 1 || value.length > BATCH_GET_MAX_GROUPS) {
    throw validationError(
      `Identifiers must list 1 to ${BATCH_GET_MAX_GROUPS} BatchGetRecordIdentifier entries`
    );
  }
  let total = 0;
  for (const [i, entry] of value.entries()) {
    const e = entry as Partial<BatchGetEntry> | null;
    if (typeof e !== 'object' || e === null) {
      throw validationError(`Identifiers[${i}] is not an object`);
    }
    checkGroupName(e.FeatureGroupName, `identifiers.${i + 1}.member.featureGroupName`);
    const ids = e.RecordIdentifiersValueAsString;
    if (
      !Array.isArray(ids) ||
      ids.length < 1 ||
      ids.length > Limits.batchGetMaxIdentifiers ||
      ids.some((id) => typeof id !== 'string')
    ) {
      throw validationError(
        `Identifiers[${i}].RecordIdentifiersValueAsString must list 1 to ${Limits.batchGetMaxIdentifiers} strings`
      );
    }
    for (const [j, id] of (ids as string[]).entries()) {
      const problem = unicodeProblem(id);
      if (problem !== undefined) {
        throw validationError(`Identifiers[${i}].RecordIdentifiersValueAsString[${j}]: ${problem}`);
      }
    }
    total += ids.length;
    if (e.FeatureNames !== undefined && e.FeatureNames !== null) {
      if (!Array.isArray(e.FeatureNames) || e.FeatureNames.length === 0) {
        throw validationError(`Identifiers[${i}].FeatureNames must list at least one feature name`);
      }
    }
  }
  if (total > BATCH_GET_MAX_RECORDS) {
    throw validationError(
      `BatchGetRecord can retrieve at most ${BATCH_GET_MAX_RECORDS} records per call; this request asks for ${total}`
    );
  }
  return value as BatchGetEntry[];
}

/**
 * BatchGetRecord (contract §3.4). `identifierFault` (fault injection) may leave a record
 * identifier unread: it is answered in `UnprocessedIdentifiers`, under its entry's group and
 * feature names, as the request named it.
 */
function batchGetRecord(
  ctx: StoreContext,
  body: unknown,
  identifierFault: () => boolean = () => false
): string {
  const input = asObject(body);
  const entries = checkBatchGetEntries(input.Identifiers);
  const withExpiry = expirationEnabled(input.ExpirationTimeResponse);
  const records: string[] = [];
  const errors: string[] = [];
  const unprocessed: string[] = [];
  const now = ctx.clock.now();
  for (const entry of entries) {
    const nameJson = JSON.stringify(entry.FeatureGroupName);
    let group: Group | undefined;
    let filter: Set<string> | undefined;
    let failure: ServiceError | undefined;
    try {
      group = requireGroup(ctx, entry.FeatureGroupName, ErrorCode.ResourceNotFound);
      requireOnline(group);
      filter = featureFilter(group, entry.FeatureNames);
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      failure = error;
    }
    const unread: string[] = [];
    for (const id of entry.RecordIdentifiersValueAsString) {
      const idJson = JSON.stringify(id);
      if (failure !== undefined || group === undefined) {
        errors.push(
          `{"FeatureGroupName":${nameJson},"RecordIdentifierValueAsString":${idJson},"ErrorCode":${JSON.stringify(failure?.code)},"ErrorMessage":${JSON.stringify(failure?.message)}}`
        );
        continue;
      }
      if (identifierFault()) {
        unread.push(id);
        continue;
      }
      const row = ctx.db.selOnline.get(group.id, id) as OnlineRow | undefined;
      // Missing, soft-deleted and expired records are omitted, not reported (contract §3.4).
      if (!isLive(row, now) || row.deleted !== 0) continue;
      records.push(
        `{"FeatureGroupName":${nameJson},"RecordIdentifierValueAsString":${idJson},${recordMembers(row, filter, withExpiry)}}`
      );
    }
    if (unread.length > 0) {
      unprocessed.push(
        JSON.stringify({
          FeatureGroupName: entry.FeatureGroupName,
          RecordIdentifiersValueAsString: unread,
          ...(entry.FeatureNames === undefined || entry.FeatureNames === null
            ? {}
            : { FeatureNames: entry.FeatureNames }),
        })
      );
    }
  }
  return `{"Records":[${records.join(',')}],"Errors":[${errors.join(',')}],"UnprocessedIdentifiers":[${unprocessed.join(',')}]}`;
}

/**
 * BatchWriteRecord: each entry is written or reported on its own (contract §3.5). `entryFault`
 * (fault injection) may answer an entry as throttled or unprocessed instead; such an entry is
 * not written.
 */
function batchWriteRecord(
  ctx: StoreContext,
  body: unknown,
  apiMicros: () => number,
  entryFault: () => EntryFault = () => 'none'
): string {
  const input = asObject(body);
  const entries = input.Entries;
  if (
    !Array.isArray(entries) ||
    entries.length < 1 ||
    entries.length > Limits.batchWriteMaxEntries
  ) {
    throw validationError(`Entries must list 1 to ${Limits.batchWriteMaxEntries} entries`);
  }
  const requestTtl = input.TtlDuration;
  if (requestTtl !== undefined && requestTtl !== null) ttlSecondsOf(requestTtl, 'TtlDuration');
  const errors: string[] = [];
  const unprocessed: string[] = [];
  for (const entry of entries as unknown[]) {
    const fault = entryFault();
    if (fault === 'unprocessed') {
      unprocessed.push(JSON.stringify(entry));
      continue;
    }
    if (fault === 'throttle') {
      errors.push(
        `{"Entry":${JSON.stringify(entry)},"ErrorCode":"ThrottlingException","ErrorMessage":"Rate exceeded (injected fault)"}`
      );
      continue;
    }
    try {
      ctx.db.write(() => {
        const e = asObject(entry);
        const group = requireGroup(ctx, e.FeatureGroupName, ErrorCode.ResourceNotFound);
        const targets = resolveTargets(group, e.TargetStores);
        const ttl = resolveTtl(group, e.TtlDuration, requestTtl);
        const record = validateRecord(group, e.Record);
        applyPut(ctx, group, record, targets, ttl, apiMicros());
      });
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      errors.push(
        `{"Entry":${JSON.stringify(entry)},"ErrorCode":${JSON.stringify(error.code)},"ErrorMessage":${JSON.stringify(error.message)}}`
      );
    }
  }
  return `{"Errors":[${errors.join(',')}],"UnprocessedEntries":[${unprocessed.join(',')}]}`;
}

function updateRecord(
  ctx: StoreContext,
  groupName: string,
  body: unknown,
  apiMicros: number
): string {
  const group = requireGroup(ctx, groupName, ErrorCode.ResourceNotFound);
  const input = asObject(body);
  if (
    !group.online ||
    (group.storageType !== StorageType.StandardV2 && group.storageType !== StorageType.InMemory)
  ) {
    throw validationError(
      `UpdateRecord is supported only for feature groups whose online store StorageType is Standard_V2 or InMemory; FeatureGroup [${group.name}] has ${group.online ? group.storageType : 'no online store'}.`
    );
  }
  const id = input.RecordIdentifierValueAsString;
  if (typeof id !== 'string') {
    throw validationError('RecordIdentifierValueAsString is required and must be a string');
  }
  const idUnicode = unicodeProblem(id);
  if (idUnicode !== undefined) throw validationError(`RecordIdentifierValueAsString: ${idUnicode}`);
  const targets = resolveTargets(group, input.TargetStores);
  const features = input.Features;
  if (Array.isArray(features) && features.length > UPDATE_MAX_FEATURES) {
    throw validationError(`Features may list at most ${UPDATE_MAX_FEATURES} features`);
  }
  const checked = checkFeatures(group, features, 'Features');
  if (checked.problems.length > 0) throw fail(group, checked.problems);
  const idValue = checked.byName.get(group.idFeature.name);
  if (idValue !== undefined && (!('ValueAsString' in idValue) || idValue.ValueAsString !== id)) {
    throw fail(group, [
      `record identifier feature '${group.idFeature.name}' in Features differs from RecordIdentifierValueAsString`,
    ]);
  }
  const etValue = checked.byName.get(group.etFeature.name);
  const hasTtl = input.TtlDuration !== undefined && input.TtlDuration !== null;
  if (hasTtl && etValue === undefined) {
    throw validationError(
      `TtlDuration requires the event time feature '${group.etFeature.name}' in Features`
    );
  }
  const ttlFromRequest = hasTtl ? ttlSecondsOf(input.TtlDuration, 'TtlDuration') : undefined;
  const row = liveRow(ctx, group, id);
  if (row === undefined) {
    throw new ServiceError(
      ErrorCode.ResourceNotFound,
      `Record [${id}] not found in FeatureGroup [${group.name}] (it does not exist, expired or is soft-deleted).`
    );
  }
  let et = rowTime(row);
  if (etValue !== undefined && 'ValueAsString' in etValue) {
    const newEt = eventTimeOf(group, etValue.ValueAsString, 'event time feature');
    if (compareEventTimes(newEt, et) < 0) {
      throw new ServiceError(
        ErrorCode.ConflictException,
        `EventTime [${etValue.ValueAsString}] of the update is older than the EventTime of record [${id}] in FeatureGroup [${group.name}].`
      );
    }
    et = newEt;
  }
  // Merge: features not sent stay as they are; order follows the stored record, then new ones.
  const merged: StoredFeatureValue[] = [];
  const sent = new Map(checked.byName);
  for (const v of JSON.parse(row.rec) as StoredFeatureValue[]) {
    const replacement = sent.get(v.FeatureName);
    merged.push(replacement ?? v);
    sent.delete(v.FeatureName);
  }
  merged.push(...sent.values());
  const sizeProblem = recordSizeProblem(merged);
  if (sizeProblem !== undefined) throw fail(group, [sizeProblem]);
  const ttl = ttlFromRequest ?? row.ttl_s ?? undefined;
  const json = JSON.stringify(merged);
  if (targets.online) writeOnline(ctx, group, id, et, ttl, false, json);
  if (targets.offline) {
    ctx.db.addJournal.run(group.id, et.s, et.ns, apiMicros, 0, journalRecord(merged));
  }
  return '';
}

function listRecords(ctx: StoreContext, groupName: string, body: unknown): string {
  const group = requireGroup(ctx, groupName, ErrorCode.ResourceNotFound);
  requireOnline(group);
  const input = body === undefined ? {} : asObject(body);
  const max = input.MaxResults ?? LIST_RECORDS_MAX;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > LIST_RECORDS_MAX) {
    throw validationError(`MaxResults must be an integer from 1 to ${LIST_RECORDS_MAX}`);
  }
  const include = input.IncludeSoftDeletedRecords ?? false;
  if (typeof include !== 'boolean') {
    throw validationError('IncludeSoftDeletedRecords must be a boolean');
  }
  let after = '';
  if (input.NextToken !== undefined && input.NextToken !== null) {
    after = decodeToken(input.NextToken, group);
  }
  const rows = ctx.db.listIds.all(group.id, after, ctx.clock.now(), include ? 1 : 0, max + 1) as {
    rid: string;
  }[];
  const ids = rows.slice(0, max).map((r) => r.rid);
  const last = ids[ids.length - 1];
  const next =
    rows.length > max && last !== undefined
      ? `,"NextToken":${JSON.stringify(encodeToken(group, last))}`
      : '';
  return `{"RecordIdentifiers":${JSON.stringify(ids)}${next}}`;
}

function encodeToken(group: Group, after: string): string {
  return Buffer.from(JSON.stringify({ g: group.id, a: after })).toString('base64url');
}

function decodeToken(token: unknown, group: Group): string {
  if (typeof token === 'string' && token.length >= 1 && token.length <= 8192) {
    try {
      const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
        g?: unknown;
        a?: unknown;
      };
      if (parsed.g === group.id && typeof parsed.a === 'string') return parsed.a;
    } catch {
      // Fall through to the error below.
    }
  }
  throw validationError('NextToken is not a token returned by ListRecords for this feature group');
}

export type { Query };
export {
  batchGetRecord,
  batchWriteRecord,
  deleteRecord,
  getRecord,
  listRecords,
  putRecord,
  updateRecord,
};

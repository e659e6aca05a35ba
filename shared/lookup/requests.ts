/**
 * Request parsing and validation for the three routes, by hand on purpose: this is the inference
 * hot path, and a schema library would cost more than the whole lookup. Every rejection is a
 * {@link BadRequestError} whose message names the member at fault (`identifiers[2].recordIds[0]`).
 */
import { UnknownNameError } from '../errors.ts';
import { encodeRecordIdentifier, UNSAFE_JSON_NUMBER } from '../record/codec.ts';
import { notUtf8, notUtf8Encodable } from '../record/unicode.ts';
import { Limits } from '../schema/limits.ts';
import type { GroupPlan, LookupCatalog, SetPlan } from './catalog.ts';
import { BadRequestError } from './errors.ts';

/** A request's bounds, from the environment (see `lookupConfigFromEnv`). */
interface RequestLimits {
  /** Record ids per batch-get request, all identifiers together. */
  readonly maxBatchIds: number;
  /** Entities per vectors request. */
  readonly maxVectorEntities: number;
}

/** Which features to return and which to ask the store for. */
interface FeatureSelection {
  /** The caller's subset; undefined: every feature the record has. */
  readonly requested: ReadonlySet<string> | undefined;
  /** The subset plus the event-time feature; undefined: all. */
  readonly storeFeatures: readonly string[] | undefined;
}

interface RecordRequest extends FeatureSelection {
  readonly plan: GroupPlan;
  readonly recordId: string;
  readonly expiration: boolean;
}

interface BatchEntry extends FeatureSelection {
  readonly plan: GroupPlan;
  /** Without duplicates, in the order given. */
  readonly recordIds: readonly string[];
}

interface BatchRequest {
  readonly entries: readonly BatchEntry[];
  readonly expiration: boolean;
}

interface VectorRequest {
  readonly plan: SetPlan;
  /** Each entity's key values as sent, strings or numbers (the answer echoes them). */
  readonly entities: readonly Readonly<Record<string, EntityKeyValue>>[];
  /** Per entity, per selection of the plan (in its order): the record id to read. */
  readonly recordIds: readonly (readonly string[])[];
}

/** An entity key's value: a string, or a JSON number for an Integral or Fractional identifier. */
type EntityKeyValue = string | number;

type QueryParameters = Readonly<Record<string, string | undefined>> | null | undefined;
type MultiValueQueryParameters = Readonly<Record<string, string[] | undefined>> | null | undefined;

const ALL_FEATURES: FeatureSelection = Object.freeze({
  requested: undefined,
  storeFeatures: undefined,
});

/** Strings up to this many UTF-16 units are at most 2,048 UTF-8 bytes: skip the byte count. */
const SHORT_ID_UNITS = Math.floor(Limits.maxRecordIdentifierBytes / 3);

/**
 * Check one record id: a non-empty string UTF-8 can encode (no lone surrogate, checked and worded
 * as the codec and the embedded store do), at most 2 KB in UTF-8 (the service's limit).
 *
 * @throws BadRequestError naming `where`
 */
function checkRecordId(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new BadRequestError(`${where} must be a string`);
  if (value.length === 0) throw new BadRequestError(`${where} must not be empty`);
  if (
    value.length > SHORT_ID_UNITS &&
    Buffer.byteLength(value, 'utf8') > Limits.maxRecordIdentifierBytes
  ) {
    throw new BadRequestError(
      `${where} is longer than ${Limits.maxRecordIdentifierBytes} bytes (UTF-8)`
    );
  }
  const notEncodable = notUtf8Encodable(value);
  if (notEncodable !== undefined) throw new BadRequestError(`${where} is ${notEncodable}`);
  return value;
}

/**
 * Check one record id given in a JSON body (a batch-get id, a vectors entity key): a JSON number
 * as it is (always finite; whether it is an id is up to the group's encoding, see
 * {@link encodeRecordId}), anything else as {@link checkRecordId} does.
 *
 * @throws BadRequestError naming `where`
 */
function checkRecordIdValue(value: unknown, where: string): EntityKeyValue {
  return typeof value === 'number' ? value : checkRecordId(value, where);
}

/**
 * A record id of `plan`'s group as the writers store it. A String id is used as given; an
 * Integral or Fractional one goes through the schema module's encoder, as every write does
 * (`007` → `7`, `42.0` → `42`, the JSON number `7.0` → `7`): the store compares ids as strings,
 * so another spelling would miss the record. An id that is no value of that type can name no
 * record: a 400, not a silent 404 or an all-missing vector.
 *
 * @throws BadRequestError naming `where`
 */
function recordIdOf(plan: GroupPlan, value: unknown, where: string): string {
  return encodeRecordId(plan, checkRecordIdValue(value, where), where);
}

/**
 * {@link recordIdOf} for an id already checked by {@link checkRecordIdValue}: a number is an id
 * only of an Integral or Fractional record identifier.
 */
function encodeRecordId(plan: GroupPlan, value: EntityKeyValue, where: string): string {
  if (plan.idType === 'String') {
    if (typeof value === 'string') return value;
    throw new BadRequestError(
      `${where} must be a string: the record identifier "${plan.group.recordIdentifier}" of feature group "${plan.name}" is String`
    );
  }
  const encoded = encodeRecordIdentifier(plan.group, value);
  if (encoded.ok) return encoded.text;
  if (encoded.unsafeNumber === true) {
    // JSON.parse has already rounded it: the value in hand is not what the caller sent.
    throw new BadRequestError(
      `${where} is ${UNSAFE_JSON_NUMBER}; the record identifier "${plan.group.recordIdentifier}" of feature group "${plan.name}" is ${plan.idType}`
    );
  }
  const shown =
    typeof value === 'number'
      ? String(value)
      : value.length > 64
        ? `${JSON.stringify(value.slice(0, 61)).slice(0, -1)}..."`
        : JSON.stringify(value);
  throw new BadRequestError(
    `${where} ${shown} is not a record id of feature group "${plan.name}": its record identifier "${plan.group.recordIdentifier}" is ${plan.idType} (${encoded.reason})`
  );
}

function selectFeatures(
  plan: GroupPlan,
  names: readonly unknown[],
  where: string
): FeatureSelection {
  if (names.length === 0) throw new BadRequestError(`${where} must name at least one feature`);
  const requested = new Set<string>();
  for (const name of names) {
    if (typeof name !== 'string' || name === '') {
      throw new BadRequestError(`${where} must list non-empty feature names`);
    }
    if (!plan.features.has(name)) {
      // A 400 at the edge (toHttpError), in the same words as every unknown name.
      throw new UnknownNameError(
        'feature',
        name,
        plan.group.featureNames,
        `feature group "${plan.name}"`
      );
    }
    requested.add(name);
  }
  const storeFeatures = requested.has(plan.eventTimeFeature)
    ? [...requested]
    : [...requested, plan.eventTimeFeature];
  return { requested, storeFeatures };
}

const RECORD_QUERY_PARAMETERS = new Set(['features', 'expiration']);

function queryValues(
  name: string,
  single: QueryParameters,
  multi: MultiValueQueryParameters
): readonly string[] | undefined {
  const values = multi?.[name];
  if (values !== undefined) return values;
  const value = single?.[name];
  return value === undefined ? undefined : [value];
}

function parseBoolean(values: readonly string[] | undefined, name: string): boolean {
  if (values === undefined) return false;
  const value = values.at(-1);
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new BadRequestError(`Query parameter ${name} must be true or false`);
}

/**
 * Parse `GET /feature-groups/{featureGroup}/records/{recordId}`. Path parameters arrive decoded
 * (API Gateway decodes each segment once), so they are used as they are. `features` may be a
 * comma-separated list, repeated (`multiValueQueryStringParameters`), or both.
 *
 * @example
 * ```typescript
 * import { catalog } from './shared/lookup/catalog.ts';
 * import { parseRecordRequest } from './shared/lookup/requests.ts';
 * const request = parseRecordRequest(catalog, { featureGroup: 'fraud-cards', recordId: 'card/1' }, null, { features: ['txn_count_7d,card_age_days'] });
 * request.storeFeatures; // ['txn_count_7d', 'card_age_days', 'event_time']
 * ```
 * @throws BadRequestError for an unknown group or feature, a malformed id or an unknown query parameter
 */
function parseRecordRequest(
  catalog: LookupCatalog,
  pathParameters: QueryParameters,
  query: QueryParameters,
  multiQuery: MultiValueQueryParameters
): RecordRequest {
  const groupName = pathParameters?.featureGroup;
  if (groupName === undefined || groupName === '') {
    throw new BadRequestError('Path parameter featureGroup is required');
  }
  const plan = catalog.group(groupName);
  const recordId = recordIdOf(plan, pathParameters?.recordId, 'Path parameter recordId');
  for (const name of Object.keys(multiQuery ?? query ?? {})) {
    if (!RECORD_QUERY_PARAMETERS.has(name)) {
      throw new BadRequestError(
        `Unknown query parameter "${name}"; allowed: ${[...RECORD_QUERY_PARAMETERS].join(', ')}`
      );
    }
  }
  const featureValues = queryValues('features', query, multiQuery);
  const selection =
    featureValues === undefined
      ? ALL_FEATURES
      : selectFeatures(
          plan,
          featureValues.flatMap((v) => v.split(',').map((name) => name.trim())),
          'Query parameter features'
        );
  const expiration = parseBoolean(queryValues('expiration', query, multiQuery), 'expiration');
  return { plan, recordId, expiration, ...selection };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkMembers(
  value: Record<string, unknown>,
  allowed: ReadonlySet<string>,
  where: string
): void {
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) {
      throw new BadRequestError(
        `${where} has unknown member "${key}"; allowed: ${[...allowed].join(', ')}`
      );
    }
  }
}

function optionalBoolean(value: unknown, where: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new BadRequestError(`${where} must be true or false`);
  return value;
}

/**
 * Decode a proxy event body as JSON, base64 first when API Gateway says so.
 *
 * @throws BadRequestError for a missing body, a base64 body that is not UTF-8, or invalid JSON
 */
function parseJsonBody(body: string | null | undefined, isBase64Encoded: boolean): unknown {
  if (body === null || body === undefined || body === '') {
    throw new BadRequestError('A JSON request body is required');
  }
  let decoded = body;
  if (isBase64Encoded) {
    const bytes = Buffer.from(body, 'base64');
    // Read leniently, a Windows-1252 é would be U+FFFD: a lookup of another id than the one sent.
    const invalid = notUtf8(bytes);
    if (invalid !== undefined) {
      throw new BadRequestError(
        `Request body is not valid UTF-8 (${invalid}): JSON text is UTF-8 (RFC 8259)`
      );
    }
    decoded = bytes.toString('utf8');
  }
  // One rule with ingest and backfill: a leading UTF-8 byte order mark is not part of the JSON
  // (RFC 8259 §8.1 lets a parser ignore it); anything else invalid is still a 400.
  const text = decoded.startsWith('\uFEFF') ? decoded.slice(1) : decoded;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadRequestError(`Request body is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

const BATCH_MEMBERS = new Set(['identifiers', 'expiration']);
const IDENTIFIER_MEMBERS = new Set(['featureGroup', 'recordIds', 'features']);

/**
 * Parse the body of `POST /feature-groups/batch-get`:
 * `{"identifiers":[{"featureGroup","recordIds":[...],"features"?:[...]}],"expiration"?:bool}`.
 * Each group may appear once; duplicate ids within a group are read once. An id is a string, or
 * a JSON number for a group whose record identifier is Integral or Fractional (as in vectors).
 *
 * @example
 * ```typescript
 * import { catalog } from './shared/lookup/catalog.ts';
 * import { parseBatchRequest } from './shared/lookup/requests.ts';
 * const request = parseBatchRequest(catalog, { identifiers: [{ featureGroup: 'fraud-cards', recordIds: ['c1', 'c2'] }] }, { maxBatchIds: 1000, maxVectorEntities: 1000 });
 * request.entries[0]?.recordIds; // ['c1', 'c2']
 * ```
 * @throws BadRequestError for a wrong shape, an unknown group or feature, a malformed id or too many ids
 */
function parseBatchRequest(
  catalog: LookupCatalog,
  body: unknown,
  limits: RequestLimits
): BatchRequest {
  if (!isObject(body)) throw new BadRequestError('Request body must be a JSON object');
  checkMembers(body, BATCH_MEMBERS, 'Request body');
  const identifiers = body.identifiers;
  if (!Array.isArray(identifiers)) throw new BadRequestError('identifiers must be an array');
  let total = 0;
  for (const identifier of identifiers) {
    if (isObject(identifier) && Array.isArray(identifier.recordIds)) {
      total += identifier.recordIds.length;
    }
  }
  if (total > limits.maxBatchIds) {
    throw new BadRequestError(
      `Too many record ids: at most ${limits.maxBatchIds} per request, got ${total}`
    );
  }
  const seenGroups = new Set<string>();
  const entries: BatchEntry[] = [];
  for (let i = 0; i < identifiers.length; i++) {
    const where = `identifiers[${i}]`;
    const identifier: unknown = identifiers[i];
    if (!isObject(identifier)) throw new BadRequestError(`${where} must be an object`);
    checkMembers(identifier, IDENTIFIER_MEMBERS, where);
    if (typeof identifier.featureGroup !== 'string' || identifier.featureGroup === '') {
      throw new BadRequestError(`${where}.featureGroup must be a feature group name`);
    }
    const plan = catalog.group(identifier.featureGroup);
    if (seenGroups.has(plan.name)) {
      throw new BadRequestError(
        `${where}: feature group "${plan.name}" is listed twice; merge its recordIds`
      );
    }
    seenGroups.add(plan.name);
    const rawIds = identifier.recordIds;
    if (!Array.isArray(rawIds)) throw new BadRequestError(`${where}.recordIds must be an array`);
    const ids = new Set<string>();
    for (let j = 0; j < rawIds.length; j++) {
      ids.add(recordIdOf(plan, rawIds[j], `${where}.recordIds[${j}]`));
    }
    let selection = ALL_FEATURES;
    if (identifier.features !== undefined) {
      if (!Array.isArray(identifier.features)) {
        throw new BadRequestError(`${where}.features must be an array of feature names`);
      }
      selection = selectFeatures(plan, identifier.features, `${where}.features`);
    }
    if (ids.size > 0) entries.push({ plan, recordIds: [...ids], ...selection });
  }
  return { entries, expiration: optionalBoolean(body.expiration, 'expiration') };
}

const VECTOR_MEMBERS = new Set(['entities']);

/**
 * Parse the body of `POST /feature-sets/{featureSet}/vectors`: `{"entities":[{<entity keys>}]}`.
 * Every entity names each of the set's entity keys (the record identifiers of its groups) with a
 * string, or a JSON number when the key's groups have an Integral or Fractional identifier, and
 * nothing else.
 *
 * @example
 * ```typescript
 * import { catalog } from './shared/lookup/catalog.ts';
 * import { parseVectorRequest } from './shared/lookup/requests.ts';
 * const request = parseVectorRequest(catalog, 'fraud_model_v3', { entities: [{ transaction_id: 't1', card_id: 'c1', merchant_id: 'm1' }] }, { maxBatchIds: 1000, maxVectorEntities: 1000 });
 * request.entities.length; // 1
 * ```
 * @throws BadRequestError for an unknown feature set, a wrong shape, a missing or unknown key, a malformed id or too many entities
 */
function parseVectorRequest(
  catalog: LookupCatalog,
  featureSet: string | undefined,
  body: unknown,
  limits: RequestLimits
): VectorRequest {
  if (featureSet === undefined || featureSet === '') {
    throw new BadRequestError('Path parameter featureSet is required');
  }
  const plan = catalog.set(featureSet);
  if (!isObject(body)) throw new BadRequestError('Request body must be a JSON object');
  checkMembers(body, VECTOR_MEMBERS, 'Request body');
  const entities = body.entities;
  if (!Array.isArray(entities)) throw new BadRequestError('entities must be an array');
  if (entities.length > limits.maxVectorEntities) {
    throw new BadRequestError(
      `Too many entities: at most ${limits.maxVectorEntities} per request, got ${entities.length}`
    );
  }
  const parsed: Record<string, EntityKeyValue>[] = [];
  const recordIds: string[][] = [];
  for (let i = 0; i < entities.length; i++) {
    const where = `entities[${i}]`;
    const entity: unknown = entities[i];
    if (!isObject(entity)) throw new BadRequestError(`${where} must be an object`);
    checkMembers(entity, plan.entityKeySet, where);
    const keys: Record<string, EntityKeyValue> = {};
    for (const key of plan.entityKeys) {
      if (!Object.hasOwn(entity, key)) {
        throw new BadRequestError(
          `${where} lacks entity key "${key}"; feature set "${featureSet}" needs ${plan.entityKeys.join(', ')}`
        );
      }
      keys[key] = checkRecordIdValue(entity[key], `${where}.${key}`);
    }
    parsed.push(keys);
    // Per group: two groups may share a key name yet encode it differently.
    recordIds.push(
      plan.selections.map((s) =>
        encodeRecordId(s.plan, keys[s.entityKey] as EntityKeyValue, `${where}.${s.entityKey}`)
      )
    );
  }
  return { plan, entities: parsed, recordIds };
}

export type {
  BatchEntry,
  BatchRequest,
  EntityKeyValue,
  FeatureSelection,
  MultiValueQueryParameters,
  QueryParameters,
  RecordRequest,
  RequestLimits,
  VectorRequest,
};
export { parseBatchRequest, parseJsonBody, parseRecordRequest, parseVectorRequest };

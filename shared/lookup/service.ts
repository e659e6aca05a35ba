/**
 * The lookup itself: one route in, one JSON-ready answer out, with no Lambda or API Gateway
 * types. The handler gives it the proxy event (it reads only the members of {@link ProxyRequest})
 * and the edge turns what it throws into HTTP errors.
 */
import type { SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import {
  type BatchReadRequest,
  type BatchReadResult,
  batchGetOnline,
  getOnlineRecord,
  type OnlineRecord,
  refusedReads,
  type UnprocessedRead,
} from '../store/onlineReader.ts';
import { isThrottling } from '../store/storeErrors.ts';
import type { LookupCatalog, SelectionPlan } from './catalog.ts';
import {
  FeatureGroupMismatchError,
  FeatureGroupMissingError,
  NotFoundError,
  ServiceUnavailableError,
  StoreRefusedReadError,
  TooManyRequestsError,
  toHttpError,
} from './errors.ts';
import {
  type BatchRequest,
  type EntityKeyValue,
  type MultiValueQueryParameters,
  parseBatchRequest,
  parseJsonBody,
  parseRecordRequest,
  parseVectorRequest,
  type QueryParameters,
  type RecordRequest,
  type RequestLimits,
  type VectorRequest,
} from './requests.ts';
import type { Route } from './routes.ts';
import { eventTimeOf, type JsonValue, type RecordView, recordView, toJsonValue } from './views.ts';

/** The members of an API Gateway REST proxy event the lookup reads. */
interface ProxyRequest {
  readonly pathParameters: QueryParameters;
  readonly queryStringParameters: QueryParameters;
  readonly multiValueQueryStringParameters: MultiValueQueryParameters;
  readonly body: string | null;
  readonly isBase64Encoded: boolean;
}

interface RecordKey {
  readonly featureGroup: string;
  readonly recordId: string;
}

interface UnprocessedRecord extends RecordKey {
  readonly reason: string;
}

/** Answer of `POST /feature-groups/batch-get`. Every id is in exactly one of the three lists. */
interface BatchGetResponse {
  readonly records: RecordView[];
  readonly notFound: RecordKey[];
  readonly unprocessed: UnprocessedRecord[];
}

/** One entity's feature vector. */
interface FeatureVector {
  /** The entity's keys as sent (strings, or numbers for number-typed identifiers). */
  readonly entity: Readonly<Record<string, EntityKeyValue>>;
  /** Aligned with the answer's `featureNames`; null where the feature is missing. */
  readonly values: JsonValue[];
  /** `group.feature` names with no value: no live record, or a record without that feature. */
  readonly missing: string[];
  /** `group.feature` names whose record's event time is older than the max age. */
  readonly stale: string[];
  /** Event time (ISO-8601) of each group's record found for this entity. */
  readonly eventTimes: Record<string, string>;
}

/** Answer of `POST /feature-sets/{featureSet}/vectors`. */
interface FeatureVectorsResponse {
  readonly featureSet: string;
  readonly featureNames: readonly string[];
  readonly vectors: FeatureVector[];
  /** Reads the store did not complete (throttled chunks): their features are in `missing`. */
  readonly unprocessed: UnprocessedRecord[];
}

interface LookupDependencies {
  readonly client: SageMakerFeatureStoreRuntimeClient;
  readonly catalog: LookupCatalog;
  readonly limits: RequestLimits;
  /** Epoch ms; staleness is judged against it. Default `Date.now`. */
  readonly now?: () => number;
  /** Called with the wall time of each store phase (one GetRecord, or all BatchGetRecord chunks). */
  readonly onStoreLatency?: (ms: number) => void;
}

/** The lookup operations, bound to a client and a catalog. */
interface LookupService {
  getRecord(request: RecordRequest, signal?: AbortSignal): Promise<RecordView>;
  batchGetRecords(request: BatchRequest, signal?: AbortSignal): Promise<BatchGetResponse>;
  getFeatureVectors(request: VectorRequest, signal?: AbortSignal): Promise<FeatureVectorsResponse>;
  /** Parse the proxy request for `route`, run it and return the JSON-ready answer. */
  serve(route: Route, request: ProxyRequest, signal?: AbortSignal): Promise<unknown>;
}

const keyOf = (group: string, id: string) => `${group}\u0000${id}`;

/** The groups of the `errorCode` entries of a batch read. */
function groupsAnswered(unprocessed: readonly UnprocessedRead[], errorCode: string): string[] {
  return [
    ...new Set(
      unprocessed
        .filter((u) => u.source === 'errorEntry' && u.errorCode === errorCode)
        .map((u) => u.group)
    ),
  ];
}

/**
 * The store answers a group it does not have with a per-identifier `ResourceNotFound` in a batch
 * read (and a `ResourceNotFound` error for a single read), and a group lacking a feature the
 * lookup asked for (only ever the schema module's) with `ValidationError`: the same 500 for every
 * route, naming the groups, never "unprocessed" ids a caller would retry forever nor a 200 whose
 * vectors silently miss those features. Any other per-identifier code that is not transient
 * (`AccessForbidden`, a code we do not know), or a whole call refused (`isRefusedCall`) while
 * another call answered, is a 500 naming the id, its group and the code: only throttling, the
 * store's 5xx codes and calls that failed otherwise leave ids `unprocessed`, to retry.
 */
function throwIfGroupsUnusable(unprocessed: readonly UnprocessedRead[]): void {
  const missing = groupsAnswered(unprocessed, 'ResourceNotFound');
  if (missing.length > 0) throw new FeatureGroupMissingError(missing);
  const mismatched = groupsAnswered(unprocessed, 'ValidationError');
  if (mismatched.length > 0) {
    // The store's own words go to the log only, as the cause.
    const first = unprocessed.find((u) => u.errorCode === 'ValidationError');
    throw new FeatureGroupMismatchError(mismatched, { cause: new Error(first?.reason) });
  }
  // Errors items no retry changes, and the ids of a whole call refused while another call of the
  // read answered (a call that holds a group the role may not read).
  const refused = refusedReads(unprocessed);
  if (refused.length > 0) {
    throw new StoreRefusedReadError(refused, { cause: new Error(refused[0]?.reason) });
  }
}

/**
 * A batched read that read nothing at all, every id being unprocessed because the store
 * throttled (its `UnprocessedIdentifiers`, or `Errors` items with a throttling code), failed (its
 * 5xx codes) or a call failed, is the error, as when every call fails: 429 (or 503 when no id was
 * throttled), never a 200 of unprocessed ids or of all-missing vectors a model would score.
 * Called after {@link throwIfGroupsUnusable}: every `Errors` item left is transient.
 */
function throwIfNothingRead(result: BatchReadResult): void {
  if (result.found.length > 0 || result.notFound.length > 0 || result.unprocessed.length === 0) {
    return;
  }
  const throttled = result.unprocessed.find(
    (u) =>
      u.source === 'unprocessedIdentifier' ||
      isThrottling(u.error) ||
      (u.errorCode !== undefined && isThrottling({ name: u.errorCode }))
  );
  const cause = (u: UnprocessedRead) =>
    u.error ?? new Error(`the store read none of ${result.unprocessed.length} ids: ${u.reason}`);
  if (throttled !== undefined) throw new TooManyRequestsError({ cause: cause(throttled) });
  const first = result.unprocessed[0] as UnprocessedRead;
  if (first.source === 'errorEntry') throw new ServiceUnavailableError({ cause: cause(first) });
  throw toHttpError(first.error);
}

/**
 * Bind the lookup operations to a Feature Store client and a catalog. Build it once per container.
 *
 * @example
 * ```typescript
 * import { createFeatureStoreClient } from './shared/runtime/clients.ts';
 * import { catalog } from './shared/lookup/catalog.ts';
 * import { createLookupService } from './shared/lookup/service.ts';
 * import { parseRecordRequest } from './shared/lookup/requests.ts';
 *
 * const service = createLookupService({ client: createFeatureStoreClient(), catalog, limits: { maxBatchIds: 1000, maxVectorEntities: 1000 } });
 * const view = await service.getRecord(parseRecordRequest(catalog, { featureGroup: 'fraud-cards', recordId: 'c1' }, null, null));
 * ```
 */
function createLookupService(deps: LookupDependencies): LookupService {
  const { client, catalog, limits } = deps;
  const now = deps.now ?? Date.now;
  const onStoreLatency = deps.onStoreLatency;

  async function timed<T>(call: () => Promise<T>): Promise<T> {
    if (onStoreLatency === undefined) return call();
    const started = performance.now();
    try {
      return await call();
    } finally {
      onStoreLatency(performance.now() - started);
    }
  }

  async function getRecord(request: RecordRequest, signal?: AbortSignal): Promise<RecordView> {
    const record = await timed(() =>
      getOnlineRecord(client, request.plan.group, request.recordId, request.storeFeatures, {
        expiration: request.expiration,
        abortSignal: signal,
      })
    ).catch((error: unknown) => {
      const name = (error as { name?: string }).name;
      if (name === 'ResourceNotFound') {
        throw new FeatureGroupMissingError([request.plan.name], { cause: error });
      }
      if (name === 'ValidationError') {
        throw new FeatureGroupMismatchError([request.plan.name], { cause: error });
      }
      throw error;
    });
    if (record === undefined) {
      throw new NotFoundError(
        `No live record "${request.recordId}" in feature group "${request.plan.name}"`
      );
    }
    return recordView(request.plan, record, request.requested, request.expiration);
  }

  async function batchGetRecords(
    request: BatchRequest,
    signal?: AbortSignal
  ): Promise<BatchGetResponse> {
    const response: BatchGetResponse = { records: [], notFound: [], unprocessed: [] };
    if (request.entries.length === 0) return response;
    const reads: BatchReadRequest[] = request.entries.map((e) => ({
      group: e.plan.group,
      recordIds: e.recordIds,
      features: e.storeFeatures,
    }));
    const result = await timed(() =>
      batchGetOnline(client, reads, {
        expiration: request.expiration,
        abortSignal: signal,
        tolerateChunkFailures: true,
      })
    );
    throwIfGroupsUnusable(result.unprocessed);
    throwIfNothingRead(result);
    const entries = new Map(request.entries.map((e) => [e.plan.name, e]));
    for (const record of result.found) {
      const entry = entries.get(record.group.name);
      if (entry === undefined) continue;
      response.records.push(recordView(entry.plan, record, entry.requested, request.expiration));
    }
    for (const { group, recordId } of result.notFound) {
      response.notFound.push({ featureGroup: group, recordId });
    }
    for (const { group, recordId, reason } of result.unprocessed) {
      response.unprocessed.push({ featureGroup: group, recordId, reason });
    }
    return response;
  }

  async function getFeatureVectors(
    request: VectorRequest,
    signal?: AbortSignal
  ): Promise<FeatureVectorsResponse> {
    const { plan, entities, recordIds } = request;
    const response: FeatureVectorsResponse = {
      featureSet: plan.set.name,
      featureNames: plan.featureNames,
      vectors: [],
      unprocessed: [],
    };
    if (entities.length === 0) return response;
    // One batched read across every group of the set; entities sharing a card read it once.
    const reads: BatchReadRequest[] = plan.selections.map((selection, s) => ({
      group: selection.plan.group,
      recordIds: [...new Set(recordIds.map((ids) => ids[s] as string))],
      features: selection.storeFeatures,
    }));
    const result = await timed(() =>
      batchGetOnline(client, reads, { abortSignal: signal, tolerateChunkFailures: true })
    );
    throwIfGroupsUnusable(result.unprocessed);
    throwIfNothingRead(result);
    const found = new Map<string, OnlineRecord>();
    for (const record of result.found) found.set(keyOf(record.group.name, record.recordId), record);
    for (const { group, recordId, reason } of result.unprocessed) {
      response.unprocessed.push({ featureGroup: group, recordId, reason });
    }
    const at = now();
    for (let e = 0; e < entities.length; e++) {
      const entity = entities[e] as Readonly<Record<string, EntityKeyValue>>;
      const ids = recordIds[e] as readonly string[];
      const values: JsonValue[] = new Array(plan.featureNames.length).fill(null);
      const vector: FeatureVector = { entity, values, missing: [], stale: [], eventTimes: {} };
      for (let s = 0; s < plan.selections.length; s++) {
        const selection = plan.selections[s] as SelectionPlan;
        const id = ids[s] as string;
        const record = found.get(keyOf(selection.plan.name, id));
        if (record === undefined) {
          vector.missing.push(...selection.qualifiedNames);
          continue;
        }
        const recordValues = record.values as Readonly<Record<string, unknown>>;
        const eventTime = eventTimeOf(selection.plan, recordValues);
        const stale =
          selection.maxAgeMs !== undefined &&
          (eventTime === undefined || at - eventTime.epochMs > selection.maxAgeMs);
        if (eventTime !== undefined) vector.eventTimes[selection.plan.name] = eventTime.iso;
        for (let i = 0; i < selection.features.length; i++) {
          const value = recordValues[selection.features[i] as string];
          const name = selection.qualifiedNames[i] as string;
          if (value === undefined) {
            vector.missing.push(name);
            continue;
          }
          values[selection.offset + i] = toJsonValue(value);
          if (stale) vector.stale.push(name);
        }
      }
      response.vectors.push(vector);
    }
    return response;
  }

  async function serve(
    route: Route,
    request: ProxyRequest,
    signal?: AbortSignal
  ): Promise<unknown> {
    switch (route.operationId) {
      case 'getRecord':
        return getRecord(
          parseRecordRequest(
            catalog,
            request.pathParameters,
            request.queryStringParameters,
            request.multiValueQueryStringParameters
          ),
          signal
        );
      case 'batchGetRecords':
        return batchGetRecords(
          parseBatchRequest(catalog, parseJsonBody(request.body, request.isBase64Encoded), limits),
          signal
        );
      case 'getFeatureVectors':
        return getFeatureVectors(
          parseVectorRequest(
            catalog,
            request.pathParameters?.featureSet,
            parseJsonBody(request.body, request.isBase64Encoded),
            limits
          ),
          signal
        );
      default:
        throw new NotFoundError(`No route ${route.method} ${route.resource}`);
    }
  }

  return { getRecord, batchGetRecords, getFeatureVectors, serve };
}

export type {
  BatchGetResponse,
  FeatureVector,
  FeatureVectorsResponse,
  LookupDependencies,
  LookupService,
  ProxyRequest,
  RecordKey,
  UnprocessedRecord,
};
export { createLookupService };

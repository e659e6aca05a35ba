/**
 * `npm start` / `skewless start`: the whole product on the embedded default, in one process with
 * one log stream — the embedded feature store, a local Kinesis stream polled into the ingest
 * handler, a local S3 whose `backfill/` objects invoke the backfill handler and `batch/` objects
 * the batch handler, the lookup API on :3000, the audit on a schedule, and a demo payments
 * producer whose nightly aggregates are dropped under `batch/`. Ctrl-C drains and flushes.
 */
import { appendFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeFeatureGroupCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { Context, KinesisStreamEvent, S3Event } from 'aws-lambda';
import type { AuditRunSummary } from '../shared/audit/service.ts';
import { createBackfillS3Client } from '../shared/backfill/dependencies.ts';
import { DROP_PREFIX, reportKeys } from '../shared/backfill/objectKey.ts';
import { reportTime } from '../shared/backfill/reportTime.ts';
import type { BackfillReport } from '../shared/backfill/types.ts';
import { featureGroups, transactions } from '../shared/definitions.ts';
import { createFeatureStoreClient } from '../shared/runtime/clients.ts';
import { createLambdaContext } from '../shared/runtime/lambdaContext.ts';
import { makeDirectory } from '../shared/runtime/makeDirectory.ts';
import type { LogSink } from '../shared/runtime/powertools.ts';
import { durationSeconds, type FeatureGroup } from '../shared/schema/index.ts';
import { getOnlineRecord } from '../shared/store/onlineReader.ts';
import { startLookupFront } from './api/front.ts';
import { earlierFirstPayment, noteFirstPaymentSent } from './demo/firstPaymentRecord.ts';
import { DEMO_TRANSACTION_ID, DemoProducer, earlierFirstPaymentLine } from './demo/producer.ts';
import {
  dropNightlyAggregates,
  type NightlyFile,
  nightlyAggregatesApplied,
  nightlyEventTime,
  scheduleNightlyAggregates,
} from './demo/seedAggregates.ts';
import { quitStoresNow } from './forcedQuit.ts';
import type { FailedBatch } from './kinesis/eventSourceMapping.ts';
import { LocalKinesisEventSourceMapping } from './kinesis/eventSourceMapping.ts';
import { startLocalKinesis } from './kinesis/localKinesis.ts';
import { createConsoleLog, type LogLevel } from './runtime/consoleLog.ts';
import { bootId, processStartTicks } from './runtime/processAlive.ts';
import { removeIfUnchanged } from './runtime/removeIfUnchanged.ts';
import { startLocalS3 } from './s3/index.ts';
import { ensureFeatureGroups } from './setup/ensureFeatureGroups.ts';
import { resumeUnfinishedBackfills } from './setup/resumeBackfills.ts';
import { offlineStoreMounts, START_DEFAULTS } from './startDefaults.ts';
import { type Clock, DEFAULT_CREATING_MS, startStore } from './store/index.ts';

interface StartOptions {
  readonly dataDir: string;
  readonly apiPort: number;
  readonly storePort: number;
  readonly kinesisPort: number;
  readonly s3Port: number;
  readonly demo: boolean;
  readonly demoRate: number;
  readonly demoMaxEvents: number;
  readonly auditIntervalSeconds: number;
  readonly flushIntervalMs: number;
  readonly logLevel: LogLevel;
  /**
   * The handlers' own Powertools JSON lines in the log stream (at INFO; DEBUG with `logLevel`
   * debug). Off by default: the stream is the runners' human lines, and what the handlers decide
   * lands in inspectable places (dead letters, reports) the banner names.
   */
  readonly handlerLogs?: boolean;
  /**
   * The embedded store's clock (TTL expiry, write and API times); default the wall clock. Tests
   * move it to see records expire.
   */
  readonly storeClock?: Clock;
}

/** Where everything is, written to `<dataDir>/endpoints.json` once the stack is ready. */
interface Endpoints {
  readonly api: string;
  readonly store: string;
  readonly kinesis: string;
  readonly s3: string;
  readonly streamName: string;
  readonly backfillBucket: string;
  readonly reportsBucket: string;
  readonly dataDir: string;
  readonly pid: number;
  /**
   * The machine's boot and the process's start (`processStartTicks`), where the machine tells
   * them: with the pid they name this process, so that a file a stack left when it died is not
   * taken for a running stack once its pid names another process.
   */
  readonly bootId?: string;
  readonly startTicks?: number;
}

interface RunningStack {
  readonly endpoints: Endpoints;
  /** Runs the audit now (the schedule keeps running). */
  auditNow(): Promise<unknown>;
  stop(): Promise<void>;
  /**
   * For a forced quit (a second Ctrl-C while `stop()` runs), before the process exits: removes
   * `endpoints.json` and `store.lock` now, synchronously, where they are still this process's,
   * and returns what the clean stop leaves unfinished, in words (empty: nothing that lasts).
   */
  quitNow(): string[];
}

/**
 * A startup that a signal may cut short (`skewless start` installs its Ctrl-C handlers before the
 * stack exists): once `signal` is aborted, `startStack` stops the parts it has started, as the
 * clean stop does, and rejects with the signal's reason.
 */
interface Startup {
  readonly signal: AbortSignal;
  /**
   * Set by `startStack` as it begins: `RunningStack.quitNow`, for a second Ctrl-C while the
   * interrupted startup stops.
   */
  quitNow?: () => string[];
}

/** One step of the clean stop. */
interface StopStep {
  readonly stop: () => Promise<void>;
  /** What a quit before this step has finished leaves undone; undefined: nothing that lasts. */
  readonly unfinished?: () => string | undefined;
}

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

/** Environment the handlers read, exactly as the template sets it on AWS, pointed at loopback. */
function handlerEnvironment(
  options: StartOptions,
  endpoints: Omit<Endpoints, 'api' | 'pid' | 'bootId' | 'startTicks'>
): Record<string, string> {
  return {
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
    AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME: endpoints.store,
    AWS_ENDPOINT_URL_SAGEMAKER: endpoints.store,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_KINESIS: endpoints.kinesis,
    DEFAULT_FEATURE_GROUP: 'fraud-transactions',
    DEAD_LETTER_DIR: join(options.dataDir, 'dead-letters'),
    REPORTS_BUCKET: endpoints.reportsBucket,
    AUDIT_REPORTS_DIR: join(options.dataDir, 'reports'),
    OFFLINE_ENGINE: 'duckdb',
    SKEWLESS_DATA_DIR: options.dataDir,
    SKEWLESS_STORE_DATA_DIR: join(options.dataDir, 'store'),
    POWERTOOLS_LOG_LEVEL:
      options.logLevel === 'debug' ? 'DEBUG' : options.handlerLogs === true ? 'INFO' : 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_SERVICE_NAME: 'skewless',
    // Progress of running backfills (progress.json) for `npx skewless backfill` to follow.
    BACKFILL_PROGRESS_INTERVAL_MS: '1000',
  };
}

/**
 * Start the whole stack. Resolves once every part is listening and the schema module's groups
 * exist in the store.
 *
 * @param startup - interrupts the startup: checked after every step (a step under way finishes
 *   first: each starts something the stop must then stop, and most take milliseconds)
 */
async function startStack(
  options: StartOptions,
  log: LogSink = createConsoleLog('start', options.logLevel),
  startup?: Startup
): Promise<RunningStack> {
  const dataDir = resolve(options.dataDir);
  const opts = { ...options, dataDir };
  makeDirectory(join(dataDir, 'dead-letters'));
  makeDirectory(join(dataDir, 'reports'));
  const started = performance.now();
  const stoppers: StopStep[] = [];
  const onStop = (stop: StopStep['stop'], unfinished?: StopStep['unfinished']) =>
    stoppers.push({ stop, unfinished });
  /** The steps of the clean stop not finished yet, in the order they run. */
  let stepsLeft: StopStep[] | undefined;
  const stopAll = async () => {
    stepsLeft = [...stoppers].reverse();
    for (let step = stepsLeft[0]; step !== undefined; step = stepsLeft[0]) {
      try {
        await step.stop();
      } catch (error) {
        log.error('error while stopping', error);
      }
      stepsLeft.shift();
    }
  };
  const unfinishedSteps = () =>
    (stepsLeft ?? [...stoppers].reverse()).flatMap((step) => step.unfinished?.() ?? []);
  // Set as endpoints.json comes: a forced quit during startup has it too.
  let removeEndpointsFile = () => {};
  // The store, started first, is stopped last: its journal ends the line. quitStoresNow finds it
  // from the moment it takes its lock, while it still replays its journal too.
  const quitNow = () => {
    const unfinished = [...unfinishedSteps(), ...quitStoresNow()];
    removeEndpointsFile();
    return unfinished;
  };
  if (startup !== undefined) startup.quitNow = quitNow;
  const interrupted = () => startup?.signal.throwIfAborted();

  try {
    interrupted();
    const store = await startStore({
      port: options.storePort,
      dataDir: join(dataDir, 'store'),
      flushIntervalMs: options.flushIntervalMs,
      // New groups are Creating for a moment, as on AWS: setup code must wait (it does).
      creatingMs: DEFAULT_CREATING_MS,
      clock: options.storeClock,
      logger: createConsoleLog('store', options.logLevel) as never,
    });
    onStop(() => store.close());
    interrupted();

    const kinesis = await startLocalKinesis({
      port: options.kinesisPort,
      streamName: START_DEFAULTS.streamName,
      shardCount: START_DEFAULTS.shards,
    });
    onStop(() => kinesis.close());
    interrupted();

    // Handlers read their configuration from the environment at import, as on Lambda.
    let s3Endpoint = '';
    let backfillHandler: Handler<S3Event, unknown> | undefined;
    let batchHandler: Handler<S3Event, unknown> | undefined;
    // Backfill and batch invocations running now (S3 events and continuations): what a forced
    // quit cuts short.
    let dropsRunning = 0;
    const counted =
      <E, R>(handler: Handler<E, R>): Handler<E, R> =>
      async (event, context) => {
        dropsRunning += 1;
        try {
          return await handler(event, context);
        } finally {
          dropsRunning -= 1;
        }
      };
    const s3Log = createConsoleLog('s3', options.logLevel);
    const s3 = await startLocalS3({
      port: options.s3Port,
      dataDir: join(dataDir, 's3'),
      buckets: [
        { name: START_DEFAULTS.backfillBucket, versioning: true },
        { name: START_DEFAULTS.reportsBucket },
      ],
      mounts: offlineStoreMounts(join(dataDir, 'store')),
      // One notification filter per prefix, as in the template: backfill/ -> BackfillFunction,
      // batch/ -> BatchFunction.
      onObjectCreated: async (event: S3Event) => {
        const key = event.Records[0]?.s3.object.key ?? '';
        if (event.Records[0]?.s3.bucket.name !== START_DEFAULTS.backfillBucket) return;
        const decoded = decodeURIComponent(key.replace(/\+/g, ' '));
        const [name, handler] = decoded.startsWith('backfill/')
          ? ['BackfillFunction', backfillHandler]
          : decoded.startsWith('batch/')
            ? ['BatchFunction', batchHandler]
            : [undefined, undefined];
        if (name === undefined || handler === undefined) return;
        s3Log.info(`${name} triggered by s3://${START_DEFAULTS.backfillBucket}/${decoded}`);
        try {
          await handler(event, createLambdaContext(name, 900_000));
        } catch (error) {
          s3Log.error(`${name} invocation failed`, error);
        }
      },
    });
    s3Endpoint = s3.endpoint;
    // Stops after the stream has drained, before Kinesis and the store: backfills still running
    // checkpoint first (shouldStop below), while the S3 holding their state still answers.
    let stoppingBackfills = false;
    onStop(
      async () => {
        stoppingBackfills = true;
        const { inProcessBatchContinuations, inProcessContinuations } = await import(
          '../shared/backfill/index.ts'
        );
        const queues = [inProcessContinuations, inProcessBatchContinuations];
        for (const queue of queues) queue.shutdown();
        await s3.settled();
        for (const queue of queues) await queue.idle();
        const held = new Set(
          queues.flatMap((queue) =>
            queue.heldAtShutdown.map((m) => `${m.source.key}@${m.source.versionId}`)
          )
        );
        if (held.size > 0) {
          s3Log.info(
            `${held.size} backfill or batch drop(s) stopped at a checkpoint (state.json says running); they resume at the next start`
          );
        }
        await s3.close();
      },
      () =>
        dropsRunning === 0
          ? undefined
          : `${dropsRunning} running backfill or batch drop invocation(s) (cut short; the next start resumes them from their last checkpoint)`
    );
    interrupted();

    const endpointsBase = {
      store: store.endpoint,
      kinesis: kinesis.endpoint,
      s3: s3Endpoint,
      streamName: START_DEFAULTS.streamName,
      backfillBucket: START_DEFAULTS.backfillBucket,
      reportsBucket: START_DEFAULTS.reportsBucket,
      dataDir,
    };
    Object.assign(process.env, handlerEnvironment(opts, endpointsBase));

    const sagemaker = new SageMakerClient({ endpoint: store.endpoint });
    // Waited for when interrupted (a few seconds at most on the embedded store: each new group is
    // Creating for DEFAULT_CREATING_MS): its requests go to the store the stop closes.
    const groups = await ensureFeatureGroups(sagemaker, featureGroups, {
      // Served by the local S3 from the store's offline files (offlineStoreMounts).
      offlineS3Uri: START_DEFAULTS.offlineS3Uri,
      roleArn: 'arn:aws:iam::000000000000:role/skewless-local-offline-store',
    });
    sagemaker.destroy();
    log.info(
      `feature groups: ${featureGroups.map((g) => g.name).join(', ')} (created ${groups.created.length}, updated ${groups.updated.length}, unchanged ${groups.unchanged.length})`
    );
    interrupted();

    const { handler: ingestHandler } = (await import(
      '../functions/ingest/index.ts'
    )) as unknown as { handler: Handler<KinesisStreamEvent, never> };
    const { createBackfillHandler } = await import('../functions/backfill/index.ts');
    const { inProcessContinuations } = await import('../shared/backfill/index.ts');
    const backfill = createBackfillHandler({
      shouldStop: () => stoppingBackfills,
      // A failed drop is an error, as a batch drop's: a log filtered to errors still shows it.
      onFinished: (report) => {
        if (report.status === 'completed') s3Log.info(backfillLine(report));
        else s3Log.error(backfillLine(report));
      },
    });
    const { createBatchHandler } = await import('../functions/batch/index.ts');
    const { inProcessBatchContinuations } = await import('../shared/backfill/index.ts');
    const batch = createBatchHandler({
      shouldStop: () => stoppingBackfills,
      onFinished: (report) => {
        const online = report.onlineValues ?? { changed: 0, unchanged: 0, stayed: 0 };
        const line = `batch drop ${report.status}: s3://${report.source.bucket}/${report.source.key} -> ${report.featureGroup} (both stores): ${report.rowsWritten.toLocaleString('en-US')} written, ${report.rowsRejected.toLocaleString('en-US')} rejected${notWrittenPart(report)} of ${report.rowsRead.toLocaleString('en-US')} rows; online values: ${online.changed} changed, ${online.unchanged} unchanged, ${online.stayed} stayed (older rows)${report.error !== undefined ? `: ${report.error}` : ''}`;
        if (report.status === 'completed') s3Log.info(line);
        else s3Log.error(line);
      },
    });
    backfillHandler = counted(backfill as unknown as Handler<S3Event, unknown>);
    batchHandler = counted(batch as unknown as Handler<S3Event, unknown>);
    inProcessContinuations.reopen();
    inProcessContinuations.deliverTo(counted(backfill as never));
    inProcessBatchContinuations.reopen();
    inProcessBatchContinuations.deliverTo(counted(batch as never));
    const reportsClient = createBackfillS3Client();
    const resumed = [
      ...(await resumeUnfinishedBackfills(
        reportsClient,
        START_DEFAULTS.reportsBucket,
        inProcessContinuations
      )),
      ...(await resumeUnfinishedBackfills(
        reportsClient,
        START_DEFAULTS.reportsBucket,
        inProcessBatchContinuations,
        { prefix: DROP_PREFIX.batch }
      )),
    ];
    reportsClient.destroy();
    if (resumed.length > 0) {
      s3Log.info(
        `resuming ${resumed.length} unfinished backfill or batch drop(s) from their checkpoints: ${resumed.map((r) => r.source.key).join(', ')}`
      );
    }
    const { handler: auditHandler } = (await import('../functions/audit/index.ts')) as {
      handler: Handler<unknown, unknown>;
    };
    interrupted();

    const kinesisLog = createConsoleLog('kinesis', options.logLevel);
    const failuresFile = join(dataDir, 'dead-letters', 'ingest-failures.jsonl');
    const mapping = new LocalKinesisEventSourceMapping({
      client: kinesis.client,
      streamName: START_DEFAULTS.streamName,
      handler: ingestHandler,
      batchSize: START_DEFAULTS.batchSize,
      batchingWindowMs: START_DEFAULTS.batchingWindowMs,
      logger: kinesisLog,
      onFailure: async (batch: FailedBatch) => {
        await appendFile(failuresFile, `${JSON.stringify(batch)}\n`);
      },
    });
    await mapping.start();
    onStop(
      async () => {
        kinesisLog.info('draining the stream (what was sent is still delivered, up to 60 s)…');
        await mapping.stop({ drainTimeoutMs: 60_000 });
        const { stats } = mapping;
        kinesisLog.info(
          `stopped after ${stats.invocations} invocations, ${stats.recordsDelivered} records delivered (${stats.drained} while draining), ${stats.retries} retries, ${stats.failedBatches} failed batches; ${stats.undelivered === 0 ? 'nothing left in the stream' : `${stats.undelivered} records left undelivered in the stream (the drain ran out of time)`}`
        );
      },
      () =>
        "the stream's drain (what it still held is not delivered, and lost: the local stream lives in memory)"
    );
    interrupted();

    const front = await startLookupFront({ port: options.apiPort });
    onStop(() => front.close());
    interrupted();

    const auditLog = createConsoleLog('audit', options.logLevel);
    let auditRunning: Promise<unknown> = Promise.resolve();
    let auditInProgress = false;
    const auditNow = () => {
      auditRunning = auditRunning.then(async () => {
        auditInProgress = true;
        try {
          const result = await auditHandler(
            { source: 'skewless.local', 'detail-type': 'Scheduled Event' },
            createLambdaContext('AuditFunction', 900_000)
          );
          const summary = result as AuditRunSummary;
          const t = summary.totals;
          const findings = t.coherenceMismatches + t.expiredStillServed + t.failedGroups;
          (findings > 0 ? auditLog.warn : auditLog.info)(auditLine(summary));
          return result;
        } catch (error) {
          auditLog.error('audit failed', error);
          return undefined;
        } finally {
          auditInProgress = false;
        }
      });
      return auditRunning;
    };
    const auditTimer = setInterval(() => void auditNow(), options.auditIntervalSeconds * 1000);
    auditTimer.unref();
    onStop(
      async () => {
        clearInterval(auditTimer);
        await auditRunning;
      },
      () => (auditInProgress ? 'the audit in progress (no report of it)' : undefined)
    );

    const endpoints: Endpoints = {
      ...endpointsBase,
      api: front.url,
      pid: process.pid,
      bootId: bootId(),
      startTicks: processStartTicks(process.pid),
    };

    if (options.demo) {
      const demoLog = createConsoleLog('demo', options.logLevel);
      const producer = new DemoProducer({
        client: kinesis.client,
        streamName: START_DEFAULTS.streamName,
        eventsPerSecond: options.demoRate,
        maxEvents: options.demoMaxEvents,
        logger: demoLog,
      });
      // The nightly job's output lands in S3 like on AWS; the batch function writes both stores.
      // A kept data dir already holds today's drop: dropped again, the batch function would add
      // the same rows offline at every start. A data dir whose store was wiped gets it again.
      const s3Client = createBackfillS3Client();
      const dropNames = (files: readonly NightlyFile[]) =>
        files
          .map((f) => `s3://${START_DEFAULTS.backfillBucket}/${f.key} (${f.rows} rows)`)
          .join(', ');
      const today = new Date();
      const storeClient = createFeatureStoreClient(
        { maxAttempts: 1 },
        { endpoint: store.endpoint }
      );
      const applied = await nightlyAggregatesApplied(
        storeClient,
        producer.generator,
        today
      ).finally(() => storeClient.destroy());
      if (applied) {
        demoLog.info(
          `nightly aggregates of ${nightlyEventTime(today).toISOString().slice(0, 10)} already applied (from an earlier run on this data dir): not dropped again`
        );
      } else {
        const dropped = await dropNightlyAggregates(
          s3Client,
          START_DEFAULTS.backfillBucket,
          producer.generator,
          today
        );
        // Waited for when interrupted too: the stop would wait for the batch drops anyway (they
        // stop at a checkpoint, and are resumed at the next start), and they take about a second.
        await s3.settled();
        demoLog.info(`nightly aggregates dropped and applied: ${dropNames(dropped)}`);
      }
      // Each following midnight UTC, as the scheduled job on AWS: the audit holds batch-fed
      // groups to their cadence, and a stack left running must not fall behind its own demo.
      const stopNightly = scheduleNightlyAggregates({
        s3: s3Client,
        bucket: START_DEFAULTS.backfillBucket,
        generator: producer.generator,
        onDropped: (files) => demoLog.info(`nightly aggregates dropped: ${dropNames(files)}`),
        onError: (error) =>
          demoLog.warn(
            `the nightly aggregates could not be dropped (${error instanceof Error ? error.message : String(error)}); the next midnight tries again`
          ),
      });
      onStop(async () => {
        stopNightly();
        s3Client.destroy();
      });
      interrupted();
      // A restart on the same data dir: the earlier run sent the first payment, and sent again
      // (same id, another time and amount) it would be a second payment under one id: while
      // served, the ingest dead-letters it as a conflict; past the online TTL nothing online
      // knows it any more, so the data dir's note tells (within the TTL a noted payment not
      // served never reached the store). The banner's commands answer with the earlier one while
      // it is served.
      const transactionsCreated = await featureGroupCreationTime(store.endpoint, transactions);
      const onlineTtl = transactions.online?.ttl;
      const earlier = await earlierFirstPayment({
        dataDir,
        transactionId: DEMO_TRANSACTION_ID,
        groupCreationTime: transactionsCreated,
        served: () => firstPaymentEventTime(store.endpoint, 0),
        onlineTtlMs: onlineTtl === undefined ? undefined : durationSeconds(onlineTtl) * 1000,
        nowMs: (options.storeClock ?? Date).now(),
      });
      interrupted();
      producer.start({
        firstPayment: earlier === undefined,
        onFirstPaymentSent: (payment) => {
          try {
            noteFirstPaymentSent(
              dataDir,
              { transactionId: payment.transaction_id, eventTime: payment.event_time },
              transactionsCreated
            );
          } catch (error) {
            demoLog.warn(
              `${DEMO_TRANSACTION_ID} could not be noted in the data dir (${error instanceof Error ? error.message : String(error)}): a start more than the online TTL from now would send it again`
            );
          }
        },
      });
      // Before the wait below: a startup interrupted during it stops the producer too.
      onStop(async () => {
        await producer.stop();
        demoLog.info(
          `sent ${producer.stats.sent} events (${producer.stats.late} late, ${producer.stats.duplicates} duplicates, ${producer.stats.bad} bad on purpose)`
        );
      });
      if (earlier !== undefined) {
        const { stale, line } = earlierFirstPaymentLine(
          earlier.eventTime,
          (options.storeClock ?? Date).now(),
          earlier.served
        );
        (stale ? demoLog.warn : demoLog.info)(line);
      } else {
        // "ready" means the commands the banner prints answer: the first payment has gone
        // through the stream and the ingest handler into the store (a poll of the mapping,
        // ~1-2 s).
        const served = await firstPaymentEventTime(
          store.endpoint,
          FIRST_PAYMENT_TIMEOUT_MS,
          startup?.signal
        );
        interrupted();
        if (served === undefined) {
          demoLog.warn(
            `${DEMO_TRANSACTION_ID} is not served yet after ${FIRST_PAYMENT_TIMEOUT_MS / 1000} s; the commands below may answer 404 for a while`
          );
        }
      }
    }

    // Stoppers run in reverse: backfills told to stop, endpoints.json removed, demo, audit, API,
    // stream mapping (drains), S3 (waits for backfill invocations to checkpoint), Kinesis, store
    // (flushes).
    const endpointsFile = join(dataDir, 'endpoints.json');
    const endpointsText = `${JSON.stringify(endpoints, null, 2)}\n`;
    await writeFile(endpointsFile, endpointsText);
    // Only while it is this stack's (another stack may have taken the data dir since).
    removeEndpointsFile = () => removeIfUnchanged(endpointsFile, endpointsText);
    // First to go on stop: a stale file would send the CLI and scripts to a stack that is gone.
    onStop(async () => removeEndpointsFile());
    // Runs first: running backfills checkpoint at their next row instead of racing the shutdown.
    onStop(async () => {
      stoppingBackfills = true;
    });
    // The last check: a signal from here on finds the stack returned, and the caller stops it.
    interrupted();
    log.info(`ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return { endpoints, auditNow, stop: stopAll, quitNow };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** How long `npm start` waits for the demo's first payment to be served before it says ready. */
const FIRST_PAYMENT_TIMEOUT_MS = 15_000;

/** When the store created the group (DescribeFeatureGroup): a group created anew holds nothing. */
async function featureGroupCreationTime(storeEndpoint: string, group: FeatureGroup): Promise<Date> {
  const client = new SageMakerClient({ endpoint: storeEndpoint });
  try {
    const described = await client.send(
      new DescribeFeatureGroupCommand({ FeatureGroupName: group.name })
    );
    if (described.CreationTime === undefined) {
      throw new Error(`the store describes ${group.name} without a creation time`);
    }
    return described.CreationTime;
  } finally {
    client.destroy();
  }
}

/**
 * The event time of the demo's first payment in the online store, polled until it is there;
 * undefined when the time runs out (a timeout of 0 asks once) or `signal` is aborted.
 */
async function firstPaymentEventTime(
  storeEndpoint: string,
  timeoutMs: number,
  signal?: AbortSignal
): Promise<string | undefined> {
  const client = createFeatureStoreClient({ maxAttempts: 1 }, { endpoint: storeEndpoint });
  try {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = await getOnlineRecord(client, transactions, DEMO_TRANSACTION_ID, [
        transactions.eventTime,
      ]).catch(() => undefined);
      if (found !== undefined) return String(found.values[transactions.eventTime]);
      if (performance.now() >= deadline || signal?.aborted === true) return undefined;
      await sleep(100);
    }
  } finally {
    client.destroy();
  }
}

/** A failed report's rows read but not written (refused, or still failing), for its log line. */
function notWrittenPart(report: BackfillReport): string {
  const rows = report.rowsNotWritten ?? 0;
  return rows > 0 ? `, ${rows.toLocaleString('en-US')} not written` : '';
}

/** The stack's log line for a finished backfill (its time: `reportTime`, the stop not as work). */
function backfillLine(report: BackfillReport): string {
  const n = (value: number) => value.toLocaleString('en-US');
  const duplicates = (report.rowsDuplicate ?? 0) > 0 ? `, ${report.rowsDuplicate} duplicates` : '';
  const key = reportKeys({
    ...report.source,
    versionId: report.source.versionId ?? undefined,
    size: 0,
  }).report;
  return `backfill ${report.status}: s3://${report.source.bucket}/${report.source.key} -> ${report.featureGroup}: ${n(report.rowsWritten)} written, ${n(report.rowsRejected)} rejected${duplicates}${notWrittenPart(report)} of ${n(report.rowsRead)} rows (${report.writeMode ?? 'records'} mode, ${reportTime(report)})${report.error !== undefined ? `: ${report.error}` : ''}; report s3://${START_DEFAULTS.reportsBucket}/${key}`;
}

/** The stack's log line for a scheduled audit: its findings in words, and where the report is. */
function auditLine(summary: AuditRunSummary): string {
  const t = summary.totals;
  const n = (value: number) => value.toLocaleString('en-US');
  /** A count and its noun, singular for exactly one ("1 group failed", "2 groups failed"). */
  const count = (value: number, one: string, many: string) =>
    `${n(value)} ${value === 1 ? one : many}`;
  const kinds = Object.entries(t.mismatches)
    .filter(([, value]) => value > 0)
    .map(([kind, value]) => `${kind} ${n(value)}`);
  const mismatches = `${count(t.coherenceMismatches, 'mismatch', 'mismatches')}${kinds.length > 0 ? ` (${kinds.join(', ')})` : ''}`;
  return `audit finished in ${(summary.durationMs / 1000).toFixed(1)} s: ${count(t.groups, 'group', 'groups')}, ${count(t.checked, 'identifier', 'identifiers')} checked: ${mismatches}, ${count(t.expiredStillServed, 'expired record', 'expired records')} still served, ${n(t.stale)} stale, ${count(t.freshnessBreaches, 'freshness breach', 'freshness breaches')}, ${count(t.failedGroups, 'group', 'groups')} failed; report ${summary.reportLocation} (npx skewless audit prints the table)`;
}

/** The banner: where everything is and three commands to try. */
function banner(e: Endpoints, demo: boolean): string {
  const cwd = process.cwd();
  const relative = (p: string) => (p.startsWith(`${cwd}/`) ? `.${p.slice(cwd.length)}` : p);
  // The other commands find this stack through <data dir>/endpoints.json: with another data dir
  // than the default, the commands suggested here must name it.
  const shown = relative(e.dataDir);
  const dataDir =
    resolve(e.dataDir) === resolve(START_DEFAULTS.dataDir)
      ? ''
      : ` --data-dir ${/^[\w./@:+-]+$/.test(shown) ? shown : `'${shown.replace(/'/g, "'\\''")}'`}`;
  return `
Skewless is running on the embedded default (data in ${relative(e.dataDir)}).

  lookup API        ${e.api}
  feature store     ${e.store}   (SageMaker Feature Store runtime + control plane)
  Kinesis stream    ${e.kinesis}   stream "${e.streamName}" -> ingest handler
  S3                ${e.s3}   s3://${e.backfillBucket}/backfill/<group>/... -> backfill handler (offline store only)
                    ${' '.repeat(e.s3.length)}   s3://${e.backfillBucket}/batch/<group>/...    -> batch handler (both stores; batch-fed groups)
  dead letters      ${relative(join(e.dataDir, 'dead-letters'))}/
  reports           ${relative(join(e.dataDir, 'reports'))}/ and s3://${e.reportsBucket}/
  demo producer     ${demo ? 'on (synthetic payments; --no-demo turns it off)' : 'off'}

Try:
${
  demo
    ? `  curl -s ${e.api}/feature-groups/fraud-transactions/records/${DEMO_TRANSACTION_ID}
  curl -s -X POST ${e.api}/feature-sets/fraud_model_v3/vectors -H 'content-type: application/json' \\
       -d '{"entities":[{"transaction_id":"${DEMO_TRANSACTION_ID}","card_id":"card-0001","merchant_id":"merchant-001"}]}'
`
    : `  npx skewless put fraud-cards '{"card_id":"card-0001","event_time":'$(date -u +%s)',"txn_count_7d":3}'${dataDir}
  npx skewless get fraud-cards card-0001${dataDir}
`
}  npx skewless backfill examples/backfill/fraud-cards-october.csv --group fraud-cards${dataDir}

Ctrl-C stops everything cleanly (in-flight batches finish, the offline store is flushed).
`;
}

export type { Endpoints, RunningStack, StartOptions, Startup };
export { auditLine, backfillLine, banner, startStack };

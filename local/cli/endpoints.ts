import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { isRecordedProcessAlive } from '../runtime/processAlive.ts';
import { sameDirectory } from '../runtime/sameDirectory.ts';
import type { Endpoints } from '../start.ts';

/**
 * The endpoints of a running `npm start`, read from `<dataDir>/endpoints.json`, so the other
 * commands find the stack without flags. Falls back to the documented default ports. A clean
 * stop removes the file; one left by a stack that was killed names a process that is gone and is
 * ignored (its free ports meant nothing any more: "no stack at http://127.0.0.1:41873"), also
 * when its pid names another process now (after a reboot or a container's restart: the file
 * records the boot and the process's start time), and so is one copied along with a running
 * stack's data dir (it names the original directory). Trusted, such a file sent `audit` to a
 * port nothing listens on instead of the store on disk, and `put` to whatever listens there now.
 */
function runningEndpoints(dataDir: string): Partial<Endpoints> {
  let endpoints: Partial<Endpoints>;
  try {
    endpoints = JSON.parse(readFileSync(join(dataDir, 'endpoints.json'), 'utf8')) as Endpoints;
  } catch {
    return {};
  }
  if (
    typeof endpoints.pid === 'number' &&
    !isRecordedProcessAlive({
      pid: endpoints.pid,
      bootId: typeof endpoints.bootId === 'string' ? endpoints.bootId : undefined,
      startTicks: typeof endpoints.startTicks === 'number' ? endpoints.startTicks : undefined,
    })
  ) {
    return {};
  }
  // Copied along with the data dir of a running stack: that stack serves the original.
  if (typeof endpoints.dataDir === 'string' && !sameDirectory(endpoints.dataDir, dataDir)) {
    return {};
  }
  return endpoints;
}

/** What to do when an endpoint given for the feature store is something else. */
const FEATURE_STORE_ENDPOINT_HINT =
  "pass the feature store's endpoint (\"store\" in <data dir>/endpoints.json; npm start's is http://127.0.0.1:8765), not the lookup API's or S3's";

/** The store endpoint a command talks to, and where it came from, for its messages. */
interface StoreEndpoint {
  readonly url: string;
  /** `--endpoint`, `from <dir>/endpoints.json` or `the default: no stack runs on <dir>`. */
  readonly from: string;
  /** What to do when something else than a feature store answers there. */
  readonly hint: string;
}

function storeEndpoint(explicit: string | undefined, dataDir: string): StoreEndpoint {
  if (explicit !== undefined) {
    return {
      url: explicit,
      from: '--endpoint',
      hint: FEATURE_STORE_ENDPOINT_HINT,
    };
  }
  const running = runningEndpoints(dataDir).store;
  if (running !== undefined) {
    return {
      url: running,
      from: `from ${join(dataDir, 'endpoints.json')}`,
      hint: 'the stack that file names runs, but another server answers on its store port: stop that server and restart npm start, or pass --endpoint <url>',
    };
  }
  return {
    url: 'http://127.0.0.1:8765',
    from: `the default: no stack runs on ${dataDir}`,
    hint: "another server holds the store's default port 8765: start the stack (npm start) with --data-dir of this command, or pass --endpoint <url> of the feature store",
  };
}

/**
 * Resolves once something accepts a TCP connection at the endpoint's host and port, so a command
 * that would otherwise fail part by part (the audit, group by group, into a table of FAILED and
 * a report) stops at once. Rejects with the socket's error (ECONNREFUSED, ENOTFOUND …) or, when
 * nothing answers within `timeoutMs`, an ETIMEDOUT error.
 */
function connectable(endpoint: string, timeoutMs = 5_000): Promise<void> {
  const url = new URL(endpoint);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(Object.assign(new Error(`connect ETIMEDOUT ${url.host}`), { code: 'ETIMEDOUT' }));
    });
    socket.once('error', reject);
  });
}

/**
 * What the AWS CLI needs to talk to the local stand-ins, which ignore signatures but still need
 * a region and some credentials (a newcomer has no AWS configuration). Printed before every
 * `aws … --endpoint-url` command the CLI suggests, and documented once in the README.
 */
const LOCAL_AWS_ENV =
  'AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1';

export type { StoreEndpoint };
export { connectable, FEATURE_STORE_ENDPOINT_HINT, LOCAL_AWS_ENV, runningEndpoints, storeEndpoint };

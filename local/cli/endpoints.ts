import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Endpoints } from '../start.ts';

/**
 * The endpoints of a running `npm start`, read from `<dataDir>/endpoints.json`, so the other
 * commands find the stack without flags. Falls back to the documented default ports.
 */
function runningEndpoints(dataDir: string): Partial<Endpoints> {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'endpoints.json'), 'utf8')) as Endpoints;
  } catch {
    return {};
  }
}

function storeEndpoint(explicit: string | undefined, dataDir: string): string {
  return explicit ?? runningEndpoints(dataDir).store ?? 'http://127.0.0.1:8765';
}

/**
 * What the AWS CLI needs to talk to the local stand-ins, which ignore signatures but still need
 * a region and some credentials (a newcomer has no AWS configuration). Printed before every
 * `aws … --endpoint-url` command the CLI suggests, and documented once in the README.
 */
const LOCAL_AWS_ENV =
  'AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1';

export { LOCAL_AWS_ENV, runningEndpoints, storeEndpoint };

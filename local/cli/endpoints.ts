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

export { runningEndpoints, storeEndpoint };

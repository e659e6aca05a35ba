/**
 * The backfill's settings come from its environment: a value out of range is a ConfigurationError
 * naming the variable, which the CLI prints as one line and a hint (exit 1), as the README says
 * of every environment variable, and which fails a Lambda cold start with the variable's name.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadBackfillConfig } from '../../shared/backfill/config.ts';
import { ConfigurationError } from '../../shared/runtime/env.ts';

describe('Function: loadBackfillConfig()', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('refuses a BACKFILL_WRITE_MODE other than auto, direct or records as a configuration error naming it', () => {
    // Prepare
    vi.stubEnv('REPORTS_BUCKET', 'skewless-reports');
    vi.stubEnv('BACKFILL_WRITE_MODE', 'fast');
    // Act
    const load = (): unknown => loadBackfillConfig();
    // Assess
    expect(load).toThrow(ConfigurationError);
    expect(load).toThrow(
      'environment variable BACKFILL_WRITE_MODE="fast" must be auto, direct or records'
    );
  });

  it('reads each accepted BACKFILL_WRITE_MODE', () => {
    vi.stubEnv('REPORTS_BUCKET', 'skewless-reports');
    for (const mode of ['auto', 'direct', 'records'] as const) {
      vi.stubEnv('BACKFILL_WRITE_MODE', mode);
      expect(loadBackfillConfig().writeMode).toBe(mode);
    }
  });
});

import { describe, expect, it } from 'vitest';

describe('Runtime', () => {
  it('runs on the same Node major as the Lambda runtime (nodejs24.x)', () => {
    // npm ci installs the `node` package; npm scripts must pick it up, not the machine's Node 20.
    expect(process.version).toMatch(/^v24\./);
  });
});

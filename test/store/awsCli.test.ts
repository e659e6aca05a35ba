// calendar-fixed: the group has no default TTL; the 2024 time is data of a record refused for its amount, and the one record given a TTL (2 days) is dated 2999.
/**
 * botocore compatibility: the real AWS CLI (v1, botocore) against the embedded store, including
 * error decoding; and the `skewless store` command line itself.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GetRecordCommand } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { node, storeMain } from '../helpers/stackProcess.ts';
import { createGroup, startTestStore, type TestStore } from '../helpers/store.ts';

const run = promisify(execFile);
let t: TestStore;
/** The CLI's real entry point (skips the pyenv shim when there is one). */
let awsBin = 'aws';

const env = {
  ...process.env,
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_MAX_ATTEMPTS: '1',
  AWS_CONFIG_FILE: '/nonexistent',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
  AWS_PAGER: '',
};

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `aws sagemaker-featurestore-runtime …` asynchronously (the store runs in this process). */
async function aws(...args: string[]): Promise<CliResult> {
  try {
    const out = await run(
      awsBin,
      [
        'sagemaker-featurestore-runtime',
        ...args,
        '--endpoint-url',
        t.store.endpoint,
        '--output',
        'json',
      ],
      { env, timeout: 30_000 }
    );
    return { code: 0, stdout: out.stdout, stderr: out.stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

beforeAll(async () => {
  awsBin = await run('pyenv', ['which', 'aws']).then(
    (out) => out.stdout.trim() || 'aws',
    () => 'aws'
  );
  t = await startTestStore();
  await createGroup(t.sagemaker, 'cli-group', { amount: 'Integral' });
});

afterAll(async () => {
  await t?.close();
});

// Each CLI call starts a Python interpreter: slow on a busy two-core machine.
describe('AWS CLI (botocore)', { timeout: 120_000 }, () => {
  it('puts, gets, batch-gets and deletes records', async () => {
    const id = 'cli 1/ü';
    const put = await aws(
      'put-record',
      '--feature-group-name',
      'cli-group',
      '--record',
      JSON.stringify([
        { FeatureName: 'id', ValueAsString: id },
        { FeatureName: 'event_time', ValueAsString: '2999-01-01T00:00:00Z' },
        { FeatureName: 'amount', ValueAsString: '3' },
      ]),
      '--ttl-duration',
      'Unit=Days,Value=2',
      '--target-stores',
      'OnlineStore',
      'OfflineStore'
    );
    expect(put).toMatchObject({ code: 0, stderr: '' });
    // The JS SDK sees what the CLI wrote.
    const fromSdk = await t.runtime.send(
      new GetRecordCommand({ FeatureGroupName: 'cli-group', RecordIdentifierValueAsString: id })
    );
    expect(fromSdk.Record).toHaveLength(3);

    const got = await aws(
      'get-record',
      '--feature-group-name',
      'arn:aws:sagemaker:us-east-1:000000000000:feature-group/cli-group',
      '--record-identifier-value-as-string',
      id,
      '--feature-names',
      'amount',
      '--expiration-time-response',
      'Enabled'
    );
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toEqual({
      Record: [{ FeatureName: 'amount', ValueAsString: '3' }],
      ExpiresAt: '2999-01-03T00:00:00.000Z',
    });

    const batch = await aws(
      'batch-get-record',
      '--identifiers',
      JSON.stringify([
        { FeatureGroupName: 'cli-group', RecordIdentifiersValueAsString: [id, 'missing'] },
        { FeatureGroupName: 'ghost', RecordIdentifiersValueAsString: ['x'] },
      ])
    );
    expect(batch.code).toBe(0);
    const parsed = JSON.parse(batch.stdout);
    expect(
      parsed.Records.map(
        (r: { RecordIdentifierValueAsString: string }) => r.RecordIdentifierValueAsString
      )
    ).toEqual([id]);
    expect(parsed.Errors).toEqual([
      expect.objectContaining({
        FeatureGroupName: 'ghost',
        RecordIdentifierValueAsString: 'x',
        ErrorCode: 'ResourceNotFound',
      }),
    ]);

    const deleted = await aws(
      'delete-record',
      '--feature-group-name',
      'cli-group',
      '--record-identifier-value-as-string',
      id,
      '--event-time',
      '2999-01-02T00:00:00.123Z',
      '--deletion-mode',
      'HardDelete'
    );
    expect(deleted).toMatchObject({ code: 0, stderr: '' });
    const gone = await aws(
      'get-record',
      '--feature-group-name',
      'cli-group',
      '--record-identifier-value-as-string',
      id
    );
    // `{}` (no Record): the CLI prints nothing.
    expect(gone).toMatchObject({ code: 0, stdout: '' });
  });

  it('raises the service error codes botocore expects', async () => {
    const invalid = await aws(
      'put-record',
      '--feature-group-name',
      'cli-group',
      '--record',
      JSON.stringify([
        { FeatureName: 'id', ValueAsString: 'x' },
        { FeatureName: 'event_time', ValueAsString: '2024-01-01T00:00:00Z' },
        { FeatureName: 'amount', ValueAsString: 'lots' },
      ])
    );
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toMatch(
      /An error occurred \(ValidationError\) when calling the PutRecord operation: .*feature 'amount' \(Integral\): value "lots" is not a 64-bit signed integer/
    );
    const missing = await aws(
      'get-record',
      '--feature-group-name',
      'ghost',
      '--record-identifier-value-as-string',
      'x'
    );
    expect(missing.stderr).toMatch(
      /An error occurred \(ResourceNotFound\) when calling the GetRecord operation: Resource Not Found: Amazon SageMaker can't find a FeatureGroup with name \[ghost\]\./
    );
    t.store.setFaults({ throttle: 1 });
    try {
      const throttled = await aws(
        'get-record',
        '--feature-group-name',
        'cli-group',
        '--record-identifier-value-as-string',
        'x'
      );
      expect(throttled.stderr).toMatch(
        /\(ThrottlingException\) when calling the GetRecord operation/
      );
    } finally {
      t.store.setFaults({});
    }
  });
});

describe('skewless store command line', () => {
  it('documents every option in --help', async () => {
    const { stdout } = await run(node, [storeMain, '--help']);
    for (const option of [
      '--port',
      '--data-dir',
      '--account',
      '--region',
      '--flush-interval',
      '--fault-throttle',
      '--fault-5xx',
      '--fault-drop',
      '--fault-latency-ms',
      '--fault-latency-share',
      '--fault-seed',
      '--log-level',
      '--fsync',
    ]) {
      expect(stdout).toContain(option);
    }
  });

  it('rejects invalid option values', async () => {
    const failed = await run(node, [storeMain, '--fault-throttle', '2']).catch(
      (e: { stderr: string }) => e
    );
    expect((failed as { stderr: string }).stderr).toMatch(/--fault-throttle.*share from 0 to 1/);
  });
});

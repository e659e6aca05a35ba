// calendar-fixed: records with a fixed date are in groups without online TTL; the groups with a TTL hold none, or one dated 2999 that expires hours later; the time is data.
/**
 * The feature-group control plane through the real `@aws-sdk/client-sagemaker` client.
 */
import {
  CreateFeatureGroupCommand,
  DeleteFeatureGroupCommand,
  DescribeFeatureGroupCommand,
  ListFeatureGroupsCommand,
  paginateListFeatureGroups,
  ResourceInUse,
  ResourceNotFound,
  SageMakerServiceException,
  UpdateFeatureGroupCommand,
} from '@aws-sdk/client-sagemaker';
import {
  GetRecordCommand,
  PutRecordCommand,
  ResourceNotFound as RuntimeResourceNotFound,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFeatureGroups } from '../../local/setup/ensureFeatureGroups.ts';
import { waitUntilFeatureGroupCreated } from '../../local/setup/waitForFeatureGroup.ts';
import { cards, merchants } from '../../shared/definitions.ts';
import { offlineRows } from '../helpers/offlineRows.ts';
import { createGroup, startTestStore, type TestStore, testClock } from '../helpers/store.ts';

let t: TestStore;

async function failure(promise: Promise<unknown>): Promise<SageMakerServiceException> {
  const error = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e
  );
  expect(error).toBeInstanceOf(SageMakerServiceException);
  return error as SageMakerServiceException;
}

beforeAll(async () => {
  t = await startTestStore({ account: '123456789012', region: 'eu-west-1' });
});

afterAll(async () => {
  await t?.close();
});

describe('CreateFeatureGroup', () => {
  it('creates a group and answers its ARN (configured account and region, lower-cased name)', async () => {
    const arn = await createGroup(t.sagemaker, 'Payments-1', { amount: 'Integral' });
    expect(arn).toBe('arn:aws:sagemaker:eu-west-1:123456789012:feature-group/payments-1');
  });

  it('refuses a second group with the same name, regardless of case', async () => {
    await createGroup(t.sagemaker, 'dup');
    const e = await failure(createGroup(t.sagemaker, 'DUP'));
    expect(e).toBeInstanceOf(ResourceInUse);
    expect(e.message).toMatch(/already exists/);
  });

  it('validates the definition with ValidationException', async () => {
    const cases: [Parameters<typeof createGroup>, RegExp][] = [
      [[t.sagemaker, 'bad-et', { event_time: 'Integral' }], /must be of type String or Fractional/],
      [[t.sagemaker, 'reserved', { write_time: 'String' }], /'write_time' is reserved/],
      [[t.sagemaker, 'partition', { year: 'Integral' }], /hive partition key 'year'/],
      [
        [
          t.sagemaker,
          'no-store',
          {},
          { OnlineStoreConfig: undefined, OfflineStoreConfig: undefined },
        ],
        /Either OnlineStoreConfig/,
      ],
      [[t.sagemaker, 'bad name', {}], /failed to satisfy constraint/],
      [
        [t.sagemaker, 'case-dup', { Amount: 'Integral', amount: 'Integral' }],
        /defined more than once/,
      ],
      [
        [t.sagemaker, 'no-id', {}, { RecordIdentifierFeatureName: 'customer' }],
        /RecordIdentifierFeatureName 'customer' is not one of the FeatureDefinitions/,
      ],
      [
        [
          t.sagemaker,
          'ttl-offline',
          {},
          {
            OnlineStoreConfig: {
              EnableOnlineStore: false,
              TtlDuration: { Unit: 'Days', Value: 1 },
            },
          },
        ],
        /TtlDuration requires EnableOnlineStore=true/,
      ],
      [
        [
          t.sagemaker,
          'mem-offline',
          {},
          { OnlineStoreConfig: { EnableOnlineStore: true, StorageType: 'InMemory' } },
        ],
        /InMemory online store cannot be combined with an OfflineStoreConfig/,
      ],
    ];
    for (const [args, message] of cases) {
      const e = await failure(createGroup(...args));
      expect(e.name).toBe('ValidationException');
      expect(e.message).toMatch(message);
      expect(e.$metadata.httpStatusCode).toBe(400);
    }
    const collection = await failure(
      t.sagemaker.send(
        new CreateFeatureGroupCommand({
          FeatureGroupName: 'list-standard',
          RecordIdentifierFeatureName: 'id',
          EventTimeFeatureName: 'ts',
          FeatureDefinitions: [
            { FeatureName: 'id', FeatureType: 'String' },
            { FeatureName: 'ts', FeatureType: 'Fractional' },
            { FeatureName: 'tags', FeatureType: 'String', CollectionType: 'List' },
          ],
          OnlineStoreConfig: { EnableOnlineStore: true },
        })
      )
    );
    expect(collection.message).toMatch(/only with OnlineStoreConfig.StorageType InMemory/);
  });
});

describe('DescribeFeatureGroup', () => {
  it('describes everything a caller needs, with the service-shaped ResolvedOutputS3Uri (a local S3 mount serves it from the data dir)', async () => {
    const before = Date.now();
    await createGroup(
      t.sagemaker,
      'described',
      { amount: 'Integral', price: 'Fractional' },
      {
        Description: 'for tests',
        OnlineStoreConfig: { EnableOnlineStore: true, TtlDuration: { Unit: 'Days', Value: 3 } },
      }
    );
    const d = await t.sagemaker.send(
      new DescribeFeatureGroupCommand({ FeatureGroupName: 'described' })
    );
    expect(d.FeatureGroupArn).toBe(
      'arn:aws:sagemaker:eu-west-1:123456789012:feature-group/described'
    );
    expect(d.FeatureGroupName).toBe('described');
    expect(d.FeatureGroupStatus).toBe('Created');
    expect(d.RecordIdentifierFeatureName).toBe('id');
    expect(d.EventTimeFeatureName).toBe('event_time');
    expect(d.FeatureDefinitions).toEqual([
      { FeatureName: 'id', FeatureType: 'String' },
      { FeatureName: 'event_time', FeatureType: 'String' },
      { FeatureName: 'amount', FeatureType: 'Integral' },
      { FeatureName: 'price', FeatureType: 'Fractional' },
    ]);
    expect(d.CreationTime).toBeInstanceOf(Date);
    expect(d.CreationTime?.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(d.OnlineStoreConfig).toEqual({
      EnableOnlineStore: true,
      TtlDuration: { Unit: 'Days', Value: 3 },
    });
    expect(d.OfflineStoreStatus).toEqual({ Status: 'Active' });
    expect(d.Description).toBe('for tests');
    expect(d.RoleArn).toBe('arn:aws:iam::000000000000:role/feature-store');
    const epoch = Math.floor((d.CreationTime?.getTime() ?? 0) / 1000);
    const dataPath = `${t.dataDir}/offline-store/123456789012/sagemaker/eu-west-1/offline-store/described-${epoch}/data`;
    expect(d.OfflineStoreConfig?.S3StorageConfig).toEqual({
      S3Uri: 's3://local-bucket/offline',
      ResolvedOutputS3Uri: `s3://local-bucket/offline/123456789012/sagemaker/eu-west-1/offline-store/described-${epoch}/data`,
    });
    expect(d.OfflineStoreConfig?.DataCatalogConfig).toEqual({
      TableName: `described-${epoch}`,
      Catalog: 'AwsDataCatalog',
      Database: 'sagemaker_featurestore',
    });
    expect(t.store.offlineDataPath('described')).toBe(dataPath);
    const byArn = await t.sagemaker.send(
      new DescribeFeatureGroupCommand({ FeatureGroupName: d.FeatureGroupArn })
    );
    expect(byArn.FeatureGroupName).toBe('described');
  });

  it('answers ResourceNotFound with HTTP 400 (awsJson1_1) for an unknown group', async () => {
    for (const send of [
      () => t.sagemaker.send(new DescribeFeatureGroupCommand({ FeatureGroupName: 'ghost' })),
      () => t.sagemaker.send(new DeleteFeatureGroupCommand({ FeatureGroupName: 'ghost' })),
      () =>
        t.sagemaker.send(
          new UpdateFeatureGroupCommand({
            FeatureGroupName: 'ghost',
            FeatureAdditions: [{ FeatureName: 'x', FeatureType: 'String' }],
          })
        ),
    ]) {
      const e = await failure(send());
      expect(e).toBeInstanceOf(ResourceNotFound);
      expect(e.message).toMatch(/\[ghost\]/);
      expect(e.$metadata.httpStatusCode).toBe(400);
    }
  });
});

describe('ListFeatureGroups', () => {
  it('lists, filters, sorts and pages', async () => {
    for (const name of ['list-c', 'list-a', 'list-b']) await createGroup(t.sagemaker, name);
    const names: string[] = [];
    for await (const page of paginateListFeatureGroups(
      { client: t.sagemaker, pageSize: 2 },
      { NameContains: 'LIST-', SortBy: 'Name', SortOrder: 'Ascending' }
    )) {
      expect(page.FeatureGroupSummaries?.length).toBeLessThanOrEqual(2);
      names.push(...(page.FeatureGroupSummaries ?? []).map((s) => s.FeatureGroupName ?? ''));
    }
    expect(names).toEqual(['list-a', 'list-b', 'list-c']);
    const newest = await t.sagemaker.send(new ListFeatureGroupsCommand({ MaxResults: 1 }));
    expect(newest.FeatureGroupSummaries?.[0]).toMatchObject({
      FeatureGroupName: 'list-b',
      FeatureGroupStatus: 'Created',
      OfflineStoreStatus: { Status: 'Active' },
      FeatureGroupArn: 'arn:aws:sagemaker:eu-west-1:123456789012:feature-group/list-b',
    });
    expect(newest.FeatureGroupSummaries?.[0]?.CreationTime).toBeInstanceOf(Date);
    expect(newest.NextToken).toBeDefined();
  });
});

describe('UpdateFeatureGroup', () => {
  it('adds features and changes the default TTL for later writes', async () => {
    await createGroup(t.sagemaker, 'updated', {});
    const arn = await t.sagemaker.send(
      new UpdateFeatureGroupCommand({
        FeatureGroupName: 'updated',
        FeatureAdditions: [{ FeatureName: 'score', FeatureType: 'Fractional' }],
        OnlineStoreConfig: { TtlDuration: { Unit: 'Hours', Value: 2 } },
      })
    );
    expect(arn.FeatureGroupArn).toBe(
      'arn:aws:sagemaker:eu-west-1:123456789012:feature-group/updated'
    );
    const d = await t.sagemaker.send(
      new DescribeFeatureGroupCommand({ FeatureGroupName: 'updated' })
    );
    expect(d.FeatureDefinitions?.map((f) => f.FeatureName)).toEqual(['id', 'event_time', 'score']);
    expect(d.OnlineStoreConfig?.TtlDuration).toEqual({ Unit: 'Hours', Value: 2 });
    expect(d.LastUpdateStatus).toEqual({ Status: 'Successful' });
    expect(d.LastModifiedTime?.getTime()).toBeGreaterThanOrEqual(d.CreationTime?.getTime() ?? 0);
    await t.runtime.send(
      new PutRecordCommand({
        FeatureGroupName: 'updated',
        Record: [
          { FeatureName: 'id', ValueAsString: 'u' },
          { FeatureName: 'event_time', ValueAsString: '2999-01-01T00:00:00Z' },
          { FeatureName: 'score', ValueAsString: '0.5' },
        ],
      })
    );
    const got = await t.runtime.send(
      new GetRecordCommand({
        FeatureGroupName: 'updated',
        RecordIdentifierValueAsString: 'u',
        ExpirationTimeResponse: 'Enabled',
      })
    );
    expect(got.ExpiresAt).toBe('2999-01-01T02:00:00.000Z');
    await t.store.flush();
    const rows = await offlineRows(t.store.offlineDataPath('updated'));
    expect(rows.map((r) => r.score)).toEqual([0.5]);
    // Removing the default: TtlDuration with neither Unit nor Value.
    await t.sagemaker.send(
      new UpdateFeatureGroupCommand({
        FeatureGroupName: 'updated',
        OnlineStoreConfig: { TtlDuration: {} as never },
      })
    );
    const cleared = await t.sagemaker.send(
      new DescribeFeatureGroupCommand({ FeatureGroupName: 'updated' })
    );
    expect(cleared.OnlineStoreConfig?.TtlDuration).toBeUndefined();
  });

  it('refuses duplicate additions and unknown groups', async () => {
    const dup = await failure(
      t.sagemaker.send(
        new UpdateFeatureGroupCommand({
          FeatureGroupName: 'updated',
          FeatureAdditions: [{ FeatureName: 'SCORE', FeatureType: 'String' }],
        })
      )
    );
    expect(dup.name).toBe('ValidationException');
    expect(dup.message).toMatch(/'SCORE' is defined more than once/);
    const ghost = await failure(
      t.sagemaker.send(
        new UpdateFeatureGroupCommand({
          FeatureGroupName: 'ghost',
          FeatureAdditions: [{ FeatureName: 'x', FeatureType: 'String' }],
        })
      )
    );
    expect(ghost).toBeInstanceOf(ResourceNotFound);
  });
});

describe('DeleteFeatureGroup', () => {
  it('deletes the group and its online data but keeps offline files', async () => {
    await createGroup(t.sagemaker, 'doomed', {});
    await t.runtime.send(
      new PutRecordCommand({
        FeatureGroupName: 'doomed',
        Record: [
          { FeatureName: 'id', ValueAsString: 'd' },
          { FeatureName: 'event_time', ValueAsString: '2024-01-01T00:00:00Z' },
        ],
      })
    );
    const dataPath = t.store.offlineDataPath('doomed');
    await t.sagemaker.send(new DeleteFeatureGroupCommand({ FeatureGroupName: 'doomed' }));
    await expect(
      t.sagemaker.send(new DescribeFeatureGroupCommand({ FeatureGroupName: 'doomed' }))
    ).rejects.toBeInstanceOf(ResourceNotFound);
    await expect(
      t.runtime.send(
        new GetRecordCommand({ FeatureGroupName: 'doomed', RecordIdentifierValueAsString: 'd' })
      )
    ).rejects.toBeInstanceOf(RuntimeResourceNotFound);
    // The pending offline row is still flushed to the deleted group's table.
    await t.store.flush();
    expect((await offlineRows(dataPath)).map((r) => r.id)).toEqual(['d']);
    // A new group of the same name starts empty.
    await createGroup(t.sagemaker, 'doomed', {});
    const fresh = await t.runtime.send(
      new GetRecordCommand({ FeatureGroupName: 'doomed', RecordIdentifierValueAsString: 'd' })
    );
    expect(fresh.Record).toBeUndefined();
    await expect(
      t.sagemaker.send(new DeleteFeatureGroupCommand({ FeatureGroupName: 'ghost' }))
    ).rejects.toBeInstanceOf(ResourceNotFound);
  });

  it('gives a group created again within the same second its own offline table', async () => {
    // A stopped clock: the second group is created in the very second the first one was.
    const s = await startTestStore({ clock: testClock({ stopped: true }) });
    try {
      const write = (id: string) =>
        s.runtime.send(
          new PutRecordCommand({
            FeatureGroupName: 'again',
            Record: [
              { FeatureName: 'id', ValueAsString: id },
              { FeatureName: 'event_time', ValueAsString: '2024-01-01T00:00:00Z' },
            ],
          })
        );
      await createGroup(s.sagemaker, 'again', {});
      await write('old');
      const first = await s.sagemaker.send(
        new DescribeFeatureGroupCommand({ FeatureGroupName: 'again' })
      );
      await s.sagemaker.send(new DeleteFeatureGroupCommand({ FeatureGroupName: 'again' }));
      await createGroup(s.sagemaker, 'again', {});
      await write('new');
      const second = await s.sagemaker.send(
        new DescribeFeatureGroupCommand({ FeatureGroupName: 'again' })
      );
      await s.store.flush();
      const uri = (d: typeof first) => d.OfflineStoreConfig?.S3StorageConfig?.ResolvedOutputS3Uri;
      expect(uri(second)).not.toBe(uri(first));
      expect(second.OfflineStoreConfig?.DataCatalogConfig?.TableName).not.toBe(
        first.OfflineStoreConfig?.DataCatalogConfig?.TableName
      );
      // The layout's epoch is still the group's CreationTime (in whole seconds).
      const epoch = Math.floor((second.CreationTime?.getTime() ?? 0) / 1000);
      expect(uri(second)).toMatch(new RegExp(`/again-${epoch}/data$`));
      expect((await offlineRows(s.store.offlineDataPath('again'))).map((r) => r.id)).toEqual([
        'new',
      ]);
    } finally {
      await s.close();
    }
  });
});

describe('persistence', () => {
  it('keeps groups and records across a restart', async () => {
    await createGroup(t.sagemaker, 'durable', { amount: 'Integral' });
    await t.runtime.send(
      new PutRecordCommand({
        FeatureGroupName: 'durable',
        Record: [
          { FeatureName: 'id', ValueAsString: 'r' },
          { FeatureName: 'event_time', ValueAsString: '2024-01-01T00:00:00Z' },
          { FeatureName: 'amount', ValueAsString: '7' },
        ],
      })
    );
    const before = await t.sagemaker.send(
      new DescribeFeatureGroupCommand({ FeatureGroupName: 'durable' })
    );
    t = await t.restart();
    const after = await t.sagemaker.send(
      new DescribeFeatureGroupCommand({ FeatureGroupName: 'durable' })
    );
    expect(after).toMatchObject({
      FeatureGroupArn: before.FeatureGroupArn,
      CreationTime: before.CreationTime,
      FeatureDefinitions: before.FeatureDefinitions,
      OfflineStoreConfig: before.OfflineStoreConfig,
    });
    const got = await t.runtime.send(
      new GetRecordCommand({ FeatureGroupName: 'durable', RecordIdentifierValueAsString: 'r' })
    );
    expect(got.Record?.find((f) => f.FeatureName === 'amount')?.ValueAsString).toBe('7');
  });
});

describe('lifecycle (creatingMs)', () => {
  let slow: TestStore;

  beforeAll(async () => {
    // Long enough that a loaded machine still sees the Creating state.
    slow = await startTestStore({ creatingMs: 2000 });
  });

  afterAll(async () => {
    await slow.close();
  });

  const record = (id: string) => [
    { FeatureName: 'id', ValueAsString: id },
    { FeatureName: 'event_time', ValueAsString: new Date().toISOString() },
  ];

  it('keeps a new group Creating, refusing records, until it is Created; the waiter waits for it', async () => {
    await slow.sagemaker.send(
      new CreateFeatureGroupCommand({
        FeatureGroupName: 'young',
        RecordIdentifierFeatureName: 'id',
        EventTimeFeatureName: 'event_time',
        FeatureDefinitions: [
          { FeatureName: 'id', FeatureType: 'String' },
          { FeatureName: 'event_time', FeatureType: 'String' },
        ],
        OnlineStoreConfig: { EnableOnlineStore: true },
      })
    );
    const creating = await slow.sagemaker.send(
      new DescribeFeatureGroupCommand({ FeatureGroupName: 'young' })
    );
    expect(creating.FeatureGroupStatus).toBe('Creating');
    const listed = await slow.sagemaker.send(
      new ListFeatureGroupsCommand({ FeatureGroupStatusEquals: 'Creating' })
    );
    expect(listed.FeatureGroupSummaries?.map((g) => g.FeatureGroupName)).toEqual(['young']);
    // Client code that does not wait fails, as it would on AWS.
    const early = await slow.runtime
      .send(new PutRecordCommand({ FeatureGroupName: 'young', Record: record('a') }))
      .then(
        () => undefined,
        (e: Error) => e
      );
    expect(early?.name).toBe('ValidationError');
    expect(early?.message).toMatch(/FeatureGroup \[young\] is not ready: .* Creating/);
    await expect(
      slow.runtime.send(
        new GetRecordCommand({ FeatureGroupName: 'young', RecordIdentifierValueAsString: 'a' })
      )
    ).rejects.toBeInstanceOf(RuntimeResourceNotFound);
    // Act
    await waitUntilFeatureGroupCreated(slow.sagemaker, 'young');
    // Assess
    const created = await slow.sagemaker.send(
      new DescribeFeatureGroupCommand({ FeatureGroupName: 'young' })
    );
    expect(created.FeatureGroupStatus).toBe('Created');
    await slow.runtime.send(
      new PutRecordCommand({ FeatureGroupName: 'young', Record: record('a') })
    );
  });

  it('ensureFeatureGroups returns only once every group it created is Created', async () => {
    // Act
    const result = await ensureFeatureGroups(slow.sagemaker, [cards, merchants], {
      offlineS3Uri: 's3://local-bucket/offline',
      roleArn: 'arn:aws:iam::000000000000:role/feature-store',
    });
    // Assess: records are accepted at once.
    expect(result.created).toEqual(['fraud-cards', 'fraud-merchants']);
    for (const group of [cards, merchants]) {
      await slow.runtime.send(
        new PutRecordCommand({
          FeatureGroupName: group.name,
          Record: [
            { FeatureName: group.recordIdentifier, ValueAsString: 'x-1' },
            { FeatureName: group.eventTime, ValueAsString: new Date().toISOString() },
          ],
        })
      );
    }
  });

  it('surfaces the DescribeFeatureGroup error of a group that does not exist', async () => {
    await expect(
      waitUntilFeatureGroupCreated(slow.sagemaker, 'never-there', { maxWaitTime: 1 })
    ).rejects.toThrow(/Resource Not Found.*\[never-there\]/);
  });
});

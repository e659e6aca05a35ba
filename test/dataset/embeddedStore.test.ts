/**
 * End to end through the embedded store: records written with the real SDK (puts, a re-put at the
 * same event time, a soft delete, a put after the delete, a delete at a put's own event time), the
 * offline store flushed to Parquet by
 * the store itself, then a training set built for those events' times must equal what GetRecord
 * returned at each of them — on both SQL formulations.
 */
import {
  CreateFeatureGroupCommand,
  type CreateFeatureGroupCommandInput,
} from '@aws-sdk/client-sagemaker';
import {
  DeleteRecordCommand,
  GetRecordCommand,
  PutRecordCommand,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntilFeatureGroupCreated } from '../../local/setup/waitForFeatureGroup.ts';
import { buildTrainingSet } from '../../shared/dataset/build.ts';
import { cards } from '../../shared/definitions.ts';
import { quoteString } from '../../shared/offline/dialect.ts';
import { createDuckDbEngine } from '../../shared/offline/duckdb.ts';
import { formatIsoEventTime } from '../../shared/record/eventTime.ts';
import { createFeatureGroupInput } from '../../shared/schema/awsDefinitions.ts';
import { startTestStore, type TestStore } from '../helpers/store.ts';

type Step =
  | { kind: 'put'; card: string; at: number; txn: string; amount: string }
  | { kind: 'delete'; card: string; at: number };

const HOUR = 3_600_000;
const iso = (ms: number): string => formatIsoEventTime(BigInt(ms) * 1_000_000n);

let store: TestStore;
/** Per label (card, time): the features GetRecord returned once every event up to that time was in. */
const expected: { card: string; at: number; txn: string | null; amount: string | null }[] = [];
/** Event time of the first step; the others are hours after it. */
let origin = 0;

beforeAll(async () => {
  store = await startTestStore();
  await store.sagemaker.send(
    new CreateFeatureGroupCommand(
      createFeatureGroupInput(cards, {
        offlineS3Uri: 's3://local-bucket/offline',
        roleArn: 'arn:aws:iam::000000000000:role/feature-store',
      }) as unknown as CreateFeatureGroupCommandInput
    )
  );
  await waitUntilFeatureGroupCreated(store.sagemaker, cards.name);
  // Within the group's 90-day TTL, so GetRecord serves every live record.
  const t = Math.floor((Date.now() - 10 * 24 * HOUR) / 1000) * 1000;
  origin = t;
  const steps: Step[] = [
    { kind: 'put', card: 'c1', at: t, txn: '1', amount: '1.5' },
    { kind: 'put', card: 'c2', at: t + HOUR, txn: '10', amount: '10.25' },
    { kind: 'put', card: 'c1', at: t + 2 * HOUR, txn: '2', amount: '2.5' },
    { kind: 'put', card: 'c1', at: t + 2 * HOUR, txn: '3', amount: '3.5' }, // same event time again
    { kind: 'delete', card: 'c1', at: t + 3 * HOUR },
    { kind: 'put', card: 'c2', at: t + 4 * HOUR, txn: '11', amount: '11.75' },
    { kind: 'put', card: 'c1', at: t + 5 * HOUR + 123, txn: '4', amount: '4.5' }, // back after the delete
    // A delete at the put's own event time: GetRecord keeps serving the put (issue 13 §4), so
    // every label from then on must get the put's values although the marker came later.
    { kind: 'put', card: 'c3', at: t + 6 * HOUR, txn: '30', amount: '30.5' },
    { kind: 'delete', card: 'c3', at: t + 6 * HOUR },
    { kind: 'put', card: 'c2', at: t + 7 * HOUR, txn: '12', amount: '12.5' },
  ];
  const snapshots: { card: string; at: number; txn: string | null; amount: string | null }[] = [];
  for (const step of steps) {
    if (step.kind === 'put') {
      await store.runtime.send(
        new PutRecordCommand({
          FeatureGroupName: cards.name,
          Record: [
            { FeatureName: 'card_id', ValueAsString: step.card },
            { FeatureName: 'event_time', ValueAsString: iso(step.at) },
            { FeatureName: 'txn_count_7d', ValueAsString: step.txn },
            { FeatureName: 'amount_sum_7d', ValueAsString: step.amount },
          ],
        })
      );
    } else {
      await store.runtime.send(
        new DeleteRecordCommand({
          FeatureGroupName: cards.name,
          RecordIdentifierValueAsString: step.card,
          EventTime: iso(step.at),
          DeletionMode: 'SoftDelete',
        })
      );
    }
    // What a reader asking at this moment gets, for both cards.
    for (const card of ['c1', 'c2', 'c3']) {
      const got = await store.runtime.send(
        new GetRecordCommand({ FeatureGroupName: cards.name, RecordIdentifierValueAsString: card })
      );
      const value = (name: string): string | null =>
        got.Record?.find((f) => f.FeatureName === name)?.ValueAsString ?? null;
      snapshots.push({
        card,
        at: step.at,
        txn: value('txn_count_7d'),
        amount: value('amount_sum_7d'),
      });
    }
  }
  // A label at time T sees every event with event time ≤ T: the last snapshot taken at T.
  for (const s of snapshots) {
    const i = expected.findIndex((e) => e.card === s.card && e.at === s.at);
    if (i >= 0) expected[i] = s;
    else expected.push(s);
  }
  await store.store.flush();
});

afterAll(async () => {
  await store.close();
});

describe('training sets over the embedded store', () => {
  for (const strategy of ['asof', 'portable'] as const) {
    it(`equal GetRecord at each event time (${strategy})`, async () => {
      const engine = await createDuckDbEngine({ dataDir: store.dataDir, threads: 1 });
      try {
        const values = expected.map(
          (e, i) => `(${i}, ${quoteString(e.card)}, ${quoteString(iso(e.at))})`
        );
        await engine.execute(
          `CREATE TABLE "labels_in" AS SELECT * FROM (VALUES ${values.join(', ')}) AS v("n", "card_id", "label_time")`
        );
        const out = `${store.dataDir}/train-${strategy}.parquet`;
        const summary = await buildTrainingSet({
          engine,
          labels: { table: '"labels_in"' },
          features: ['fraud-cards.txn_count_7d', 'fraud-cards.amount_sum_7d'],
          labelTimeColumn: 'label_time',
          output: { path: out },
          strategy,
        });
        const { rows } = await engine.queryAll(
          `SELECT "card_id", "fraud-cards.txn_count_7d" AS "txn", "fraud-cards.amount_sum_7d" AS "amount" FROM read_parquet(${quoteString(out)})`
        );
        expect(
          rows.map((r) => ({
            card: r.card_id,
            txn: r.txn === null ? null : String(r.txn),
            amount: r.amount === null ? null : String(r.amount),
          }))
        ).toEqual(expected.map((e) => ({ card: e.card, txn: e.txn, amount: e.amount })));
        // The delete is seen: c1 has no features at the delete's time.
        expect(expected.some((e) => e.card === 'c1' && e.txn === null)).toBe(true);
        // The tie: c3 keeps the put at and after the delete of equal event time.
        const c3 = expected.filter((e) => e.card === 'c3' && e.at >= origin + 6 * HOUR);
        expect(c3.map((e) => e.txn)).toEqual(['30', '30']);
        expect(summary.labelsWithoutFeatures['fraud-cards']).toBe(
          expected.filter((e) => e.txn === null).length
        );
      } finally {
        await engine.close();
      }
    });
  }
});

/**
 * Hostile Kinesis batches through the bundled handler against the embedded store, with derived
 * features on (the deployed default) and off: two records sharing a sequence number (Kinesis
 * never delivers that within a shard's batch, but a hand-made, merged or replayed event can; the
 * partial batch response and the derived plan know a record by its sequence number, so the
 * second must neither vanish nor replace the first), a record whose JSON nests deeper than any
 * record can (it must be dead-lettered, not block its shard), and a batch that is all poison.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transactions } from '../../shared/definitions.ts';
import { getOnlineRecord } from '../../shared/store/onlineReader.ts';
import {
  jsonRecord,
  kinesisEvent,
  kinesisRecord,
  kplAggregatedData,
  lambdaContext,
  transaction,
} from '../helpers/kinesisEvents.ts';
import { offlineRows } from '../helpers/offlineRows.ts';
import { type IngestFixture, startIngestFixture } from './fixture.ts';

describe.each(['on', 'off'])('Ingest function with DERIVED_FEATURES=%s', (derived) => {
  let fx: IngestFixture;
  beforeAll(async () => {
    fx = await startIngestFixture({ DERIVED_FEATURES: derived });
  });
  afterAll(async () => {
    await fx?.close();
  });

  async function online(id: string) {
    return (await getOnlineRecord(fx.store.runtime, transactions, id, undefined))?.values;
  }

  it('writes the first of two records sharing a sequence number and dead-letters the other, naming both', async () => {
    // Prepare
    const first = jsonRecord(transaction(`first-${derived}`));
    const second = jsonRecord(transaction(`second-${derived}`), {
      sequenceNumber: first.kinesis.sequenceNumber,
      partitionKey: 'pk-second',
    });
    const after = jsonRecord(transaction(`after-${derived}`));
    // Act
    const response = await fx.handler(kinesisEvent([first, second, after]), lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect((await online(`first-${derived}`))?.transaction_id).toBe(`first-${derived}`);
    expect((await online(`after-${derived}`))?.transaction_id).toBe(`after-${derived}`);
    expect(await online(`second-${derived}`)).toBeUndefined();
    const letters = fx.deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      stage: 'batch',
      kinesis: { sequenceNumber: first.kinesis.sequenceNumber, partitionKey: 'pk-second' },
      payload: { data: second.kinesis.data },
    });
    expect(letters[0]?.reason).toContain(
      `repeats the sequence number ${first.kinesis.sequenceNumber} of record 0 of the batch with other data`
    );
  });

  it('writes a record delivered twice in one batch (same sequence number, same data) once', async () => {
    // Prepare
    const once = jsonRecord(transaction(`twice-${derived}`));
    const lettersBefore = fx.deadLetters().length;
    // Act
    const response = await fx.handler(kinesisEvent([once, { ...once }]), lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect((await online(`twice-${derived}`))?.transaction_id).toBe(`twice-${derived}`);
    expect(fx.deadLetters()).toHaveLength(lettersBefore);
    // Once: a second write of the copy leaves online as it was, but adds an offline row.
    await fx.store.store.flush();
    const rows = await offlineRows(fx.store.store.offlineDataPath('fraud-transactions'));
    expect(rows.filter((r) => r.transaction_id === `twice-${derived}`)).toHaveLength(1);
  });

  it('dead-letters a record whose JSON nests thousands of levels deep (10 KB) and writes the rest', async () => {
    // Prepare: valid JSON that JSON.parse reads, in a field no group defines.
    const depth = 5_000;
    const text = `{"transaction_id":"deep-${derived}","x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const deep = kinesisRecord(Buffer.from(text, 'utf8').toString('base64'));
    const after = jsonRecord(transaction(`after-deep-${derived}`));
    const lettersBefore = fx.deadLetters().length;
    // Act
    const response = await fx.handler(kinesisEvent([deep, after]), lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect((await online(`after-deep-${derived}`))?.transaction_id).toBe(`after-deep-${derived}`);
    const letters = fx.deadLetters().slice(lettersBefore);
    expect(letters).toMatchObject([
      {
        stage: 'parse',
        kinesis: { sequenceNumber: deep.kinesis.sequenceNumber },
        payload: { data: deep.kinesis.data },
      },
    ]);
    expect(letters[0]?.reason).toMatch(/^data nests deeper than 64 levels: \(data\)/);
  });

  it('dead-letters every record of a batch that is all poison, each with its own stage, and reports none', async () => {
    // Prepare: what a misconfigured producer sends; nothing here may be retried (it never heals).
    const records = [
      kinesisRecord(kplAggregatedData([transaction(`kpl-${derived}`)])),
      kinesisRecord(Buffer.from('not json', 'utf8').toString('base64')),
      jsonRecord([transaction(`array-${derived}`)]),
      jsonRecord(null),
      jsonRecord({ featureGroup: 'fraud-unknown', record: transaction(`unknown-${derived}`) }),
      jsonRecord(transaction(`no-time-${derived}`, { event_time: undefined })),
    ];
    const lettersBefore = fx.deadLetters().length;
    // Act
    const response = await fx.handler(kinesisEvent(records), lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const letters = fx.deadLetters().slice(lettersBefore);
    expect(
      records.map(
        (r) => letters.find((l) => l.kinesis.sequenceNumber === r.kinesis.sequenceNumber)?.stage
      )
    ).toEqual(['decode', 'parse', 'parse', 'parse', 'route', 'validate']);
  });
});

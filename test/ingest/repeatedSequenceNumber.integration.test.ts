/**
 * A Kinesis event in which two records carry the same sequence number, through the bundled
 * handler against the embedded store, with derived features on (the deployed default) and off.
 * Kinesis never delivers that within a shard's batch, but a hand-made, merged or replayed event
 * can; the partial batch response and the derived plan know a record by its sequence number,
 * so the second record must neither vanish nor replace the first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transactions } from '../../shared/definitions.ts';
import { getOnlineRecord } from '../../shared/store/onlineReader.ts';
import { jsonRecord, kinesisEvent, lambdaContext, transaction } from '../helpers/kinesisEvents.ts';
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
  });
});

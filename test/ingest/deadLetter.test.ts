// calendar-fixed: dead letters built with an injected clock.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readIngestConfig } from '../../shared/ingest/config.ts';
import {
  buildDeadLetter,
  type DeadLetter,
  deadLetteredLogFields,
  deadLetterPayloadBytes,
  serializeDeadLetter,
} from '../../shared/ingest/deadLetter.ts';
import { FileDeadLetterSink, SqsDeadLetterSink } from '../../shared/ingest/deadLetterSinks.ts';
import { IngestStage, rejection } from '../../shared/ingest/errors.ts';
import { kinesisSourceOf } from '../../shared/ingest/kinesisRecord.ts';
import { parseIngestPayload } from '../../shared/ingest/payload.ts';
import { registry } from '../../shared/registry.ts';
import { ConfigurationError } from '../../shared/runtime/env.ts';
import { jsonData, kinesisRecord, transaction } from '../helpers/kinesisEvents.ts';

const rejected = rejection(IngestStage.Parse, 'data is not valid JSON', [
  { feature: '(data)', value: '{', reason: 'Unexpected end of JSON input' },
]);

function letterOf(data: string): DeadLetter {
  return buildDeadLetter(
    data,
    kinesisSourceOf(kinesisRecord(data)),
    rejected,
    new Date('2026-11-26T12:00:00Z')
  );
}

describe('Function: serializeDeadLetter()', () => {
  it('keeps the payload as received when the letter fits', () => {
    // Prepare
    const data = jsonData({ a: 1 });
    // Act
    const text = serializeDeadLetter(letterOf(data), 1_048_576);
    // Assess
    expect(JSON.parse(text)).toMatchObject({
      reason: 'data is not valid JSON: (data)="{": Unexpected end of JSON input',
      payload: { encoding: 'base64', data, bytes: 7, truncated: false },
    });
  });

  it('gzips a payload too large for the queue and the redrive gets the exact bytes back', () => {
    // Prepare: 600 KB of compressible JSON.
    const original = Buffer.from(JSON.stringify({ text: 'abc'.repeat(200_000) }));
    const letter = letterOf(original.toString('base64'));
    // Act
    const text = serializeDeadLetter(letter, 262_144);
    const parsed = JSON.parse(text) as DeadLetter;
    // Assess
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(262_144);
    expect(parsed.payload.encoding).toBe('gzip+base64');
    expect(deadLetterPayloadBytes(parsed).equals(original)).toBe(true);
  });

  it('truncates an incompressible payload, keeping the reason, source and SHA-256', () => {
    // Prepare
    const random = Buffer.from(
      Array.from({ length: 300_000 }, () => Math.floor(Math.random() * 256))
    );
    const letter = letterOf(random.toString('base64'));
    // Act
    const text = serializeDeadLetter(letter, 262_144);
    const parsed = JSON.parse(text) as DeadLetter;
    // Assess
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(262_144);
    expect(parsed.payload).toMatchObject({
      truncated: true,
      bytes: 300_000,
      sha256: letter.payload.sha256,
    });
    expect(parsed.kinesis.sequenceNumber).toBe(letter.kinesis.sequenceNumber);
    expect(() => deadLetterPayloadBytes(parsed)).toThrow(
      /was truncated; re-read it from the stream/
    );
  });

  it('escapes U+FFFE and U+FFFF, which SQS refuses, and stays valid JSON', () => {
    // Prepare
    const letter = { ...letterOf('AAAA'), reason: 'bad \uffff value \ufffe' };
    // Act
    const text = serializeDeadLetter(letter, 1_048_576);
    // Assess
    expect(text).not.toMatch(/[\ufffe\uffff]/);
    expect((JSON.parse(text) as DeadLetter).reason).toBe('bad \uffff value \ufffe');
  });
});

describe('Function: deadLetteredLogFields()', () => {
  /** The letter ingest writes for `record` refused at validation. */
  function refused(record: Record<string, unknown>): DeadLetter {
    const data = jsonData(record);
    const parsed = parseIngestPayload(data, {
      registry,
      defaultFeatureGroup: 'fraud-transactions',
    });
    if (parsed.ok) throw new Error('expected a rejection');
    return buildDeadLetter(data, kinesisSourceOf(kinesisRecord(data)), parsed.rejection);
  }

  it('names the record by its identifier, as the dead letter does, so the log line finds it', () => {
    // Prepare
    const letter = refused(transaction('tx-log-1', { amount: 'NaN' }));
    // Act
    const fields = deadLetteredLogFields(letter, 'queue-url');
    // Assess
    expect(fields).toEqual({
      stage: 'validate',
      reason: letter.reason,
      recordIdentifier: 'tx-log-1',
      deadLetterDestination: 'queue-url',
    });
  });

  it('has no recordIdentifier when the identifier is itself a problem (here a lone surrogate)', () => {
    // Prepare
    const letter = refused(transaction('tx-\ud800'));
    // Act
    const fields = deadLetteredLogFields(letter, 'queue-url');
    // Assess
    expect(letter.recordIdentifier).toBeNull();
    expect(fields).toEqual({
      stage: 'validate',
      reason: letter.reason,
      deadLetterDestination: 'queue-url',
    });
  });

  it('has no recordIdentifier when the payload never got as far as naming one', () => {
    expect(deadLetteredLogFields(letterOf(jsonData({ a: 1 })), 'dir')).toEqual({
      stage: 'parse',
      reason: 'data is not valid JSON: (data)="{": Unexpected end of JSON input',
      deadLetterDestination: 'dir',
    });
  });
});

describe('Class: SqsDeadLetterSink', () => {
  const sqs = mockClient(SQSClient);
  beforeEach(() => {
    sqs.reset();
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
      Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })),
      Failed: [],
    }));
  });

  it('keeps every SendMessageBatch under 1 MiB in total', async () => {
    // Prepare: three letters of ~400 KB each.
    const letters = [1, 2, 3].map((i) =>
      letterOf(
        Buffer.from(Array.from({ length: 300_000 }, (_, j) => (i * j * 7919) % 251)).toString(
          'base64'
        )
      )
    );
    const sink = new SqsDeadLetterSink({ client: new SQSClient({}), queueUrl: 'https://q' });
    // Act
    const results = await sink.deliver(letters);
    // Assess
    expect(results).toEqual([undefined, undefined, undefined]);
    const batches = sqs
      .commandCalls(SendMessageBatchCommand)
      .map((c) => c.args[0].input.Entries ?? []);
    expect(batches.map((b) => b.length)).toEqual([2, 1]);
    for (const batch of batches) {
      const bytes = batch.reduce((sum, e) => sum + Buffer.byteLength(e.MessageBody ?? ''), 0);
      expect(bytes).toBeLessThanOrEqual(1_048_576);
    }
  });

  it('reports an entry neither Successful nor Failed as undelivered', async () => {
    // Prepare
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const sink = new SqsDeadLetterSink({ client: new SQSClient({}), queueUrl: 'https://q' });
    // Act
    const results = await sink.deliver([letterOf('AAAA')]);
    // Assess
    expect(results[0]?.message).toBe('SQS did not acknowledge the dead letter');
  });
});

describe('Class: FileDeadLetterSink', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'skewless-dlq-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('appends one JSON line per letter to ingest-YYYY-MM-DD.jsonl, creating the directory', async () => {
    // Prepare
    const sink = new FileDeadLetterSink({
      dir: join(dir, 'nested'),
      now: () => new Date('2026-11-26T23:59:59Z'),
    });
    // Act
    const first = await sink.deliver([letterOf('AAAA'), letterOf('BBBB')]);
    const second = await sink.deliver([letterOf('CCCC')]);
    // Assess
    expect([...first, ...second]).toEqual([undefined, undefined, undefined]);
    const lines = readFileSync(join(dir, 'nested', 'ingest-2026-11-26.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(lines.map((l) => (JSON.parse(l) as DeadLetter).payload.data)).toEqual([
      'AAAA',
      'BBBB',
      'CCCC',
    ]);
  });

  it('reports every letter undelivered when the file cannot be written', async () => {
    // Prepare: a file where the directory should be.
    const sink = new FileDeadLetterSink({ dir: join('/dev/null', 'dead-letters') });
    // Act
    const results = await sink.deliver([letterOf('AAAA')]);
    // Assess
    expect(results[0]?.name).toBe('DeadLetterDeliveryError');
  });
});

describe('Function: readIngestConfig()', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('reads the defaults with a local dead-letter directory', () => {
    // Prepare
    vi.stubEnv('DEAD_LETTER_DIR', '.skewless/dead-letters');
    vi.stubEnv('DEFAULT_FEATURE_GROUP', 'fraud-transactions');
    // Act
    const config = readIngestConfig();
    // Assess
    expect(config).toEqual({
      defaultFeatureGroup: 'fraud-transactions',
      concurrency: 32,
      maxAttempts: 3,
      retryBaseDelayMs: undefined,
      deadlineMarginMs: 2000,
      deadLetter: { kind: 'file', dir: '.skewless/dead-letters' },
      maxEventTimeSkewSeconds: 300,
    });
  });

  it('reads MAX_EVENT_TIME_SKEW_SECONDS', () => {
    vi.stubEnv('DEAD_LETTER_DIR', 'x');
    vi.stubEnv('MAX_EVENT_TIME_SKEW_SECONDS', '60');
    expect(readIngestConfig().maxEventTimeSkewSeconds).toBe(60);
  });

  it.each([
    ['neither sink', {}, /exactly one of the environment variables DEAD_LETTER_QUEUE_URL/],
    ['both sinks', { DEAD_LETTER_DIR: 'x', DEAD_LETTER_QUEUE_URL: 'https://q' }, /exactly one/],
    [
      'an unknown default group',
      { DEAD_LETTER_DIR: 'x', DEFAULT_FEATURE_GROUP: 'fraud' },
      /DEFAULT_FEATURE_GROUP="fraud" is not a feature group/,
    ],
    [
      'an internal default group (derived state)',
      { DEAD_LETTER_DIR: 'x', DEFAULT_FEATURE_GROUP: 'fraud-card-state' },
      /DEFAULT_FEATURE_GROUP="fraud-card-state" is not a feature group .*known: fraud-transactions, fraud-cards, fraud-merchants$/,
    ],
    [
      'a concurrency of 0',
      { DEAD_LETTER_DIR: 'x', INGEST_CONCURRENCY: '0' },
      /INGEST_CONCURRENCY="0" must be an integer in \[1, 1024\]/,
    ],
    [
      'a negative event-time skew',
      { DEAD_LETTER_DIR: 'x', MAX_EVENT_TIME_SKEW_SECONDS: '-1' },
      /MAX_EVENT_TIME_SKEW_SECONDS="-1" must be an integer/,
    ],
    [
      'an SQS message limit over 1 MiB',
      { DEAD_LETTER_QUEUE_URL: 'https://q', DEAD_LETTER_MAX_MESSAGE_BYTES: '2000000' },
      /DEAD_LETTER_MAX_MESSAGE_BYTES/,
    ],
  ])('fails fast on %s', (_case, env, message) => {
    // Prepare
    vi.stubEnv('DEAD_LETTER_DIR', '');
    vi.stubEnv('DEAD_LETTER_QUEUE_URL', '');
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    // Act / Assess
    expect(() => readIngestConfig()).toThrow(ConfigurationError);
    expect(() => readIngestConfig()).toThrow(message);
  });
});

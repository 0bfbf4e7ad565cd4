/**
 * The sample events in events/: complete Lambda DynamoDB stream events that index cleanly, each
 * on its own and in order, into an index created by `npm run index:setup`, with no dead-letter
 * bucket (so any rejected or malformed record would show up as a batch item failure); and
 * `kinesis-*.json`, Lambda Kinesis events carrying the same table's changes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Context, DynamoDBStreamEvent, KinesisStreamEvent } from 'aws-lambda';
import { createHandler, createRuntime } from '../../handler';
import { main as setupIndex } from '../../scripts/setup-index';
import { OpenSearchStandIn } from '../support/opensearch-stand-in';
import { ROOT } from './serverless-run';

const EVENTS_DIR = path.join(ROOT, 'events');
const ALL_FILES = readdirSync(EVENTS_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
const FILES = ALL_FILES.filter((f) => !f.startsWith('kinesis-'));
const KINESIS_FILES = ALL_FILES.filter((f) => f.startsWith('kinesis-'));
const SEQUENCE = [
  'insert.json',
  'modify.json',
  'mixed-batch.json',
  'remove.json',
  'ttl-remove.json',
];

function load(file: string): DynamoDBStreamEvent {
  return JSON.parse(readFileSync(path.join(EVENTS_DIR, file), 'utf8')) as DynamoDBStreamEvent;
}

const context = {
  awsRequestId: 'events-test',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

let standIn: OpenSearchStandIn;
beforeAll(async () => {
  standIn = await OpenSearchStandIn.start({ auth: 'none' });
});
afterAll(async () => {
  await standIn.close();
});

async function freshIndex(): Promise<Record<string, string>> {
  standIn.reset();
  const env = {
    OPENSEARCH_ENDPOINT: standIn.url,
    OPENSEARCH_AUTH: 'none',
    KEY_ATTRIBUTES: 'userId,transactionId',
  };
  const out: string[] = [];
  expect(
    await setupIndex(
      [],
      env,
      (l) => out.push(l),
      (l) => out.push(l),
    ),
  ).toBe(0);
  return { ...env, LOG_LEVEL: 'error' };
}

describe('events/', () => {
  it('has the five documented stream files and the four Kinesis files', () => {
    expect(FILES).toEqual([...SEQUENCE].sort());
    expect(KINESIS_FILES).toEqual([
      'kinesis-duplicate.json',
      'kinesis-malformed.json',
      'kinesis-microseconds.json',
      'kinesis-milliseconds.json',
    ]);
  });

  it.each(FILES)('%s is a complete NEW_AND_OLD_IMAGES stream event', (file) => {
    // Arrange
    const { Records } = load(file);
    let previous = 0n;

    // Assert
    expect(Records.length).toBeGreaterThan(0);
    for (const r of Records) {
      expect(r).toMatchObject({
        eventID: expect.stringMatching(/^[0-9a-f]{32}$/),
        eventName: expect.stringMatching(/^(INSERT|MODIFY|REMOVE)$/),
        eventVersion: '1.1',
        eventSource: 'aws:dynamodb',
        awsRegion: 'eu-central-1',
        eventSourceARN: expect.stringMatching(
          /^arn:aws:dynamodb:eu-central-1:\d{12}:table\/UsersTransactions\/stream\//,
        ),
      });
      const d = r.dynamodb!;
      expect(d.StreamViewType).toBe('NEW_AND_OLD_IMAGES');
      expect(Number.isInteger(d.ApproximateCreationDateTime)).toBe(true);
      expect(d.ApproximateCreationDateTime).toBeLessThan(1e10); // seconds, not milliseconds
      expect(d.SequenceNumber).toMatch(/^\d{21,40}$/);
      expect(BigInt(d.SequenceNumber!)).toBeGreaterThan(previous);
      previous = BigInt(d.SequenceNumber!);
      expect(d.SizeBytes).toBeGreaterThan(0);
      expect(Object.keys(d.Keys!).sort()).toEqual(['transactionId', 'userId']);
      // The images the view type gives for each event.
      expect(d.NewImage !== undefined).toBe(r.eventName !== 'REMOVE');
      expect(d.OldImage !== undefined).toBe(r.eventName !== 'INSERT');
    }
  });

  it.each(FILES)('%s indexes cleanly on its own, without a dead-letter bucket', async (file) => {
    // Arrange
    const env = await freshIndex();
    const handler = createHandler(() => createRuntime(env));

    // Act
    const response = await handler(load(file), context);

    // Assert
    expect(response).toEqual({ batchItemFailures: [] });
    expect(standIn.items.filter((i) => i.status >= 400 && i.status !== 404)).toEqual([]);
  });

  it('leaves the index as the table would be after all of them, in order', async () => {
    // Arrange
    const env = await freshIndex();
    const handler = createHandler(() => createRuntime(env));

    // Act
    for (const file of SEQUENCE) {
      expect(await handler(load(file), context)).toEqual({ batchItemFailures: [] });
    }

    // Assert
    const docs = standIn.readIndex('transactions').docs;
    expect([...docs.keys()].sort()).toEqual(['12|3', '1|1001', '1|23', '2|2001']);
    expect(JSON.parse(docs.get('1|23')!.rawSource)).toMatchObject({
      amount: 23.01,
      shortDescription: 'Key (1, 23), amended',
    });
    expect(JSON.parse(docs.get('2|2001')!.rawSource)).toMatchObject({
      shortDescription: 'Re-booked after refund',
    });
    // Digits the table holds survive into the stored source.
    const rich = docs.get('1|1001')!.rawSource;
    expect(rich).toContain('"ledgerSequence":9007199254740993');
    expect(rich).toContain('"exchangeRate":3.14159265358979323846');
    expect(standIn.readIndex('transactions').mapping).toMatchObject({
      properties: {
        amount: { type: 'scaled_float', scaling_factor: 100 },
        userId: { type: 'long' },
      },
    });
  });
});

interface KinesisSample {
  readonly Records: Array<{
    eventSource: string;
    eventID: string;
    kinesis: { sequenceNumber: string; data: string; partitionKey: string };
  }>;
}

function loadKinesis(file: string): KinesisSample {
  return JSON.parse(readFileSync(path.join(EVENTS_DIR, file), 'utf8')) as KinesisSample;
}

/** The DynamoDB change a record carries, or undefined when it carries none. */
function decoded(data: string): Record<string, unknown> | undefined {
  try {
    const change = JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as unknown;
    return (change as { eventSource?: unknown }).eventSource === 'aws:dynamodb'
      ? (change as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

describe('events/kinesis-*.json', () => {
  it.each(KINESIS_FILES)('%s is a Lambda Kinesis event of DynamoDB changes', (file) => {
    // Arrange
    const { Records } = loadKinesis(file);
    let previous = 0n;

    // Assert
    for (const r of Records) {
      expect(r.eventSource).toBe('aws:kinesis');
      expect(r.kinesis.sequenceNumber).toMatch(/^\d{56}$/);
      expect(r.eventID).toBe(`shardId-000000000000:${r.kinesis.sequenceNumber}`);
      expect(BigInt(r.kinesis.sequenceNumber)).toBeGreaterThan(previous);
      previous = BigInt(r.kinesis.sequenceNumber);
      const change = decoded(r.kinesis.data);
      if (file === 'kinesis-malformed.json' && change === undefined) continue;
      expect(change).toMatchObject({
        eventName: expect.stringMatching(/^(INSERT|MODIFY|REMOVE)$/),
        recordFormat: 'application/json',
        tableName: 'UsersTransactions',
        eventSource: 'aws:dynamodb',
      });
      const d = change!.dynamodb as Record<string, unknown>;
      expect(d).not.toHaveProperty('SequenceNumber');
      // Milliseconds (13 digits) or microseconds (16 digits), never seconds.
      expect(String(d.ApproximateCreationDateTime)).toMatch(
        file === 'kinesis-milliseconds.json' || file === 'kinesis-malformed.json'
          ? /^\d{13}$/
          : /^\d{16}$/,
      );
    }
  });

  it('kinesis-malformed.json holds exactly two records that are not DynamoDB changes', () => {
    const { Records } = loadKinesis('kinesis-malformed.json');
    expect(Records.map((r) => decoded(r.kinesis.data) === undefined)).toEqual([
      false,
      true,
      true,
      false,
    ]);
  });

  it('kinesis-milliseconds.json leaves the index exactly as mixed-batch.json does', async () => {
    // Arrange
    const read = (): Map<string, string> =>
      new Map(
        [...standIn.readIndex('transactions').docs].map(([id, d]) => [id, d.rawSource] as const),
      );
    let env = await freshIndex();
    await createHandler(() => createRuntime(env))(load('mixed-batch.json'), context);
    const viaStream = read();

    // Act
    env = await freshIndex();
    const response = await createHandler(() => createRuntime(env))(
      loadKinesis('kinesis-milliseconds.json') as unknown as KinesisStreamEvent,
      context,
    );

    // Assert
    expect(response).toEqual({ batchItemFailures: [] });
    expect(read()).toEqual(viaStream);
    expect(viaStream.size).toBeGreaterThan(0);
  });

  it.each([
    {
      file: 'kinesis-microseconds.json',
      amount: 12.5,
      superseded: 'the INSERT delivered after it',
    },
    { file: 'kinesis-duplicate.json', amount: 12.5, superseded: 'a re-delivered INSERT' },
  ])('$file ends with the latest change by time ($superseded loses)', async ({ file, amount }) => {
    // Arrange
    const env = await freshIndex();
    const handler = createHandler(() => createRuntime(env));

    // Act
    const response = await handler(loadKinesis(file) as unknown as KinesisStreamEvent, context);

    // Assert
    expect(response).toEqual({ batchItemFailures: [] });
    const docs = standIn.readIndex('transactions').docs;
    expect([...docs.keys()]).toEqual(['3|51']);
    expect(JSON.parse(docs.get('3|51')!.rawSource)).toMatchObject({ amount });
  });

  it('kinesis-malformed.json without a dead-letter bucket reports its first malformed record', async () => {
    // Arrange
    const env = await freshIndex();
    const event = loadKinesis('kinesis-malformed.json');

    // Act
    const response = await createHandler(() => createRuntime(env))(
      event as unknown as KinesisStreamEvent,
      context,
    );

    // Assert
    expect(response).toEqual({
      batchItemFailures: [{ itemIdentifier: event.Records[1]!.kinesis.sequenceNumber }],
    });
  });
});

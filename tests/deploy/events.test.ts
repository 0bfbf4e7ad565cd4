/**
 * The sample events in events/: complete Lambda DynamoDB stream events that index cleanly, each
 * on its own and in order, into an index created by `npm run index:setup`, with no dead-letter
 * bucket (so any rejected or malformed record would show up as a batch item failure).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { createHandler, createRuntime } from '../../handler';
import { main as setupIndex } from '../../scripts/setup-index';
import { OpenSearchStandIn } from '../support/opensearch-stand-in';
import { ROOT } from './serverless-run';

const EVENTS_DIR = path.join(ROOT, 'events');
const FILES = readdirSync(EVENTS_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
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
  it('has the five documented files', () => {
    expect(FILES).toEqual([...SEQUENCE].sort());
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

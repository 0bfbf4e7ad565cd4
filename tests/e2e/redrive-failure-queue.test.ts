/**
 * `npm run redrive -- failure-queue` end to end: the handler (from source) gives up on batches
 * while the OpenSearch stand-in answers 503 for some documents, the event source mapping simulator
 * discards them after its retries, Lambda's on-failure message for each lands in the SQS
 * stand-in, and the command, with the operator's environment pointing at the stand-ins
 * (SQS, DynamoDB Streams, OpenSearch, S3), reads the ranges back from the stream and puts them in.
 * Run: npx jest tests/e2e/redrive-failure-queue.test.ts
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { documentId } from '../../lib/ids';
import { main, type CliIo } from '../../scripts/redrive';
import {
  DynamoDBStreamsStandIn,
  type StreamRecordInput,
} from '../support/dynamodb-streams-stand-in';
import { npmRun } from '../support/npm-run';
import { E2eHarness, resolveTarget } from '../support/harness';
import { KinesisShard, kinesisSequenceNumber } from '../support/kinesis-shard';
import { KinesisStandIn } from '../support/kinesis-stand-in';
import {
  kinesisOnFailureMessage,
  onFailureMessage,
  type BatchRecord,
  type KinesisBatchRecord,
} from '../support/lambda-on-failure';
import { SqsStandIn } from '../support/sqs-stand-in';
import { compareDocument, TableModel, USERS_TRANSACTIONS } from '../support/table-model';
import { runKinesis } from './kinesis-scenarios';
import { DEFAULT_ESM, runStream } from './scenarios';

const KEY_ATTRIBUTES = 'userId,transactionId';
const QUEUE = 'indexer-dev-failures';

/** The model's records as the table's stream holds them (same sequence numbers and times). */
function streamInputs(records: readonly DynamoDBRecord[]): StreamRecordInput[] {
  return records.map((r) => {
    const d = r.dynamodb as Record<string, unknown>;
    return {
      eventName: r.eventName as StreamRecordInput['eventName'],
      Keys: d.Keys as StreamRecordInput['Keys'],
      ...(d.NewImage ? { NewImage: d.NewImage as StreamRecordInput['Keys'] } : {}),
      ...(d.OldImage ? { OldImage: d.OldImage as StreamRecordInput['Keys'] } : {}),
      SequenceNumber: d.SequenceNumber as string,
      ApproximateCreationDateTime: d.ApproximateCreationDateTime as number,
      ...(r.userIdentity
        ? { userIdentity: r.userIdentity as { type: string; principalId: string } }
        : {}),
    };
  });
}

function capture(): CliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    lines,
    errors,
    out: (line) => lines.push(line),
    err: (line) => errors.push(line),
    progress: undefined,
  };
}

const redriveChild = (args: readonly string[], env: Record<string, string | undefined>) =>
  npmRun('redrive', args, env);

describe('npm run redrive -- failure-queue (against the stand-ins)', () => {
  let h: E2eHarness;
  let sqs: SqsStandIn;
  let streams: DynamoDBStreamsStandIn;
  let kinesis: KinesisStandIn;
  beforeAll(async () => {
    h = await E2eHarness.start({ target: resolveTarget('source') });
    sqs = await SqsStandIn.start({ region: h.region });
    streams = await DynamoDBStreamsStandIn.start({ region: h.region });
    kinesis = await KinesisStandIn.start();
  });
  afterAll(async () => {
    await kinesis?.close();
    await sqs?.close();
    await streams?.close();
    await h?.close();
  });

  /** The operator's environment: the Lambda's, plus the queue and the local endpoints. */
  function operatorEnv(queueUrl: string): Record<string, string> {
    return {
      ...h.baseEnv(),
      KEY_ATTRIBUTES,
      FAILURE_QUEUE_URL: queueUrl,
      AWS_ENDPOINT_URL_SQS: sqs.url,
      AWS_ENDPOINT_URL_DYNAMODB_STREAMS: streams.url,
      AWS_ENDPOINT_URL_KINESIS: kinesis.url,
    };
  }

  /** A stream of the model's table holding `records`; returns its ARN and shard. */
  function tableStream(records: readonly DynamoDBRecord[]): { arn: string; shardId: string } {
    const arn = streams.addStream(USERS_TRANSACTIONS.tableName);
    const [shardId] = streams.shardIds(arn) as [string];
    streams.putRecords(arn, streamInputs(records), shardId);
    return { arn, shardId };
  }

  function enqueue(
    queueUrl: string,
    arn: string,
    shardId: string,
    records: readonly DynamoDBRecord[],
  ): void {
    const message = onFailureMessage({
      streamArn: arn,
      shardId,
      records: records as unknown as BatchRecord[],
    });
    sqs.send(queueUrl.slice(queueUrl.lastIndexOf('/') + 1), JSON.stringify(message));
  }

  it('re-drives the batches Lambda gave up on, never over a newer document, and deletes their messages', async () => {
    // Prepare: 12 items in batches of 4; the cluster answers 503 for 9|1 and 9|6 until the
    // mapping gives up on their batches (one retry), so their ranges go to the on-failure queue.
    await h.newScenario();
    await h.createIndex({});
    const queueUrl = sqs.createQueue(`${QUEUE}-1`);
    const t = new TableModel(USERS_TRANSACTIONS, { seed: 23 });
    for (let i = 0; i < 12; i++) {
      t.put({
        userId: { N: '9' },
        transactionId: { N: String(i) },
        shortDescription: { S: `first ${i}` },
      });
    }
    t.tick();
    t.delete({ userId: { N: '9' }, transactionId: { N: '7' } });
    const failing = await runStream(h, t.records, [], {
      env: { KEY_ATTRIBUTES },
      esm: { batchSize: 4, maximumRetryAttempts: 1, timeoutMs: 2500 },
      arm: () => h.standIn.faults.failItems({ ids: ['9|1', '9|6'], status: 503, times: 1000 }),
    });
    expect(failing.sim.onFailure.length).toBeGreaterThanOrEqual(2);
    // Later, the cluster is back and 9|1 changes again: the index holds that newer document.
    h.standIn.faults.reset();
    const before = t.records.length;
    t.tick();
    t.update(
      { userId: { N: '9' }, transactionId: { N: '1' } },
      { set: { shortDescription: { S: 'newer' } } },
    );
    const later = t.records.slice(before);
    await runStream(h, later, [], { env: { KEY_ATTRIBUTES } });
    h.restoreEnv();
    const newer = (await h.readIndex()).get('9|1');
    expect(newer && JSON.parse(newer.rawSource)).toMatchObject({ shortDescription: 'newer' });
    const { arn, shardId } = tableStream(t.records);
    for (const lost of failing.sim.onFailure) enqueue(queueUrl, arn, shardId, lost.records);
    const indexBefore = await h.readIndex();
    const missing = t.finalItems().filter(({ keys }) => {
      return !indexBefore.has(documentId(keys, ['userId', 'transactionId']));
    });
    expect(missing.length).toBeGreaterThan(0);
    const io = capture();

    // Act
    const code = await main(['failure-queue'], operatorEnv(queueUrl), io);

    // Assert: everything is in, the newer 9|1 untouched, every message deleted.
    expect({ code, lines: io.lines, errors: io.errors }).toMatchObject({ code: 0, errors: [] });
    const index = await h.readIndex();
    for (const { keys, item } of t.finalItems()) {
      const doc = index.get(documentId(keys, ['userId', 'transactionId']));
      expect(doc && compareDocument(item, doc.rawSource)).toBeNull();
    }
    expect(index.size).toBe(t.finalItems().length);
    expect(index.get('9|1')).toEqual(newer);
    expect(sqs.messages(`${QUEUE}-1`)).toEqual([]);
    expect(sqs.counts()).toMatchObject({ DeleteMessage: failing.sim.onFailure.length });
    expect(streams.counts()).toMatchObject({ GetShardIterator: failing.sim.onFailure.length });
    expect(io.lines[io.lines.length - 1]).toMatch(
      new RegExp(`${failing.sim.onFailure.length} re-driven and deleted`),
    );
    expect(io.lines[io.lines.length - 1]).toMatch(/[1-9]\d* already newer/);

    // Running it again finds an empty queue.
    const again = await main(['failure-queue'], operatorEnv(queueUrl), capture());
    expect(again).toBe(0);
    expect(await h.readIndex()).toEqual(index);
  }, 180_000);

  it('dead-letters a record the index rejects to the bucket the Lambda uses, then deletes the message', async () => {
    // Prepare
    await h.newScenario();
    await h.createIndex({});
    const queueUrl = sqs.createQueue(`${QUEUE}-2`);
    const t = new TableModel(USERS_TRANSACTIONS, { seed: 5 });
    t.put({ userId: { N: '4' }, transactionId: { N: '1' }, shortDescription: { S: 'fine' } });
    t.put({ userId: { N: '4' }, transactionId: { N: '2' }, shortDescription: { S: 'poison' } });
    const { arn, shardId } = tableStream(t.records);
    enqueue(queueUrl, arn, shardId, t.records);
    h.standIn.faults.poison((item) => item.rawSource?.includes('poison') ?? false);

    // Act
    const code = await main(['failure-queue'], operatorEnv(queueUrl), capture());

    // Assert
    expect(code).toBe(0);
    const letters = h.deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]!.key).toMatch(/^dead-letter\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/\d+-\w+\.json$/);
    expect(letters[0]!.letters[0]!.raw).toMatchObject({
      errorType: 'mapper_parsing_exception',
      source: 'dynamodb',
      documentId: '4|2',
      record: {
        dynamodb: {
          SequenceNumber: (t.records[1]!.dynamodb as { SequenceNumber: string }).SequenceNumber,
        },
      },
    });
    expect([...(await h.readIndex()).keys()]).toEqual(['4|1']);
    expect(sqs.messages(`${QUEUE}-2`)).toEqual([]);
  }, 60_000);

  it('writes nothing in a dry run and leaves every message visible', async () => {
    // Prepare
    await h.newScenario();
    await h.createIndex({});
    const queueUrl = sqs.createQueue(`${QUEUE}-3`);
    const t = new TableModel(USERS_TRANSACTIONS, { seed: 6 });
    for (let i = 0; i < 3; i++) t.put({ userId: { N: '5' }, transactionId: { N: String(i) } });
    const { arn, shardId } = tableStream(t.records);
    enqueue(queueUrl, arn, shardId, t.records.slice(0, 2));
    enqueue(queueUrl, arn, shardId, t.records.slice(2));
    const io = capture();

    // Act
    const code = await main(['failure-queue', '--dry-run'], operatorEnv(queueUrl), io);

    // Assert
    expect(code).toBe(1);
    expect((await h.readIndex()).size).toBe(0);
    expect(h.standIn.requests.filter((r) => r.path.endsWith('_bulk'))).toEqual([]);
    expect(h.s3.list(h.bucket)).toEqual([]);
    const left = sqs.messages(`${QUEUE}-3`);
    expect(left).toHaveLength(2);
    expect(left.every((m) => m.invisibleUntil <= Date.now())).toBe(true);
    expect(io.lines.filter((l) => l.startsWith('would-redrive'))).toHaveLength(2);
    expect(io.lines[io.lines.length - 1]).toMatch(/^dry run: .*2 messages: 2 would be re-driven/);
  }, 60_000);

  it('as a user types it: reports an aged-out range with the backfill command, keeps it and a malformed message, re-drives the rest', async () => {
    // Prepare: one shard; the first batch's records aged out (trimmed), the second's did not.
    await h.newScenario();
    await h.createIndex({});
    const queueUrl = sqs.createQueue(`${QUEUE}-4`);
    const t = new TableModel(USERS_TRANSACTIONS, { seed: 7 });
    for (let i = 1; i <= 3; i++) t.put({ userId: { N: '6' }, transactionId: { N: String(i) } });
    const { arn, shardId } = tableStream(t.records);
    const third = (t.records[2]!.dynamodb as { SequenceNumber: string }).SequenceNumber;
    streams.trim(arn, { below: third });
    enqueue(queueUrl, arn, shardId, t.records.slice(0, 2));
    sqs.send(`${QUEUE}-4`, 'this is not an on-failure message');
    enqueue(queueUrl, arn, shardId, t.records.slice(2));

    // Act
    const result = await redriveChild(['failure-queue'], {
      ...process.env,
      ...operatorEnv(queueUrl),
    });

    // Assert
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toMatchObject({
      code: 1,
    });
    expect(result.stdout).toMatch(/^aged-out .*TrimmedDataAccessException/m);
    expect(result.stdout).toContain('repair: npm run backfill -- --table UsersTransactions');
    expect(result.stdout).toMatch(/^malformed .*not JSON/m);
    expect(result.stdout).toMatch(
      /1 re-driven and deleted, .*1 aged out, 0 unreadable, 1 malformed/,
    );
    expect([...(await h.readIndex()).keys()]).toEqual(['6|3']);
    const left = sqs.messages(`${QUEUE}-4`);
    expect(left.map((m) => m.body.includes('DDBStreamBatchInfo'))).toEqual([true, false]);
    expect(left.every((m) => m.invisibleUntil <= Date.now())).toBe(true);
  }, 120_000);

  it('re-drives Kinesis ranges (KinesisBatchInfo) from the data stream, never over a newer document', async () => {
    // Prepare: the table streams into Kinesis; the cluster answers 503 for 12|2 and 12|5 until
    // the mapping gives up on their batches.
    await h.newScenario();
    await h.createIndex({});
    const queueUrl = sqs.createQueue(`${QUEUE}-5`);
    const t = new TableModel(USERS_TRANSACTIONS, { seed: 31 });
    for (let i = 0; i < 8; i++) {
      t.put({ userId: { N: '12' }, transactionId: { N: String(i) }, amount: { N: `${i}.25` } });
      if (i % 3 === 2) t.tick();
    }
    const shard = new KinesisShard(t, { precision: 'MICROSECOND' });
    shard.deliverChanges();
    const failing = await runKinesis(h, shard, {
      env: { KEY_ATTRIBUTES },
      esm: { batchSize: 3, maximumRetryAttempts: 1, timeoutMs: 2500 },
      arm: () => h.standIn.faults.failItems({ ids: ['12|2', '12|5'], status: 503, times: 1000 }),
    });
    expect(failing.sim.onFailure.length).toBeGreaterThanOrEqual(2);
    // Later the cluster is back and 12|2 changes again; the function indexes that change.
    h.standIn.faults.reset();
    t.tick();
    t.update({ userId: { N: '12' }, transactionId: { N: '2' } }, { set: { amount: { N: '99' } } });
    const from = shard.records.length;
    shard.deliverChanges(t.records.length - 1);
    const later = shard.records.slice(from);
    const handler = h.loadHandler({ KEY_ATTRIBUTES, SOURCE_TABLE: t.schema.tableName });
    const sim = h.simulator(
      handler as never,
      {
        ...DEFAULT_ESM,
        identifierOf: kinesisSequenceNumber,
      } as never,
    );
    sim.append(later as never[]);
    await sim.runToEnd();
    h.restoreEnv();
    const newer = (await h.readIndex()).get('12|2');
    expect(newer && JSON.parse(newer.rawSource)).toMatchObject({ amount: 99 });
    const streamArn = shard.records[0]!.eventSourceARN;
    const shardId = 'shardId-000000000000';
    kinesis.putRecords(streamArn, shardId, shard.records);
    for (const lost of failing.sim.onFailure) {
      const message = kinesisOnFailureMessage({
        streamArn,
        shardId,
        records: lost.records as unknown as KinesisBatchRecord[],
      });
      sqs.send(`${QUEUE}-5`, JSON.stringify(message));
    }
    const io = capture();

    // Act
    const code = await main(
      ['failure-queue'],
      { ...operatorEnv(queueUrl), SOURCE_TABLE: t.schema.tableName },
      io,
    );

    // Assert
    expect({ code, lines: io.lines, errors: io.errors }).toMatchObject({ code: 0, errors: [] });
    const index = await h.readIndex();
    for (const { keys, item } of t.finalItems()) {
      const doc = index.get(documentId(keys, ['userId', 'transactionId']));
      expect(doc && compareDocument(item, doc.rawSource)).toBeNull();
    }
    expect(index.size).toBe(t.finalItems().length);
    expect(index.get('12|2')).toEqual(newer);
    expect(sqs.messages(`${QUEUE}-5`)).toEqual([]);
    expect(kinesis.counts()).toMatchObject({ GetShardIterator: failing.sim.onFailure.length });
  }, 180_000);

  it('reports a Kinesis range whose first records were trimmed as aged out, with SOURCE_TABLE to backfill', async () => {
    // Prepare
    await h.newScenario();
    await h.createIndex({});
    const queueUrl = sqs.createQueue(`${QUEUE}-6`);
    const t = new TableModel(USERS_TRANSACTIONS, { seed: 32 });
    for (let i = 0; i < 3; i++) t.put({ userId: { N: '13' }, transactionId: { N: String(i) } });
    const shard = new KinesisShard(t, { precision: 'MILLISECOND', tableName: 'Renamed' });
    shard.deliverChanges();
    const streamArn = `${shard.records[0]!.eventSourceARN}-aged`;
    kinesis.putRecords(streamArn, 'shardId-000000000000', shard.records);
    kinesis.trim(streamArn, 'shardId-000000000000', shard.records[1]!.kinesis.sequenceNumber);
    const message = kinesisOnFailureMessage({
      streamArn,
      shardId: 'shardId-000000000000',
      records: shard.records as unknown as KinesisBatchRecord[],
    });
    sqs.send(`${QUEUE}-6`, JSON.stringify(message));
    const io = capture();

    // Act
    const code = await main(
      ['failure-queue'],
      { ...operatorEnv(queueUrl), SOURCE_TABLE: 'Renamed' },
      io,
    );

    // Assert
    expect(code).toBe(1);
    expect(io.lines.join('\n')).toMatch(/^aged-out .*first record is now/m);
    expect(io.lines.join('\n')).toContain('repair: npm run backfill -- --table Renamed');
    expect((await h.readIndex()).size).toBe(0);
    expect(sqs.messages(`${QUEUE}-6`)).toHaveLength(1);
  }, 60_000);

  it('stops after --limit messages and says more wait (exit 1)', async () => {
    // Prepare
    await h.newScenario();
    await h.createIndex({});
    const queueUrl = sqs.createQueue(`${QUEUE}-7`);
    const t = new TableModel(USERS_TRANSACTIONS, { seed: 9 });
    for (let i = 0; i < 2; i++) t.put({ userId: { N: '14' }, transactionId: { N: String(i) } });
    const { arn, shardId } = tableStream(t.records);
    enqueue(queueUrl, arn, shardId, t.records.slice(0, 1));
    enqueue(queueUrl, arn, shardId, t.records.slice(1));
    const io = capture();

    // Act
    const code = await main(['failure-queue', '--limit', '1'], operatorEnv(queueUrl), io);

    // Assert
    expect(code).toBe(1);
    expect([...(await h.readIndex()).keys()]).toEqual(['14|0']);
    const left = sqs.messages(`${QUEUE}-7`);
    expect(left).toHaveLength(1);
    expect(left[0]!.receiveCount).toBe(0);
    expect(io.lines[io.lines.length - 1]).toMatch(
      /1 messages: 1 re-driven and deleted.*; --limit reached, more messages wait$/,
    );
  }, 60_000);

  it.each([
    [
      'a queue that does not exist',
      (url: string) => ['--queue-url', `${url}/000000000000/nope`],
      /QueueDoesNotExist/,
    ],
    ['no queue at all', () => [], /FAILURE_QUEUE_URL/],
  ])('exits 2 for %s', async (_name, args, message) => {
    await h.newScenario();
    const env: Record<string, string> = { ...operatorEnv(''), FAILURE_QUEUE_URL: '' };
    const io = capture();

    const code = await main(['failure-queue', ...args(sqs.url)], env, io);

    expect(code).toBe(2);
    expect(io.errors.join('\n')).toMatch(message);
  });
});

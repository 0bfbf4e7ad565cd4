import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
  type GetRecordsCommandOutput,
} from '@aws-sdk/client-dynamodb-streams';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import {
  DynamoDBStreamsStandIn,
  type StreamRecordInput,
} from '../support/dynamodb-streams-stand-in';
import { onFailureMessage } from '../support/lambda-on-failure';
import { SqsStandIn } from '../support/sqs-stand-in';

const credentials = { accessKeyId: 'AKIDSQS', secretAccessKey: 'sqs-secret' };
const region = 'eu-west-1';
let clock = Date.UTC(2026, 11, 2, 10, 0, 0);
let sqs: SqsStandIn;
let streams: DynamoDBStreamsStandIn;
let sqsClient: SQSClient;
let streamsClient: DynamoDBStreamsClient;

beforeAll(async () => {
  sqs = await SqsStandIn.start({ now: () => clock, region, credentials });
  streams = await DynamoDBStreamsStandIn.start({ now: () => clock, region });
  sqsClient = new SQSClient({ endpoint: sqs.url, region, credentials, maxAttempts: 1 });
  streamsClient = new DynamoDBStreamsClient({
    endpoint: streams.url,
    region,
    credentials,
    maxAttempts: 1,
  });
});
afterAll(async () => {
  sqsClient.destroy();
  streamsClient.destroy();
  await sqs.close();
  await streams.close();
});

const change = (
  user: number,
  tx: number,
  eventName: StreamRecordInput['eventName'] = 'INSERT',
): StreamRecordInput => ({
  eventName,
  Keys: { userId: { N: String(user) }, transactionId: { N: String(tx) } },
  ...(eventName === 'REMOVE'
    ? {}
    : {
        NewImage: {
          userId: { N: String(user) },
          transactionId: { N: String(tx) },
          amount: { N: '11' },
        },
      }),
});

describe('SQS stand-in with @aws-sdk/client-sqs (AWS JSON 1.0)', () => {
  test('SendMessage, ReceiveMessage and DeleteMessage; a received message is hidden for the visibility timeout', async () => {
    const queueUrl = sqs.createQueue('on-failure-1', 30);

    const sent = await sqsClient.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"a":1}' }),
    );
    const first = await sqsClient.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const hidden = await sqsClient.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    clock += 31_000;
    const again = await sqsClient.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    await sqsClient.send(
      new DeleteMessageCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: first.Messages![0]!.ReceiptHandle,
      }),
    );
    const staleDeleteLeftIt = sqs.messages('on-failure-1').length;
    await sqsClient.send(
      new DeleteMessageCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: again.Messages![0]!.ReceiptHandle,
      }),
    );

    expect(first.Messages?.map((m) => [m.MessageId, m.Body])).toEqual([
      [sent.MessageId, '{"a":1}'],
    ]);
    expect(first.Messages![0]!.Attributes).toMatchObject({ ApproximateReceiveCount: '1' });
    expect(hidden.Messages ?? []).toEqual([]);
    expect(again.Messages![0]!.Attributes).toEqual({ ApproximateReceiveCount: '2' });
    expect(staleDeleteLeftIt).toBe(1);
    expect(sqs.messages('on-failure-1')).toEqual([]);
  });

  test('GetQueueUrl, GetQueueAttributes and ChangeMessageVisibility', async () => {
    sqs.createQueue('on-failure-2');
    sqs.send('on-failure-2', 'x');
    sqs.send('on-failure-2', 'y');

    const { QueueUrl } = await sqsClient.send(
      new GetQueueUrlCommand({ QueueName: 'on-failure-2' }),
    );
    const got = await sqsClient.send(new ReceiveMessageCommand({ QueueUrl }));
    const during = await sqsClient.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    await sqsClient.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl,
        ReceiptHandle: got.Messages![0]!.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const after = await sqsClient.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );

    expect(QueueUrl).toBe(`${sqs.url}/000000000000/on-failure-2`);
    expect(during.Attributes).toMatchObject({
      ApproximateNumberOfMessages: '1',
      ApproximateNumberOfMessagesNotVisible: '1',
    });
    expect(after.Attributes).toMatchObject({ ApproximateNumberOfMessages: '2' });
  });

  test('a missing queue is QueueDoesNotExist; a malformed receipt handle is ReceiptHandleIsInvalid', async () => {
    const queueUrl = sqs.createQueue('on-failure-3');

    const missing = await sqsClient
      .send(new ReceiveMessageCommand({ QueueUrl: `${sqs.url}/000000000000/nope` }))
      .catch((e: unknown) => e);
    const badHandle = await sqsClient
      .send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: 'garbage' }))
      .catch((e: unknown) => e);

    expect(missing).toMatchObject({
      name: 'QueueDoesNotExist',
      $metadata: { httpStatusCode: 400 },
    });
    expect(badHandle).toMatchObject({ name: 'ReceiptHandleIsInvalid' });
  });

  test('requests signed with other credentials are refused', async () => {
    sqs.createQueue('on-failure-4');
    const stranger = new SQSClient({
      endpoint: sqs.url,
      region,
      credentials: { accessKeyId: 'AKIDOTHER', secretAccessKey: 'x' },
      maxAttempts: 1,
    });

    const e = await stranger
      .send(new GetQueueUrlCommand({ QueueName: 'on-failure-4' }))
      .catch((x: unknown) => x);
    stranger.destroy();

    expect(e).toMatchObject({ $metadata: { httpStatusCode: 400 } });
    expect((e as Error).name).toMatch(/UnrecognizedClient|InvalidSignature/);
  });
});

describe('DynamoDB Streams stand-in with @aws-sdk/client-dynamodb-streams', () => {
  test('DescribeStream lists shards; GetShardIterator AT/AFTER_SEQUENCE_NUMBER and TRIM_HORIZON read the right records', async () => {
    const arn = streams.addStream('UsersTransactions');
    const stored = streams.putRecords(arn, [
      change(1, 1),
      change(1, 2),
      change(2, 3, 'MODIFY'),
      change(1, 1, 'REMOVE'),
    ]);
    const { StreamDescription } = await streamsClient.send(
      new DescribeStreamCommand({ StreamArn: arn }),
    );
    const shardId = StreamDescription!.Shards![0]!.ShardId!;
    const read = async (
      type: 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER' | 'TRIM_HORIZON',
      seq?: string,
    ) => {
      const it = await streamsClient.send(
        new GetShardIteratorCommand({
          StreamArn: arn,
          ShardId: shardId,
          ShardIteratorType: type,
          ...(seq ? { SequenceNumber: seq } : {}),
        }),
      );
      return streamsClient.send(
        new GetRecordsCommand({ ShardIterator: it.ShardIterator, Limit: 2 }),
      );
    };

    const at = await read('AT_SEQUENCE_NUMBER', stored[1]!.dynamodb.SequenceNumber);
    const after = await read('AFTER_SEQUENCE_NUMBER', stored[1]!.dynamodb.SequenceNumber);
    const horizon = await read('TRIM_HORIZON');
    const rest = await streamsClient.send(
      new GetRecordsCommand({ ShardIterator: horizon.NextShardIterator }),
    );
    const listed = await streamsClient.send(
      new ListStreamsCommand({ TableName: 'UsersTransactions' }),
    );

    const seqs = (r: GetRecordsCommandOutput) =>
      (r.Records ?? []).map((x) => x.dynamodb?.SequenceNumber);
    const all = stored.map((r) => r.dynamodb.SequenceNumber);
    expect(StreamDescription).toMatchObject({
      StreamArn: arn,
      StreamStatus: 'ENABLED',
      TableName: 'UsersTransactions',
    });
    expect(seqs(at)).toEqual(all.slice(1, 3));
    expect(seqs(after)).toEqual(all.slice(2, 4));
    expect(seqs(horizon)).toEqual(all.slice(0, 2));
    expect(seqs(rest)).toEqual(all.slice(2));
    expect(rest.NextShardIterator).toBeDefined();
    expect(at.Records![0]).toMatchObject({
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      dynamodb: {
        Keys: { userId: { N: '1' }, transactionId: { N: '2' } },
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
    expect(at.Records![0]!.dynamodb!.ApproximateCreationDateTime).toEqual(
      new Date(Math.floor(clock / 1000) * 1000),
    );
    expect(listed.Streams?.map((s) => s.StreamArn)).toContain(arn);
  });

  test('a closed shard read to its end has no NextShardIterator', async () => {
    const arn = streams.addStream('Closed');
    const [rec] = streams.putRecords(arn, [change(3, 3)]);
    const [shardId] = streams.shardIds(arn) as [string];
    streams.closeShard(arn, shardId);

    const it = await streamsClient.send(
      new GetShardIteratorCommand({
        StreamArn: arn,
        ShardId: shardId,
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        SequenceNumber: rec!.dynamodb.SequenceNumber,
      }),
    );
    const r = await streamsClient.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
    const d = await streamsClient.send(new DescribeStreamCommand({ StreamArn: arn }));

    expect(r.Records).toHaveLength(1);
    expect(r.NextShardIterator).toBeUndefined();
    expect(d.StreamDescription!.Shards![0]!.SequenceNumberRange!.EndingSequenceNumber).toBe(
      rec!.dynamodb.SequenceNumber,
    );
  });

  test.each([
    ['explicitly expired', (arn: string) => streams.trim(arn)],
    ['aged out of the 24 h retention', () => void (clock += 24 * 3600 * 1000 + 1000)],
  ])('records %s answer TrimmedDataAccessException', async (_name, expire) => {
    const arn = streams.addStream('Expiring');
    const stored = streams.putRecords(arn, [change(4, 1), change(4, 2)]);
    const [shardId] = streams.shardIds(arn) as [string];
    const early = await streamsClient.send(
      new GetShardIteratorCommand({
        StreamArn: arn,
        ShardId: shardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );

    expire(arn);
    const late = await streamsClient
      .send(
        new GetShardIteratorCommand({
          StreamArn: arn,
          ShardId: shardId,
          ShardIteratorType: 'AT_SEQUENCE_NUMBER',
          SequenceNumber: stored[0]!.dynamodb.SequenceNumber,
        }),
      )
      .catch((e: unknown) => e);
    const stale = await streamsClient
      .send(new GetRecordsCommand({ ShardIterator: early.ShardIterator }))
      .catch((e: unknown) => e);

    expect(late).toMatchObject({
      name: 'TrimmedDataAccessException',
      $metadata: { httpStatusCode: 400 },
    });
    expect(stale).toMatchObject({
      name: expect.stringMatching(/TrimmedDataAccessException|ExpiredIteratorException/) as unknown,
    });
  });

  test('an unknown stream is ResourceNotFoundException', async () => {
    const e = await streamsClient
      .send(
        new DescribeStreamCommand({
          StreamArn: 'arn:aws:dynamodb:eu-west-1:000000000000:table/X/stream/none',
        }),
      )
      .catch((x: unknown) => x);

    expect(e).toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('on-failure message (Lambda DynamoDB Streams destination)', () => {
  test('describes the batch by shard and sequence range, and its range re-reads exactly that batch', async () => {
    const arn = streams.addStream('Redrive');
    streams.putRecords(arn, [change(5, 1)]);
    const batch = streams.putRecords(arn, [change(5, 2), change(5, 3), change(6, 4)]);
    streams.putRecords(arn, [change(6, 5)]);
    const [shardId] = streams.shardIds(arn) as [string];
    const queueUrl = sqs.createQueue('indexer-on-failure');

    const message = onFailureMessage({
      streamArn: arn,
      shardId,
      records: batch,
      at: new Date(clock),
    });
    await sqsClient.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }),
    );
    const received = await sqsClient.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    const info = (JSON.parse(received.Messages![0]!.Body!) as typeof message).DDBStreamBatchInfo;
    const it = await streamsClient.send(
      new GetShardIteratorCommand({
        StreamArn: info.streamArn,
        ShardId: info.shardId,
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        SequenceNumber: info.startSequenceNumber,
      }),
    );
    const page = await streamsClient.send(
      new GetRecordsCommand({ ShardIterator: it.ShardIterator, Limit: info.batchSize }),
    );

    expect(Object.keys(message)).toEqual([
      'requestContext',
      'responseContext',
      'version',
      'timestamp',
      'DDBStreamBatchInfo',
    ]);
    expect(info).toEqual({
      shardId,
      startSequenceNumber: batch[0]!.dynamodb.SequenceNumber,
      endSequenceNumber: batch[2]!.dynamodb.SequenceNumber,
      approximateArrivalOfFirstRecord: new Date(Math.floor(clock / 1000) * 1000)
        .toISOString()
        .replace('.000Z', 'Z'),
      approximateArrivalOfLastRecord: new Date(Math.floor(clock / 1000) * 1000)
        .toISOString()
        .replace('.000Z', 'Z'),
      batchSize: 3,
      streamArn: arn,
    });
    expect(message.requestContext.condition).toBe('RetryAttemptsExhausted');
    expect(page.Records?.map((r) => r.dynamodb?.SequenceNumber)).toEqual(
      batch.map((r) => r.dynamodb.SequenceNumber),
    );
  });
});

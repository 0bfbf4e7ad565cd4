import {
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import {
  GetRecordsCommand as KinesisGetRecordsCommand,
  GetShardIteratorCommand as KinesisGetShardIteratorCommand,
  KinesisClient,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { BatchRange } from '../../lib/redrive/failure-queue';
import {
  createDynamodbStreamReader,
  createKinesisStreamReader,
  lambdaAttribute,
  lambdaKinesisRecord,
  lambdaStreamRecord,
  regionOfArn,
  type StreamClientOptions,
} from '../../lib/redrive/stream-reader';

const STREAM_ARN =
  'arn:aws:dynamodb:eu-west-1:123456789012:table/UsersTransactions/stream/2023-11-14T22:13:20.000';
const KINESIS_ARN = 'arn:aws:kinesis:us-east-2:123456789012:stream/transactions';

/**
 * The readers build their own SDK clients, so `send` is replaced on the client class (no server):
 * each call is recorded with the client it was made on and answered by `answer`. The options point
 * at a closed local port with static keys, so nothing could reach AWS if a call slipped through.
 */
const OPTIONS: StreamClientOptions = {
  region: 'ap-south-1',
  endpoint: new URL('http://127.0.0.1:9/'),
  credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
};

interface Sent {
  readonly client: unknown;
  readonly command: unknown;
  readonly input: Record<string, unknown>;
}

function stubSend(
  clientClass: typeof DynamoDBStreamsClient | typeof KinesisClient,
  answer: (command: unknown, input: Record<string, unknown>) => unknown,
): { sent: Sent[]; restore: () => void } {
  const sent: Sent[] = [];
  const spy = jest
    .spyOn(clientClass.prototype as { send: (c: unknown) => Promise<unknown> }, 'send')
    .mockImplementation(async function (this: unknown, command: unknown) {
      const input = (command as { input: Record<string, unknown> }).input;
      sent.push({ client: this, command, input });
      return answer(command, input);
    });
  return { sent, restore: () => spy.mockRestore() };
}

function range(overrides: Partial<BatchRange> = {}): BatchRange {
  return {
    kind: 'dynamodb',
    streamArn: STREAM_ARN,
    shardId: 'shardId-00000001700000000000-aaaa',
    start: '100',
    end: '102',
    batchSize: 3,
    ...overrides,
  };
}

/** A DynamoDB Streams GetRecords record as the SDK answers it. */
function sdkRecord(sequenceNumber: string): Record<string, unknown> {
  return {
    eventID: `e-${sequenceNumber}`,
    eventName: 'INSERT',
    dynamodb: { Keys: { id: { S: sequenceNumber } }, SequenceNumber: sequenceNumber },
  };
}

const seqs = (records: readonly unknown[]): string[] =>
  records.map((r) => (r as { dynamodb: { SequenceNumber: string } }).dynamodb.SequenceNumber);

afterEach(() => jest.restoreAllMocks());

describe('regionOfArn', () => {
  it.each([
    [KINESIS_ARN, 'us-east-2'],
    [STREAM_ARN, 'eu-west-1'],
    ['arn:aws:kinesis::123456789012:stream/s', undefined],
    ['not-an-arn', undefined],
  ])('%s names region %s', (arn, region) => {
    expect(regionOfArn(arn)).toBe(region);
  });
});

describe('createDynamodbStreamReader', () => {
  it('reads AT_SEQUENCE_NUMBER, then GetRecords pages (Limit 1000) until a record is past the end', async () => {
    // Prepare
    const pages: Record<string, unknown> = {
      'it-1': { Records: [sdkRecord('100'), sdkRecord('101')], NextShardIterator: 'it-2' },
      'it-2': { Records: [sdkRecord('102'), sdkRecord('103')], NextShardIterator: 'it-3' },
    };
    const stub = stubSend(DynamoDBStreamsClient, (command, input) =>
      command instanceof GetShardIteratorCommand
        ? { ShardIterator: 'it-1' }
        : pages[input.ShardIterator as string],
    );
    const reader = createDynamodbStreamReader(OPTIONS);

    // Act
    const read = await reader.readRange(range());
    reader.close();

    // Assert
    expect(read.kind).toBe('records');
    expect(read.kind === 'records' && seqs(read.records)).toEqual(['100', '101', '102']);
    expect(read.kind === 'records' && read.records[0]).toMatchObject({
      eventID: 'e-100',
      eventSource: 'aws:dynamodb',
      eventSourceARN: STREAM_ARN,
    });
    expect(stub.sent.map((s) => (s.command as object).constructor)).toEqual([
      GetShardIteratorCommand,
      GetRecordsCommand,
      GetRecordsCommand,
    ]);
    expect(stub.sent.map((s) => s.input)).toEqual([
      {
        StreamArn: STREAM_ARN,
        ShardId: 'shardId-00000001700000000000-aaaa',
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        SequenceNumber: '100',
      },
      { ShardIterator: 'it-1', Limit: 1000 },
      { ShardIterator: 'it-2', Limit: 1000 },
    ]);
  });

  it('uses one client per region: the stream ARN region, else the configured one', async () => {
    // Prepare
    const regions: string[] = [];
    const stub = stubSend(DynamoDBStreamsClient, () => ({
      ShardIterator: 'it',
      Records: [sdkRecord('100')],
    }));
    const reader = createDynamodbStreamReader(OPTIONS);
    const destroy = jest.spyOn(DynamoDBStreamsClient.prototype, 'destroy');
    const noRegion = STREAM_ARN.replace(':eu-west-1:', '::');

    // Act
    for (const streamArn of [STREAM_ARN, STREAM_ARN, noRegion]) {
      await reader.readRange(range({ streamArn, end: '100' }));
    }
    for (const s of stub.sent)
      regions.push(await (s.client as DynamoDBStreamsClient).config.region());
    reader.close();

    // Assert
    expect(regions).toEqual([
      'eu-west-1',
      'eu-west-1',
      'eu-west-1',
      'eu-west-1',
      'ap-south-1',
      'ap-south-1',
    ]);
    expect(stub.sent[2]?.client).toBe(stub.sent[0]?.client);
    expect(stub.sent[4]?.client).not.toBe(stub.sent[0]?.client);
    expect(destroy).toHaveBeenCalledTimes(2);
  });

  it('closes no client twice: a second close has nothing left to destroy', async () => {
    // Prepare
    stubSend(DynamoDBStreamsClient, () => ({ ShardIterator: 'it', Records: [sdkRecord('100')] }));
    const reader = createDynamodbStreamReader(OPTIONS);
    const destroy = jest.spyOn(DynamoDBStreamsClient.prototype, 'destroy');
    await reader.readRange(range({ end: '100' }));

    // Act
    reader.close();
    reader.close();

    // Assert
    expect(destroy).toHaveBeenCalledTimes(1);
  });

  it('builds its client with the local endpoint and the given credentials', async () => {
    // Prepare
    const stub = stubSend(DynamoDBStreamsClient, () => ({
      ShardIterator: 'it',
      Records: [sdkRecord('100')],
    }));
    const reader = createDynamodbStreamReader(OPTIONS);

    // Act
    await reader.readRange(range({ end: '100' }));
    const client = stub.sent[0]?.client as DynamoDBStreamsClient;
    const endpoint = await client.config.endpoint?.();
    const credentials = await client.config.credentials();
    reader.close();

    // Assert
    expect(endpoint).toMatchObject({ hostname: '127.0.0.1', port: 9 });
    expect(credentials.accessKeyId).toBe('AKIDEXAMPLE');
  });

  it.each([
    ['TrimmedDataAccessException', 'GetShardIterator'],
    ['ResourceNotFoundException', 'GetShardIterator'],
    ['TrimmedDataAccessException', 'GetRecords'],
    ['ResourceNotFoundException', 'GetRecords'],
  ])('reports the range aged out when %s answers %s', async (name, failing) => {
    // Prepare
    stubSend(DynamoDBStreamsClient, (command) => {
      const isIterator = command instanceof GetShardIteratorCommand;
      if ((failing === 'GetShardIterator') === isIterator) {
        throw Object.assign(new Error('the data is gone'), { name });
      }
      return { ShardIterator: 'it' };
    });
    const reader = createDynamodbStreamReader(OPTIONS);

    // Act
    const read = await reader.readRange(range());

    // Assert
    expect(read).toEqual({ kind: 'aged-out', detail: `${name}: the data is gone` });
  });

  it('reports the range aged out when GetShardIterator answers no iterator', async () => {
    // Prepare
    stubSend(DynamoDBStreamsClient, () => ({}));
    const reader = createDynamodbStreamReader(OPTIONS);

    // Act
    const read = await reader.readRange(range());

    // Assert
    expect(read).toEqual({ kind: 'aged-out', detail: 'GetShardIterator returned no iterator' });
  });

  it.each([
    [
      'an error that does not say the data is gone',
      Object.assign(new Error('denied'), { name: 'AccessDeniedException' }),
    ],
    ['a thrown value without a name', null],
    ['an error whose name is not text', Object.assign(new Error('odd'), { name: 7 })],
  ])('rethrows %s', async (_, thrown) => {
    // Prepare
    stubSend(DynamoDBStreamsClient, () => {
      throw thrown;
    });
    const reader = createDynamodbStreamReader(OPTIONS);

    // Act
    const error = await reader.readRange(range()).then(
      () => 'resolved',
      (e: unknown) => e,
    );

    // Assert
    expect(error).toBe(thrown);
  });

  it('reads an answer without Records as an empty page', async () => {
    // Prepare: closed shard, nothing left in it.
    stubSend(DynamoDBStreamsClient, (command) =>
      command instanceof GetShardIteratorCommand ? { ShardIterator: 'it' } : {},
    );
    const reader = createDynamodbStreamReader(OPTIONS);

    // Act
    const read = await reader.readRange(range());

    // Assert
    expect(read).toEqual({
      kind: 'aged-out',
      detail: 'no record from 100 to 102 is left in the shard',
    });
  });

  it('keeps reading past a record that carries no stream data (no sequence number to compare)', async () => {
    // Prepare
    stubSend(DynamoDBStreamsClient, (command) =>
      command instanceof GetShardIteratorCommand
        ? { ShardIterator: 'it' }
        : { Records: [{ eventID: 'bare' }, sdkRecord('100')], NextShardIterator: 'it-2' },
    );
    const reader = createDynamodbStreamReader(OPTIONS);

    // Act
    const read = await reader.readRange(range({ end: '100' }));

    // Assert
    expect(
      read.kind === 'records' && read.records.map((r) => (r as { eventID: string }).eventID),
    ).toEqual(['bare', 'e-100']);
  });

  it('gives up after 5 empty pages of an open shard unless told otherwise', async () => {
    // Prepare
    const stub = stubSend(DynamoDBStreamsClient, (command) =>
      command instanceof GetShardIteratorCommand
        ? { ShardIterator: 'it' }
        : { Records: [], NextShardIterator: 'it' },
    );
    const reader = createDynamodbStreamReader(OPTIONS);
    const patient = createDynamodbStreamReader({ ...OPTIONS, read: { maxEmptyPages: 7 } });

    // Act
    const read = await reader.readRange(range());
    const first = stub.sent.length;
    const patientRead = await patient.readRange(range());

    // Assert
    expect(read).toEqual({
      kind: 'incomplete',
      detail: '5 empty pages before sequence number 102',
    });
    expect(first).toBe(1 + 5);
    expect(patientRead).toEqual({
      kind: 'incomplete',
      detail: '7 empty pages before sequence number 102',
    });
  });
});

describe('createKinesisStreamReader', () => {
  function kinesisPage(sequenceNumbers: readonly string[], next?: string): Record<string, unknown> {
    return {
      Records: sequenceNumbers.map((n) => ({
        SequenceNumber: n,
        Data: Buffer.from(`data-${n}`),
        PartitionKey: 'pk',
        ApproximateArrivalTimestamp: new Date(1_700_000_000_000),
      })),
      ...(next === undefined ? {} : { NextShardIterator: next }),
    };
  }
  const kinesisRange = (overrides: Partial<BatchRange> = {}): BatchRange =>
    range({
      kind: 'kinesis',
      streamArn: KINESIS_ARN,
      shardId: 'shardId-000000000000',
      ...overrides,
    });

  it('reads AT_SEQUENCE_NUMBER by stream ARN, then GetRecords, into Lambda Kinesis records of the ARN region', async () => {
    // Prepare
    const stub = stubSend(KinesisClient, (command) =>
      command instanceof KinesisGetShardIteratorCommand
        ? { ShardIterator: 'it-1' }
        : kinesisPage(['100', '101', '102', '103'], 'it-2'),
    );
    const reader = createKinesisStreamReader(OPTIONS);

    // Act
    const read = await reader.readRange(kinesisRange());
    const client = stub.sent[0]?.client as KinesisClient;
    reader.close();

    // Assert
    expect(stub.sent.map((s) => (s.command as object).constructor)).toEqual([
      KinesisGetShardIteratorCommand,
      KinesisGetRecordsCommand,
    ]);
    expect(stub.sent.map((s) => s.input)).toEqual([
      {
        StreamARN: KINESIS_ARN,
        ShardId: 'shardId-000000000000',
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        StartingSequenceNumber: '100',
      },
      { ShardIterator: 'it-1', StreamARN: KINESIS_ARN },
    ]);
    expect(read.kind === 'records' && read.records).toEqual([
      expect.objectContaining({
        eventID: 'shardId-000000000000:100',
        awsRegion: 'us-east-2',
        eventSourceARN: KINESIS_ARN,
      }),
      expect.objectContaining({ eventID: 'shardId-000000000000:101' }),
      expect.objectContaining({ eventID: 'shardId-000000000000:102' }),
    ]);
    expect(await client.config.region()).toBe('us-east-2');
    // HTTP/1.1 (GetRecords needs no HTTP/2), which local endpoints speak.
    expect(client.config.requestHandler).toBeInstanceOf(NodeHttpHandler);
  });

  it('names the configured region in records of a stream ARN without one', async () => {
    // Prepare
    const stub = stubSend(KinesisClient, (command) =>
      command instanceof KinesisGetShardIteratorCommand
        ? { ShardIterator: 'it-1' }
        : kinesisPage(['100']),
    );
    const reader = createKinesisStreamReader(OPTIONS);

    // Act
    const read = await reader.readRange(
      kinesisRange({ streamArn: 'arn:aws:kinesis::123456789012:stream/transactions', end: '100' }),
    );
    const client = stub.sent[0]?.client as KinesisClient;
    reader.close();

    // Assert
    expect(read.kind === 'records' && read.records[0]).toMatchObject({ awsRegion: 'ap-south-1' });
    expect(await client.config.region()).toBe('ap-south-1');
  });

  it('waits through up to 20 empty pages (Kinesis catches up to its data slowly), unless told otherwise', async () => {
    // Prepare: 19 empty pages, then the range.
    const answer = (command: unknown, input: Record<string, unknown>): unknown => {
      if (command instanceof KinesisGetShardIteratorCommand) return { ShardIterator: '0' };
      const at = Number(input.ShardIterator);
      return at < 19
        ? { Records: [], NextShardIterator: String(at + 1) }
        : kinesisPage(['100', '101', '102']);
    };
    stubSend(KinesisClient, answer);
    const reader = createKinesisStreamReader(OPTIONS);
    const impatient = createKinesisStreamReader({ ...OPTIONS, read: { maxEmptyPages: 3 } });

    // Act
    const read = await reader.readRange(kinesisRange());
    const impatientRead = await impatient.readRange(kinesisRange());

    // Assert
    expect(read.kind === 'records' && read.records).toHaveLength(3);
    expect(impatientRead).toEqual({
      kind: 'incomplete',
      detail: '3 empty pages before sequence number 102',
    });
  });

  it('keeps reading past a record that carries no sequence number', async () => {
    // Prepare
    stubSend(KinesisClient, (command) => {
      if (command instanceof KinesisGetShardIteratorCommand) return { ShardIterator: 'it' };
      const page = kinesisPage(['100']);
      return { ...page, Records: [{ PartitionKey: 'bare' }, ...(page.Records as unknown[])] };
    });
    const reader = createKinesisStreamReader(OPTIONS);

    // Act
    const read = await reader.readRange(kinesisRange({ end: '100' }));

    // Assert
    expect(
      read.kind === 'records' && read.records.map((r) => (r as { eventID: string }).eventID),
    ).toEqual(['shardId-000000000000:', 'shardId-000000000000:100']);
  });

  it.each(['TrimmedDataAccessException', 'ResourceNotFoundException'])(
    'reports the range aged out when GetRecords answers %s',
    async (name) => {
      // Prepare
      stubSend(KinesisClient, (command) => {
        if (command instanceof KinesisGetShardIteratorCommand) return { ShardIterator: 'it' };
        throw Object.assign(new Error('gone'), { name });
      });
      const reader = createKinesisStreamReader(OPTIONS);

      // Act
      const read = await reader.readRange(kinesisRange());

      // Assert
      expect(read).toEqual({ kind: 'aged-out', detail: `${name}: gone` });
    },
  );

  it('reports the range aged out when GetShardIterator answers no iterator, and reads an answer without Records as empty', async () => {
    // Prepare
    stubSend(KinesisClient, () => ({}));
    const reader = createKinesisStreamReader(OPTIONS);
    const readable = createKinesisStreamReader(OPTIONS);

    // Act
    const read = await reader.readRange(kinesisRange());
    jest.restoreAllMocks();
    stubSend(KinesisClient, (command) =>
      command instanceof KinesisGetShardIteratorCommand ? { ShardIterator: 'it' } : {},
    );
    const closedEmpty = await readable.readRange(kinesisRange());

    // Assert
    expect(read).toEqual({ kind: 'aged-out', detail: 'GetShardIterator returned no iterator' });
    expect(closedEmpty).toEqual({
      kind: 'aged-out',
      detail: 'no record from 100 to 102 is left in the shard',
    });
  });

  it('uses one client per region and destroys each on close', async () => {
    // Prepare
    const stub = stubSend(KinesisClient, (command) =>
      command instanceof KinesisGetShardIteratorCommand
        ? { ShardIterator: 'it' }
        : kinesisPage(['100']),
    );
    const destroy = jest.spyOn(KinesisClient.prototype, 'destroy');
    const reader = createKinesisStreamReader(OPTIONS);

    // Act
    await reader.readRange(kinesisRange({ end: '100' }));
    await reader.readRange(kinesisRange({ end: '100' }));
    reader.close();

    // Assert
    expect(stub.sent[2]?.client).toBe(stub.sent[0]?.client);
    expect(destroy).toHaveBeenCalledTimes(1);
  });
});

describe('SDK records in the shape Lambda delivers: edge cases', () => {
  it('keeps S, N, sets, BOOL and NULL as they are, and drops undefined members and the SDK $unknown', () => {
    // Act
    const values = [
      lambdaAttribute({ S: 'x' }),
      lambdaAttribute({ N: '1.50' }),
      lambdaAttribute({ SS: ['a'] }),
      lambdaAttribute({ NS: ['1'] }),
      lambdaAttribute({ BOOL: false }),
      lambdaAttribute({ NULL: true }),
      lambdaAttribute({ S: 'y', B: undefined } as never),
      lambdaAttribute({ $unknown: ['X', 1] } as never),
      lambdaAttribute({ M: null } as never),
    ];

    // Assert
    expect(values).toStrictEqual([
      { S: 'x' },
      { N: '1.50' },
      { SS: ['a'] },
      { NS: ['1'] },
      { BOOL: false },
      { NULL: true },
      { S: 'y' },
      {},
      { M: null },
    ]);
  });

  it('leaves out what the SDK record does not carry, keeps a numeric creation time, and defaults the event source', () => {
    // Act
    const bare = lambdaStreamRecord({ eventID: 'e1', eventName: 'INSERT' }, STREAM_ARN);
    const numeric = lambdaStreamRecord(
      { dynamodb: { ApproximateCreationDateTime: 1_700_000_000 as unknown as Date } },
      STREAM_ARN,
    );

    // Assert
    expect(bare).toStrictEqual({
      eventID: 'e1',
      eventName: 'INSERT',
      eventVersion: undefined,
      eventSource: 'aws:dynamodb',
      awsRegion: undefined,
      dynamodb: {},
      eventSourceARN: STREAM_ARN,
    });
    expect(numeric.dynamodb).toStrictEqual({ ApproximateCreationDateTime: 1_700_000_000 });
  });

  it('rounds a creation time down to whole seconds, as Lambda delivers it', () => {
    // Act
    const record = lambdaStreamRecord(
      { dynamodb: { ApproximateCreationDateTime: new Date(1_700_000_000_999) } },
      STREAM_ARN,
    );

    // Assert
    expect(record.dynamodb).toStrictEqual({ ApproximateCreationDateTime: 1_700_000_000 });
  });

  it('reads a Kinesis record without data as empty and keeps a numeric arrival time', () => {
    // Act
    const record = lambdaKinesisRecord(
      {
        ApproximateArrivalTimestamp: 1_700_000_000.25 as unknown as Date,
        PartitionKey: 'pk',
      } as never,
      'shardId-000000000000',
      KINESIS_ARN,
      'us-east-2',
    );

    // Assert
    expect(record.kinesis).toStrictEqual({
      kinesisSchemaVersion: '1.0',
      partitionKey: 'pk',
      sequenceNumber: undefined,
      data: '',
      approximateArrivalTimestamp: 1_700_000_000.25,
    });
    expect(record.eventID).toBe('shardId-000000000000:');
  });
});

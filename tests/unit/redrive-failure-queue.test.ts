import { BulkRequestError } from '../../lib/errors';
import {
  anythingLeftInQueue,
  backfillCommand,
  DRY_RUN_VISIBILITY_TIMEOUT_S,
  parseMessage,
  QueueUnavailableError,
  redriveFailureQueue,
  tableOfStream,
  VISIBILITY_TIMEOUT_S,
  type BatchRange,
  type FailureQueue,
  type FailureQueueOptions,
  type FailureQueueReport,
  type MessageResult,
  type QueueMessage,
  type StreamReader,
} from '../../lib/redrive/failure-queue';
import { BATCH_BUDGET_MS } from '../../lib/redrive/dead-letters';
import { lambdaKinesisRecord, lambdaStreamRecord } from '../../lib/redrive/stream-reader';
import {
  compareSequence,
  RangeAgedOutError,
  readShardRange,
  type RangeRead,
  type ShardPage,
  type ShardPages,
} from '../../lib/redrive/shard-range';
import {
  batchConfig,
  captureLogger,
  CREATED_AT,
  dynamodbChangeJson,
  expectedTimeVersion,
  expectedVersion,
  fakeDeadLetters,
  fakeSearch,
  item,
  kinesisRecord,
  kinesisSequenceNumber,
  sequenceNumber,
  streamRecord,
  transactionImage,
  transactionKeys,
  type FakeDeadLetters,
  type FakeSearch,
  type FakeSearchOptions,
  type BatchConfig,
  type TestStreamRecord,
} from './factories';

const STREAM_ARN =
  'arn:aws:dynamodb:eu-west-1:123456789012:table/UsersTransactions/stream/2026-12-01T00:00:00.000';
const KINESIS_ARN = 'arn:aws:kinesis:eu-west-1:123456789012:stream/UsersTransactions-changes';
const SHARD = 'shardId-00000001700000000000-abcdef01';

// ---------------------------------------------------------------------------------------------
// Fakes

/** An in-memory SQS queue: a received message is hidden until released, deleted or run ends. */
class MemoryQueue implements FailureQueue {
  readonly location = 'https://sqs.eu-west-1.amazonaws.com/123456789012/indexer-dev-failures';
  readonly messages: Array<{ id: string; body: string; hidden: boolean; receives: number }> = [];
  readonly calls: string[] = [];
  private handles = 0;

  send(body: unknown): string {
    const id = `m${this.messages.length + 1}`;
    this.messages.push({
      id,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      hidden: false,
      receives: 0,
    });
    return id;
  }
  async receive(max: number, visibilityTimeoutS: number): Promise<QueueMessage[]> {
    this.calls.push(`receive ${max} ${visibilityTimeoutS}`);
    const picked = this.messages.filter((m) => !m.hidden).slice(0, max);
    return picked.map((m) => {
      m.hidden = visibilityTimeoutS > 0;
      m.receives++;
      return {
        id: m.id,
        receiptHandle: `rh-${++this.handles}-${m.id}`,
        body: m.body,
        receiveCount: m.receives,
      };
    });
  }
  async delete(message: QueueMessage): Promise<void> {
    this.calls.push(`delete ${message.id}`);
    const at = this.messages.findIndex((m) => m.id === message.id);
    if (at >= 0) this.messages.splice(at, 1);
  }
  readonly releasedHandles: string[] = [];
  async release(message: QueueMessage): Promise<void> {
    this.calls.push(`release ${message.id}`);
    this.releasedHandles.push(message.receiptHandle);
    const m = this.messages.find((x) => x.id === message.id);
    if (m) m.hidden = false;
  }
  async waiting(): Promise<number> {
    return this.messages.filter((m) => !m.hidden).length;
  }
  ids(): string[] {
    return this.messages.map((m) => m.id);
  }
}

/** A shard as pages: `records` in order, `pageSize` per GetRecords, trimmed below `trimBelow`. */
class FakeShard<R> implements ShardPages<R> {
  readonly pagesRead: number[] = [];
  constructor(
    readonly records: ReadonlyArray<{ sequenceNumber: string; record: R }>,
    readonly options: {
      pageSize?: number;
      closed?: boolean;
      trimBelow?: string;
      /** 'throws': TrimmedDataAccessException (DynamoDB Streams); 'skips': starts at the trim point. */
      trimmed?: 'throws' | 'skips';
      emptyPagesFirst?: number;
      emptyForever?: boolean;
    } = {},
  ) {}
  async iteratorAt(sequenceNumber: string): Promise<string> {
    if (
      this.options.trimBelow !== undefined &&
      compareSequence(sequenceNumber, this.options.trimBelow) < 0 &&
      this.options.trimmed !== 'skips'
    ) {
      throw new RangeAgedOutError('TrimmedDataAccessException: trimmed');
    }
    const from = this.records.findIndex(
      (r) => compareSequence(r.sequenceNumber, sequenceNumber) >= 0,
    );
    const visible = this.records.findIndex(
      (r) =>
        this.options.trimBelow === undefined ||
        compareSequence(r.sequenceNumber, this.options.trimBelow) >= 0,
    );
    return `${Math.max(from < 0 ? this.records.length : from, visible)}:${this.options.emptyPagesFirst ?? 0}`;
  }
  async page(iterator: string): Promise<ShardPage<R>> {
    const [at, empties] = iterator.split(':').map(Number) as [number, number];
    this.pagesRead.push(at);
    if (empties > 0 || this.options.emptyForever === true) {
      return { records: [], next: `${at}:${Math.max(0, empties - 1)}` };
    }
    const size = this.options.pageSize ?? 1000;
    const records = this.records.slice(at, at + size);
    const next = at + records.length;
    const end = this.options.closed === true && next >= this.records.length;
    return { records, next: end ? undefined : `${next}:0` };
  }
}

function shardOf<R>(
  records: readonly R[],
  seqOf: (r: R) => string,
): Array<{ sequenceNumber: string; record: R }> {
  return records.map((record) => ({ sequenceNumber: seqOf(record), record }));
}

/** A reader over one fake shard per (stream, shard). */
function fakeReader(
  shards: Map<string, FakeShard<unknown>>,
): StreamReader & { reads: BatchRange[] } {
  const reads: BatchRange[] = [];
  return {
    reads,
    async readRange(range) {
      reads.push(range);
      const shard = shards.get(`${range.streamArn}|${range.shardId}`);
      if (shard === undefined)
        return { kind: 'aged-out', detail: 'ResourceNotFoundException: no such shard' };
      return readShardRange(shard, range.start, range.end);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Factories

function insert(n: number, transactionId = 50 + n, extra = {}): TestStreamRecord {
  return streamRecord({
    keys: transactionKeys(3, transactionId),
    newImage: transactionImage(3, transactionId, extra),
    sequenceNumber: sequenceNumber(n),
  });
}

function remove(n: number, transactionId: number): TestStreamRecord {
  return streamRecord({
    eventName: 'REMOVE',
    keys: transactionKeys(3, transactionId),
    sequenceNumber: sequenceNumber(n),
  });
}

const seqOfStream = (r: TestStreamRecord): string =>
  (r.dynamodb as { SequenceNumber: string }).SequenceNumber;

/** Lambda's on-failure message for a DynamoDB stream batch (services-dynamodb-errors). */
function ddbMessage(first: string, last: string, streamArn = STREAM_ARN, shardId = SHARD): unknown {
  return {
    requestContext: {
      requestId: 'c9b8fa9f-5a7f-4c5e-9c5d-1f2a3b4c5d6e',
      functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:indexer-dev-indexer',
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 101,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: '2023-11-14T22:20:00.000Z',
    DDBStreamBatchInfo: {
      shardId,
      startSequenceNumber: first,
      endSequenceNumber: last,
      approximateArrivalOfFirstRecord: '2023-11-14T22:13:20Z',
      approximateArrivalOfLastRecord: '2023-11-14T22:13:20Z',
      batchSize: 3,
      streamArn,
    },
  };
}

interface RunResult {
  /** Virtual time the run spent (the core's backoff sleeps). */
  elapsedMs: number;
  report: FailureQueueReport;
  fake: FakeSearch;
  letters: FakeDeadLetters;
}

async function run(
  queue: MemoryQueue,
  readers: { dynamodb?: StreamReader; kinesis?: StreamReader },
  opts: {
    search?: FakeSearchOptions;
    options?: Partial<FailureQueueOptions>;
    deadLetters?: boolean;
    config?: Partial<BatchConfig>;
  } = {},
): Promise<RunResult> {
  const fake = fakeSearch(opts.search ?? {});
  const letters = fakeDeadLetters();
  // Virtual time: only the core's backoff sleeps move it, so its deadline ends a retry loop.
  let now = (CREATED_AT + 60) * 1000;
  const startedAt = now;
  const report = await redriveFailureQueue(
    { dryRun: false, limit: undefined, table: undefined, ...opts.options },
    {
      queue,
      readers,
      core: {
        config: batchConfig({ retryBaseMs: 1000, retryMaxMs: 5000, ...opts.config }),
        search: fake.search,
        logger: captureLogger().logger,
        deadLetters: opts.deadLetters === false ? undefined : letters.sink,
        sleep: async (ms) => {
          now += ms;
        },
      },
      now: () => now,
    },
  );
  return { report, fake, letters, elapsedMs: now - startedAt };
}

// ---------------------------------------------------------------------------------------------

describe('compareSequence', () => {
  it.each([
    ['99999999999999999999', '100000000000000000000', -1], // 20 vs 21 digits
    ['100000000000000000001', '100000000000000000000', 1], // equal as floats
    ['100000000000000000000', '100000000000000000000', 0],
    ['9', '10', -1], // text order would say 1
    ['000123', '123', 0],
    [kinesisSequenceNumber(2), kinesisSequenceNumber(1), 1], // 56 digits
    ['4' + '0'.repeat(39), '39' + '9'.repeat(38), 1], // 40 digits
  ])('%s vs %s is %i', (a, b, expected) => {
    expect(compareSequence(a, b)).toBe(expected);
    expect(compareSequence(b, a)).toBe(-expected || 0);
  });
});

describe('readShardRange', () => {
  const records = Array.from({ length: 9 }, (_, i) => insert(i + 1));
  const shard = (
    options: ConstructorParameters<typeof FakeShard>[1] = {},
  ): FakeShard<TestStreamRecord> => new FakeShard(shardOf(records, seqOfStream), options);
  const seqs = (read: RangeRead<TestStreamRecord>): string[] =>
    read.kind === 'records' ? read.records.map(seqOfStream) : [];

  it('follows NextShardIterator across pages and stops at the first record past the end', async () => {
    // Prepare: pages of 2; the range is records 2..7, i.e. pages 1-4.
    const s = shard({ pageSize: 2 });

    // Act
    const read = await readShardRange(s, sequenceNumber(2), sequenceNumber(7));

    // Assert
    expect(seqs(read)).toEqual([2, 3, 4, 5, 6, 7].map(sequenceNumber));
    expect(s.pagesRead).toEqual([1, 3, 5]);
  });

  it('compares across a length change of the sequence numbers (no float, no text order)', async () => {
    // Prepare: 20 -> 21 digits inside the range.
    const numbers = [
      '99999999999999999998',
      '99999999999999999999',
      '100000000000000000000',
      '100000000000000000001',
    ];
    const s = new FakeShard(
      numbers.map((n) => ({ sequenceNumber: n, record: n })),
      { pageSize: 1 },
    );

    // Act
    const read = await readShardRange(s, numbers[1]!, numbers[2]!);

    // Assert
    expect(read).toEqual({ kind: 'records', records: [numbers[1], numbers[2]] });
  });

  it('ends with a closed shard read to its end before the range end', async () => {
    const read = await readShardRange(
      shard({ pageSize: 4, closed: true }),
      sequenceNumber(6),
      sequenceNumber(20),
    );

    expect(seqs(read)).toEqual([6, 7, 8, 9].map(sequenceNumber));
  });

  it.each([
    [
      'the start is trimmed (TrimmedDataAccessException)',
      { trimBelow: sequenceNumber(4) },
      /TrimmedDataAccessException/,
    ],
    [
      'the first record returned is after the start',
      { trimBelow: sequenceNumber(4), trimmed: 'skips' as const },
      /first record is now/,
    ],
  ])('answers aged-out when %s', async (_name, options, detail) => {
    const read = await readShardRange(shard(options), sequenceNumber(2), sequenceNumber(6));

    expect(read).toEqual({ kind: 'aged-out', detail: expect.stringMatching(detail) as unknown });
  });

  it('skips a few empty pages, but gives up on an open shard that answers only empty ones', async () => {
    const some = await readShardRange(
      shard({ emptyPagesFirst: 3 }),
      sequenceNumber(1),
      sequenceNumber(2),
    );
    const forever = await readShardRange(
      shard({ emptyForever: true }),
      sequenceNumber(1),
      sequenceNumber(2),
      {
        maxEmptyPages: 4,
      },
    );

    expect(seqs(some)).toEqual([1, 2].map(sequenceNumber));
    expect(forever).toEqual({
      kind: 'incomplete',
      detail: expect.stringContaining('4 empty pages') as unknown,
    });
  });

  it('rethrows errors that do not say the data is gone', async () => {
    const s = shard();
    s.page = async () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'LimitExceededException' });
    };

    await expect(readShardRange(s, sequenceNumber(1), sequenceNumber(2))).rejects.toThrow(
      'Rate exceeded',
    );
  });
});

describe('parseMessage', () => {
  it.each([
    ['not JSON', '{"requestContext":', /not JSON/],
    ['an array', '[]', /not a JSON object/],
    ['no batch info', '{"requestContext":{}}', /no DDBStreamBatchInfo or KinesisBatchInfo/],
    [
      'a float sequence number',
      JSON.stringify({
        DDBStreamBatchInfo: {
          shardId: 's',
          streamArn: 'a',
          startSequenceNumber: 1e20,
          endSequenceNumber: '2',
        },
      }),
      /startSequenceNumber/,
    ],
    [
      'no shard',
      JSON.stringify({
        KinesisBatchInfo: { streamArn: 'a', startSequenceNumber: '1', endSequenceNumber: '2' },
      }),
      /shardId/,
    ],
  ])('names the problem of %s', (_name, body, problem) => {
    expect(parseMessage(body)).toEqual(expect.stringMatching(problem));
  });

  it('reads the Kinesis batch info (kinesis-on-failure-destination)', () => {
    const body = JSON.stringify({
      KinesisBatchInfo: {
        shardId: 'shardId-000000000000',
        startSequenceNumber: kinesisSequenceNumber(1),
        endSequenceNumber: kinesisSequenceNumber(5),
        approximateArrivalOfFirstRecord: '2023-11-14T22:13:20.500Z',
        approximateArrivalOfLastRecord: '2023-11-14T22:13:21.500Z',
        batchSize: 5,
        streamArn: KINESIS_ARN,
      },
    });

    expect(parseMessage(body)).toEqual({
      kind: 'kinesis',
      streamArn: KINESIS_ARN,
      shardId: 'shardId-000000000000',
      start: kinesisSequenceNumber(1),
      end: kinesisSequenceNumber(5),
      batchSize: 5,
    });
  });

  it('finds the table behind a DynamoDB stream ARN, and none behind a Kinesis one', () => {
    expect(tableOfStream(STREAM_ARN)).toBe('UsersTransactions');
    expect(tableOfStream(KINESIS_ARN)).toBeUndefined();
  });

  it.each([
    ['--table first', STREAM_ARN, 'Renamed', 'Other', 'Renamed'],
    ['the stream ARN', STREAM_ARN, undefined, 'Other', 'UsersTransactions'],
    ['SOURCE_TABLE for a Kinesis stream', KINESIS_ARN, undefined, 'Other', 'Other'],
    ['a placeholder when nothing names it', KINESIS_ARN, undefined, undefined, '<table>'],
  ])('names the table to backfill: %s', (_name, streamArn, table, sourceTable, expected) => {
    const range: BatchRange = {
      kind: 'dynamodb',
      streamArn,
      shardId: 's',
      start: '1',
      end: '2',
      batchSize: 1,
    };

    expect(backfillCommand(range, table, sourceTable)).toBe(
      `npm run backfill -- --table ${expected}`,
    );
  });
});

describe('redriveFailureQueue', () => {
  const records = [
    insert(1),
    insert(2, 52, { amount: { N: '7' } }),
    remove(3, 60),
    insert(4),
    insert(5),
  ];
  const shards = (): Map<string, FakeShard<unknown>> =>
    new Map([
      [
        `${STREAM_ARN}|${SHARD}`,
        new FakeShard<unknown>(shardOf(records, seqOfStream), { pageSize: 2 }),
      ],
    ]);

  it('re-drives a whole range with the stream versions and deletes its message', async () => {
    // Prepare
    const queue = new MemoryQueue();
    queue.send(ddbMessage(sequenceNumber(2), sequenceNumber(4)));
    const reader = fakeReader(shards());

    // Act
    const { report, fake } = await run(queue, { dynamodb: reader });

    // Assert
    expect(fake.sent().map((a) => [a.action, a.id, a.version])).toEqual([
      ['index', '3|52', expectedVersion(CREATED_AT, sequenceNumber(2))],
      ['delete', '3|60', expectedVersion(CREATED_AT, sequenceNumber(3))],
      ['index', '3|54', expectedVersion(CREATED_AT, sequenceNumber(4))],
    ]);
    expect(queue.ids()).toEqual([]);
    expect(queue.calls).toEqual([
      `receive 10 ${VISIBILITY_TIMEOUT_S}`,
      'delete m1',
      `receive 10 ${VISIBILITY_TIMEOUT_S}`,
    ]);
    expect(report.counts.redriven).toBe(1);
    expect(report.records).toMatchObject({ records: 3, indexed: 2, deleted: 1, failed: 0 });
    expect(anythingLeftInQueue(report)).toBe(false);
  });

  it('counts a record the index already holds a newer version of (409) as done', async () => {
    const queue = new MemoryQueue();
    queue.send(ddbMessage(sequenceNumber(1), sequenceNumber(1)));

    const { report } = await run(
      queue,
      { dynamodb: fakeReader(shards()) },
      {
        search: {
          item: () =>
            item(
              409,
              'version_conflict_engine_exception',
              '[3|51]: version conflict, current version [9] is higher or equal to the one provided [1]',
            ),
        },
      },
    );

    expect(report.records).toMatchObject({ stale: 1 });
    expect(queue.ids()).toEqual([]);
  });

  it('keeps a message when one record of its range is not done, and makes it visible again', async () => {
    // Prepare: the cluster keeps answering 429 for 3|54 until the core's budget is spent.
    const queue = new MemoryQueue();
    queue.send(ddbMessage(sequenceNumber(2), sequenceNumber(4)));

    // Act
    const { report } = await run(
      queue,
      { dynamodb: fakeReader(shards()) },
      {
        search: { item: (a) => (a.id === '3|54' ? 429 : a.action === 'index' ? 201 : 200) },
      },
    );

    // Assert
    expect(report.left).toEqual([
      expect.objectContaining({
        messageId: 'm1',
        outcome: 'not-done',
        detail: '1 of 3 records not done',
      }),
    ]);
    expect(queue.ids()).toEqual(['m1']);
    expect(queue.calls).not.toContain('delete m1');
    expect(queue.calls[queue.calls.length - 1]).toBe('release m1');
    expect(queue.messages[0]!.hidden).toBe(false);
    expect(anythingLeftInQueue(report)).toBe(true);
  });

  it.each([
    ['dead-lettered, so the message is deleted', true, []],
    ['kept without a dead-letter bucket', false, ['m1']],
  ])('a record the index rejects is %s', async (_name, withBucket, left) => {
    // Prepare
    const queue = new MemoryQueue();
    queue.send(ddbMessage(sequenceNumber(1), sequenceNumber(2)));

    // Act
    const { report, letters } = await run(
      queue,
      { dynamodb: fakeReader(shards()) },
      {
        deadLetters: withBucket as boolean,
        search: {
          item: (a) =>
            a.id === '3|52'
              ? item(400, 'mapper_parsing_exception', 'failed to parse field [amount]')
              : 201,
        },
      },
    );

    // Assert
    expect(queue.ids()).toEqual(left);
    expect(letters.letters.map((l) => [l.documentId, l.errorType, l.source])).toEqual(
      withBucket ? [['3|52', 'mapper_parsing_exception', 'dynamodb']] : [],
    );
    expect(report.records.deadLettered).toBe(withBucket ? 1 : 0);
  });

  it('reports an aged-out range with the backfill command and keeps its message', async () => {
    // Prepare: the shard is trimmed below record 3.
    const queue = new MemoryQueue();
    queue.send(ddbMessage(sequenceNumber(1), sequenceNumber(4)));
    const trimmed = new Map([
      [
        `${STREAM_ARN}|${SHARD}`,
        new FakeShard<unknown>(shardOf(records, seqOfStream), { trimBelow: sequenceNumber(3) }),
      ],
    ]);

    // Act
    const { report, fake } = await run(queue, { dynamodb: fakeReader(trimmed) });

    // Assert
    expect(report.left).toEqual([
      expect.objectContaining({
        outcome: 'aged-out',
        repair: 'npm run backfill -- --table UsersTransactions',
        detail: expect.stringContaining('TrimmedDataAccessException') as unknown,
      }),
    ]);
    expect(fake.calls).toEqual([]);
    expect(queue.ids()).toEqual(['m1']);
    expect(queue.calls).toContain('release m1');
  });

  it('reports malformed messages, leaves them alone and carries on', async () => {
    // Prepare
    const queue = new MemoryQueue();
    queue.send('not json at all');
    queue.send({ requestContext: { condition: 'RetryAttemptsExhausted' } });
    queue.send(ddbMessage(sequenceNumber(5), sequenceNumber(5)));

    // Act
    const { report } = await run(queue, { dynamodb: fakeReader(shards()) });

    // Assert
    expect(report.left.map((r) => [r.messageId, r.outcome])).toEqual([
      ['m1', 'malformed'],
      ['m2', 'malformed'],
    ]);
    expect(report.counts.redriven).toBe(1);
    expect(queue.ids()).toEqual(['m1', 'm2']);
    expect(queue.calls.filter((c) => c.startsWith('delete'))).toEqual(['delete m3']);
  });

  it('reports a range the stream cannot be read for (no reader, access denied) and keeps it', async () => {
    const queue = new MemoryQueue();
    queue.send(ddbMessage(sequenceNumber(1), sequenceNumber(1)));
    queue.send({
      KinesisBatchInfo: {
        shardId: 's',
        streamArn: KINESIS_ARN,
        startSequenceNumber: '1',
        endSequenceNumber: '2',
      },
    });
    const denied: StreamReader = {
      readRange: async () => {
        throw Object.assign(
          new Error('User is not authorized to perform: dynamodb:GetShardIterator'),
          { name: 'AccessDeniedException' },
        );
      },
    };

    const { report } = await run(queue, { dynamodb: denied });

    expect(report.left.map((r) => [r.outcome, r.detail])).toEqual([
      ['unreadable', expect.stringContaining('not authorized')],
      ['unreadable', 'no reader for kinesis streams'],
    ]);
    expect(queue.ids()).toEqual(['m1', 'm2']);
  });

  it('writes nothing in a dry run: no bulk request, no dead letter, no delete; it releases what it received', async () => {
    // Prepare: one good range, one with a malformed record.
    const queue = new MemoryQueue();
    queue.send(ddbMessage(sequenceNumber(1), sequenceNumber(3)));
    const broken = streamRecord({
      keys: transactionKeys(3, 99),
      sequenceNumber: sequenceNumber(6),
    });
    delete (broken.dynamodb as Record<string, unknown>).NewImage;
    const withBroken = new Map([
      [
        `${STREAM_ARN}|${SHARD}`,
        new FakeShard<unknown>(shardOf([...records, broken], seqOfStream)),
      ],
    ]);
    queue.send(ddbMessage(sequenceNumber(6), sequenceNumber(6)));

    // Act
    const { report, fake, letters } = await run(
      queue,
      { dynamodb: fakeReader(withBroken) },
      { options: { dryRun: true } },
    );

    // Assert
    expect(fake.calls).toEqual([]);
    expect(letters.write).not.toHaveBeenCalled();
    expect(queue.calls.filter((c) => c.startsWith('delete'))).toEqual([]);
    expect(queue.calls[0]).toBe(`receive 10 ${DRY_RUN_VISIBILITY_TIMEOUT_S}`);
    expect(queue.messages.map((m) => m.hidden)).toEqual([false, false]);
    expect(report.left.map((r) => [r.outcome, r.detail])).toEqual([
      ['would-redrive', '3 records: 2 index, 1 delete, 0 skip'],
      [
        'would-redrive',
        '1 records: 0 index, 0 delete, 0 skip, 1 malformed (would be dead-lettered)',
      ],
    ]);
  });

  it('handles at most --limit messages and says more wait', async () => {
    // Prepare
    const queue = new MemoryQueue();
    for (let n = 1; n <= 3; n++) queue.send(ddbMessage(sequenceNumber(n), sequenceNumber(n)));

    // Act
    const { report, fake } = await run(
      queue,
      { dynamodb: fakeReader(shards()) },
      { options: { limit: 2 } },
    );

    // Assert
    expect(queue.calls[0]).toBe(`receive 2 ${VISIBILITY_TIMEOUT_S}`);
    expect(report.seen).toBe(2);
    expect(fake.sent().map((a) => a.id)).toEqual(['3|51', '3|52']);
    expect(queue.ids()).toEqual(['m3']);
    expect(queue.messages[0]!.receives).toBe(0);
    expect(report.more).toBe(true);
    expect(anythingLeftInQueue(report)).toBe(true);
  });

  it('assumes more messages wait after --limit when the queue cannot count them', async () => {
    const queue = new MemoryQueue();
    queue.send(ddbMessage(sequenceNumber(1), sequenceNumber(1)));
    queue.waiting = async () => {
      throw Object.assign(new Error('not authorized to perform: sqs:GetQueueAttributes'), {
        name: 'AccessDenied',
      });
    };

    const { report } = await run(
      queue,
      { dynamodb: fakeReader(shards()) },
      { options: { limit: 1 } },
    );

    expect(report.counts.redriven).toBe(1);
    expect(report.more).toBe(true);
  });

  it.each([
    ['fails the run when the first receive fails', 0],
    ['ends the run and keeps its report when a later receive fails', 1],
  ])('a queue that cannot be read %s', async (_name, before) => {
    // Prepare
    const queue = new MemoryQueue();
    queue.send(ddbMessage(sequenceNumber(1), sequenceNumber(1)));
    const receive = queue.receive.bind(queue);
    let calls = 0;
    queue.receive = async (max, visibility) => {
      if (calls++ >= before)
        throw new QueueUnavailableError('cannot receive: KMS.AccessDeniedException');
      return receive(max, visibility);
    };

    // Act
    const outcome = await run(queue, { dynamodb: fakeReader(shards()) }).catch((e: unknown) => e);

    // Assert
    if (before === 0) {
      expect(outcome).toBeInstanceOf(QueueUnavailableError);
    } else {
      const { report } = outcome as RunResult;
      expect(report.counts.redriven).toBe(1);
      expect(report.stoppedBy).toMatch(/KMS.AccessDeniedException/);
      expect(anythingLeftInQueue(report)).toBe(true);
    }
  });

  it('never handles a message twice in one run, even when the queue answers it again', async () => {
    // Prepare: a queue whose visibility timeout does not hide anything.
    const queue = new MemoryQueue();
    queue.send(ddbMessage(sequenceNumber(1), sequenceNumber(99)));
    const leaky = Object.assign(queue, {
      receive: async (max: number) => MemoryQueue.prototype.receive.call(queue, max, 0),
    });
    const aged = new Map([
      [`${STREAM_ARN}|${SHARD}`, new FakeShard<unknown>([], { closed: true })],
    ]);

    // Act
    const { report } = await run(leaky, { dynamodb: fakeReader(aged) });

    // Assert: released with the receipt of its latest receive.
    expect(report.seen).toBe(1);
    expect(report.left.map((r) => r.outcome)).toEqual(['aged-out']);
    expect(queue.releasedHandles).toEqual(['rh-2-m1']);
  });

  it('re-drives a Kinesis range through the Kinesis adapter with its time versions', async () => {
    // Prepare
    const micros = BigInt(CREATED_AT) * 1_000_000n + 123_456n;
    const kin = [1, 2, 3].map((n) =>
      kinesisRecord(
        dynamodbChangeJson({
          keys: transactionKeys(4, n),
          newImage: transactionImage(4, n),
          createdAt: Number(micros) + n,
        }),
        { sequenceNumber: kinesisSequenceNumber(n) },
      ),
    );
    const queue = new MemoryQueue();
    queue.send({
      KinesisBatchInfo: {
        shardId: 'shardId-000000000000',
        startSequenceNumber: kinesisSequenceNumber(1),
        endSequenceNumber: kinesisSequenceNumber(2),
        batchSize: 2,
        streamArn: KINESIS_ARN,
      },
    });
    const reader = fakeReader(
      new Map([
        [
          `${KINESIS_ARN}|shardId-000000000000`,
          new FakeShard<unknown>(
            shardOf(kin, (r) => r.kinesis.sequenceNumber as string),
            { pageSize: 1 },
          ),
        ],
      ]),
    );

    // Act
    const { fake } = await run(queue, { kinesis: reader });

    // Assert
    expect(fake.sent().map((a) => [a.id, a.version])).toEqual([
      ['4|1', expectedTimeVersion(micros + 1n)],
      ['4|2', expectedTimeVersion(micros + 2n)],
    ]);
    expect(queue.ids()).toEqual([]);
  });
});

describe('records read back through the SDK, in the shape Lambda delivers', () => {
  it('turns a DynamoDB Streams GetRecords record into the stream event record (seconds, base64, userIdentity)', () => {
    // Prepare: what @aws-sdk/client-dynamodb-streams hands back for a TTL delete with binary keys.
    const sdk = {
      eventID: 'e1',
      eventName: 'REMOVE' as const,
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'eu-west-1',
      dynamodb: {
        ApproximateCreationDateTime: new Date(CREATED_AT * 1000),
        Keys: { id: { B: Uint8Array.from([1, 2, 255]) }, n: { N: '3' } },
        OldImage: {
          id: { B: Uint8Array.from([1, 2, 255]) },
          tags: { BS: [Uint8Array.from([0])] },
          nested: { M: { list: { L: [{ B: Uint8Array.from([7]) }, { S: 'x' }] } } },
        },
        SequenceNumber: sequenceNumber(9),
        SizeBytes: 40,
        StreamViewType: 'NEW_AND_OLD_IMAGES' as const,
      },
      userIdentity: { PrincipalId: 'dynamodb.amazonaws.com', Type: 'Service' },
    };

    // Act
    const record = lambdaStreamRecord(sdk, STREAM_ARN);

    // Assert
    expect(record).toEqual({
      eventID: 'e1',
      eventName: 'REMOVE',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'eu-west-1',
      eventSourceARN: STREAM_ARN,
      dynamodb: {
        ApproximateCreationDateTime: CREATED_AT,
        Keys: { id: { B: 'AQL/' }, n: { N: '3' } },
        OldImage: {
          id: { B: 'AQL/' },
          tags: { BS: ['AA=='] },
          nested: { M: { list: { L: [{ B: 'Bw==' }, { S: 'x' }] } } },
        },
        SequenceNumber: sequenceNumber(9),
        SizeBytes: 40,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
    });
  });

  it('turns a Kinesis GetRecords record into the Lambda Kinesis record', () => {
    const data = Buffer.from('{"eventSource":"aws:dynamodb"}', 'utf8');

    const record = lambdaKinesisRecord(
      {
        SequenceNumber: kinesisSequenceNumber(1),
        ApproximateArrivalTimestamp: new Date(CREATED_AT * 1000 + 500),
        Data: new Uint8Array(data),
        PartitionKey: 'pk',
      },
      'shardId-000000000000',
      KINESIS_ARN,
      'eu-west-1',
    );

    expect(record).toEqual({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'pk',
        sequenceNumber: kinesisSequenceNumber(1),
        data: data.toString('base64'),
        approximateArrivalTimestamp: CREATED_AT + 0.5,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000000:${kinesisSequenceNumber(1)}`,
      eventName: 'aws:kinesis:record',
      awsRegion: 'eu-west-1',
      eventSourceARN: KINESIS_ARN,
    });
  });
});

describe('failure-queue re-drive rules', () => {
  const records = [insert(1), insert(2), insert(3)];
  const shards = (): Map<string, FakeShard<unknown>> =>
    new Map([[`${STREAM_ARN}|${SHARD}`, new FakeShard<unknown>(shardOf(records, seqOfStream))]]);

  it.each([
    ['QueueUnavailableError', new QueueUnavailableError('x')],
    ['RangeAgedOutError', new RangeAgedOutError('x')],
  ])('names its errors for the report: %s', (name, error) => {
    expect(error.name).toBe(name);
  });

  it.each([
    ['null', 'null', 'not a JSON object'],
    ['a number', '5', 'not a JSON object'],
    ['a string', '"DDBStreamBatchInfo"', 'not a JSON object'],
    [
      'batch info that is null',
      '{"DDBStreamBatchInfo":null}',
      'DDBStreamBatchInfo is not an object',
    ],
    ['batch info that is text', '{"KinesisBatchInfo":"x"}', 'KinesisBatchInfo is not an object'],
    [
      'no stream ARN',
      JSON.stringify({
        DDBStreamBatchInfo: { shardId: 's', startSequenceNumber: '1', endSequenceNumber: '2' },
      }),
      'DDBStreamBatchInfo.streamArn is missing',
    ],
    [
      'an empty stream ARN',
      JSON.stringify({
        DDBStreamBatchInfo: {
          streamArn: '',
          shardId: 's',
          startSequenceNumber: '1',
          endSequenceNumber: '2',
        },
      }),
      'DDBStreamBatchInfo.streamArn is missing',
    ],
    [
      'an empty shard',
      JSON.stringify({
        DDBStreamBatchInfo: {
          streamArn: 'a',
          shardId: '',
          startSequenceNumber: '1',
          endSequenceNumber: '2',
        },
      }),
      'DDBStreamBatchInfo.shardId is missing',
    ],
    [
      'no end',
      JSON.stringify({
        DDBStreamBatchInfo: { streamArn: 'a', shardId: 's', startSequenceNumber: '1' },
      }),
      'DDBStreamBatchInfo.endSequenceNumber is not a sequence number',
    ],
    [
      'an end that is a number',
      JSON.stringify({
        DDBStreamBatchInfo: {
          streamArn: 'a',
          shardId: 's',
          startSequenceNumber: '1',
          endSequenceNumber: 2,
        },
      }),
      'DDBStreamBatchInfo.endSequenceNumber is not a sequence number',
    ],
    [
      'an end that is not decimal',
      JSON.stringify({
        DDBStreamBatchInfo: {
          streamArn: 'a',
          shardId: 's',
          startSequenceNumber: '1',
          endSequenceNumber: '2e3',
        },
      }),
      'DDBStreamBatchInfo.endSequenceNumber is not a sequence number',
    ],
  ])('refuses a message with %s, saying why', (_name, body, problem) => {
    expect(parseMessage(body)).toBe(problem);
  });

  it.each([
    ['an empty start', '', '1', false],
    ['an end of 129 digits', '1', '9'.repeat(129), false],
    ['a start with a sign', '+1', '2', false],
    [
      'one digit to 128 digits (a Kinesis sequence number is at most 128)',
      '7',
      '9'.repeat(128),
      true,
    ],
  ])('takes sequence numbers of 1 to 128 decimal digits only: %s', (_name, start, end, usable) => {
    // Prepare
    const body = JSON.stringify({
      DDBStreamBatchInfo: {
        streamArn: STREAM_ARN,
        shardId: SHARD,
        startSequenceNumber: start,
        endSequenceNumber: end,
      },
    });

    // Act
    const parsed = parseMessage(body);

    // Assert
    expect(typeof parsed !== 'string').toBe(usable);
  });

  it('leaves batchSize unknown when the message does not give it as a number', () => {
    const body = JSON.stringify({
      DDBStreamBatchInfo: {
        streamArn: STREAM_ARN,
        shardId: SHARD,
        startSequenceNumber: '1',
        endSequenceNumber: '2',
        batchSize: '3',
      },
    });

    expect(parseMessage(body)).toMatchObject({ kind: 'dynamodb', batchSize: undefined });
  });

  it('finds a table only in a whole DynamoDB stream ARN, not in text that merely contains one', () => {
    expect(tableOfStream(`x${STREAM_ARN}`)).toBeUndefined();
  });

  it('says nothing more waits after --limit when the queue counts none', async () => {
    // Prepare
    const queue = new MemoryQueue();
    queue.send(ddbMessage(sequenceNumber(1), sequenceNumber(1)));
    queue.send(ddbMessage(sequenceNumber(2), sequenceNumber(2)));

    // Act
    const { report } = await run(
      queue,
      { dynamodb: fakeReader(shards()) },
      { options: { limit: 2 } },
    );

    // Assert
    expect(report.counts.redriven).toBe(2);
    expect(report.more).toBe(false);
    expect(anythingLeftInQueue(report)).toBe(false);
  });

  it('handles nothing more once a later receive fails', async () => {
    // Prepare
    const queue = new MemoryQueue();
    queue.send(ddbMessage(sequenceNumber(1), sequenceNumber(1)));
    const receive = queue.receive.bind(queue);
    let calls = 0;
    queue.receive = async (max, visibility) => {
      if (calls++ >= 1) throw new QueueUnavailableError('cannot receive: throttled');
      return receive(max, visibility);
    };

    // Act
    const { report } = await run(queue, { dynamodb: fakeReader(shards()) });

    // Assert
    expect(report.seen).toBe(1);
    expect(report.counts).toMatchObject({ redriven: 1, malformed: 0 });
  });

  it('keeps a message whose range the stream could not be read to its end (unreadable)', async () => {
    // Prepare
    const queue = new MemoryQueue();
    queue.send(ddbMessage(sequenceNumber(1), sequenceNumber(3)));
    const reader: StreamReader = {
      readRange: async () => ({
        kind: 'incomplete',
        detail: '5 empty pages before sequence number 3',
      }),
    };

    // Act
    const { report, fake } = await run(queue, { dynamodb: reader });

    // Assert
    expect(report.left).toEqual([
      expect.objectContaining({
        messageId: 'm1',
        outcome: 'unreadable',
        detail: '5 empty pages before sequence number 3',
      }),
    ]);
    expect(fake.calls).toEqual([]);
    expect(queue.ids()).toEqual(['m1']);
  });

  it('reports a message whose range is done but whose delete failed, and keeps it for the next run', async () => {
    // Prepare
    const queue = new MemoryQueue();
    queue.send(ddbMessage(sequenceNumber(1), sequenceNumber(3)));
    queue.delete = async () => {
      throw Object.assign(new Error('receipt handle expired'), { name: 'ReceiptHandleIsInvalid' });
    };

    // Act
    const { report } = await run(queue, { dynamodb: fakeReader(shards()) });

    // Assert
    expect(report.left).toEqual([
      expect.objectContaining({
        outcome: 'delete-failed',
        detail: 'done, but ReceiptHandleIsInvalid: receipt handle expired',
      }),
    ]);
    expect(report.counts['delete-failed']).toBe(1);
    expect(queue.calls).toContain('release m1');
  });

  it('says how many records a re-driven message held', async () => {
    // Prepare
    const queue = new MemoryQueue();
    queue.send(ddbMessage(sequenceNumber(1), sequenceNumber(3)));
    const results: MessageResult[] = [];

    // Act
    await redriveFailureQueue(
      { dryRun: false, limit: undefined, table: undefined },
      {
        queue,
        readers: { dynamodb: fakeReader(shards()) },
        core: {
          config: batchConfig(),
          search: fakeSearch().search,
          logger: captureLogger().logger,
          deadLetters: undefined,
        },
        onMessage: (result) => results.push(result),
      },
    );

    // Assert
    expect(results.map((r) => [r.outcome, r.detail])).toEqual([['redriven', '3 records']]);
  });

  it('replays a range in core calls of --core-batch records, each record once', async () => {
    // Prepare
    const queue = new MemoryQueue();
    queue.send(ddbMessage(sequenceNumber(1), sequenceNumber(3)));

    // Act
    const { report, fake } = await run(
      queue,
      { dynamodb: fakeReader(shards()) },
      { options: { coreBatch: 2 } },
    );

    // Assert
    expect(fake.calls.map((c) => c.actions.map((a) => a.id))).toEqual([['3|51', '3|52'], ['3|53']]);
    expect(report.records.indexed).toBe(3);
    expect(report.counts.redriven).toBe(1);
  });

  it('makes no core call beyond the last record when the range fills its core batches exactly', async () => {
    // Prepare
    const queue = new MemoryQueue();
    queue.send(ddbMessage(sequenceNumber(1), sequenceNumber(2)));
    const logs = captureLogger();

    // Act
    await redriveFailureQueue(
      { dryRun: false, limit: undefined, table: undefined, coreBatch: 1 },
      {
        queue,
        readers: { dynamodb: fakeReader(shards()) },
        core: {
          config: batchConfig(),
          search: fakeSearch().search,
          logger: logs.logger,
          deadLetters: undefined,
        },
      },
    );

    // Assert: one 'batch processed' line per core call.
    expect(logs.all('batch processed')).toHaveLength(2);
  });

  it('gives each core call the re-drive budget: it retries a cluster that is down until the budget is spent, then keeps the message', async () => {
    // Prepare
    const queue = new MemoryQueue();
    queue.send(ddbMessage(sequenceNumber(1), sequenceNumber(1)));

    // Act
    const { report, fake, elapsedMs } = await run(
      queue,
      { dynamodb: fakeReader(shards()) },
      { search: { request: () => new BulkRequestError(503, 'Service Unavailable') } },
    );

    // Assert
    expect(report.left.map((r) => r.outcome)).toEqual(['not-done']);
    expect(fake.calls.length).toBeGreaterThan(3);
    expect(elapsedMs).toBeGreaterThan(BATCH_BUDGET_MS / 2);
    expect(elapsedMs).toBeLessThanOrEqual(BATCH_BUDGET_MS);
  });

  it.each([
    [true, 'would be dead-lettered'],
    [false, 'would stay: no DEAD_LETTER_BUCKET'],
  ])(
    'in a dry run, counts skipped records and says where malformed ones would go (bucket set: %s)',
    async (deadLetters, fate) => {
      // Prepare: a TTL delete the configuration ignores, and a record without its new image.
      const ttl = streamRecord({
        eventName: 'REMOVE',
        keys: transactionKeys(3, 70),
        sequenceNumber: sequenceNumber(1),
        ttl: true,
      });
      const broken = insert(2);
      delete (broken.dynamodb as Record<string, unknown>).NewImage;
      const queue = new MemoryQueue();
      queue.send(ddbMessage(sequenceNumber(1), sequenceNumber(3)));
      const shard = new Map([
        [
          `${STREAM_ARN}|${SHARD}`,
          new FakeShard<unknown>(shardOf([ttl, broken, insert(3)], seqOfStream)),
        ],
      ]);

      // Act
      const { report } = await run(
        queue,
        { dynamodb: fakeReader(shard) },
        { options: { dryRun: true }, deadLetters, config: { ttlDeletes: 'ignore' } },
      );

      // Assert
      expect(report.left.map((r) => r.detail)).toEqual([
        `3 records: 1 index, 0 delete, 1 skip, 1 malformed (${fate})`,
      ]);
    },
  );
});

import { BulkRequestError } from '../../lib/errors';
import {
  anythingLeft,
  redriveDeadLetters,
  type DeadLetterRedriveOptions,
  type RedriveReport,
} from '../../lib/redrive/dead-letters';
import type { DeadLetterStore } from '../../lib/redrive/store';
import {
  batchConfig,
  captureLogger,
  CREATED_AT,
  dynamodbChangeJson,
  expectedTimeVersion,
  expectedVersion,
  kinesisRecord,
  kinesisSequenceNumber,
  fakeSearch,
  item,
  sequenceNumber,
  streamRecord,
  transactionImage,
  transactionKeys,
  type FakeSearch,
  type FakeSearchOptions,
  type TestStreamRecord,
} from './factories';

/** An in-memory bucket; `unreadable` keys fail on get, `failMoves` makes every move fail. */
class MemoryStore implements DeadLetterStore {
  readonly location = 's3://dead-letters/';
  readonly objects = new Map<string, string>();
  readonly unreadable = new Set<string>();
  readonly writes: string[] = [];
  failMoves = false;

  async *list(prefix: string): AsyncIterable<string> {
    for (const key of [...this.objects.keys()].sort()) if (key.startsWith(prefix)) yield key;
  }
  async get(key: string): Promise<string> {
    if (this.unreadable.has(key)) throw new Error('AccessDenied');
    const body = this.objects.get(key);
    if (body === undefined) throw new Error('NoSuchKey');
    return body;
  }
  async put(key: string, body: string): Promise<void> {
    this.writes.push(`put ${key}`);
    this.objects.set(key, body);
  }
  async move(from: string, to: string): Promise<void> {
    if (this.failMoves) throw new Error('SlowDown');
    this.writes.push(`move ${from} ${to}`);
    this.objects.set(to, (await this.get(from)) as string);
    this.objects.delete(from);
  }
  async delete(key: string): Promise<void> {
    this.writes.push(`delete ${key}`);
    this.objects.delete(key);
  }
  json(key: string): Record<string, unknown> {
    return JSON.parse(this.objects.get(key) ?? 'null') as Record<string, unknown>;
  }
}

function letterKey(n: number): string {
  return `dead-letter/2023/11/14/22/${sequenceNumber(n)}-event-${sequenceNumber(n)}.json`;
}

/** Stores `record` as the handler's S3 sink does. */
function storeLetter(store: MemoryStore, key: string, record: unknown, source?: string): void {
  store.objects.set(
    key,
    JSON.stringify({
      errorType: 'mapper_parsing_exception',
      reason: 'failed to parse field [amount]',
      index: 'transactions',
      documentId: '3|51',
      failedAt: '2023-11-14T22:13:20.000Z',
      ...(source === undefined ? {} : { source }),
      record,
    }),
  );
}

function insert(n: number, transactionId = 50 + n, extra = {}): TestStreamRecord {
  return streamRecord({
    keys: transactionKeys(3, transactionId),
    newImage: transactionImage(3, transactionId, extra),
    sequenceNumber: sequenceNumber(n),
  });
}

const OPTIONS: DeadLetterRedriveOptions = {
  prefix: 'dead-letter/',
  deadLetterPrefix: 'dead-letter/',
  dryRun: false,
  limit: undefined,
  deleteDone: false,
};

async function run(
  store: MemoryStore,
  search: FakeSearch | FakeSearchOptions = {},
  options: Partial<DeadLetterRedriveOptions> = {},
): Promise<{ report: RedriveReport; fake: FakeSearch }> {
  const fake = 'search' in search ? search : fakeSearch(search);
  // Virtual time: only the core's backoff sleeps move it, so its deadline ends a retry loop.
  let now = (CREATED_AT + 60) * 1000;
  const report = await redriveDeadLetters(
    { ...OPTIONS, ...options },
    {
      store,
      core: {
        config: batchConfig({ retryBaseMs: 1000, retryMaxMs: 5000 }),
        search: fake.search,
        logger: captureLogger().logger,
        sleep: async (ms) => {
          now += ms;
        },
      },
      now: () => now,
    },
  );
  return { report, fake };
}

describe('redriveDeadLetters', () => {
  it('replays each letter with its original version and moves the done ones to replayed/', async () => {
    // Prepare
    const store = new MemoryStore();
    storeLetter(store, letterKey(1), insert(1), 'dynamodb');
    storeLetter(
      store,
      letterKey(2),
      streamRecord({
        eventName: 'REMOVE',
        keys: transactionKeys(3, 60),
        sequenceNumber: sequenceNumber(2),
      }),
    );

    // Act
    const { report, fake } = await run(store);

    // Assert
    expect(fake.sent().map((a) => [a.action, a.id, a.version])).toEqual([
      ['index', '3|51', expectedVersion(CREATED_AT, sequenceNumber(1))],
      ['delete', '3|60', expectedVersion(CREATED_AT, sequenceNumber(2))],
    ]);
    expect([...store.objects.keys()].sort()).toEqual([
      `replayed/2023/11/14/22/${sequenceNumber(1)}-event-${sequenceNumber(1)}.json`,
      `replayed/2023/11/14/22/${sequenceNumber(2)}-event-${sequenceNumber(2)}.json`,
    ]);
    expect(report.counts.replayed).toBe(2);
    expect(anythingLeft(report)).toBe(false);
  });

  it('counts a letter the index already holds a newer version of as done (409), and overwrites nothing', async () => {
    // Prepare
    const store = new MemoryStore();
    storeLetter(store, letterKey(1), insert(1));

    // Act
    const { report } = await run(store, {
      item: () =>
        item(
          409,
          'version_conflict_engine_exception',
          '[3|51]: version conflict, current version [9999999999999999999] is higher or equal to the one provided [1]',
        ),
    });

    // Assert
    expect(report.counts.replayed).toBe(1);
    expect(store.objects.has(letterKey(1))).toBe(false);
  });

  it('rewrites a letter rejected again at its own key with the new reason: one object, no copy', async () => {
    // Prepare
    const store = new MemoryStore();
    storeLetter(store, letterKey(1), insert(1));
    storeLetter(store, letterKey(2), insert(2));

    // Act
    const { report } = await run(store, {
      item: (action) =>
        action.id === '3|52'
          ? item(
              400,
              'illegal_argument_exception',
              'Limit of total fields [1000] has been exceeded',
            )
          : 201,
    });

    // Assert
    expect([...store.objects.keys()].filter((k) => k.startsWith('dead-letter/'))).toEqual([
      letterKey(2),
    ]);
    expect(store.json(letterKey(2))).toMatchObject({
      errorType: 'illegal_argument_exception',
      reason: 'Limit of total fields [1000] has been exceeded',
      failedAt: new Date((CREATED_AT + 60) * 1000).toISOString(),
      record: insert(2),
    });
    expect(store.writes.filter((w) => w.startsWith('put'))).toEqual([`put ${letterKey(2)}`]);
    expect(report.left).toEqual([
      {
        key: letterKey(2),
        outcome: 'rejected',
        detail: expect.stringContaining('illegal_argument_exception'),
      },
    ]);
    expect(anythingLeft(report)).toBe(true);
  });

  it('leaves unreadable and malformed objects where they are and carries on', async () => {
    // Prepare
    const store = new MemoryStore();
    store.objects.set('dead-letter/a.json', '{"truncated');
    store.objects.set('dead-letter/b.json', '{"errorType":"x"}');
    storeLetter(store, 'dead-letter/c.json', insert(3), 'carrier-pigeon');
    storeLetter(store, 'dead-letter/d.json', insert(4));
    store.unreadable.add('dead-letter/d.json');
    storeLetter(store, letterKey(5), insert(5));

    // Act
    const { report } = await run(store);

    // Assert
    expect(report.left.map((r) => [r.key, r.outcome])).toEqual([
      ['dead-letter/a.json', 'malformed'],
      ['dead-letter/b.json', 'malformed'],
      ['dead-letter/c.json', 'malformed'],
      ['dead-letter/d.json', 'unreadable'],
    ]);
    expect(report.counts.replayed).toBe(1);
    expect(store.objects.get('dead-letter/a.json')).toBe('{"truncated');
    expect(store.writes.every((w) => w.startsWith(`move ${letterKey(5)}`))).toBe(true);
  });

  it('leaves a letter the cluster did not take in time untouched', async () => {
    // Prepare
    const store = new MemoryStore();
    storeLetter(store, letterKey(1), insert(1));
    const before = store.objects.get(letterKey(1));

    // Act
    const { report } = await run(store, {
      request: () => new BulkRequestError(503, 'Service Unavailable'),
    });

    // Assert
    expect(report.left).toEqual([
      expect.objectContaining({ key: letterKey(1), outcome: 'not-done' }),
    ]);
    expect(store.objects.get(letterKey(1))).toBe(before);
    expect(store.writes).toEqual([]);
  });

  it('applies two letters of one item in stream order whatever the listing order', async () => {
    // Prepare: the later change (sequence 10) is listed first, its key sorting before "9".
    const store = new MemoryStore();
    storeLetter(store, 'dead-letter/2023/11/14/22/10.json', insert(10, 51, { amount: { N: '2' } }));
    storeLetter(store, 'dead-letter/2023/11/14/22/9.json', insert(9, 51, { amount: { N: '1' } }));

    // Act
    const { report, fake } = await run(store);

    // Assert
    expect(fake.sent()).toHaveLength(1);
    expect(JSON.parse(fake.sent()[0]?.source ?? '')).toMatchObject({ amount: 2 });
    expect(fake.sent()[0]?.version).toBe(expectedVersion(CREATED_AT, sequenceNumber(10)));
    expect(report.counts.replayed).toBe(2);
  });

  it('deletes done letters with --delete', async () => {
    const store = new MemoryStore();
    storeLetter(store, letterKey(1), insert(1));

    const { report } = await run(store, {}, { deleteDone: true });

    expect(store.objects.size).toBe(0);
    expect(report.counts.deleted).toBe(1);
  });

  it('reads and plans on --dry-run, and writes nothing anywhere', async () => {
    // Prepare
    const store = new MemoryStore();
    storeLetter(store, letterKey(1), insert(1));
    storeLetter(store, letterKey(2), { eventName: 'INSERT', eventID: 'x', dynamodb: {} });
    const fake = fakeSearch();

    // Act
    const { report } = await run(store, fake, { dryRun: true });

    // Assert
    expect(fake.calls).toEqual([]);
    expect(store.writes).toEqual([]);
    expect(report.left).toEqual(
      expect.arrayContaining([
        {
          key: letterKey(1),
          outcome: 'would-replay',
          detail: `index 3|51 version ${expectedVersion(CREATED_AT, sequenceNumber(1))}`,
        },
        {
          key: letterKey(2),
          outcome: 'would-stay',
          detail: expect.stringContaining('SequenceNumber'),
        },
      ]),
    );
    expect(report.left).toHaveLength(2);
    expect(anythingLeft(report)).toBe(true);
  });

  it('stops after --limit letters and says more remain', async () => {
    const store = new MemoryStore();
    for (let n = 1; n <= 5; n++) storeLetter(store, letterKey(n), insert(n));

    const { report } = await run(store, {}, { limit: 2, batchSize: 1 });

    expect(report.seen).toBe(2);
    expect(report.counts.replayed).toBe(2);
    expect(report.more).toBe(true);
    expect(anythingLeft(report)).toBe(true);
  });

  it('re-drives only under --prefix, replaying into replayed/ beside the dead-letter prefix', async () => {
    const store = new MemoryStore();
    storeLetter(store, 'dead-letter/2023/11/14/22/a.json', insert(1));
    storeLetter(store, 'dead-letter/2023/11/15/01/b.json', insert(2));

    await run(store, {}, { prefix: 'dead-letter/2023/11/15/' });

    expect([...store.objects.keys()].sort()).toEqual([
      'dead-letter/2023/11/14/22/a.json',
      'replayed/2023/11/15/01/b.json',
    ]);
  });

  it('keeps a done letter whose move failed, and says so', async () => {
    const store = new MemoryStore();
    storeLetter(store, letterKey(1), insert(1));
    store.failMoves = true;

    const { report } = await run(store);

    expect(report.left).toEqual([
      { key: letterKey(1), outcome: 'move-failed', detail: expect.stringContaining('SlowDown') },
    ]);
  });

  it('refuses a prefix outside the dead-letter prefix', async () => {
    await expect(run(new MemoryStore(), {}, { prefix: 'replayed/' })).rejects.toThrow(
      /must start with the dead-letter prefix/,
    );
  });

  it('replays a Kinesis letter through the Kinesis adapter, with its time version', async () => {
    // Prepare: a Kinesis record as Lambda delivered it, stored as the handler's sink does.
    const micros = BigInt(CREATED_AT) * 1_000_000n + 123_456n;
    const record = kinesisRecord(
      dynamodbChangeJson({
        keys: transactionKeys(3, 70),
        newImage: transactionImage(3, 70),
        createdAt: Number(micros),
      }),
      { sequenceNumber: kinesisSequenceNumber(5) },
    );
    const key = `dead-letter/2023/11/14/22/${kinesisSequenceNumber(5)}-shard.json`;
    storeLetter(store(), key, record, 'kinesis');

    // Act
    const { report, fake } = await run(memory);

    // Assert
    expect(fake.sent().map((a) => [a.action, a.id, a.version])).toEqual([
      ['index', '3|70', expectedTimeVersion(micros)],
    ]);
    expect(report.counts.replayed).toBe(1);
    expect(memory.objects.has(key)).toBe(false);
  });
});

let memory = new MemoryStore();
function store(): MemoryStore {
  memory = new MemoryStore();
  return memory;
}

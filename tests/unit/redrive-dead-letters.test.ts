import { BulkRequestError } from '../../lib/errors';
import {
  anythingLeft,
  BATCH_BUDGET_MS,
  redriveDeadLetters,
  REDRIVE_BATCH,
  TOMBSTONE_SECONDS,
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
  type BatchConfig,
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
    expect(report.left).toEqual([]);
    expect(anythingLeft(report)).toBe(false);
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

/** Like `run`, with the core's configuration and logs at hand, and the virtual time it spent. */
async function runWith(
  store: MemoryStore,
  opts: {
    search?: FakeSearchOptions;
    options?: Partial<DeadLetterRedriveOptions>;
    config?: Partial<BatchConfig>;
  } = {},
): Promise<{
  report: RedriveReport;
  fake: FakeSearch;
  logs: ReturnType<typeof captureLogger>;
  elapsedMs: number;
}> {
  const fake = fakeSearch(opts.search ?? {});
  const logs = captureLogger();
  const start = (CREATED_AT + 60) * 1000;
  let now = start;
  const report = await redriveDeadLetters(
    { ...OPTIONS, ...opts.options },
    {
      store,
      core: {
        config: batchConfig({ retryBaseMs: 1000, retryMaxMs: 5000, ...opts.config }),
        search: fake.search,
        logger: logs.logger,
        sleep: async (ms) => {
          now += ms;
        },
      },
      now: () => now,
    },
  );
  return { report, fake, logs, elapsedMs: now - start };
}

/** A scan record as the backfill dead-letters it (lib/sources/scan.ts). */
function scanRecord(transactionId: number, version: string | undefined, amount: string): unknown {
  return {
    table: 'UsersTransactions',
    keys: transactionKeys(3, transactionId),
    item: transactionImage(3, transactionId, { amount: { N: amount } }),
    ...(version === undefined ? {} : { version }),
  };
}

describe('dead-letter re-drive rules', () => {
  it('replays the letters in core calls of --batch-size letters, REDRIVE_BATCH by default', async () => {
    // Prepare
    const small = new MemoryStore();
    for (let n = 1; n <= 3; n++) storeLetter(small, letterKey(n), insert(n));
    const large = new MemoryStore();
    for (let n = 1; n <= REDRIVE_BATCH + 1; n++) storeLetter(large, letterKey(n), insert(n));

    // Act
    const batched = await runWith(small, { options: { batchSize: 2 } });
    const byDefault = await runWith(large);

    // Assert
    expect(batched.fake.calls.map((c) => c.actions.length)).toEqual([2, 1]);
    expect(batched.report.left).toEqual([]);
    expect(batched.report.counts.replayed).toBe(3);
    expect(byDefault.logs.all('batch processed')).toHaveLength(2);
    expect(byDefault.report.counts.replayed).toBe(REDRIVE_BATCH + 1);
  });

  it.each([
    ['text that is not JSON', '{"truncated', /^not JSON: /],
    ['null', 'null', /^not a dead-letter object$/],
    ['a number', '5', /^not a dead-letter object$/],
    ['an array', '[{"record":{}}]', /^not a dead-letter object$/],
    ['no record', '{"errorType":"x"}', /^no record$/],
    [
      'an unknown source',
      '{"record":{},"source":"carrier-pigeon"}',
      /^no adapter for source "carrier-pigeon"$/,
    ],
    [
      'a source that is not text',
      '{"record":{},"source":["dynamodb"]}',
      /^no adapter for source \["dynamodb"\]$/,
    ],
  ])('leaves a letter holding %s where it is, saying why', async (_name, body, detail) => {
    // Prepare
    const store = new MemoryStore();
    store.objects.set('dead-letter/x.json', body);

    // Act
    const { report, fake } = await runWith(store);

    // Assert
    expect(report.left).toEqual([
      { key: 'dead-letter/x.json', outcome: 'malformed', detail: expect.stringMatching(detail) },
    ]);
    expect(fake.calls).toEqual([]);
    expect(store.objects.get('dead-letter/x.json')).toBe(body);
  });

  it('applies letters of one item in order of creation, even when their sequence numbers say otherwise', async () => {
    // Prepare: three letters of one item from different shards, listed newest first.
    const store = new MemoryStore();
    const change = (seq: string, createdAt: number, amount: string): TestStreamRecord =>
      streamRecord({
        keys: transactionKeys(3, 51),
        newImage: transactionImage(3, 51, { amount: { N: amount } }),
        sequenceNumber: seq,
        createdAt,
      });
    storeLetter(store, 'dead-letter/a.json', change(sequenceNumber(1), CREATED_AT + 2, '3'));
    storeLetter(store, 'dead-letter/b.json', change(sequenceNumber(3), CREATED_AT, '1'));
    storeLetter(store, 'dead-letter/c.json', change(sequenceNumber(2), CREATED_AT + 1, '2'));

    // Act
    const { fake } = await runWith(store);

    // Assert
    expect(fake.sent()).toHaveLength(1);
    expect(JSON.parse(fake.sent()[0]?.source ?? '')).toMatchObject({ amount: 3 });
  });

  it.each([
    ['10 listed first', ['10', '9']],
    ['9 listed first', ['9', '10']],
  ])(
    'compares sequence numbers of different lengths as numbers (9 before 10; %s)',
    async (_name, listed) => {
      // Prepare: keys a, b in listing order; "10" sorts as text before "9".
      const store = new MemoryStore();
      for (const [at, seq] of listed.entries()) {
        storeLetter(
          store,
          `dead-letter/${'ab'[at]}.json`,
          streamRecord({
            keys: transactionKeys(3, 51),
            newImage: transactionImage(3, 51, { amount: { N: seq } }),
            sequenceNumber: seq,
          }),
        );
      }

      // Act
      const { fake } = await runWith(store);

      // Assert
      expect(fake.sent()).toHaveLength(1);
      expect(JSON.parse(fake.sent()[0]?.source ?? '')).toMatchObject({ amount: 10 });
    },
  );

  it.each([
    ['12ab', '9'],
    ['9', '12ab'],
    ['ab12', '9'],
    ['9', 'ab12'],
  ])(
    'orders a letter whose sequence number is not a number (%s, %s) without failing the run',
    async (first, second) => {
      // Prepare: listed in the order given (keys a, b); the malformed one is rejected again.
      const store = new MemoryStore();
      for (const [key, seq, id] of [
        ['dead-letter/a.json', first, 51],
        ['dead-letter/b.json', second, 52],
      ] as const) {
        storeLetter(
          store,
          key,
          streamRecord({
            keys: transactionKeys(3, id),
            newImage: transactionImage(3, id),
            sequenceNumber: seq,
          }),
        );
      }

      // Act
      const { report } = await runWith(store);

      // Assert
      expect(report.counts.replayed).toBe(1);
      expect(report.counts.rejected).toBe(1);
    },
  );

  it.each([
    ['the later read listed first', 'a', 'b'],
    ['the later read listed last', 'b', 'a'],
  ])(
    'orders scan letters of one item read in the same second by their version text (%s)',
    async (_name, later, earlier) => {
      // Prepare: two reads of one item in the same second (version >> 31).
      const base = BigInt(CREATED_AT) << 31n;
      const store = new MemoryStore();
      storeLetter(
        store,
        `dead-letter/${later}.json`,
        scanRecord(51, String(base + 20n), '2'),
        'scan',
      );
      storeLetter(
        store,
        `dead-letter/${earlier}.json`,
        scanRecord(51, String(base + 10n), '1'),
        'scan',
      );

      // Act
      const { fake, report } = await runWith(store);

      // Assert
      expect(fake.sent()).toHaveLength(1);
      expect(JSON.parse(fake.sent()[0]?.source ?? '')).toMatchObject({ amount: 2 });
      expect(report.counts.replayed).toBe(2);
    },
  );

  it('plans an operation without a version, and a skipped record, on --dry-run', async () => {
    // Prepare: a scan letter without a version, and a TTL delete the configuration ignores.
    const store = new MemoryStore();
    storeLetter(store, 'dead-letter/a.json', scanRecord(51, undefined, '1'), 'scan');
    storeLetter(
      store,
      'dead-letter/b.json',
      streamRecord({ eventName: 'REMOVE', keys: transactionKeys(3, 52), ttl: true }),
    );

    // Act
    const { report, fake } = await runWith(store, {
      options: { dryRun: true },
      config: { ttlDeletes: 'ignore' },
    });

    // Assert
    expect(fake.calls).toEqual([]);
    expect(report.left).toEqual([
      { key: 'dead-letter/a.json', outcome: 'would-replay', detail: 'index 3|51' },
      {
        key: 'dead-letter/b.json',
        outcome: 'would-replay',
        detail: expect.stringMatching(/^skip \(.+\)$/),
      },
    ]);
  });

  it('logs where a letter rejected again is kept: its own object', async () => {
    // Prepare
    const store = new MemoryStore();
    storeLetter(store, letterKey(2), insert(2));

    // Act
    const { logs } = await runWith(store, {
      search: {
        item: () => item(400, 'mapper_parsing_exception', 'failed to parse field [amount]'),
      },
    });

    // Assert
    expect(logs.find('record dead-lettered')).toMatchObject({
      location: `s3://dead-letters/${letterKey(2)}`,
    });
  });

  it.each([
    ['the new document id when the core names one', insert(2), '3|52'],
    [
      'the stored document id when the core names none',
      { eventName: 'INSERT', dynamodb: {} },
      '3|51',
    ],
  ])('rewrites a letter rejected again with %s', async (_name, record, documentId) => {
    // Prepare: the stored letter says 3|51.
    const store = new MemoryStore();
    storeLetter(store, letterKey(2), record);

    // Act
    await runWith(store, {
      search: {
        item: () => item(400, 'mapper_parsing_exception', 'failed to parse field [amount]'),
      },
    });

    // Assert
    expect(store.json(letterKey(2)).documentId).toBe(documentId);
  });

  it('reports a letter rejected again whose rewrite failed: the object keeps its old reason', async () => {
    // Prepare
    const store = new MemoryStore();
    storeLetter(store, letterKey(2), insert(2));
    const before = store.objects.get(letterKey(2));
    store.put = async () => {
      throw new Error('SlowDown');
    };

    // Act
    const { report } = await runWith(store, {
      search: {
        item: () => item(400, 'mapper_parsing_exception', 'failed to parse field [amount]'),
      },
    });

    // Assert
    expect(report.left).toEqual([
      {
        key: letterKey(2),
        outcome: 'rejected',
        detail:
          'mapper_parsing_exception: failed to parse field [amount] (the object keeps its old reason: Error: SlowDown)',
      },
    ]);
    expect(store.objects.get(letterKey(2))).toBe(before);
  });

  it('retries a cluster that is down for the re-drive budget, then leaves the letter, saying why', async () => {
    // Prepare
    const store = new MemoryStore();
    storeLetter(store, letterKey(1), insert(1));

    // Act
    const { report, fake, elapsedMs } = await runWith(store, {
      search: { request: () => new BulkRequestError(503, 'Service Unavailable') },
    });

    // Assert
    expect(report.left).toEqual([
      { key: letterKey(1), outcome: 'not-done', detail: 'not taken by the cluster in time' },
    ]);
    expect(fake.calls.length).toBeGreaterThan(3);
    expect(elapsedMs).toBeGreaterThan(BATCH_BUDGET_MS / 2);
    expect(elapsedMs).toBeLessThanOrEqual(BATCH_BUDGET_MS);
  });

  it('counts done letters older than the tombstone window (index.gc_deletes), and only those', async () => {
    // Prepare: the run's clock reads CREATED_AT + 60 s.
    const now = CREATED_AT + 60;
    const store = new MemoryStore();
    const at = (n: number, createdAt: number): TestStreamRecord =>
      streamRecord({
        keys: transactionKeys(3, 50 + n),
        newImage: transactionImage(3, 50 + n),
        sequenceNumber: sequenceNumber(n),
        createdAt,
      });
    storeLetter(store, letterKey(1), at(1, now - TOMBSTONE_SECONDS - 1));
    storeLetter(store, letterKey(4), at(4, now - TOMBSTONE_SECONDS - 3600));
    storeLetter(store, letterKey(2), at(2, now - TOMBSTONE_SECONDS));
    storeLetter(store, letterKey(3), at(3, now - 60));
    storeLetter(store, 'dead-letter/scan.json', scanRecord(60, undefined, '1'), 'scan');

    // Act
    const { report } = await runWith(store);

    // Assert
    expect(report.counts.replayed).toBe(5);
    expect(report.olderThanTombstones).toBe(2);
  });
});

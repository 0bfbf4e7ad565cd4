import { BulkRequestError, DeadLetterWriteError } from '../../lib/errors';
import {
  MIN_REQUEST_MS,
  processBatch,
  UnreportableFailureError,
  type BatchDependencies,
  type BatchResult,
} from '../../lib/process-batch';
import { createEmf } from '../../lib/metrics';
import {
  batchConfig,
  captureLogger,
  CREATED_AT,
  expectedVersion,
  fakeDeadLetters,
  fakeSearch,
  item,
  ok,
  sequenceNumber,
  streamRecord,
  transactionImage,
  transactionKeys,
  virtualTime,
  withoutStreamField,
  type BatchConfig,
  type BulkAction,
  type CapturedLogs,
  type FakeDeadLetters,
  type FakeSearch,
  type FakeSearchOptions,
  type TestStreamRecord,
  type VirtualTime,
} from './factories';

/** A unique string that only ever appears inside documents, never in keys. */
const MARKER = 'SECRET-DOCUMENT-CONTENT-7f3a';

interface Harness {
  readonly fake: FakeSearch;
  readonly deadLetters: FakeDeadLetters | undefined;
  readonly logs: CapturedLogs;
  readonly time: VirtualTime;
  readonly deps: BatchDependencies;
  run(records: readonly unknown[]): Promise<BatchResult>;
}

interface HarnessOptions {
  readonly search?: FakeSearchOptions;
  /** `false` for no dead-letter sink. */
  readonly deadLetters?: FakeDeadLetters | false;
  readonly config?: Partial<BatchConfig>;
  readonly budgetMs?: number;
}

function harness(options: HarnessOptions = {}): Harness {
  const fake = fakeSearch(options.search);
  const deadLetters =
    options.deadLetters === false ? undefined : (options.deadLetters ?? fakeDeadLetters());
  const logs = captureLogger('debug');
  const time = virtualTime(options.budgetMs ?? 60_000);
  const deps: BatchDependencies = {
    config: batchConfig(options.config),
    search: fake.search,
    deadLetters: deadLetters?.sink,
    logger: logs.logger,
    remainingMs: time.remainingMs,
    sleep: time.sleep,
    random: time.random,
    clock: time.clock,
  };
  return { fake, deadLetters, logs, time, deps, run: (records) => processBatch(records, deps) };
}

/** Three records of the article's table: two upserts and a delete, numbered from `first`. */
function threeRecords(first = 1): TestStreamRecord[] {
  return [
    streamRecord({
      eventName: 'INSERT',
      keys: transactionKeys(3, 51),
      newImage: transactionImage(3, 51),
      sequenceNumber: sequenceNumber(first),
    }),
    streamRecord({
      eventName: 'MODIFY',
      keys: transactionKeys(3, 52),
      newImage: transactionImage(3, 52, {
        amount: { N: '3.14159265358979323846' },
        note: { S: MARKER },
      }),
      sequenceNumber: sequenceNumber(first + 1),
    }),
    streamRecord({
      eventName: 'REMOVE',
      keys: transactionKeys(4, 1),
      sequenceNumber: sequenceNumber(first + 2),
    }),
  ];
}

const failures = (...seqs: string[]): BatchResult['response'] => ({
  batchItemFailures: seqs.map((itemIdentifier) => ({ itemIdentifier })),
});

describe('processBatch', () => {
  describe('a batch that succeeds', () => {
    it('sends the exact NDJSON (ids, versions, documents) and reports no failures', async () => {
      // Prepare
      const h = harness();
      const records = threeRecords();

      // Act
      const { response, summary } = await h.run(records);

      // Assert
      expect(response).toEqual({ batchItemFailures: [] });
      expect(h.fake.calls).toHaveLength(1);
      const v = (n: number): string => expectedVersion(CREATED_AT, sequenceNumber(n));
      const expectedBody =
        `{"index":{"_id":"3|51","version":${v(1)},"version_type":"external"}}\n` +
        '{"userId":3,"transactionId":51,"accountId":3,"amount":11,"shortDescription":"Final mega test 2"}\n' +
        `{"index":{"_id":"3|52","version":${v(2)},"version_type":"external"}}\n` +
        `{"userId":3,"transactionId":52,"accountId":3,"amount":3.14159265358979323846,"shortDescription":"Final mega test 2","note":"${MARKER}"}\n` +
        `{"delete":{"_id":"4|1","version":${v(3)},"version_type":"external"}}\n`;
      expect(h.fake.calls[0]?.body).toBe(expectedBody);
      expect(h.fake.calls[0]?.operations).toBe(3);
      expect(summary).toMatchObject({
        records: 3,
        indexed: 2,
        deleted: 1,
        notFound: 0,
        stale: 0,
        superseded: 0,
        skipped: 0,
        retried: 0,
        deadLettered: 0,
        failed: 0,
        requests: 1,
        bytes: Buffer.byteLength(expectedBody, 'utf8'),
      });
    });

    it('returns an empty response for an empty batch without sending anything', async () => {
      const h = harness();

      const { response, summary } = await h.run([]);

      expect(response).toEqual({ batchItemFailures: [] });
      expect(h.fake.search.bulk).not.toHaveBeenCalled();
      expect(summary.records).toBe(0);
    });

    it('sends no version fields when versioning is off, and treats a 409 as a rejection then', async () => {
      // Prepare
      const h = harness({
        config: { versioning: false },
        search: {
          item: (a) => (a.id === '3|52' ? item(409, 'version_conflict_engine_exception') : 201),
        },
      });

      // Act
      const { response } = await h.run(threeRecords());

      // Assert
      expect(h.fake.sent().every((a) => a.metaKeys.join() === '_id')).toBe(true);
      expect(response).toEqual(failures());
      expect(h.deadLetters?.letters.map((l) => l.errorType)).toEqual([
        'version_conflict_engine_exception',
      ]);
    });

    it.each([
      [
        'a delete of a missing document (404)',
        'REMOVE',
        item(404, undefined, 'not_found'),
        'notFound',
      ],
      [
        'a stale write under external versioning (409)',
        'MODIFY',
        item(409, 'version_conflict_engine_exception', 'newer'),
        'stale',
      ],
      [
        'a stale delete under external versioning (409)',
        'REMOVE',
        item(409, 'version_conflict_engine_exception', 'newer'),
        'stale',
      ],
    ] as const)('counts %s as done', async (_label, eventName, answer, counter) => {
      // Prepare
      const h = harness({ search: { item: () => answer } });
      const record = streamRecord({ eventName });

      // Act
      const { response, summary } = await h.run([record]);

      // Assert
      expect(response).toEqual(failures());
      expect(summary[counter]).toBe(1);
      expect(h.fake.calls).toHaveLength(1);
      expect(h.deadLetters?.write).not.toHaveBeenCalled();
    });
  });

  describe('same-second tiebreak wrap', () => {
    it('re-sends a newer change refused only because its tiebreak wrapped, with the stored version + 1', async () => {
      // Prepare: the index holds version V from a change in the same second whose tiebreak is
      // 2^31 - 2; ours is tiebreak 1, i.e. 3 sequence numbers later, past the wrap.
      const record = streamRecord({ eventName: 'MODIFY' });
      const ours = BigInt(expectedVersion(CREATED_AT, sequenceNumber(1)));
      const mask = 2n ** 31n - 1n;
      const stored = (ours & ~mask) + (((ours & mask) - 3n + 2n ** 31n) & mask);
      const h = harness({
        search: {
          item: (_a, attempt) =>
            attempt === 1
              ? item(
                  409,
                  'version_conflict_engine_exception',
                  `[3|51]: version conflict, current version [${stored}] is higher or equal to the one provided [${ours}]`,
                )
              : 201,
        },
      });

      // Act
      const { response, summary } = await h.run([record]);

      // Assert
      expect(response).toEqual(failures());
      expect(h.fake.sent().map((a) => a.version)).toEqual([
        ours.toString(),
        (stored + 1n).toString(),
      ]);
      expect(summary.wrapped).toBe(1);
      expect(summary.indexed).toBe(1);
    });

    it('counts a genuinely stale change as done, without re-sending it', async () => {
      // Prepare: the stored version is a few sequence numbers AHEAD of ours in the same second.
      const record = streamRecord({ eventName: 'MODIFY' });
      const ours = BigInt(expectedVersion(CREATED_AT, sequenceNumber(1)));
      const h = harness({
        search: {
          item: () =>
            item(
              409,
              'version_conflict_engine_exception',
              `[3|51]: version conflict, current version [${ours + 4n}] is higher or equal to the one provided [${ours}]`,
            ),
        },
      });

      // Act
      const { response, summary } = await h.run([record]);

      // Assert
      expect(response).toEqual(failures());
      expect(h.fake.calls).toHaveLength(1);
      expect(summary.stale).toBe(1);
      expect(summary.wrapped).toBe(0);
    });
  });

  describe('retries', () => {
    it('re-sends only the throttled item, then succeeds', async () => {
      // Prepare
      const h = harness({
        search: {
          item: (a, attempt) =>
            a.id === '3|52' && attempt === 1 ? item(429, 'es_rejected_execution_exception') : ok(a),
        },
      });

      // Act
      const { response, summary } = await h.run(threeRecords());

      // Assert
      expect(response).toEqual(failures());
      expect(h.fake.calls.map((c) => c.actions.map((a) => a.id))).toEqual([
        ['3|51', '3|52', '4|1'],
        ['3|52'],
      ]);
      expect(h.fake.calls[1]?.body).toBe(
        h.fake.calls[0]?.body.split('\n').slice(2, 4).join('\n').concat('\n'),
      );
      expect(summary).toMatchObject({ retried: 1, indexed: 2, deleted: 1, requests: 2 });
      expect(h.time.sleep).toHaveBeenCalledTimes(1);
    });

    it.each([
      ['503', 503],
      ['500', 500],
      ['403 (blocked)', 403],
      ['status 0', 0],
    ])('retries items answered %s until they succeed', async (_label, status) => {
      const h = harness({
        search: {
          item: (a, attempt) => (attempt < 3 ? item(status) : ok(a)),
        },
      });

      const { response, summary } = await h.run(threeRecords());

      expect(response).toEqual(failures());
      expect(h.fake.calls).toHaveLength(3);
      expect(summary.retried).toBe(6);
    });

    it('backs off exponentially with jitter, capped at retryMaxMs', async () => {
      // Prepare: fails 7 times, then succeeds.
      const h = harness({
        config: { retryBaseMs: 100, retryMaxMs: 1_000 },
        search: { item: (_a, attempt) => (attempt <= 7 ? 503 : 201) },
      });

      // Act
      await h.run([streamRecord()]);

      // Assert: random() is 0.5, so each delay is 3/4 of min(max, base * 2^(n-1)).
      expect(h.time.sleep.mock.calls.map(([ms]) => ms)).toEqual([75, 150, 300, 600, 750, 750, 750]);
    });

    it.each([
      ['BulkRequestError 503', () => new BulkRequestError(503, 'unavailable')],
      ['a network error', () => new BulkRequestError(undefined, 'socket hang up')],
    ])(
      'reports exactly the earliest record not done when every request fails (%s)',
      async (_label, error) => {
        // Prepare: the first record is a TTL delete that is ignored, so it is done without a request.
        const records = [
          streamRecord({
            eventName: 'REMOVE',
            ttl: true,
            sequenceNumber: sequenceNumber(1),
            keys: transactionKeys(9, 9),
          }),
          ...threeRecords(2),
        ];
        const h = harness({ config: { ttlDeletes: 'ignore' }, search: { request: () => error() } });

        // Act
        const { response, summary } = await h.run(records);

        // Assert
        expect(response).toEqual(failures(sequenceNumber(2)));
        expect(summary.failed).toBe(3);
        expect(h.fake.calls.length).toBeGreaterThan(2);
        expect(new Set(h.fake.calls.map((c) => c.body)).size).toBe(1);
        expect(h.time.elapsed()).toBeLessThanOrEqual(60_000 - 1_000);
      },
    );

    it('fails the whole batch when the client throws anything but BulkRequestError (a bug)', async () => {
      // Prepare: the real client wraps every I/O failure in BulkRequestError, so anything else is
      // a defect that should make Lambda retry and bisect, not be retried until the deadline.
      const h = harness({ search: { request: () => new TypeError('cannot read properties') } });

      // Act
      const outcome = h.run(threeRecords());

      // Assert
      await expect(outcome).rejects.toThrow(TypeError);
      expect(h.fake.calls).toHaveLength(1);
    });

    it('reports the earliest failed record by stream order when chunks fail independently', async () => {
      // Prepare: one operation per chunk; the 2nd and 3rd keep failing, the 1st succeeds.
      const h = harness({
        config: { bulkMaxBytes: 50 },
        search: { item: (a) => (a.id === '3|51' ? 201 : 503) },
      });

      // Act
      const { response } = await h.run(threeRecords());

      // Assert
      expect(response).toEqual(failures(sequenceNumber(2)));
    });
  });

  describe('413 Request Entity Too Large', () => {
    it('splits the chunk in halves and re-sends them', async () => {
      // Prepare: the cluster only accepts two operations per request.
      const records = [1, 2, 3, 4].map((n) =>
        streamRecord({ keys: transactionKeys(1, n), sequenceNumber: sequenceNumber(n) }),
      );
      const h = harness({
        search: {
          request: (call) =>
            call.operations > 2 ? new BulkRequestError(413, 'Request size exceeded') : undefined,
        },
      });

      // Act
      const { response, summary } = await h.run(records);

      // Assert
      expect(response).toEqual(failures());
      expect(h.fake.calls.map((c) => c.actions.map((a) => a.id))).toEqual([
        ['1|1', '1|2', '1|3', '1|4'],
        ['1|1', '1|2'],
        ['1|3', '1|4'],
      ]);
      expect(summary.indexed).toBe(4);
      expect(h.time.sleep).not.toHaveBeenCalled();
    });

    it('dead-letters a single record that is answered 413 on its own', async () => {
      // Prepare
      const records = threeRecords();
      const h = harness({
        search: {
          request: (call) =>
            call.actions.some((a) => a.id === '3|52')
              ? new BulkRequestError(413, 'too large')
              : undefined,
        },
      });

      // Act
      const { response, summary } = await h.run(records);

      // Assert
      expect(response).toEqual(failures());
      expect(h.deadLetters?.letters).toEqual([
        expect.objectContaining({
          record: records[1],
          errorType: 'request_entity_too_large',
          documentId: '3|52',
        }),
      ]);
      expect(summary).toMatchObject({ deadLettered: 1, indexed: 1, deleted: 1 });
    });
  });

  describe('dead letters', () => {
    it('dead-letters a rejected item with the full record, error type and reason; the batch succeeds', async () => {
      // Prepare
      const records = threeRecords();
      const h = harness({
        search: {
          item: (a) =>
            a.id === '3|52'
              ? item(400, 'mapper_parsing_exception', `failed to parse field [note]: ${MARKER}`)
              : ok(a),
        },
      });

      // Act
      const { response, summary } = await h.run(records);

      // Assert
      expect(response).toEqual(failures());
      expect(h.deadLetters?.letters).toHaveLength(1);
      const [letter] = h.deadLetters?.letters ?? [];
      expect(letter?.record).toBe(records[1]);
      expect(letter).toEqual({
        record: records[1],
        errorType: 'mapper_parsing_exception',
        reason: `failed to parse field [note]: ${MARKER}`,
        documentId: '3|52',
        source: 'dynamodb',
        identity: {
          identifier: sequenceNumber(2),
          eventId: records[1]?.eventID,
          eventName: 'MODIFY',
          createdSeconds: CREATED_AT,
        },
      });
      expect(summary).toMatchObject({
        deadLettered: 1,
        indexed: 1,
        deleted: 1,
        failed: 0,
        requests: 1,
      });
    });

    it('falls back to the HTTP status when a rejected item carries no error', async () => {
      const h = harness({ search: { item: () => 400 } });

      await h.run([streamRecord()]);

      expect(h.deadLetters?.letters[0]).toMatchObject({
        errorType: 'HTTP 400',
        reason: 'bulk item answered HTTP 400',
      });
    });

    it('reports the record when every dead-letter write fails', async () => {
      // Prepare
      const deadLetters = fakeDeadLetters(() => new DeadLetterWriteError(503, 'SlowDown'));
      const h = harness({
        deadLetters,
        search: {
          item: (a) => (a.id === '3|52' ? item(400, 'mapper_parsing_exception', 'bad') : ok(a)),
        },
      });

      // Act
      const { response, summary } = await h.run(threeRecords());

      // Assert
      expect(response).toEqual(failures(sequenceNumber(2)));
      expect(deadLetters.write).toHaveBeenCalledTimes(3);
      expect(summary).toMatchObject({ deadLettered: 0, failed: 1 });
      expect(h.logs.find('dead-letter write failed')).toMatchObject({
        errorType: 'mapper_parsing_exception; dead-letter write failed',
        sequenceNumber: sequenceNumber(2),
      });
    });

    it('succeeds when a dead-letter write fails once and then succeeds', async () => {
      const deadLetters = fakeDeadLetters((_l, attempt) =>
        attempt === 1 ? new DeadLetterWriteError(500, 'oops') : undefined,
      );
      const h = harness({
        deadLetters,
        search: { item: () => item(400, 'mapper_parsing_exception') },
      });

      const { response, summary } = await h.run([streamRecord()]);

      expect(response).toEqual(failures());
      expect(deadLetters.write).toHaveBeenCalledTimes(2);
      expect(summary.deadLettered).toBe(1);
    });

    it('gives each dead-letter write a timeout within the remaining time', async () => {
      const h = harness({
        budgetMs: 3_000,
        search: { item: () => item(400, 'mapper_parsing_exception') },
      });

      await h.run([streamRecord()]);

      const timeout = h.deadLetters?.write.mock.calls[0]?.[1] ?? Infinity;
      expect(timeout).toBeLessThanOrEqual(3_000);
      expect(timeout).toBeGreaterThanOrEqual(MIN_REQUEST_MS);
    });

    it.each([
      [
        'a rejected item',
        threeRecords(),
        {
          item: (a: BulkAction) =>
            a.id === '3|52' ? item(400, 'mapper_parsing_exception') : ok(a),
        },
      ],
      [
        'a malformed record',
        [threeRecords()[0], { ...threeRecords()[1], eventName: 'TRUNCATE' }, threeRecords()[2]],
        {},
      ],
    ])(
      'without a dead-letter sink reports %s as failed instead of dropping it',
      async (_label, records, search) => {
        // Prepare
        const h = harness({ deadLetters: false, search });

        // Act
        const { response, summary } = await h.run(records);

        // Assert
        expect(response).toEqual(failures(sequenceNumber(2)));
        expect(summary.failed).toBe(1);
      },
    );

    it('logs the object URL of each dead letter', async () => {
      // Prepare: a sink configured like the S3 one with DEAD_LETTER_PREFIX=dead-letter/.
      const h = harness({ search: { item: () => item(400, 'mapper_parsing_exception') } });

      // Act
      await h.run([streamRecord()]);

      // Assert
      expect(h.logs.find('record dead-lettered')).toMatchObject({
        location: 's3://dead-letters/dead-letter/2023/11/14/22/1.json',
        errorType: 'mapper_parsing_exception',
        key: '3|51',
      });
    });
  });

  describe('malformed records', () => {
    it.each([
      [
        'without dynamodb',
        (r: TestStreamRecord) => ({ ...r, dynamodb: undefined }),
        'MissingDynamodb',
      ],
      ['without Keys', (r: TestStreamRecord) => withoutStreamField(r, 'Keys'), 'MissingKeys'],
      [
        'with an unknown eventName',
        (r: TestStreamRecord) => ({ ...r, eventName: 'TRUNCATE' }),
        'UnknownEventName',
      ],
      [
        'INSERT without NewImage',
        (r: TestStreamRecord) => withoutStreamField(r, 'NewImage'),
        'MissingNewImage',
      ],
      [
        'with an invalid number',
        (r: TestStreamRecord) => ({
          ...r,
          dynamodb: { ...(r.dynamodb as object), NewImage: { n: { N: MARKER } } },
        }),
        'InvalidAttributeValue',
      ],
    ])(
      'dead-letters a record %s and indexes the others',
      async (_label, breakRecord, errorType) => {
        // Prepare
        const records = threeRecords();
        records[1] = breakRecord(records[1] as TestStreamRecord);
        const h = harness();

        // Act
        const { response, summary } = await h.run(records);

        // Assert
        expect(response).toEqual(failures());
        expect(h.deadLetters?.letters).toEqual([
          expect.objectContaining({ record: records[1], errorType }),
        ]);
        expect(h.fake.sent().map((a) => a.id)).toEqual(['3|51', '4|1']);
        expect(summary).toMatchObject({ deadLettered: 1, indexed: 1, deleted: 1 });
      },
    );

    it('dead-letters a record that is not even an object', async () => {
      const h = harness();

      const { response } = await h.run([streamRecord(), 'garbage', null]);

      expect(response).toEqual(failures());
      expect(h.deadLetters?.letters.map((l) => l.errorType)).toEqual([
        'MalformedRecord',
        'MalformedRecord',
      ]);
    });

    it("reports the previous record's SequenceNumber when a record without one cannot be dead-lettered", async () => {
      // Prepare
      const records = threeRecords();
      records[1] = withoutStreamField(records[1] as TestStreamRecord, 'SequenceNumber');
      const h = harness({
        deadLetters: fakeDeadLetters(() => new DeadLetterWriteError(500, 'down')),
      });

      // Act
      const { response } = await h.run(records);

      // Assert
      expect(response).toEqual(failures(sequenceNumber(1)));
      expect(response.batchItemFailures.every((f) => f.itemIdentifier !== '')).toBe(true);
    });

    it.each([
      ['missing', undefined],
      ['empty', ''],
      ['not decimal', 'abc'],
    ])(
      'throws UnreportableFailureError, never an empty identifier, when the first record fails with its SequenceNumber %s',
      async (_label, seq) => {
        // Prepare
        const records = threeRecords();
        records[0] = {
          ...records[0],
          dynamodb: {
            ...((records[0] as TestStreamRecord).dynamodb as object),
            SequenceNumber: seq,
          },
        };
        const h = harness({ deadLetters: false });

        // Act
        const result = h.run(records);

        // Assert
        await expect(result).rejects.toBeInstanceOf(UnreportableFailureError);
      },
    );
  });

  describe('TTL deletes', () => {
    it('deletes a TTL expiry with ttlDeletes=delete', async () => {
      const h = harness({ config: { ttlDeletes: 'delete' } });

      const { response } = await h.run([streamRecord({ eventName: 'REMOVE', ttl: true })]);

      expect(response).toEqual(failures());
      expect(h.fake.sent()).toEqual([expect.objectContaining({ action: 'delete', id: '3|51' })]);
    });

    it('skips a TTL expiry with ttlDeletes=ignore but still deletes for a user REMOVE', async () => {
      // Prepare
      const records = [
        streamRecord({
          eventName: 'REMOVE',
          ttl: true,
          keys: transactionKeys(1, 1),
          sequenceNumber: sequenceNumber(1),
        }),
        streamRecord({
          eventName: 'REMOVE',
          keys: transactionKeys(2, 2),
          sequenceNumber: sequenceNumber(2),
        }),
      ];
      const h = harness({ config: { ttlDeletes: 'ignore' } });

      // Act
      const { response, summary } = await h.run(records);

      // Assert
      expect(response).toEqual(failures());
      expect(h.fake.sent().map((a) => `${a.action}:${a.id}`)).toEqual(['delete:2|2']);
      expect(summary).toMatchObject({ skipped: 1, deleted: 1 });
    });

    it('sends nothing when every record is an ignored TTL expiry', async () => {
      const h = harness({ config: { ttlDeletes: 'ignore' } });

      const { response } = await h.run([streamRecord({ eventName: 'REMOVE', ttl: true })]);

      expect(response).toEqual(failures());
      expect(h.fake.search.bulk).not.toHaveBeenCalled();
    });
  });

  describe('several changes to one item', () => {
    it('sends only the INSERT for a REMOVE followed by an INSERT of the same key', async () => {
      // Prepare
      const records = [
        streamRecord({
          eventName: 'REMOVE',
          keys: transactionKeys(3, 51),
          sequenceNumber: sequenceNumber(1),
        }),
        streamRecord({
          eventName: 'INSERT',
          keys: transactionKeys(3, 51),
          newImage: transactionImage(3, 51),
          sequenceNumber: sequenceNumber(2),
        }),
      ];
      const h = harness();

      // Act
      const { response, summary } = await h.run(records);

      // Assert
      expect(response).toEqual(failures());
      expect(h.fake.sent()).toEqual([
        expect.objectContaining({
          action: 'index',
          id: '3|51',
          version: expectedVersion(CREATED_AT, sequenceNumber(2)),
        }),
      ]);
      expect(JSON.parse(h.fake.sent()[0]?.source ?? '')).toMatchObject({
        userId: 3,
        transactionId: 51,
      });
      expect(summary).toMatchObject({ superseded: 1, indexed: 1, deleted: 0 });
    });

    it('sends only the last change and counts the earlier ones as done', async () => {
      // Prepare
      const records = [1, 2, 3, 4].map((n) =>
        streamRecord({
          eventName: n === 1 ? 'INSERT' : 'MODIFY',
          newImage: transactionImage(3, 51, { amount: { N: String(n) } }),
          sequenceNumber: sequenceNumber(n),
        }),
      );
      const h = harness();

      // Act
      const { response, summary } = await h.run(records);

      // Assert
      expect(response).toEqual(failures());
      expect(h.fake.sent()).toHaveLength(1);
      expect(JSON.parse(h.fake.sent()[0]?.source ?? '')).toMatchObject({ amount: 4 });
      expect(summary).toMatchObject({ superseded: 3, indexed: 1, failed: 0 });
    });

    it('reports the surviving record, not the superseded ones, when it keeps failing', async () => {
      const records = [1, 2, 3].map((n) =>
        streamRecord({ eventName: 'MODIFY', sequenceNumber: sequenceNumber(n) }),
      );
      const h = harness({ search: { item: () => 503 } });

      const { response } = await h.run(records);

      expect(response).toEqual(failures(sequenceNumber(3)));
    });
  });

  describe('deadlines', () => {
    it('passes each request a timeout within the remaining budget', async () => {
      // Prepare: 5 s left, 1 s margin, 10 s request timeout configured.
      const h = harness({ budgetMs: 5_000 });

      // Act
      await h.run(threeRecords());

      // Assert
      expect(h.fake.calls[0]?.timeoutMs).toBe(4_000);
    });

    it('caps the request timeout at requestTimeoutMs when time is plentiful', async () => {
      const h = harness({ config: { requestTimeoutMs: 2_500 } });

      await h.run(threeRecords());

      expect(h.fake.calls[0]?.timeoutMs).toBe(2_500);
    });

    it('starts no request with less than MIN_REQUEST_MS left and reports the earliest record', async () => {
      // Prepare: margin + MIN_REQUEST_MS - 1 left.
      const h = harness({ budgetMs: 1_000 + MIN_REQUEST_MS - 1 });

      // Act
      const { response } = await h.run(threeRecords());

      // Assert
      expect(h.fake.search.bulk).not.toHaveBeenCalled();
      expect(response).toEqual(failures(sequenceNumber(1)));
      expect(h.logs.find('out of time: leaving operations for Lambda to re-deliver')).toBeDefined();
    });

    describe('with jest fake timers and the real default sleep', () => {
      beforeEach(() => {
        jest.useFakeTimers();
      });
      afterEach(() => {
        jest.useRealTimers();
      });

      interface Observed {
        readonly remaining: number;
        readonly timeoutMs: number;
      }

      async function runAgainstTheClock(options: {
        budgetMs: number;
        config: Partial<BatchConfig>;
        /** How the fake cluster behaves: hangs until the timeout, or fails at once. */
        mode: 'hang' | 'fail-fast';
      }): Promise<{
        result: BatchResult;
        observed: Observed[];
        endedAt: number;
        deadlineAt: number;
      }> {
        const deadlineAt = Date.now() + options.budgetMs;
        const remainingMs = (): number => deadlineAt - Date.now();
        const observed: Observed[] = [];
        const bulk = jest.fn(async (_body: string, _operations: number, timeoutMs: number) => {
          observed.push({ remaining: remainingMs(), timeoutMs });
          if (options.mode === 'hang')
            await new Promise((resolve) => setTimeout(resolve, timeoutMs));
          throw new BulkRequestError(options.mode === 'hang' ? undefined : 503, 'nope');
        });
        const logs = captureLogger();
        const promise = processBatch(threeRecords(), {
          config: batchConfig(options.config),
          search: { bulk },
          deadLetters: fakeDeadLetters().sink,
          logger: logs.logger,
          remainingMs,
          random: () => 0.5,
        });
        await jest.runAllTimersAsync();
        const result = await promise;
        return { result, observed, endedAt: Date.now(), deadlineAt };
      }

      it.each(['hang', 'fail-fast'] as const)(
        'stops retrying before the margin, never starts a request with less than MIN_REQUEST_MS, and reports the earliest record (%s)',
        async (mode) => {
          // Prepare
          const margin = 1_000;

          // Act
          const { result, observed, endedAt, deadlineAt } = await runAgainstTheClock({
            budgetMs: 20_000,
            config: {
              deadlineMarginMs: margin,
              requestTimeoutMs: 3_000,
              retryBaseMs: 100,
              retryMaxMs: 2_000,
            },
            mode,
          });

          // Assert
          expect(observed.length).toBeGreaterThan(2);
          for (const call of observed) {
            expect(call.remaining - margin).toBeGreaterThanOrEqual(MIN_REQUEST_MS);
            expect(call.timeoutMs).toBeLessThanOrEqual(call.remaining - margin);
            expect(call.timeoutMs).toBeGreaterThanOrEqual(MIN_REQUEST_MS);
          }
          expect(endedAt).toBeLessThanOrEqual(deadlineAt - margin);
          expect(result.response).toEqual(failures(sequenceNumber(1)));
        },
      );

      // A dead-letter write that fails is retried after backoff(attempt) without checking the
      // deadline first (the bulk loop does check it). With RETRY_BASE_MS=2000 (valid: 1..60000)
      // the second backoff sleeps past the Lambda deadline, so Lambda kills the invocation.
      it('never sleeps between dead-letter attempts past the deadline', async () => {
        // Prepare
        const deadlineAt = Date.now() + 3_000;
        const remainingMs = (): number => deadlineAt - Date.now();
        const deadLetters = fakeDeadLetters(() => new DeadLetterWriteError(503, 'SlowDown'));
        const promise = processBatch([streamRecord()], {
          config: batchConfig({ retryBaseMs: 2_000, retryMaxMs: 30_000, deadlineMarginMs: 1_000 }),
          search: fakeSearch({ item: () => item(400, 'mapper_parsing_exception') }).search,
          deadLetters: deadLetters.sink,
          logger: captureLogger().logger,
          remainingMs,
          random: () => 0.99,
        });

        // Act
        await jest.runAllTimersAsync();
        const { response } = await promise;

        // Assert
        expect(response).toEqual(failures(sequenceNumber(1)));
        expect(Date.now()).toBeLessThanOrEqual(deadlineAt);
      });
    });

    // loadConfig accepts REQUEST_TIMEOUT_MS from 100, but sendChunk compares
    // min(requestTimeoutMs, budget) with MIN_REQUEST_MS (250): with 100..249 ms no request is ever
    // started, however much time is left, and every batch is reported as failed.
    it('sends requests when requestTimeoutMs is a valid value below MIN_REQUEST_MS', async () => {
      // Prepare
      const h = harness({ config: { requestTimeoutMs: 200 } });

      // Act
      const { response } = await h.run(threeRecords());

      // Assert
      expect(h.fake.search.bulk).toHaveBeenCalled();
      expect(response).toEqual(failures());
    });
  });

  describe('concurrency', () => {
    it('keeps at most bulkConcurrency requests in flight, never two with the same _id', async () => {
      // Prepare: 12 records over 8 distinct items, small chunks, slow answers, some retries.
      const records = Array.from({ length: 12 }, (_, n) =>
        streamRecord({
          keys: transactionKeys(1, n % 8),
          newImage: transactionImage(1, n % 8, { n: { N: String(n) } }),
          sequenceNumber: sequenceNumber(n + 1),
        }),
      );
      let inFlight = 0;
      let maxInFlight = 0;
      const inFlightIds = new Set<string>();
      const overlaps: string[] = [];
      const h = harness({
        config: { bulkConcurrency: 2, bulkMaxBytes: 300 },
        search: {
          item: (_a, attempt) => (attempt === 1 && _a.id.endsWith('3') ? 429 : 201),
          delay: async (call) => {
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            for (const a of call.actions) {
              if (inFlightIds.has(a.id)) overlaps.push(a.id);
              inFlightIds.add(a.id);
            }
            await new Promise((resolve) => setTimeout(resolve, 2));
            for (const a of call.actions) inFlightIds.delete(a.id);
            inFlight--;
          },
        },
      });

      // Act
      const { response } = await h.run(records);

      // Assert
      expect(response).toEqual(failures());
      expect(h.fake.calls.length).toBeGreaterThan(2);
      expect(maxInFlight).toBe(2);
      expect(overlaps).toEqual([]);
      expect(h.fake.sent().filter((a) => a.id === '1|3').length).toBe(2);
    });

    it('sends one request at a time with bulkConcurrency 1, in stream order', async () => {
      const records = Array.from({ length: 6 }, (_, n) =>
        streamRecord({ keys: transactionKeys(2, n), sequenceNumber: sequenceNumber(n + 1) }),
      );
      let inFlight = 0;
      let maxInFlight = 0;
      const h = harness({
        config: { bulkConcurrency: 1, bulkMaxBytes: 200 },
        search: {
          delay: async () => {
            maxInFlight = Math.max(maxInFlight, ++inFlight);
            await new Promise((resolve) => setTimeout(resolve, 1));
            inFlight--;
          },
        },
      });

      await h.run(records);

      expect(maxInFlight).toBe(1);
      expect(h.fake.sent().map((a) => a.id)).toEqual(['2|0', '2|1', '2|2', '2|3', '2|4', '2|5']);
    });
  });

  describe('dry run', () => {
    it('sends nothing, logs the exact bulk body and returns an empty response', async () => {
      // Prepare
      const records = threeRecords();
      records.push({ ...streamRecord({ sequenceNumber: sequenceNumber(4) }), dynamodb: undefined });
      const h = harness({ config: { dryRun: true } });
      const reference = harness();
      await reference.run(threeRecords());

      // Act
      const { response } = await processBatch(records, { ...h.deps, search: undefined });

      // Assert
      expect(response).toEqual(failures());
      expect(h.fake.search.bulk).not.toHaveBeenCalled();
      expect(h.deadLetters?.write).not.toHaveBeenCalled();
      expect(h.logs.all('dry run: bulk request not sent')).toEqual([
        expect.objectContaining({
          method: 'POST',
          path: '/transactions/_bulk',
          operations: 3,
          body: reference.fake.calls[0]?.body,
        }),
      ]);
      expect(h.logs.find('dry run: would dead-letter record')).toMatchObject({
        errorType: 'MissingDynamodb',
      });
    });
  });

  describe('logging', () => {
    it('adds EMF metrics to the summary line, with freshness from the newest record', async () => {
      // Prepare
      const h = harness();
      const records = [
        streamRecord({ sequenceNumber: sequenceNumber(1), createdAt: CREATED_AT - 100 }),
        streamRecord({
          keys: transactionKeys(3, 52),
          sequenceNumber: sequenceNumber(2),
          createdAt: CREATED_AT,
        }),
      ];
      const deps: BatchDependencies = {
        ...h.deps,
        clock: () => (CREATED_AT + 42) * 1000,
        metrics: createEmf({ namespace: 'NS', dimensions: [['Service', 'svc']] }),
      };

      // Act
      await processBatch(records, deps);

      // Assert
      const line = h.logs.find('batch processed');
      expect(line).toMatchObject({ records: 2, indexed: 2, freshness: 42, Service: 'svc' });
      expect(line?._aws).toMatchObject({
        Timestamp: (CREATED_AT + 42) * 1000,
        CloudWatchMetrics: [expect.objectContaining({ Namespace: 'NS' })],
      });
    });

    it('writes the summary line even when LOG_LEVEL is above info', async () => {
      // Prepare
      const logs = captureLogger('error');
      const h = harness();

      // Act
      await processBatch(threeRecords(), { ...h.deps, logger: logs.logger });

      // Assert
      expect(logs.messages()).toEqual(['batch processed']);
    });

    it('writes a summary line with every counter', async () => {
      const h = harness();

      await h.run(threeRecords());

      const summary = h.logs.find('batch processed');
      expect(summary).toBeDefined();
      for (const field of [
        'records',
        'indexed',
        'deleted',
        'stale',
        'retried',
        'deadLettered',
        'failed',
        'requests',
        'bytes',
        'ms',
      ]) {
        expect(summary).toHaveProperty(field, expect.any(Number));
      }
    });

    it('never logs document contents, whatever happens to the batch', async () => {
      // Prepare: the marker sits in documents and in an error reason; retries, rejections,
      // a malformed record, failing dead-letter writes and whole-request failures all happen.
      const records = threeRecords();
      records.push(
        streamRecord({
          keys: transactionKeys(5, 5),
          newImage: { ...transactionKeys(5, 5), bad: { N: MARKER } },
          sequenceNumber: sequenceNumber(4),
        }),
        streamRecord({
          keys: transactionKeys(6, 6),
          newImage: transactionImage(6, 6, { note: { S: MARKER } }),
          sequenceNumber: sequenceNumber(5),
        }),
      );
      const deadLetters = fakeDeadLetters((letter) =>
        letter.errorType === 'InvalidAttributeValue'
          ? new DeadLetterWriteError(500, 'down')
          : undefined,
      );
      const h = harness({
        deadLetters,
        search: {
          request: (_call, n) => (n === 1 ? new BulkRequestError(503, 'unavailable') : undefined),
          item: (a, attempt) =>
            a.id === '3|52'
              ? item(400, 'mapper_parsing_exception', `failed to parse [note]: ${MARKER}`)
              : a.id === '6|6' && attempt === 1
                ? item(429, 'es_rejected_execution_exception', MARKER)
                : 201,
        },
      });

      // Act
      const { response } = await h.run(records);

      // Assert
      expect(response).toEqual(failures(sequenceNumber(4)));
      expect(h.fake.calls.some((c) => c.body.includes(MARKER))).toBe(true);
      expect(h.logs.lines.length).toBeGreaterThan(3);
      for (const line of h.logs.lines) expect(line).not.toContain(MARKER);
    });

    it('logs each record that is not done with its key, sequence number and error type', async () => {
      const h = harness({
        deadLetters: false,
        search: { item: () => item(400, 'mapper_parsing_exception') },
      });

      await h.run([streamRecord()]);

      expect(h.logs.find('record not done')).toMatchObject({
        level: 'error',
        key: '3|51',
        sequenceNumber: sequenceNumber(1),
        eventName: 'INSERT',
        errorType: 'mapper_parsing_exception',
      });
    });
  });

  it('keeps retrying without a search client until time runs out, then reports the earliest record', async () => {
    // Prepare: not a dry run, but no client (createRuntime never builds this; the processor
    // must still not drop records).
    const h = harness();

    // Act
    const { response } = await processBatch(threeRecords(), { ...h.deps, search: undefined });

    // Assert
    expect(response).toEqual(failures(sequenceNumber(1)));
  });

  it('uses Date.now, setTimeout and Math.random when no clock, sleep or random is given', async () => {
    // Prepare
    const fake = fakeSearch({ item: (_a, attempt) => (attempt === 1 ? 503 : 201) });
    const logs = captureLogger();

    // Act
    const { response, summary } = await processBatch([streamRecord()], {
      config: batchConfig({ retryBaseMs: 1, retryMaxMs: 1 }),
      search: fake.search,
      deadLetters: undefined,
      logger: logs.logger,
      remainingMs: () => 60_000,
    });

    // Assert
    expect(response).toEqual(failures());
    expect(summary.ms).toBeGreaterThanOrEqual(0);
    expect(fake.calls).toHaveLength(2);
  });
});

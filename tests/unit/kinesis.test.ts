import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { processBatch, type BatchDependencies } from '../../lib/process-batch';
import {
  coalesce,
  planRecord,
  type Operation,
  type RecordOptions,
  type RecordPlan,
} from '../../lib/records';
import { dynamodbSource, kinesisSource, sourceFor } from '../../lib/sources';
import { decodeDynamodbChange } from '../../lib/sources/kinesis';
import {
  batchConfig,
  captureLogger,
  CREATED_AT,
  dynamodbChangeJson,
  expectedTimeVersion,
  fakeDeadLetters,
  fakeSearch,
  item,
  KEY_ORDER,
  kinesisRecord,
  kinesisSequenceNumber,
  sequenceNumber,
  SOURCE_TABLE,
  streamRecord,
  transactionImage,
  transactionKeys,
  virtualTime,
  type FakeSearchOptions,
} from './factories';

const options = (overrides: Partial<RecordOptions> = {}): RecordOptions => ({
  ttlDeletes: 'delete',
  versioning: true,
  keyOrder: KEY_ORDER,
  sourceTable: undefined,
  ...overrides,
});

const plan = (record: unknown, position = 0, opts: RecordOptions = options()): RecordPlan =>
  planRecord(record, position, opts, kinesisSource);

function operationOf(p: RecordPlan): Operation {
  if (p.kind !== 'operation') throw new Error(`expected an operation, got ${JSON.stringify(p)}`);
  return p.operation;
}

const MS = CREATED_AT * 1000 + 123; // 2023-11-14T22:13:20.123Z
const US = BigInt(CREATED_AT) * 1_000_000n + 123_456n; // 2023-11-14T22:13:20.123456Z

/** The base64 of a JSON value, as Kinesis carries `data`. */
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64');

describe('kinesisSource', () => {
  describe('a real Lambda Kinesis event (Powertools sample, millisecond precision)', () => {
    const event = JSON.parse(
      readFileSync(join(__dirname, '../fixtures/powertools-kinesis-dynamodb-stream.json'), 'utf8'),
    ) as { Records: unknown[] };

    it('indexes both changes with ids from Keys and versions from the millisecond time', () => {
      // Act
      const ops = event.Records.map((r, i) =>
        operationOf(
          plan(
            r,
            i,
            options({
              keyOrder: [],
              sourceTable: 'PowertoolsEventsStack-DynamoDBTable59784FC0-8NKAMTERTAXY',
            }),
          ),
        ),
      );

      // Assert
      expect(ops).toEqual([
        {
          kind: 'index',
          position: 0,
          id: 'record-1qit2y819gi',
          version: expectedTimeVersion(1731924555370n * 1000n),
          source: '{"id":"record-1qit2y819gi","data":"data-x6aq7ckdpgk"}',
          order: 1731924555370000,
          timeTiebreak: true,
        },
        {
          kind: 'index',
          position: 1,
          id: 'record-fvxn3q4q5jw',
          version: expectedTimeVersion(1731924555370n * 1000n),
          source: '{"id":"record-fvxn3q4q5jw","data":"data-4eompjs89n5"}',
          order: 1731924555370000,
          timeTiebreak: true,
        },
      ]);
    });

    it('is read by the Kinesis adapter', () => {
      expect(sourceFor(event.Records)).toBe(kinesisSource);
    });

    it('names the record by its Kinesis sequence number and event id', () => {
      expect(kinesisSource.identity(event.Records[0])).toEqual({
        identifier: '49657828409187701520019995242508390119953358325192589314',
        eventId: 'shardId-000000000000:49657828409187701520019995242508390119953358325192589314',
        eventName: 'INSERT',
        createdSeconds: 1731924555,
      });
    });
  });

  describe('changes', () => {
    it.each(['INSERT', 'MODIFY'])('turns %s into an index of the NewImage', (eventName) => {
      // Prepare
      const record = kinesisRecord(
        dynamodbChangeJson({ eventName, newImage: transactionImage(3, 51), createdAt: MS }),
      );

      // Act
      const op = operationOf(plan(record, 2));

      // Assert
      expect(op).toEqual({
        kind: 'index',
        position: 2,
        id: '3|51',
        version: expectedTimeVersion(BigInt(MS) * 1000n),
        source:
          '{"userId":3,"transactionId":51,"accountId":3,"amount":11,"shortDescription":"Final mega test 2"}',
        order: MS * 1000,
        timeTiebreak: true,
      });
    });

    it('turns REMOVE into a delete by Keys', () => {
      // Prepare
      const record = kinesisRecord(
        dynamodbChangeJson({ eventName: 'REMOVE', keys: transactionKeys(4, 1), createdAt: MS }),
      );

      // Act
      const op = operationOf(plan(record));

      // Assert
      expect(op).toMatchObject({ kind: 'delete', id: '4|1', timeTiebreak: true });
    });

    it.each([
      { ttlDeletes: 'delete' as const, expected: 'operation' },
      { ttlDeletes: 'ignore' as const, expected: 'skip' },
    ])(
      'treats a TTL expiry with TTL_DELETES=$ttlDeletes as $expected',
      ({ ttlDeletes, expected }) => {
        // Prepare
        const record = kinesisRecord(dynamodbChangeJson({ eventName: 'REMOVE', ttl: true }));

        // Act
        const result = plan(record, 0, options({ ttlDeletes }));

        // Assert
        expect(result.kind).toBe(expected);
      },
    );

    it('sends no version when versioning is off', () => {
      const op = operationOf(
        plan(kinesisRecord(dynamodbChangeJson()), 0, options({ versioning: false })),
      );
      expect(op.version).toBeUndefined();
    });

    it.each([
      { label: 'milliseconds', createdAt: CREATED_AT * 1000 + 123, micros: US - 456n },
      { label: 'microseconds', createdAt: Number(US), micros: US },
      { label: 'seconds', createdAt: CREATED_AT, micros: BigInt(CREATED_AT) * 1_000_000n },
    ])('reads a time in $label on the one microsecond scale', ({ createdAt, micros }) => {
      // Act
      const op = operationOf(plan(kinesisRecord(dynamodbChangeJson({ createdAt }))));

      // Assert
      expect(op.order).toBe(Number(micros));
      expect(op.version).toBe(expectedTimeVersion(micros));
    });

    it('gives the same instant the same version in milliseconds and in microseconds', () => {
      // Act
      const ms = operationOf(plan(kinesisRecord(dynamodbChangeJson({ createdAt: MS }))));
      const us = operationOf(plan(kinesisRecord(dynamodbChangeJson({ createdAt: MS * 1000 }))));

      // Assert
      expect(us.version).toBe(ms.version);
      expect(us.order).toBe(ms.order);
    });

    it('writes byte for byte the document and id the stream path writes, binary and sets included', () => {
      // Prepare
      const keys = {
        tenant: { S: 'acme|1' },
        blob: { B: Buffer.from([0, 255, 16]).toString('base64') },
      };
      const newImage = {
        ...keys,
        bin: { B: 'AAECAwQ=' },
        bs: { BS: ['AQI=', 'AwQ='] },
        ns: { NS: ['9007199254740993', '3.14159265358979323846'] },
        ss: { SS: ['b', 'a'] },
        m: { M: { l: { L: [{ B: '/w==' }, { NULL: true }, { BOOL: false }] } } },
      };
      const stream = streamRecord({ keys, newImage });
      const kinesis = kinesisRecord(dynamodbChangeJson({ keys, newImage }));

      // Act
      const viaStream = operationOf(
        planRecord(stream, 0, options({ keyOrder: [] }), dynamodbSource),
      );
      const viaKinesis = operationOf(plan(kinesis, 0, options({ keyOrder: [] })));

      // Assert
      expect(viaKinesis.kind).toBe('index');
      expect(viaKinesis.id).toBe(viaStream.id);
      expect((viaKinesis as { source: string }).source).toBe(
        (viaStream as { source: string }).source,
      );
      expect((viaKinesis as { source: string }).source).toContain('"bs":["AQI=","AwQ="]');
    });

    it('accepts a change of SOURCE_TABLE', () => {
      const record = kinesisRecord(dynamodbChangeJson({ tableName: SOURCE_TABLE }));
      expect(plan(record, 0, options({ sourceTable: SOURCE_TABLE })).kind).toBe('operation');
    });
  });

  describe('malformed records', () => {
    const good = dynamodbChangeJson({ createdAt: MS });
    const goodDynamodb = good.dynamodb as Record<string, unknown>;
    const without = (field: string): Record<string, unknown> => {
      const copy = { ...good };
      delete copy[field];
      return copy;
    };
    const withDynamodb = (changes: Record<string, unknown>): Record<string, unknown> => {
      const dynamodb: Record<string, unknown> = { ...goodDynamodb, ...changes };
      for (const [k, v] of Object.entries(changes)) if (v === undefined) delete dynamodb[k];
      return { ...good, dynamodb };
    };
    const raw = (data: unknown): unknown => kinesisRecord(data, { rawData: true });

    it.each([
      {
        label: 'no kinesis section',
        record: { eventSource: 'aws:kinesis' },
        errorType: 'MissingKinesisData',
      },
      { label: 'data that is not a string', record: raw(42), errorType: 'MissingKinesisData' },
      { label: 'empty data', record: raw(''), errorType: 'InvalidBase64' },
      {
        label: 'data with characters outside base64',
        record: raw('eyJh*IjoxfQ=='),
        errorType: 'InvalidBase64',
      },
      {
        label: 'base64 of the wrong length',
        record: raw('eyJhIjoxfQ'),
        errorType: 'InvalidBase64',
      },
      { label: 'base64url instead of base64', record: raw('_-8='), errorType: 'InvalidBase64' },
      {
        label: 'base64 that is not JSON',
        record: raw(Buffer.from('{"a":').toString('base64')),
        errorType: 'InvalidJson',
      },
      {
        label: 'base64 of binary garbage',
        record: raw(Buffer.from([0xff, 0xfe, 0x00]).toString('base64')),
        errorType: 'InvalidJson',
      },
      { label: 'JSON that is an array', record: raw(b64([good])), errorType: 'NotDynamodbChange' },
      { label: 'JSON null', record: raw(b64(null)), errorType: 'NotDynamodbChange' },
      {
        label: 'JSON without eventSource',
        record: raw(b64(without('eventSource'))),
        errorType: 'NotDynamodbChange',
      },
      {
        label: 'JSON from another source',
        record: raw(b64({ ...good, eventSource: 'aws:s3' })),
        errorType: 'NotDynamodbChange',
      },
      {
        label: 'an unknown eventName',
        record: raw(b64({ ...good, eventName: 'UPSERT' })),
        errorType: 'UnknownEventName',
      },
      {
        label: 'no eventName',
        record: raw(b64(without('eventName'))),
        errorType: 'UnknownEventName',
      },
      {
        label: 'no dynamodb section',
        record: raw(b64(without('dynamodb'))),
        errorType: 'MissingDynamodb',
      },
      {
        label: 'no Keys',
        record: raw(b64(withDynamodb({ Keys: undefined }))),
        errorType: 'MissingKeys',
      },
      {
        label: 'no Keys on a TTL REMOVE',
        record: raw(
          b64({ ...withDynamodb({ Keys: undefined, NewImage: undefined }), eventName: 'REMOVE' }),
        ),
        errorType: 'MissingKeys',
      },
      {
        label: 'empty Keys',
        record: raw(b64(withDynamodb({ Keys: {} }))),
        errorType: 'MissingKeys',
      },
      {
        label: 'an INSERT without NewImage',
        record: raw(b64(withDynamodb({ NewImage: undefined }))),
        errorType: 'MissingNewImage',
      },
      {
        label: 'no ApproximateCreationDateTime',
        record: raw(b64(withDynamodb({ ApproximateCreationDateTime: undefined }))),
        errorType: 'InvalidCreationDateTime',
      },
      {
        label: 'a negative ApproximateCreationDateTime',
        record: raw(b64(withDynamodb({ ApproximateCreationDateTime: -1 }))),
        errorType: 'InvalidCreationDateTime',
      },
      {
        label: 'an ApproximateCreationDateTime that is not a number',
        record: raw(b64(withDynamodb({ ApproximateCreationDateTime: 'yesterday' }))),
        errorType: 'InvalidCreationDateTime',
      },
      {
        label: 'an invalid attribute value',
        record: raw(b64(withDynamodb({ NewImage: { ...transactionKeys(3, 51), x: { Q: '1' } } }))),
        errorType: 'InvalidAttributeValue',
      },
    ])('dead-letters $label as $errorType', ({ record, errorType }) => {
      // Act
      const result = plan(record);

      // Assert
      expect(result).toMatchObject({ kind: 'malformed', error: { errorType } });
    });

    it('dead-letters a change of another table when SOURCE_TABLE is set', () => {
      // Prepare
      const record = kinesisRecord(dynamodbChangeJson({ tableName: 'SomethingElse' }));

      // Act
      const result = plan(record, 0, options({ sourceTable: SOURCE_TABLE }));

      // Assert
      expect(result).toMatchObject({
        kind: 'malformed',
        error: {
          errorType: 'OtherTable',
          message: 'change of table "SomethingElse", not SOURCE_TABLE "UsersTransactions"',
        },
      });
    });

    it('indexes any table when SOURCE_TABLE is not set', () => {
      const record = kinesisRecord(dynamodbChangeJson({ tableName: 'SomethingElse' }));
      expect(plan(record).kind).toBe('operation');
    });

    it('decodes exactly the change that was encoded', () => {
      expect(decodeDynamodbChange(kinesisRecord(good))).toEqual(good);
    });
  });

  describe('identity', () => {
    it.each([
      { label: 'milliseconds', createdAt: MS },
      { label: 'microseconds', createdAt: MS * 1000 },
    ])('dates a record by its change time in $label', ({ createdAt }) => {
      const record = kinesisRecord(dynamodbChangeJson({ eventName: 'MODIFY', createdAt }));
      expect(kinesisSource.identity(record)).toEqual({
        identifier: kinesisSequenceNumber(1),
        eventId: `shardId-000000000000:${kinesisSequenceNumber(1)}`,
        eventName: 'MODIFY',
        createdSeconds: CREATED_AT,
      });
    });

    it('dates an undecodable record by its arrival in the stream', () => {
      const record = kinesisRecord('not base64!', { rawData: true });
      expect(kinesisSource.identity(record)).toEqual({
        identifier: kinesisSequenceNumber(1),
        eventId: `shardId-000000000000:${kinesisSequenceNumber(1)}`,
        eventName: undefined,
        createdSeconds: CREATED_AT,
      });
    });

    it.each([
      null,
      undefined,
      42,
      'text',
      {},
      { kinesis: null },
      { kinesis: { sequenceNumber: '' } },
    ])('never throws, even for %j', (record) => {
      expect(kinesisSource.identity(record)).toEqual({
        identifier: undefined,
        eventId: undefined,
        eventName: undefined,
        createdSeconds: 0,
      });
    });
  });

  describe('coalescing by creation time', () => {
    /** Five changes of one item, 1 ms apart, delivered in `order` (indices into the history). */
    function delivered(order: readonly number[], duplicates: readonly number[] = []): unknown[] {
      const history = [0, 1, 2, 3, 4].map((n) =>
        dynamodbChangeJson({
          eventName: n === 3 ? 'REMOVE' : n === 0 ? 'INSERT' : 'MODIFY',
          newImage: transactionImage(3, 51, { amount: { N: String(n) } }),
          createdAt: MS + n,
        }),
      );
      return [...order, ...duplicates].map((n, i) =>
        kinesisRecord(history[n], { sequenceNumber: kinesisSequenceNumber(i) }),
      );
    }

    it.each([
      { label: 'in order', order: [0, 1, 2, 3, 4], duplicates: [] },
      { label: 'reversed', order: [4, 3, 2, 1, 0], duplicates: [] },
      { label: 'shuffled', order: [2, 4, 0, 3, 1], duplicates: [] },
      { label: 'shuffled with duplicates', order: [3, 1, 4, 0, 2], duplicates: [1, 4, 0] },
    ])('keeps the latest change by time when delivered $label', ({ order, duplicates }) => {
      // Prepare
      const records = delivered(order, duplicates);
      const ops = records.map((r, i) => operationOf(plan(r, i)));

      // Act
      const { latest, superseded } = coalesce(ops);

      // Assert
      expect(latest).toHaveLength(1);
      const kept = latest[0] as Operation;
      expect(kept.kind).toBe('index');
      expect((kept as { source: string }).source).toContain('"amount":4');
      expect(kept.version).toBe(expectedTimeVersion((BigInt(MS) + 4n) * 1000n));
      expect(superseded).toHaveLength(records.length - 1);
    });

    it('keeps the later delivery of a duplicate, at the same version', () => {
      // Prepare: the last change, delivered twice, and nothing else.
      const records = delivered([4], [4]);
      const ops = records.map((r, i) => operationOf(plan(r, i)));

      // Act
      const { latest, superseded } = coalesce(ops);

      // Assert
      expect(latest.map((o) => [o.position, o.version])).toEqual([[1, ops[0]?.version]]);
      expect(superseded).toEqual([0]);
    });

    it('ends deleted when the REMOVE is the latest change, whatever the delivery order', () => {
      // Prepare
      const history = [
        dynamodbChangeJson({ eventName: 'INSERT', createdAt: MS }),
        dynamodbChangeJson({ eventName: 'REMOVE', createdAt: MS + 1 }),
      ];
      const ops = [history[1], history[0]].map((c, i) =>
        operationOf(plan(kinesisRecord(c, { sequenceNumber: kinesisSequenceNumber(i) }), i)),
      );

      // Act
      const { latest } = coalesce(ops);

      // Assert
      expect(latest.map((o) => o.kind)).toEqual(['delete']);
    });
  });

  it('converges on the latest change whatever the delivery order, duplicates and batch cuts', () => {
    // A model of OpenSearch external versioning (a write lands only above the stored version)
    // fed batch by batch through planning and coalescing, as the indexer does.
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 400_000 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom(1, 1000),
        (gaps, seed, dupes, batchSize, unit) => {
          // One item's history: strictly increasing times (us apart, or ms with unit 1000).
          let t = BigInt(CREATED_AT) * 1_000_000n;
          const history = gaps.map((gap, n) => {
            t += BigInt(gap * unit);
            const createdAt = unit === 1000 ? Number(t / 1000n) : Number(t);
            return dynamodbChangeJson({
              eventName: n % 4 === 3 ? 'REMOVE' : 'MODIFY',
              newImage: transactionImage(3, 51, { amount: { N: String(n) } }),
              createdAt,
            });
          });
          // Delivery: a seeded shuffle, plus re-deliveries of some changes.
          const order = history.map((_c, i) => i);
          let r = seed;
          for (let i = order.length - 1; i > 0; i--) {
            r = (r * 1103515245 + 12345) % 2 ** 31;
            const k = r % (i + 1);
            [order[i], order[k]] = [order[k] as number, order[i] as number];
          }
          for (const d of dupes) order.splice(d % (order.length + 1), 0, d % history.length);
          const records = order.map((n, i) =>
            kinesisRecord(history[n], { sequenceNumber: kinesisSequenceNumber(i) }),
          );
          let stored: { version: bigint; kind: string; source?: string } | undefined;
          for (let b = 0; b < records.length; b += batchSize) {
            const ops = records.slice(b, b + batchSize).map((rec, i) => operationOf(plan(rec, i)));
            for (const op of coalesce(ops).latest) {
              const version = BigInt(op.version as string);
              if (stored === undefined || version > stored.version) {
                stored = {
                  version,
                  kind: op.kind,
                  ...(op.kind === 'index' ? { source: op.source } : {}),
                };
              }
            }
          }
          const last = history.length - 1;
          const lastIsRemove = last % 4 === 3;
          return lastIsRemove
            ? stored?.kind === 'delete'
            : stored?.kind === 'index' && (stored.source ?? '').includes(`"amount":${last}`);
        },
      ),
      { numRuns: 500 },
    );
  });

  describe('in a batch', () => {
    function deps(search: FakeSearchOptions): BatchDependencies & {
      sent: () => ReturnType<ReturnType<typeof fakeSearch>['sent']>;
      letters: ReturnType<typeof fakeDeadLetters>['letters'];
    } {
      const fake = fakeSearch(search);
      const dead = fakeDeadLetters();
      const time = virtualTime();
      return {
        config: batchConfig({ sourceTable: SOURCE_TABLE }),
        search: fake.search,
        deadLetters: dead.sink,
        logger: captureLogger('error').logger,
        remainingMs: time.remainingMs,
        sleep: time.sleep,
        random: time.random,
        clock: time.clock,
        sent: () => fake.sent(),
        letters: dead.letters,
      };
    }

    it('reports the lowest sequence number not done (delivery order, not time order)', async () => {
      // Prepare: delivered newest first; the two oldest changes are the ones that keep failing.
      const records = [3, 2, 1, 0].map((n, i) =>
        kinesisRecord(
          dynamodbChangeJson({
            keys: transactionKeys(3, n),
            newImage: transactionImage(3, n),
            createdAt: MS + n,
          }),
          { sequenceNumber: kinesisSequenceNumber(10 + i) },
        ),
      );
      const d = deps({ item: (a) => (a.id === '3|0' || a.id === '3|1' ? 503 : 201) });

      // Act
      const { response } = await processBatch(records, d);

      // Assert: 3|1 is at position 2, 3|0 at position 3; the lower sequence number is position 2's.
      expect(response).toEqual({
        batchItemFailures: [{ itemIdentifier: kinesisSequenceNumber(12) }],
      });
    });

    it('dead-letters malformed and other-table records with the Kinesis record as received', async () => {
      // Prepare
      const records = [
        kinesisRecord(dynamodbChangeJson({ createdAt: MS }), {
          sequenceNumber: kinesisSequenceNumber(1),
        }),
        kinesisRecord('%%%', { rawData: true, sequenceNumber: kinesisSequenceNumber(2) }),
        kinesisRecord(dynamodbChangeJson({ tableName: 'Other' }), {
          sequenceNumber: kinesisSequenceNumber(3),
        }),
      ];
      const d = deps({});

      // Act
      const { response, summary } = await processBatch(records, d);

      // Assert
      expect(response).toEqual({ batchItemFailures: [] });
      expect(summary).toMatchObject({ indexed: 1, deadLettered: 2 });
      expect(
        d.letters.map((l) => [l.record, l.errorType, l.source, l.identity?.identifier]),
      ).toEqual([
        [records[1], 'InvalidBase64', 'kinesis', kinesisSequenceNumber(2)],
        [records[2], 'OtherTable', 'kinesis', kinesisSequenceNumber(3)],
      ]);
    });

    it('never re-sends a Kinesis change after a 409, even where a stream tiebreak would have wrapped', async () => {
      // Prepare: the stored version is a stream version of the same second whose tiebreak sits
      // more than 2^30 above ours, which the wrap rule reads as "ours is ahead".
      const micros = BigInt(CREATED_AT) * 1_000_000n + 5n;
      const stored = BigInt(CREATED_AT) * 2n ** 31n + 2n ** 30n + 100n;
      const records = [kinesisRecord(dynamodbChangeJson({ createdAt: Number(micros) }))];
      const d = deps({
        item: () =>
          item(
            409,
            'version_conflict_engine_exception',
            `[3|51]: version conflict, current version [${stored}] is higher or equal to the one provided [${expectedTimeVersion(micros)}]`,
          ),
      });

      // Act
      const { response, summary } = await processBatch(records, d);

      // Assert
      expect(response).toEqual({ batchItemFailures: [] });
      expect(summary).toMatchObject({ stale: 1, wrapped: 0 });
      expect(d.sent()).toHaveLength(1);
    });
  });
});

describe('sourceFor', () => {
  it.each([
    {
      label: 'Kinesis records',
      records: [kinesisRecord(dynamodbChangeJson())],
      expected: 'kinesis',
    },
    { label: 'stream records', records: [streamRecord()], expected: 'dynamodb' },
    { label: 'an empty batch', records: [], expected: 'dynamodb' },
    {
      label: 'Kinesis records after one without an eventSource',
      records: [{}, kinesisRecord(dynamodbChangeJson())],
      expected: 'kinesis',
    },
    {
      label: 'stream records after one without an eventSource',
      records: [null, streamRecord({ sequenceNumber: sequenceNumber(2) })],
      expected: 'dynamodb',
    },
  ])('reads $label with the $expected adapter', ({ records, expected }) => {
    expect(sourceFor(records).name).toBe(expected);
  });
});

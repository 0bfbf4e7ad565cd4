import {
  type ChangeSource,
  coalesce,
  planRecord as planWith,
  type Operation,
  type RecordOptions,
} from '../../lib/records';
import { dynamodbSource, isTtlDelete, sequenceNumberOf } from '../../lib/sources/dynamodb';
import {
  CREATED_AT,
  expectedVersion,
  KEY_ORDER,
  sequenceNumber,
  streamRecord,
  transactionImage,
  transactionKeys,
  withoutStreamField,
  withStreamField,
} from './factories';

const planRecord = (record: unknown, position: number, opts: RecordOptions) =>
  planWith(record, position, opts, dynamodbSource);

const options = (overrides: Partial<RecordOptions> = {}): RecordOptions => ({
  ttlDeletes: 'delete',
  versioning: true,
  keyOrder: KEY_ORDER,
  ...overrides,
});

describe('planRecord', () => {
  it.each(['INSERT', 'MODIFY'])(
    'turns %s into an index operation with the NewImage as JSON',
    (eventName) => {
      // Prepare
      const seq = sequenceNumber(7);
      const record = streamRecord({
        eventName,
        sequenceNumber: seq,
        newImage: transactionImage(3, 51, { amount: { N: '3.14159265358979323846' } }),
      });

      // Act
      const plan = planRecord(record, 4, options());

      // Assert
      expect(plan).toEqual({
        kind: 'operation',
        operation: {
          kind: 'index',
          position: 4,
          order: 4,
          id: '3|51',
          version: expectedVersion(CREATED_AT, seq),
          source:
            '{"userId":3,"transactionId":51,"accountId":3,"amount":3.14159265358979323846,"shortDescription":"Final mega test 2"}',
        },
      });
    },
  );

  it('turns REMOVE into a delete operation from Keys only, without needing an OldImage', () => {
    // Prepare
    const seq = sequenceNumber(9);
    const record = streamRecord({
      eventName: 'REMOVE',
      keys: transactionKeys(3, 51),
      sequenceNumber: seq,
    });

    // Act
    const plan = planRecord(record, 0, options());

    // Assert
    expect(plan).toEqual({
      kind: 'operation',
      operation: {
        kind: 'delete',
        position: 0,
        order: 0,
        id: '3|51',
        version: expectedVersion(CREATED_AT, seq),
      },
    });
  });

  it('deletes on REMOVE even when the OldImage holds invalid values (it is never read)', () => {
    const record = streamRecord({ eventName: 'REMOVE', oldImage: { a: { N: 'not a number' } } });

    const plan = planRecord(record, 0, options());

    expect(plan).toMatchObject({ kind: 'operation', operation: { kind: 'delete', id: '3|51' } });
  });

  it.each([
    { mode: 'delete', ttl: true, expected: 'delete' },
    { mode: 'ignore', ttl: true, expected: 'skip' },
    { mode: 'delete', ttl: false, expected: 'delete' },
    { mode: 'ignore', ttl: false, expected: 'delete' },
  ] as const)(
    'with TTL_DELETES=$mode a REMOVE (ttl: $ttl) becomes $expected',
    ({ mode, ttl, expected }) => {
      // Prepare
      const record = streamRecord({ eventName: 'REMOVE', ttl });

      // Act
      const plan = planRecord(record, 0, options({ ttlDeletes: mode }));

      // Assert
      if (expected === 'skip') expect(plan).toEqual({ kind: 'skip', reason: 'ttl-ignored' });
      else
        expect(plan).toMatchObject({
          kind: 'operation',
          operation: { kind: 'delete', id: '3|51' },
        });
    },
  );

  it('leaves the version out when versioning is off', () => {
    const plan = planRecord(streamRecord(), 0, options({ versioning: false }));

    expect(plan).toMatchObject({ kind: 'operation', operation: { version: undefined } });
  });

  it.each([
    { label: 'not an object', record: 'INSERT', errorType: 'MalformedRecord' },
    { label: 'null', record: null, errorType: 'MalformedRecord' },
    {
      label: 'without dynamodb',
      record: { ...streamRecord(), dynamodb: undefined },
      errorType: 'MissingDynamodb',
    },
    {
      label: 'with dynamodb null',
      record: { ...streamRecord(), dynamodb: null },
      errorType: 'MissingDynamodb',
    },
    {
      label: 'without Keys',
      record: withoutStreamField(streamRecord(), 'Keys'),
      errorType: 'MissingKeys',
    },
    {
      label: 'with an unknown eventName',
      record: streamRecord({ eventName: 'UPSERT' }),
      errorType: 'UnknownEventName',
    },
    {
      label: 'without eventName',
      record: { ...streamRecord(), eventName: undefined },
      errorType: 'UnknownEventName',
    },
    {
      label: 'INSERT without NewImage',
      record: withoutStreamField(streamRecord({ eventName: 'INSERT' }), 'NewImage'),
      errorType: 'MissingNewImage',
    },
    {
      label: 'MODIFY with NewImage null',
      record: withStreamField(streamRecord({ eventName: 'MODIFY' }), 'NewImage', null),
      errorType: 'MissingNewImage',
    },
    {
      label: 'without SequenceNumber',
      record: withoutStreamField(streamRecord(), 'SequenceNumber'),
      errorType: 'InvalidSequenceNumber',
    },
    {
      label: 'with a non-decimal SequenceNumber',
      record: streamRecord({ sequenceNumber: '12ab' }),
      errorType: 'InvalidSequenceNumber',
    },
    {
      label: 'with an invalid attribute value',
      record: streamRecord({ newImage: { ...transactionKeys(3, 51), amount: { N: 'eleven' } } }),
      errorType: 'InvalidAttributeValue',
    },
    {
      label: 'with a bad key value',
      record: streamRecord({ keys: { userId: { S: '' } } }),
      errorType: 'InvalidKey',
    },
  ])('plans a record $label as malformed ($errorType)', ({ record, errorType }) => {
    // Act
    const plan = planRecord(record, 0, options());

    // Assert
    expect(plan.kind).toBe('malformed');
    expect(plan).toMatchObject({ error: { name: 'MalformedRecordError', errorType } });
  });

  it('names the NewImage path of an invalid attribute', () => {
    const record = streamRecord({
      newImage: { ...transactionKeys(3, 51), amount: { N: 'eleven' } },
    });

    const plan = planRecord(record, 0, options());

    expect(plan).toMatchObject({
      kind: 'malformed',
      error: { message: 'NewImage.amount: not a number: "eleven"' },
    });
  });

  it('lets unexpected errors escape instead of calling them malformed', () => {
    // Prepare: a record whose dynamodb getter fails (a bug, not bad data).
    const record = {
      eventName: 'INSERT',
      get dynamodb(): unknown {
        throw new TypeError('boom');
      },
    };

    // Act / Assert
    expect(() => planRecord(record, 0, options())).toThrow(TypeError);
  });
});

describe('isTtlDelete', () => {
  it.each([
    [{ userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } }, true],
    [{ userIdentity: { type: 'Service', principalId: 'other.amazonaws.com' } }, false],
    [{ userIdentity: undefined }, false],
    [{}, false],
  ])('recognises %j as TTL: %s', (record, expected) => {
    expect(isTtlDelete(record)).toBe(expected);
  });
});

describe('sequenceNumberOf', () => {
  it.each([
    [streamRecord({ sequenceNumber: '123' }), '123'],
    [streamRecord({ sequenceNumber: '' }), undefined],
    [{ dynamodb: { SequenceNumber: 5 } }, undefined],
    [{ dynamodb: null }, undefined],
    [null, undefined],
    ['x', undefined],
  ])('reads a usable SequenceNumber (%#)', (record, expected) => {
    expect(sequenceNumberOf(record)).toBe(expected);
  });
});

describe('dynamodbSource.createdSeconds', () => {
  it.each([
    ['seconds', streamRecord()],
    [
      'milliseconds',
      withStreamField(streamRecord(), 'ApproximateCreationDateTime', CREATED_AT * 1000),
    ],
    [
      'ISO-8601 text',
      withStreamField(streamRecord(), 'ApproximateCreationDateTime', '2024-11-18T10:09:15Z'),
    ],
    ['no creation time', withoutStreamField(streamRecord(), 'ApproximateCreationDateTime')],
    ['no dynamodb section', { eventName: 'INSERT' }],
    ['null', null],
    ['a string', 'x'],
  ])('reads what identity says of the creation time (%s)', (_label, record) => {
    // Act
    const created = dynamodbSource.createdSeconds?.(record);

    // Assert
    expect(created).toBe(dynamodbSource.identity(record).createdSeconds);
  });

  it('reads the creation time in whole seconds', () => {
    expect(dynamodbSource.createdSeconds?.(streamRecord())).toBe(CREATED_AT);
  });
});

describe('coalesce', () => {
  const index = (position: number, id: string): Operation => ({
    kind: 'index',
    position,
    id,
    version: undefined,
    source: `{"p":${position}}`,
    order: position,
  });
  const del = (position: number, id: string): Operation => ({
    kind: 'delete',
    position,
    id,
    version: undefined,
    order: position,
  });

  it.each([
    ['keeps a kept version that is already higher', ['100', '200'], '200'],
    [
      'raises the kept version above a higher superseded one (a wrapped tiebreak)',
      ['3000', '5', '900'],
      '3001',
    ],
    ['compares versions of different lengths numerically', ['99', '100'], '100'],
    ['keeps a longer kept version over a shorter superseded one', ['999', '5000'], '5000'],
    ['leaves a kept version equal to the superseded one as it is', ['700', '700'], '700'],
    [
      'compares 19-digit versions digit by digit',
      ['3650722201600000002', '3650722201600000001'],
      '3650722201600000003',
    ],
    ['ignores versions when versioning is off', [undefined, undefined], undefined],
  ])('%s', (_label, versions, expected) => {
    // Prepare: changes to one document, in stream order.
    const ops: Operation[] = versions.map((version, position) => ({
      kind: 'index',
      position,
      id: 'a',
      version,
      source: '{}',
      order: position,
    }));

    // Act
    const { latest } = coalesce(ops);

    // Assert
    expect(latest).toHaveLength(1);
    expect(latest[0]?.position).toBe(versions.length - 1);
    expect(latest[0]?.version).toBe(expected);
  });

  it('keeps the last operation per id, in stream order, and returns the superseded positions', () => {
    // Prepare
    const ops = [
      index(0, 'a'),
      index(1, 'b'),
      index(2, 'a'),
      del(3, 'c'),
      index(4, 'b'),
      index(5, 'a'),
    ];

    // Act
    const { latest, superseded } = coalesce(ops);

    // Assert
    expect(latest.map((op) => op.position)).toEqual([3, 4, 5]);
    expect(superseded).toEqual([0, 1, 2]);
  });

  it('lets an INSERT after a REMOVE of the same key survive', () => {
    const { latest, superseded } = coalesce([del(0, 'k'), index(1, 'k')]);

    expect(latest).toEqual([index(1, 'k')]);
    expect(superseded).toEqual([0]);
  });

  it('lets a REMOVE after an INSERT of the same key win', () => {
    const { latest } = coalesce([index(0, 'k'), del(1, 'k')]);

    expect(latest).toEqual([del(1, 'k')]);
  });

  it('keeps every operation when the ids differ', () => {
    const ops = [index(0, 'a'), del(1, 'b'), index(2, 'c')];

    expect(coalesce(ops)).toEqual({ latest: ops, superseded: [] });
  });

  it('handles an empty list', () => {
    expect(coalesce([])).toEqual({ latest: [], superseded: [] });
  });
});

describe('coalesce by order (sources that may reorder, such as Kinesis)', () => {
  const op = (position: number, order: number, version: string): Operation => ({
    kind: 'index',
    position,
    id: 'k',
    version,
    source: `{"p":${position}}`,
    order,
  });

  it('keeps the change with the greatest order, not the last position', () => {
    // Prepare: delivered out of order; position 0 is the latest change.
    const ops = [op(0, 3_000, '30'), op(1, 1_000, '10'), op(2, 2_000, '20')];

    // Act
    const { latest, superseded } = coalesce(ops);

    // Assert
    expect(latest).toEqual([op(0, 3_000, '30')]);
    expect([...superseded].sort()).toEqual([1, 2]);
  });

  it('keeps the later position of two changes with the same order (a duplicate delivery)', () => {
    const { latest, superseded } = coalesce([op(0, 5, '50'), op(1, 5, '50')]);

    expect(latest).toEqual([op(1, 5, '50')]);
    expect(superseded).toEqual([0]);
  });

  it('still raises the kept version above every superseded one', () => {
    const { latest } = coalesce([op(0, 9, '100'), op(1, 1, '900')]);

    expect(latest).toEqual([{ ...op(0, 9, '100'), version: '901' }]);
  });
});

describe('planRecord with a source that skips without a reason', () => {
  it('reports the skip with the reason "skipped", so the skip counter still has a label', () => {
    // Prepare
    const source: ChangeSource = {
      name: 'scan',
      change: () => ({ kind: 'skip', keys: {}, image: undefined, version: undefined, order: 0 }),
      identity: () => ({
        identifier: undefined,
        eventId: undefined,
        eventName: undefined,
        createdSeconds: 0,
      }),
    };

    // Act
    const plan = planWith({}, 0, options(), source);

    // Assert
    expect(plan).toEqual({ kind: 'skip', reason: 'skipped' });
  });
});

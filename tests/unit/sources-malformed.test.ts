/**
 * Each source adapter's malformed-record errors: the error type and the reason, which an operator
 * reads in the dead letter and the log line (lib/dead-letter.ts writes both as given).
 */
import { createHash } from 'node:crypto';
import { MalformedRecordError } from '../../lib/errors';
import type { RecordOptions } from '../../lib/records';
import { dynamodbSource, kinesisSource, sourceFor } from '../../lib/sources';
import { scanSource } from '../../lib/sources/scan';
import {
  CREATED_AT,
  dynamodbChangeJson,
  kinesisRecord,
  sequenceNumber,
  SOURCE_TABLE,
  streamRecord,
  transactionKeys,
  withoutStreamField,
} from './factories';

const OPTIONS: RecordOptions = {
  ttlDeletes: 'delete',
  versioning: true,
  keyOrder: ['userId', 'transactionId'],
  sourceTable: undefined,
};

/** The MalformedRecordError `act` throws, as `{ errorType, message }`. */
function malformed(act: () => unknown): { errorType: string; message: string } {
  try {
    act();
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedRecordError);
    const { errorType, message } = error as MalformedRecordError;
    return { errorType, message };
  }
  throw new Error('expected a MalformedRecordError');
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64');
const kinesisData = (data: unknown): unknown => kinesisRecord(data, { rawData: true });

describe('DynamoDB stream records', () => {
  it.each([
    ['a record that is not an object', 'INSERT', 'MalformedRecord', 'record is not an object'],
    [
      'an unknown event name',
      { ...streamRecord(), eventName: 'UPSERT' },
      'UnknownEventName',
      'eventName "UPSERT" is not INSERT, MODIFY or REMOVE',
    ],
    [
      'no dynamodb section',
      { ...streamRecord(), dynamodb: null },
      'MissingDynamodb',
      'record has no dynamodb section',
    ],
    [
      'a MODIFY without NewImage',
      withoutStreamField(streamRecord({ eventName: 'MODIFY' }), 'NewImage'),
      'MissingNewImage',
      'MODIFY record has no NewImage (is the stream view type KEYS_ONLY or OLD_IMAGE?)',
    ],
  ])('dead-letters %s with its reason', (_label, record, errorType, message) => {
    expect(malformed(() => dynamodbSource.change(record, 0, OPTIONS))).toEqual({
      errorType,
      message,
    });
  });

  it('dead-letters an INSERT whose NewImage is null as missing its NewImage', () => {
    // Prepare
    const record = streamRecord();
    (record.dynamodb as Record<string, unknown>).NewImage = null;

    // Act
    const error = malformed(() => dynamodbSource.change(record, 0, OPTIONS));

    // Assert
    expect(error.errorType).toBe('MissingNewImage');
  });
});

describe('DynamoDB stream record identity', () => {
  it('names a record by its SequenceNumber, eventID and eventName', () => {
    expect(dynamodbSource.identity(streamRecord({ eventName: 'MODIFY' }))).toEqual({
      identifier: sequenceNumber(1),
      eventId: `event-${sequenceNumber(1)}`,
      eventName: 'MODIFY',
      createdSeconds: CREATED_AT,
    });
  });

  it('leaves out an eventID and eventName that are not text', () => {
    const identity = dynamodbSource.identity({ ...streamRecord(), eventID: 7, eventName: 7 });

    expect(identity).toMatchObject({ eventId: undefined, eventName: undefined });
  });
});

describe('Kinesis records', () => {
  const good = dynamodbChangeJson();

  it.each([
    [
      'no kinesis.data',
      { eventSource: 'aws:kinesis', kinesis: {} },
      'MissingKinesisData',
      'record has no kinesis.data string',
    ],
    ['data that is not base64', kinesisData('%%%%'), 'InvalidBase64', 'kinesis.data is not base64'],
    [
      'base64 that is not JSON',
      kinesisData(Buffer.from('{"a":').toString('base64')),
      'InvalidJson',
      'kinesis.data is not JSON',
    ],
    [
      'JSON that is not an object',
      kinesisData(b64([good])),
      'NotDynamodbChange',
      'kinesis.data is not a JSON object',
    ],
    [
      'JSON that is a number',
      kinesisData(b64(5)),
      'NotDynamodbChange',
      'kinesis.data is not a JSON object',
    ],
    [
      'Keys that are text',
      kinesisRecord({ ...good, dynamodb: { ...(good.dynamodb as object), Keys: 'k' } }),
      'MissingKeys',
      'record has no dynamodb.Keys',
    ],
    [
      'JSON from another source',
      kinesisData(b64({ ...good, eventSource: 'aws:s3' })),
      'NotDynamodbChange',
      'kinesis.data has eventSource "aws:s3", not "aws:dynamodb"',
    ],
    [
      'null Keys',
      kinesisRecord({ ...good, dynamodb: { ...(good.dynamodb as object), Keys: null } }),
      'MissingKeys',
      'record has no dynamodb.Keys',
    ],
    [
      'a creation time that is not an epoch time',
      kinesisRecord({
        ...good,
        dynamodb: { ...(good.dynamodb as object), ApproximateCreationDateTime: 'yesterday' },
      }),
      'InvalidCreationDateTime',
      'dynamodb.ApproximateCreationDateTime "yesterday" is not an epoch time',
    ],
  ])('dead-letters %s with its reason', (_label, record, errorType, message) => {
    expect(malformed(() => kinesisSource.change(record, 0, OPTIONS))).toEqual({
      errorType,
      message,
    });
  });

  it('accepts a change of SOURCE_TABLE', () => {
    const record = kinesisRecord(dynamodbChangeJson({ tableName: SOURCE_TABLE }));

    expect(kinesisSource.change(record, 0, { ...OPTIONS, sourceTable: SOURCE_TABLE }).kind).toBe(
      'index',
    );
  });

  it.each([
    ['a number', 42],
    ['an empty text', ''],
    ['letters before digits', 'x49657828409187701520019995242508390119953358325192589314'],
    ['letters after digits', '49657828409187701520019995242508390119953358325192589314x'],
    ['more than 128 digits', '1'.repeat(129)],
  ])(
    'gives a record whose kinesis.sequenceNumber is %s no identifier to report to Lambda',
    (_label, sequenceNumber) => {
      // Prepare
      const record = kinesisRecord(good);
      record.kinesis.sequenceNumber = sequenceNumber;

      // Act
      const identity = kinesisSource.identity(record);

      // Assert
      expect(identity.identifier).toBeUndefined();
    },
  );

  it.each(['1', '1'.repeat(128)])('reports the sequence number %s as the identifier', (seq) => {
    expect(kinesisSource.identity(kinesisRecord(good, { sequenceNumber: seq })).identifier).toBe(
      seq,
    );
  });

  it('dates a record by its change time, not its arrival, and leaves out fields that are not text', () => {
    // Prepare: a change made a day before it reached the stream.
    const record = kinesisRecord({
      ...good,
      eventName: 7,
      dynamodb: { ...(good.dynamodb as object), ApproximateCreationDateTime: 1_600_000_000_000 },
    });
    (record as Record<string, unknown>).eventID = 7;

    // Act
    const identity = kinesisSource.identity(record);

    // Assert
    expect(identity).toMatchObject({
      eventId: undefined,
      eventName: undefined,
      createdSeconds: 1_600_000_000,
    });
  });

  it.each([
    ['no arrival time', undefined, 0],
    ['an arrival time of 0', 0, 0],
    ['a negative arrival time', -5, 0],
    ['an arrival time as text', '1700000000', 0],
    ['an arrival time past the version scale', 2 ** 40, 2 ** 32 - 1],
    ['a fractional arrival time', 1_700_000_000.9, 1_700_000_000],
  ])('dates an undecodable record with %s (%p) at second %d', (_label, arrival, seconds) => {
    // Prepare
    const record = kinesisData('not base64!') as { kinesis: Record<string, unknown> };
    record.kinesis.approximateArrivalTimestamp = arrival;

    // Act
    const identity = kinesisSource.identity(record);

    // Assert
    expect(identity.createdSeconds).toBe(seconds);
  });
});

describe('sourceFor', () => {
  it('lets the first record that names a source decide', () => {
    expect(sourceFor([streamRecord(), kinesisRecord(dynamodbChangeJson())]).name).toBe('dynamodb');
  });
});

describe('scan records', () => {
  const keys = transactionKeys(3, 51);

  it.each([
    ['no keys', { table: 'T', version: '1' }, 'MalformedScanRecord', 'scan record has no keys'],
    [
      'keys that are a list',
      { table: 'T', keys: [keys], version: '1' },
      'MalformedScanRecord',
      'scan record has no keys',
    ],
    ['a list', [{ keys }], 'MalformedScanRecord', 'scan record has no keys'],
    [
      'a key attribute that is not an attribute value',
      { table: 'T', keys: { ...keys, transactionId: ['51'] }, version: '1' },
      'MissingKeyAttribute',
      'item has no key attribute transactionId',
    ],
    [
      'a missing key attribute',
      { table: 'T', keys: { ...keys, transactionId: null }, version: '1' },
      'MissingKeyAttribute',
      'item has no key attribute transactionId',
    ],
  ])('dead-letters %s with its reason', (_label, record, errorType, message) => {
    expect(malformed(() => scanSource.change(record as never, 0, OPTIONS))).toEqual({
      errorType,
      message,
    });
  });

  it.each([
    ['an item', { table: 'T', keys, item: keys, version: '1' }, 'index'],
    ['no item', { table: 'T', keys, version: '1' }, 'delete'],
    ['a null item', { table: 'T', keys, item: null, version: '1' }, 'delete'],
  ])('plans a record with %s as %s', (_label, record, kind) => {
    expect(scanSource.change(record as never, 7, OPTIONS)).toMatchObject({
      kind,
      keys,
      version: '1',
      order: 7,
    });
  });

  it('sends no version for a record whose version is not text', () => {
    const change = scanSource.change({ table: 'T', keys, version: 5 } as never, 0, OPTIONS);

    expect(change.version).toBeUndefined();
  });

  const seconds = 1_700_000_000;
  const version = (BigInt(seconds) << 31n).toString();

  it.each([
    [
      'an item',
      { table: 'T', keys, item: keys, version },
      { identifier: `scan-${version}`, eventName: 'SCAN', createdSeconds: seconds },
    ],
    [
      'a delete',
      { table: 'T', keys, version },
      { identifier: `scan-${version}`, eventName: 'SCAN_DELETE', createdSeconds: seconds },
    ],
    [
      'a null item',
      { table: 'T', keys, item: null, version },
      { identifier: `scan-${version}`, eventName: 'SCAN_DELETE', createdSeconds: seconds },
    ],
    [
      'a 19-digit version',
      { table: 'T', keys, item: keys, version: '9'.repeat(19) },
      {
        identifier: `scan-${'9'.repeat(19)}`,
        eventName: 'SCAN',
        createdSeconds: Number(BigInt('9'.repeat(19)) >> 31n),
      },
    ],
    [
      'a 20-digit version',
      { table: 'T', keys, item: keys, version: '1'.repeat(20) },
      { identifier: undefined, eventName: 'SCAN', createdSeconds: 0 },
    ],
    [
      'a version with a letter before it',
      { table: 'T', keys, item: keys, version: `v${version}` },
      { identifier: undefined, eventName: 'SCAN', createdSeconds: 0 },
    ],
    [
      'a version with a letter after it',
      { table: 'T', keys, item: keys, version: `${version}v` },
      { identifier: undefined, eventName: 'SCAN', createdSeconds: 0 },
    ],
    [
      'a version that is a number',
      { table: 'T', keys, item: keys, version: 5 },
      { identifier: undefined, eventName: 'SCAN', createdSeconds: 0 },
    ],
  ])('describes %s by its read version', (_label, record, expected) => {
    expect(scanSource.identity(record)).toMatchObject(expected);
  });

  it('names a record whose keys cannot be written as JSON by an empty text', () => {
    // Prepare
    const emptyDigest = createHash('sha256').update('').digest('hex').slice(0, 32);

    // Act
    const identity = scanSource.identity({ table: 'T', keys: { userId: { N: 1n } }, version });

    // Assert
    expect(identity.eventId).toBe(emptyDigest);
  });

  it('names a record by the first 32 hex digits of the SHA-256 of its table and keys', () => {
    // Prepare
    const expected = createHash('sha256')
      .update(JSON.stringify(['T', keys]))
      .digest('hex')
      .slice(0, 32);

    // Act
    const identity = scanSource.identity({ table: 'T', keys, item: keys, version });

    // Assert
    expect(identity.eventId).toBe(expected);
  });
});

/**
 * Kinesis Data Streams records carrying DynamoDB changes (the table's Kinesis streaming
 * destination, as Lambda delivers them) -> changes.
 *
 * A Lambda Kinesis record is `{eventSource: "aws:kinesis", eventID, kinesis: {sequenceNumber,
 * partitionKey, data, approximateArrivalTimestamp}}`; `data` is the base64 of a DynamoDB change
 * record in JSON: `{awsRegion, eventID, eventName, userIdentity, recordFormat, tableName,
 * dynamodb: {ApproximateCreationDateTime, Keys, NewImage?, OldImage?, SizeBytes}, eventSource:
 * "aws:dynamodb"}`, with no SequenceNumber (REFERENCE "DynamoDB -> Kinesis Data Streams").
 *
 * - The decoded change goes through the same rules as a stream record (dynamodb.ts: INSERT/MODIFY
 *   index the NewImage, REMOVE deletes by Keys, TTL expiries). Attribute values are DynamoDB JSON
 *   here too, binary as base64 strings, so a document is byte for byte the one the stream path
 *   writes.
 * - Kinesis may deliver an item's changes out of order and more than once, and AWS says to use
 *   ApproximateCreationDateTime for both. So the creation time, in microseconds, is the order
 *   inside a batch (coalescing keeps the latest; an equal time is a duplicate) and, on the
 *   stream's scale, the external version across batches (versions.ts, timestampVersion).
 * - The identifier Lambda wants back is `kinesis.sequenceNumber` (delivery order in the shard),
 *   not anything in the change.
 * - Anything that is not a DynamoDB change of the expected table is malformed: dead-lettered with
 *   the Kinesis record as received, never retried, never blocking the shard.
 */
import { MalformedRecordError } from '../errors';
import type { Change, ChangeSource, RecordIdentity, RecordOptions } from '../records';
import { creationMicros, MAX_SECONDS, timestampVersion } from '../versions';
import { dynamodbChange, dynamodbChangeParts } from './dynamodb';

/** Standard base64 with padding, as Kinesis encodes `data` (Lambda Kinesis event). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const USABLE_SEQUENCE = /^\d{1,128}$/;

interface KinesisPart {
  readonly sequenceNumber?: unknown;
  readonly data?: unknown;
  readonly approximateArrivalTimestamp?: unknown;
}

/** The record's `kinesis` section as given: every read of it is optional and type-checked. */
function kinesisPart(record: unknown): KinesisPart | null | undefined {
  return (record as { kinesis?: KinesisPart | null } | null | undefined)?.kinesis;
}

/**
 * The DynamoDB change a Kinesis record carries, decoded and checked to be one: JSON of an object
 * with `eventSource: "aws:dynamodb"`. Throws MalformedRecordError otherwise.
 */
export function decodeDynamodbChange(record: unknown): Record<string, unknown> {
  const data = kinesisPart(record)?.data;
  if (typeof data !== 'string') {
    throw new MalformedRecordError('MissingKinesisData', 'record has no kinesis.data string');
  }
  // Buffer.from skips characters that are not base64 instead of failing, so check first.
  if (data === '' || !BASE64.test(data)) {
    throw new MalformedRecordError('InvalidBase64', 'kinesis.data is not base64');
  }
  let change: unknown;
  try {
    change = JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
  } catch {
    throw new MalformedRecordError('InvalidJson', 'kinesis.data is not JSON');
  }
  if (change === null || typeof change !== 'object' || Array.isArray(change)) {
    throw new MalformedRecordError('NotDynamodbChange', 'kinesis.data is not a JSON object');
  }
  const eventSource = (change as { eventSource?: unknown }).eventSource;
  if (eventSource !== 'aws:dynamodb') {
    throw new MalformedRecordError(
      'NotDynamodbChange',
      `kinesis.data has eventSource ${JSON.stringify(eventSource)}, not "aws:dynamodb"`,
    );
  }
  return change as Record<string, unknown>;
}

/** The change's creation time in epoch microseconds; malformed without one. */
function changeMicros(dynamodb: unknown): number {
  const value = (dynamodb as { ApproximateCreationDateTime?: unknown }).ApproximateCreationDateTime;
  const micros = creationMicros(value);
  if (micros === undefined) {
    throw new MalformedRecordError(
      'InvalidCreationDateTime',
      `dynamodb.ApproximateCreationDateTime ${JSON.stringify(value)} is not an epoch time`,
    );
  }
  return micros;
}

/**
 * Changes decoded by `change`, so `identity` (asked for every record when the batch's freshness
 * is published, and for logs and dead letters) does not decode the base64 and JSON a second time.
 * Weak: an entry lives as long as its record, i.e. one invocation.
 */
const decoded = new WeakMap<object, Record<string, unknown>>();

function decodedChange(record: unknown): Record<string, unknown> {
  return (
    // A cache lookup: every variant of the object test only decodes again (the same data gives the
    // same change) or asks the WeakMap about a primitive, which answers undefined.
    // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: see above, the lookup only saves a decode.
    // Stryker disable next-line LogicalOperator: only the inner `&&` -> `||` is equivalent (see above); `??` -> `&&` returns undefined for an unseen record and is killed by the identity tests (checked by hand).
    (record !== null && typeof record === 'object' ? decoded.get(record) : undefined) ??
    decodeDynamodbChange(record)
  );
}

export const kinesisSource: ChangeSource = {
  name: 'kinesis',
  change(record: unknown, _position: number, options: RecordOptions): Change {
    const change = decodeDynamodbChange(record);
    decoded.set(record as object, change);
    if (options.sourceTable !== undefined && change.tableName !== options.sourceTable) {
      throw new MalformedRecordError(
        'OtherTable',
        `change of table ${JSON.stringify(change.tableName)}, not SOURCE_TABLE ${JSON.stringify(options.sourceTable)}`,
      );
    }
    const parts = dynamodbChangeParts(change);
    if (parts.keys === null || typeof parts.keys !== 'object') {
      throw new MalformedRecordError('MissingKeys', 'record has no dynamodb.Keys');
    }
    const micros = changeMicros(change.dynamodb);
    const version = options.versioning ? timestampVersion(micros) : undefined;
    return dynamodbChange(change, parts, version, micros, options, true);
  },
  identity(record): RecordIdentity {
    const kinesis = kinesisPart(record);
    const seq = kinesis?.sequenceNumber;
    const eventId = (record as { eventID?: unknown } | null | undefined)?.eventID;
    let eventName: string | undefined;
    let micros: number | undefined;
    try {
      const change = decodedChange(record);
      if (typeof change.eventName === 'string') eventName = change.eventName;
      const dynamodb = change.dynamodb as { ApproximateCreationDateTime?: unknown } | undefined;
      micros = creationMicros(dynamodb?.ApproximateCreationDateTime);
    } catch {
      // A broken record still has its Kinesis identity; the change's own fields stay unknown.
    }
    // Dated by the change when it has a time, else by its arrival in the stream (seconds).
    const arrival = kinesis?.approximateArrivalTimestamp;
    const seconds =
      micros !== undefined
        ? Math.floor(micros / 1e6)
        : // Stryker disable next-line EqualityOperator: only `>=` is equivalent (an arrival of 0 gives second 0 either way); `<=` is killed by the arrival-time tests.
          typeof arrival === 'number' && arrival > 0
          ? Math.min(Math.floor(arrival), MAX_SECONDS)
          : 0;
    return {
      identifier: typeof seq === 'string' && USABLE_SEQUENCE.test(seq) ? seq : undefined,
      eventId: typeof eventId === 'string' ? eventId : undefined,
      eventName,
      createdSeconds: seconds,
    };
  },
};

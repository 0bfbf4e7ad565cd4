/**
 * DynamoDB Streams records (as Lambda delivers them) -> changes.
 *
 * INSERT and MODIFY index the NewImage as the whole document; REMOVE deletes by Keys (no OldImage
 * needed, so NEW_IMAGE views work too). TTL expiries are REMOVE records whose userIdentity is the
 * DynamoDB service; they delete unless TTL_DELETES=ignore. The identifier Lambda wants back is the
 * record's `dynamodb.SequenceNumber`, and records of one item arrive in modification order, so the
 * stream position orders changes inside a batch.
 */
import { MalformedRecordError } from '../errors';
import type { Change, ChangeSource, RecordIdentity, RecordOptions } from '../records';
import { checkSequenceNumber, creationSeconds, externalVersion } from '../versions';

const TTL_PRINCIPAL = 'dynamodb.amazonaws.com';

/** True for the REMOVE records DynamoDB's TTL process writes (userIdentity is the service). */
export function isTtlDelete(record: { userIdentity?: unknown }): boolean {
  const identity = record.userIdentity as { type?: unknown; principalId?: unknown } | undefined;
  return identity?.principalId === TTL_PRINCIPAL;
}

/** Returns the record's SequenceNumber if it has a usable one; used for the batch response. */
export function sequenceNumberOf(record: unknown): string | undefined {
  const seq = (record as { dynamodb?: { SequenceNumber?: unknown } } | null)?.dynamodb
    ?.SequenceNumber;
  return typeof seq === 'string' && seq !== '' ? seq : undefined;
}

/** The DynamoDB change record's common part: event name, `dynamodb` section, TTL rule. */
export interface DynamodbChangeParts {
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly keys: unknown;
  readonly newImage: unknown;
}

/**
 * Checks the shape every DynamoDB change record has, on any transport (a Lambda stream record, or
 * the JSON a Kinesis record carries): an event name, a `dynamodb` section.
 */
export function dynamodbChangeParts(record: unknown): DynamodbChangeParts {
  if (record === null || typeof record !== 'object') {
    throw new MalformedRecordError('MalformedRecord', 'record is not an object');
  }
  const { eventName, dynamodb } = record as { eventName?: unknown; dynamodb?: unknown };
  if (eventName !== 'INSERT' && eventName !== 'MODIFY' && eventName !== 'REMOVE') {
    throw new MalformedRecordError(
      'UnknownEventName',
      `eventName ${JSON.stringify(eventName)} is not INSERT, MODIFY or REMOVE`,
    );
  }
  if (dynamodb === null || typeof dynamodb !== 'object') {
    throw new MalformedRecordError('MissingDynamodb', 'record has no dynamodb section');
  }
  const { Keys, NewImage } = dynamodb as { Keys?: unknown; NewImage?: unknown };
  return { eventName, keys: Keys, newImage: NewImage };
}

/**
 * The change for a DynamoDB change record whose version and order are already known.
 * `timeTiebreak`: the version's tiebreak is the creation time (Kinesis), see Change.
 */
export function dynamodbChange(
  record: unknown,
  parts: DynamodbChangeParts,
  version: string | undefined,
  order: number,
  options: RecordOptions,
  timeTiebreak?: true,
): Change {
  const { eventName, keys, newImage } = parts;
  if (eventName === 'REMOVE') {
    if (options.ttlDeletes === 'ignore' && isTtlDelete(record as { userIdentity?: unknown })) {
      return {
        kind: 'skip',
        keys,
        image: undefined,
        version,
        order,
        timeTiebreak,
        skipReason: 'ttl-ignored',
      };
    }
    return { kind: 'delete', keys, image: undefined, version, order, timeTiebreak };
  }
  if (newImage === undefined || newImage === null) {
    throw new MalformedRecordError(
      'MissingNewImage',
      `${eventName} record has no NewImage (is the stream view type KEYS_ONLY or OLD_IMAGE?)`,
    );
  }
  return { kind: 'index', keys, image: newImage, version, order, timeTiebreak };
}

export const dynamodbSource: ChangeSource = {
  name: 'dynamodb',
  change(record, position, options) {
    const parts = dynamodbChangeParts(record);
    const stream = (
      record as { dynamodb: { SequenceNumber?: unknown; ApproximateCreationDateTime?: unknown } }
    ).dynamodb;
    const sequenceNumber = checkSequenceNumber(stream.SequenceNumber);
    const version = options.versioning
      ? externalVersion(stream.ApproximateCreationDateTime, sequenceNumber)
      : undefined;
    return dynamodbChange(record, parts, version, position, options);
  },
  identity(record): RecordIdentity {
    const r = record as
      | {
          eventID?: unknown;
          eventName?: unknown;
          dynamodb?: { ApproximateCreationDateTime?: unknown };
        }
      | null
      | undefined;
    return {
      identifier: sequenceNumberOf(record),
      eventId: typeof r?.eventID === 'string' ? r.eventID : undefined,
      eventName: typeof r?.eventName === 'string' ? r.eventName : undefined,
      createdSeconds: creationSeconds(r?.dynamodb?.ApproximateCreationDateTime),
    };
  },
  createdSeconds(record) {
    const r = record as { dynamodb?: { ApproximateCreationDateTime?: unknown } } | null | undefined;
    return creationSeconds(r?.dynamodb?.ApproximateCreationDateTime);
  },
};

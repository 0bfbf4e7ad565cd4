/**
 * Stream record -> operation. Pure: no I/O, no clock.
 *
 * INSERT and MODIFY index the NewImage as the whole document; REMOVE deletes by Keys (no
 * OldImage needed, so KEYS_ONLY-free views such as NEW_IMAGE work too). TTL expiries are REMOVE
 * records whose userIdentity is the DynamoDB service; they delete unless TTL_DELETES=ignore.
 */
import { MalformedRecordError } from './errors';
import { itemToJson } from './documents';
import { documentId } from './ids';
import { checkSequenceNumber, externalVersion } from './versions';

export interface IndexOperation {
  readonly kind: 'index';
  /** Position of the record in the batch, i.e. in stream order. */
  readonly position: number;
  readonly id: string;
  /** External version as decimal text, or undefined when versioning is off. */
  readonly version: string | undefined;
  /** The document as JSON text. */
  readonly source: string;
}

export interface DeleteOperation {
  readonly kind: 'delete';
  readonly position: number;
  readonly id: string;
  readonly version: string | undefined;
}

export type Operation = IndexOperation | DeleteOperation;

export type RecordPlan =
  | { readonly kind: 'operation'; readonly operation: Operation }
  | { readonly kind: 'skip'; readonly reason: 'ttl-ignored' }
  | { readonly kind: 'malformed'; readonly error: MalformedRecordError };

export interface RecordOptions {
  readonly ttlDeletes: 'delete' | 'ignore';
  readonly versioning: boolean;
  /** Key attribute names in key-schema order (KEY_ATTRIBUTES); empty means sorted by name. */
  readonly keyOrder: readonly string[];
}

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

export function planRecord(record: unknown, position: number, options: RecordOptions): RecordPlan {
  try {
    const operation = toOperation(record, position, options);
    return operation === TTL_IGNORED
      ? { kind: 'skip', reason: 'ttl-ignored' }
      : { kind: 'operation', operation };
  } catch (error) {
    if (error instanceof MalformedRecordError) return { kind: 'malformed', error };
    throw error;
  }
}

const TTL_IGNORED = Symbol('ttl-ignored');

function toOperation(
  record: unknown,
  position: number,
  options: RecordOptions,
): Operation | typeof TTL_IGNORED {
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
  const stream = dynamodb as {
    Keys?: unknown;
    NewImage?: unknown;
    SequenceNumber?: unknown;
    ApproximateCreationDateTime?: unknown;
  };
  const sequenceNumber = checkSequenceNumber(stream.SequenceNumber);
  const id = documentId(stream.Keys, options.keyOrder);
  const version = options.versioning
    ? externalVersion(stream.ApproximateCreationDateTime, sequenceNumber)
    : undefined;

  if (eventName === 'REMOVE') {
    if (options.ttlDeletes === 'ignore' && isTtlDelete(record)) return TTL_IGNORED;
    return { kind: 'delete', position, id, version };
  }
  if (stream.NewImage === undefined || stream.NewImage === null) {
    throw new MalformedRecordError(
      'MissingNewImage',
      `${eventName} record has no NewImage (is the stream view type KEYS_ONLY or OLD_IMAGE?)`,
    );
  }
  return { kind: 'index', position, id, version, source: itemToJson(stream.NewImage, 'NewImage') };
}

/**
 * Keeps only the last operation per document, in stream order. Records of one item arrive in
 * modification order (DynamoDB Streams), so the last one is the item's state after the batch;
 * sending only it also means no two operations in flight can touch the same document.
 * Returns the kept operations and the positions of the superseded ones.
 *
 * Stream order is known here, so the kept operation's version is also raised above every version
 * it supersedes: if a same-second tiebreak wrapped inside the batch (lib/versions.ts), a late
 * replay of the superseded change is still refused.
 */
export function coalesce(operations: readonly Operation[]): {
  latest: Operation[];
  superseded: number[];
} {
  const kept = new Map<string, number>(); // id -> index in `latest`
  const latest: Operation[] = [];
  const superseded: number[] = [];
  for (let i = operations.length - 1; i >= 0; i--) {
    const op = operations[i] as Operation;
    const at = kept.get(op.id);
    if (at === undefined) {
      kept.set(op.id, latest.length);
      latest.push(op);
      continue;
    }
    superseded.push(op.position);
    const newer = latest[at] as Operation;
    if (
      op.version !== undefined &&
      newer.version !== undefined &&
      !versionBelow(op.version, newer.version)
    ) {
      latest[at] = { ...newer, version: (BigInt(op.version) + 1n).toString() };
    }
  }
  return { latest: latest.reverse(), superseded: superseded.reverse() };
}

/** `a < b` for decimal version texts without leading zeros, without BigInt. */
function versionBelow(a: string, b: string): boolean {
  return a.length !== b.length ? a.length < b.length : a < b;
}

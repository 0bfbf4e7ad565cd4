/**
 * Changes -> operations, whatever their source. Pure: no I/O, no clock.
 *
 * A source adapter (lib/sources/) turns each record it receives into a neutral `Change`: index
 * (an item image), delete (by key), or skip, with the key attributes, an external version and an
 * order. From here on nothing knows the source: the key becomes the document id (lib/ids.ts), the
 * image the document (lib/documents.ts), and `coalesce` keeps one operation per document.
 */
import { itemToJson } from './documents';
import { MalformedRecordError } from './errors';
import { documentId } from './ids';

/** Where a change came from; also the `source` of its dead letter, so a re-drive can replay it. */
export type SourceName = 'dynamodb' | 'kinesis' | 'scan';

/** A source record as the core sees it. */
export interface Change {
  readonly kind: 'index' | 'delete' | 'skip';
  /** The item's key attributes in DynamoDB JSON (`dynamodb.Keys`). */
  readonly keys: unknown;
  /** The whole item in DynamoDB JSON, for `index`. */
  readonly image: unknown;
  /** External version as decimal text, or undefined when versioning is off. */
  readonly version: string | undefined;
  /**
   * Orders two changes of one item inside a batch; the greater is the later change. Stream
   * position for DynamoDB Streams (records of one item arrive in modification order), the
   * creation time for sources that may reorder (Kinesis).
   */
  readonly order: number;
  /**
   * True when the version's same-second tiebreak is the creation time (Kinesis), which never
   * wraps: a 409 for it is final and is never re-sent past the stored version (lib/versions.ts).
   * Unset for DynamoDB Streams versions, whose sequence-number tiebreak can wrap.
   */
  readonly timeTiebreak?: boolean | undefined;
  /** Why a `skip` is skipped, for counters and logs. */
  readonly skipReason?: string;
}

/** What logs, dead-letter keys and the batch response need to know of any record, even a broken one. */
export interface RecordIdentity {
  /** The identifier Lambda wants back in `batchItemFailures`, when the record has a usable one. */
  readonly identifier: string | undefined;
  readonly eventId: string | undefined;
  readonly eventName: string | undefined;
  /** Whole epoch seconds of the change, or 0 when unknown. */
  readonly createdSeconds: number;
}

export interface ChangeSource<R = unknown> {
  readonly name: SourceName;
  /** The record as a change. Throws MalformedRecordError for a record that cannot be one. */
  change(record: R, position: number, options: RecordOptions): Change;
  /** Never throws: describes whatever it is given. */
  identity(record: unknown): RecordIdentity;
  /**
   * `identity(record).createdSeconds` without the rest of the identity. The freshness metric
   * asks it of every record of every batch, so a source whose identity costs more than reading
   * one field offers it; without it, `identity` is asked. Never throws.
   */
  createdSeconds?(record: unknown): number;
}

export interface IndexOperation {
  readonly kind: 'index';
  /** Position of the record in the batch. */
  readonly position: number;
  readonly id: string;
  /** External version as decimal text, or undefined when versioning is off. */
  readonly version: string | undefined;
  /** The document as JSON text. */
  readonly source: string;
  readonly order: number;
  /** See Change.timeTiebreak. */
  readonly timeTiebreak?: boolean | undefined;
}

export interface DeleteOperation {
  readonly kind: 'delete';
  readonly position: number;
  readonly id: string;
  readonly version: string | undefined;
  readonly order: number;
  readonly timeTiebreak?: boolean | undefined;
}

export type Operation = IndexOperation | DeleteOperation;

export type RecordPlan =
  | { readonly kind: 'operation'; readonly operation: Operation }
  | { readonly kind: 'skip'; readonly reason: string }
  | { readonly kind: 'malformed'; readonly error: MalformedRecordError };

export interface RecordOptions {
  readonly ttlDeletes: 'delete' | 'ignore';
  readonly versioning: boolean;
  /** Key attribute names in key-schema order (KEY_ATTRIBUTES); empty means sorted by name. */
  readonly keyOrder: readonly string[];
  /** SOURCE_TABLE: changes of any other table are malformed (sources that name the table). */
  readonly sourceTable?: string | undefined;
}

/** One record of `source` -> an operation, a skip, or the reason it is malformed. */
export function planRecord<R>(
  record: R,
  position: number,
  options: RecordOptions,
  source: ChangeSource<R>,
): RecordPlan {
  try {
    const change = source.change(record, position, options);
    if (change.kind === 'skip') return { kind: 'skip', reason: change.skipReason ?? 'skipped' };
    return { kind: 'operation', operation: toOperation(change, position, options) };
  } catch (error) {
    if (error instanceof MalformedRecordError) return { kind: 'malformed', error };
    throw error;
  }
}

function toOperation(change: Change, position: number, options: RecordOptions): Operation {
  const id = documentId(change.keys, options.keyOrder);
  const { version, order, timeTiebreak } = change;
  if (change.kind === 'delete') {
    return { kind: 'delete', position, id, version, order, timeTiebreak };
  }
  return {
    kind: 'index',
    position,
    id,
    version,
    source: itemToJson(change.image, 'NewImage'),
    order,
    timeTiebreak,
  };
}

/**
 * Keeps one operation per document, the latest by `order` (ties: the later position). Sending
 * only it also means no two operations in flight can touch the same document. Returns the kept
 * operations in batch order and the positions of the superseded ones.
 *
 * The kept operation's version is also raised above every version it supersedes: if a same-second
 * tiebreak wrapped inside the batch (lib/versions.ts), a late replay of the superseded change is
 * still refused.
 */
export function coalesce(operations: readonly Operation[]): {
  latest: Operation[];
  superseded: number[];
} {
  const kept = new Map<string, number>(); // id -> index in `latest`
  const latest: Operation[] = [];
  const superseded: number[] = [];
  for (let i = operations.length - 1; i >= 0; i--) {
    let op = operations[i] as Operation;
    const at = kept.get(op.id);
    if (at === undefined) {
      kept.set(op.id, latest.length);
      latest.push(op);
      continue;
    }
    let newer = latest[at] as Operation;
    if (op.order > newer.order) [op, newer] = [newer, op]; // an earlier position, a later change
    superseded.push(op.position);
    // Strictly above only: external versioning already refuses an equal version (a duplicate).
    if (
      op.version !== undefined &&
      newer.version !== undefined &&
      versionBelow(newer.version, op.version)
    ) {
      newer = { ...newer, version: (BigInt(op.version) + 1n).toString() };
    }
    latest[at] = newer;
  }
  latest.reverse();
  superseded.reverse();
  return { latest, superseded };
}

/** `a < b` for decimal version texts (a Java long: at most 19 digits), without BigInt. */
function versionBelow(a: string, b: string): boolean {
  return a.padStart(VERSION_DIGITS, '0') < b.padStart(VERSION_DIGITS, '0');
}

/** Room for any version: compared at one width, decimal texts order as their numbers. */
const VERSION_DIGITS = 20;

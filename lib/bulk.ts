/**
 * Operations -> NDJSON `_bulk` bodies, and bulk statuses -> outcomes. Pure.
 */
import { BulkRequestError } from './errors';
import type { Operation } from './records';
import { overtakesConflict } from './versions';
import { parseJsonOrUndefined } from './json';

/** One bulk response item, reduced to what the outcome table needs. */
export interface BulkItemResult {
  readonly status: number;
  readonly errorType: string | undefined;
  readonly reason: string | undefined;
}

/**
 * An operation with its NDJSON lines, encoded to UTF-8 once and re-sent as is on retries. The
 * bytes live in a shared slab (see `encodeLines`), so a chunk of operations encoded one after
 * another is one region of memory, and its request body needs no copy at all (`bulkBody`).
 */
export class EncodedOperation {
  constructor(
    readonly operation: Operation,
    /** The slab holding the lines; only `[start, start + bytes)` is this operation's. */
    readonly slab: Buffer,
    readonly start: number,
    /** The exact UTF-8 size of the lines, newlines included: chunks are packed by it. */
    readonly bytes: number,
  ) {}
  /** The NDJSON text (for tests and dry-run logs). */
  get lines(): string {
    return this.slab.toString('utf8', this.start, this.start + this.bytes);
  }
}

/**
 * The action line (and document line for `index`). `_index` is left out because requests go to
 * `/<index>/_bulk`, which lets IAM scope the indexer to that index. Each action line is one
 * template (no partial strings per part), and the lines are encoded right here, where they are
 * made: the encoder's return value is the exact UTF-8 size, so no separate byte count is taken.
 */
export function encodeOperation(operation: Operation): EncodedOperation {
  const id = JSON.stringify(operation.id);
  const { version } = operation;
  if (operation.kind === 'delete') {
    const action =
      version === undefined
        ? `{"delete":{"_id":${id}}}\n`
        : `{"delete":{"_id":${id},"version":${version},"version_type":"external"}}\n`;
    return encodeLines(operation, action, undefined);
  }
  const action =
    version === undefined
      ? `{"index":{"_id":${id}}}\n`
      : `{"index":{"_id":${id},"version":${version},"version_type":"external"}}\n`;
  return encodeLines(operation, action, operation.source);
}

/**
 * Operations in order -> encoded, with room for all of them reserved first, so a batch's lines
 * are one region of one slab and its request body needs no copy (`bulkBody`).
 *
 * The room is the batch's length in code units (its UTF-8 size when it is ASCII, as nearly all
 * bulk lines are) plus twice its longest operation, so the last lines still find room for their
 * worst case (`encodeLines`). Reserving the worst case for every line instead would triple the
 * off-heap memory each batch takes, which V8 counts towards full garbage collections. Lines that
 * do not fit (much non-ASCII text) start a new slab, and bulkBody then copies.
 */
export function encodeOperations(operations: readonly Operation[]): EncodedOperation[] {
  let chars = 0;
  let longest = 0;
  for (const operation of operations) {
    const n =
      ACTION_CHARS +
      operation.id.length +
      2 +
      (operation.kind === 'index' ? operation.source.length + 1 : 0);
    chars += n;
    // Stryker disable next-line EqualityOperator: `>=` only re-assigns an equal value, so `longest` ends the same; `<=` (the shortest instead) is a real change, killed by tests/unit/bulk-slab.test.ts (checked with a hand-made mutant).
    if (n > longest) longest = n;
  }
  reserve(chars + 2 * longest);
  // Stryker disable next-line ArrayDeclaration: only presizes; the loop assigns every index 0..length-1 in order, so an empty array ends the same.
  const encoded = new Array<EncodedOperation>(operations.length);
  for (let i = 0; i < operations.length; i++) {
    encoded[i] = encodeOperation(operations[i] as Operation);
  }
  return encoded;
}

/**
 * Encoded lines are appended to a slab of memory shared by all operations (the way Buffer's own
 * pool hands out small buffers), never overwritten once written: a new slab is started when the
 * rest of the current one might not hold the next lines. One slab holds a batch of small items,
 * so its request body is a view of the slab rather than a fresh buffer and a second copy. The
 * current slab outlives the batch (the next batch writes after it); only its written part is
 * resident memory, since reserved room that is never written is never touched.
 */
const SLAB_BYTES = 256 * 1024;
let slab = Buffer.allocUnsafe(0);
let slabUsed = 0;
/** An action line's length without its id: a delete with a 20-digit version, at the longest. */
const ACTION_CHARS =
  '{"delete":{"_id":,"version":18446744073709551616,"version_type":"external"}}\n'.length;

/** Makes sure the current slab has `bytes` of room left. */
function reserve(bytes: number): void {
  // Stryker disable next-line EqualityOperator: `<=` only starts a new slab when the room left equals the need exactly; the need is an upper bound (3 bytes a code unit, or the batch estimate that guarantees it), so the lines fit either way and every body has the same bytes. `>=` was killed in the committed run.
  if (slab.length - slabUsed < bytes) {
    slab = Buffer.allocUnsafe(Math.max(SLAB_BYTES, bytes));
    slabUsed = 0;
  }
}

function encodeLines(
  operation: Operation,
  action: string,
  source: string | undefined,
): EncodedOperation {
  // UTF-8 takes at most 3 bytes per UTF-16 code unit: this much room always suffices.
  // Stryker disable next-line ArithmeticOperator: `source.length - 1` reserves 6 bytes less, still never less than the UTF-8 size (the ASCII action line alone is over 20 bytes, so 3 × (chars - 2) covers it), so only which slab an operation whose worst case is within 6 bytes of the room starts in can change. The other arithmetic mutants of this line were killed in the committed run.
  reserve(3 * (action.length + (source === undefined ? 0 : source.length + 1)));
  const start = slabUsed;
  let at = start + slab.write(action, start);
  if (source !== undefined) {
    at += slab.write(source, at);
    slab[at++] = 0x0a;
  }
  slabUsed = at;
  return new EncodedOperation(operation, slab, start, at - start);
}

/**
 * Packs operations, in order, into chunks of at most `maxBytes`. An operation bigger than the
 * limit on its own gets a chunk of its own (OpenSearch will answer 413 if it is really too big).
 */
export function chunkByBytes<T extends { readonly bytes: number }>(
  items: readonly T[],
  maxBytes: number,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    if (current.length > 0 && size + item.bytes > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += item.bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * The request body: the chunk's encoded lines in order, as one buffer of the exact size, so
 * nothing downstream (Content-Length, the SigV4 payload hash, the socket write) scans or
 * re-encodes text. Lines encoded one after another in one slab are already that body: it is
 * returned as a view, without a copy (the slab is never written there again). Otherwise (a
 * retry of some items, a chunk across two slabs) the pieces are copied into a new buffer.
 */
export function bulkBody(chunk: readonly EncodedOperation[]): Buffer {
  const first = chunk[0];
  if (first === undefined) return Buffer.alloc(0);
  let total = first.bytes;
  let adjacent = true;
  for (let i = 1; i < chunk.length; i++) {
    const item = chunk[i] as EncodedOperation;
    const before = chunk[i - 1] as EncodedOperation;
    if (item.slab !== before.slab || item.start !== before.start + before.bytes) adjacent = false;
    total += item.bytes;
  }
  if (adjacent) return first.slab.subarray(first.start, first.start + total);
  const body = Buffer.allocUnsafe(total);
  let at = 0;
  for (const item of chunk) {
    at += item.slab.copy(body, at, item.start, item.start + item.bytes);
  }
  return body;
}

/**
 * done: the record needs nothing more; retry: send it again later; reject: dead-letter it;
 * resend: send it again now with a version above the stored one (a wrapped tiebreak).
 */
export type ItemOutcome = 'done' | 'retry' | 'reject' | 'resend';

export interface ItemVerdict {
  readonly outcome: ItemOutcome;
  /** What the status means, for counters and logs. */
  readonly label: ItemLabel;
}

export type ItemLabel =
  | 'indexed'
  | 'deleted'
  | 'not-found'
  | 'wrapped'
  | 'stale'
  | 'throttled'
  | 'unavailable'
  | 'blocked'
  | 'rejected'
  | 'unknown';

interface ItemRule {
  readonly label: ItemLabel;
  readonly outcome: ItemOutcome;
  readonly when: (
    item: BulkItemResult,
    kind: Operation['kind'],
    versioned: boolean,
    version: string | undefined,
  ) => boolean;
}

/**
 * Every bulk item status is classified by this table, first match wins (REFERENCE "Item
 * statuses"). Retryable means "not this record's fault": the same request can succeed later.
 */
export const ITEM_RULES: readonly ItemRule[] = [
  {
    label: 'indexed',
    outcome: 'done',
    when: (i, k) => i.status >= 200 && i.status < 300 && k === 'index',
  },
  { label: 'deleted', outcome: 'done', when: (i) => i.status >= 200 && i.status < 300 },
  // Deleting a document that is not there leaves the index as the table is.
  { label: 'not-found', outcome: 'done', when: (i, k) => i.status === 404 && k === 'delete' },
  // A conflict in the same second whose tiebreak is only "behind" because it wrapped: the change is
  // newer than the stored one, so it is re-sent above it (lib/versions.ts, overtakesConflict).
  {
    label: 'wrapped',
    outcome: 'resend',
    when: (i, _k, v, version) =>
      i.status === 409 && v && version !== undefined && overtakesConflict(version, i.reason),
  },
  // Under external versioning a conflict means the index already holds this change or a newer one.
  { label: 'stale', outcome: 'done', when: (i, _k, v) => i.status === 409 && v },
  { label: 'throttled', outcome: 'retry', when: (i) => i.status === 429 },
  { label: 'unavailable', outcome: 'retry', when: (i) => i.status >= 500 },
  // A missing index (auto-create off), a read-only block (disk watermark) or a request timeout
  // are the cluster's state, not the record's: retry, never dead-letter.
  {
    label: 'blocked',
    outcome: 'retry',
    when: (i) =>
      i.status === 401 ||
      i.status === 403 ||
      i.status === 408 ||
      i.errorType === 'index_not_found_exception' ||
      i.errorType === 'cluster_block_exception',
  },
  // Mapping conflicts, too many fields, an id over 512 bytes...: permanent for this record.
  { label: 'rejected', outcome: 'reject', when: (i) => i.status >= 400 && i.status < 500 },
  // Anything else (no status, 1xx/3xx) is not understood: retry rather than guess "done".
  { label: 'unknown', outcome: 'retry', when: () => true },
];

/** `version`: the version sent, when its tiebreak can wrap (else undefined: no wrap rule). */
export function classifyItem(
  item: BulkItemResult,
  kind: Operation['kind'],
  versioned: boolean,
  version?: string,
): ItemVerdict {
  for (const rule of ITEM_RULES) {
    if (rule.when(item, kind, versioned, version)) return rule;
  }
  /* istanbul ignore next: the last rule always matches */
  // Stryker disable next-line all: unreachable, the last rule of ITEM_RULES matches every item.
  return { label: 'unknown', outcome: 'retry' };
}

export type RequestOutcome = 'retry' | 'split';

/**
 * A failed request as a whole. 413 means the body is too big for the cluster's HTTP limit
 * (10 MiB on small instance types): split it. Everything else, including 400/401/403 and network
 * errors, is retried: a request-level failure is never a single record's fault.
 */
export function classifyRequestFailure(status: number | undefined): RequestOutcome {
  return status === 413 ? 'split' : 'retry';
}

/**
 * Reads `{errors, items:[{index|delete:{status, error:{type, reason}}}]}`. Items are matched to
 * operations by position (`items[i]` belongs to `operations[i]`), never by offsets into the body.
 * A response that does not account for every operation is treated as a failed request.
 */
export function parseBulkItems(body: unknown, operations: number): BulkItemResult[] {
  if (typeof body === 'string') {
    const statuses = errorFreeStatuses(body, operations);
    if (statuses !== undefined) return statuses;
  }
  const parsed = typeof body === 'string' ? parseJsonOrUndefined(body) : body;
  const items = (parsed as { items?: unknown } | null)?.items;
  if (!Array.isArray(items) || items.length !== operations) {
    throw new BulkRequestError(
      200,
      `bulk response has ${Array.isArray(items) ? items.length : 'no'} items for ${operations} operations`,
    );
  }
  // Stryker disable next-line ArrayDeclaration: only presizes; the loop assigns every index 0..length-1 in order, so an empty array ends the same.
  const results: BulkItemResult[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const entry = items[i] as Record<string, unknown> | null;
    let action: { status?: unknown; error?: unknown } | undefined;
    // Stryker disable next-line ConditionalExpression,LogicalOperator: for-in over null or a number visits no key, and over a string only one-character strings without `status` or `error`, so every non-object entry reads as status 0 with no error either way. `false` for the whole test is a real rule, killed by the unit tests (checked with a hand-made mutant; Stryker disables both directions together).
    if (entry !== null && typeof entry === 'object') {
      for (const key in entry) {
        action = entry[key] as typeof action;
        break;
      }
    }
    const error = action?.error as { type?: unknown; reason?: unknown } | string | undefined;
    results[i] = {
      status: typeof action?.status === 'number' ? action.status : 0,
      errorType:
        typeof error === 'object' && error !== null && typeof error.type === 'string'
          ? error.type
          : typeof error === 'string'
            ? 'error'
            : undefined,
      reason:
        typeof error === 'object' && error !== null && typeof error.reason === 'string'
          ? error.reason
          : typeof error === 'string'
            ? error
            : undefined,
    };
  }
  return results;
}

/**
 * True when the response text opens as OpenSearch writes a bulk response none of whose items
 * failed (BulkResponse.toXContent: `took`, then `errors`). Such a response needs no full parse.
 */
export function isErrorFreeBulkResponse(text: string): boolean {
  return ERROR_FREE_HEAD.test(text);
}

const ERROR_FREE_HEAD = /^\{"took":\d+,"errors":false[,}]/;
const STATUS_KEY = '"status":';
const SUCCESS_ITEMS = new Map<number, BulkItemResult>();

/**
 * The items of an `"errors":false` response read without JSON.parse: each item's `"status":NNN`,
 * which OpenSearch writes last in the item (BulkItemResponse.toXContent), so it is followed by
 * `}`. Such items carry no error, so status alone is what the outcome table reads (an item is
 * 2xx, or 404 for a delete of a missing document). Returns undefined, for a full parse, unless
 * exactly one such status per operation is found: every operation must have its answer. `"status":`
 * cannot occur inside a JSON string followed by a digit (a quote in a string is escaped).
 */
function errorFreeStatuses(text: string, operations: number): BulkItemResult[] | undefined {
  if (!ERROR_FREE_HEAD.test(text)) return undefined;
  // Stryker disable next-line ArrayDeclaration: only presizes; indexes 0..operations-1 are all assigned before the array is returned, so an empty array ends the same.
  const results: BulkItemResult[] = new Array(operations);
  let found = 0;
  let at = text.indexOf(STATUS_KEY);
  while (at !== -1) {
    const start = at + STATUS_KEY.length;
    let i = start;
    let status = 0;
    let c = text.charCodeAt(i);
    while (c >= 48 && c <= 57) {
      status = status * 10 + (c - 48);
      c = text.charCodeAt(++i);
    }
    // An item's status is digits closed by `}`; anything else is not one (full parse). More
    // statuses than operations fail the count below.
    if (i === start || c !== 0x7d) return undefined;
    results[found++] = SUCCESS_ITEMS.get(status) ?? successItem(status);
    at = text.indexOf(STATUS_KEY, i);
  }
  return found === operations ? results : undefined;
}

/** One frozen result per status, shared by every response (such items carry no error). */
function successItem(status: number): BulkItemResult {
  const result = Object.freeze({ status, errorType: undefined, reason: undefined });
  SUCCESS_ITEMS.set(status, result);
  return result;
}

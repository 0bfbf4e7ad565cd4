/**
 * Operations -> NDJSON `_bulk` bodies, and bulk statuses -> outcomes. Pure.
 */
import { BulkRequestError } from './errors';
import type { Operation } from './records';
import { overtakesConflict } from './versions';

/** One bulk response item, reduced to what the outcome table needs. */
export interface BulkItemResult {
  readonly status: number;
  readonly errorType: string | undefined;
  readonly reason: string | undefined;
}

/**
 * An operation with its NDJSON lines, built once and re-sent as is on retries, and its exact
 * UTF-8 size, so chunks are packed by bytes and each request body is encoded in one pass.
 */
export class EncodedOperation {
  constructor(
    readonly operation: Operation,
    /** The action line, newline included. */
    readonly action: string,
    /** The document line without its newline (index operations only). */
    readonly source: string | undefined,
    readonly bytes: number,
  ) {}
  /** The NDJSON text (for tests and dry-run logs). */
  get lines(): string {
    return this.source === undefined ? this.action : `${this.action}${this.source}\n`;
  }
}

/**
 * The action line (and document line for `index`). `_index` is left out because requests go to
 * `/<index>/_bulk`, which lets IAM scope the indexer to that index.
 */
export function encodeOperation(operation: Operation): EncodedOperation {
  const versionPart =
    operation.version === undefined
      ? ''
      : `,"version":${operation.version},"version_type":"external"`;
  const meta = `{"_id":${JSON.stringify(operation.id)}${versionPart}}`;
  if (operation.kind === 'delete') {
    const action = `{"delete":${meta}}\n`;
    return new EncodedOperation(operation, action, undefined, Buffer.byteLength(action));
  }
  const action = `{"index":${meta}}\n`;
  const bytes = Buffer.byteLength(action) + Buffer.byteLength(operation.source) + 1;
  return new EncodedOperation(operation, action, operation.source, bytes);
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
 * The request body: the chunk's lines encoded straight into one buffer of the known size, so
 * nothing downstream (Content-Length, the SigV4 payload hash, the socket write) has to scan or
 * re-encode text, and no intermediate string or buffer is built per operation.
 */
export function bulkBody(chunk: readonly EncodedOperation[]): Buffer {
  let total = 0;
  for (const item of chunk) total += item.bytes;
  const body = Buffer.allocUnsafe(total);
  let at = 0;
  for (const item of chunk) {
    at += body.write(item.action, at);
    if (item.source !== undefined) {
      at += body.write(item.source, at);
      body[at++] = 0x0a;
    }
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
  const parsed = typeof body === 'string' ? safeJson(body) : body;
  const items = (parsed as { items?: unknown } | null)?.items;
  if (!Array.isArray(items) || items.length !== operations) {
    throw new BulkRequestError(
      200,
      `bulk response has ${Array.isArray(items) ? items.length : 'no'} items for ${operations} operations`,
    );
  }
  const results: BulkItemResult[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const entry = items[i] as Record<string, unknown> | null;
    let action: { status?: unknown; error?: unknown } | undefined;
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
  const results: BulkItemResult[] = new Array(operations);
  let found = 0;
  let at = text.indexOf(STATUS_KEY);
  while (at !== -1) {
    let i = at + STATUS_KEY.length;
    let status = 0;
    let c = text.charCodeAt(i);
    if (c < 48 || c > 57) return undefined; // a status that is not a number: not an item's
    while (c >= 48 && c <= 57) {
      status = status * 10 + (c - 48);
      c = text.charCodeAt(++i);
    }
    if (c !== 0x7d || found === operations) return undefined; // `}`, and no more than asked
    let result = SUCCESS_ITEMS.get(status);
    if (result === undefined) {
      result = Object.freeze({ status, errorType: undefined, reason: undefined });
      SUCCESS_ITEMS.set(status, result);
    }
    results[found++] = result;
    at = text.indexOf(STATUS_KEY, i);
  }
  return found === operations ? results : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

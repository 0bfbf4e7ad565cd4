/**
 * A strict OpenSearch stand-in on 127.0.0.1: enough of the REST API for an indexer, with the
 * semantics an indexer must get right (versioning, tombstones, dynamic mapping, bulk format),
 * SigV4 verification, fault injection and a full request log.
 *
 * Sources followed (opensearch-project/OpenSearch, server/src/main/java/org/opensearch/...):
 *  - index/VersionType.java: EXTERNAL conflicts when current >= new, EXTERNAL_GTE when current >
 *    new, neither conflicts when the doc was never seen (NOT_FOUND); `external_gt` is an alias of
 *    EXTERNAL; versions must be >= 0 for external types.
 *  - index/engine/InternalEngine.java planIndexingAsPrimary / planDeletionAsPrimary /
 *    resolveDocVersion: the current version is read from the live version map first, which holds
 *    delete tombstones; a tombstone older than index.gc_deletes (default 60 s) is ignored, so an
 *    older write can then resurrect the document. A delete of a missing document is processed
 *    (result not_found, status 404) and still leaves a tombstone with the new version.
 *  - action/bulk/BulkRequest.validate + TransportAction.execute: item validation errors (an _id
 *    over 512 bytes, an illegal version for the version type, internal versioning with an
 *    explicit version) fail the WHOLE bulk request with 400 action_request_validation_exception
 *    ("Validation Failed: 1: id [..] is too long, must be no longer than 512 bytes but was: N;").
 *    The brief this stand-in was written for describes an item-level 400 for long ids instead;
 *    `idTooLong: 'item'` gives that, the default follows the source.
 *  - rest/action/document/RestBulkAction + action/bulk/BulkRequestParser: the body must end with
 *    a newline ("The bulk request must be terminated by a newline [\n]"), an unknown action
 *    metadata parameter fails the request ("Action/metadata line [N] contains an unknown
 *    parameter [x]"), action/metadata lines are parsed strictly.
 *  - Dynamic mapping and parse errors: see opensearch-mapping.ts.
 * Amazon OpenSearch Service specifics (docs "Amazon OpenSearch Service quotas", "Signing HTTP
 * requests"): an oversized request gets 413 {"Message":"Request size exceeded N bytes"}
 * (GUESS: the limit applies to the bytes on the wire, i.e. after gzip); auth failures are 403
 * with {"message": ...}.
 *  - action/bulk/TransportBulkAction: indices missing for index/create items and for externally
 *    versioned deletes are auto-created before any item runs; an internally versioned delete never
 *    creates one and fails as item 404 index_not_found_exception. An item addressed to an alias
 *    goes to its write index (ConcreteIndices#resolveIfAbsent -> concreteWriteIndex); an alias
 *    without one fails the item with 400 illegal_argument_exception "no write index is defined for
 *    alias [x]. ..." (rest-api-spec bulk/10_basic.yml "Return item-level error when no write index
 *    defined for an alias"), the item's `_index` being the alias name.
 *  - action/index/IndexRequest#process (rest-api-spec bulk/10_basic.yml "Empty _id"): an index or
 *    create item with `_id: ""` fails alone with 400 illegal_argument_exception "if _id is
 *    specified it must not be empty"; DeleteRequest#validate fails the whole request ("id is
 *    missing") for a delete without an id or with an empty one.
 *  - rest/RestController: `_bulk` accepts application/x-ndjson and application/json alike; other
 *    content types are 406 "Content-Type header [x] is not supported".
 *  - Aliases and name resolution: see opensearch-aliases.ts; `_search`/`_count`: opensearch-search.ts.
 *  - cluster/metadata/MetadataCreateIndexService#validateIndexName: an index named like an alias
 *    is 400 invalid_index_name_exception "Invalid index name [x], already exists as alias".
 * Stricter than OpenSearch (on purpose, see REFERENCE.md): a version given as a non-integer or out
 * of the long range fails the request (OpenSearch coerces 1.5 to 1).
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { gunzipSync, inflateSync } from 'node:zlib';
import {
  concreteIndices,
  getAliases,
  parseAliasActions,
  parseAliasProps,
  planAliasActions,
  resolveAlias,
  resolveAll,
  validateNewAlias,
  validateTable,
  type AliasProps,
  type AliasResolution,
  type RequestedAction,
} from './opensearch-aliases';
import { errorBody, HttpError, indexNotFound } from './opensearch-errors';
import { isPlainObject, RawJson, serialize } from './opensearch-json';
import { parseSearchRequest, runCount, runSearch } from './opensearch-search';
import { OpenSearchFaults, type BulkItemView, type RequestFaultDecision } from './faults';
import { BodyTooLarge, readBody, ServerLifecycle } from './http-util';
import { parseLossless, type JsonNode, JsonSyntaxError, member } from './lossless-json';
import {
  IndexMapping,
  mappingToJson,
  parseMappingDefinition,
  type MappingError,
} from './opensearch-mapping';
import { headerValues, Sigv4Verifier, type Sigv4Credentials } from './sigv4-verifier';

export { RawJson, serialize } from './opensearch-json';
export type { AliasProps, AliasResolution } from './opensearch-aliases';

export const MAX_VERSION = 9223372036854775807n;
const MAX_ID_BYTES = 512;
const NOT_FOUND = -1n;

export interface OpenSearchStandInOptions {
  /** `sigv4` (default) verifies every request; `none` accepts unsigned requests (OPENSEARCH_AUTH=none runs). */
  readonly auth?: 'sigv4' | 'none';
  readonly region?: string;
  readonly credentials?: Sigv4Credentials;
  /** Request payload limit in bytes (wire bytes). Default 10 MiB (small Amazon OpenSearch instance types). */
  readonly maxPayloadBytes?: number;
  /** Default index.gc_deletes in ms for indices that do not set it. Default 60 000. */
  readonly gcDeletesMs?: number;
  /** Default index.mapping.total_fields.limit. Default 1000. */
  readonly totalFieldsLimit?: number;
  /** Clock (ms) used for gc_deletes and SigV4 skew. Default Date.now. */
  readonly now?: () => number;
  /** action.auto_create_index. Default true. */
  readonly autoCreateIndex?: boolean;
  /** How an _id over 512 bytes fails: the whole request (OpenSearch, default) or the item. */
  readonly idTooLong?: 'request' | 'item';
  /** Seed for fault injection RNG. */
  readonly seed?: number;
}

export interface StoredDoc {
  readonly version: bigint;
  readonly rawSource: string;
  readonly source: JsonNode;
  readonly seqNo: number;
}

export interface Tombstone {
  readonly version: bigint;
  readonly deletedAt: number;
  /** True when older than gc_deletes: it no longer protects against older writes. */
  readonly expired: boolean;
}

export interface IndexContents {
  readonly docs: ReadonlyMap<string, StoredDoc>;
  readonly tombstones: ReadonlyMap<string, Tombstone>;
  readonly mapping: Record<string, unknown>;
  readonly fieldCount: number;
}

export interface RecordedRequest {
  readonly seq: number;
  readonly method: string;
  readonly url: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Body bytes on the wire. */
  readonly rawBodyBytes: number;
  /** Body bytes after Content-Encoding was undone. */
  readonly bodyBytes: number;
  readonly gzip: boolean;
  status: number;
  /** Why the stand-in answered as it did when it was not a plain success: auth check, fault, validation. */
  note: string | undefined;
  readonly startedAt: number;
  durationMs: number;
  /** Bulk only: number of items, and the raw decoded body (kept for assertions on format). */
  items: number | undefined;
  body: string | undefined;
  dropped: boolean;
}

export interface ItemOutcome {
  readonly requestSeq: number;
  readonly position: number;
  readonly action: 'index' | 'create' | 'delete';
  /** The concrete index the item went to (the name it addressed when it never resolved). */
  readonly index: string;
  /** The name the item addressed: an index or an alias. */
  readonly target: string;
  readonly id: string;
  readonly requestedVersion: bigint | undefined;
  readonly versionType: string | undefined;
  readonly status: number;
  readonly result: string | undefined;
  readonly errorType: string | undefined;
  readonly reason: string | undefined;
  readonly rawSource: string | undefined;
}

/** One change of the alias table, as the cluster state saw it (one per committed update). */
export interface AliasEvent {
  readonly seq: number;
  readonly at: number;
  /** The request (`POST /_aliases`, `DELETE /x`...) or API call that made the change. */
  readonly cause: string;
  readonly before: ReadonlyMap<string, AliasResolution>;
  readonly after: ReadonlyMap<string, AliasResolution>;
}

export interface AliasHistoryEntry {
  readonly seq: number;
  readonly at: number;
  readonly cause: string;
  /** undefined while no index carries the alias. */
  readonly resolution: AliasResolution | undefined;
}

interface IndexState {
  readonly name: string;
  readonly uuid: string;
  readonly docs: Map<string, StoredDoc>;
  readonly tombstones: Map<string, { version: bigint; deletedAt: number }>;
  readonly mapping: IndexMapping;
  gcDeletesMs: number;
  seqNo: number;
  readonly settings: Record<string, unknown>;
}

function parseTimeValueMs(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  return (
    n *
    ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as Record<string, number>)[unit]!
  );
}

function flattenSettings(
  obj: unknown,
  prefix = '',
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj as Record<string, unknown>))
      flattenSettings(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out[prefix] = obj;
  }
  return out;
}

function validIndexName(name: string): string | null {
  if (name.length === 0) return 'must not be empty';
  if (name !== name.toLowerCase()) return 'must be lowercase';
  if (/^[-_+]/.test(name)) return "must not start with '_', '-', or '+'";
  if (/[\\/*?"<>| ,#:]/.test(name))
    return 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]';
  if (name === '.' || name === '..') return "must not be '.' or '..'";
  if (Buffer.byteLength(name) > 255) return 'index name is too long';
  return null;
}

/** Filters a response by `filter_path` (comma separated, `*` and `**` wildcards, `-` exclusions; arrays are transparent). */
export function applyFilterPath(value: unknown, filterPath: string): unknown {
  const patterns = filterPath
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  const includes = patterns.filter((p) => !p.startsWith('-')).map((p) => p.split('.'));
  const excludes = patterns.filter((p) => p.startsWith('-')).map((p) => p.slice(1).split('.'));
  const segMatch = (pat: string, key: string): boolean =>
    pat === '*' ||
    new RegExp(`^${pat.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(key);

  // Advance a set of pattern suffixes through one key. Returns [fullyMatched, remainingSuffixes].
  const step = (pats: string[][], key: string): [boolean, string[][]] => {
    let full = false;
    const rest: string[][] = [];
    const visit = (p: string[]): void => {
      if (p.length === 0) return;
      const [head, ...tail] = p as [string, ...string[]];
      if (head === '**') {
        rest.push(p); // ** may consume this key and continue
        visit(tail); // or match zero keys
        return;
      }
      if (segMatch(head, key)) {
        if (tail.length === 0 || (tail.length === 1 && tail[0] === '**')) full = true;
        else rest.push(tail);
      }
    };
    pats.forEach(visit);
    return [full, rest];
  };

  const include = (v: unknown, pats: string[][]): unknown => {
    if (Array.isArray(v)) {
      const items = v.map((x) => include(x, pats)).filter((x) => x !== undefined);
      return items.length > 0 ? items : undefined;
    }
    if (!isPlainObject(v)) return undefined;
    const out: Record<string, unknown> = {};
    for (const [k, child] of Object.entries(v)) {
      const [full, rest] = step(pats, k);
      if (full) out[k] = child;
      else if (rest.length > 0) {
        const sub = include(child, rest);
        if (sub !== undefined) out[k] = sub;
      }
    }
    return Object.keys(out).length > 0 ? out : undefined;
  };
  const exclude = (v: unknown, pats: string[][]): unknown => {
    if (Array.isArray(v)) return v.map((x) => exclude(x, pats));
    if (!isPlainObject(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, child] of Object.entries(v)) {
      const [full, rest] = step(pats, k);
      if (full) continue;
      out[k] = rest.length > 0 ? exclude(child, rest) : child;
    }
    return out;
  };
  let result: unknown = value;
  if (includes.length > 0) result = include(result, includes) ?? {};
  if (excludes.length > 0) result = exclude(result, excludes);
  return result;
}

/** A JSON request body, or undefined when there is none. */
function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (e) {
    throw new HttpError(400, 'json_parse_exception', (e as Error).message);
  }
}

interface ParsedAction {
  readonly action: 'index' | 'create' | 'delete';
  readonly index: string;
  id: string | undefined;
  readonly version: bigint | undefined;
  readonly versionType: 'internal' | 'external' | 'external_gte';
  readonly versionTypeRaw: string | undefined;
  readonly rawSource: string | undefined;
  readonly source: JsonNode | undefined;
  readonly sourceError: string | undefined;
}

const ALLOWED_META = new Set([
  '_index',
  '_id',
  'routing',
  'version',
  'version_type',
  'if_seq_no',
  'if_primary_term',
  'pipeline',
  'require_alias',
  'op_type',
  'dynamic_templates',
]);

export class OpenSearchStandIn {
  readonly faults: OpenSearchFaults;
  readonly requests: RecordedRequest[] = [];
  readonly items: ItemOutcome[] = [];
  private readonly indices = new Map<string, IndexState>();
  /** index -> alias -> properties (IndexMetadata#getAliases). */
  private aliasTable = new Map<string, Map<string, AliasProps>>();
  /** Every alias change since start or reset(), in order. */
  readonly aliasEvents: AliasEvent[] = [];
  private readonly aliasListeners = new Set<(event: AliasEvent) => void>();
  private readonly verifier: Sigv4Verifier | undefined;
  private readonly now: () => number;
  private seq = 0;
  /** Limits a test may change at run time (reset() keeps them). */
  readonly limits: { maxPayloadBytes: number };
  /** Bumped by reset(): a request delayed across a reset is dropped instead of applied to the new state. */
  private epoch = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private lifecycle!: ServerLifecycle;
  private server!: http.Server;
  port = 0;

  private constructor(readonly options: OpenSearchStandInOptions) {
    this.now = options.now ?? Date.now;
    this.faults = new OpenSearchFaults(options.seed ?? 1, this.now);
    this.limits = { maxPayloadBytes: options.maxPayloadBytes ?? 10 * 1024 * 1024 };
    if ((options.auth ?? 'sigv4') === 'sigv4') {
      if (!options.credentials) throw new Error('sigv4 auth needs credentials');
      this.verifier = new Sigv4Verifier({
        region: options.region ?? 'us-east-1',
        service: 'es',
        credentials: options.credentials,
        now: this.now,
      });
    }
  }

  static async start(options: OpenSearchStandInOptions = {}): Promise<OpenSearchStandIn> {
    const s = new OpenSearchStandIn(options);
    s.server = http.createServer((req, res) => {
      const p = s.handle(req, res);
      s.inFlight.add(p);
      void s.lifecycle.track(p).finally(() => s.inFlight.delete(p));
    });
    s.server.keepAliveTimeout = 5000;
    s.lifecycle = new ServerLifecycle(s.server);
    s.port = await s.lifecycle.listen();
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    await this.lifecycle.close();
  }

  /** Waits (bounded) for requests still being handled, e.g. delayed by a `slow` fault. */
  async quiesce(maxMs = 15_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((r) => (timer = setTimeout(r, maxMs))),
    ]);
    if (timer) clearTimeout(timer);
  }

  /** Clears indices, logs and faults. Requests still delayed are dropped, never applied to the new state. */
  reset(): void {
    this.epoch++;
    this.indices.clear();
    this.aliasTable = new Map();
    this.aliasEvents.length = 0;
    this.requests.length = 0;
    this.items.length = 0;
    this.faults.reset();
  }

  /** Clears only the request and item logs. */
  clearLogs(): void {
    this.requests.length = 0;
    this.items.length = 0;
  }

  /** Creates an index directly (as PUT /<index> would, `aliases` included). */
  createIndex(
    name: string,
    body: { settings?: unknown; mappings?: unknown; aliases?: unknown } = {},
  ): void {
    this.doCreateIndex(name, body, 'createIndex()');
  }

  /** Applies `POST /_aliases` actions as the REST API does; throws HttpError as it would answer. */
  updateAliases(actions: unknown[]): void {
    this.applyAliasActions(parseAliasActions({ actions }), 'updateAliases()');
  }

  /** What an alias resolves to now (indices and write index), or undefined when none has it. */
  resolveAlias(name: string): AliasResolution | undefined {
    return resolveAlias(this.aliasTable, name);
  }

  /** Every alias and what it resolves to now. */
  aliases(): Map<string, AliasResolution> {
    return resolveAll(this.aliasTable);
  }

  /** The concrete indices a name stands for (index, alias, comma list, wildcard); [] when missing. */
  concreteIndices(expression: string): string[] {
    return this.resolveRead(expression, true);
  }

  /**
   * Calls `listener` synchronously after every committed alias change (before the response that
   * made it is sent), so a test can act exactly at the switch. Returns an unsubscribe function.
   * reset() keeps listeners.
   */
  onAliasChange(listener: (event: AliasEvent) => void): () => void {
    this.aliasListeners.add(listener);
    return () => this.aliasListeners.delete(listener);
  }

  /** What one alias resolved to after each change that touched it, oldest first. */
  aliasHistory(name: string): AliasHistoryEntry[] {
    const out: AliasHistoryEntry[] = [];
    for (const e of this.aliasEvents) {
      const before = JSON.stringify(e.before.get(name));
      const after = e.after.get(name);
      if (before !== JSON.stringify(after))
        out.push({ seq: e.seq, at: e.at, cause: e.cause, resolution: after });
    }
    return out;
  }

  hasIndex(name: string): boolean {
    return this.indices.has(name);
  }

  /** The whole index: id -> {version, rawSource}, tombstones, mapping. */
  readIndex(name: string): IndexContents {
    const idx = this.indices.get(this.inspectable(name));
    if (!idx) return { docs: new Map(), tombstones: new Map(), mapping: {}, fieldCount: 0 };
    const tombstones = new Map<string, Tombstone>();
    for (const [id, t] of idx.tombstones)
      tombstones.set(id, { ...t, expired: this.now() - t.deletedAt > idx.gcDeletesMs });
    return {
      docs: new Map(idx.docs),
      tombstones,
      mapping: mappingToJson(idx.mapping.root),
      fieldCount: idx.mapping.fieldCount,
    };
  }

  /** A comparable snapshot: sorted [id, version, rawSource] (for "nothing changed" checks). */
  snapshot(name: string): Array<[string, string, string]> {
    const idx = this.indices.get(this.inspectable(name));
    if (!idx) return [];
    return [...idx.docs]
      .map(([id, d]): [string, string, string] => [id, d.version.toString(), d.rawSource])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** readIndex/snapshot accept an alias over exactly one index; over several they cannot choose. */
  private inspectable(name: string): string {
    const a = this.indices.has(name) ? undefined : resolveAlias(this.aliasTable, name);
    if (a && a.indices.length > 1)
      throw new Error(`alias [${name}] has several indices (${a.indices.join(', ')}): name one`);
    return a?.indices[0] ?? name;
  }

  bulkRequests(): RecordedRequest[] {
    return this.requests.filter((r) => /(^|\/)_bulk$/.test(r.path));
  }

  private doCreateIndex(name: string, rawBody: unknown, cause: string): IndexState {
    if (!isPlainObject(rawBody))
      throw new HttpError(400, 'parse_exception', 'request body must be an object');
    const body = rawBody as { settings?: unknown; mappings?: unknown; aliases?: unknown };
    const bad = validIndexName(name);
    if (bad)
      throw new HttpError(
        400,
        'invalid_index_name_exception',
        `Invalid index name [${name}], ${bad}`,
        { index: name },
      );
    if (this.indices.has(name)) {
      const existing = this.indices.get(name)!;
      throw new HttpError(
        400,
        'resource_already_exists_exception',
        `index [${name}/${existing.uuid}] already exists`,
        {
          index_uuid: existing.uuid,
          index: name,
        },
      );
    }
    if (resolveAlias(this.aliasTable, name))
      throw new HttpError(
        400,
        'invalid_index_name_exception',
        `Invalid index name [${name}], already exists as alias`,
        { index_uuid: '_na_', index: name },
      );
    // MetadataCreateIndexService: each alias of the body is validated (AliasValidator) and the
    // resulting metadata must hold (one write index per alias) before the index exists.
    const newAliases = new Map<string, AliasProps>();
    if (body.aliases !== undefined) {
      if (!isPlainObject(body.aliases))
        throw new HttpError(400, 'parse_exception', 'key [aliases] must be an object');
      for (const [alias, spec] of Object.entries(body.aliases)) {
        validateNewAlias(alias, new Set(this.indices.keys()));
        if (alias === name)
          throw new HttpError(
            400,
            'invalid_alias_name_exception',
            `Invalid alias name [${alias}], an index exists with the same name as the alias`,
            { index_uuid: '_na_', index: alias },
          );
        newAliases.set(alias, parseAliasProps(isPlainObject(spec) ? spec : {}, alias));
      }
    }
    const nextTable = new Map(this.aliasTable);
    if (newAliases.size > 0) {
      nextTable.set(name, newAliases);
      validateTable(nextTable);
    }
    const settings = flattenSettings(body.settings ?? {});
    const norm = (k: string): unknown =>
      settings[k] ?? settings[`index.${k}`] ?? settings[k.replace(/^index\./, '')];
    const limitRaw = norm('index.mapping.total_fields.limit');
    const totalFieldsLimit =
      limitRaw === undefined ? (this.options.totalFieldsLimit ?? 1000) : Number(limitRaw);
    const gcRaw = norm('index.gc_deletes');
    const gcDeletesMs =
      gcRaw === undefined ? (this.options.gcDeletesMs ?? 60_000) : parseTimeValueMs(gcRaw);
    if (gcDeletesMs === undefined || !Number.isFinite(totalFieldsLimit)) {
      throw new HttpError(
        400,
        'illegal_argument_exception',
        `failed to parse index settings ${JSON.stringify(body.settings)}`,
      );
    }
    let root;
    try {
      root = parseMappingDefinition(body.mappings);
    } catch (e) {
      const err = (e as { error?: MappingError }).error;
      if (err) throw new HttpError(err.status, err.type, err.reason);
      throw e;
    }
    const state: IndexState = {
      name,
      uuid: randomBytes(16).toString('base64url').slice(0, 22),
      docs: new Map(),
      tombstones: new Map(),
      mapping: new IndexMapping(root, totalFieldsLimit),
      gcDeletesMs,
      seqNo: -1,
      settings,
    };
    if (state.mapping.fieldCount > totalFieldsLimit) {
      throw new HttpError(
        400,
        'illegal_argument_exception',
        `Limit of total fields [${totalFieldsLimit}] has been exceeded`,
      );
    }
    this.indices.set(name, state);
    if (newAliases.size > 0) this.commitAliases(nextTable, cause);
    return state;
  }

  /** POST /_aliases semantics: plan everything first, then commit indices and aliases in one step. */
  private applyAliasActions(actions: readonly RequestedAction[], cause: string): void {
    const plan = planAliasActions(actions, new Set(this.indices.keys()), this.aliasTable);
    if (!plan.changed) return;
    for (const name of plan.deleteIndices) this.indices.delete(name);
    this.commitAliases(plan.table, cause);
  }

  /** DELETE /<index>: the index goes, and its aliases with it. */
  private deleteIndices(names: readonly string[], cause: string): void {
    const next = new Map(this.aliasTable);
    for (const name of names) {
      this.indices.delete(name);
      next.delete(name);
    }
    this.commitAliases(next, cause);
  }

  /** Installs a validated alias table; records and announces the change when there is one. */
  private commitAliases(next: Map<string, Map<string, AliasProps>>, cause: string): void {
    const before = resolveAll(this.aliasTable);
    this.aliasTable = next;
    const after = resolveAll(next);
    if (JSON.stringify([...before]) === JSON.stringify([...after])) return;
    const event: AliasEvent = {
      seq: this.aliasEvents.length + 1,
      at: this.now(),
      cause,
      before,
      after,
    };
    this.aliasEvents.push(event);
    for (const listener of this.aliasListeners) listener(event);
  }

  // ---------------------------------------------------------------- HTTP

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = this.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    const headers: Record<string, string> = {};
    for (const [k, v] of headerValues(req.rawHeaders)) headers[k] = v.join(', ');
    const encoding = (headers['content-encoding'] ?? '').toLowerCase();
    const rec: RecordedRequest = {
      seq: ++this.seq,
      method: req.method ?? 'GET',
      url,
      path,
      headers,
      rawBodyBytes: 0,
      bodyBytes: 0,
      gzip: encoding === 'gzip',
      status: 0,
      note: undefined,
      startedAt: started,
      durationMs: 0,
      items: undefined,
      body: undefined,
      dropped: false,
    };
    this.requests.push(rec);
    const mutable = rec as { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] };

    const send = (
      status: number,
      body: unknown,
      extraHeaders: Record<string, string> = {},
    ): void => {
      rec.status = status;
      rec.durationMs = this.now() - started;
      if (res.destroyed || res.writableEnded) return;
      let out = body;
      const fp = query.get('filter_path');
      if (fp && status < 300 && body && typeof body === 'object') out = applyFilterPath(body, fp);
      const text = req.method === 'HEAD' ? '' : serialize(out);
      res.writeHead(status, {
        'content-type': 'application/json; charset=UTF-8',
        'content-length': String(Buffer.byteLength(text)),
        ...extraHeaders,
      });
      res.end(text);
    };
    const drop = (note: string): void => {
      rec.dropped = true;
      rec.note = note;
      rec.durationMs = this.now() - started;
      req.socket.destroy();
    };

    const decision: RequestFaultDecision = this.faults.decideRequest({ method: rec.method, path });
    if (decision.dropBeforeBody) return drop('fault: connection dropped before the body was read');

    const limit = this.limits.maxPayloadBytes;
    const declared = Number(headers['content-length'] ?? '0');
    if (declared > limit) {
      rec.note = 'payload limit';
      send(413, { Message: `Request size exceeded ${limit} bytes` }, { connection: 'close' });
      req.resume();
      return;
    }
    let raw: Buffer;
    try {
      raw = await readBody(req, limit);
    } catch (e) {
      if (e instanceof BodyTooLarge) {
        rec.note = 'payload limit';
        send(413, { Message: `Request size exceeded ${limit} bytes` }, { connection: 'close' });
        return;
      }
      rec.note = `body read failed: ${(e as Error).message}`;
      rec.dropped = true;
      return;
    }
    mutable.rawBodyBytes = raw.length;

    // Authentication first, as the Amazon OpenSearch Service front end does.
    if (decision.forbidden) {
      rec.note = 'fault: 403 window';
      return send(403, {
        Message: `User: arn:aws:sts::123456789012:assumed-role/indexer/indexer is not authorized to perform: es:ESHttp${rec.method[0]}${rec.method.slice(1).toLowerCase()} because no identity-based policy allows the es:ESHttp${rec.method[0]}${rec.method.slice(1).toLowerCase()} action`,
      });
    }
    if (this.verifier) {
      const v = this.verifier.verify({
        method: rec.method,
        url,
        rawHeaders: req.rawHeaders,
        body: raw,
      });
      if (!v.ok) {
        rec.note = `sigv4 ${v.check}: ${v.message.split('\n')[0]}`;
        return send(403, { message: v.message, check: v.check });
      }
    }
    if (decision.status !== undefined) {
      rec.note = `fault: HTTP ${decision.status}`;
      if (decision.status === 429) {
        return send(
          429,
          errorBody(
            429,
            'es_rejected_execution_exception',
            'rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=0, max_coordinating_and_primary_bytes=0]',
          ),
        );
      }
      if (decision.status === 503)
        return send(
          503,
          errorBody(
            503,
            'cluster_block_exception',
            'blocked by: [SERVICE_UNAVAILABLE/2/no master];',
          ),
        );
      return send(decision.status, { message: `stand-in fault ${decision.status}` });
    }
    if (decision.dropAfterBody)
      return drop('fault: connection dropped after the body was read (nothing applied)');

    let body: Buffer;
    try {
      if (encoding === 'gzip') body = gunzipSync(raw);
      else if (encoding === 'deflate') body = inflateSync(raw);
      else if (encoding === '' || encoding === 'identity') body = raw;
      else
        throw new HttpError(
          400,
          'illegal_argument_exception',
          `unsupported Content-Encoding [${encoding}]`,
        );
    } catch (e) {
      if (e instanceof HttpError)
        return send(e.status, errorBody(e.status, e.type, e.message, e.extra));
      rec.note = 'bad compressed body';
      return send(
        400,
        errorBody(
          400,
          'illegal_argument_exception',
          `failed to decompress request body: ${(e as Error).message}`,
        ),
      );
    }
    mutable.bodyBytes = body.length;

    if (decision.delayMs > 0) {
      const epoch = this.epoch;
      await this.lifecycle.delay(decision.delayMs);
      if (this.lifecycle.closed) return;
      if (epoch !== this.epoch) return drop('stand-in was reset while this request was delayed');
    }

    let status: number;
    let payload: unknown;
    try {
      [status, payload] = this.route(rec, path, query, headers, body);
    } catch (e) {
      if (e instanceof HttpError) {
        rec.note = rec.note ?? `${e.type}: ${e.message}`;
        [status, payload] = [e.status, errorBody(e.status, e.type, e.message, e.extra)];
      } else {
        rec.note = `stand-in bug: ${(e as Error).stack ?? String(e)}`;
        [status, payload] = [500, errorBody(500, 'stand_in_error', (e as Error).message)];
      }
    }
    if (decision.dropAfterApply) {
      rec.status = status;
      return drop('fault: connection dropped after the request was applied (response lost)');
    }
    send(status, payload);
  }

  private route(
    rec: RecordedRequest,
    path: string,
    query: URLSearchParams,
    headers: Record<string, string>,
    body: Buffer,
  ): [number, unknown] {
    const segs = path
      .split('/')
      .filter((s) => s.length > 0)
      .map((s) => decodeURIComponent(s));
    const m = rec.method;
    const cause = `${m} ${path}`;
    if (segs.length === 0) {
      if (m === 'GET' || m === 'HEAD') {
        return [
          200,
          {
            name: 'stand-in',
            cluster_name: '123456789012:stand-in',
            version: { distribution: 'opensearch', number: '2.17.0' },
            tagline: 'The OpenSearch Project: https://opensearch.org/',
          },
        ];
      }
    }
    if (segs[segs.length - 1] === '_bulk' && segs.length <= 2) {
      if (m !== 'POST' && m !== 'PUT')
        throw new HttpError(
          405,
          'method_not_allowed',
          `Incorrect HTTP method for uri [${rec.url}] and method [${m}], allowed: [POST, PUT]`,
        );
      return this.bulk(rec, segs.length === 2 ? segs[0] : undefined, query, headers, body);
    }
    if (segs[0] === '_cluster' && segs[1] === 'health')
      return [200, { cluster_name: 'stand-in', status: 'green', number_of_nodes: 1 }];
    if (segs.length === 1 && segs[0] === '_aliases' && (m === 'POST' || m === 'PUT')) {
      this.applyAliasActions(parseAliasActions(parseJsonBody(body)), cause);
      return [200, { acknowledged: true }];
    }
    // GET|HEAD /_alias[/<names>]: every index's matching aliases.
    if (segs[0] === '_alias' && segs.length <= 2 && (m === 'GET' || m === 'HEAD'))
      return this.getAliasResponse([...this.indices.keys()].sort(), segs[1]);
    const [indexName, op, id] = segs as [string, string | undefined, string | undefined];
    if ((op === '_alias' || op === '_aliases') && segs.length <= 3 && !indexName.startsWith('_'))
      return this.indexAliasRoute(m, indexName, id, body, cause);
    if (segs.length === 1 && !indexName.startsWith('_')) {
      if (m === 'PUT') {
        this.doCreateIndex(indexName, parseJsonBody(body) ?? {}, cause);
        return [200, { acknowledged: true, shards_acknowledged: true, index: indexName }];
      }
      if (m === 'HEAD') return [this.resolveRead(indexName, true).length > 0 ? 200 : 404, {}];
      if (m === 'GET') {
        const out: Record<string, unknown> = {};
        for (const name of this.resolveRead(indexName)) {
          const idx = this.indices.get(name)!;
          const entry = getAliases(this.aliasTable, [name], undefined).body[name];
          out[name] = {
            aliases: (entry as { aliases: unknown }).aliases,
            mappings: mappingToJson(idx.mapping.root),
            settings: { index: { ...idx.settings, uuid: idx.uuid, provided_name: name } },
          };
        }
        return [200, out];
      }
      if (m === 'DELETE') {
        // DeleteIndexRequest resolves against concrete indices only (ignore_aliases).
        const names = concreteIndices(indexName, new Set(this.indices.keys()), this.aliasTable, {
          ignoreAliases: true,
        });
        this.deleteIndices(names, cause);
        return [200, { acknowledged: true }];
      }
    }
    if (segs.length === 2 && op === '_mapping' && m === 'GET') {
      const out: Record<string, unknown> = {};
      for (const name of this.resolveRead(indexName))
        out[name] = { mappings: mappingToJson(this.indices.get(name)!.mapping.root) };
      return [200, out];
    }
    if (segs.length === 2 && op === '_refresh' && (m === 'POST' || m === 'GET')) {
      const n = this.resolveRead(indexName).length;
      return [200, { _shards: { total: n * 2, successful: n, failed: 0 } }];
    }
    if (
      segs.length === 2 &&
      (op === '_search' || op === '_count') &&
      (m === 'GET' || m === 'POST')
    ) {
      const started = this.now();
      const req = parseSearchRequest(body, query);
      const targets = this.resolveRead(indexName).map((name) => ({
        name,
        docs: this.indices.get(name)!.docs,
      }));
      return [
        200,
        op === '_count' ? runCount(targets, req) : runSearch(targets, req, this.now() - started),
      ];
    }
    if (segs.length === 3 && op === '_doc' && id !== undefined && (m === 'GET' || m === 'HEAD')) {
      const name = this.singleIndex(indexName);
      const idx = this.requireIndex(name);
      const doc = idx.docs.get(id);
      if (!doc) return [404, { _index: name, _id: id, found: false }];
      // _source is spliced in as the raw text that was indexed, as OpenSearch returns it.
      return [
        200,
        {
          _index: name,
          _id: id,
          _version: doc.version,
          _seq_no: doc.seqNo,
          _primary_term: 1,
          found: true,
          _source: new RawJson(doc.rawSource),
        },
      ];
    }
    throw new HttpError(
      400,
      'illegal_argument_exception',
      `no handler found for uri [${rec.url}] and method [${m}]`,
    );
  }

  /** PUT|POST|DELETE|GET|HEAD /<index>/_alias[/<name>] (RestIndexPutAliasAction, RestIndexDeleteAliasesAction, RestGetAliasesAction). */
  private indexAliasRoute(
    m: string,
    indexExpr: string,
    name: string | undefined,
    body: Buffer,
    cause: string,
  ): [number, unknown] {
    if (m === 'GET' || m === 'HEAD')
      return this.getAliasResponse(this.resolveRead(indexExpr), name);
    if ((m === 'PUT' || m === 'POST') && name !== undefined) {
      const b = (parseJsonBody(body) ?? {}) as Record<string, unknown>;
      if (!isPlainObject(b))
        throw new HttpError(400, 'parse_exception', 'request body must be an object');
      const action: RequestedAction = {
        kind: 'add',
        indices: indexExpr.split(','),
        aliases: [name],
        props: parseAliasProps(b, 'alias'),
        mustExist: undefined,
      };
      this.applyAliasActions([action], cause);
      return [200, { acknowledged: true }];
    }
    if (m === 'DELETE' && name !== undefined) {
      const action: RequestedAction = {
        kind: 'remove',
        indices: indexExpr.split(','),
        aliases: name.split(','),
        props: {},
        mustExist: undefined,
      };
      this.applyAliasActions([action], cause);
      return [200, { acknowledged: true }];
    }
    throw new HttpError(
      405,
      'method_not_allowed',
      `Incorrect HTTP method [${m}] for alias requests`,
    );
  }

  private getAliasResponse(
    indices: readonly string[],
    names: string | undefined,
  ): [number, unknown] {
    const wanted = names === undefined || names === '_all' ? undefined : names.split(',');
    const { body, missing } = getAliases(this.aliasTable, indices, wanted);
    if (missing.length === 0) return [200, body];
    // RestGetAliasesAction: 404 with the aliases that were found plus {error, status}.
    const error =
      missing.length === 1
        ? `alias [${missing[0]}] missing`
        : `aliases [${missing.join(',')}] missing`;
    return [404, { error, status: 404, ...body }];
  }

  /** Concrete indices for a read (search, count, GET /<name>); 404 for a missing name. */
  private resolveRead(expression: string, ignoreUnavailable = false): string[] {
    return concreteIndices(expression, new Set(this.indices.keys()), this.aliasTable, {
      ignoreUnavailable,
    });
  }

  /** A single-index operation through an alias (GET /<alias>/_doc/<id>): the alias must have one index. */
  private singleIndex(name: string): string {
    if (this.indices.has(name)) return name;
    const a = resolveAlias(this.aliasTable, name);
    if (!a) throw indexNotFound(name);
    if (a.indices.length > 1)
      throw new HttpError(
        400,
        'illegal_argument_exception',
        `alias [${name}] has more than one index associated with it [${a.indices.join(', ')}], can't execute a single index op`,
      );
    return a.indices[0]!;
  }

  private requireIndex(name: string): IndexState {
    const idx = this.indices.get(name);
    if (!idx) throw indexNotFound(name);
    return idx;
  }

  // ---------------------------------------------------------------- _bulk

  private bulk(
    rec: RecordedRequest,
    defaultIndex: string | undefined,
    _query: URLSearchParams,
    headers: Record<string, string>,
    body: Buffer,
  ): [number, unknown] {
    const started = this.now();
    const ct = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (ct !== 'application/x-ndjson' && ct !== 'application/json') {
      rec.note = `content-type ${JSON.stringify(headers['content-type'])}`;
      return [
        406,
        {
          error: `Content-Type header [${headers['content-type'] ?? ''}] is not supported`,
          status: 406,
        },
      ];
    }
    const text = body.toString('utf8');
    rec.body = text;
    if (text.length === 0)
      throw new HttpError(
        400,
        'action_request_validation_exception',
        'Validation Failed: 1: no requests added;',
      );
    if (!text.endsWith('\n'))
      throw new HttpError(
        400,
        'illegal_argument_exception',
        'The bulk request must be terminated by a newline [\\n]',
      );

    const lines = text.split('\n');
    lines.pop(); // the empty string after the final newline
    const actions: ParsedAction[] = [];
    const validation: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      const lineNo = i + 1;
      const line = lines[i] as string;
      let node: JsonNode;
      try {
        node = parseLossless(line);
      } catch (e) {
        throw new HttpError(
          400,
          'x_content_parse_exception',
          `[${lineNo}:${e instanceof JsonSyntaxError ? e.position + 1 : 1}] Malformed action/metadata line [${lineNo}], ${(e as Error).message}`,
        );
      }
      if (node.kind !== 'object')
        throw new HttpError(
          400,
          'illegal_argument_exception',
          `Malformed action/metadata line [${lineNo}], expected START_OBJECT but found [${node.kind}]`,
        );
      if (node.members.length !== 1)
        throw new HttpError(
          400,
          'illegal_argument_exception',
          `Malformed action/metadata line [${lineNo}], expected a single action`,
        );
      const [actionName, meta] = node.members[0] as [string, JsonNode];
      if (actionName === 'update')
        throw new HttpError(
          400,
          'illegal_argument_exception',
          `the stand-in does not implement bulk [update] (line ${lineNo})`,
        );
      if (actionName !== 'index' && actionName !== 'create' && actionName !== 'delete') {
        throw new HttpError(
          400,
          'illegal_argument_exception',
          `Malformed action/metadata line [${lineNo}], expected field [create], [delete], [index] or [update] but found [${actionName}]`,
        );
      }
      if (meta.kind !== 'object')
        throw new HttpError(
          400,
          'illegal_argument_exception',
          `Malformed action/metadata line [${lineNo}], expected START_OBJECT but found [${meta.kind}]`,
        );
      for (const [k] of meta.members) {
        if (!ALLOWED_META.has(k))
          throw new HttpError(
            400,
            'illegal_argument_exception',
            `Action/metadata line [${lineNo}] contains an unknown parameter [${k}]`,
          );
      }
      const str = (k: string): string | undefined => {
        const v = member(meta, k);
        if (v === undefined || v.kind === 'null') return undefined;
        if (v.kind === 'string') return v.value;
        if (v.kind === 'number') return v.raw;
        throw new HttpError(
          400,
          'illegal_argument_exception',
          `Malformed action/metadata line [${lineNo}], [${k}] must be a string`,
        );
      };
      const index = str('_index') ?? defaultIndex;
      const id = str('_id');
      let version: bigint | undefined;
      const vNode = member(meta, 'version');
      if (vNode !== undefined && vNode.kind !== 'null') {
        if (vNode.kind !== 'number' || !/^-?\d+$/.test(vNode.raw)) {
          throw new HttpError(
            400,
            'action_request_validation_exception',
            `Validation Failed: 1: version [${vNode.kind === 'number' ? vNode.raw : JSON.stringify(line.slice(vNode.start, vNode.end))}] on line [${lineNo}] is not an integer;`,
          );
        }
        version = BigInt(vNode.raw);
        if (version > MAX_VERSION || version < -(MAX_VERSION + 1n)) {
          throw new HttpError(
            400,
            'action_request_validation_exception',
            `Validation Failed: 1: version [${vNode.raw}] on line [${lineNo}] is out of range of long;`,
          );
        }
      }
      const vtRaw = str('version_type');
      let versionType: ParsedAction['versionType'];
      switch (vtRaw) {
        case undefined:
        case 'internal':
          versionType = 'internal';
          break;
        case 'external':
        case 'external_gt':
          versionType = 'external';
          break;
        case 'external_gte':
          versionType = 'external_gte';
          break;
        default:
          throw new HttpError(
            400,
            'illegal_argument_exception',
            `No version type match [${vtRaw}]`,
          );
      }
      if (index === undefined) validation.push('index is missing');
      if (versionType === 'internal' && version !== undefined) {
        validation.push(
          'internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead',
        );
      }
      if (versionType !== 'internal' && (version === undefined || version < 0n)) {
        validation.push(
          `illegal version value [${version ?? -3n}] for version type [${versionType.toUpperCase()}]`,
        );
      }
      if (actionName === 'delete' && (id === undefined || id === ''))
        validation.push('id is missing');
      if (
        id !== undefined &&
        Buffer.byteLength(id, 'utf8') > MAX_ID_BYTES &&
        (this.options.idTooLong ?? 'request') === 'request'
      ) {
        validation.push(
          `id [${id}] is too long, must be no longer than 512 bytes but was: ${Buffer.byteLength(id, 'utf8')}`,
        );
      }
      let rawSource: string | undefined;
      let source: JsonNode | undefined;
      let sourceError: string | undefined;
      if (actionName !== 'delete') {
        i++;
        if (i >= lines.length)
          throw new HttpError(
            400,
            'action_request_validation_exception',
            'Validation Failed: 1: source is missing;',
          );
        rawSource = lines[i] as string;
        try {
          source = parseLossless(rawSource);
          if (source.kind !== 'object') sourceError = `failed to parse, document is empty`;
        } catch (e) {
          sourceError = `failed to parse: ${(e as Error).message}`;
        }
      }
      actions.push({
        action: actionName,
        index: index ?? '',
        id,
        version,
        versionType,
        versionTypeRaw: vtRaw,
        rawSource,
        source,
        sourceError,
      });
    }
    if (validation.length > 0) {
      throw new HttpError(
        400,
        'action_request_validation_exception',
        `Validation Failed: ${validation.map((v, i) => `${i + 1}: ${v};`).join(' ')}`,
      );
    }
    rec.items = actions.length;

    const createErrors = this.autoCreateIndices(actions, rec);
    const items = actions.map((a, position) =>
      this.applyItem(rec.seq, position, a, createErrors.get(a.index)),
    );
    const errors = items.some((it) => {
      const inner = Object.values(it)[0] as { error?: unknown };
      return inner.error !== undefined;
    });
    return [200, { took: Math.max(0, this.now() - started), errors, items }];
  }

  /** TransportBulkAction: create the missing indices every item but an internal delete may need. */
  private autoCreateIndices(
    actions: readonly ParsedAction[],
    rec: RecordedRequest,
  ): Map<string, HttpError> {
    const errors = new Map<string, HttpError>();
    if (this.options.autoCreateIndex === false) return errors;
    for (const a of actions) {
      if (a.action === 'delete' && a.versionType === 'internal') continue;
      if (errors.has(a.index) || this.indices.has(a.index)) continue;
      if (resolveAlias(this.aliasTable, a.index)) continue;
      try {
        this.doCreateIndex(a.index, {}, `auto(bulk api) ${rec.method} ${rec.path}`);
      } catch (e) {
        if (!(e instanceof HttpError)) throw e;
        errors.set(a.index, e);
      }
    }
    return errors;
  }

  /** IndexNameExpressionResolver#concreteWriteIndex for one bulk item. */
  private writeTarget(name: string): string | HttpError {
    if (this.indices.has(name)) return name;
    const alias = resolveAlias(this.aliasTable, name);
    if (!alias) return indexNotFound(name, 'index_expression');
    if (alias.writeIndex === undefined)
      return new HttpError(
        400,
        'illegal_argument_exception',
        `no write index is defined for alias [${name}]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index`,
      );
    return alias.writeIndex;
  }

  private applyItem(
    requestSeq: number,
    position: number,
    a: ParsedAction,
    createError: HttpError | undefined,
  ): Record<string, unknown> {
    const target = createError ?? this.writeTarget(a.index);
    const concrete = target instanceof HttpError ? undefined : target;
    const record = (
      status: number,
      result: string | undefined,
      err: { type: string; reason: string } | undefined,
      id: string,
    ): void => {
      this.items.push({
        requestSeq,
        position,
        action: a.action,
        index: concrete ?? a.index,
        target: a.index,
        id,
        requestedVersion: a.version,
        versionType: a.versionTypeRaw,
        status,
        result,
        errorType: err?.type,
        reason: err?.reason,
        rawSource: a.rawSource,
      });
    };
    const fail = (
      status: number,
      type: string,
      reason: string,
      extra: Record<string, unknown> = {},
    ): Record<string, unknown> => {
      record(status, undefined, { type, reason }, a.id ?? '');
      // Before resolution the failure names what the item addressed (BulkItemResponse.Failure
      // built from request.index()) and carries only the exception's own metadata.
      const indexName = concrete ?? a.index;
      const idx = concrete === undefined ? undefined : this.indices.get(concrete);
      return {
        [a.action]: {
          _index: indexName,
          _id: a.id ?? null,
          status,
          error: {
            type,
            reason,
            ...(idx ? { index: indexName, shard: '0', index_uuid: idx.uuid } : {}),
            ...extra,
          },
        },
      };
    };

    if (target instanceof HttpError)
      return fail(target.status, target.type, target.message, target.extra);
    const idx = this.indices.get(target)!;

    // IndexRequest#process: an empty id is refused, a missing one generated.
    if (a.id === '' && a.action !== 'delete')
      return fail(400, 'illegal_argument_exception', 'if _id is specified it must not be empty');
    if (a.id === undefined && a.action !== 'delete') a.id = randomBytes(15).toString('base64url');
    const id = a.id as string;
    if (Buffer.byteLength(id, 'utf8') > MAX_ID_BYTES) {
      return fail(
        400,
        'illegal_argument_exception',
        `id [${id}] is too long, must be no longer than 512 bytes but was: ${Buffer.byteLength(id, 'utf8')}`,
      );
    }

    const view: BulkItemView = {
      action: a.action,
      index: target,
      id,
      version: a.version,
      source: a.source,
      rawSource: a.rawSource,
    };
    const fault = this.faults.decideItem(view);
    if (fault?.kind === 'status') {
      return fault.status === 429
        ? fail(
            429,
            'es_rejected_execution_exception',
            `rejected execution of primary operation [shard_detail=[${target}][0][P], shard_primary_operation_bytes=0, shard_replica_operation_bytes=0] OR [node_coordinating_operation_bytes=0]`,
          )
        : fail(
            503,
            'unavailable_shards_exception',
            `[${target}][0] primary shard is not active Timeout: [1m], request: [BulkShardRequest [[${target}][0]] containing [1] requests]`,
          );
    }

    // Current version: live doc, else a tombstone not older than gc_deletes, else NOT_FOUND
    // (InternalEngine.resolveDocVersion).
    const live = idx.docs.get(id);
    const tomb = idx.tombstones.get(id);
    const tombLive = tomb !== undefined && this.now() - tomb.deletedAt <= idx.gcDeletesMs;
    const currentVersion = live ? live.version : tombLive ? tomb.version : NOT_FOUND;
    const conflict = (): boolean => {
      if (a.versionType === 'internal' || currentVersion === NOT_FOUND) return false;
      const v = a.version as bigint;
      return a.versionType === 'external' ? currentVersion >= v : currentVersion > v;
    };
    const conflictReason = (): string =>
      `[${id}]: version conflict, current version [${currentVersion}] is higher${a.versionType === 'external' ? ' or equal to' : ' than'} the one provided [${a.version}]`;
    const newVersion =
      a.versionType === 'internal'
        ? currentVersion === NOT_FOUND
          ? 1n
          : currentVersion + 1n
        : (a.version as bigint);

    if (a.action === 'delete') {
      if (conflict()) return fail(409, 'version_conflict_engine_exception', conflictReason());
      const seqNo = ++idx.seqNo;
      idx.tombstones.set(id, { version: newVersion, deletedAt: this.now() });
      const found = idx.docs.delete(id);
      const status = found ? 200 : 404;
      const result = found ? 'deleted' : 'not_found';
      record(status, result, undefined, id);
      return {
        delete: {
          _index: target,
          _id: id,
          _version: newVersion,
          result,
          _shards: { total: 2, successful: 1, failed: 0 },
          _seq_no: seqNo,
          _primary_term: 1,
          status,
        },
      };
    }

    // index / create: the document is parsed (and the mapping updated) before the version check,
    // as in TransportShardBulkAction -> IndexShard.prepareIndex -> DocumentParser.
    if (a.sourceError !== undefined || a.source === undefined) {
      return fail(400, 'mapper_parsing_exception', a.sourceError ?? 'failed to parse');
    }
    if (fault?.kind === 'poison') return fail(400, 'mapper_parsing_exception', fault.reason);
    if (a.action === 'create' && live) {
      return fail(
        409,
        'version_conflict_engine_exception',
        `[${id}]: version conflict, document already exists (current version [${live.version}])`,
      );
    }
    const mappingError = idx.mapping.indexDocument(a.source, a.rawSource as string, id);
    if (mappingError)
      return fail(
        mappingError.status,
        mappingError.type,
        mappingError.reason,
        mappingError.causedBy ? { caused_by: mappingError.causedBy } : {},
      );
    if (conflict()) return fail(409, 'version_conflict_engine_exception', conflictReason());
    const seqNo = ++idx.seqNo;
    idx.docs.set(id, {
      version: newVersion,
      rawSource: a.rawSource as string,
      source: a.source,
      seqNo,
    });
    idx.tombstones.delete(id);
    const status = live ? 200 : 201;
    const result = live ? 'updated' : 'created';
    record(status, result, undefined, id);
    return {
      [a.action]: {
        _index: target,
        _id: id,
        _version: newVersion,
        result,
        _shards: { total: 2, successful: 1, failed: 0 },
        _seq_no: seqNo,
        _primary_term: 1,
        status,
      },
    };
  }
}

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
 * Stricter than OpenSearch (on purpose, see REFERENCE.md): Content-Type must be
 * application/x-ndjson for _bulk (OpenSearch also accepts application/json); a version given as
 * a non-integer or out of the long range fails the request (OpenSearch coerces 1.5 to 1).
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { gunzipSync, inflateSync } from 'node:zlib';
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
  readonly index: string;
  readonly id: string;
  readonly requestedVersion: bigint | undefined;
  readonly versionType: string | undefined;
  readonly status: number;
  readonly result: string | undefined;
  readonly errorType: string | undefined;
  readonly reason: string | undefined;
  readonly rawSource: string | undefined;
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

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    reason: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(reason);
  }
}

/** A value serialised as the given JSON text, verbatim (used to return `_source` as it was indexed). */
export class RawJson {
  constructor(readonly text: string) {}
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  Object.getPrototypeOf(v) === Object.prototype;

/** JSON.stringify that writes bigint as a JSON number and RawJson verbatim. */
export function serialize(v: unknown): string {
  if (v instanceof RawJson) return v.text;
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v))
    return `[${v.map((x) => (x === undefined ? 'null' : serialize(x))).join(',')}]`;
  if (isPlainObject(v)) {
    return `{${Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${JSON.stringify(k)}:${serialize(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function errorBody(
  status: number,
  type: string,
  reason: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const cause = { type, reason, ...extra };
  return { error: { root_cause: [cause], ...cause }, status };
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
    this.requests.length = 0;
    this.items.length = 0;
    this.faults.reset();
  }

  /** Clears only the request and item logs. */
  clearLogs(): void {
    this.requests.length = 0;
    this.items.length = 0;
  }

  /** Creates an index directly (as PUT /<index> would). */
  createIndex(name: string, body: { settings?: unknown; mappings?: unknown } = {}): void {
    this.doCreateIndex(name, body);
  }

  hasIndex(name: string): boolean {
    return this.indices.has(name);
  }

  /** The whole index: id -> {version, rawSource}, tombstones, mapping. */
  readIndex(name: string): IndexContents {
    const idx = this.indices.get(name);
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
    const idx = this.indices.get(name);
    if (!idx) return [];
    return [...idx.docs]
      .map(([id, d]): [string, string, string] => [id, d.version.toString(), d.rawSource])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  bulkRequests(): RecordedRequest[] {
    return this.requests.filter((r) => /(^|\/)_bulk$/.test(r.path));
  }

  private doCreateIndex(
    name: string,
    body: { settings?: unknown; mappings?: unknown },
  ): IndexState {
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
    return state;
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
    const [indexName, op, id] = segs as [string, string | undefined, string | undefined];
    if (segs.length === 1 && !indexName.startsWith('_')) {
      if (m === 'PUT') {
        let def: { settings?: unknown; mappings?: unknown } = {};
        if (body.length > 0) {
          try {
            def = JSON.parse(body.toString('utf8')) as typeof def;
          } catch (e) {
            throw new HttpError(400, 'json_parse_exception', (e as Error).message);
          }
        }
        this.doCreateIndex(indexName, def);
        return [200, { acknowledged: true, shards_acknowledged: true, index: indexName }];
      }
      if (m === 'HEAD') return [this.indices.has(indexName) ? 200 : 404, {}];
      if (m === 'GET') {
        const idx = this.requireIndex(indexName);
        return [
          200,
          {
            [indexName]: {
              mappings: mappingToJson(idx.mapping.root),
              settings: { index: { ...idx.settings, uuid: idx.uuid } },
            },
          },
        ];
      }
      if (m === 'DELETE') {
        this.requireIndex(indexName);
        this.indices.delete(indexName);
        return [200, { acknowledged: true }];
      }
    }
    if (segs.length === 2 && op === '_mapping' && m === 'GET') {
      const idx = this.requireIndex(indexName);
      return [200, { [indexName]: { mappings: mappingToJson(idx.mapping.root) } }];
    }
    if (segs.length === 2 && op === '_refresh' && (m === 'POST' || m === 'GET')) {
      this.requireIndex(indexName);
      return [200, { _shards: { total: 2, successful: 1, failed: 0 } }];
    }
    if (segs.length === 2 && op === '_count' && (m === 'GET' || m === 'POST')) {
      const idx = this.requireIndex(indexName);
      return [
        200,
        { count: idx.docs.size, _shards: { total: 1, successful: 1, skipped: 0, failed: 0 } },
      ];
    }
    if (segs.length === 3 && op === '_doc' && id !== undefined && (m === 'GET' || m === 'HEAD')) {
      const idx = this.requireIndex(indexName);
      const doc = idx.docs.get(id);
      if (!doc) return [404, { _index: indexName, _id: id, found: false }];
      // _source is spliced in as the raw text that was indexed, as OpenSearch returns it.
      return [
        200,
        {
          _index: indexName,
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

  private requireIndex(name: string): IndexState {
    const idx = this.indices.get(name);
    if (!idx)
      throw new HttpError(404, 'index_not_found_exception', `no such index [${name}]`, {
        'resource.type': 'index_or_alias',
        'resource.id': name,
        index: name,
      });
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
    if (ct !== 'application/x-ndjson') {
      rec.note = `content-type ${JSON.stringify(headers['content-type'])}`;
      return [
        406,
        {
          error: `Content-Type header [${headers['content-type'] ?? ''}] is not supported (the stand-in requires application/x-ndjson for _bulk)`,
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
      if (actionName === 'delete' && id === undefined) validation.push('id is missing');
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

    const items = actions.map((a, position) => this.applyItem(rec.seq, position, a));
    const errors = items.some((it) => {
      const inner = Object.values(it)[0] as { error?: unknown };
      return inner.error !== undefined;
    });
    return [200, { took: Math.max(0, this.now() - started), errors, items }];
  }

  private applyItem(
    requestSeq: number,
    position: number,
    a: ParsedAction,
  ): Record<string, unknown> {
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
        index: a.index,
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
      const id = a.id ?? '';
      record(status, undefined, { type, reason }, id);
      const idx = this.indices.get(a.index);
      return {
        [a.action]: {
          _index: a.index,
          _id: a.id ?? null,
          status,
          error: {
            type,
            reason,
            index: a.index,
            shard: '0',
            ...(idx ? { index_uuid: idx.uuid } : {}),
            ...extra,
          },
        },
      };
    };

    if (a.id === undefined && a.action !== 'delete') a.id = randomBytes(15).toString('base64url');
    const id = a.id as string;
    if (Buffer.byteLength(id, 'utf8') > MAX_ID_BYTES) {
      return fail(
        400,
        'illegal_argument_exception',
        `id [${id}] is too long, must be no longer than 512 bytes but was: ${Buffer.byteLength(id, 'utf8')}`,
      );
    }

    let idx = this.indices.get(a.index);
    if (!idx) {
      if (this.options.autoCreateIndex === false) {
        return fail(404, 'index_not_found_exception', `no such index [${a.index}]`, {
          'resource.type': 'index_expression',
          'resource.id': a.index,
        });
      }
      try {
        idx = this.doCreateIndex(a.index, {});
      } catch (e) {
        if (e instanceof HttpError) return fail(e.status, e.type, e.message);
        throw e;
      }
    }

    const view: BulkItemView = {
      action: a.action,
      index: a.index,
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
            `rejected execution of primary operation [shard_detail=[${a.index}][0][P], shard_primary_operation_bytes=0, shard_replica_operation_bytes=0] OR [node_coordinating_operation_bytes=0]`,
          )
        : fail(
            503,
            'unavailable_shards_exception',
            `[${a.index}][0] primary shard is not active Timeout: [1m], request: [BulkShardRequest [[${a.index}][0]] containing [1] requests]`,
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
          _index: a.index,
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
        _index: a.index,
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

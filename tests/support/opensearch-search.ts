/**
 * `_search` and `_count` for the OpenSearch stand-in: enough to prove what a reader sees (which
 * documents, from which index, at which version), not a query engine. Unsupported options are
 * refused loudly rather than ignored, so a test never trusts a result the stand-in did not compute.
 *
 * Sources (OpenSearch docs "Search API", "Count API", "Query DSL"; server/src/main/java/org/
 * opensearch/search/SearchHit.java#toXContent, action/search/SearchResponse.java):
 *  - response: `{took, timed_out, _shards:{total, successful, skipped, failed}, hits:{total:
 *    {value, relation}, max_score, hits:[{_index, _id, _version?, _seq_no?, _primary_term?,
 *    _score, _source}]}}`; `max_score` is null when there are no hits;
 *  - `size` defaults to 10 and `from` to 0 (body or query string, the query string wins);
 *  - `track_total_hits` defaults to 10 000: beyond it the total is `{value: 10000, relation:
 *    "gte"}`; `true` counts exactly; a number sets the threshold;
 *  - `version: true` adds `_version`, `seq_no_primary_term: true` adds `_seq_no`/`_primary_term`;
 *  - queries: `match_all` (score 1.0), `ids` ({values}), and `term` on a field (exact value; a
 *    number matches its string form, as on a keyword or numeric field). Each index is one shard
 *    (number_of_shards defaults to 1).
 */
import { HttpError } from './opensearch-errors';
import { member, type JsonNode } from './lossless-json';
import { RawJson } from './opensearch-json';

export interface SearchableDoc {
  readonly version: bigint;
  readonly rawSource: string;
  readonly source: JsonNode;
  readonly seqNo: number;
}

export interface SearchableIndex {
  readonly name: string;
  readonly docs: ReadonlyMap<string, SearchableDoc>;
}

type Query =
  | { readonly kind: 'match_all' }
  | { readonly kind: 'ids'; readonly values: ReadonlySet<string> }
  | { readonly kind: 'term'; readonly field: string; readonly value: string | number | boolean };

export interface SearchRequest {
  readonly query: Query;
  readonly from: number;
  readonly size: number;
  readonly version: boolean;
  readonly seqNoPrimaryTerm: boolean;
  readonly trackTotalHits: number;
  readonly source: boolean;
}

const BODY_KEYS = new Set([
  'query',
  'from',
  'size',
  'version',
  'seq_no_primary_term',
  'track_total_hits',
  '_source',
]);

function parseQuery(q: unknown): Query {
  if (q === undefined) return { kind: 'match_all' };
  if (q === null || typeof q !== 'object' || Array.isArray(q) || Object.keys(q).length !== 1)
    throw new HttpError(400, 'parsing_exception', '[query] must hold exactly one query');
  const [kind, spec] = Object.entries(q as Record<string, unknown>)[0]!;
  if (kind === 'match_all') return { kind };
  if (kind === 'ids') {
    const values = (spec as { values?: unknown } | null)?.values;
    if (!Array.isArray(values))
      throw new HttpError(400, 'parsing_exception', '[ids] requires [values]');
    return { kind, values: new Set(values.map(String)) };
  }
  if (kind === 'term' && spec && typeof spec === 'object' && Object.keys(spec).length === 1) {
    const [field, raw] = Object.entries(spec as Record<string, unknown>)[0]!;
    const value =
      raw !== null && typeof raw === 'object' ? (raw as { value?: unknown }).value : raw;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      return { kind, field, value };
    throw new HttpError(400, 'parsing_exception', `[term] query malformed for field [${field}]`);
  }
  throw new HttpError(
    400,
    'parsing_exception',
    `unknown query [${kind}] (the stand-in implements match_all, ids and term)`,
  );
}

const nonNegativeInt = (v: unknown, name: string): number => {
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
    throw new HttpError(
      400,
      'illegal_argument_exception',
      `[${name}] parameter cannot be negative, found [${String(v)}]`,
    );
  return n;
};

/** The search request from the JSON body (may be empty) and the query string. */
export function parseSearchRequest(body: Buffer, query: URLSearchParams): SearchRequest {
  let b: Record<string, unknown> = {};
  if (body.length > 0) {
    try {
      b = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new HttpError(
        400,
        'parse_exception',
        `request body is malformed: ${(e as Error).message}`,
      );
    }
    if (b === null || typeof b !== 'object' || Array.isArray(b))
      throw new HttpError(400, 'parse_exception', 'request body must be an object');
  }
  for (const k of Object.keys(b))
    if (!BODY_KEYS.has(k))
      throw new HttpError(
        400,
        'parsing_exception',
        `the stand-in does not implement search option [${k}]`,
      );
  const flag = (k: string): boolean => {
    const q = query.get(k);
    return q !== null ? q === '' || q === 'true' : b[k] === true;
  };
  const tth = query.get('track_total_hits') ?? b.track_total_hits;
  const trackTotalHits =
    tth === undefined || tth === null
      ? 10_000
      : tth === true || tth === 'true'
        ? Number.MAX_SAFE_INTEGER
        : tth === false || tth === 'false'
          ? -1
          : nonNegativeInt(tth, 'track_total_hits');
  return {
    query: parseQuery(b.query),
    from: nonNegativeInt(query.get('from') ?? b.from ?? 0, 'from'),
    size: nonNegativeInt(query.get('size') ?? b.size ?? 10, 'size'),
    version: flag('version'),
    seqNoPrimaryTerm: flag('seq_no_primary_term'),
    trackTotalHits,
    source: b._source !== false && query.get('_source') !== 'false',
  };
}

function fieldValue(source: JsonNode, path: string): JsonNode | undefined {
  let node: JsonNode | undefined = source;
  for (const part of path.split('.')) node = member(node, part);
  return node;
}

function matchesQuery(q: Query, id: string, doc: SearchableDoc): boolean {
  if (q.kind === 'match_all') return true;
  if (q.kind === 'ids') return q.values.has(id);
  if (q.field === '_id') return id === String(q.value);
  const v = fieldValue(doc.source, q.field);
  const scalars = v?.kind === 'array' ? v.items : v ? [v] : [];
  return scalars.some((n) =>
    n.kind === 'string'
      ? n.value === String(q.value)
      : n.kind === 'number'
        ? Number(n.raw) === Number(q.value)
        : n.kind === 'boolean'
          ? n.value === (q.value === true || q.value === 'true')
          : false,
  );
}

function hitsOf(
  indices: readonly SearchableIndex[],
  q: Query,
): Array<[string, string, SearchableDoc]> {
  const out: Array<[string, string, SearchableDoc]> = [];
  for (const idx of indices)
    for (const [id, doc] of idx.docs) if (matchesQuery(q, id, doc)) out.push([idx.name, id, doc]);
  return out;
}

const shards = (n: number): Record<string, number> => ({
  total: n,
  successful: n,
  skipped: 0,
  failed: 0,
});

/** The body of a `_search` response over the given concrete indices. */
export function runSearch(
  indices: readonly SearchableIndex[],
  req: SearchRequest,
  tookMs: number,
): Record<string, unknown> {
  const all = hitsOf(indices, req.query);
  const page = all.slice(req.from, req.from + req.size);
  const total =
    req.trackTotalHits < 0
      ? undefined
      : all.length > req.trackTotalHits
        ? { value: req.trackTotalHits, relation: 'gte' }
        : { value: all.length, relation: 'eq' };
  return {
    took: tookMs,
    timed_out: false,
    _shards: shards(indices.length),
    hits: {
      ...(total ? { total } : {}),
      max_score: page.length > 0 ? 1.0 : null,
      hits: page.map(([index, id, doc]) => ({
        _index: index,
        _id: id,
        ...(req.version ? { _version: doc.version } : {}),
        ...(req.seqNoPrimaryTerm ? { _seq_no: doc.seqNo, _primary_term: 1 } : {}),
        _score: 1.0,
        ...(req.source ? { _source: new RawJson(doc.rawSource) } : {}),
      })),
    },
  };
}

/** The body of a `_count` response. */
export function runCount(
  indices: readonly SearchableIndex[],
  req: SearchRequest,
): Record<string, unknown> {
  return { count: hitsOf(indices, req.query).length, _shards: shards(indices.length) };
}

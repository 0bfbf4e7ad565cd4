/**
 * The index the indexer writes to: its settings and mappings, and an idempotent setup that
 * creates it, or checks an existing one and reports how it differs. Pure apart from the client
 * passed in, so tests use a fake; `scripts/setup-index.ts` wires it to the real client.
 *
 * Settings:
 * - `index.gc_deletes`: how long OpenSearch remembers a deleted document's version. The indexer
 *   writes with external versions, so a replayed older write of a deleted item is refused (409)
 *   only while the delete's tombstone exists; after that the old write would resurrect the
 *   document. The default is 60 s. Lambda can re-deliver a record for as long as the stream
 *   keeps it (24 h; the mapping gives up at 12 h, and a re-drive from the failure queue reads the
 *   stream within its 24 h), so tombstones must outlive 24 h: 25 h leaves an hour of margin. The
 *   cost is memory for one small entry per document deleted in the last 25 h. The setting is
 *   dynamic, so an existing index gets it with `PUT /<index>/_settings`.
 * - `number_of_shards` / `number_of_replicas` (INDEX_SHARDS, INDEX_REPLICAS): one shard holds
 *   tens of GiB, plenty for this table; replicas default to 0 because the default domain has one
 *   data node (a replica could never be assigned and the cluster would stay yellow). Use 1 or
 *   more with two or more data nodes.
 *
 * Mappings: the key attributes and `accountId` are `long` (DynamoDB numbers that are integers);
 * `amount` is `scaled_float` with a scaling factor of 100, i.e. stored as whole cents in a long,
 * which keeps money exact to the cent where `float` would round 0.1 and `double` costs twice the
 * space; `shortDescription` is full-text `text` with a `keyword` sub-field for exact match,
 * sorting and aggregations. `dynamic: true` maps any other attribute on first sight.
 *
 * The name the indexer writes to is an alias over a physical index (`setupAliasedIndex`, and
 * lib/aliases.ts), so `npm run reindex` can rebuild the index without downtime.
 *
 * Backfill and reindex: a document deleted while a backfill or reindex runs is kept out of the
 * index only by its delete's tombstone, which must outlive the run (the backfill may write the
 * item's older image at any moment of the run). With 25 h, a run must finish within about a day;
 * raise INDEX_GC_DELETES for a longer one.
 *
 * OpenSearch Serverless (`aoss`) manages shards, replicas and version tombstones itself and
 * rejects those settings, so for it the body carries mappings only.
 */
import { inspectName, physicalName } from './aliases';
import type { SearchClient } from './search-client';

export const DEFAULT_GC_DELETES = '25h';
export const DEFAULT_SHARDS = 1;
export const DEFAULT_REPLICAS = 0;
/** DynamoDB Streams keeps records for 24 hours. */
export const STREAM_RETENTION_MS = 24 * 60 * 60 * 1000;

export interface IndexOptions {
  readonly shards: number;
  readonly replicas: number;
  /** An OpenSearch time value such as "25h". */
  readonly gcDeletes: string;
  readonly service: 'es' | 'aoss';
}

export interface IndexSettings {
  readonly index: {
    readonly number_of_shards: number;
    readonly number_of_replicas: number;
    readonly gc_deletes: string;
  };
}

export interface FieldMapping {
  readonly type: string;
  readonly scaling_factor?: number;
  readonly fields?: Readonly<Record<string, FieldMapping & { ignore_above?: number }>>;
}

export interface IndexMappings {
  readonly dynamic: boolean;
  readonly properties: Readonly<Record<string, FieldMapping>>;
}

/** The body of `PUT /<index>`. */
export interface IndexBody {
  readonly settings?: IndexSettings;
  readonly mappings: IndexMappings;
  /** Aliases the index is created with (setup's first index carries the indexer's alias). */
  readonly aliases?: Readonly<Record<string, { readonly is_write_index?: boolean }>>;
}

const TIME_VALUE = /^(\d+)(nanos|micros|ms|s|m|h|d)$/;
const UNIT_MS: Readonly<Record<string, number>> = {
  nanos: 1e-6,
  micros: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Milliseconds of an OpenSearch time value ("25h", "90000s"), or undefined if it is not one. */
export function timeValueMs(value: string): number | undefined {
  const match = TIME_VALUE.exec(value);
  if (match === null) return undefined;
  return Number(match[1]) * (UNIT_MS[match[2] as string] as number);
}

/** The create-index request body. */
export function indexBody(options: IndexOptions): IndexBody {
  const mappings: IndexMappings = {
    dynamic: true,
    properties: {
      userId: { type: 'long' },
      transactionId: { type: 'long' },
      accountId: { type: 'long' },
      amount: { type: 'scaled_float', scaling_factor: 100 },
      shortDescription: {
        type: 'text',
        fields: { keyword: { type: 'keyword', ignore_above: 256 } },
      },
    },
  };
  if (options.service === 'aoss') return { mappings };
  return {
    settings: {
      index: {
        number_of_shards: options.shards,
        number_of_replicas: options.replicas,
        gc_deletes: options.gcDeletes,
      },
    },
    mappings,
  };
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads INDEX_SHARDS, INDEX_REPLICAS and INDEX_GC_DELETES. Throws one Error naming every bad
 * variable.
 */
export function indexOptionsFromEnv(env: Env, service: 'es' | 'aoss'): IndexOptions {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const value = read(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${value}")`);
      return fallback;
    }
    return n;
  };
  const shards = integer('INDEX_SHARDS', DEFAULT_SHARDS, 1, 1024);
  const replicas = integer('INDEX_REPLICAS', DEFAULT_REPLICAS, 0, 15);
  const gcDeletes = read('INDEX_GC_DELETES') ?? DEFAULT_GC_DELETES;
  if (timeValueMs(gcDeletes) === undefined) {
    problems.push(
      `INDEX_GC_DELETES must be a time value such as 25h or 90000s (got "${gcDeletes}")`,
    );
  }
  if (problems.length > 0) throw new Error(`invalid index options: ${problems.join('; ')}`);
  return { shards, replicas, gcDeletes, service };
}

/** How an existing index differs from the body, and what it takes to change that. */
export interface IndexDifference {
  /** e.g. `settings.index.gc_deletes`, `mappings.properties.amount.type`. */
  readonly path: string;
  readonly expected: unknown;
  /** As the index reports it; undefined when absent. */
  readonly actual: unknown;
  /**
   * `settings`: a dynamic setting, applied with PUT /<index>/_settings;
   * `mapping`: a field the index does not have yet, addable with PUT /<index>/_mapping;
   * `reindex`: fixed at creation (shard count, an existing field's type): needs a new index.
   */
  readonly fix: 'settings' | 'mapping' | 'reindex';
}

type Json = Record<string, unknown>;

function asObject(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Json)
    : undefined;
}

/** Settings values come back as strings ("1", "25h"); compare in that form. */
function sameSetting(expected: unknown, actual: unknown): boolean {
  // Stryker disable next-line ConditionalExpression: only `actual !== undefined` -> `true` is equivalent: String(undefined) is "undefined", which no expected value (a number, a boolean, a time value) equals; the other mutants here (the whole comparison, or its right side, as `true` or `false`) were checked by hand and are killed.
  return actual !== undefined && String(expected) === String(actual);
}

/**
 * Compares the body with `GET /<index>` (`{<index>: {settings, mappings}}`). Only what the body
 * sets is compared: other settings, and fields the index mapped dynamically, are the index's own.
 */
export function indexDifferences(
  body: IndexBody,
  response: unknown,
  index: string,
): IndexDifference[] {
  const root = asObject(response);
  const state = asObject(root?.[index]) ?? asObject(Object.values(root ?? {})[0]);
  const differences: IndexDifference[] = [];

  if (body.settings !== undefined) {
    const actual = asObject(asObject(state?.settings)?.index);
    const expected = body.settings.index;
    const check = (name: keyof typeof expected, fix: IndexDifference['fix']): void => {
      const value = actual?.[name];
      if (!sameSetting(expected[name], value)) {
        differences.push({
          path: `settings.index.${name}`,
          expected: expected[name],
          actual: value,
          fix,
        });
      }
    };
    check('number_of_shards', 'reindex');
    check('number_of_replicas', 'settings');
    check('gc_deletes', 'settings');
  }

  const mappings = asObject(state?.mappings);
  if (!sameSetting(body.mappings.dynamic, mappings?.dynamic ?? 'true')) {
    differences.push({
      path: 'mappings.dynamic',
      expected: body.mappings.dynamic,
      actual: mappings?.dynamic,
      fix: 'mapping',
    });
  }
  const properties = asObject(mappings?.properties);
  for (const [name, expected] of Object.entries(body.mappings.properties)) {
    const actual = asObject(properties?.[name]);
    const path = `mappings.properties.${name}`;
    if (actual === undefined) {
      differences.push({ path, expected, actual: undefined, fix: 'mapping' });
      continue;
    }
    if (actual.type !== expected.type) {
      differences.push({
        path: `${path}.type`,
        expected: expected.type,
        actual: actual.type,
        fix: 'reindex',
      });
      continue;
    }
    if (
      expected.scaling_factor !== undefined &&
      actual.scaling_factor !== expected.scaling_factor
    ) {
      differences.push({
        path: `${path}.scaling_factor`,
        expected: expected.scaling_factor,
        actual: actual.scaling_factor,
        fix: 'reindex',
      });
    }
    for (const [sub, field] of Object.entries(expected.fields ?? {})) {
      const actualSub = asObject(asObject(actual.fields)?.[sub]);
      if (actualSub?.type !== field.type) {
        differences.push({
          path: `${path}.fields.${sub}`,
          expected: field,
          actual: actualSub,
          fix: actualSub === undefined ? 'mapping' : 'reindex',
        });
      }
    }
  }
  return differences;
}

export interface SetupRequest {
  readonly method: 'HEAD' | 'GET' | 'PUT';
  readonly path: string;
  readonly body?: unknown;
}

/** The requests setup sends: to print in a dry run, exactly as they would go out. */
export function setupRequests(
  index: string,
  body: IndexBody,
): {
  readonly create: SetupRequest;
  readonly applySettings: SetupRequest | undefined;
} {
  const path = `/${encodeURIComponent(index)}`;
  return {
    create: { method: 'PUT', path, body },
    applySettings:
      body.settings === undefined
        ? undefined
        : {
            method: 'PUT',
            path: `${path}/_settings`,
            body: { index: { gc_deletes: body.settings.index.gc_deletes } },
          },
  };
}

export interface SetupResult {
  /** True when this run created the index. */
  readonly created: boolean;
  /** Dynamic settings this run applied to an existing index. */
  readonly applied: readonly string[];
  /** What still differs after the run. */
  readonly differences: readonly IndexDifference[];
  /** Advice for the operator (e.g. a gc_deletes shorter than the stream's retention). */
  readonly warnings: readonly string[];
}

export class IndexSetupError extends Error {
  override name = 'IndexSetupError';
  constructor(
    readonly request: string,
    readonly statusCode: number,
    detail: string,
  ) {
    super(`${request} answered HTTP ${statusCode}: ${detail}`);
  }
}

function errorType(body: unknown): string {
  const error = asObject(parsedBody(body))?.error;
  if (typeof error === 'string') return error;
  const type = asObject(error)?.type;
  return typeof type === 'string' ? type : 'no error detail';
}

/** A response body as JSON: text is parsed; text that is not JSON has nothing to read in it. */
function parsedBody(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body);
  } catch {
    // not JSON (an HTML error page): nothing to read in it, as with no body
  }
  return undefined;
}

/**
 * Creates the index if it is missing; otherwise compares it with the body, applies the
 * `gc_deletes` setting if it differs (it is dynamic) and reports everything else that differs.
 * "Already exists" (another run won a race) is success. Any other error status throws
 * IndexSetupError; network errors propagate as they are.
 */
export async function setupIndex(
  client: Pick<SearchClient, 'request'>,
  index: string,
  body: IndexBody,
  timeoutMs: number,
): Promise<SetupResult> {
  const { create, applySettings } = setupRequests(index, body);
  const warnings: string[] = [];
  const gcDeletes = body.settings?.index.gc_deletes;
  if (gcDeletes !== undefined && (timeValueMs(gcDeletes) ?? 0) <= STREAM_RETENTION_MS) {
    warnings.push(
      `index.gc_deletes=${gcDeletes} does not outlive the stream's 24 h retention: a replayed older ` +
        'write could resurrect a deleted document',
    );
  }

  const head = await client.request('HEAD', create.path, undefined, timeoutMs);
  let exists: boolean;
  if (head.statusCode === 200) exists = true;
  else if (head.statusCode === 404) exists = false;
  else throw new IndexSetupError(`HEAD ${create.path}`, head.statusCode, errorType(head.body));

  if (!exists) {
    const put = await client.request('PUT', create.path, body, timeoutMs);
    if (put.statusCode >= 200 && put.statusCode < 300) {
      return { created: true, applied: [], differences: [], warnings };
    }
    const type = errorType(put.body);
    if (put.statusCode !== 400 || type !== 'resource_already_exists_exception') {
      throw new IndexSetupError(`PUT ${create.path}`, put.statusCode, type);
    }
  }

  const get = await client.request('GET', create.path, undefined, timeoutMs);
  if (get.statusCode !== 200) {
    throw new IndexSetupError(`GET ${create.path}`, get.statusCode, errorType(get.body));
  }
  let differences = indexDifferences(body, parsedBody(get.body), index);
  const applied: string[] = [];
  // The second test only narrows the type: a body without settings has no settings.* difference.
  if (
    differences.some((d) => d.path === 'settings.index.gc_deletes') &&
    applySettings !== undefined
  ) {
    const put = await client.request('PUT', applySettings.path, applySettings.body, timeoutMs);
    if (put.statusCode < 200 || put.statusCode > 299) {
      throw new IndexSetupError(`PUT ${applySettings.path}`, put.statusCode, errorType(put.body));
    }
    applied.push(`index.gc_deletes=${gcDeletes as string}`);
    differences = differences.filter((d) => d.path !== 'settings.index.gc_deletes');
  }
  return { created: false, applied, differences, warnings };
}

/** How the name the indexer writes to is laid out after setup. */
export interface AliasSetupResult extends SetupResult {
  /** `alias`: an alias over physical indices (the layout setup creates); `index`: a concrete one. */
  readonly layout: 'alias' | 'index';
  /** The physical index checked or created (the alias's write index). */
  readonly physical: string;
}

/**
 * The indexer's name as an alias over a physical index: on a fresh cluster, creates
 * `<alias>-000001` carrying the alias (write index) in the same request, so the alias never
 * exists without an index. An existing alias has its write index checked as `setupIndex` checks an
 * index. A concrete index of that name (a deployment from before aliases) is checked as before and
 * reported: `npm run reindex` moves it behind an alias without downtime.
 */
export async function setupAliasedIndex(
  client: Pick<SearchClient, 'request'>,
  alias: string,
  body: IndexBody,
  timeoutMs: number,
): Promise<AliasSetupResult> {
  const state = await inspectName(client, alias, timeoutMs);
  if (state.kind === 'missing') {
    const physical = physicalName(alias, 1);
    const created = await setupIndex(
      client,
      physical,
      { ...body, aliases: { [alias]: { is_write_index: true } } },
      timeoutMs,
    );
    return { ...created, layout: 'alias', physical };
  }
  if (state.kind === 'index') {
    const result = await setupIndex(client, alias, body, timeoutMs);
    return {
      ...result,
      layout: 'index',
      physical: alias,
      warnings: [
        ...result.warnings,
        `${alias} is a concrete index, not an alias: run \`npm run reindex -- --table <table>\` once ` +
          `to move it behind the alias ${alias} (no downtime; see README "Reindex")`,
      ],
    };
  }
  if (state.writeIndex === undefined) {
    throw new IndexSetupError(
      `GET /_alias/${alias}`,
      200,
      `alias ${alias} is over ${state.indices.join(', ')} with no write index: the indexer's writes would fail`,
    );
  }
  const result = await setupIndex(client, state.writeIndex, body, timeoutMs);
  const warnings =
    state.indices.length > 1
      ? [
          ...result.warnings,
          `alias ${alias} is over ${state.indices.join(', ')} (a reindex in progress or interrupted); checked the write index ${state.writeIndex}`,
        ]
      : result.warnings;
  return { ...result, warnings, layout: 'alias', physical: state.writeIndex };
}

/**
 * The index name the indexer writes to (`transactions`) is an alias over one physical index
 * (`transactions-000001`, `-000002`, ...), so the index can be rebuilt with new settings or
 * mappings without downtime: the handler, its IAM policy (`/transactions/_bulk`: IAM matches the
 * name in the request path) and searches keep using the alias name while it moves.
 *
 * OpenSearch rules relied on (docs "Index aliases"; rest-api-spec `indices.update_aliases`;
 * MetadataIndexAliasesService): writes to an alias go to its write index, which is the index with
 * `is_write_index: true`, or the only index of an alias over one index; `POST /_aliases` applies
 * all its actions atomically; `remove_index` deletes a concrete index in that same step.
 */
import { IndexerError } from './errors';
import type { SearchClient, SearchResponse } from './search-client';
import { parseJsonOrUndefined } from './json';

export type NameState =
  | { readonly kind: 'missing' }
  /** A concrete index carries the name (a deployment from before aliases). */
  | { readonly kind: 'index' }
  | {
      readonly kind: 'alias';
      /** Physical indices, sorted. */
      readonly indices: readonly string[];
      /** Where writes to the alias go; undefined when it has none. */
      readonly writeIndex: string | undefined;
    };

export class AliasError extends IndexerError {
  override name = 'AliasError';
  constructor(
    readonly request: string,
    readonly statusCode: number,
    detail: string,
  ) {
    super(`${request} answered HTTP ${statusCode}: ${detail}`);
  }
}

type Client = Pick<SearchClient, 'request'>;

function asObject(value: unknown): Record<string, unknown> | undefined {
  const parsed = typeof value === 'string' ? parseJsonOrUndefined(value) : value;
  return typeof parsed === 'object' &&
    !Array.isArray(parsed) &&
    // Stryker disable next-line ConditionalExpression: `true` is equivalent: a null then comes back as null, not undefined, and every caller reads the result through `?.` or `??` (`false` is killed).
    parsed !== null
    ? (parsed as Record<string, unknown>)
    : undefined;
}

export function errorType(body: unknown): string {
  const error = asObject(body)?.error;
  if (typeof error === 'string') return error;
  const type = asObject(error)?.type;
  return typeof type === 'string' ? type : 'no error detail';
}

function check(request: string, response: SearchResponse): void {
  if (response.statusCode < 200 || response.statusCode > 299) {
    throw new AliasError(request, response.statusCode, errorType(response.body));
  }
}

/** What `name` is now: an alias (over which indices), a concrete index, or nothing. */
export async function inspectName(
  client: Client,
  name: string,
  timeoutMs: number,
): Promise<NameState> {
  const path = `/_alias/${encodeURIComponent(name)}`;
  const got = await client.request('GET', path, undefined, timeoutMs);
  if (got.statusCode === 200) {
    const body = asObject(got.body) ?? {};
    const indices = Object.keys(body).sort();
    const flagged = indices.filter((index) => {
      const props = asObject(asObject(asObject(body[index])?.aliases)?.[name]);
      return props?.is_write_index === true;
    });
    const alone = indices.length === 1 ? indices[0] : undefined;
    const aloneProps = alone
      ? asObject(asObject(asObject(body[alone])?.aliases)?.[name])
      : undefined;
    // Without a single index `alone` is undefined, so this yields undefined on either branch.
    const writeIndex = flagged[0] ?? (aloneProps?.is_write_index !== false ? alone : undefined);
    return { kind: 'alias', indices, writeIndex };
  }
  if (got.statusCode !== 404)
    throw new AliasError(`GET ${path}`, got.statusCode, errorType(got.body));
  const head = await client.request('HEAD', `/${encodeURIComponent(name)}`, undefined, timeoutMs);
  if (head.statusCode === 200) return { kind: 'index' };
  if (head.statusCode === 404) return { kind: 'missing' };
  throw new AliasError(`HEAD /${name}`, head.statusCode, errorType(head.body));
}

const GENERATION = /^\d{6}$/;

/** `transactions` + 1 -> `transactions-000001`. */
export function physicalName(alias: string, generation: number): string {
  return `${alias}-${String(generation).padStart(6, '0')}`;
}

/** The physical index after `current` (`transactions-000001` -> `transactions-000002`). */
export function nextPhysicalName(alias: string, current: string): string {
  const suffix = current.slice(alias.length + 1);
  const ours = current.startsWith(`${alias}-`) && GENERATION.test(suffix);
  return physicalName(alias, (ours ? Number(suffix) : 0) + 1);
}

/** PUT /<index> with `body`; an existing index is an error (never reuse one by accident). */
export async function createIndex(
  client: Client,
  index: string,
  body: unknown,
  timeoutMs: number,
): Promise<void> {
  const path = `/${encodeURIComponent(index)}`;
  check(`PUT ${path}`, await client.request('PUT', path, body, timeoutMs));
}

export type AliasAction =
  | { readonly add: { index: string; alias: string; is_write_index?: boolean } }
  | { readonly remove: { index: string; alias: string } }
  | { readonly remove_index: { index: string } };

/** One `POST /_aliases`: every action applies, or none. */
export async function updateAliases(
  client: Client,
  actions: readonly AliasAction[],
  timeoutMs: number,
): Promise<void> {
  check('POST /_aliases', await client.request('POST', '/_aliases', { actions }, timeoutMs));
}

export async function deleteIndex(client: Client, index: string, timeoutMs: number): Promise<void> {
  const path = `/${encodeURIComponent(index)}`;
  check(`DELETE ${path}`, await client.request('DELETE', path, undefined, timeoutMs));
}

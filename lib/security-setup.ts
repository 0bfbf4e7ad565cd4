/**
 * Fine-grained access control (FGAC) for a domain that has it on (`--stage prod`): the OpenSearch
 * role the indexer gets, the role mappings, and an idempotent setup that applies them through the
 * security plugin's REST API (`/_plugins/_security/api/...`). `npm run index:setup -- --fgac`
 * runs it after the index setup (scripts/setup-index.ts).
 *
 * With FGAC, a request that passes the domain access policy is authorised by OpenSearch roles,
 * and an IAM principal gets roles through a role mapping that names its ARN as a backend role
 * (Amazon OpenSearch Service guide, "Fine-grained access control", Mapping roles to users).
 *
 * - The indexer's role (`indexer_writer` by default) may only write and delete documents in the
 *   index and the indices behind its aliases: the cluster-level `indices:data/write/bulk` that a
 *   `_bulk` request needs, and per index `indices:data/write/index`, `.../delete`, `.../bulk*`
 *   (the shard-level bulk actions). It also gets `indices:admin/mapping/put` and
 *   `.../auto_put`, because a document with a new attribute updates the dynamic mapping in the
 *   writer's name (OpenSearch security's own `write` action group carries the first for that
 *   reason; OpenSearch 2.x sends dynamic updates as the second, AutoPutMappingAction). Nothing else: no reads, no index
 *   creation (the index is created by `npm run index:setup`), no deletes of indices.
 * - The operator's IAM role (FGAC_ADMIN_ROLE_ARN) is added to `all_access` and
 *   `security_manager`, which makes it an additional master user (same guide, "Additional master
 *   users"). Those two mappings are read first and extended, never replaced, so the master user's
 *   own mapping stays.
 *
 * Pure apart from the `request` function passed in, so tests use a fake; the only network code,
 * `basicAuthRequester`, is for the first run, when the domain knows only its internal master user.
 */
import type { SearchClient, SearchResponse } from './search-client';

export const DEFAULT_INDEXER_ROLE = 'indexer_writer';
const SECURITY_API = '/_plugins/_security/api';
/** The built-in roles an additional master user is mapped to. */
export const ADMIN_ROLES = ['all_access', 'security_manager'] as const;

export interface SecurityOptions {
  /** The OpenSearch role created for the indexer. */
  readonly indexerRole: string;
  /** The Lambda execution role's ARN (the stack's IndexerRoleArn output). */
  readonly indexerRoleArn: string;
  /** Index names and patterns the indexer may write: the index or alias, and what is behind it. */
  readonly indexPatterns: readonly string[];
  /** IAM role given administration, if any. */
  readonly adminRoleArn: string | undefined;
}

export interface RoleDefinition {
  readonly description: string;
  readonly cluster_permissions: readonly string[];
  readonly index_permissions: readonly {
    readonly index_patterns: readonly string[];
    readonly allowed_actions: readonly string[];
  }[];
}

export interface RoleMapping {
  readonly backend_roles: readonly string[];
  readonly hosts?: readonly string[];
  readonly users?: readonly string[];
  readonly and_backend_roles?: readonly string[];
  readonly description?: string;
}

/** The indexer's OpenSearch role: write and delete documents, in these indices only. */
export function indexerRoleDefinition(indexPatterns: readonly string[]): RoleDefinition {
  return {
    description: 'dynamodb-opensearch-indexer: write and delete documents only',
    cluster_permissions: ['indices:data/write/bulk'],
    index_permissions: [
      {
        index_patterns: [...indexPatterns],
        allowed_actions: [
          'indices:data/write/index',
          'indices:data/write/delete',
          'indices:data/write/bulk*',
          'indices:admin/mapping/put',
          'indices:admin/mapping/auto_put',
        ],
      },
    ],
  };
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const ROLE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads FGAC_INDEXER_ROLE_ARN (required), FGAC_ADMIN_ROLE_ARN, FGAC_INDEXER_ROLE and
 * FGAC_INDEX_PATTERNS (comma-separated; default: the index and `<index>-*`, the concrete indices
 * an alias of that name points at). Throws one Error naming every bad variable.
 */
export function securityOptionsFromEnv(env: Env, index: string): SecurityOptions {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const roleArn = (name: string, required: boolean): string | undefined => {
    const value = read(name);
    if (value === undefined) {
      if (required) problems.push(`${name} is required (the stack's IndexerRoleArn output)`);
      return undefined;
    }
    if (!ROLE_ARN.test(value)) {
      problems.push(`${name} must be an IAM role ARN (got "${value}")`);
      return undefined;
    }
    return value;
  };
  const indexerRoleArn = roleArn('FGAC_INDEXER_ROLE_ARN', true);
  const adminRoleArn = roleArn('FGAC_ADMIN_ROLE_ARN', false);
  const indexerRole = read('FGAC_INDEXER_ROLE') ?? DEFAULT_INDEXER_ROLE;
  if (!ROLE_NAME.test(indexerRole)) {
    problems.push(`FGAC_INDEXER_ROLE must be 1-64 of A-Z a-z 0-9 _ . - (got "${indexerRole}")`);
  }
  const patterns = (read('FGAC_INDEX_PATTERNS') ?? `${index},${index}-*`)
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (patterns.length === 0 || patterns.some((p) => p === '*' || p.startsWith('.'))) {
    problems.push(
      'FGAC_INDEX_PATTERNS must name the index and its concrete indices, not * or system indices',
    );
  }
  if (problems.length > 0) throw new Error(`invalid FGAC options: ${problems.join('; ')}`);
  return {
    indexerRole,
    indexerRoleArn: indexerRoleArn as string,
    indexPatterns: patterns,
    adminRoleArn,
  };
}

export interface SecurityRequest {
  readonly method: 'GET' | 'PUT';
  readonly path: string;
  readonly body?: unknown;
}

/** The requests that create the role and its mapping (the admin mappings are read-then-extend). */
export function securityRequests(options: SecurityOptions): {
  readonly role: SecurityRequest;
  readonly mapping: SecurityRequest;
} {
  const name = encodeURIComponent(options.indexerRole);
  return {
    role: {
      method: 'PUT',
      path: `${SECURITY_API}/roles/${name}`,
      body: indexerRoleDefinition(options.indexPatterns),
    },
    mapping: {
      method: 'PUT',
      path: `${SECURITY_API}/rolesmapping/${name}`,
      body: {
        description: 'the indexer Lambda execution role',
        backend_roles: [options.indexerRoleArn],
      },
    },
  };
}

/**
 * A mapping that also names `backendRole`, keeping everything else it maps; undefined when it
 * already does. `current` is the `GET /rolesmapping/<role>` entry (undefined: no mapping yet).
 */
export function withBackendRole(
  current: Record<string, unknown> | undefined,
  backendRole: string,
): RoleMapping | undefined {
  const strings = (value: unknown): string[] =>
    Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  const backendRoles = strings(current?.backend_roles);
  if (backendRoles.includes(backendRole)) return undefined;
  return {
    backend_roles: [...backendRoles, backendRole],
    hosts: strings(current?.hosts),
    users: strings(current?.users),
    and_backend_roles: strings(current?.and_backend_roles),
  };
}

export class SecuritySetupError extends Error {
  override name = 'SecuritySetupError';
  constructor(
    readonly request: string,
    readonly statusCode: number,
    detail: string,
  ) {
    super(`${request} answered HTTP ${statusCode}: ${detail}`);
  }
}

function detail(body: unknown): string {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.slice(0, 200) || 'no error detail';
    }
  }
  const object = parsed as { message?: unknown; error?: unknown } | null;
  if (typeof object?.message === 'string') return object.message;
  if (typeof object?.error === 'string') return object.error;
  const type = (object?.error as { type?: unknown } | undefined)?.type;
  return typeof type === 'string' ? type : 'no error detail';
}

export interface SecurityResult {
  /** One line per change, e.g. "role indexer_writer", "mapping all_access += arn:...". */
  readonly applied: readonly string[];
}

type Requester = Pick<SearchClient, 'request'>;

async function send(
  client: Requester,
  request: SecurityRequest,
  timeoutMs: number,
  accept: (status: number) => boolean = (s) => s >= 200 && s < 300,
): Promise<SearchResponse> {
  const response = await client.request(request.method, request.path, request.body, timeoutMs);
  if (!accept(response.statusCode)) {
    throw new SecuritySetupError(
      `${request.method} ${request.path}`,
      response.statusCode,
      detail(response.body),
    );
  }
  return response;
}

/**
 * Creates (or overwrites) the indexer's role and its mapping, then adds the admin role ARN to
 * all_access and security_manager unless they already name it. Idempotent. A status outside
 * 2xx throws SecuritySetupError (a 403 means the caller is not an FGAC admin: run it as the
 * master user first); network errors propagate as they are.
 */
export async function setupSecurity(
  client: Requester,
  options: SecurityOptions,
  timeoutMs: number,
): Promise<SecurityResult> {
  const { role, mapping } = securityRequests(options);
  const applied: string[] = [];
  await send(client, role, timeoutMs);
  applied.push(`role ${options.indexerRole} (${options.indexPatterns.join(', ')})`);
  await send(client, mapping, timeoutMs);
  applied.push(`mapping ${options.indexerRole} = ${options.indexerRoleArn}`);
  if (options.adminRoleArn === undefined) return { applied };
  for (const admin of ADMIN_ROLES) {
    const path = `${SECURITY_API}/rolesmapping/${admin}`;
    const got = await send(
      client,
      { method: 'GET', path },
      timeoutMs,
      (s) => s === 200 || s === 404,
    );
    const body = (typeof got.body === 'string' ? JSON.parse(got.body) : got.body) as
      Record<string, Record<string, unknown>> | undefined;
    const current = got.statusCode === 404 ? undefined : body?.[admin];
    const next = withBackendRole(current, options.adminRoleArn);
    if (next === undefined) continue;
    await send(client, { method: 'PUT', path, body: next }, timeoutMs);
    applied.push(`mapping ${admin} += ${options.adminRoleArn}`);
  }
  return { applied };
}

/**
 * A `request` function with HTTP basic authentication, for the first run as the domain's internal
 * master user (its name and password are in the stack's DashboardsMasterSecretArn secret). HTTPS
 * only, except for a loopback host, so the password never crosses a network in clear text.
 */
export function basicAuthRequester(
  endpoint: URL,
  username: string,
  password: string,
  fetchImpl: typeof fetch = fetch,
): Requester {
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(endpoint.hostname);
  if (endpoint.protocol !== 'https:' && !loopback) {
    throw new Error(`basic authentication needs an https endpoint (got ${endpoint.origin})`);
  }
  // Buffer.from encodes a string as UTF-8, the only charset RFC 7617 (section 2.1) allows.
  const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  return {
    async request(method, path, body, timeoutMs) {
      const headers: Record<string, string> = { authorization, accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetchImpl(new URL(path, endpoint.origin), {
        method,
        headers,
        // Stryker disable next-line ConditionalExpression: `false` sends body: JSON.stringify(undefined), i.e. undefined, and fetch sends no body for an undefined one, as for a missing one; `true` (never a body) is killed by the PUT test.
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(Math.max(1, Math.floor(timeoutMs))),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        // not JSON: hand the text back as the body
      }
      return { statusCode: response.status, body: parsed };
    },
  };
}

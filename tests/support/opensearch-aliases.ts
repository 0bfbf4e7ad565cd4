/**
 * Index aliases for the OpenSearch stand-in: how OpenSearch stores them, resolves names through
 * them, picks a write index and applies `POST /_aliases` atomically. Pure: the stand-in owns the
 * indices and commits what these functions compute.
 *
 * Sources (opensearch-project/OpenSearch, server/src/main/java/org/opensearch/...):
 *  - cluster/metadata/IndexAbstraction.Alias#computeAndValidateAliasProperties (getWriteIndex):
 *    the write index is the one index whose alias has `is_write_index: true`; when none has it,
 *    an alias over exactly one index whose `is_write_index` was never set writes to that index;
 *    otherwise there is none. Two `is_write_index: true` fail the metadata update with
 *    IllegalStateException "alias [x] has more than one write index [a,b]" (HTTP 500).
 *  - cluster/metadata/MetadataIndexAliasesService#applyAliasActions: `remove_index` actions run
 *    first (so an alias may replace an index of the same name in one request), then add/remove in
 *    request order against the updated metadata; any exception leaves the cluster state as it was
 *    (one cluster state update: all or nothing).
 *  - action/admin/indices/alias/TransportIndicesAliasesAction + IndicesAliasesRequest: index
 *    expressions in actions resolve against concrete indices only ("The provided expression [x]
 *    matches an alias, specify the corresponding concrete indices instead.", 400); a missing index
 *    is 404 index_not_found_exception; a remove whose aliases are all missing is 404
 *    aliases_not_found_exception "aliases [x] missing" (rest-api-spec
 *    indices.update_aliases/40_remove_with_must_exist.yml, OpenSearch 3.0; `must_exist: false`
 *    makes it silent, `must_exist: true` requires every named alias).
 *  - cluster/metadata/AliasValidator#validateAlias: an alias named like an existing index is
 *    InvalidAliasNameException "Invalid alias name [x], an index exists with the same name as the
 *    alias" (400); names follow MetadataCreateIndexService.validateIndexOrAliasName.
 *  - rest-api-spec indices.put_alias/10_basic.yml, indices.get_alias: an alias renders as `{}` plus
 *    only the properties that were set (`is_write_index`, `index_routing`, `search_routing`,
 *    `filter`, `is_hidden`); GET /_alias/<missing> is 404 `{"error":"alias [x] missing","status":404}`.
 */
import { HttpError, indexNotFound } from './opensearch-errors';

export interface AliasProps {
  readonly isWriteIndex?: boolean;
  readonly isHidden?: boolean;
  readonly indexRouting?: string;
  readonly searchRouting?: string;
  readonly filter?: unknown;
}

/** index name -> alias name -> properties, as OpenSearch keeps aliases (in each IndexMetadata). */
export type AliasTable = ReadonlyMap<string, ReadonlyMap<string, AliasProps>>;

export interface AliasResolution {
  /** Concrete indices behind the alias, sorted. */
  readonly indices: readonly string[];
  /** The index a write to the alias goes to, or undefined when writes are refused. */
  readonly writeIndex: string | undefined;
}

export type AliasAction =
  | {
      readonly kind: 'add';
      readonly index: string;
      readonly alias: string;
      readonly props: AliasProps;
    }
  | {
      readonly kind: 'remove';
      readonly index: string;
      readonly alias: string;
      readonly mustExist: boolean | undefined;
    }
  | { readonly kind: 'remove_index'; readonly index: string };

const INVALID_NAME_CHARS = ['\\', '/', '*', '?', '"', '<', '>', '|', ' ', ','];

/** MetadataCreateIndexService.validateIndexOrAliasName: null when the name is acceptable. */
export function indexOrAliasNameProblem(name: string): string | null {
  if (name.length === 0) return 'must not be empty';
  if (INVALID_NAME_CHARS.some((c) => name.includes(c)))
    return `must not contain the following characters ${INVALID_NAME_CHARS.join(', ')}`;
  if (name.includes('#')) return "must not contain '#'";
  if (name.includes(':')) return "must not contain ':'";
  if (/^[-_+]/.test(name)) return "must not start with '_', '-', or '+'";
  if (Buffer.byteLength(name) > 255)
    return `index name is too long, (${Buffer.byteLength(name)} > 255)`;
  if (name === '.' || name === '..') return "must not be '.' or '..'";
  return null;
}

const globToRegExp = (glob: string): RegExp =>
  new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
export const isWildcard = (expr: string): boolean => expr.includes('*') || expr === '_all';
const matches = (pattern: string, name: string): boolean =>
  pattern === '_all' || globToRegExp(pattern).test(name);

/** Every alias name in the table, sorted. */
export function aliasNames(table: AliasTable): string[] {
  const names = new Set<string>();
  for (const aliases of table.values()) for (const a of aliases.keys()) names.add(a);
  return [...names].sort();
}

/** IndexAbstraction.Alias: indices and write index, or undefined when no index has the alias. */
export function resolveAlias(table: AliasTable, alias: string): AliasResolution | undefined {
  const members: Array<[string, AliasProps]> = [];
  for (const [index, aliases] of table) {
    const props = aliases.get(alias);
    if (props) members.push([index, props]);
  }
  if (members.length === 0) return undefined;
  members.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const flagged = members.filter(([, p]) => p.isWriteIndex === true).map(([i]) => i);
  if (flagged.length > 1)
    throw new HttpError(
      500,
      'illegal_state_exception',
      `alias [${alias}] has more than one write index [${flagged.join(',')}]`,
    );
  let writeIndex = flagged[0];
  if (writeIndex === undefined && members.length === 1 && members[0]![1].isWriteIndex === undefined)
    writeIndex = members[0]![0];
  return { indices: members.map(([i]) => i), writeIndex };
}

/** All aliases and what they resolve to (for the alias event log). */
export function resolveAll(table: AliasTable): Map<string, AliasResolution> {
  const out = new Map<string, AliasResolution>();
  for (const name of aliasNames(table)) out.set(name, resolveAlias(table, name)!);
  return out;
}

/** Throws what Metadata.Builder#build throws for an inconsistent alias table. */
export function validateTable(table: AliasTable): void {
  for (const name of aliasNames(table)) resolveAlias(table, name);
}

/** The exception for an expression that names an alias where only indices are accepted. */
export function aliasNotAccepted(expr: string): HttpError {
  return new HttpError(
    400,
    'illegal_argument_exception',
    `The provided expression [${expr}] matches an alias, specify the corresponding concrete indices instead.`,
  );
}

export interface ResolveOptions {
  /** IndicesOptions.ignoreAliases: an alias name is refused (delete index, alias actions). */
  readonly ignoreAliases?: boolean;
  /** IndicesOptions.ignoreUnavailable: a missing name is skipped instead of 404. */
  readonly ignoreUnavailable?: boolean;
}

/**
 * IndexNameExpressionResolver#concreteIndexNames for comma separated names and `*` wildcards:
 * an index stands for itself, an alias for its indices, a wildcard for matching indices and
 * aliases (none matching is fine: allow_no_indices defaults to true).
 */
export function concreteIndices(
  expression: string,
  indexNames: ReadonlySet<string>,
  table: AliasTable,
  options: ResolveOptions = {},
): string[] {
  const out = new Set<string>();
  for (const expr of expression.split(',').filter((e) => e.length > 0)) {
    if (isWildcard(expr)) {
      for (const name of indexNames) if (matches(expr, name)) out.add(name);
      if (!options.ignoreAliases)
        for (const alias of aliasNames(table))
          if (matches(expr, alias)) resolveAlias(table, alias)!.indices.forEach((i) => out.add(i));
      continue;
    }
    if (indexNames.has(expr)) {
      out.add(expr);
      continue;
    }
    const alias = resolveAlias(table, expr);
    if (alias) {
      if (options.ignoreAliases) throw aliasNotAccepted(expr);
      alias.indices.forEach((i) => out.add(i));
      continue;
    }
    if (!options.ignoreUnavailable) throw indexNotFound(expr);
  }
  return [...out].sort();
}

// ------------------------------------------------------------------------ parsing request bodies

const list = (v: unknown, field: string): string[] => {
  if (typeof v === 'string') return v.split(',').filter((s) => s.length > 0);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  throw new HttpError(
    400,
    'x_content_parse_exception',
    `[${field}] must be a string or an array of strings`,
  );
};

const ADD_FIELDS = new Set([
  'index',
  'indices',
  'alias',
  'aliases',
  'is_write_index',
  'is_hidden',
  'routing',
  'index_routing',
  'search_routing',
  'filter',
]);
const REMOVE_FIELDS = new Set(['index', 'indices', 'alias', 'aliases', 'must_exist']);
const REMOVE_INDEX_FIELDS = new Set(['index', 'indices']);

/** Alias properties from an `add` action, a PUT /<index>/_alias body or a create-index `aliases` entry. */
export function parseAliasProps(o: Record<string, unknown>, where: string): AliasProps {
  const bool = (k: string): boolean | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean')
      throw new HttpError(
        400,
        'x_content_parse_exception',
        `[${where}] failed to parse field [${k}]`,
      );
    return v;
  };
  const str = (k: string): string | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string' || typeof v === 'number') return String(v);
    throw new HttpError(
      400,
      'x_content_parse_exception',
      `[${where}] failed to parse field [${k}]`,
    );
  };
  const routing = str('routing');
  const props: { -readonly [K in keyof AliasProps]: AliasProps[K] } = {};
  const w = bool('is_write_index');
  if (w !== undefined) props.isWriteIndex = w;
  const h = bool('is_hidden');
  if (h !== undefined) props.isHidden = h;
  const ir = str('index_routing') ?? routing;
  if (ir !== undefined) props.indexRouting = ir;
  const sr = str('search_routing') ?? routing;
  if (sr !== undefined) props.searchRouting = sr;
  if (o.filter !== undefined && o.filter !== null) props.filter = o.filter;
  return props;
}

/** How GET /_alias renders one alias: `{}` plus the properties that were set. */
export function aliasPropsToJson(p: AliasProps): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (p.filter !== undefined) out.filter = p.filter;
  if (p.indexRouting !== undefined) out.index_routing = p.indexRouting;
  if (p.searchRouting !== undefined) out.search_routing = p.searchRouting;
  if (p.isWriteIndex !== undefined) out.is_write_index = p.isWriteIndex;
  if (p.isHidden !== undefined) out.is_hidden = p.isHidden;
  return out;
}

export interface RequestedAction {
  readonly kind: 'add' | 'remove' | 'remove_index';
  readonly indices: readonly string[];
  readonly aliases: readonly string[];
  readonly props: AliasProps;
  readonly mustExist: boolean | undefined;
}

/** The `actions` of a POST /_aliases body (IndicesAliasesRequest.PARSER and AliasActions.validate). */
export function parseAliasActions(body: unknown): RequestedAction[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new HttpError(400, 'parse_exception', 'request body is required');
  for (const k of Object.keys(body))
    if (k !== 'actions')
      throw new HttpError(400, 'x_content_parse_exception', `[aliases] unknown field [${k}]`);
  const actions = (body as { actions?: unknown }).actions;
  if (!Array.isArray(actions) || actions.length === 0)
    throw new HttpError(
      400,
      'action_request_validation_exception',
      'Validation Failed: 1: Must specify at least one alias action;',
    );
  return actions.map((a: unknown): RequestedAction => {
    if (a === null || typeof a !== 'object' || Array.isArray(a) || Object.keys(a).length !== 1)
      throw new HttpError(
        400,
        'x_content_parse_exception',
        'an alias action must hold exactly one of [add], [remove], [remove_index]',
      );
    const [kind, spec] = Object.entries(a as Record<string, unknown>)[0]!;
    const allowed =
      kind === 'add'
        ? ADD_FIELDS
        : kind === 'remove'
          ? REMOVE_FIELDS
          : kind === 'remove_index'
            ? REMOVE_INDEX_FIELDS
            : undefined;
    if (!allowed)
      throw new HttpError(400, 'x_content_parse_exception', `[aliases] unknown field [${kind}]`);
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec))
      throw new HttpError(400, 'x_content_parse_exception', `[${kind}] must be an object`);
    const o = spec as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (!allowed.has(k))
        throw new HttpError(400, 'x_content_parse_exception', `[${kind}] unknown field [${k}]`);
    const indices = [
      ...(o.index !== undefined ? list(o.index, 'index') : []),
      ...(o.indices !== undefined ? list(o.indices, 'indices') : []),
    ];
    const aliases = [
      ...(o.alias !== undefined ? list(o.alias, 'alias') : []),
      ...(o.aliases !== undefined ? list(o.aliases, 'aliases') : []),
    ];
    if (indices.length === 0)
      throw new HttpError(
        400,
        'illegal_argument_exception',
        'One of [index] or [indices] is required',
      );
    if (kind !== 'remove_index' && aliases.length === 0)
      throw new HttpError(
        400,
        'illegal_argument_exception',
        'One of [alias] or [aliases] is required',
      );
    const mustExist = o.must_exist === undefined ? undefined : o.must_exist === true;
    return {
      kind: kind as RequestedAction['kind'],
      indices,
      aliases,
      props: kind === 'add' ? parseAliasProps(o, kind) : {},
      mustExist,
    };
  });
}

// ------------------------------------------------------------------------ applying actions

export interface AliasPlan {
  /** The alias table after every action. */
  readonly table: Map<string, Map<string, AliasProps>>;
  /** Indices removed by `remove_index` (the caller deletes them when it commits). */
  readonly deleteIndices: readonly string[];
  /** True when anything changed. */
  readonly changed: boolean;
}

const cloneTable = (t: AliasTable): Map<string, Map<string, AliasProps>> =>
  new Map([...t].map(([i, a]) => [i, new Map(a)]));

const sameProps = (a: AliasProps, b: AliasProps): boolean =>
  JSON.stringify(aliasPropsToJson(a)) === JSON.stringify(aliasPropsToJson(b));

/**
 * Computes the result of a POST /_aliases request without touching anything: throws the error
 * OpenSearch answers with, or returns the new table and the indices to delete. The caller commits
 * the plan as one step, which is what makes the request atomic.
 */
export function planAliasActions(
  requested: readonly RequestedAction[],
  indexNames: ReadonlySet<string>,
  current: AliasTable,
): AliasPlan {
  // TransportIndicesAliasesAction: expand index expressions (concrete indices only) and alias names.
  const finalActions: AliasAction[] = [];
  for (const action of requested) {
    const indices = concreteIndices(action.indices.join(','), indexNames, current, {
      ignoreAliases: true,
    });
    if (action.kind === 'remove_index') {
      for (const index of indices) finalActions.push({ kind: 'remove_index', index });
      continue;
    }
    if (action.kind === 'add') {
      for (const index of indices)
        for (const alias of action.aliases)
          finalActions.push({ kind: 'add', index, alias, props: action.props });
      continue;
    }
    const missing: string[] = [];
    const found: AliasAction[] = [];
    for (const pattern of action.aliases) {
      let any = false;
      for (const index of indices)
        for (const alias of current.get(index)?.keys() ?? [])
          if (isWildcard(pattern) ? matches(pattern, alias) : alias === pattern) {
            any = true;
            found.push({ kind: 'remove', index, alias, mustExist: action.mustExist });
          }
      if (!any) missing.push(pattern);
    }
    const refuse =
      action.mustExist === true
        ? missing.length > 0
        : action.mustExist === undefined && found.length === 0;
    if (refuse) throw aliasesNotFound(missing);
    finalActions.push(...found);
  }

  // MetadataIndexAliasesService#applyAliasActions: remove_index first, then the rest in order.
  const table = cloneTable(current);
  const names = new Set(indexNames);
  const deleteIndices: string[] = [];
  for (const a of finalActions) {
    if (a.kind !== 'remove_index') continue;
    if (!names.has(a.index)) throw indexNotFound(a.index);
    names.delete(a.index);
    table.delete(a.index);
    deleteIndices.push(a.index);
  }
  let changed = deleteIndices.length > 0;
  for (const a of finalActions) {
    if (a.kind === 'remove_index') continue;
    if (!names.has(a.index)) throw indexNotFound(a.index);
    const aliases = table.get(a.index) ?? new Map<string, AliasProps>();
    if (a.kind === 'add') {
      validateNewAlias(a.alias, names);
      const prev = aliases.get(a.alias);
      if (prev && sameProps(prev, a.props)) continue;
      aliases.set(a.alias, a.props);
      table.set(a.index, aliases);
      changed = true;
    } else if (aliases.delete(a.alias)) {
      changed = true;
    }
  }
  validateTable(table);
  return { table, deleteIndices, changed };
}

/** AliasValidator#validateAlias against the indices that will exist. */
export function validateNewAlias(alias: string, indexNames: ReadonlySet<string>): void {
  const bad = indexOrAliasNameProblem(alias);
  if (bad)
    throw new HttpError(
      400,
      'invalid_alias_name_exception',
      `Invalid alias name [${alias}], ${bad}`,
      {
        index_uuid: '_na_',
        index: alias,
      },
    );
  if (indexNames.has(alias))
    throw new HttpError(
      400,
      'invalid_alias_name_exception',
      `Invalid alias name [${alias}], an index exists with the same name as the alias`,
      { index_uuid: '_na_', index: alias },
    );
}

/** AliasesNotFoundException: 404 "aliases [a,b] missing". */
export function aliasesNotFound(names: readonly string[]): HttpError {
  const sorted = [...names].sort();
  return new HttpError(
    404,
    'aliases_not_found_exception',
    `aliases [${sorted.join(',')}] missing`,
    {
      'resource.type': 'aliases',
      'resource.id': sorted.length === 1 ? sorted[0] : sorted,
    },
  );
}

/**
 * GET /_alias/<names> and GET /<index>/_alias/<names> (RestGetAliasesAction): the indices that
 * carry a matching alias, with those aliases; and the names that matched nothing, which make the
 * answer a 404 `{"error":"alias [x] missing","status":404}` carrying whatever was found.
 */
export function getAliases(
  table: AliasTable,
  indices: readonly string[],
  names: readonly string[] | undefined,
): { body: Record<string, unknown>; missing: string[] } {
  const body: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const index of indices) {
    const aliases = table.get(index) ?? new Map<string, AliasProps>();
    const picked: Record<string, unknown> = {};
    for (const [alias, props] of [...aliases].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const hit =
        names === undefined || names.some((n) => (isWildcard(n) ? matches(n, alias) : n === alias));
      if (hit) {
        picked[alias] = aliasPropsToJson(props);
        seen.add(alias);
      }
    }
    // An index without aliases is listed only when no alias names were asked for.
    if (names === undefined || Object.keys(picked).length > 0) body[index] = { aliases: picked };
  }
  const missing = (names ?? []).filter((n) => !isWildcard(n) && !seen.has(n)).sort();
  return { body, missing };
}

import { OpenSearchStandIn, type AliasEvent } from '../support/opensearch-stand-in';
import { httpRequest, type HttpResult } from '../support/sign';

let os: OpenSearchStandIn;

beforeAll(async () => {
  os = await OpenSearchStandIn.start({ auth: 'none' });
});
afterAll(async () => {
  await os.close();
});
beforeEach(() => {
  os.reset();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<HttpResult & { json: unknown }> {
  const r = await httpRequest(`${os.url}${path}`, {
    method,
    ...(body !== undefined
      ? {
          body: typeof body === 'string' ? body : JSON.stringify(body),
          headers: { 'content-type': contentType },
        }
      : {}),
  });
  return { ...r, json: r.text.length > 0 ? (JSON.parse(r.text) as unknown) : undefined };
}
const ndjson = (lines: unknown[]): string => lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
const bulk = (path: string, lines: unknown[]) =>
  call('POST', path, ndjson(lines), 'application/x-ndjson');
type BulkItem = {
  _index: string;
  _id: string;
  status: number;
  error?: { type: string; reason: string };
};
const bulkItems = (r: { json: unknown }): BulkItem[] =>
  (r.json as { items: Array<Record<string, BulkItem>> }).items.map((it) => Object.values(it)[0]!);
const aliases = (body: unknown) => call('POST', '/_aliases', body);
const errorType = (r: { json: unknown }) => (r.json as { error: { type: string } }).error.type;
const errorReason = (r: { json: unknown }) =>
  (r.json as { error: { reason: string } }).error.reason;

/** Prepare: two physical indices, `transactions` over the first. */
function twoIndices(): void {
  os.createIndex('transactions-000001', { aliases: { transactions: {} } });
  os.createIndex('transactions-000002');
}

describe('OpenSearch stand-in: aliases', () => {
  test('POST /_aliases moves an alias atomically: one change, never empty, always a write index', async () => {
    twoIndices();
    const seen: AliasEvent[] = [];
    const stop = os.onAliasChange((e) => seen.push(e));

    const r = await aliases({
      actions: [
        { remove: { index: 'transactions-000001', alias: 'transactions' } },
        { add: { index: 'transactions-000002', alias: 'transactions' } },
      ],
    });
    stop();

    expect(r.status).toBe(200);
    expect(r.json).toEqual({ acknowledged: true });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.before.get('transactions')).toEqual({
      indices: ['transactions-000001'],
      writeIndex: 'transactions-000001',
    });
    expect(seen[0]!.after.get('transactions')).toEqual({
      indices: ['transactions-000002'],
      writeIndex: 'transactions-000002',
    });
    const history = os.aliasHistory('transactions');
    expect(history.map((h) => h.cause)).toEqual(['createIndex()', 'POST /_aliases']);
    expect(history.every((h) => h.resolution !== undefined && h.resolution.writeIndex)).toBe(true);
  });

  test('adding a second index without is_write_index leaves the alias with no write index', async () => {
    twoIndices();

    await aliases({ actions: [{ add: { index: 'transactions-000002', alias: 'transactions' } }] });

    expect(os.resolveAlias('transactions')).toEqual({
      indices: ['transactions-000001', 'transactions-000002'],
      writeIndex: undefined,
    });
    const r = await bulk('/transactions/_bulk', [{ index: { _id: 'a' } }, { f: 1 }]);
    expect(r.status).toBe(200);
    expect(bulkItems(r)[0]).toEqual({
      _index: 'transactions',
      _id: 'a',
      status: 400,
      error: {
        type: 'illegal_argument_exception',
        reason:
          'no write index is defined for alias [transactions]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index',
      },
    });
    expect(os.snapshot('transactions-000001')).toEqual([]);
    expect(os.snapshot('transactions-000002')).toEqual([]);
  });

  test.each([
    [
      'a missing index',
      { add: { index: 'nope', alias: 'transactions' } },
      404,
      'index_not_found_exception',
      'no such index [nope]',
    ],
    [
      'an alias where an index is expected',
      { add: { index: 'transactions', alias: 'other' } },
      400,
      'illegal_argument_exception',
      'The provided expression [transactions] matches an alias, specify the corresponding concrete indices instead.',
    ],
    [
      'an alias named like an index',
      { add: { index: 'transactions-000002', alias: 'transactions-000001' } },
      400,
      'invalid_alias_name_exception',
      'Invalid alias name [transactions-000001], an index exists with the same name as the alias',
    ],
    [
      'a second write index',
      { add: { index: 'transactions-000002', alias: 'transactions', is_write_index: true } },
      500,
      'illegal_state_exception',
      'alias [transactions] has more than one write index [transactions-000001,transactions-000002]',
    ],
    [
      'removing an alias the index does not have',
      { remove: { index: 'transactions-000002', alias: 'transactions' } },
      404,
      'aliases_not_found_exception',
      'aliases [transactions] missing',
    ],
    [
      'remove_index of an alias',
      { remove_index: { index: 'transactions' } },
      400,
      'illegal_argument_exception',
      'The provided expression [transactions] matches an alias, specify the corresponding concrete indices instead.',
    ],
  ])(
    'an error in any action (%s) fails the request and changes nothing',
    async (_name, failing, status, type, reason) => {
      os.createIndex('transactions-000001', {
        aliases: { transactions: { is_write_index: true } },
      });
      os.createIndex('transactions-000002');
      os.createIndex('spare');
      const before = os.aliases();
      const events = os.aliasEvents.length;

      const r = await aliases({
        actions: [
          { remove_index: { index: 'spare' } },
          { add: { index: 'transactions-000001', alias: 'extra' } },
          failing,
        ],
      });

      expect(r.status).toBe(status);
      expect(errorType(r)).toBe(type);
      expect(errorReason(r)).toBe(reason);
      expect(os.aliases()).toEqual(before);
      expect(os.aliasEvents.length).toBe(events);
      expect(os.hasIndex('spare')).toBe(true);
    },
  );

  test('remove_index runs first, so an alias can replace an index of the same name in one request', async () => {
    os.createIndex('transactions');
    os.createIndex('transactions-000001');

    const r = await aliases({
      actions: [
        { add: { index: 'transactions-000001', alias: 'transactions' } },
        { remove_index: { index: 'transactions' } },
      ],
    });

    expect(r.status).toBe(200);
    expect(os.hasIndex('transactions')).toBe(false);
    expect(os.resolveAlias('transactions')).toEqual({
      indices: ['transactions-000001'],
      writeIndex: 'transactions-000001',
    });
  });

  test('is_write_index picks the write index among several, and can move in one request', async () => {
    os.createIndex('a-1', { aliases: { w: { is_write_index: true } } });
    os.createIndex('a-2', { aliases: { w: {} } });
    const first = await bulk('/w/_bulk', [{ index: { _id: '1' } }, { n: 1 }]);

    const swap = await aliases({
      actions: [
        { add: { index: 'a-1', alias: 'w', is_write_index: false } },
        { add: { index: 'a-2', alias: 'w', is_write_index: true } },
      ],
    });
    const second = await bulk('/_bulk', [{ index: { _index: 'w', _id: '2' } }, { n: 2 }]);

    expect(swap.status).toBe(200);
    expect(bulkItems(first)[0]).toMatchObject({ _index: 'a-1', status: 201 });
    expect(bulkItems(second)[0]).toMatchObject({ _index: 'a-2', status: 201 });
    expect(os.items.map((i) => [i.target, i.index])).toEqual([
      ['w', 'a-1'],
      ['w', 'a-2'],
    ]);
  });

  test('an alias over one index with is_write_index: false has no write index', async () => {
    os.createIndex('a-1', { aliases: { ro: { is_write_index: false } } });

    const r = await bulk('/ro/_bulk', [
      { delete: { _id: '1', version: 3, version_type: 'external' } },
    ]);

    expect(bulkItems(r)[0]).toMatchObject({
      _index: 'ro',
      status: 400,
      error: { type: 'illegal_argument_exception' },
    });
    expect(os.readIndex('a-1').tombstones.size).toBe(0);
  });

  test('PUT, GET, HEAD and DELETE of /<index>/_alias/<name> and /_alias/<name>', async () => {
    os.createIndex('i-1');
    os.createIndex('i-2');

    const put1 = await call('PUT', '/i-1/_alias/books');
    const put2 = await call('PUT', '/i-2/_alias/books', { is_write_index: true });
    const byName = await call('GET', '/_alias/books');
    const byIndex = await call('GET', '/i-1/_alias');
    const head = await call('HEAD', '/_alias/books');
    const del = await call('DELETE', '/i-1/_alias/books');
    const delAgain = await call('DELETE', '/i-1/_alias/books');
    const after = await call('GET', '/_alias/books');
    const missing = await call('GET', '/_alias/nothing');
    const headMissing = await call('HEAD', '/_alias/nothing');
    const noIndex = await call('GET', '/nope/_alias');

    expect([put1.status, put2.status]).toEqual([200, 200]);
    expect(byName.json).toEqual({
      'i-1': { aliases: { books: {} } },
      'i-2': { aliases: { books: { is_write_index: true } } },
    });
    expect(byIndex.json).toEqual({ 'i-1': { aliases: { books: {} } } });
    expect([head.status, head.text]).toEqual([200, '']);
    expect(del.json).toEqual({ acknowledged: true });
    expect([delAgain.status, errorType(delAgain)]).toEqual([404, 'aliases_not_found_exception']);
    expect(after.json).toEqual({ 'i-2': { aliases: { books: { is_write_index: true } } } });
    expect([missing.status, missing.json]).toEqual([
      404,
      { error: 'alias [nothing] missing', status: 404 },
    ]);
    expect(headMissing.status).toBe(404);
    expect([noIndex.status, errorType(noIndex)]).toEqual([404, 'index_not_found_exception']);
  });

  test('PUT /<index> with aliases; names shared by an index and an alias are refused both ways', async () => {
    const created = await call('PUT', '/t-1', { aliases: { t: { is_write_index: true } } });
    const indexLikeAlias = await call('PUT', '/t');
    const aliasLikeIndex = await call('PUT', '/t-2', { aliases: { 't-1': {} } });

    expect(created.status).toBe(200);
    expect(os.resolveAlias('t')).toEqual({ indices: ['t-1'], writeIndex: 't-1' });
    expect([indexLikeAlias.status, errorType(indexLikeAlias), errorReason(indexLikeAlias)]).toEqual(
      [400, 'invalid_index_name_exception', 'Invalid index name [t], already exists as alias'],
    );
    expect([aliasLikeIndex.status, errorType(aliasLikeIndex)]).toEqual([
      400,
      'invalid_alias_name_exception',
    ]);
    expect(os.hasIndex('t-2')).toBe(false);
    expect(os.hasIndex('t')).toBe(false);
  });

  test('GET and HEAD /<alias> answer for the concrete indices; DELETE /<alias> is refused', async () => {
    twoIndices();
    await call('PUT', '/transactions-000002/_alias/all');
    await call('PUT', '/transactions-000001/_alias/all');

    const get = await call('GET', '/all');
    const head = await call('HEAD', '/transactions');
    const del = await call('DELETE', '/transactions');
    const delIndex = await call('DELETE', '/transactions-000001');

    expect(Object.keys(get.json as object).sort()).toEqual([
      'transactions-000001',
      'transactions-000002',
    ]);
    expect(
      (get.json as Record<string, { aliases: unknown }>)['transactions-000001']!.aliases,
    ).toEqual({
      all: {},
      transactions: {},
    });
    expect(head.status).toBe(200);
    expect([del.status, errorReason(del)]).toEqual([
      400,
      'The provided expression [transactions] matches an alias, specify the corresponding concrete indices instead.',
    ]);
    expect(delIndex.status).toBe(200);
    expect(os.resolveAlias('transactions')).toBeUndefined();
    expect(os.aliasHistory('transactions').at(-1)).toMatchObject({
      cause: 'DELETE /transactions-000001',
      resolution: undefined,
    });
  });
});

describe('OpenSearch stand-in: _search and _count', () => {
  async function fill(index: string, ids: string[]): Promise<void> {
    const lines = ids.flatMap((id) => [
      { index: { _id: id, version: 5, version_type: 'external' } },
      { id, user: Number(id.slice(1)) % 2 },
    ]);
    await bulk(`/${index}/_bulk`, lines);
  }

  test('match_all across an alias returns hits from every index with _index, _id, _version, _source', async () => {
    twoIndices();
    await fill('transactions-000001', ['d1', 'd2']);
    await fill('transactions-000002', ['d3']);
    await call('PUT', '/transactions-000002/_alias/all');
    await call('PUT', '/transactions-000001/_alias/all');

    const r = await call('POST', '/all/_search', {
      query: { match_all: {} },
      size: 10,
      version: true,
    });
    const count = await call('GET', '/all/_count');

    const body = r.json as {
      _shards: { total: number };
      hits: { total: unknown; hits: Array<Record<string, unknown>> };
    };
    expect(r.status).toBe(200);
    expect(body._shards.total).toBe(2);
    expect(body.hits.total).toEqual({ value: 3, relation: 'eq' });
    expect(body.hits.hits.map((h) => [h._index, h._id, h._version])).toEqual([
      ['transactions-000001', 'd1', 5],
      ['transactions-000001', 'd2', 5],
      ['transactions-000002', 'd3', 5],
    ]);
    expect(body.hits.hits[0]!._source).toEqual({ id: 'd1', user: 1 });
    expect(count.json).toMatchObject({ count: 3 });
  });

  test('size, from, ids and term queries; _version only when asked', async () => {
    os.createIndex('s');
    await fill('s', ['d1', 'd2', 'd3', 'd4']);

    const page = await call('GET', '/s/_search?size=2&from=1');
    const ids = await call('POST', '/s/_search', { query: { ids: { values: ['d4', 'zz'] } } });
    const term = await call('POST', '/s/_count', { query: { term: { user: 0 } } });
    const none = await call('POST', '/s/_search', { size: 0 });

    const pageHits = (page.json as { hits: { hits: Array<Record<string, unknown>> } }).hits.hits;
    expect(pageHits.map((h) => h._id)).toEqual(['d2', 'd3']);
    expect(pageHits[0]).not.toHaveProperty('_version');
    expect(
      (ids.json as { hits: { hits: Array<{ _id: string }> } }).hits.hits.map((h) => h._id),
    ).toEqual(['d4']);
    expect(term.json).toMatchObject({ count: 2 });
    expect(none.json).toMatchObject({ hits: { total: { value: 4 }, max_score: null, hits: [] } });
  });

  test.each([
    ['GET', '/missing/_search'],
    ['POST', '/missing/_count'],
    ['GET', '/s,missing/_search'],
  ])('%s %s answers 404 index_not_found_exception', async (method, path) => {
    os.createIndex('s');

    const r = await call(method, path);

    expect(r.status).toBe(404);
    expect((r.json as { error: Record<string, unknown> }).error).toMatchObject({
      type: 'index_not_found_exception',
      reason: 'no such index [missing]',
      'resource.type': 'index_or_alias',
    });
  });

  test('a wildcard matching nothing is an empty result, not an error', async () => {
    const r = await call('GET', '/nothing-*/_search');

    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ hits: { total: { value: 0, relation: 'eq' }, hits: [] } });
  });

  test('an unsupported search option is refused, not ignored', async () => {
    os.createIndex('s');

    const r = await call('POST', '/s/_search', { sort: ['_id'] });

    expect(r.status).toBe(400);
    expect(errorReason(r)).toContain('[sort]');
  });

  test('searches through the alias never fail and never see an empty index while it moves', async () => {
    // Prepare: the old index is full; the new one is filled while searches run.
    twoIndices();
    const ids = Array.from({ length: 30 }, (_, i) => `d${i}`);
    await fill('transactions-000001', ids);
    const totals: number[] = [];
    const statuses: number[] = [];
    let done = false;
    const reader = (async () => {
      while (!done) {
        const r = await call('GET', '/transactions/_search?size=0');
        statuses.push(r.status);
        totals.push((r.json as { hits: { total: { value: number } } }).hits.total.value);
      }
    })();

    // Act: fill the new index in pieces, then swap in one request.
    for (let i = 0; i < ids.length; i += 5) await fill('transactions-000002', ids.slice(i, i + 5));
    await aliases({
      actions: [
        { remove: { index: 'transactions-000001', alias: 'transactions' } },
        { add: { index: 'transactions-000002', alias: 'transactions' } },
      ],
    });
    const afterSwap = await call('GET', '/transactions/_count');
    done = true;
    await reader;

    // Assert
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(Math.min(...totals)).toBe(30);
    expect(afterSwap.json).toMatchObject({ count: 30 });
    expect(os.aliasHistory('transactions').every((h) => h.resolution?.writeIndex)).toBe(true);
  });
});

import {
  DEFAULT_GC_DELETES,
  indexBody,
  indexDifferences,
  indexOptionsFromEnv,
  IndexSetupError,
  setupAliasedIndex,
  setupIndex,
  setupRequests,
  timeValueMs,
  type IndexBody,
  type IndexOptions,
} from '../../lib/index-setup';
import type { SearchClient, SearchResponse } from '../../lib/search-client';

const ES: IndexOptions = { shards: 1, replicas: 0, gcDeletes: '25h', service: 'es' };

interface Call {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  readonly timeoutMs: number;
}

/** A SearchClient.request that answers from a script keyed by "METHOD path". */
function fakeClient(answers: Record<string, SearchResponse | SearchResponse[]>): {
  client: Pick<SearchClient, 'request'>;
  calls: Call[];
} {
  const calls: Call[] = [];
  const client: Pick<SearchClient, 'request'> = {
    request: async (method, path, body, timeoutMs) => {
      calls.push({ method, path, body, timeoutMs });
      const answer = answers[`${method} ${path}`];
      const next = Array.isArray(answer) ? answer.shift() : answer;
      if (next === undefined) throw new Error(`unexpected request ${method} ${path}`);
      return next;
    },
  };
  return { client, calls };
}

/** The part of `GET /<index>` that setup reads, loosely typed so tests can bend it. */
interface IndexState {
  settings: { index: Record<string, unknown> };
  mappings: { dynamic?: string; properties: Record<string, Record<string, unknown>> };
}

/** `GET /<index>` as OpenSearch answers it for an index created with `body`. */
function getResponse(
  index: string,
  body: IndexBody,
  patch: (state: IndexState) => void = () => {},
) {
  const state = JSON.parse(
    JSON.stringify({
      aliases: {},
      mappings: { ...body.mappings, dynamic: String(body.mappings.dynamic) },
      settings: {
        index: {
          creation_date: '1795942800000',
          provided_name: index,
          uuid: 'k1Q',
          version: { created: '136407827' },
          ...Object.fromEntries(
            Object.entries(body.settings?.index ?? {}).map(([k, v]) => [k, String(v)]),
          ),
        },
      },
    }),
  ) as IndexState;
  patch(state);
  return { [index]: state };
}

describe('timeValueMs', () => {
  it.each([
    ['25h', 90_000_000],
    ['90000s', 90_000_000],
    ['1d', 86_400_000],
    ['60s', 60_000],
    ['5m', 300_000],
    ['250ms', 250],
    ['1000micros', 1],
    ['1000000nanos', 1],
  ])('reads %s', (value, ms) => {
    expect(timeValueMs(value)).toBe(ms);
  });

  it.each(['', '25', 'h', '25 h', '-1h', '1.5h', '25H', '1w', '10sec', '25hours', '25h '])(
    'rejects %j',
    (value) => {
      expect(timeValueMs(value)).toBeUndefined();
    },
  );
});

describe('indexBody', () => {
  it('builds settings and mappings for a domain', () => {
    // Act
    const body = indexBody({ shards: 3, replicas: 2, gcDeletes: '26h', service: 'es' });

    // Assert
    expect(body).toEqual({
      settings: { index: { number_of_shards: 3, number_of_replicas: 2, gc_deletes: '26h' } },
      mappings: {
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
      },
    });
  });

  it('leaves the settings out for OpenSearch Serverless, which manages them', () => {
    // Act
    const body = indexBody({ ...ES, service: 'aoss' });

    // Assert
    expect(body.settings).toBeUndefined();
    expect(body.mappings).toEqual(indexBody(ES).mappings);
  });

  it('keeps deletes longer than the stream retains records by default', () => {
    expect(timeValueMs(DEFAULT_GC_DELETES)).toBeGreaterThan(24 * 3600 * 1000);
  });
});

describe('indexOptionsFromEnv', () => {
  it('applies the defaults', () => {
    expect(indexOptionsFromEnv({}, 'es')).toEqual({
      shards: 1,
      replicas: 0,
      gcDeletes: '25h',
      service: 'es',
    });
  });

  it('reads INDEX_SHARDS, INDEX_REPLICAS and INDEX_GC_DELETES, ignoring blanks', () => {
    // Act
    const options = indexOptionsFromEnv(
      { INDEX_SHARDS: ' 2 ', INDEX_REPLICAS: '1', INDEX_GC_DELETES: '48h' },
      'aoss',
    );
    const blanks = indexOptionsFromEnv(
      { INDEX_SHARDS: '', INDEX_REPLICAS: ' ', INDEX_GC_DELETES: '' },
      'es',
    );

    // Assert
    expect(options).toEqual({ shards: 2, replicas: 1, gcDeletes: '48h', service: 'aoss' });
    expect(blanks).toEqual(indexOptionsFromEnv({}, 'es'));
  });

  it('names every bad variable at once', () => {
    // Act
    const act = () =>
      indexOptionsFromEnv(
        { INDEX_SHARDS: '0', INDEX_REPLICAS: '1.5', INDEX_GC_DELETES: 'a day' },
        'es',
      );

    // Assert
    expect(act).toThrow(/INDEX_SHARDS must be an integer from 1 to 1024 \(got "0"\)/);
    expect(act).toThrow(/INDEX_REPLICAS must be an integer from 0 to 15 \(got "1.5"\)/);
    expect(act).toThrow(/INDEX_GC_DELETES must be a time value .* \(got "a day"\)/);
  });

  it('rejects values out of range', () => {
    expect(() => indexOptionsFromEnv({ INDEX_SHARDS: '1025' }, 'es')).toThrow(/INDEX_SHARDS/);
    expect(() => indexOptionsFromEnv({ INDEX_REPLICAS: '16' }, 'es')).toThrow(/INDEX_REPLICAS/);
  });
});

describe('indexDifferences', () => {
  const body = indexBody(ES);

  it('finds none for an index created from the same body', () => {
    expect(indexDifferences(body, getResponse('transactions', body), 'transactions')).toEqual([]);
  });

  it('reads the index under its own name, or the only entry (an alias was given)', () => {
    // Arrange
    const response = getResponse(
      'transactions-v2',
      body,
      (s) => (s.settings.index.gc_deletes = '60s'),
    );

    // Act
    const differences = indexDifferences(body, response, 'transactions');

    // Assert
    expect(differences).toEqual([
      { path: 'settings.index.gc_deletes', expected: '25h', actual: '60s', fix: 'settings' },
    ]);
  });

  it('reports settings that differ or are absent, with how to fix each', () => {
    // Arrange
    const response = getResponse('transactions', body, (s) => {
      s.settings.index.number_of_shards = '5';
      s.settings.index.number_of_replicas = '1';
      delete s.settings.index.gc_deletes; // never set: the 60 s default
    });

    // Act
    const differences = indexDifferences(body, response, 'transactions');

    // Assert
    expect(differences).toEqual([
      { path: 'settings.index.number_of_shards', expected: 1, actual: '5', fix: 'reindex' },
      { path: 'settings.index.number_of_replicas', expected: 0, actual: '1', fix: 'settings' },
      { path: 'settings.index.gc_deletes', expected: '25h', actual: undefined, fix: 'settings' },
    ]);
  });

  it('reports mapping differences: missing fields, other types, scaling factors, sub-fields', () => {
    // Arrange
    const response = getResponse('transactions', body, (s) => {
      s.mappings.dynamic = 'strict';
      delete s.mappings.properties.accountId;
      s.mappings.properties.amount = { type: 'float' };
      s.mappings.properties.userId = { type: 'long' };
      s.mappings.properties.transactionId = { type: 'long' };
      s.mappings.properties.shortDescription = { type: 'text' };
    });
    const scaled = getResponse('transactions', body, (s) => {
      s.mappings.properties.amount = { type: 'scaled_float', scaling_factor: 1000 };
      s.mappings.properties.shortDescription = {
        type: 'text',
        fields: { keyword: { type: 'text' } },
      };
    });

    // Act
    const differences = indexDifferences(body, response, 'transactions');
    const scaledDifferences = indexDifferences(body, scaled, 'transactions');

    // Assert
    expect(differences).toEqual([
      { path: 'mappings.dynamic', expected: true, actual: 'strict', fix: 'mapping' },
      {
        path: 'mappings.properties.accountId',
        expected: { type: 'long' },
        actual: undefined,
        fix: 'mapping',
      },
      {
        path: 'mappings.properties.amount.type',
        expected: 'scaled_float',
        actual: 'float',
        fix: 'reindex',
      },
      {
        path: 'mappings.properties.shortDescription.fields.keyword',
        expected: { type: 'keyword', ignore_above: 256 },
        actual: undefined,
        fix: 'mapping',
      },
    ]);
    expect(scaledDifferences).toEqual([
      {
        path: 'mappings.properties.amount.scaling_factor',
        expected: 100,
        actual: 1000,
        fix: 'reindex',
      },
      {
        path: 'mappings.properties.shortDescription.fields.keyword',
        expected: { type: 'keyword', ignore_above: 256 },
        actual: { type: 'text' },
        fix: 'reindex',
      },
    ]);
  });

  it('treats an index without explicit `dynamic` as dynamic (the default)', () => {
    // Arrange
    const response = getResponse('transactions', body, (s) => delete s.mappings.dynamic);

    // Act / Assert
    expect(indexDifferences(body, response, 'transactions')).toEqual([]);
  });

  it('compares only mappings for OpenSearch Serverless', () => {
    // Arrange
    const aoss = indexBody({ ...ES, service: 'aoss' });
    const response = getResponse('transactions', body, (s) => (s.settings.index = {}));

    // Act / Assert
    expect(indexDifferences(aoss, response, 'transactions')).toEqual([]);
  });

  it('reports everything as missing for an empty or unexpected answer', () => {
    for (const response of [undefined, null, 'text', [], {}, { transactions: [] }]) {
      const paths = indexDifferences(body, response, 'transactions').map((d) => d.path);
      expect(paths).toEqual([
        'settings.index.number_of_shards',
        'settings.index.number_of_replicas',
        'settings.index.gc_deletes',
        'mappings.properties.userId',
        'mappings.properties.transactionId',
        'mappings.properties.accountId',
        'mappings.properties.amount',
        'mappings.properties.shortDescription',
      ]);
    }
  });
});

describe('setupRequests', () => {
  it('creates with PUT /<index> and applies gc_deletes with PUT /<index>/_settings', () => {
    // Arrange
    const body = indexBody(ES);

    // Act
    const requests = setupRequests('transactions', body);

    // Assert
    expect(requests).toEqual({
      create: { method: 'PUT', path: '/transactions', body },
      applySettings: {
        method: 'PUT',
        path: '/transactions/_settings',
        body: { index: { gc_deletes: '25h' } },
      },
    });
  });

  it('encodes the index name in the path and has no settings request for aoss', () => {
    // Act
    const requests = setupRequests('tx+2026', indexBody({ ...ES, service: 'aoss' }));

    // Assert
    expect(requests.create.path).toBe('/tx%2B2026');
    expect(requests.applySettings).toBeUndefined();
  });
});

describe('setupIndex', () => {
  const body = indexBody(ES);

  it('creates a missing index', async () => {
    // Arrange
    const { client, calls } = fakeClient({
      'HEAD /transactions': { statusCode: 404, body: '' },
      'PUT /transactions': { statusCode: 200, body: { acknowledged: true, index: 'transactions' } },
    });

    // Act
    const result = await setupIndex(client, 'transactions', body, 5000);

    // Assert
    expect(result).toEqual({ created: true, applied: [], differences: [], warnings: [] });
    expect(calls).toEqual([
      { method: 'HEAD', path: '/transactions', body: undefined, timeoutMs: 5000 },
      { method: 'PUT', path: '/transactions', body, timeoutMs: 5000 },
    ]);
  });

  it('checks an existing index that matches, and changes nothing', async () => {
    // Arrange
    const { client, calls } = fakeClient({
      'HEAD /transactions': { statusCode: 200, body: '' },
      'GET /transactions': { statusCode: 200, body: getResponse('transactions', body) },
    });

    // Act
    const result = await setupIndex(client, 'transactions', body, 5000);

    // Assert
    expect(result).toEqual({ created: false, applied: [], differences: [], warnings: [] });
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'HEAD /transactions',
      'GET /transactions',
    ]);
  });

  it('applies gc_deletes to an existing index and reports what it cannot change', async () => {
    // Arrange
    const existing = getResponse('transactions', body, (s) => {
      delete s.settings.index.gc_deletes;
      s.mappings.properties.amount = { type: 'long' };
    });
    const { client, calls } = fakeClient({
      'HEAD /transactions': { statusCode: 200, body: '' },
      'GET /transactions': { statusCode: 200, body: JSON.stringify(existing) },
      'PUT /transactions/_settings': { statusCode: 200, body: { acknowledged: true } },
    });

    // Act
    const result = await setupIndex(client, 'transactions', body, 5000);

    // Assert
    expect(result.applied).toEqual(['index.gc_deletes=25h']);
    expect(result.differences).toEqual([
      {
        path: 'mappings.properties.amount.type',
        expected: 'scaled_float',
        actual: 'long',
        fix: 'reindex',
      },
    ]);
    expect(calls[2]).toEqual({
      method: 'PUT',
      path: '/transactions/_settings',
      body: { index: { gc_deletes: '25h' } },
      timeoutMs: 5000,
    });
  });

  it('treats "already exists" after a lost race as an existing index', async () => {
    // Arrange
    const { client, calls } = fakeClient({
      'HEAD /transactions': { statusCode: 404, body: '' },
      'PUT /transactions': {
        statusCode: 400,
        body: {
          error: {
            type: 'resource_already_exists_exception',
            reason: 'index [transactions/x] already exists',
          },
        },
      },
      'GET /transactions': { statusCode: 200, body: getResponse('transactions', body) },
    });

    // Act
    const result = await setupIndex(client, 'transactions', body, 5000);

    // Assert
    expect(result).toEqual({ created: false, applied: [], differences: [], warnings: [] });
    expect(calls).toHaveLength(3);
  });

  it('never sends a settings request to OpenSearch Serverless', async () => {
    // Arrange
    const aoss = indexBody({ ...ES, service: 'aoss' });
    const { client, calls } = fakeClient({
      'HEAD /transactions': { statusCode: 200, body: '' },
      'GET /transactions': { statusCode: 200, body: getResponse('transactions', aoss) },
    });

    // Act
    const result = await setupIndex(client, 'transactions', aoss, 5000);

    // Assert
    expect(result.applied).toEqual([]);
    expect(calls).toHaveLength(2);
  });

  it('warns when gc_deletes does not outlive the stream retention', async () => {
    // Arrange
    const short = indexBody({ ...ES, gcDeletes: '24h' });
    const { client } = fakeClient({
      'HEAD /transactions': { statusCode: 404, body: '' },
      'PUT /transactions': { statusCode: 201, body: {} },
    });

    // Act
    const result = await setupIndex(client, 'transactions', short, 5000);

    // Assert
    expect(result.warnings).toEqual([
      expect.stringMatching(/gc_deletes=24h does not outlive the stream's 24 h/),
    ]);
  });

  it('warns about a gc_deletes it cannot read rather than assume it is long enough', async () => {
    // Arrange
    const odd = indexBody({ ...ES, gcDeletes: 'forever' });
    const { client } = fakeClient({
      'HEAD /transactions': { statusCode: 404, body: '' },
      'PUT /transactions': { statusCode: 200, body: {} },
    });

    // Act
    const result = await setupIndex(client, 'transactions', odd, 5000);

    // Assert
    expect(result.warnings).toEqual([expect.stringMatching(/gc_deletes=forever does not outlive/)]);
  });

  it.each([
    [
      'HEAD',
      { 'HEAD /transactions': { statusCode: 403, body: '' } },
      /HEAD \/transactions answered HTTP 403: no error detail/,
    ],
    [
      'PUT',
      {
        'HEAD /transactions': { statusCode: 404, body: '' },
        'PUT /transactions': {
          statusCode: 400,
          body: '{"error":{"type":"mapper_parsing_exception","reason":"bad"}}',
        },
      },
      /PUT \/transactions answered HTTP 400: mapper_parsing_exception/,
    ],
    [
      'PUT (not JSON)',
      {
        'HEAD /transactions': { statusCode: 404, body: '' },
        'PUT /transactions': { statusCode: 500, body: '<html>oops</html>' },
      },
      /PUT \/transactions answered HTTP 500: no error detail/,
    ],
    [
      'GET',
      {
        'HEAD /transactions': { statusCode: 200, body: '' },
        'GET /transactions': {
          statusCode: 403,
          body: { error: 'no permissions for [indices:admin/get]' },
        },
      },
      /GET \/transactions answered HTTP 403: no permissions for \[indices:admin\/get\]/,
    ],
    [
      'PUT _settings',
      {
        'HEAD /transactions': { statusCode: 200, body: '' },
        'GET /transactions': {
          statusCode: 200,
          body: getResponse('transactions', indexBody({ ...ES, gcDeletes: '60s' })),
        },
        'PUT /transactions/_settings': {
          statusCode: 400,
          body: { error: { type: 'illegal_argument_exception' } },
        },
      },
      /PUT \/transactions\/_settings answered HTTP 400: illegal_argument_exception/,
    ],
  ])('throws IndexSetupError when %s fails', async (_name, answers, message) => {
    // Arrange
    const { client } = fakeClient(answers as Record<string, SearchResponse>);

    // Act
    const act = setupIndex(client, 'transactions', body, 5000);

    // Assert
    await expect(act).rejects.toBeInstanceOf(IndexSetupError);
    await expect(
      setupIndex(
        fakeClient(answers as Record<string, SearchResponse>).client,
        'transactions',
        body,
        5000,
      ),
    ).rejects.toThrow(message);
  });

  it('lets network errors through unchanged', async () => {
    // Arrange
    const failure = new Error('connect ECONNREFUSED 127.0.0.1:9200');
    const client: Pick<SearchClient, 'request'> = { request: () => Promise.reject(failure) };

    // Act / Assert
    await expect(setupIndex(client, 'transactions', body, 5000)).rejects.toBe(failure);
  });
});

describe('index option bounds', () => {
  // A domain index has 1-1024 primary shards (OpenSearch `index.number_of_shards` limit); 15
  // replicas is this project's ceiling (the largest domains have 16 data nodes per zone set).
  it.each([
    ['INDEX_SHARDS', '1', { shards: 1 }],
    ['INDEX_SHARDS', '1024', { shards: 1024 }],
    ['INDEX_REPLICAS', '0', { replicas: 0 }],
    ['INDEX_REPLICAS', '15', { replicas: 15 }],
  ])('accepts %s=%s', (name, value, expected) => {
    expect(indexOptionsFromEnv({ [name]: value }, 'es')).toMatchObject(expected);
  });

  it.each([
    ['INDEX_SHARDS', '1e3'],
    ['INDEX_SHARDS', '0x10'],
    ['INDEX_SHARDS', '2a'],
    ['INDEX_SHARDS', 'a2'],
    ['INDEX_REPLICAS', '-1'],
  ])('refuses %s=%s, which is not a plain integer', (name, value) => {
    expect(() => indexOptionsFromEnv({ [name]: value }, 'es')).toThrow(
      `${name} must be an integer from`,
    );
  });
});

describe('setupIndex status and warning rules', () => {
  const body = indexBody(ES);

  it.each([
    ['24h', true],
    ['86400001ms', false],
    ['25h', false],
  ])('with gc_deletes=%s warns about the stream retention: %s', async (gcDeletes, warns) => {
    // Prepare
    const { client } = fakeClient({
      'HEAD /transactions': { statusCode: 404, body: '' },
      'PUT /transactions': { statusCode: 201, body: {} },
    });

    // Act
    const result = await setupIndex(client, 'transactions', indexBody({ ...ES, gcDeletes }), 1);

    // Assert
    expect(result.warnings).toHaveLength(warns ? 1 : 0);
  });

  it('has no retention warning for OpenSearch Serverless, which keeps no gc_deletes', async () => {
    const { client } = fakeClient({
      'HEAD /transactions': { statusCode: 404, body: '' },
      'PUT /transactions': { statusCode: 200, body: {} },
    });

    const result = await setupIndex(
      client,
      'transactions',
      indexBody({ ...ES, service: 'aoss' }),
      1,
    );

    expect(result).toEqual({ created: true, applied: [], differences: [], warnings: [] });
  });

  it.each([200, 299])('counts HTTP %i to the create request as created', async (statusCode) => {
    const { client, calls } = fakeClient({
      'HEAD /transactions': { statusCode: 404, body: '' },
      'PUT /transactions': { statusCode, body: {} },
    });

    const result = await setupIndex(client, 'transactions', body, 1);

    expect(result.created).toBe(true);
    expect(calls.map((c) => c.method)).toEqual(['HEAD', 'PUT']);
  });

  it.each([
    ['HTTP 300', 300, { error: { type: 'resource_already_exists_exception' } }],
    ['HTTP 199', 199, {}],
    [
      '"already exists" with a status other than 400',
      409,
      { error: { type: 'resource_already_exists_exception' } },
    ],
    ['another 400', 400, { error: { type: 'illegal_argument_exception' } }],
  ])('fails the create request on %s', async (_label, statusCode, answer) => {
    const { client } = fakeClient({
      'HEAD /transactions': { statusCode: 404, body: '' },
      'PUT /transactions': { statusCode, body: answer },
    });

    await expect(setupIndex(client, 'transactions', body, 1)).rejects.toThrow(
      `PUT /transactions answered HTTP ${statusCode}`,
    );
  });

  it.each([
    [200, 'resolves'],
    [299, 'resolves'],
    [199, 'rejects'],
    [300, 'rejects'],
  ])('on HTTP %i to the settings request %s', async (statusCode, outcome) => {
    // Prepare
    const { client } = fakeClient({
      'HEAD /transactions': { statusCode: 200, body: '' },
      'GET /transactions': {
        statusCode: 200,
        body: JSON.stringify(getResponse('transactions', indexBody({ ...ES, gcDeletes: '60s' }))),
      },
      'PUT /transactions/_settings': { statusCode, body: {} },
    });

    // Act
    const run = setupIndex(client, 'transactions', body, 1);

    // Assert
    if (outcome === 'resolves') {
      await expect(run).resolves.toMatchObject({
        applied: ['index.gc_deletes=25h'],
        differences: [],
      });
    } else {
      await expect(run).rejects.toThrow('PUT /transactions/_settings answered HTTP');
    }
  });

  it('fails when the index cannot be read back after a 201 to HEAD', async () => {
    const { client } = fakeClient({
      'HEAD /transactions': { statusCode: 201, body: '' },
    });

    await expect(setupIndex(client, 'transactions', body, 1)).rejects.toThrow(
      'HEAD /transactions answered HTTP 201',
    );
  });
});

describe('setupAliasedIndex', () => {
  const body = indexBody(ES);
  const alias = (indices: Record<string, Record<string, unknown>>) => ({
    statusCode: 200,
    body: Object.fromEntries(
      Object.entries(indices).map(([index, props]) => [
        index,
        { aliases: { transactions: props } },
      ]),
    ),
  });

  it('on a fresh cluster creates the first physical index carrying the alias as its write index', async () => {
    // Prepare
    const { client, calls } = fakeClient({
      'GET /_alias/transactions': { statusCode: 404, body: {} },
      'HEAD /transactions': { statusCode: 404, body: '' },
      'HEAD /transactions-000001': { statusCode: 404, body: '' },
      'PUT /transactions-000001': { statusCode: 200, body: {} },
    });

    // Act
    const result = await setupAliasedIndex(client, 'transactions', body, 1);

    // Assert
    expect(result).toEqual({
      created: true,
      applied: [],
      differences: [],
      warnings: [],
      layout: 'alias',
      physical: 'transactions-000001',
    });
    expect(calls.at(-1)?.body).toEqual({
      ...body,
      aliases: { transactions: { is_write_index: true } },
    });
  });

  it('checks a concrete index of that name and says how to move it behind an alias', async () => {
    // Prepare
    const { client } = fakeClient({
      'GET /_alias/transactions': { statusCode: 404, body: {} },
      'HEAD /transactions': [
        { statusCode: 200, body: '' },
        { statusCode: 200, body: '' },
      ],
      'GET /transactions': { statusCode: 200, body: getResponse('transactions', body) },
    });

    // Act
    const result = await setupAliasedIndex(client, 'transactions', body, 1);

    // Assert
    expect(result).toMatchObject({ created: false, layout: 'index', physical: 'transactions' });
    expect(result.warnings).toEqual([
      expect.stringMatching(
        /^transactions is a concrete index, not an alias: run `npm run reindex/,
      ),
    ]);
  });

  it('checks the write index of an alias over one index, without warnings', async () => {
    const { client, calls } = fakeClient({
      'GET /_alias/transactions': alias({ 'transactions-000003': {} }),
      'HEAD /transactions-000003': { statusCode: 200, body: '' },
      'GET /transactions-000003': {
        statusCode: 200,
        body: getResponse('transactions-000003', body),
      },
    });

    const result = await setupAliasedIndex(client, 'transactions', body, 1);

    expect(result).toEqual({
      created: false,
      applied: [],
      differences: [],
      warnings: [],
      layout: 'alias',
      physical: 'transactions-000003',
    });
    expect(calls.map((c) => `${c.method} ${c.path}`)).toContain('GET /transactions-000003');
  });

  it('checks the write index of an alias over several and warns about the unfinished reindex', async () => {
    const { client } = fakeClient({
      'GET /_alias/transactions': alias({
        'transactions-000001': {},
        'transactions-000002': { is_write_index: true },
      }),
      'HEAD /transactions-000002': { statusCode: 200, body: '' },
      'GET /transactions-000002': {
        statusCode: 200,
        body: getResponse('transactions-000002', body),
      },
    });

    const result = await setupAliasedIndex(client, 'transactions', body, 1);

    expect(result).toMatchObject({ layout: 'alias', physical: 'transactions-000002' });
    expect(result.warnings).toEqual([
      'alias transactions is over transactions-000001, transactions-000002 (a reindex in progress or interrupted); checked the write index transactions-000002',
    ]);
  });

  it('refuses an alias without a write index: the indexer could not write through it', async () => {
    const { client } = fakeClient({
      'GET /_alias/transactions': alias({ 'transactions-000001': {}, 'transactions-000002': {} }),
    });

    const run = setupAliasedIndex(client, 'transactions', body, 1);

    await expect(run).rejects.toBeInstanceOf(IndexSetupError);
    await expect(
      setupAliasedIndex(
        fakeClient({
          'GET /_alias/transactions': alias({
            'transactions-000001': {},
            'transactions-000002': {},
          }),
        }).client,
        'transactions',
        body,
        1,
      ),
    ).rejects.toThrow(
      'GET /_alias/transactions answered HTTP 200: alias transactions is over transactions-000001, transactions-000002 with no write index',
    );
  });
});

describe('index setup messages and comparison rules', () => {
  const body = indexBody(ES);

  it('names every bad index option in one message, in the order they are read', () => {
    // Act
    const act = () =>
      indexOptionsFromEnv(
        { INDEX_SHARDS: '0', INDEX_REPLICAS: '16', INDEX_GC_DELETES: '1 day' },
        'es',
      );

    // Assert
    expect(act).toThrow(
      new Error(
        'invalid index options: INDEX_SHARDS must be an integer from 1 to 1024 (got "0"); ' +
          'INDEX_REPLICAS must be an integer from 0 to 15 (got "16"); ' +
          'INDEX_GC_DELETES must be a time value such as 25h or 90000s (got "1 day")',
      ),
    );
  });

  it.each([
    ['null', null],
    ['text', 'long'],
    ['a list', [{ type: 'long' }]],
  ])('treats a field mapping that is %s, not an object, as missing', (_label, mapping) => {
    // Prepare
    const response = getResponse('transactions', body, (s) => {
      s.mappings.properties.userId = mapping as unknown as Record<string, unknown>;
    });

    // Act
    const differences = indexDifferences(body, response, 'transactions');

    // Assert
    expect(differences).toEqual([
      {
        path: 'mappings.properties.userId',
        expected: { type: 'long' },
        actual: undefined,
        fix: 'mapping',
      },
    ]);
  });

  it('reports the dynamic setting as absent when the index is answered without mappings', () => {
    // Prepare
    const strict: IndexBody = { mappings: { dynamic: false, properties: {} } };

    // Act
    const differences = indexDifferences(strict, { transactions: {} }, 'transactions');

    // Assert
    expect(differences).toEqual([
      { path: 'mappings.dynamic', expected: false, actual: undefined, fix: 'mapping' },
    ]);
  });

  it('compares only the mapping parameters the body sets', () => {
    // Prepare: the index carries a parameter the body leaves to the index.
    const response = getResponse('transactions', body, (s) => {
      s.mappings.properties.userId = { type: 'long', scaling_factor: 10 };
    });

    // Act
    const differences = indexDifferences(body, response, 'transactions');

    // Assert
    expect(differences).toEqual([]);
  });

  it('names the failed request and its status in an IndexSetupError', async () => {
    // Prepare
    const { client } = fakeClient({ 'HEAD /transactions': { statusCode: 403, body: '' } });

    // Act
    const error: unknown = await setupIndex(client, 'transactions', body, 1).catch(
      (e: unknown) => e,
    );

    // Assert
    expect(error).toBeInstanceOf(IndexSetupError);
    expect(error).toMatchObject({
      name: 'IndexSetupError',
      request: 'HEAD /transactions',
      statusCode: 403,
      message: 'HEAD /transactions answered HTTP 403: no error detail',
    });
  });

  it('tells the operator why a short gc_deletes is a risk', async () => {
    // Prepare
    const { client } = fakeClient({
      'HEAD /transactions': { statusCode: 404, body: '' },
      'PUT /transactions': { statusCode: 200, body: {} },
    });

    // Act
    const result = await setupIndex(
      client,
      'transactions',
      indexBody({ ...ES, gcDeletes: '1h' }),
      1,
    );

    // Assert
    expect(result.warnings).toEqual([
      "index.gc_deletes=1h does not outlive the stream's 24 h retention: a replayed older write " +
        'could resurrect a deleted document',
    ]);
  });

  it('sends no settings request when only other settings or mappings differ', async () => {
    // Prepare
    const existing = getResponse('transactions', body, (s) => {
      s.settings.index.number_of_replicas = '1';
      s.mappings.properties.amount = { type: 'float' };
    });
    const { client, calls } = fakeClient({
      'HEAD /transactions': { statusCode: 200, body: '' },
      'GET /transactions': { statusCode: 200, body: existing },
    });

    // Act
    const result = await setupIndex(client, 'transactions', body, 1);

    // Assert
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'HEAD /transactions',
      'GET /transactions',
    ]);
    expect(result.applied).toEqual([]);
    expect(result.differences.map((d) => d.path)).toEqual([
      'settings.index.number_of_replicas',
      'mappings.properties.amount.type',
    ]);
  });

  it('tells the operator how to move a concrete index behind the alias', async () => {
    // Prepare
    const { client } = fakeClient({
      'GET /_alias/transactions': { statusCode: 404, body: {} },
      'HEAD /transactions': [
        { statusCode: 200, body: '' },
        { statusCode: 200, body: '' },
      ],
      'GET /transactions': { statusCode: 200, body: getResponse('transactions', body) },
    });

    // Act
    const result = await setupAliasedIndex(client, 'transactions', body, 1);

    // Assert
    expect(result.warnings).toEqual([
      'transactions is a concrete index, not an alias: run `npm run reindex -- --table <table>` ' +
        'once to move it behind the alias transactions (no downtime; see README "Reindex")',
    ]);
  });
});

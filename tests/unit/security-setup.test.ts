import {
  ADMIN_ROLES,
  basicAuthRequester,
  DEFAULT_INDEXER_ROLE,
  indexerRoleDefinition,
  securityOptionsFromEnv,
  securityRequests,
  SecuritySetupError,
  setupSecurity,
  withBackendRole,
  type SecurityOptions,
} from '../../lib/security-setup';
import type { SearchClient, SearchResponse } from '../../lib/search-client';
import { json, startLoopback, type Loopback } from './loopback';

const INDEXER_ARN =
  'arn:aws:iam::123456789012:role/dynamodb-opensearch-indexer-prod-eu-central-1-lambdaRole';
const ADMIN_ARN = 'arn:aws:iam::123456789012:role/Admin';
const API = '/_plugins/_security/api';

function options(overrides: Partial<SecurityOptions> = {}): SecurityOptions {
  return {
    indexerRole: DEFAULT_INDEXER_ROLE,
    indexerRoleArn: INDEXER_ARN,
    indexPatterns: ['transactions', 'transactions-*'],
    adminRoleArn: ADMIN_ARN,
    ...overrides,
  };
}

interface Call {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
}

/** A SearchClient.request answering from a script keyed by "METHOD path" (default: 200 {}). */
function fakeClient(answers: Record<string, SearchResponse> = {}): {
  client: Pick<SearchClient, 'request'>;
  calls: Call[];
} {
  const calls: Call[] = [];
  return {
    calls,
    client: {
      request: async (method, path, body) => {
        calls.push({ method, path, body });
        return answers[`${method} ${path}`] ?? { statusCode: 200, body: {} };
      },
    },
  };
}

describe('indexerRoleDefinition', () => {
  it('allows writing and deleting documents in the given indices and nothing that reads or administers', () => {
    // Act
    const role = indexerRoleDefinition(['transactions', 'transactions-*']);

    // Assert
    expect(role.cluster_permissions).toEqual(['indices:data/write/bulk']);
    expect(role.index_permissions).toEqual([
      {
        index_patterns: ['transactions', 'transactions-*'],
        allowed_actions: [
          'indices:data/write/index',
          'indices:data/write/delete',
          'indices:data/write/bulk*',
          'indices:admin/mapping/put',
          'indices:admin/mapping/auto_put',
        ],
      },
    ]);
    const actions = role.index_permissions.flatMap((p) => p.allowed_actions);
    expect(actions.filter((a) => /read|indices:admin\/(create|delete)|^\*$/.test(a))).toEqual([]);
  });
});

describe('securityOptionsFromEnv', () => {
  it('defaults the role name and the index patterns (the index or alias and its concrete indices)', () => {
    // Act
    const parsed = securityOptionsFromEnv({ FGAC_INDEXER_ROLE_ARN: INDEXER_ARN }, 'transactions');

    // Assert
    expect(parsed).toEqual({
      indexerRole: 'indexer_writer',
      indexerRoleArn: INDEXER_ARN,
      indexPatterns: ['transactions', 'transactions-*'],
      adminRoleArn: undefined,
    });
  });

  it('reads every variable', () => {
    // Act
    const parsed = securityOptionsFromEnv(
      {
        FGAC_INDEXER_ROLE_ARN: ` ${INDEXER_ARN} `,
        FGAC_ADMIN_ROLE_ARN: ADMIN_ARN,
        FGAC_INDEXER_ROLE: 'ledger_writer',
        FGAC_INDEX_PATTERNS: 'ledger, ledger_v*',
      },
      'ledger',
    );

    // Assert
    expect(parsed).toEqual({
      indexerRole: 'ledger_writer',
      indexerRoleArn: INDEXER_ARN,
      indexPatterns: ['ledger', 'ledger_v*'],
      adminRoleArn: ADMIN_ARN,
    });
  });

  it('names every bad variable at once', () => {
    // Act
    const act = () =>
      securityOptionsFromEnv(
        {
          FGAC_ADMIN_ROLE_ARN: 'arn:aws:iam::123456789012:user/alice',
          FGAC_INDEXER_ROLE: 'has space',
          FGAC_INDEX_PATTERNS: 'transactions,*',
        },
        'transactions',
      );

    // Assert
    expect(act).toThrow(
      "invalid FGAC options: FGAC_INDEXER_ROLE_ARN is required (the stack's IndexerRoleArn output); " +
        'FGAC_ADMIN_ROLE_ARN must be an IAM role ARN (got "arn:aws:iam::123456789012:user/alice"); ' +
        'FGAC_INDEXER_ROLE must be 1-64 of A-Z a-z 0-9 _ . - (got "has space"); ' +
        'FGAC_INDEX_PATTERNS must name the index and its concrete indices, not * or system indices',
    );
  });

  it.each([[''], [' , '], ['.opendistro_security'], ['*']])(
    'refuses the index patterns %j',
    (patterns) => {
      // Act
      const act = () =>
        securityOptionsFromEnv(
          { FGAC_INDEXER_ROLE_ARN: INDEXER_ARN, FGAC_INDEX_PATTERNS: patterns },
          'transactions',
        );

      // Assert: an empty value falls back to the defaults; the rest are refused.
      if (patterns === '') expect(act().indexPatterns).toEqual(['transactions', 'transactions-*']);
      else expect(act).toThrow('FGAC_INDEX_PATTERNS');
    },
  );
});

describe('withBackendRole', () => {
  it('adds the role and keeps the users, hosts and other backend roles the mapping has', () => {
    // Act
    const next = withBackendRole(
      {
        reserved: false,
        backend_roles: ['arn:aws:iam::123456789012:role/Other'],
        hosts: [],
        users: ['dashboards-admin'],
        and_backend_roles: [],
      },
      ADMIN_ARN,
    );

    // Assert
    expect(next).toEqual({
      backend_roles: ['arn:aws:iam::123456789012:role/Other', ADMIN_ARN],
      hosts: [],
      users: ['dashboards-admin'],
      and_backend_roles: [],
    });
  });

  it.each([
    ['already maps it', { backend_roles: [ADMIN_ARN], users: ['dashboards-admin'] }, undefined],
    [
      'does not exist yet',
      undefined,
      { backend_roles: [ADMIN_ARN], hosts: [], users: [], and_backend_roles: [] },
    ],
  ])('answers for a mapping that %s', (_case, current, expected) => {
    // Act + Assert
    expect(withBackendRole(current, ADMIN_ARN)).toEqual(expected);
  });
});

describe('setupSecurity', () => {
  it('creates the role and its mapping, then extends all_access and security_manager with the admin role', async () => {
    // Arrange
    const { client, calls } = fakeClient({
      [`GET ${API}/rolesmapping/all_access`]: {
        statusCode: 200,
        body: { all_access: { backend_roles: [], hosts: [], users: ['dashboards-admin'] } },
      },
      [`GET ${API}/rolesmapping/security_manager`]: {
        statusCode: 200,
        body: JSON.stringify({
          security_manager: { backend_roles: [], users: ['dashboards-admin'] },
        }),
      },
    });

    // Act
    const result = await setupSecurity(client, options(), 5000);

    // Assert
    const { role, mapping } = securityRequests(options());
    expect(calls).toEqual([
      { method: 'PUT', path: `${API}/roles/indexer_writer`, body: role.body },
      {
        method: 'PUT',
        path: `${API}/rolesmapping/indexer_writer`,
        body: { description: 'the indexer Lambda execution role', backend_roles: [INDEXER_ARN] },
      },
      { method: 'GET', path: `${API}/rolesmapping/all_access`, body: undefined },
      {
        method: 'PUT',
        path: `${API}/rolesmapping/all_access`,
        body: {
          backend_roles: [ADMIN_ARN],
          hosts: [],
          users: ['dashboards-admin'],
          and_backend_roles: [],
        },
      },
      { method: 'GET', path: `${API}/rolesmapping/security_manager`, body: undefined },
      {
        method: 'PUT',
        path: `${API}/rolesmapping/security_manager`,
        body: {
          backend_roles: [ADMIN_ARN],
          hosts: [],
          users: ['dashboards-admin'],
          and_backend_roles: [],
        },
      },
    ]);
    expect(mapping.body).toEqual(calls[1]!.body);
    expect(result.applied).toEqual([
      'role indexer_writer (transactions, transactions-*)',
      `mapping indexer_writer = ${INDEXER_ARN}`,
      `mapping all_access += ${ADMIN_ARN}`,
      `mapping security_manager += ${ADMIN_ARN}`,
    ]);
    expect(ADMIN_ROLES).toEqual(['all_access', 'security_manager']);
  });

  it('leaves admin mappings that already name the role alone and creates a missing one', async () => {
    // Arrange
    const { client, calls } = fakeClient({
      [`GET ${API}/rolesmapping/all_access`]: {
        statusCode: 200,
        body: { all_access: { backend_roles: [ADMIN_ARN] } },
      },
      [`GET ${API}/rolesmapping/security_manager`]: {
        statusCode: 404,
        body: { status: 'NOT_FOUND' },
      },
    });

    // Act
    const result = await setupSecurity(client, options(), 5000);

    // Assert
    expect(calls.filter((c) => c.method === 'PUT').map((c) => c.path)).toEqual([
      `${API}/roles/indexer_writer`,
      `${API}/rolesmapping/indexer_writer`,
      `${API}/rolesmapping/security_manager`,
    ]);
    expect(result.applied).toHaveLength(3);
  });

  it('maps only the indexer when no admin role is given', async () => {
    // Arrange
    const { client, calls } = fakeClient();

    // Act
    await setupSecurity(client, options({ adminRoleArn: undefined }), 5000);

    // Assert
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      `PUT ${API}/roles/indexer_writer`,
      `PUT ${API}/rolesmapping/indexer_writer`,
    ]);
  });

  it.each([
    [403, { error: { type: 'security_exception' } }, 'security_exception'],
    [400, { status: 'BAD_REQUEST', message: 'Resource is read-only.' }, 'Resource is read-only.'],
    [500, 'gateway trouble', 'gateway trouble'],
    [401, '{"error":"Unauthorized"}', 'Unauthorized'],
    [502, {}, 'no error detail'],
  ])(
    'throws SecuritySetupError with the reason when OpenSearch answers %i',
    async (status, body, reason) => {
      // Arrange
      const { client } = fakeClient({
        [`PUT ${API}/roles/indexer_writer`]: { statusCode: status, body },
      });

      // Act
      const act = setupSecurity(client, options(), 5000);

      // Assert
      await expect(act).rejects.toThrow(SecuritySetupError);
      await expect(act).rejects.toThrow(
        `PUT ${API}/roles/indexer_writer answered HTTP ${status}: ${reason}`,
      );
    },
  );
});

describe('basicAuthRequester', () => {
  let server: Loopback;
  beforeEach(async () => {
    server = await startLoopback((_req, res) => json(res, 201, { status: 'CREATED' }));
  });
  afterEach(async () => {
    await server.close();
  });

  it('sends JSON with HTTP basic authentication and returns the parsed answer', async () => {
    // Arrange
    const requester = basicAuthRequester(new URL(server.origin), 'dashboards-admin', 'p4ss:w0rd!');

    // Act
    const response = await requester.request('PUT', `${API}/roles/x`, { a: 1 }, 5000);

    // Assert
    expect(response).toEqual({ statusCode: 201, body: { status: 'CREATED' } });
    const [received] = server.requests;
    expect(received!.method).toBe('PUT');
    expect(received!.url).toBe(`${API}/roles/x`);
    expect(received!.headers.authorization).toBe(
      `Basic ${Buffer.from('dashboards-admin:p4ss:w0rd!').toString('base64')}`,
    );
    expect(received!.headers['content-type']).toBe('application/json');
    expect(received!.headers.accept).toBe('application/json');
    expect(JSON.parse(received!.body.toString('utf8'))).toEqual({ a: 1 });
  });

  it('returns a body that is not JSON as text, and sends no body on GET', async () => {
    // Arrange
    server.respond((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('Bad Gateway');
    });
    const requester = basicAuthRequester(new URL(server.origin), 'u', 'p');

    // Act
    const response = await requester.request('GET', '/', undefined, 5000);

    // Assert
    expect(response).toEqual({ statusCode: 502, body: 'Bad Gateway' });
    expect(server.requests[0]!.headers).not.toHaveProperty('content-type');
    expect(server.requests[0]!.body.length).toBe(0);
  });

  it('answers an empty body as undefined', async () => {
    // Arrange
    server.respond((_req, res) => {
      res.writeHead(200);
      res.end();
    });

    // Act
    const response = await basicAuthRequester(new URL(server.origin), 'u', 'p').request(
      'GET',
      '/',
      undefined,
      5000,
    );

    // Assert
    expect(response).toEqual({ statusCode: 200, body: undefined });
  });

  it('refuses to send a password over plain http to anything but loopback', () => {
    // Act
    const act = () =>
      basicAuthRequester(new URL('http://search-x.eu-central-1.es.amazonaws.com'), 'u', 'p');

    // Assert
    expect(act).toThrow('basic authentication needs an https endpoint');
  });
});

describe('FGAC option rules', () => {
  const read = (env: Record<string, string>) =>
    securityOptionsFromEnv({ FGAC_INDEXER_ROLE_ARN: INDEXER_ARN, ...env }, 'transactions');

  // IAM role ARNs: arn:<partition>:iam::<12-digit account>:role/<path/name of [\w+=,.@-]>
  // (IAM user guide, "IAM identifiers", ARNs and names).
  it.each([
    ['arn:aws:iam::123456789012:role/Admin'],
    ['arn:aws-cn:iam::123456789012:role/Admin'],
    ['arn:aws-us-gov:iam::123456789012:role/Admin'],
    ['arn:aws:iam::123456789012:role/ops/team+a=b,c.d@e-f_g'],
  ])('accepts the role ARN %s', (arn) => {
    expect(read({ FGAC_ADMIN_ROLE_ARN: arn }).adminRoleArn).toBe(arn);
  });

  it.each([
    ['a user, not a role', 'arn:aws:iam::123456789012:user/Admin'],
    ['an 11-digit account', 'arn:aws:iam::12345678901:role/Admin'],
    ['a 13-digit account', 'arn:aws:iam::1234567890123:role/Admin'],
    ['a letter in the account', 'arn:aws:iam::12345678901x:role/Admin'],
    ['no role name', 'arn:aws:iam::123456789012:role/'],
    ['a space in the name', 'arn:aws:iam::123456789012:role/Ad min'],
    ['another service', 'arn:aws:sts::123456789012:role/Admin'],
    ['text before the ARN', 'x arn:aws:iam::123456789012:role/Admin'],
    ['text after the ARN', 'arn:aws:iam::123456789012:role/Admin x'],
    ['an upper-case partition', 'arn:AWS:iam::123456789012:role/Admin'],
  ])('refuses %s as a role ARN', (_label, arn) => {
    expect(() => read({ FGAC_ADMIN_ROLE_ARN: arn })).toThrow(
      `FGAC_ADMIN_ROLE_ARN must be an IAM role ARN (got "${arn}")`,
    );
  });

  // Security plugin role names: kept to a safe 1-64 of [A-Za-z0-9_.-] for the REST path.
  it.each([['a'], ['x'.repeat(64)], ['Ab9_.-']])('accepts the role name %j', (name) => {
    expect(read({ FGAC_INDEXER_ROLE: name }).indexerRole).toBe(name);
  });

  it.each([['x'.repeat(65)], ['a/b'], ['a b'], ['é']])('refuses the role name %j', (name) => {
    expect(() => read({ FGAC_INDEXER_ROLE: name })).toThrow('FGAC_INDEXER_ROLE must be 1-64');
  });

  it.each([['.kibana'], ['transactions,.security'], ['*']])(
    'refuses the system or catch-all pattern in %j',
    (patterns) => {
      expect(() => read({ FGAC_INDEX_PATTERNS: patterns })).toThrow('FGAC_INDEX_PATTERNS');
    },
  );

  it('accepts patterns that only contain a dot or a star after their start', () => {
    expect(read({ FGAC_INDEX_PATTERNS: 'tx.v1,tx-*' }).indexPatterns).toEqual(['tx.v1', 'tx-*']);
  });
});

describe('setupSecurity status rules', () => {
  // The security REST API answers success with 200 or 201 (OpenSearch security plugin REST API).
  it.each([200, 201, 299])('treats HTTP %i as success', async (statusCode) => {
    const { client } = fakeClient({
      [`PUT ${API}/roles/indexer_writer`]: { statusCode, body: {} },
    });

    await expect(
      setupSecurity(client, options({ adminRoleArn: undefined }), 5000),
    ).resolves.toEqual({
      applied: expect.any(Array),
    });
  });

  it.each([199, 300])('treats HTTP %i as failure', async (statusCode) => {
    const { client } = fakeClient({
      [`PUT ${API}/roles/indexer_writer`]: { statusCode, body: {} },
    });

    await expect(setupSecurity(client, options(), 5000)).rejects.toThrow(SecuritySetupError);
  });

  it.each([
    ['a long text body, cut to 200 characters', 'e'.repeat(300), 'e'.repeat(200)],
    ['an empty text body', '', 'no error detail'],
    ['a JSON null', 'null', 'no error detail'],
  ])('reports %s', async (_label, body, reason) => {
    const { client } = fakeClient({
      [`PUT ${API}/roles/indexer_writer`]: { statusCode: 500, body },
    });

    await expect(setupSecurity(client, options(), 5000)).rejects.toThrow(
      new SecuritySetupError(`PUT ${API}/roles/indexer_writer`, 500, reason),
    );
  });

  it('refuses an admin mapping read that answers neither 200 nor 404', async () => {
    const { client } = fakeClient({
      [`GET ${API}/rolesmapping/all_access`]: { statusCode: 403, body: { message: 'no' } },
    });

    await expect(setupSecurity(client, options(), 5000)).rejects.toThrow(
      `GET ${API}/rolesmapping/all_access answered HTTP 403: no`,
    );
  });
});

describe('basicAuthRequester endpoints', () => {
  it.each([['http://localhost:9200'], ['http://127.0.0.1:9200'], ['http://[::1]:9200']])(
    'allows plain http to the loopback host of %s',
    (origin) => {
      expect(() => basicAuthRequester(new URL(origin), 'u', 'p')).not.toThrow();
    },
  );

  it('allows https anywhere', () => {
    expect(() =>
      basicAuthRequester(new URL('https://search-x.eu-central-1.es.amazonaws.com'), 'u', 'p'),
    ).not.toThrow();
  });
});

describe('security setup messages and mapping rules', () => {
  it('describes the indexer role for whoever lists the roles', () => {
    // Act
    const role = indexerRoleDefinition(['transactions']);

    // Assert
    expect(role.description).toBe('dynamodb-opensearch-indexer: write and delete documents only');
  });

  it('keeps only the text entries of a mapping it extends', () => {
    // Act: the security API takes lists of strings only.
    const next = withBackendRole(
      {
        backend_roles: ['arn:aws:iam::123456789012:role/Other', 7, null],
        users: [{ a: 1 }, 'bob'],
      },
      ADMIN_ARN,
    );

    // Assert
    expect(next).toEqual({
      backend_roles: ['arn:aws:iam::123456789012:role/Other', ADMIN_ARN],
      hosts: [],
      users: ['bob'],
      and_backend_roles: [],
    });
  });

  it('starts a missing admin mapping from nothing, whatever the 404 answer carries', async () => {
    // Prepare
    const { client, calls } = fakeClient({
      [`GET ${API}/rolesmapping/all_access`]: {
        statusCode: 404,
        body: { all_access: { backend_roles: [ADMIN_ARN], users: ['stale'] } },
      },
      [`GET ${API}/rolesmapping/security_manager`]: {
        statusCode: 200,
        body: { security_manager: { backend_roles: [ADMIN_ARN] } },
      },
    });

    // Act
    const result = await setupSecurity(client, options(), 1);

    // Assert
    expect(calls.find((c) => c.method === 'PUT' && c.path.endsWith('/all_access'))?.body).toEqual({
      backend_roles: [ADMIN_ARN],
      hosts: [],
      users: [],
      and_backend_roles: [],
    });
    expect(result.applied).toEqual([
      'role indexer_writer (transactions, transactions-*)',
      `mapping indexer_writer = ${INDEXER_ARN}`,
      `mapping all_access += ${ADMIN_ARN}`,
    ]);
  });

  it('treats an empty 200 answer to an admin mapping read as no mapping yet', async () => {
    // Prepare: basicAuthRequester answers an empty body as undefined.
    const { client } = fakeClient({
      [`GET ${API}/rolesmapping/all_access`]: { statusCode: 200, body: undefined },
      [`GET ${API}/rolesmapping/security_manager`]: { statusCode: 200, body: undefined },
    });

    // Act
    const result = await setupSecurity(client, options(), 1);

    // Assert
    expect(result.applied.slice(2)).toEqual([
      `mapping all_access += ${ADMIN_ARN}`,
      `mapping security_manager += ${ADMIN_ARN}`,
    ]);
  });

  it('names the failed request and its status in a SecuritySetupError', async () => {
    // Prepare
    const { client } = fakeClient({
      [`PUT ${API}/roles/indexer_writer`]: { statusCode: 403, body: { message: 'no permissions' } },
    });

    // Act
    const error: unknown = await setupSecurity(client, options(), 1).catch((e: unknown) => e);

    // Assert
    expect(error).toBeInstanceOf(SecuritySetupError);
    expect(error).toMatchObject({
      name: 'SecuritySetupError',
      request: `PUT ${API}/roles/indexer_writer`,
      statusCode: 403,
      message: `PUT ${API}/roles/indexer_writer answered HTTP 403: no permissions`,
    });
  });
});

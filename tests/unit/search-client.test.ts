import { setTimeout as delay } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { BulkRequestError } from '../../lib/errors';
import { isErrorFreeBulkResponse, parseBulkItems } from '../../lib/bulk';
import type { AwsCredentials } from '../../lib/credentials';
import { createSearchClient } from '../../lib/search-client';
import { parseBulkBody } from './factories';
import { loopbackClients } from './search-clients';
import {
  closedPort,
  CREDENTIALS,
  json,
  parseAuthorization,
  recomputeSignature,
  sha256Hex,
  startLoopback,
  type Loopback,
  type ReceivedRequest,
} from './loopback';

const NDJSON =
  '{"index":{"_id":"3|51","version":3650722201600000001,"version_type":"external"}}\n{"amount":9007199254740993,"note":"Grüße"}\n' +
  '{"delete":{"_id":"3|52","version":3650722201600000002,"version_type":"external"}}\n';

/** Answers a bulk request with one item per action, each with `status`. */
function bulkAnswer(status = 201) {
  return (req: ReceivedRequest, res: Parameters<Parameters<Loopback['respond']>[0]>[1]): void => {
    const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(req.body) : req.body;
    const actions = parseBulkBody(body.toString('utf8'));
    json(res, 200, {
      took: 1,
      errors: false,
      items: actions.map((a) => ({
        [a.action]: { _id: a.id, status: a.action === 'delete' ? 200 : status },
      })),
    });
  };
}

describe('createSearchClient against a loopback server', () => {
  let server: Loopback;
  const { clients, client } = loopbackClients(() => server.origin);

  beforeEach(async () => {
    server = await startLoopback(bulkAnswer());
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server.close();
  });

  it('POSTs the exact NDJSON body to /<index>/_bulk as application/x-ndjson', async () => {
    // Act
    const items = await client().bulk(NDJSON, 2, 5_000);

    // Assert
    expect(server.requests).toHaveLength(1);
    const [request] = server.requests as [ReceivedRequest];
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/transactions/_bulk');
    expect(request.headers['content-type']).toBe('application/x-ndjson');
    expect(request.body.toString('utf8')).toBe(NDJSON);
    expect(request.headers.authorization).toBeUndefined();
    expect(items).toEqual([
      { status: 201, errorType: undefined, reason: undefined },
      { status: 200, errorType: undefined, reason: undefined },
    ]);
  });

  it.each([
    { service: 'es' as const, region: 'eu-west-1', sessionToken: true },
    { service: 'aoss' as const, region: 'us-east-2', sessionToken: true },
    { service: 'es' as const, region: 'ap-south-1', sessionToken: false },
  ])(
    'signs with SigV4 for $service in $region (session token: $sessionToken)',
    async ({ service, region, sessionToken }) => {
      // Prepare
      const credentials: AwsCredentials = sessionToken
        ? CREDENTIALS
        : { accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: CREDENTIALS.secretAccessKey };
      const search = client({
        auth: 'sigv4',
        service,
        region,
        getCredentials: async () => credentials,
      });

      // Act
      await search.bulk(NDJSON, 2, 5_000);

      // Assert
      const [request] = server.requests as [ReceivedRequest];
      const auth = parseAuthorization(request.headers.authorization);
      const amzDate = String(request.headers['x-amz-date']);
      expect(amzDate).toMatch(/^\d{8}T\d{6}Z$/);
      expect(`${auth.date}/${auth.region}/${auth.service}/${auth.terminator}`).toBe(
        `${amzDate.slice(0, 8)}/${region}/${service}/aws4_request`,
      );
      expect(auth.accessKeyId).toBe(CREDENTIALS.accessKeyId);
      expect(auth.signedHeaders).toEqual(
        expect.arrayContaining(['host', 'x-amz-date', 'x-amz-content-sha256']),
      );
      expect(request.headers['x-amz-content-sha256']).toBe(sha256Hex(request.body));
      // The signed Host carries the port, as HTTP sends it to a non-default port.
      expect(request.headers.host).toBe(new URL(server.origin).host);
      if (sessionToken)
        expect(request.headers['x-amz-security-token']).toBe(CREDENTIALS.sessionToken);
      else expect(request.headers['x-amz-security-token']).toBeUndefined();
      const { actual, expected } = await recomputeSignature(request, credentials);
      expect(actual).toBe(expected);
    },
  );

  it('sends a gzip body when compression is on, signing the compressed bytes', async () => {
    // Prepare
    const search = client({ auth: 'sigv4', compression: true });

    // Act
    const items = await search.bulk(NDJSON, 2, 5_000);

    // Assert
    const [request] = server.requests as [ReceivedRequest];
    expect(request.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(request.body).toString('utf8')).toBe(NDJSON);
    expect(request.headers['x-amz-content-sha256']).toBe(sha256Hex(request.body));
    expect(request.headers['x-amz-content-sha256']).not.toBe(sha256Hex(NDJSON));
    const { actual, expected } = await recomputeSignature(request, CREDENTIALS);
    expect(actual).toBe(expected);
    expect(items).toHaveLength(2);
  });

  it('asks the credential provider again once credentials expire', async () => {
    // Prepare: credentials that are already inside the expiry buffer.
    const getCredentials = jest.fn(async (): Promise<AwsCredentials> => ({
      ...CREDENTIALS,
      expiration: new Date(Date.now() + 1_000),
    }));
    const search = client({ auth: 'sigv4', getCredentials });

    // Act
    await search.bulk(NDJSON, 2, 5_000);
    await search.bulk(NDJSON, 2, 5_000);

    // Assert
    expect(getCredentials).toHaveBeenCalledTimes(2);
  });

  it.each([
    {
      status: 503,
      body: { error: { type: 'unavailable_shards_exception', reason: 'x' } },
      detail: 'unavailable_shards_exception',
    },
    {
      status: 413,
      body: 'Request size exceeded 10485760 bytes',
      detail: 'Request size exceeded 10485760 bytes',
    },
    { status: 403, body: { message: 'User is not authorized' }, detail: 'User is not authorized' },
    { status: 401, body: { error: 'unauthorized' }, detail: 'unauthorized' },
    { status: 500, body: {}, detail: 'no error detail' },
    { status: 429, body: null, detail: 'no error detail' },
  ])(
    'rejects a whole-request HTTP $status with BulkRequestError carrying the status',
    async ({ status, body, detail }) => {
      // Prepare
      server.respond((_req, res) => {
        if (typeof body === 'string') {
          res.writeHead(status, { 'content-type': 'text/plain' });
          res.end(body);
        } else json(res, status, body);
      });

      // Act
      const error = await client()
        .bulk(NDJSON, 2, 5_000)
        .catch((e: unknown) => e);

      // Assert
      expect(error).toBeInstanceOf(BulkRequestError);
      expect(error).toMatchObject({ status });
      expect((error as Error).message).toContain(detail);
    },
  );

  it('rejects with status undefined when the connection drops', async () => {
    // Prepare
    server.respond((_req, res) => {
      res.socket?.destroy();
    });

    // Act
    const error = await client()
      .bulk(NDJSON, 2, 5_000)
      .catch((e: unknown) => e);

    // Assert
    expect(error).toBeInstanceOf(BulkRequestError);
    expect((error as BulkRequestError).status).toBeUndefined();
  });

  it('rejects with status undefined when the request times out', async () => {
    // Prepare: the server never answers.
    server.respond(() => undefined);

    // Act
    const error = await client()
      .bulk(NDJSON, 2, 300)
      .catch((e: unknown) => e);

    // Assert
    expect(error).toBeInstanceOf(BulkRequestError);
    expect((error as BulkRequestError).status).toBeUndefined();
  });

  it('bounds the whole exchange by the timeout, not only idle time (a trickling server)', async () => {
    // Prepare: headers at once, then a byte every 50 ms, never finishing.
    const timers: NodeJS.Timeout[] = [];
    server.respond((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{');
      timers.push(setInterval(() => res.write(' '), 50));
    });

    // Act
    const error = await client()
      .bulk(NDJSON, 2, 400)
      .catch((e: unknown) => e);

    // Assert
    timers.forEach(clearInterval);
    expect(error).toBeInstanceOf(BulkRequestError);
    expect((error as BulkRequestError).status).toBeUndefined();
  });

  it('aborts the request when the timeout passes, so the connection closes (a trickling server)', async () => {
    // Prepare: a server that would keep the response open for ever, and notes when the client
    // goes away.
    const timers: NodeJS.Timeout[] = [];
    let connectionClosed = false;
    server.respond((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{');
      timers.push(setInterval(() => res.write(' '), 50));
      res.on('close', () => (connectionClosed = true));
    });

    // Act
    await client()
      .bulk(NDJSON, 2, 400)
      .catch(() => undefined);
    // The socket close reaches the server a moment after the client gives up.
    for (let i = 0; i < 20 && !connectionClosed; i++) await delay(25);

    // Assert
    timers.forEach(clearInterval);
    expect(connectionClosed).toBe(true);
  });

  it('closes its kept-alive connection on close(), so a command can exit at once', async () => {
    // Prepare: one request leaves a kept-alive socket open; the server notes when it closes.
    let socketClosed = false;
    server.respond((req, res) => {
      res.socket?.once('close', () => (socketClosed = true));
      bulkAnswer()(req, res);
    });
    const searchClient = client();
    await searchClient.bulk(NDJSON, 2, 5_000);

    // Act
    await searchClient.close();
    // The close reaches the server a moment later (its own keep-alive timeout is 5 s).
    for (let i = 0; i < 40 && !socketClosed; i++) await delay(25);

    // Assert
    expect(socketClosed).toBe(true);
  });

  it('resolves a second close() too (the pool calls back only while it has connections)', async () => {
    const searchClient = client();
    await searchClient.close();

    await expect(searchClient.close()).resolves.toBeUndefined();
  });

  it('rejects a 200 whose body is not JSON as a failed request', async () => {
    server.respond((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"items": [');
    });

    const error = await client()
      .bulk(NDJSON, 2, 5_000)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BulkRequestError);
  });

  describe('with jest fake timers', () => {
    beforeEach(() => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    });
    afterEach(() => {
      jest.useRealTimers();
    });

    // send() bounds the exchange with setTimeout(() => request.abort(), timeoutMs), but while the
    // SigV4 transport waits for getCredentials() its abort() only sets a flag: a provider that
    // never answers (an STS or SSO call without a timeout off Lambda) keeps bulk() pending past
    // its timeout, and processBatch past the Lambda deadline.
    it('rejects once the timeout passes even if the credential provider never answers', async () => {
      // Prepare
      const search = client({
        auth: 'sigv4',
        getCredentials: () => new Promise<AwsCredentials>(() => undefined),
      });
      let outcome: unknown = 'pending';
      search.bulk(NDJSON, 2, 300).then(
        () => (outcome = 'resolved'),
        (error: unknown) => (outcome = error),
      );

      // Act
      await jest.advanceTimersByTimeAsync(1_000);

      // Assert
      expect(outcome).toBeInstanceOf(BulkRequestError);
    });
  });

  it('rejects with status undefined when nothing listens', async () => {
    const search = createSearchClient({
      endpoint: new URL(`http://127.0.0.1:${await closedPort()}`),
      index: 'transactions',
      auth: 'none',
      service: 'es',
      region: 'eu-west-1',
      compression: false,
      getCredentials: async () => CREDENTIALS,
    });
    clients.push(search);

    const error = await search.bulk(NDJSON, 2, 5_000).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BulkRequestError);
    expect((error as BulkRequestError).status).toBeUndefined();
  });

  it.each([
    ['too few items', { items: [{ index: { status: 201 } }] }],
    [
      'too many items',
      {
        items: [
          { index: { status: 201 } },
          { delete: { status: 200 } },
          { delete: { status: 200 } },
        ],
      },
    ],
    ['no items', { took: 1, errors: false }],
  ])('rejects a 200 response with %s as a failed request', async (_label, body) => {
    server.respond((_req, res) => json(res, 200, body));

    const error = await client()
      .bulk(NDJSON, 2, 5_000)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BulkRequestError);
    expect((error as Error).message).toMatch(/for 2 operations/);
  });

  it('rejects with BulkRequestError when the credential provider fails', async () => {
    // Prepare
    const search = client({
      auth: 'sigv4',
      getCredentials: async () => {
        throw new Error('could not load credentials from any providers');
      },
    });

    // Act
    const error = await search.bulk(NDJSON, 2, 5_000).catch((e: unknown) => e);

    // Assert
    expect(error).toBeInstanceOf(BulkRequestError);
    expect((error as BulkRequestError).status).toBeUndefined();
    expect((error as Error).message).toContain('could not load credentials');
    expect(server.requests).toHaveLength(0);
  });

  it('request() resolves for a 404 and sends JSON bodies', async () => {
    // Prepare
    server.respond((req, res) =>
      json(res, req.method === 'HEAD' ? 404 : 200, { acknowledged: true }),
    );
    const search = client();

    // Act
    const head = await search.request('HEAD', '/transactions', undefined, 5_000);
    const put = await search.request(
      'PUT',
      '/transactions',
      { settings: { number_of_shards: 1 } },
      5_000,
    );

    // Assert
    expect(head.statusCode).toBe(404);
    expect(put).toEqual({ statusCode: 200, body: { acknowledged: true } });
    expect(server.requests[1]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(server.requests[1]?.body.toString('utf8') ?? '')).toEqual({
      settings: { number_of_shards: 1 },
    });
  });
});

describe('parseBulkItems', () => {
  it.each([
    [
      'index',
      { index: { _id: 'a', status: 201, result: 'created' } },
      { status: 201, errorType: undefined, reason: undefined },
    ],
    [
      'delete',
      { delete: { _id: 'a', status: 404, result: 'not_found' } },
      { status: 404, errorType: undefined, reason: undefined },
    ],
    [
      'create',
      {
        create: {
          _id: 'a',
          status: 409,
          error: { type: 'version_conflict_engine_exception', reason: 'newer' },
        },
      },
      { status: 409, errorType: 'version_conflict_engine_exception', reason: 'newer' },
    ],
    [
      'update',
      {
        update: {
          _id: 'a',
          status: 400,
          error: { type: 'mapper_parsing_exception', reason: 'failed to parse' },
        },
      },
      { status: 400, errorType: 'mapper_parsing_exception', reason: 'failed to parse' },
    ],
    [
      'a string error',
      { index: { status: 500, error: 'boom' } },
      { status: 500, errorType: 'error', reason: 'boom' },
    ],
    [
      'an error without type or reason',
      { index: { status: 500, error: { caused_by: {} } } },
      { status: 500, errorType: undefined, reason: undefined },
    ],
    [
      'a missing status',
      { index: { _id: 'a' } },
      { status: 0, errorType: undefined, reason: undefined },
    ],
    [
      'a string status',
      { index: { status: '201' } },
      { status: 0, errorType: undefined, reason: undefined },
    ],
    ['a null entry', null, { status: 0, errorType: undefined, reason: undefined }],
    ['an empty entry', {}, { status: 0, errorType: undefined, reason: undefined }],
  ])('reads status, error type and reason from %s', (_label, entry, expected) => {
    expect(parseBulkItems({ items: [entry] }, 1)).toEqual([expected]);
  });

  it('matches items to operations by position', () => {
    const items = parseBulkItems(
      {
        items: [
          { delete: { status: 404 } },
          { index: { status: 429, error: { type: 'es_rejected_execution_exception' } } },
          { index: { status: 201 } },
        ],
      },
      3,
    );

    expect(items.map((i) => i.status)).toEqual([404, 429, 201]);
  });

  it('parses a response body given as text', () => {
    expect(parseBulkItems('{"items":[{"index":{"status":201}}]}', 1)).toEqual([
      { status: 201, errorType: undefined, reason: undefined },
    ]);
  });

  // OpenSearch's own layout: took, errors, items; each item's status last (BulkItemResponse).
  const errorFree = (...items: string[]): string =>
    `{"took":7,"errors":false,"items":[${items.join(',')}]}`;
  const created = (id: string): string =>
    `{"index":{"_index":"t","_id":${JSON.stringify(id)},"_version":5,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1,"status":201}}`;
  const missing = `{"delete":{"_index":"t","_id":"9","_version":1,"result":"not_found","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":1,"_primary_term":1,"status":404}}`;

  it.each([
    ['created items', errorFree(created('1|a'), created('2|b'))],
    ['a delete of a missing document', errorFree(created('1'), missing)],
    ['an id that spells a status', errorFree(created('x"status":500}'), created('"status":4'))],
    [
      'a status that is not the last field',
      '{"took":1,"errors":false,"items":[{"index":{"status":201,"_id":"1"}},{"index":{"status":200,"_id":"2"}}]}',
    ],
  ])(
    'reads an error-free response given as text exactly as its parsed form: %s',
    (_label, text) => {
      // Act
      const items = parseBulkItems(text, 2);

      // Assert
      expect(isErrorFreeBulkResponse(text)).toBe(true);
      expect(items).toEqual(parseBulkItems(JSON.parse(text), 2));
    },
  );

  it.each([
    ['fewer items than operations', errorFree(created('1')), 2],
    ['more items than operations', errorFree(created('1'), created('2'), created('3')), 2],
  ])('throws BulkRequestError for an error-free response with %s', (_label, text, operations) => {
    expect(() => parseBulkItems(text, operations)).toThrow(BulkRequestError);
  });

  it.each([
    ['a response with errors', '{"took":7,"errors":true,"items":[]}'],
    ['an error response', '{"error":{"type":"x"},"status":400}'],
    [
      'a response whose errors flag is not its second field',
      '{"errors":false,"took":7,"items":[]}',
    ],
  ])('leaves %s to the full parse', (_label, text) => {
    expect(isErrorFreeBulkResponse(text)).toBe(false);
  });

  it.each([
    ['invalid JSON text', '{"items":['],
    ['null', null],
    ['items that are not an array', { items: {} }],
    ['the wrong count', { items: [] }],
  ])('throws BulkRequestError for %s', (_label, body) => {
    expect(() => parseBulkItems(body, 1)).toThrow(BulkRequestError);
  });
});

/**
 * How the search client reports a failed request, and that a failure does not change how the next
 * request is sent (the pool of one connection, sniffing and resurrection).
 */
import { BulkRequestError } from '../../lib/errors';
import { json, startLoopback, type Loopback } from './loopback';
import { loopbackClients } from './search-clients';

const NDJSON = '{"index":{"_id":"1"}}\n{"amount":1}\n';
const ONE_CREATED = { took: 1, errors: false, items: [{ index: { _id: '1', status: 201 } }] };

describe('createSearchClient failures', () => {
  let server: Loopback;
  const { clients, client } = loopbackClients(() => server.origin);

  beforeEach(async () => {
    server = await startLoopback((_req, res) => json(res, 200, ONE_CREATED));
  });

  afterEach(async () => {
    jest.useRealTimers();
    jest.restoreAllMocks();
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server.close();
  });

  const long = (letter: string): string => letter.repeat(300);

  it.each([
    ['a text body', long('t'), 't'],
    ['a string error', { error: long('e') }, 'e'],
    ['a message', { message: long('m') }, 'm'],
  ])(
    'cuts the error detail of %s to its first 200 characters (logs carry a summary, not the body)',
    async (_label, body, letter) => {
      // Prepare
      server.respond((_req, res) => {
        if (typeof body === 'string') {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(body);
        } else json(res, 500, body);
      });

      // Act
      const error = await client()
        .bulk(NDJSON, 1, 5_000)
        .catch((e: unknown) => e);

      // Assert
      expect(error).toBeInstanceOf(BulkRequestError);
      expect((error as Error).message).toBe(
        `bulk request failed with HTTP 500: ${letter.repeat(200)}`,
      );
    },
  );

  it.each([
    [200, true],
    [299, true],
    [300, false],
  ])('treats a whole-request HTTP %i as answered: %s (any 2xx)', async (status, answered) => {
    // Prepare
    server.respond((_req, res) => json(res, status, ONE_CREATED));

    // Act
    const outcome = await client()
      .bulk(NDJSON, 1, 5_000)
      .catch((e: unknown) => e);

    // Assert
    if (answered)
      expect(outcome).toEqual([{ status: 201, errorType: undefined, reason: undefined }]);
    else expect(outcome).toMatchObject({ name: 'BulkRequestError', status });
  });

  it('names the timeout in the error when the exchange outlives it', async () => {
    // Prepare: a credential provider that never answers, so only the exchange's own bound ends it.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    const search = client({
      auth: 'sigv4',
      getCredentials: () => new Promise<never>(() => undefined),
    });
    let outcome: unknown = 'pending';
    search.bulk(NDJSON, 1, 300.7).then(
      () => (outcome = 'resolved'),
      (error: unknown) => (outcome = error),
    );

    // Act
    await jest.advanceTimersByTimeAsync(1_000);

    // Assert
    expect(outcome).toBeInstanceOf(BulkRequestError);
    expect((outcome as Error).message).toBe(
      'bulk request failed: Error: request timed out after 300 ms',
    );
  });

  it('keeps the I/O error as the cause when the connection drops', async () => {
    // Prepare
    server.respond((_req, res) => {
      res.socket?.destroy();
    });

    // Act
    const error = await client()
      .bulk(NDJSON, 1, 5_000)
      .catch((e: unknown) => e);

    // Assert
    expect(error).toBeInstanceOf(BulkRequestError);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it('sends the next request straight to the endpoint after a dropped connection, without a ping or a sniff', async () => {
    // Prepare: the first request's connection drops; the second one comes after the
    // opensearch-js pool's resurrection time (60 s) has passed.
    let answers = 0;
    server.respond((_req, res) => {
      answers += 1;
      if (answers === 1) res.socket?.destroy();
      else json(res, 200, ONE_CREATED);
    });
    const search = client();
    await search.bulk(NDJSON, 1, 5_000).catch(() => undefined);
    const later = Date.now() + 120_000;
    jest.spyOn(Date, 'now').mockReturnValue(later);

    // Act
    const items = await search.bulk(NDJSON, 1, 5_000);

    // Assert
    expect(items).toHaveLength(1);
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /transactions/_bulk',
      'POST /transactions/_bulk',
    ]);
  });
});

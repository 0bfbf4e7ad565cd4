import {
  AliasError,
  createIndex,
  deleteIndex,
  errorType,
  inspectName,
  nextPhysicalName,
  physicalName,
  updateAliases,
} from '../../lib/aliases';
import type { SearchResponse } from '../../lib/search-client';

interface Sent {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  readonly timeoutMs: number;
}

/** A client that records what it is sent and answers every request with `answer`. */
function recordingClient(answer: SearchResponse): {
  sent: Sent[];
  request: (
    method: string,
    path: string,
    body: unknown,
    timeoutMs: number,
  ) => Promise<SearchResponse>;
} {
  const sent: Sent[] = [];
  return {
    sent,
    request: async (method, path, body, timeoutMs) => {
      sent.push({ method, path, body, timeoutMs });
      return answer;
    },
  };
}

describe('errorType', () => {
  // OpenSearch answers errors as {"error": {"type": ...}} or, for some, {"error": "<text>"}
  // (OpenSearch REST API reference, "Common REST parameters" / error responses).
  it.each<[string, unknown, string]>([
    [
      'an error object',
      { error: { type: 'index_not_found_exception' } },
      'index_not_found_exception',
    ],
    ['an error string', { error: 'forbidden' }, 'forbidden'],
    ['JSON text', '{"error":{"type":"x_exception"}}', 'x_exception'],
    ['text that is not JSON', 'Bad Gateway', 'no error detail'],
    ['an error without a type', { error: { reason: 'r' } }, 'no error detail'],
    ['an error type that is not text', { error: { type: 5 } }, 'no error detail'],
    ['an array', [{ error: 'x' }], 'no error detail'],
    ['null', null, 'no error detail'],
    ['nothing', undefined, 'no error detail'],
  ])('reads %s', (_label, body, expected) => {
    expect(errorType(body)).toBe(expected);
  });
});

describe('createIndex, updateAliases and deleteIndex', () => {
  const calls = [
    [
      'createIndex',
      (client: ReturnType<typeof recordingClient>) =>
        createIndex(client, 'tx/1', { mappings: {} }, 700),
      { method: 'PUT', path: '/tx%2F1', body: { mappings: {} }, timeoutMs: 700 },
      'PUT /tx%2F1',
    ],
    [
      'updateAliases',
      (client: ReturnType<typeof recordingClient>) =>
        updateAliases(client, [{ remove_index: { index: 'a' } }], 700),
      {
        method: 'POST',
        path: '/_aliases',
        body: { actions: [{ remove_index: { index: 'a' } }] },
        timeoutMs: 700,
      },
      'POST /_aliases',
    ],
    [
      'deleteIndex',
      (client: ReturnType<typeof recordingClient>) => deleteIndex(client, 'tx/1', 700),
      { method: 'DELETE', path: '/tx%2F1', body: undefined, timeoutMs: 700 },
      'DELETE /tx%2F1',
    ],
  ] as const;

  it.each(calls)(
    '%s sends one request with the name encoded in the path',
    async (_n, call, sent) => {
      // Prepare
      const client = recordingClient({ statusCode: 200, body: {} });

      // Act
      await call(client);

      // Assert
      expect(client.sent).toEqual([sent]);
    },
  );

  // Any 2xx is success, anything else is the request's failure (HTTP semantics, RFC 9110 §15).
  it.each(
    calls.flatMap(([name, call]) =>
      [200, 201, 299].map((statusCode) => ({ name, call, statusCode })),
    ),
  )('$name accepts HTTP $statusCode', async ({ call, statusCode }) => {
    await expect(call(recordingClient({ statusCode, body: {} }))).resolves.toBeUndefined();
  });

  it.each(
    calls.flatMap(([name, call, , request]) =>
      [199, 300, 400, 404].map((statusCode) => ({ name, call, statusCode, request })),
    ),
  )(
    '$name throws AliasError on HTTP $statusCode, naming the request and the error type',
    async ({ call, statusCode, request }) => {
      // Prepare
      const client = recordingClient({ statusCode, body: { error: { type: 'some_exception' } } });

      // Act
      const error = await call(client).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );

      // Assert
      expect(error).toBeInstanceOf(AliasError);
      expect(error).toMatchObject({
        name: 'AliasError',
        request,
        statusCode,
        message: `${request} answered HTTP ${statusCode}: some_exception`,
      });
    },
  );
});

describe('inspectName', () => {
  it('asks for the alias and then the index under the encoded name', async () => {
    // Prepare
    const client = recordingClient({ statusCode: 404, body: {} });

    // Act
    const state = await inspectName(client, 'a/b', 900);

    // Assert
    expect(state).toEqual({ kind: 'missing' });
    expect(client.sent).toEqual([
      { method: 'GET', path: '/_alias/a%2Fb', body: undefined, timeoutMs: 900 },
      { method: 'HEAD', path: '/a%2Fb', body: undefined, timeoutMs: 900 },
    ]);
  });

  it.each<[string, unknown, unknown]>([
    [
      'lists the indices sorted, whatever order OpenSearch answers in',
      { b: { aliases: { t: {} } }, a: { aliases: { t: { is_write_index: true } } } },
      { kind: 'alias', indices: ['a', 'b'], writeIndex: 'a' },
    ],
    [
      'takes the flagged write index even when it is the only one',
      { a: { aliases: { t: { is_write_index: true } } } },
      { kind: 'alias', indices: ['a'], writeIndex: 'a' },
    ],
    [
      'ignores a write flag set for another alias',
      {
        a: { aliases: { other: { is_write_index: true }, t: {} } },
        b: { aliases: { t: {} } },
      },
      { kind: 'alias', indices: ['a', 'b'], writeIndex: undefined },
    ],
    [
      'does not take a flag that is not exactly true',
      { a: { aliases: { t: { is_write_index: 'true' } } }, b: { aliases: { t: {} } } },
      { kind: 'alias', indices: ['a', 'b'], writeIndex: undefined },
    ],
    [
      'takes the only index when its entry has no alias properties',
      { a: {} },
      { kind: 'alias', indices: ['a'], writeIndex: 'a' },
    ],
    [
      'reads an answer that is not an object as no indices',
      'not json',
      { kind: 'alias', indices: [], writeIndex: undefined },
    ],
    [
      'reads a list as no indices',
      [{ aliases: { t: {} } }],
      { kind: 'alias', indices: [], writeIndex: undefined },
    ],
    [
      'reads JSON text that is a string as no indices',
      '"ab"',
      { kind: 'alias', indices: [], writeIndex: undefined },
    ],
    [
      'reads JSON text that is a list as no indices',
      '[{"aliases":{"t":{}}}]',
      { kind: 'alias', indices: [], writeIndex: undefined },
    ],
  ])('%s', async (_label, body, expected) => {
    const client = recordingClient({ statusCode: 200, body });

    expect(await inspectName(client, 't', 1000)).toEqual(expected);
  });
});

describe('physical index names', () => {
  it.each<[string, string, string]>([
    ['the first generation after a bare name', 'transactions', 'transactions-000001'],
    ['the next generation', 'transactions-000009', 'transactions-000010'],
    ['a fresh start after another alias’s index', 'payments-000004', 'transactions-000001'],
    [
      'a fresh start when the number is not six digits',
      'transactions-00004',
      'transactions-000001',
    ],
    [
      'a fresh start when the name only ends like ours',
      'xtransactions-000004',
      'transactions-000001',
    ],
    [
      'a fresh start when the digits are not at the end',
      'transactions-000004-old',
      'transactions-000001',
    ],
    ['a fresh start after seven digits', 'transactions-1234567', 'transactions-000001'],
    ['a fresh start when six digits run on', 'transactions-000004x', 'transactions-000001'],
    [
      'a fresh start after an alias of the same length',
      'transactionz-000004',
      'transactions-000001',
    ],
    ['a fresh start when the dash is missing', 'transactions000004', 'transactions-000001'],
  ])('names %s', (_label, current, next) => {
    expect(nextPhysicalName('transactions', current)).toBe(next);
  });

  it.each<[number, string]>([
    [1, 't-000001'],
    [123456, 't-123456'],
    [1234567, 't-1234567'],
  ])('pads generation %d to six digits', (generation, name) => {
    expect(physicalName('t', generation)).toBe(name);
  });
});

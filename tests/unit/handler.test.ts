import http from 'node:http';
import https from 'node:https';
import { gunzipSync } from 'node:zlib';
import type { Context } from 'aws-lambda';
import { createHandler, createRuntime, type Runtime } from '../../handler';
import { ConfigError } from '../../lib/errors';
import { UnreportableFailureError } from '../../lib/process-batch';
import type { AwsCredentials } from '../../lib/credentials';
import {
  expectedVersion,
  CREATED_AT,
  parseBulkBody,
  sequenceNumber,
  streamEvent,
  streamRecord,
  transactionImage,
  transactionKeys,
  withoutStreamField,
} from './factories';
import {
  CREDENTIALS,
  json,
  parseAuthorization,
  recomputeSignature,
  startLoopback,
  toLoopbackOptions,
  type Loopback,
  type ReceivedRequest,
  type Responder,
} from './loopback';

const POISON = 'POISON-PILL';

interface StoredDocument {
  readonly version: bigint;
  readonly source: string;
}

/**
 * A small OpenSearch `_bulk` stand-in: external versions (409 for stale), delete 404, and a 400
 * mapper_parsing_exception for any document containing POISON.
 */
function openSearchStandIn(): { responder: Responder; documents: Map<string, StoredDocument> } {
  const documents = new Map<string, StoredDocument>();
  const responder: Responder = (req, res) => {
    if (req.method !== 'POST' || req.url !== '/transactions/_bulk')
      return json(res, 404, { error: 'no route' });
    const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(req.body) : req.body;
    const items = parseBulkBody(body.toString('utf8')).map((action) => {
      const stored = documents.get(action.id);
      const version = BigInt(action.version ?? '0');
      if (stored && action.version !== undefined && stored.version >= version) {
        return {
          [action.action]: {
            _id: action.id,
            status: 409,
            error: { type: 'version_conflict_engine_exception', reason: 'stale' },
          },
        };
      }
      if (action.action === 'delete') {
        if (!documents.delete(action.id))
          return { delete: { _id: action.id, status: 404, result: 'not_found' } };
        return { delete: { _id: action.id, status: 200, result: 'deleted' } };
      }
      if (action.source?.includes(POISON)) {
        return {
          index: {
            _id: action.id,
            status: 400,
            error: { type: 'mapper_parsing_exception', reason: 'failed to parse' },
          },
        };
      }
      documents.set(action.id, { version, source: action.source ?? '' });
      return { index: { _id: action.id, status: 201, result: 'created' } };
    });
    json(res, 200, { took: 1, errors: false, items });
  };
  return { responder, documents };
}

const credentials = async (): Promise<AwsCredentials> => CREDENTIALS;

/** A Lambda context whose deadline is `remainingMs` from now, on the real clock. */
function context(remainingMs = 30_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    awsRequestId: 'req-1',
    getRemainingTimeInMillis: () => deadline - Date.now(),
  } as unknown as Context;
}

describe('handler', () => {
  let search: Loopback;
  let s3: Loopback;
  let standIn: ReturnType<typeof openSearchStandIn>;
  const s3Objects = new Map<string, string>();
  let stderr: string[];

  beforeEach(async () => {
    standIn = openSearchStandIn();
    search = await startLoopback(standIn.responder);
    s3Objects.clear();
    s3 = await startLoopback((req, res) => {
      s3Objects.set(req.url, req.body.toString('utf8'));
      res.writeHead(200);
      res.end();
    });
    stderr = [];
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await search.close();
    await s3.close();
  });

  const env = (
    overrides: Record<string, string | undefined> = {},
  ): Record<string, string | undefined> => ({
    OPENSEARCH_ENDPOINT: search.origin,
    AWS_REGION: 'eu-west-1',
    KEY_ATTRIBUTES: 'userId,transactionId',
    DEAD_LETTER_BUCKET: 'dead-letters',
    AWS_ENDPOINT_URL_S3: s3.origin,
    ...overrides,
  });
  const logLines = (): Array<Record<string, unknown>> =>
    stderr
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('indexes a batch round trip through a loopback OpenSearch, signed with SigV4', async () => {
    // Prepare
    const runtime = createRuntime(env(), credentials);
    const handler = createHandler(() => runtime);
    const records = [
      streamRecord({
        keys: transactionKeys(3, 51),
        newImage: transactionImage(3, 51, { big: { N: '9007199254740993' } }),
        sequenceNumber: sequenceNumber(1),
      }),
      streamRecord({
        eventName: 'REMOVE',
        keys: transactionKeys(3, 60),
        sequenceNumber: sequenceNumber(2),
      }),
      streamRecord({
        keys: transactionKeys(3, 52),
        newImage: transactionImage(3, 52, { note: { S: POISON } }),
        sequenceNumber: sequenceNumber(3),
      }),
    ];

    // Act
    const response = await handler(streamEvent(records), context());

    // Assert
    expect(response).toEqual({ batchItemFailures: [] });
    expect([...standIn.documents.keys()]).toEqual(['3|51']);
    expect(standIn.documents.get('3|51')).toEqual({
      version: BigInt(expectedVersion(CREATED_AT, sequenceNumber(1))),
      source:
        '{"userId":3,"transactionId":51,"accountId":3,"amount":11,"shortDescription":"Final mega test 2","big":9007199254740993}',
    });
    const [request] = search.requests as [ReceivedRequest];
    expect(parseAuthorization(request.headers.authorization)).toMatchObject({
      region: 'eu-west-1',
      service: 'es',
    });
    const { actual, expected } = await recomputeSignature(request, CREDENTIALS);
    expect(actual).toBe(expected);
    const letters = [...s3Objects.entries()];
    expect(letters).toHaveLength(1);
    expect(letters[0]?.[0]).toBe(
      `/dead-letters/dead-letter/2023/11/14/22/${sequenceNumber(3)}-event-${sequenceNumber(3)}.json`,
    );
    expect(JSON.parse(letters[0]?.[1] ?? '')).toMatchObject({
      errorType: 'mapper_parsing_exception',
      documentId: '3|52',
      record: records[2],
    });
    expect(logLines().find((l) => l.msg === 'batch processed')).toMatchObject({
      requestId: 'req-1',
      records: 3,
      indexed: 1,
      notFound: 1,
      deadLettered: 1,
    });
  });

  it('logs where each dead letter was written', async () => {
    // Prepare
    const handler = createHandler(() => createRuntime(env(), credentials));
    const poison = streamRecord({ newImage: transactionImage(3, 51, { note: { S: POISON } }) });

    // Act
    await handler(streamEvent([poison]), context());

    // Assert
    const [path] = [...s3Objects.keys()];
    expect(logLines().find((l) => l.msg === 'record dead-lettered')?.location).toBe(
      `s3:/${String(path)}`,
    );
  });

  // The logged location is `${sink.location}${key after its first '/'}`, which repeats the
  // prefix's tail when the prefix has more than one segment, so the log names an object that
  // does not exist.
  it('logs where each dead letter was written under a nested DEAD_LETTER_PREFIX', async () => {
    // Prepare
    const handler = createHandler(() =>
      createRuntime(env({ DEAD_LETTER_PREFIX: 'indexer/dead-letter/' }), credentials),
    );
    const poison = streamRecord({ newImage: transactionImage(3, 51, { note: { S: POISON } }) });

    // Act
    await handler(streamEvent([poison]), context());

    // Assert
    const [path] = [...s3Objects.keys()];
    expect(path).toMatch(/^\/dead-letters\/indexer\/dead-letter\/2023\//);
    expect(logLines().find((l) => l.msg === 'record dead-lettered')?.location).toBe(
      `s3:/${String(path)}`,
    );
  });

  it('builds the runtime once and reuses it across invocations', async () => {
    const getRuntime = jest.fn(() => runtime);
    const runtime = createRuntime(env(), credentials);
    const handler = createHandler(getRuntime);

    await handler(streamEvent([streamRecord()]), context());
    await handler(
      streamEvent([streamRecord({ sequenceNumber: sequenceNumber(2), createdAt: CREATED_AT + 1 })]),
      context(),
    );

    expect(search.requests).toHaveLength(2);
    expect(stderr.join('').match(/indexer configured/g)).toHaveLength(1);
  });

  it('works with a context that has no getRemainingTimeInMillis', async () => {
    const handler = createHandler(() => createRuntime(env(), credentials));

    const response = await handler(streamEvent([streamRecord()]), {} as Context);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(standIn.documents.has('3|51')).toBe(true);
  });

  it.each([
    ['no Records', {}],
    ['Records that is not an array', { Records: 'nope' }],
  ])('answers an event with %s with an empty response', async (_label, event) => {
    const handler = createHandler(() => createRuntime(env(), credentials));

    const response = await handler(event as never, context());

    expect(response).toEqual({ batchItemFailures: [] });
    expect(search.requests).toHaveLength(0);
  });

  it('reports the earliest record that is not done when OpenSearch keeps failing', async () => {
    // Prepare: 1.6 s left with the default 1 s margin leaves time for a few quick attempts.
    search.respond((_req, res) => json(res, 503, { error: { type: 'unavailable' } }));
    const handler = createHandler(() => createRuntime(env(), credentials));
    const records = [1, 2].map((n) =>
      streamRecord({ keys: transactionKeys(1, n), sequenceNumber: sequenceNumber(n) }),
    );

    // Act
    const response = await handler(streamEvent(records), context(1_600));

    // Assert
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: sequenceNumber(1) }] });
    expect(search.requests.length).toBeGreaterThanOrEqual(1);
  });

  it('throws (whole-batch retry) instead of returning an empty identifier when no record can be reported', async () => {
    // Prepare: no dead-letter bucket, and the first record is malformed without a SequenceNumber.
    const handler = createHandler(() =>
      createRuntime(env({ DEAD_LETTER_BUCKET: undefined }), credentials),
    );
    const records = [
      withoutStreamField(streamRecord({ eventName: 'BOGUS' }), 'SequenceNumber'),
      streamRecord({ sequenceNumber: sequenceNumber(2) }),
    ];

    // Act
    const result = handler(streamEvent(records), context());

    // Assert
    await expect(result).rejects.toBeInstanceOf(UnreportableFailureError);
    expect(
      logLines().find(
        (l) => l.msg === 'batch failed unexpectedly; Lambda will retry the whole batch',
      ),
    ).toMatchObject({
      level: 'error',
      error: expect.stringContaining('UnreportableFailureError'),
    });
  });

  it('throws when an unexpected internal error escapes processing', async () => {
    // Prepare: the Lambda context itself fails (a bug in the harness or the runtime).
    const handler = createHandler(() => createRuntime(env(), credentials));
    const broken = {
      awsRequestId: 'req-2',
      getRemainingTimeInMillis: () => {
        throw new TypeError('context is broken');
      },
    } as unknown as Context;

    // Act / Assert
    await expect(handler(streamEvent([streamRecord()]), broken)).rejects.toThrow(TypeError);
  });

  it('never returns an empty identifier when the search client throws a TypeError', async () => {
    // Prepare: a client bug. The processor may treat it as a failed request (retry, then report
    // the earliest record) or throw; both make Lambda re-deliver. 1.6 s left keeps this short.
    const runtime = createRuntime(env(), credentials);
    const bulk = jest.fn(() => {
      throw new TypeError('client bug');
    });
    const handler = createHandler((): Runtime => ({
      ...runtime,
      search: { bulk, request: jest.fn(), close: jest.fn() },
    }));

    // Act
    const outcome = await handler(streamEvent([streamRecord()]), context(1_600)).then(
      (response) => ({ response }),
      (error: unknown) => ({ error }),
    );

    // Assert
    if ('response' in outcome) {
      expect(outcome.response).toEqual({
        batchItemFailures: [{ itemIdentifier: sequenceNumber(1) }],
      });
    } else {
      expect(outcome.error).toBeInstanceOf(Error);
    }
    expect(bulk).toHaveBeenCalled();
  });

  describe('createRuntime', () => {
    it('warns once, at creation, that DEAD_LETTER_BUCKET is not set', async () => {
      // Prepare
      const runtime = createRuntime(env({ DEAD_LETTER_BUCKET: undefined }), credentials);
      const handler = createHandler(() => runtime);

      // Act
      await handler(streamEvent([streamRecord()]), context());
      await handler(
        streamEvent([
          streamRecord({ sequenceNumber: sequenceNumber(2), createdAt: CREATED_AT + 1 }),
        ]),
        context(),
      );

      // Assert
      const warnings = logLines().filter((l) =>
        String(l.msg).startsWith('DEAD_LETTER_BUCKET is not set'),
      );
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.level).toBe('warn');
      expect(runtime.deadLetters).toBeUndefined();
    });

    it('does not warn when a dead-letter bucket is configured', () => {
      const runtime = createRuntime(env(), credentials);

      expect(stderr.join('')).not.toContain('DEAD_LETTER_BUCKET is not set');
      expect(runtime.deadLetters?.location).toBe('s3://dead-letters/dead-letter/');
    });

    it('throws ConfigError naming every bad variable', () => {
      // Act
      const act = (): Runtime =>
        createRuntime(
          { OPENSEARCH_ENDPOINT: 'http://example.com', BULK_CONCURRENCY: '0', LOG_LEVEL: 'loud' },
          credentials,
        );

      // Assert
      expect(act).toThrow(ConfigError);
      expect(act).toThrow(/OPENSEARCH_ENDPOINT.*BULK_CONCURRENCY.*LOG_LEVEL/);
    });

    it('builds no client in dry run and logs the bulk body instead of sending it', async () => {
      // Prepare
      const runtime = createRuntime(
        { INDEXER_DRY_RUN: 'true', KEY_ATTRIBUTES: 'userId,transactionId' },
        credentials,
      );
      const handler = createHandler(() => runtime);

      // Act
      const response = await handler(streamEvent([streamRecord()]), context());

      // Assert
      expect(runtime.search).toBeUndefined();
      expect(response).toEqual({ batchItemFailures: [] });
      expect(logLines().find((l) => l.msg === 'dry run: bulk request not sent')?.body).toContain(
        '"_id":"3|51"',
      );
      expect(stderr.join('')).toContain('INDEXER_DRY_RUN=true');
      expect(stderr.join('')).not.toContain('DEAD_LETTER_BUCKET is not set');
    });

    it('signs with the credentials in the given environment by default (no SDK chain needed)', async () => {
      // Prepare
      const keys = {
        accessKeyId: 'AKIDFROMENV',
        secretAccessKey: 'secret-from-env',
        sessionToken: 'token-from-env',
      };
      const runtime = createRuntime(
        env({
          AWS_ACCESS_KEY_ID: keys.accessKeyId,
          AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
          AWS_SESSION_TOKEN: keys.sessionToken,
        }),
      );

      // Act
      await createHandler(() => runtime)(streamEvent([streamRecord()]), context());

      // Assert
      const [request] = search.requests as [ReceivedRequest];
      expect(parseAuthorization(request.headers.authorization).accessKeyId).toBe('AKIDFROMENV');
      expect(request.headers['x-amz-security-token']).toBe('token-from-env');
      const { actual, expected } = await recomputeSignature(request, keys);
      expect(actual).toBe(expected);
    });

    it('sends unsigned requests with OPENSEARCH_AUTH=none', async () => {
      const handler = createHandler(() =>
        createRuntime(env({ OPENSEARCH_AUTH: 'none' }), credentials),
      );

      await handler(streamEvent([streamRecord()]), context());

      expect(search.requests[0]?.headers.authorization).toBeUndefined();
    });

    it('gzips bulk bodies with BULK_COMPRESSION=gzip', async () => {
      const handler = createHandler(() =>
        createRuntime(env({ BULK_COMPRESSION: 'gzip' }), credentials),
      );

      const response = await handler(streamEvent([streamRecord()]), context());

      expect(response).toEqual({ batchItemFailures: [] });
      expect(search.requests[0]?.headers['content-encoding']).toBe('gzip');
    });
  });

  describe('an AWS domain endpoint (https redirected to the loopback server)', () => {
    /** Sends https requests to the loopback server over http and records the options. */
    function redirectHttps(): void {
      jest.spyOn(https, 'request').mockImplementation(((
        options: https.RequestOptions,
        callback?: (res: http.IncomingMessage) => void,
      ) => {
        return http.request(toLoopbackOptions(options, search.port), callback);
      }) as unknown as typeof https.request);
    }

    it('signs with the region named in the endpoint host when AWS_REGION is not set', async () => {
      // Prepare
      redirectHttps();
      const runtime = createRuntime(
        {
          OPENSEARCH_ENDPOINT: 'https://search-tx-abc.eu-central-1.es.amazonaws.com',
          KEY_ATTRIBUTES: 'userId,transactionId',
          DEAD_LETTER_BUCKET: 'dead-letters',
          AWS_ENDPOINT_URL_S3: s3.origin,
        },
        credentials,
      );

      // Act
      await createHandler(() => runtime)(streamEvent([streamRecord()]), context());

      // Assert
      const [request] = search.requests as [ReceivedRequest];
      expect(request.headers.host).toBe('search-tx-abc.eu-central-1.es.amazonaws.com');
      expect(parseAuthorization(request.headers.authorization).region).toBe('eu-central-1');
      const { actual, expected } = await recomputeSignature(request, CREDENTIALS);
      expect(actual).toBe(expected);
    });
  });

  it('exports a handler that builds its runtime from process.env on first use', async () => {
    // Prepare
    const saved = process.env;
    process.env = {
      ...saved,
      OPENSEARCH_ENDPOINT: search.origin,
      OPENSEARCH_AUTH: 'none',
      AWS_REGION: 'eu-west-1',
      KEY_ATTRIBUTES: 'userId,transactionId',
    };
    delete process.env.DEAD_LETTER_BUCKET;
    try {
      let exported: typeof import('../../handler').handler | undefined;
      jest.isolateModules(() => {
        exported = (jest.requireActual('../../handler') as typeof import('../../handler')).handler;
      });

      // Act
      const first = await exported?.(streamEvent([streamRecord()]), context());
      const second = await exported?.(
        streamEvent([
          streamRecord({ sequenceNumber: sequenceNumber(2), createdAt: CREATED_AT + 1 }),
        ]),
        context(),
      );

      // Assert
      expect(first).toEqual({ batchItemFailures: [] });
      expect(second).toEqual({ batchItemFailures: [] });
      expect(stderr.join('').match(/indexer configured/g)).toHaveLength(1);
    } finally {
      process.env = saved;
    }
  });
});

import http from 'node:http';
import https from 'node:https';
import fc from 'fast-check';
import { createDeadline } from '../../lib/deadline';
import {
  createDeadLetterWriter,
  createS3DeadLetterSink,
  DEAD_LETTER_ATTEMPTS,
  DEAD_LETTER_TIMEOUT_MS,
  deadLetterKey,
  type S3DeadLetterOptions,
} from '../../lib/dead-letter';
import { DeadLetterWriteError } from '../../lib/errors';
import type { AwsCredentials } from '../../lib/credentials';
import { sequenceNumber, streamRecord, withoutStreamField, withStreamField } from './factories';
import {
  closedPort,
  CREDENTIALS,
  parseAuthorization,
  recomputeSignature,
  sha256Hex,
  startLoopback,
  type Loopback,
  toLoopbackOptions,
  type ReceivedRequest,
} from './loopback';

const FAILED_AT = new Date('2024-05-17T12:34:56.789Z');
const SAFE_KEY = /^[A-Za-z0-9._-]+$/;

describe('deadLetterKey', () => {
  it('is <prefix>YYYY/MM/DD/HH/<seq>-<eventID>.json from ApproximateCreationDateTime in UTC', () => {
    // Prepare: 1700000000 is 2023-11-14T22:13:20Z.
    const record = streamRecord({
      sequenceNumber: '111000000000000000000001',
      createdAt: 1_700_000_000,
      eventID: 'abc123',
    });

    // Act
    const key = deadLetterKey('dead-letter/', record, FAILED_AT);

    // Assert
    expect(key).toBe('dead-letter/2023/11/14/22/111000000000000000000001-abc123.json');
  });

  it('gives the same key on every retry of the same record', () => {
    const record = streamRecord({ sequenceNumber: sequenceNumber(5), eventID: 'e' });

    expect(deadLetterKey('p/', record, new Date('2030-01-01T00:00:00Z'))).toBe(
      deadLetterKey('p/', record, FAILED_AT),
    );
  });

  it.each([
    [
      'no ApproximateCreationDateTime',
      withoutStreamField(streamRecord({ eventID: 'e' }), 'ApproximateCreationDateTime'),
    ],
    [
      'a non-numeric ApproximateCreationDateTime',
      withStreamField(streamRecord({ eventID: 'e' }), 'ApproximateCreationDateTime', 'soon'),
    ],
    [
      'an ApproximateCreationDateTime beyond any date',
      streamRecord({ eventID: 'e', createdAt: 1e13 }),
    ],
  ])('falls back to the failure time for %s', (_label, record) => {
    expect(deadLetterKey('dl/', record, FAILED_AT)).toMatch(/^dl\/2024\/05\/17\/12\/\d+-e\.json$/);
  });

  it('uses no-sequence-<hash> for records without a SequenceNumber, stable per record', () => {
    // Prepare
    const a = withoutStreamField(streamRecord({ eventID: 'a' }), 'SequenceNumber');
    const b = withoutStreamField(streamRecord({ eventID: 'b' }), 'SequenceNumber');

    // Act
    const keyA = deadLetterKey('dl/', a, FAILED_AT);
    const keyAgain = deadLetterKey('dl/', JSON.parse(JSON.stringify(a)) as unknown, FAILED_AT);
    const keyB = deadLetterKey('dl/', b, FAILED_AT);

    // Assert
    expect(keyA).toMatch(/^dl\/2023\/11\/14\/22\/no-sequence-[0-9a-f]{32}\.json$/);
    expect(keyAgain).toBe(keyA);
    expect(keyB).not.toBe(keyA);
  });

  it.each([
    ['null', null],
    ['a string', 'garbage'],
    ['a BigInt-bearing object', { dynamodb: { n: 1n } }],
    ['undefined', undefined],
  ])('still builds a key for a record that is %s', (_label, record) => {
    expect(deadLetterKey('dl/', record, FAILED_AT)).toMatch(
      /^dl\/2024\/05\/17\/12\/no-sequence-[0-9a-f]{32}\.json$/,
    );
  });

  it('names a record without eventID no-event-id', () => {
    const record = { ...streamRecord({ sequenceNumber: '123' }), eventID: undefined };

    expect(deadLetterKey('dl/', record, FAILED_AT)).toBe('dl/2023/11/14/22/123-no-event-id.json');
  });

  it('cuts the file name at 200 characters, so a huge eventID cannot exceed S3 key limits', () => {
    // Prepare
    const record = streamRecord({ sequenceNumber: '123', eventID: 'e'.repeat(1_000) });

    // Act
    const key = deadLetterKey('dl/', record, FAILED_AT);

    // Assert
    expect(key).toBe(`dl/2023/11/14/22/${`123-${'e'.repeat(1_000)}`.slice(0, 200)}.json`);
  });

  it('replaces unsafe characters in the file name', () => {
    const record = streamRecord({ sequenceNumber: '../../etc', eventID: 'a/b c?d#e%f\u00e9' });

    const key = deadLetterKey('dl/', record, FAILED_AT);

    expect(key).toBe('dl/2023/11/14/22/.._.._etc-a_b_c_d_e_f_.json');
  });

  it('uses only safe characters for any SequenceNumber and eventID (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', minLength: 1 }),
        fc.string({ unit: 'grapheme' }),
        (seq, eventID) => {
          const key = deadLetterKey(
            'dl/',
            streamRecord({ sequenceNumber: seq, eventID }),
            FAILED_AT,
          );
          const parts = key.split('/');
          return (
            parts.length === 6 &&
            parts.every((p) => p === '' || SAFE_KEY.test(p)) &&
            key.length <= 3 + 14 + 200 + 5
          );
        },
      ),
    );
  });

  // versions.ts recognises a millisecond ApproximateCreationDateTime (as Kinesis Data Streams for
  // DynamoDB delivers it) and scales it; deadLetterKey multiplies it by 1000 again, which lands in
  // the year 55841 and puts '+' into the key.
  it('dates a millisecond ApproximateCreationDateTime by the same instant, with safe characters', () => {
    // Prepare
    const record = streamRecord({
      sequenceNumber: '123',
      eventID: 'e',
      createdAt: 1_700_000_000_000,
    });

    // Act
    const key = deadLetterKey('dl/', record, FAILED_AT);

    // Assert
    expect(key).toBe('dl/2023/11/14/22/123-e.json');
  });
});

describe('createS3DeadLetterSink', () => {
  let s3: Loopback;

  beforeEach(async () => {
    s3 = await startLoopback((_req, res) => {
      res.writeHead(200, { etag: '"x"' });
      res.end();
    });
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await s3.close();
  });

  const sink = (
    overrides: Partial<S3DeadLetterOptions> = {},
  ): ReturnType<typeof createS3DeadLetterSink> =>
    createS3DeadLetterSink({
      bucket: 'dead-letters',
      prefix: 'dead-letter/',
      region: 'eu-west-1',
      index: 'transactions',
      endpoint: new URL(s3.origin),
      getCredentials: async () => CREDENTIALS,
      now: () => FAILED_AT,
      ...overrides,
    });

  const letter = {
    record: streamRecord({
      sequenceNumber: '111000000000000000000001',
      eventID: 'abc123',
      newImage: { a: { N: 'x' } },
    }),
    errorType: 'mapper_parsing_exception',
    reason: 'failed to parse field [a]',
    documentId: '3|51',
  };

  it('PUTs the letter path-style to /<bucket>/<key> and resolves with the key', async () => {
    // Act
    const key = await sink().write(letter, 5_000);

    // Assert
    expect(key).toBe('dead-letter/2023/11/14/22/111000000000000000000001-abc123.json');
    expect(s3.requests).toHaveLength(1);
    const [request] = s3.requests as [ReceivedRequest];
    expect(request.method).toBe('PUT');
    expect(request.url).toBe(`/dead-letters/${key}`);
    expect(request.headers['content-type']).toBe('application/json');
  });

  it('stores the full record as received with errorType, reason, index, documentId and failedAt', async () => {
    // Act
    await sink().write(letter, 5_000);

    // Assert
    const stored = JSON.parse((s3.requests[0] as ReceivedRequest).body.toString('utf8')) as Record<
      string,
      unknown
    >;
    expect(stored).toEqual({
      errorType: 'mapper_parsing_exception',
      reason: 'failed to parse field [a]',
      index: 'transactions',
      documentId: '3|51',
      failedAt: '2024-05-17T12:34:56.789Z',
      source: 'dynamodb',
      record: letter.record,
    });
  });

  it.each([
    { label: 'with a session token', credentials: CREDENTIALS as AwsCredentials },
    {
      label: 'without a session token',
      credentials: { accessKeyId: 'AKID2', secretAccessKey: 'secret2' } as AwsCredentials,
    },
  ])('signs with SigV4 for s3 in the configured region ($label)', async ({ credentials }) => {
    // Act
    await sink({ region: 'eu-central-1', getCredentials: async () => credentials }).write(
      letter,
      5_000,
    );

    // Assert
    const [request] = s3.requests as [ReceivedRequest];
    const auth = parseAuthorization(request.headers.authorization);
    expect(auth.service).toBe('s3');
    expect(auth.region).toBe('eu-central-1');
    expect(auth.date).toBe(String(request.headers['x-amz-date']).slice(0, 8));
    expect(auth.signedHeaders).toEqual(
      expect.arrayContaining(['host', 'x-amz-content-sha256', 'x-amz-date']),
    );
    expect(request.headers['x-amz-content-sha256']).toBe(sha256Hex(request.body));
    expect(request.headers['x-amz-security-token']).toBe(credentials.sessionToken);
    const { actual, expected } = await recomputeSignature(request, credentials);
    expect(actual).toBe(expected);
  });

  it('describes its location as s3://bucket/prefix', () => {
    expect(sink().location).toBe('s3://dead-letters/dead-letter/');
  });

  it('uses the current time when no clock is given', async () => {
    // Prepare
    const withoutClock = createS3DeadLetterSink({
      bucket: 'dead-letters',
      prefix: 'dead-letter/',
      region: 'eu-west-1',
      index: 'transactions',
      endpoint: new URL(s3.origin),
      getCredentials: async () => CREDENTIALS,
    });
    const record = withoutStreamField(letter.record, 'ApproximateCreationDateTime');

    // Act
    const key = await withoutClock.write({ ...letter, record }, 5_000);

    // Assert: the key's date is the failure time stored in the letter.
    const stored = JSON.parse((s3.requests[0] as ReceivedRequest).body.toString('utf8')) as {
      failedAt: string;
    };
    const at = stored.failedAt;
    expect(key).toBe(
      `dead-letter/${at.slice(0, 4)}/${at.slice(5, 7)}/${at.slice(8, 10)}/${at.slice(11, 13)}/111000000000000000000001-abc123.json`,
    );
  });

  it.each([403, 404, 500, 503])(
    'rejects HTTP %d with DeadLetterWriteError carrying the status',
    async (status) => {
      // Prepare
      s3.respond((_req, res) => {
        res.writeHead(status, { 'content-type': 'application/xml' });
        res.end('<Error><Code>Nope</Code></Error>');
      });

      // Act
      const error = await sink()
        .write(letter, 5_000)
        .catch((e: unknown) => e);

      // Assert
      expect(error).toBeInstanceOf(DeadLetterWriteError);
      expect((error as DeadLetterWriteError).status).toBe(status);
    },
  );

  it('names the S3 error code in the failure', async () => {
    s3.respond((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
      );
    });

    const error = await sink()
      .write(letter, 5_000)
      .catch((e: unknown) => e);

    expect((error as Error).message).toMatch(/answered AccessDenied 403$/);
  });

  it('reads the S3 error code from the start of a long error body', async () => {
    s3.respond((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.write('<Error><Code>SlowDown</Code>');
      res.end(`<Message>${'x'.repeat(10_000)}</Message></Error>`);
    });

    const error = await sink()
      .write(letter, 5_000)
      .catch((e: unknown) => e);

    expect(error).toMatchObject({
      status: 503,
      message: expect.stringMatching(/answered SlowDown 503$/),
    });
  });

  it('says HTTP when an error answer has no S3 error code', async () => {
    s3.respond((_req, res) => {
      res.writeHead(502);
      res.end('Bad Gateway');
    });

    const error = await sink()
      .write(letter, 5_000)
      .catch((e: unknown) => e);

    expect((error as Error).message).toMatch(/answered HTTP 502$/);
  });

  it('bounds the whole exchange by the timeout, not only idle time (a trickling server)', async () => {
    // Prepare
    const timers: NodeJS.Timeout[] = [];
    s3.respond((_req, res) => {
      res.writeHead(500);
      timers.push(setInterval(() => res.write(' '), 50));
    });

    // Act
    const error = await sink()
      .write(letter, 400)
      .catch((e: unknown) => e);

    // Assert
    timers.forEach(clearInterval);
    expect(error).toBeInstanceOf(DeadLetterWriteError);
    expect((error as DeadLetterWriteError).status).toBeUndefined();
  });

  // The deadline timer is only armed once credentials are in hand: a provider that never answers
  // keeps write() pending past its timeout.
  it('rejects once the timeout passes even if the credential provider never answers', async () => {
    // Prepare
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    try {
      let outcome: unknown = 'pending';
      sink({ getCredentials: () => new Promise<AwsCredentials>(() => undefined) })
        .write(letter, 300)
        .then(
          () => (outcome = 'resolved'),
          (error: unknown) => (outcome = error),
        );

      // Act
      await jest.advanceTimersByTimeAsync(1_000);

      // Assert
      expect(outcome).toBeInstanceOf(DeadLetterWriteError);
    } finally {
      jest.useRealTimers();
    }
  });

  it('rejects with DeadLetterWriteError when S3 does not answer in time', async () => {
    s3.respond(() => undefined);

    const error = await sink()
      .write(letter, 300)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DeadLetterWriteError);
    expect((error as DeadLetterWriteError).status).toBeUndefined();
    expect((error as Error).message).toMatch(/timed out after 300 ms/);
  });

  it('rejects with DeadLetterWriteError when the connection is refused', async () => {
    const port = await closedPort();

    const error = await sink({ endpoint: new URL(`http://127.0.0.1:${port}`) })
      .write(letter, 5_000)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DeadLetterWriteError);
    expect((error as DeadLetterWriteError).status).toBeUndefined();
  });

  it('rejects with DeadLetterWriteError when the response breaks off', async () => {
    s3.respond((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setImmediate(() => res.socket?.destroy());
    });

    const error = await sink()
      .write(letter, 5_000)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DeadLetterWriteError);
  });

  it('keeps the connection to S3 alive between letters', async () => {
    // Prepare
    const clientPorts: (number | undefined)[] = [];
    s3.respond((_req, res) => {
      clientPorts.push(res.socket?.remotePort);
      res.writeHead(200);
      res.end();
    });
    const oneSink = sink();

    // Act
    await oneSink.write(letter, 5_000);
    await oneSink.write(letter, 5_000);

    // Assert: both PUTs came over one socket (the same client port).
    expect(clientPorts).toHaveLength(2);
    expect(clientPorts[1]).toBe(clientPorts[0]);
  });

  it('leaves no timer behind once a write is done', async () => {
    // Prepare
    const timers = (): number =>
      process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timers();

    // Act: a long timeout, so a timer left armed would still be there.
    await sink().write(letter, 60_000);
    await new Promise((resolve) => setImmediate(resolve));

    // Assert
    expect(timers()).toBe(before);
  });

  it.each([200, 204, 299])('accepts HTTP %d (any 2xx) as stored', async (status) => {
    s3.respond((_req, res) => {
      res.writeHead(status);
      res.end();
    });

    await expect(sink().write(letter, 5_000)).resolves.toMatch(/\.json$/);
  });

  it.each([300, 304])('refuses HTTP %d (not a 2xx)', async (status) => {
    s3.respond((_req, res) => {
      res.writeHead(status);
      res.end();
    });

    const error = await sink()
      .write(letter, 1_000)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DeadLetterWriteError);
    expect((error as DeadLetterWriteError).status).toBe(status);
  });

  it('reads no further than the first 2048 characters of an error answer', async () => {
    // Prepare: the code only comes after 2048 characters, in a second chunk.
    s3.respond((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.write('x'.repeat(2048));
      setTimeout(() => res.end('<Error><Code>TooLate</Code></Error>'), 50);
    });

    // Act
    const error = await sink()
      .write(letter, 5_000)
      .catch((e: unknown) => e);

    // Assert
    expect((error as Error).message).toMatch(/answered HTTP 403$/);
  });

  it('says the credentials timed out, keeping the cause, when the provider never answers', async () => {
    const error = await sink({ getCredentials: () => new Promise<AwsCredentials>(() => undefined) })
      .write(letter, 50)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DeadLetterWriteError);
    expect((error as Error).message).toBe(
      'dead-letter write failed: no credentials: Error: credentials timed out after 50 ms',
    );
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it('keeps the provider error as the cause when credentials cannot be loaded', async () => {
    const failure = new Error('no IMDS');

    const error = await sink({
      getCredentials: async () => {
        throw failure;
      },
    })
      .write(letter, 5_000)
      .catch((e: unknown) => e);

    expect((error as Error).cause).toBe(failure);
  });

  it('keeps the socket error as the cause when the connection is refused', async () => {
    const port = await closedPort();

    const error = await sink({ endpoint: new URL(`http://127.0.0.1:${port}`) })
      .write(letter, 5_000)
      .catch((e: unknown) => e);

    expect((error as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('reaches an endpoint given as an IPv6 address in brackets', async () => {
    // Prepare: a stand-in on the IPv6 loopback address.
    const v6 = await startLoopback((_req, res) => {
      res.writeHead(200);
      res.end();
    }, '::1');
    try {
      // Act
      const key = await sink({ endpoint: new URL(v6.origin) }).write(letter, 5_000);

      // Assert
      expect(v6.origin).toMatch(/^http:\/\/\[::1\]:\d+$/);
      expect(key).toMatch(/\.json$/);
      expect(v6.requests).toHaveLength(1);
    } finally {
      await v6.close();
    }
  });

  it('rejects with DeadLetterWriteError when credentials cannot be loaded', async () => {
    const error = await sink({
      getCredentials: async () => {
        throw new Error('no IMDS');
      },
    })
      .write(letter, 5_000)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DeadLetterWriteError);
    expect((error as Error).message).toContain('no IMDS');
    expect(s3.requests).toHaveLength(0);
  });

  describe('without a custom endpoint (real S3 hosts, redirected to the loopback server)', () => {
    /**
     * https.request is replaced so the request goes to the loopback server over plain HTTP; the
     * options the product built (host, path, headers) are recorded unchanged. No traffic leaves
     * 127.0.0.1.
     */
    function redirectHttps(): Array<https.RequestOptions> {
      const seen: https.RequestOptions[] = [];
      jest.spyOn(https, 'request').mockImplementation(((
        options: https.RequestOptions,
        callback?: (res: http.IncomingMessage) => void,
      ) => {
        seen.push(options);
        return http.request(toLoopbackOptions(options, s3.port), callback);
      }) as unknown as typeof https.request);
      return seen;
    }

    it('addresses the bucket virtual-hosted style, <bucket>.s3.<region>.amazonaws.com', async () => {
      // Prepare
      const seen = redirectHttps();

      // Act
      const key = await sink({ endpoint: undefined, region: 'eu-west-1' }).write(letter, 5_000);

      // Assert
      expect(seen).toHaveLength(1);
      // S3 routes virtual-hosted requests by the Host header, which is also what is signed. (The
      // TCP connection goes to the regional endpoint's address, s3.<region>.amazonaws.com.)
      expect(seen[0]).toMatchObject({ protocol: 'https:', method: 'PUT', path: `/${key}` });
      expect(seen[0]?.headers).toMatchObject({ Host: 'dead-letters.s3.eu-west-1.amazonaws.com' });
      const [request] = s3.requests as [ReceivedRequest];
      expect(request.headers.host).toBe('dead-letters.s3.eu-west-1.amazonaws.com');
      expect(request.url).toBe(`/${key}`);
      const { actual, expected } = await recomputeSignature(request, CREDENTIALS);
      expect(actual).toBe(expected);
    });

    it('addresses a bucket with dots path-style on s3.<region>.amazonaws.com (TLS names cannot hold the dots)', async () => {
      const seen = redirectHttps();

      const key = await sink({
        endpoint: undefined,
        bucket: 'my.dead.letters',
        region: 'us-east-2',
      }).write(letter, 5_000);

      expect(seen[0]).toMatchObject({
        hostname: 's3.us-east-2.amazonaws.com',
        path: `/my.dead.letters/${key}`,
      });
      expect((s3.requests[0] as ReceivedRequest).headers.host).toBe('s3.us-east-2.amazonaws.com');
    });
  });
});

describe('createDeadLetterWriter', () => {
  const letter = { record: { any: 'record' }, errorType: 'mapper_parsing_exception', reason: 'r' };
  const policy = { baseMs: 100, maxMs: 1_000 };

  /** A sink that fails the first `failures` writes, and a clock that only sleeps advance. */
  function setup(failures: number, remainingMs = 60_000) {
    let now = 0;
    const writes: number[] = [];
    const sink = {
      location: 's3://b/dead-letter/',
      uri: (key: string) => `s3://b/${key}`,
      write: jest.fn(async (_letter: unknown, timeoutMs: number) => {
        writes.push(timeoutMs);
        if (writes.length <= failures) throw new DeadLetterWriteError(503, 'SlowDown');
        return 'dead-letter/k.json';
      }),
    };
    const sleeps: number[] = [];
    const write = createDeadLetterWriter(sink, {
      deadline: createDeadline(() => remainingMs - now, 500, 250),
      policy,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
      random: () => 1,
    });
    return { write, writes, sleeps };
  }

  it('resolves with the key on the first success', async () => {
    const { write, writes, sleeps } = setup(0);

    await expect(write(letter)).resolves.toEqual({ ok: true, key: 'dead-letter/k.json' });
    expect(writes).toEqual([DEAD_LETTER_TIMEOUT_MS]);
    expect(sleeps).toEqual([]);
  });

  it('retries with backoff between attempts and succeeds on the last one', async () => {
    const { write, writes, sleeps } = setup(DEAD_LETTER_ATTEMPTS - 1);

    await expect(write(letter)).resolves.toMatchObject({ ok: true });
    expect(writes).toHaveLength(DEAD_LETTER_ATTEMPTS);
    expect(sleeps).toEqual([100, 200]);
  });

  it('gives up after DEAD_LETTER_ATTEMPTS with the last error, without a wait after the last', async () => {
    const { write, writes, sleeps } = setup(Infinity);

    const outcome = await write(letter);

    expect(outcome.ok).toBe(false);
    expect(outcome.ok ? undefined : outcome.error).toBeInstanceOf(DeadLetterWriteError);
    expect(writes).toHaveLength(DEAD_LETTER_ATTEMPTS);
    expect(sleeps).toHaveLength(DEAD_LETTER_ATTEMPTS - 1);
  });

  it('bounds each attempt by the deadline, and never waits past it', async () => {
    // 1 s left, a 500 ms margin: the first attempt may use 500 ms; the 100 ms backoff would
    // leave less than the 250 ms minimum, so there is no second attempt.
    const { write, writes, sleeps } = setup(Infinity, 1_000 - 200);

    await write(letter);

    expect(writes).toEqual([300]);
    expect(sleeps).toEqual([]);
  });

  it('starts nothing when the deadline has already passed', async () => {
    const { write, writes } = setup(0, 600);

    await expect(write(letter)).resolves.toMatchObject({ ok: false });
    expect(writes).toEqual([]);
  });
});

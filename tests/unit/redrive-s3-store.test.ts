import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { createS3Store } from '../../lib/redrive/s3-store';
import { StoreUnavailableError } from '../../lib/redrive/store';

/** An S3Client stand-in that records each command and answers from `answer` (injected client). */
function fakeClient(answer: (command: unknown, n: number) => unknown): {
  client: S3Client;
  sent: unknown[];
  destroyed: () => number;
} {
  const sent: unknown[] = [];
  let destroyed = 0;
  const client = {
    send: async (command: unknown) => {
      sent.push(command);
      return answer(command, sent.length - 1);
    },
    destroy: () => {
      destroyed++;
    },
  } as unknown as S3Client;
  return { client, sent, destroyed: () => destroyed };
}

const input = (command: unknown): Record<string, unknown> =>
  (command as { input: Record<string, unknown> }).input;

/**
 * A closed local port: a client built by mistake instead of the injected one never reaches AWS.
 * (S3's default chain is not consulted either: the store is given a client in every test but one.)
 */
const LOCAL = {
  bucket: 'dead-letters',
  region: 'eu-west-1',
  endpoint: new URL('http://127.0.0.1:9/'),
};

async function listAll(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out;
}

describe('createS3Store', () => {
  it('names its error for the report', () => {
    expect(new StoreUnavailableError('x').name).toBe('StoreUnavailableError');
  });

  it('lists every page of a prefix with the continuation token, skipping entries without a key (S3 ListObjectsV2)', async () => {
    // Prepare
    const pages = [
      { Contents: [{ Key: 'dead-letter/a' }, {}], IsTruncated: true, NextContinuationToken: 't-1' },
      { IsTruncated: true, NextContinuationToken: 't-2' },
      { Contents: [{ Key: 'dead-letter/b' }], IsTruncated: false, NextContinuationToken: 't-x' },
    ];
    const fake = fakeClient((_, n) => pages[n]);
    const store = createS3Store({ ...LOCAL, client: fake.client });

    // Act
    const keys = await listAll(store.list('dead-letter/'));

    // Assert
    expect(store.location).toBe('s3://dead-letters/');
    expect(keys).toEqual(['dead-letter/a', 'dead-letter/b']);
    expect(fake.sent.every((c) => c instanceof ListObjectsV2Command)).toBe(true);
    expect(fake.sent.map(input)).toEqual([
      { Bucket: 'dead-letters', Prefix: 'dead-letter/', ContinuationToken: undefined },
      { Bucket: 'dead-letters', Prefix: 'dead-letter/', ContinuationToken: 't-1' },
      { Bucket: 'dead-letters', Prefix: 'dead-letter/', ContinuationToken: 't-2' },
    ]);
  });

  it('stops listing when a page does not say IsTruncated, whatever token it carries', async () => {
    // Prepare
    const fake = fakeClient(() => ({ Contents: [{ Key: 'k' }], NextContinuationToken: 't-1' }));
    const store = createS3Store({ ...LOCAL, client: fake.client });

    // Act
    const keys = await listAll(store.list('p/'));

    // Assert
    expect(keys).toEqual(['k']);
    expect(fake.sent).toHaveLength(1);
  });

  it.each([
    [
      'an S3 error by its code',
      new S3ServiceException({
        name: 'NoSuchBucket',
        $fault: 'client',
        $metadata: {},
        message: 'The specified bucket does not exist',
      }),
      'cannot list s3://dead-letters/dead-letter/: NoSuchBucket',
    ],
    [
      'any other error by its message',
      new Error('getaddrinfo ENOTFOUND'),
      'cannot list s3://dead-letters/dead-letter/: getaddrinfo ENOTFOUND',
    ],
  ])('turns a failed listing into StoreUnavailableError naming %s', async (_, cause, message) => {
    // Prepare
    const fake = fakeClient(() => {
      throw cause;
    });
    const store = createS3Store({ ...LOCAL, client: fake.client });

    // Act
    const error = await listAll(store.list('dead-letter/')).catch((e: unknown) => e);

    // Assert
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toBe(message);
    expect((error as Error).cause).toBe(cause);
  });

  it('reads an object as UTF-8 text (S3 GetObject)', async () => {
    // Prepare
    const fake = fakeClient(() => ({
      Body: { transformToString: async (encoding: string) => `body in ${encoding}` },
    }));
    const store = createS3Store({ ...LOCAL, client: fake.client });

    // Act
    const text = await store.get('dead-letter/a.json');

    // Assert
    expect(fake.sent[0]).toBeInstanceOf(GetObjectCommand);
    expect(input(fake.sent[0])).toEqual({ Bucket: 'dead-letters', Key: 'dead-letter/a.json' });
    expect(text).toBe('body in utf8');
  });

  it('rejects an object answered without a body', async () => {
    // Prepare
    const fake = fakeClient(() => ({}));
    const store = createS3Store({ ...LOCAL, client: fake.client });

    // Act
    const error = await store.get('dead-letter/a.json').catch((e: unknown) => e);

    // Assert
    expect((error as Error).message).toBe('GetObject dead-letter/a.json returned no body');
  });

  it('writes an object as JSON (S3 PutObject)', async () => {
    // Prepare
    const fake = fakeClient(() => ({}));
    const store = createS3Store({ ...LOCAL, client: fake.client });

    // Act
    await store.put('dead-letter/a.json', '{"a":1}');

    // Assert
    expect(fake.sent[0]).toBeInstanceOf(PutObjectCommand);
    expect(input(fake.sent[0])).toEqual({
      Bucket: 'dead-letters',
      Key: 'dead-letter/a.json',
      Body: '{"a":1}',
      ContentType: 'application/json',
    });
  });

  it('moves by copying with a URL-encoded CopySource, then deleting the original (S3 CopyObject)', async () => {
    // Prepare
    const fake = fakeClient(() => ({}));
    const store = createS3Store({ ...LOCAL, client: fake.client });

    // Act
    await store.move('dead-letter/2026/a b+c.json', 'replayed/2026/a b+c.json');

    // Assert
    expect(fake.sent[0]).toBeInstanceOf(CopyObjectCommand);
    expect(input(fake.sent[0])).toEqual({
      Bucket: 'dead-letters',
      Key: 'replayed/2026/a b+c.json',
      CopySource: 'dead-letters/dead-letter/2026/a%20b%2Bc.json',
    });
    expect(fake.sent[1]).toBeInstanceOf(DeleteObjectCommand);
    expect(input(fake.sent[1])).toEqual({
      Bucket: 'dead-letters',
      Key: 'dead-letter/2026/a b+c.json',
    });
    expect(fake.sent).toHaveLength(2);
  });

  it('keeps the original when the copy fails', async () => {
    // Prepare
    const fake = fakeClient(() => {
      throw new Error('AccessDenied');
    });
    const store = createS3Store({ ...LOCAL, client: fake.client });

    // Act
    const error = await store.move('dead-letter/a', 'replayed/a').catch((e: unknown) => e);

    // Assert
    expect((error as Error).message).toBe('AccessDenied');
    expect(fake.sent).toHaveLength(1);
  });

  it('deletes an object (S3 DeleteObject)', async () => {
    // Prepare
    const fake = fakeClient(() => ({}));
    const store = createS3Store({ ...LOCAL, client: fake.client });

    // Act
    await store.delete('dead-letter/a.json');

    // Assert
    expect(fake.sent[0]).toBeInstanceOf(DeleteObjectCommand);
    expect(input(fake.sent[0])).toEqual({ Bucket: 'dead-letters', Key: 'dead-letter/a.json' });
  });

  it('closes the client it was given', () => {
    // Prepare
    const fake = fakeClient(() => ({}));
    const store = createS3Store({ ...LOCAL, client: fake.client });

    // Act
    store.close();

    // Assert
    expect(fake.destroyed()).toBe(1);
  });

  it.each([
    ['a local endpoint, path-style', new URL('http://127.0.0.1:9/ignored/path'), true],
    ['no endpoint, the SDK default', undefined, false],
  ])(
    'builds its own client for the region and %s when none is injected',
    async (_, endpoint, pathStyle) => {
      // Prepare
      const seen: { region?: string; endpoint?: unknown; forcePathStyle?: boolean } = {};
      const send = jest.spyOn(S3Client.prototype, 'send').mockImplementation(async function (
        this: S3Client,
      ) {
        seen.region = await this.config.region();
        seen.endpoint =
          this.config.endpoint === undefined ? undefined : await this.config.endpoint();
        seen.forcePathStyle = this.config.forcePathStyle;
        return {};
      } as never);
      const store = createS3Store({ bucket: 'dead-letters', region: 'eu-west-2', endpoint });

      // Act
      await store.delete('k');
      store.close();
      send.mockRestore();

      // Assert
      expect(seen.region).toBe('eu-west-2');
      expect(seen.forcePathStyle).toBe(pathStyle);
      if (endpoint === undefined) expect(seen.endpoint).toBeUndefined();
      else expect(seen.endpoint).toMatchObject({ hostname: '127.0.0.1', port: 9, path: '/' });
    },
  );
});

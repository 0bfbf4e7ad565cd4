import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { S3StandIn } from '../support/s3-stand-in';

const creds = { accessKeyId: 'AKIDS3SDK', secretAccessKey: 's3cret-sdk' };
const region = 'eu-west-1';
const BUCKET = 'dead-letters';
let s3: S3StandIn;
let client: S3Client;

beforeAll(async () => {
  s3 = await S3StandIn.start({ buckets: [BUCKET, 'other'], credentials: creds, region });
  client = new S3Client({
    endpoint: s3.url,
    forcePathStyle: true,
    region,
    credentials: creds,
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client.destroy();
  await s3.close();
});
beforeEach(() => s3.reset());

const keys = (n: number, prefix = 'dead-letter/2026/12/02/10/'): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}-ev${i}.json`);

async function listAll(
  prefix: string,
  pageSize: number,
): Promise<{ keys: string[]; pages: number }> {
  const out: string[] = [];
  let pages = 0;
  for await (const page of paginateListObjectsV2(
    { client },
    { Bucket: BUCKET, Prefix: prefix, MaxKeys: pageSize },
  )) {
    pages++;
    out.push(...(page.Contents ?? []).map((c) => c.Key!));
  }
  return { keys: out, pages };
}

describe('S3 stand-in with @aws-sdk/client-s3', () => {
  test('PutObject, GetObject and HeadObject round-trip the bytes and content type', async () => {
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'dead-letter/a.json',
        Body: '{"a":1}',
        ContentType: 'application/json',
      }),
    );

    const got = await client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'dead-letter/a.json' }),
    );
    const head = await client.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: 'dead-letter/a.json' }),
    );

    expect(await got.Body?.transformToString()).toBe('{"a":1}');
    expect(got.ContentType).toBe('application/json');
    expect(head.ContentLength).toBe(7);
    expect(head.ETag).toBe(s3.get(BUCKET, 'dead-letter/a.json')?.etag);
  });

  test('ListObjectsV2 pages with max-keys and continuation tokens, in key order, within the prefix', async () => {
    const wanted = keys(23);
    for (const k of [...wanted].reverse()) s3.putDirect(BUCKET, k, '{}');
    s3.putDirect(BUCKET, 'dead-letter/2026/12/03/00/x.json', '{}');
    s3.putDirect(BUCKET, 'replayed/2026/12/02/10/y.json', '{}');

    const listed = await listAll('dead-letter/2026/12/02/', 10);

    expect(listed.keys).toEqual(wanted);
    expect(listed.pages).toBe(3);
  });

  test('ListObjectsV2 start-after, delimiter and KeyCount', async () => {
    for (const k of keys(5)) s3.putDirect(BUCKET, k, '{}');
    s3.putDirect(BUCKET, 'dead-letter/2026/12/03/00/x.json', '{}');

    const after = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'dead-letter/', StartAfter: keys(5)[2] }),
    );
    const byHour = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'dead-letter/2026/12/', Delimiter: '/' }),
    );

    expect(after.Contents?.map((c) => c.Key)).toEqual([
      ...keys(5).slice(3),
      'dead-letter/2026/12/03/00/x.json',
    ]);
    expect(after.KeyCount).toBe(3);
    expect(byHour.CommonPrefixes?.map((p) => p.Prefix)).toEqual([
      'dead-letter/2026/12/02/',
      'dead-letter/2026/12/03/',
    ]);
    expect(byHour.Contents ?? []).toEqual([]);
    expect(byHour.KeyCount).toBe(2);
  });

  test('keys with spaces, plus signs and non-ASCII characters list and read back exactly', async () => {
    const odd = ['dead-letter/a b+c.json', 'dead-letter/é/ü.json', 'dead-letter/x%y.json'];
    for (const k of odd)
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: k, Body: k }));

    const listed = await listAll('dead-letter/', 2);
    const bodies = await Promise.all(
      odd.map(async (k) =>
        (
          await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: k }))
        ).Body?.transformToString(),
      ),
    );

    expect([...listed.keys].sort()).toEqual([...odd].sort());
    expect(bodies).toEqual(odd);
  });

  test('CopyObject then DeleteObject moves an object to replayed/ with its bytes and type', async () => {
    const from = 'dead-letter/2026/12/02/10/0001-ev1.json';
    const to = 'replayed/2026/12/02/10/0001-ev1.json';
    s3.putDirect(BUCKET, from, '{"record":1}', 'application/json');

    const copy = await client.send(
      new CopyObjectCommand({ Bucket: BUCKET, Key: to, CopySource: `${BUCKET}/${from}` }),
    );
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: from }));

    expect(copy.CopyObjectResult?.ETag).toBe(s3.get(BUCKET, to)?.etag);
    expect(s3.get(BUCKET, from)).toBeUndefined();
    expect(s3.get(BUCKET, to)?.body.toString()).toBe('{"record":1}');
    expect(s3.get(BUCKET, to)?.contentType).toBe('application/json');
  });

  test('CopyObject of a missing source is NoSuchKey and writes nothing', async () => {
    const e = await client
      .send(
        new CopyObjectCommand({ Bucket: BUCKET, Key: 'replayed/x', CopySource: `${BUCKET}/nope` }),
      )
      .catch((err: unknown) => err);

    expect(e).toMatchObject({ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    expect(s3.list(BUCKET)).toEqual([]);
  });

  test('DeleteObject of a missing key succeeds (204); DeleteObjects removes a batch', async () => {
    for (const k of keys(3)) s3.putDirect(BUCKET, k, '{}');

    const single = await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'missing' }));
    const batch = await client.send(
      new DeleteObjectsCommand({
        Bucket: BUCKET,
        Delete: { Objects: keys(2).map((Key) => ({ Key })) },
      }),
    );

    expect(single.$metadata.httpStatusCode).toBe(204);
    expect(batch.Deleted?.map((d) => d.Key)).toEqual(keys(2));
    expect(s3.list(BUCKET).map((o) => o.key)).toEqual(keys(3).slice(2));
  });

  test.each([
    [500, 'InternalError'],
    [403, 'AccessDenied'],
  ] as const)(
    'an unreadable object answers GetObject with %i %s but still lists',
    async (status, code) => {
      const [bad, good] = keys(2);
      s3.putDirect(BUCKET, bad!, '{}');
      s3.putDirect(BUCKET, good!, '{"ok":true}');
      s3.makeUnreadable(BUCKET, bad!, status);

      const e = await client
        .send(new GetObjectCommand({ Bucket: BUCKET, Key: bad }))
        .catch((x: unknown) => x);
      const ok = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: good }));
      const listed = await listAll('dead-letter/', 100);
      s3.heal();
      const healed = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: bad }));

      expect(e).toMatchObject({ name: code, $metadata: { httpStatusCode: status } });
      expect(await ok.Body?.transformToString()).toBe('{"ok":true}');
      expect(listed.keys).toEqual([bad, good]);
      expect(await healed.Body?.transformToString()).toBe('{}');
    },
  );

  test('a missing bucket is NoSuchBucket for ListObjectsV2', async () => {
    const e = await client
      .send(new ListObjectsV2Command({ Bucket: 'no-such-bucket' }))
      .catch((x: unknown) => x);

    expect(e).toMatchObject({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } });
  });

  test('failNextPuts also fails a CopyObject (a write), and nothing is copied', async () => {
    s3.putDirect(BUCKET, 'dead-letter/a.json', '{}');
    s3.failNextPuts(1, 503);

    const e = await client
      .send(
        new CopyObjectCommand({
          Bucket: BUCKET,
          Key: 'replayed/a.json',
          CopySource: `${BUCKET}/dead-letter/a.json`,
        }),
      )
      .catch((x: unknown) => x);

    expect(e).toMatchObject({ name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
    expect(s3.get(BUCKET, 'replayed/a.json')).toBeUndefined();
  });
});

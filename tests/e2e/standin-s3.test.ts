import { S3StandIn } from '../support/s3-stand-in';
import { httpRequest, sendSigned, signWithAws4 } from '../support/sign';
import type { Sigv4Credentials } from '../support/sigv4-verifier';

const creds: Sigv4Credentials = {
  accessKeyId: 'AKIDS3',
  secretAccessKey: 's3cret',
  sessionToken: 'tok3',
};
const region = 'eu-west-1';
let s3: S3StandIn;

beforeAll(async () => {
  s3 = await S3StandIn.start({ buckets: ['dead-letters'], credentials: creds, region });
});
afterAll(async () => {
  await s3.close();
});
beforeEach(() => s3.reset());

const put = (path: string, body: string, service = 's3') =>
  sendSigned(s3.url, {
    method: 'PUT',
    path,
    body,
    headers: { 'content-type': 'application/json' },
    region,
    service,
    credentials: creds,
  });

describe('S3 stand-in', () => {
  test('stores a signed PutObject and reads it back', async () => {
    const r = await put('/dead-letters/dead-letter/2024/05/17/12/123-abc.json', '{"a":1}');
    expect(r.status).toBe(200);
    expect(r.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
    const obj = s3.get('dead-letters', 'dead-letter/2024/05/17/12/123-abc.json');
    expect(obj?.body.toString()).toBe('{"a":1}');
    expect(obj?.contentType).toBe('application/json');
    const list = await sendSigned(s3.url, {
      method: 'GET',
      path: '/dead-letters',
      query: { 'list-type': '2', prefix: 'dead-letter/' },
      region,
      service: 's3',
      credentials: creds,
    });
    expect(list.text).toContain('<Key>dead-letter/2024/05/17/12/123-abc.json</Key>');
  });

  test('accepts aws4-signed keys with characters that need encoding', async () => {
    const host = `127.0.0.1:${s3.port}`;
    const path = '/dead-letters/dl/a%3Ab%2Bc%20d.json';
    const body = '{}';
    const headers = signWithAws4({
      method: 'PUT',
      host,
      path,
      body,
      region,
      service: 's3',
      credentials: creds,
      headers: { 'content-type': 'application/json' },
    });
    const r = await httpRequest(`${s3.url}${path}`, { method: 'PUT', headers, body });
    expect(r.status).toBe(200);
    expect(s3.get('dead-letters', 'dl/a:b+c d.json')).toBeDefined();
  });

  test('S3-style XML errors: unknown bucket, bad signature, wrong service, unsigned payload', async () => {
    const nb = await put('/nope/k', '{}');
    expect(nb.status).toBe(404);
    expect(nb.text).toContain('<Code>NoSuchBucket</Code>');
    const unsigned = await httpRequest(`${s3.url}/dead-letters/k`, { method: 'PUT', body: '{}' });
    expect(unsigned.status).toBe(403);
    expect(unsigned.text).toContain('<Code>AccessDenied</Code>');
    const es = await put('/dead-letters/k', '{}', 'es');
    expect(es.status).toBe(403);
    expect(es.text).toContain('<Check>scope</Check>');
    const up = await sendSigned(s3.url, {
      method: 'PUT',
      path: '/dead-letters/k',
      body: '{}',
      region,
      service: 's3',
      credentials: creds,
      headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    expect(up.status).toBeGreaterThanOrEqual(400);
    expect(s3.list('dead-letters')).toEqual([]);
  });

  test('fault injection: next N puts, failure window, heal', async () => {
    s3.failNextPuts(2, 500);
    expect((await put('/dead-letters/a', '1')).status).toBe(500);
    const r = await put('/dead-letters/a', '1');
    expect(r.status).toBe(500);
    expect(r.text).toContain('<Code>InternalError</Code>');
    expect((await put('/dead-letters/a', '1')).status).toBe(200);
    s3.failPutsFor(60_000);
    const slow = await put('/dead-letters/b', '2');
    expect(slow.status).toBe(503);
    expect(slow.text).toContain('SlowDown');
    s3.heal();
    expect((await put('/dead-letters/b', '2')).status).toBe(200);
    expect((await put('/dead-letters/b', '3')).status).toBe(200);
    expect(s3.get('dead-letters', 'b')).toMatchObject({ writes: 2 });
    expect(s3.requests.map((x) => x.status)).toEqual([500, 500, 200, 503, 200, 200]);
  });
});

import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  canonicalQuery,
  canonicalUri,
  Sigv4Verifier,
  type RawRequest,
  type Sigv4Credentials,
} from '../support/sigv4-verifier';
import { signWithAws4, signWithSmithy, type SignInput } from '../support/sign';

const creds: Sigv4Credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session-token-1',
};
const NOW = Date.UTC(2024, 4, 17, 12, 0, 0);
const HOST = '127.0.0.1:9200';

function verifier(
  over: Partial<ConstructorParameters<typeof Sigv4Verifier>[0]> = {},
): Sigv4Verifier {
  return new Sigv4Verifier({
    region: 'eu-west-1',
    service: 'es',
    credentials: creds,
    now: () => NOW,
    ...over,
  });
}

function raw(
  input: SignInput,
  headers: Record<string, string>,
  over: Partial<RawRequest> = {},
): RawRequest {
  const qs = input.query
    ? `?${new URLSearchParams(input.query).toString().replace(/\*/g, '%2A')}`
    : '';
  const rawHeaders: string[] = [];
  for (const [k, v] of Object.entries(headers)) rawHeaders.push(k, v);
  return {
    method: input.method,
    url: input.path + qs,
    rawHeaders,
    body: input.body === undefined ? Buffer.alloc(0) : Buffer.from(input.body),
    ...over,
  };
}

const ndjson =
  '{"index":{"_id":"1","version":5,"version_type":"external"}}\n{"n":9007199254740993}\n';
const base: SignInput = {
  method: 'POST',
  host: HOST,
  path: '/transactions/_bulk',
  query: { filter_path: 'items.*.error' },
  headers: { 'content-type': 'application/x-ndjson' },
  body: ndjson,
  region: 'eu-west-1',
  service: 'es',
  credentials: creds,
  date: new Date(NOW),
};

describe('Sigv4Verifier (independent of aws4 and smithy)', () => {
  test.each([
    ['@smithy/signature-v4', (i: SignInput) => signWithSmithy(i)],
    ['aws4', async (i: SignInput) => signWithAws4(i)],
  ])('accepts a request correctly signed by %s', async (_name, sign) => {
    const headers = await sign(base);
    expect(verifier().verify(raw(base, headers))).toMatchObject({ ok: true });
  });

  test('accepts a gzip body when the hash is of the compressed bytes', async () => {
    const gz = gzipSync(Buffer.from(ndjson));
    const input = { ...base, body: gz, headers: { ...base.headers, 'content-encoding': 'gzip' } };
    const headers = await signWithSmithy(input);
    expect(verifier().verify(raw(input, headers))).toMatchObject({ ok: true });
  });

  test('accepts S3 paths with reserved characters (single encoding, no normalisation)', async () => {
    const input: SignInput = {
      ...base,
      method: 'PUT',
      path: '/dead-letters/dt%3D2024-05-17/a%20b/../c%3A1%2B~.json',
      query: {},
      service: 's3',
      headers: { 'content-type': 'application/json' },
    };
    const v = verifier({ service: 's3' });
    expect(v.verify(raw(input, await signWithSmithy(input)))).toMatchObject({ ok: true });
    expect(v.verify(raw(input, signWithAws4(input)))).toMatchObject({ ok: true });
  });

  test('accepts OpenSearch paths with reserved characters (double encoding)', async () => {
    const input: SignInput = {
      ...base,
      method: 'GET',
      path: '/transactions/_doc/a%7Cb%3A1',
      query: {},
      body: '',
    };
    expect(verifier().verify(raw(input, await signWithSmithy(input)))).toMatchObject({ ok: true });
    expect(verifier().verify(raw(input, signWithAws4(input)))).toMatchObject({ ok: true });
  });

  test('rejects a tampered body (content-sha256)', async () => {
    const headers = await signWithSmithy(base);
    const r = verifier().verify(
      raw(base, headers, { body: Buffer.from(ndjson.replace('993', '992')) }),
    );
    expect(r).toMatchObject({ ok: false, check: 'content-sha256' });
  });

  test('rejects a tampered body even when the hash header is made to match (signature)', async () => {
    const headers = await signWithSmithy(base);
    const body = Buffer.from(ndjson.replace('993', '992'));
    headers['x-amz-content-sha256'] = createHash('sha256').update(body).digest('hex');
    expect(verifier().verify(raw(base, headers, { body }))).toMatchObject({
      ok: false,
      check: 'signature',
    });
  });

  test('rejects a hash computed over the uncompressed body of a gzip request', async () => {
    const gz = gzipSync(Buffer.from(ndjson));
    const input = {
      ...base,
      body: gz,
      headers: { ...base.headers, 'content-encoding': 'gzip' },
      contentSha256: createHash('sha256').update(ndjson).digest('hex'),
    };
    const headers = await signWithSmithy(input);
    expect(verifier().verify(raw(input, headers))).toMatchObject({
      ok: false,
      check: 'content-sha256',
    });
  });

  test('rejects a missing x-amz-content-sha256', async () => {
    const input = { ...base, contentSha256: false };
    const headers = await signWithSmithy(input);
    expect(verifier().verify(raw(input, headers))).toMatchObject({
      ok: false,
      check: 'content-sha256',
    });
  });

  test('rejects UNSIGNED-PAYLOAD unless allowed', async () => {
    const input = { ...base, service: 's3', contentSha256: 'UNSIGNED-PAYLOAD' };
    const headers = await signWithSmithy(input);
    expect(verifier({ service: 's3' }).verify(raw(input, headers))).toMatchObject({
      ok: false,
      check: 'content-sha256',
    });
    expect(
      verifier({ service: 's3', allowUnsignedPayload: true }).verify(raw(input, headers)),
    ).toMatchObject({ ok: true });
  });

  test('rejects the wrong region', async () => {
    const headers = await signWithSmithy({ ...base, region: 'us-east-1' });
    const r = verifier().verify(raw(base, headers));
    expect(r).toMatchObject({ ok: false, check: 'scope' });
    expect(!r.ok && r.message).toMatch(/region/);
  });

  test('rejects the wrong service', async () => {
    const headers = await signWithSmithy({ ...base, service: 'aoss' });
    const r = verifier().verify(raw(base, headers));
    expect(r).toMatchObject({ ok: false, check: 'scope' });
    expect(!r.ok && r.message).toMatch(/service/);
  });

  test('rejects a stale date (more than 5 minutes of skew) and a future one', async () => {
    const stale = await signWithSmithy({ ...base, date: new Date(NOW - 5 * 60_000 - 1000) });
    expect(verifier().verify(raw(base, stale))).toMatchObject({ ok: false, check: 'x-amz-date' });
    const future = await signWithSmithy({ ...base, date: new Date(NOW + 6 * 60_000) });
    expect(verifier().verify(raw(base, future))).toMatchObject({ ok: false, check: 'x-amz-date' });
    const fine = await signWithSmithy({ ...base, date: new Date(NOW - 4 * 60_000) });
    expect(verifier().verify(raw(base, fine))).toMatchObject({ ok: true });
  });

  test('rejects a missing or different session token', async () => {
    const noToken = await signWithSmithy({
      ...base,
      credentials: { ...creds, sessionToken: undefined },
    });
    expect(verifier().verify(raw(base, noToken))).toMatchObject({
      ok: false,
      check: 'security-token',
    });
    const other = await signWithSmithy({
      ...base,
      credentials: { ...creds, sessionToken: 'other' },
    });
    expect(verifier().verify(raw(base, other))).toMatchObject({
      ok: false,
      check: 'security-token',
    });
    // Without a configured token, a request without one is fine.
    expect(
      verifier({ credentials: { ...creds, sessionToken: undefined } }).verify(raw(base, noToken)),
    ).toMatchObject({ ok: true });
  });

  test('rejects an unknown access key and a wrong secret', async () => {
    const otherKey = await signWithSmithy({
      ...base,
      credentials: { ...creds, accessKeyId: 'AKIDOTHER' },
    });
    expect(verifier().verify(raw(base, otherKey))).toMatchObject({
      ok: false,
      check: 'access-key',
    });
    const otherSecret = await signWithSmithy({
      ...base,
      credentials: { ...creds, secretAccessKey: 'nope' },
    });
    expect(verifier().verify(raw(base, otherSecret))).toMatchObject({
      ok: false,
      check: 'signature',
    });
  });

  test('rejects a missing Authorization header, another algorithm, and unsigned host', async () => {
    expect(verifier().verify(raw(base, { host: HOST }))).toMatchObject({
      ok: false,
      check: 'authorization-header',
    });
    const headers = await signWithSmithy(base);
    const auth = headers['authorization'] as string;
    expect(
      verifier().verify(
        raw(base, {
          ...headers,
          authorization: auth.replace('AWS4-HMAC-SHA256', 'AWS4-ECDSA-P256-SHA256'),
        }),
      ),
    ).toMatchObject({
      ok: false,
      check: 'algorithm',
    });
    const noHost = auth.replace(
      /SignedHeaders=([^,]*)/,
      (_m, h: string) =>
        `SignedHeaders=${h
          .split(';')
          .filter((x) => x !== 'host')
          .join(';')}`,
    );
    expect(verifier().verify(raw(base, { ...headers, authorization: noHost }))).toMatchObject({
      ok: false,
      check: 'signed-headers',
    });
  });

  test('rejects a changed query string or path (signature)', async () => {
    const headers = await signWithSmithy(base);
    expect(
      verifier().verify(raw(base, headers, { url: '/transactions/_bulk?filter_path=items' })),
    ).toMatchObject({ ok: false, check: 'signature' });
    expect(
      verifier().verify(raw(base, headers, { url: '/other/_bulk?filter_path=items.%2A.error' })),
    ).toMatchObject({ ok: false, check: 'signature' });
  });

  test('canonical forms follow the published examples', () => {
    expect(canonicalUri('/documents and settings/', 'es')).toBe('/documents%20and%20settings/');
    expect(canonicalUri('/a%20b', 'es')).toBe('/a%2520b');
    expect(canonicalUri('/a%20b', 's3')).toBe('/a%20b');
    expect(canonicalUri('/b/x%2Fy/../z', 's3')).toBe('/b/x/y/../z');
    expect(canonicalUri('/a/./b/../c//d', 'es')).toBe('/a/c/d');
    expect(canonicalQuery('b=2&a=1&a=0&c')).toBe('a=0&a=1&b=2&c=');
    expect(canonicalQuery('filter_path=items.*.status')).toBe('filter_path=items.%2A.status');
  });
});

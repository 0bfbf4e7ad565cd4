/**
 * Test-side signers and a tiny HTTP client, for the verifier's and stand-ins' own tests.
 * Signing uses @smithy/signature-v4 (with a node:crypto Sha256) or aws4: never the verifier's code.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import * as http from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import * as aws4 from 'aws4';
import type { Sigv4Credentials } from './sigv4-verifier';

/** The Sha256 constructor @smithy/signature-v4 wants, over node:crypto (@aws-crypto/sha256-js is not installed). */
export class NodeSha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    if (secret === undefined) this.h = createHash('sha256');
    else if (typeof secret === 'string') this.h = createHmac('sha256', secret);
    else
      this.h = createHmac(
        'sha256',
        Buffer.from(
          secret instanceof ArrayBuffer
            ? new Uint8Array(secret)
            : new Uint8Array(secret.buffer, secret.byteOffset, secret.byteLength),
        ),
      );
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    if (typeof data === 'string') this.h.update(data, 'utf8');
    else if (data instanceof ArrayBuffer) this.h.update(new Uint8Array(data));
    else this.h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}

export interface SignInput {
  readonly method: string;
  readonly host: string; // host[:port], exactly as the Host header will be sent
  /** Path as sent on the wire (already percent-encoded). */
  readonly path: string;
  readonly query?: Record<string, string>;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  readonly region: string;
  readonly service: string;
  readonly credentials: Sigv4Credentials;
  readonly date?: Date;
  /** Add x-amz-content-sha256 with the real payload hash (default true). */
  readonly contentSha256?: boolean | string;
}

/** Signs with @smithy/signature-v4. Returns the headers to send (including Host). */
export async function signWithSmithy(input: SignInput): Promise<Record<string, string>> {
  const body = input.body === undefined ? Buffer.alloc(0) : Buffer.from(input.body);
  const [hostname, port] = input.host.split(':');
  const headers: Record<string, string> = { host: input.host, ...(input.headers ?? {}) };
  if (input.contentSha256 !== false && headers['x-amz-content-sha256'] === undefined) {
    headers['x-amz-content-sha256'] =
      typeof input.contentSha256 === 'string'
        ? input.contentSha256
        : createHash('sha256').update(body).digest('hex');
  }
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: input.credentials.accessKeyId,
      secretAccessKey: input.credentials.secretAccessKey,
      ...(input.credentials.sessionToken !== undefined
        ? { sessionToken: input.credentials.sessionToken }
        : {}),
    },
    region: input.region,
    service: input.service,
    sha256: NodeSha256,
    // The path handed over is the wire path. For non-S3 services SigV4 encodes it again ("double
    // encoding"), for S3 it is used as is.
    uriEscapePath: input.service !== 's3',
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: input.method,
      protocol: 'http:',
      hostname: hostname ?? '127.0.0.1',
      ...(port !== undefined ? { port: Number(port) } : {}),
      path: input.path,
      query: input.query ?? {},
      headers,
      body,
    },
    input.date ? { signingDate: input.date } : {},
  );
  return signed.headers;
}

/** Signs with aws4 (the product's signer). Returns the headers to send. */
export function signWithAws4(input: SignInput): Record<string, string> {
  const body = input.body === undefined ? Buffer.alloc(0) : Buffer.from(input.body);
  const qs = input.query ? new URLSearchParams(input.query).toString() : '';
  const headers: Record<string, string> = { Host: input.host, ...(input.headers ?? {}) };
  if (input.contentSha256 !== false) {
    headers['X-Amz-Content-Sha256'] =
      typeof input.contentSha256 === 'string'
        ? input.contentSha256
        : createHash('sha256').update(body).digest('hex');
  }
  if (input.date) headers['X-Amz-Date'] = input.date.toISOString().replace(/[:-]|\.\d{3}/g, '');
  const opts: aws4.Request = {
    method: input.method,
    host: input.host,
    path: input.path + (qs ? `?${qs}` : ''),
    service: input.service,
    region: input.region,
    headers,
    body,
  };
  aws4.sign(opts, {
    accessKeyId: input.credentials.accessKeyId,
    secretAccessKey: input.credentials.secretAccessKey,
    ...(input.credentials.sessionToken !== undefined
      ? { sessionToken: input.credentials.sessionToken }
      : {}),
  });
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.headers ?? {})) out[k] = String(v);
  return out;
}

export interface HttpResult {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
}

/** A plain HTTP/1.1 request to 127.0.0.1 with a hard timeout. Rejects on socket errors. */
export function httpRequest(
  url: string,
  opts: {
    method?: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
    timeoutMs?: number;
  } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost') {
      reject(new Error(`test traffic must stay on 127.0.0.1, refusing ${u.hostname}`));
      return;
    }
    const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: opts.method ?? 'GET',
        headers: {
          ...(opts.headers ?? {}),
          ...(body ? { 'content-length': String(body.length) } : {}),
        },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const b = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: b,
            text: b.toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(opts.timeoutMs ?? 10_000, () =>
      req.destroy(new Error('test http request timed out')),
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Signs (with @smithy/signature-v4) and sends a request to a stand-in on 127.0.0.1. */
export async function sendSigned(
  baseUrl: string,
  opts: {
    method: string;
    path: string;
    query?: Record<string, string>;
    headers?: Record<string, string>;
    body?: Buffer | string;
    region: string;
    service: string;
    credentials: Sigv4Credentials;
    date?: Date;
  },
): Promise<HttpResult> {
  const u = new URL(baseUrl);
  const headers = await signWithSmithy({
    method: opts.method,
    host: u.host,
    path: opts.path,
    ...(opts.query ? { query: opts.query } : {}),
    ...(opts.headers ? { headers: opts.headers } : {}),
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    region: opts.region,
    service: opts.service,
    credentials: opts.credentials,
    ...(opts.date ? { date: opts.date } : {}),
  });
  const qs = opts.query
    ? `?${Object.entries(opts.query)
        .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v).replace(/\*/g, '%2A')}`)
        .join('&')}`
    : '';
  return httpRequest(`${baseUrl}${opts.path}${qs}`, {
    method: opts.method,
    headers,
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
}

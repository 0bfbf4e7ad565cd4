/**
 * A programmable HTTP server on 127.0.0.1 for the search-client, dead-letter and handler tests,
 * plus a SigV4 check that re-signs what the server received with @smithy/signature-v4 (a signer
 * independent of the aws4 library the product signs with).
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';

export interface ReceivedRequest {
  readonly method: string;
  /** The request target as received: path plus optional query. */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The body bytes as received (still compressed when Content-Encoding: gzip). */
  readonly body: Buffer;
}

export type Responder = (
  request: ReceivedRequest,
  response: http.ServerResponse,
) => void | Promise<void>;

export interface Loopback {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly port: number;
  readonly requests: ReceivedRequest[];
  /** Replaces how the server answers from now on. */
  respond(responder: Responder): void;
  close(): Promise<void>;
}

export function json(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

export async function startLoopback(
  initial: Responder = (_req, res) => json(res, 200, {}),
  /** A loopback address: 127.0.0.1, or ::1 for a test of IPv6 endpoints. */
  host: '127.0.0.1' | '::1' = '127.0.0.1',
): Promise<Loopback> {
  let responder = initial;
  const requests: ReceivedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      requests.push(received);
      void Promise.resolve(responder(received, res)).catch((error: unknown) => {
        res.destroy(error instanceof Error ? error : new Error(String(error)));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host === '::1' ? '[::1]' : host}:${port}`,
    port,
    requests,
    respond: (next) => {
      responder = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (a server is started and closed to find one). */
export async function closedPort(): Promise<number> {
  const loopback = await startLoopback();
  await loopback.close();
  return loopback.port;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// SigV4

export interface TestCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

export const CREDENTIALS: TestCredentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session-token-1',
};

class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash =
      secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export interface Authorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly terminator: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

export function parseAuthorization(header: string | undefined): Authorization {
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      header ?? '',
    );
  if (!match) throw new Error(`not a SigV4 authorization header: ${String(header)}`);
  const [, accessKeyId, date, region, service, terminator, signedHeaders, signature] =
    match as unknown as string[];
  return {
    accessKeyId: accessKeyId as string,
    date: date as string,
    region: region as string,
    service: service as string,
    terminator: terminator as string,
    signedHeaders: (signedHeaders as string).split(';'),
    signature: signature as string,
  };
}

/**
 * Recomputes the signature of a received request with @smithy/signature-v4 and returns both,
 * so a test can `expect(actual).toBe(expected)`.
 */
export async function recomputeSignature(
  request: ReceivedRequest,
  credentials: TestCredentials,
): Promise<{ actual: string; expected: string }> {
  const auth = parseAuthorization(request.headers.authorization);
  const amzDate = String(request.headers['x-amz-date']);
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const value = request.headers[name];
    headers[name] = Array.isArray(value) ? value.join(',') : String(value);
  }
  const [path, query = ''] = request.url.split('?') as [string, string | undefined];
  const signer = new SignatureV4({
    service: auth.service,
    region: auth.region,
    credentials:
      credentials.sessionToken === undefined
        ? { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey }
        : {
            accessKeyId: credentials.accessKeyId,
            secretAccessKey: credentials.secretAccessKey,
            sessionToken: credentials.sessionToken,
          },
    sha256: NodeSha256,
    uriEscapePath: auth.service !== 's3',
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: headers.host ?? '',
      path,
      query: Object.fromEntries(new URLSearchParams(query)),
      headers,
      body: request.body,
    },
    { signingDate, signableHeaders: new Set(auth.signedHeaders) },
  );
  const expected = parseAuthorization(String(signed.headers.authorization)).signature;
  return { actual: auth.signature, expected };
}

/**
 * Turns the options the product passed to https.request into http options aimed at `port` on
 * 127.0.0.1, keeping method, path and headers (the Host header included) unchanged.
 */
export function toLoopbackOptions(options: http.RequestOptions, port: number): http.RequestOptions {
  const redirected: http.RequestOptions = { ...options, hostname: '127.0.0.1', port };
  delete redirected.agent;
  delete redirected.protocol;
  delete redirected.host;
  return redirected;
}

/**
 * An AWS Signature Version 4 verifier written from the published algorithm with node:crypto
 * ("Create a signed AWS API request", AWS IAM user guide, sections "canonical request",
 * "string to sign", "signature"). It deliberately shares no code with `aws4` (what the product
 * signs with) or `@smithy/signature-v4` (what the verifier's own tests sign with), so a bug in a
 * signer cannot hide behind the same bug in the check.
 *
 * Every check the stand-ins need is separate and named, so a 403 says exactly which one failed:
 *   - `authorization-header`  the header is present and parses
 *   - `algorithm`             AWS4-HMAC-SHA256
 *   - `access-key`            the access key id is the configured one
 *   - `scope`                 `<date>/<region>/<service>/aws4_request` with the expected region/service
 *   - `x-amz-date`            present, well formed, same day as the scope, within the allowed skew
 *   - `security-token`        x-amz-security-token present and equal when a session token is configured
 *   - `content-sha256`        x-amz-content-sha256 present and equal to sha256 of the exact bytes received
 *   - `signed-headers`        host and x-amz-date (and, for s3, x-amz-content-sha256) are signed
 *   - `signature`             the recomputed signature matches
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface Sigv4Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** When set, requests must carry x-amz-security-token with exactly this value. */
  readonly sessionToken?: string | undefined;
}

export interface Sigv4VerifierOptions {
  readonly region: string;
  /** `es` for OpenSearch domains, `s3` for S3. */
  readonly service: string;
  readonly credentials: Sigv4Credentials;
  /** Allowed clock skew, default 5 minutes (what AWS allows). */
  readonly maxSkewMs?: number;
  /** Accept `x-amz-content-sha256: UNSIGNED-PAYLOAD` (S3 allows it). Default false: the real hash is required. */
  readonly allowUnsignedPayload?: boolean;
  /** Clock, for tests. Default Date.now. */
  readonly now?: () => number;
}

/** What the verifier needs from an HTTP request: the raw request target and raw headers, and the body bytes as received. */
export interface RawRequest {
  readonly method: string;
  /** The request target exactly as on the wire: path plus optional `?query`. */
  readonly url: string;
  /** Node's `IncomingMessage.rawHeaders`: [name, value, name, value, ...]. */
  readonly rawHeaders: readonly string[];
  /** The body bytes as received (still compressed when Content-Encoding: gzip). */
  readonly body: Buffer;
}

export type Sigv4Check =
  | 'authorization-header'
  | 'algorithm'
  | 'access-key'
  | 'scope'
  | 'x-amz-date'
  | 'security-token'
  | 'content-sha256'
  | 'signed-headers'
  | 'signature';

export type Sigv4Result =
  | { readonly ok: true; readonly accessKeyId: string; readonly signedHeaders: readonly string[] }
  | { readonly ok: false; readonly check: Sigv4Check; readonly message: string };

const ALGORITHM = 'AWS4-HMAC-SHA256';
const AMZ_DATE_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** RFC 3986 encoding as SigV4 specifies it: everything but A-Z a-z 0-9 - _ . ~ is %XX (upper-case hex, UTF-8). */
export function uriEncode(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(ch)) out += ch;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Canonical URI. For every service but S3 the path is normalised (`//`, `.`, `..`) and each
 * segment, as it appears on the wire (already percent-encoded once), is encoded again: the
 * "double encoding" the SigV4 documentation describes. S3 is the exception: no normalisation,
 * and the decoded key is encoded exactly once with `/` left as is (S3's
 * `UriEncode("/" + key, encodeSlash=false)`, so an encoded `%2F` inside a key signs as `/`).
 */
export function canonicalUri(rawPath: string, service: string): string {
  if (rawPath === '' || rawPath === '/') return '/';
  if (service === 's3') {
    return rawPath
      .split('/')
      .map((seg) => uriEncode(safeDecode(seg)).replace(/%2F/g, '/'))
      .join('/');
  }
  const segments: string[] = [];
  const parts = rawPath.replace(/\/{2,}/g, '/').split('/');
  for (let i = 0; i < parts.length; i++) {
    const seg = parts[i] as string;
    if (seg === '..') segments.pop();
    else if (seg !== '.') segments.push(uriEncode(seg));
    // keep an empty first segment (leading slash) and a trailing empty segment (trailing slash)
  }
  let p = segments.join('/');
  if (!p.startsWith('/')) p = `/${p}`;
  return p;
}

/** Canonical query string: decode each name/value as received, re-encode, sort by name then value. */
export function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs: Array<[string, string]> = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    pairs.push([
      uriEncode(safeDecode(name.replace(/\+/g, '%20'))),
      uriEncode(safeDecode(value.replace(/\+/g, '%20'))),
    ]);
  }
  pairs.sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0,
  );
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** Header name (lower case) -> values in arrival order, from Node's rawHeaders. */
export function headerValues(rawHeaders: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const list = out.get(name) ?? [];
    list.push(rawHeaders[i + 1] as string);
    out.set(name, list);
  }
  return out;
}

function canonicalHeaderValue(values: readonly string[]): string {
  return values.map((v) => v.trim().replace(/\s+/g, ' ')).join(',');
}

interface ParsedAuthorization {
  algorithm: string;
  accessKeyId: string;
  scopeDate: string;
  scopeRegion: string;
  scopeService: string;
  scopeTerminator: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(value: string): ParsedAuthorization | string {
  const sp = value.indexOf(' ');
  if (sp < 0) return 'Authorization header has no parameters';
  const algorithm = value.slice(0, sp);
  const params = new Map<string, string>();
  for (const piece of value.slice(sp + 1).split(',')) {
    const p = piece.trim();
    const eq = p.indexOf('=');
    if (eq < 0) return `malformed Authorization parameter ${JSON.stringify(p)}`;
    params.set(p.slice(0, eq), p.slice(eq + 1));
  }
  const credential = params.get('Credential');
  const signedHeaders = params.get('SignedHeaders');
  const signature = params.get('Signature');
  if (!credential || !signedHeaders || !signature) {
    return 'Authorization header must contain Credential, SignedHeaders and Signature';
  }
  const scope = credential.split('/');
  if (scope.length !== 5)
    return `Credential ${JSON.stringify(credential)} is not <key>/<date>/<region>/<service>/aws4_request`;
  const [accessKeyId, scopeDate, scopeRegion, scopeService, scopeTerminator] = scope as [
    string,
    string,
    string,
    string,
    string,
  ];
  return {
    algorithm,
    accessKeyId,
    scopeDate,
    scopeRegion,
    scopeService,
    scopeTerminator,
    signedHeaders: signedHeaders.split(';'),
    signature,
  };
}

export function deriveSigningKey(
  secret: string,
  date: string,
  region: string,
  service: string,
): Buffer {
  const kDate = hmac(`AWS4${secret}`, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

export class Sigv4Verifier {
  private readonly maxSkewMs: number;
  private readonly now: () => number;

  constructor(readonly options: Sigv4VerifierOptions) {
    this.maxSkewMs = options.maxSkewMs ?? 5 * 60 * 1000;
    this.now = options.now ?? Date.now;
  }

  verify(req: RawRequest): Sigv4Result {
    const fail = (check: Sigv4Check, message: string): Sigv4Result => ({
      ok: false,
      check,
      message,
    });
    const headers = headerValues(req.rawHeaders);
    const one = (name: string): string | undefined => {
      const v = headers.get(name);
      return v === undefined ? undefined : canonicalHeaderValue(v);
    };

    const authValues = headers.get('authorization');
    if (!authValues || authValues.length === 0)
      return fail('authorization-header', 'Missing Authentication Token');
    if (authValues.length > 1)
      return fail('authorization-header', 'more than one Authorization header');
    const auth = parseAuthorization(authValues[0] as string);
    if (typeof auth === 'string') return fail('authorization-header', auth);

    if (auth.algorithm !== ALGORITHM) {
      return fail('algorithm', `algorithm ${JSON.stringify(auth.algorithm)} is not ${ALGORITHM}`);
    }
    const { credentials, region, service } = this.options;
    if (auth.accessKeyId !== credentials.accessKeyId) {
      return fail(
        'access-key',
        `The security token included in the request is invalid (unknown access key ${auth.accessKeyId})`,
      );
    }
    if (!/^\d{8}$/.test(auth.scopeDate) || auth.scopeTerminator !== 'aws4_request') {
      return fail(
        'scope',
        `malformed credential scope ${auth.scopeDate}/${auth.scopeRegion}/${auth.scopeService}/${auth.scopeTerminator}`,
      );
    }
    if (auth.scopeRegion !== region) {
      return fail(
        'scope',
        `Credential should be scoped to a valid region: got '${auth.scopeRegion}', expected '${region}'`,
      );
    }
    if (auth.scopeService !== service) {
      return fail(
        'scope',
        `Credential should be scoped to correct service: got '${auth.scopeService}', expected '${service}'`,
      );
    }

    const amzDate = one('x-amz-date');
    if (amzDate === undefined)
      return fail(
        'x-amz-date',
        'x-amz-date header is missing (the Date header is not accepted here)',
      );
    const dm = AMZ_DATE_RE.exec(amzDate);
    if (!dm)
      return fail('x-amz-date', `x-amz-date ${JSON.stringify(amzDate)} is not YYYYMMDDTHHMMSSZ`);
    if (amzDate.slice(0, 8) !== auth.scopeDate) {
      return fail(
        'x-amz-date',
        `credential scope date ${auth.scopeDate} does not match x-amz-date ${amzDate}`,
      );
    }
    const signedAt = Date.UTC(+dm[1]!, +dm[2]! - 1, +dm[3]!, +dm[4]!, +dm[5]!, +dm[6]!);
    const skew = Math.abs(this.now() - signedAt);
    if (skew > this.maxSkewMs) {
      return fail(
        'x-amz-date',
        `Signature expired or not yet valid: x-amz-date ${amzDate} is ${Math.round(skew / 1000)} s from server time`,
      );
    }

    if (credentials.sessionToken !== undefined) {
      const token = headers.get('x-amz-security-token');
      if (!token)
        return fail(
          'security-token',
          'x-amz-security-token header is missing but the credentials are temporary',
        );
      if (token.length !== 1 || token[0] !== credentials.sessionToken) {
        return fail(
          'security-token',
          'The security token included in the request is invalid (x-amz-security-token does not match)',
        );
      }
    }

    const contentSha = one('x-amz-content-sha256');
    const actualSha = sha256Hex(req.body);
    if (contentSha === undefined)
      return fail('content-sha256', 'x-amz-content-sha256 header is missing');
    if (contentSha === 'UNSIGNED-PAYLOAD') {
      if (!this.options.allowUnsignedPayload)
        return fail('content-sha256', 'x-amz-content-sha256 UNSIGNED-PAYLOAD is not accepted here');
    } else if (contentSha !== actualSha) {
      return fail(
        'content-sha256',
        `The provided 'x-amz-content-sha256' header does not match what was computed: header ${contentSha}, body (${req.body.length} bytes as received) ${actualSha}`,
      );
    }

    const signed = auth.signedHeaders;
    const sortedUnique = [...new Set(signed)].sort();
    if (
      signed.join(';') !== sortedUnique.join(';') ||
      signed.some((h) => h !== h.toLowerCase() || h === '')
    ) {
      return fail(
        'signed-headers',
        `SignedHeaders ${signed.join(';')} must be lower case, sorted and unique`,
      );
    }
    const required = ['host', 'x-amz-date', ...(service === 's3' ? ['x-amz-content-sha256'] : [])];
    for (const h of required) {
      if (!signed.includes(h))
        return fail(
          'signed-headers',
          `header ${h} must be signed (SignedHeaders=${signed.join(';')})`,
        );
    }
    for (const h of signed) {
      if (!headers.has(h))
        return fail('signed-headers', `signed header ${h} is not in the request`);
    }

    const q = req.url.indexOf('?');
    const rawPath = q < 0 ? req.url : req.url.slice(0, q);
    const rawQuery = q < 0 ? '' : req.url.slice(q + 1);
    const payloadHash = contentSha;
    const canonicalRequest = [
      req.method.toUpperCase(),
      canonicalUri(rawPath, service),
      canonicalQuery(rawQuery),
      signed.map((h) => `${h}:${one(h) ?? ''}\n`).join(''),
      signed.join(';'),
      payloadHash,
    ].join('\n');
    const scope = `${auth.scopeDate}/${auth.scopeRegion}/${auth.scopeService}/aws4_request`;
    const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
    const key = deriveSigningKey(
      credentials.secretAccessKey,
      auth.scopeDate,
      auth.scopeRegion,
      auth.scopeService,
    );
    const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
    const given = Buffer.from(auth.signature, 'utf8');
    const want = Buffer.from(expected, 'utf8');
    if (given.length !== want.length || !timingSafeEqual(given, want)) {
      return fail(
        'signature',
        `The request signature we calculated does not match the signature you provided. Canonical request:\n${canonicalRequest}\nString to sign:\n${stringToSign}`,
      );
    }
    return { ok: true, accessKeyId: auth.accessKeyId, signedHeaders: signed };
  }
}

/**
 * An S3 stand-in on 127.0.0.1 for the dead-letter bucket: path-style PutObject / GetObject /
 * HeadObject / DeleteObject / DeleteObjects / CopyObject / ListObjectsV2, SigV4 with service `s3`
 * verified by the same independent verifier (the real payload hash is required; UNSIGNED-PAYLOAD
 * only when `allowUnsignedPayload` is set), S3-style XML errors, and fault injection.
 *
 * Error codes and statuses follow the S3 API reference ("Error responses"): NoSuchBucket 404,
 * NoSuchKey 404, SignatureDoesNotMatch / AccessDenied / InvalidAccessKeyId 403, BadDigest 400,
 * InternalError 500, SlowDown 503, ServiceUnavailable 503.
 * Operations (S3 API reference):
 *  - ListObjectsV2 (`list-type=2`): keys in UTF-8 binary order; `prefix`, `delimiter`
 *    (CommonPrefixes), `max-keys` (default and maximum 1000), `start-after`, an opaque
 *    `continuation-token` answered by `NextContinuationToken` while `IsTruncated`; `KeyCount`
 *    counts keys and common prefixes; `encoding-type=url` URL-encodes the keys in the answer.
 *  - DeleteObject: 204 whether or not the key exists.
 *  - DeleteObjects (`POST ?delete`): `<Delete><Object><Key>..` answered per key in
 *    `<DeleteResult><Deleted>`; `<Quiet>true` lists only errors.
 *  - CopyObject: PUT with `x-amz-copy-source: [/]bucket/key` (URL-encoded), 200 with
 *    `<CopyObjectResult><ETag>..<LastModified>..`; a missing source is 404 NoSuchKey; the content
 *    type is copied (metadata directive COPY, the default).
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { crc32 } from 'node:zlib';
import { BodyTooLarge, readBody, ServerLifecycle } from './http-util';
import { headerValues, Sigv4Verifier, type Sigv4Credentials } from './sigv4-verifier';

export interface S3Object {
  readonly bucket: string;
  readonly key: string;
  readonly body: Buffer;
  readonly contentType: string | undefined;
  readonly etag: string;
  readonly storedAt: number;
  /** How many times this key was written (a retried dead letter overwrites the same key). */
  readonly writes: number;
}

export interface S3RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly bucket: string | undefined;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly bodyBytes: number;
  status: number;
  note: string | undefined;
}

export interface S3StandInOptions {
  readonly buckets: readonly string[];
  readonly auth?: 'sigv4' | 'none';
  readonly region?: string;
  readonly credentials?: Sigv4Credentials;
  readonly allowUnsignedPayload?: boolean;
  readonly maxObjectBytes?: number;
  readonly now?: () => number;
}

function xmlEscape(s: string): string {
  return s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string,
  );
}

function xmlUnescape(s: string): string {
  return s.replace(
    /&(lt|gt|amp|apos|quot);/g,
    (_m, e: string) => ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' })[e] as string,
  );
}

export class S3StandIn {
  readonly requests: S3RecordedRequest[] = [];
  private readonly objects = new Map<string, S3Object>();
  private readonly buckets: Set<string>;
  private readonly verifier: Sigv4Verifier | undefined;
  private readonly now: () => number;
  private failQueue: number[] = [];
  private readonly unreadableKeys = new Map<string, 403 | 500>();
  private failUntil = 0;
  private failUntilStatus = 503;
  private lifecycle!: ServerLifecycle;
  port = 0;

  private constructor(readonly options: S3StandInOptions) {
    this.buckets = new Set(options.buckets);
    this.now = options.now ?? Date.now;
    if ((options.auth ?? 'sigv4') === 'sigv4') {
      if (!options.credentials) throw new Error('sigv4 auth needs credentials');
      this.verifier = new Sigv4Verifier({
        region: options.region ?? 'us-east-1',
        service: 's3',
        credentials: options.credentials,
        allowUnsignedPayload: options.allowUnsignedPayload ?? false,
        now: this.now,
      });
    }
  }

  static async start(options: S3StandInOptions): Promise<S3StandIn> {
    const s = new S3StandIn(options);
    const server = http.createServer((req, res) => {
      void s.lifecycle.track(s.handle(req, res));
    });
    s.lifecycle = new ServerLifecycle(server);
    s.port = await s.lifecycle.listen();
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    await this.lifecycle.close();
  }

  /** The next `n` PutObject requests fail with `status` (500 InternalError or 503 SlowDown). */
  failNextPuts(n: number, status: 500 | 503 = 503): this {
    for (let i = 0; i < n; i++) this.failQueue.push(status);
    return this;
  }

  /** Every PutObject fails with `status` for `ms` from now. */
  failPutsFor(ms: number, status: 500 | 503 = 503): this {
    this.failUntil = this.now() + ms;
    this.failUntilStatus = status;
    return this;
  }

  /**
   * GetObject and HeadObject of this key fail until heal(): 500 InternalError or 403 AccessDenied
   * (e.g. an object encrypted with a KMS key the reader may not use). Listing still shows it.
   */
  makeUnreadable(bucket: string, key: string, status: 403 | 500 = 500): this {
    this.unreadableKeys.set(`${bucket}/${key}`, status);
    return this;
  }

  /** Stores an object directly (test setup, no request logged). */
  putDirect(bucket: string, key: string, body: string | Buffer, contentType?: string): void {
    const buf = Buffer.from(body);
    const prev = this.objects.get(`${bucket}/${key}`);
    this.objects.set(`${bucket}/${key}`, {
      bucket,
      key,
      body: buf,
      contentType,
      etag: `"${createHash('md5').update(buf).digest('hex')}"`,
      storedAt: this.now(),
      writes: (prev?.writes ?? 0) + 1,
    });
  }

  /** Ends any failure window and clears queued failures and unreadable keys. */
  heal(): void {
    this.failQueue = [];
    this.failUntil = 0;
    this.unreadableKeys.clear();
  }

  reset(): void {
    this.heal();
    this.objects.clear();
    this.requests.length = 0;
  }

  /** All stored objects of a bucket, sorted by key. */
  list(bucket: string): S3Object[] {
    return [...this.objects.values()]
      .filter((o) => o.bucket === bucket)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  get(bucket: string, key: string): S3Object | undefined {
    return this.objects.get(`${bucket}/${key}`);
  }

  /** ListObjectsV2 (and V1's `marker` for callers that still use it). */
  private listObjects(bucket: string, query: URLSearchParams): string {
    const v2 = query.get('list-type') === '2';
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const maxKeys = Math.min(1000, Number(query.get('max-keys') ?? '1000'));
    const token = query.get('continuation-token');
    const startAfter = query.get('start-after') ?? '';
    const after = v2
      ? token !== null
        ? Buffer.from(token, 'base64url').toString('utf8')
        : startAfter
      : (query.get('marker') ?? '');
    const urlEncode = query.get('encoding-type') === 'url';
    const enc = (k: string): string => xmlEscape(urlEncode ? encodeURIComponent(k) : k);
    // S3 lists keys in UTF-8 binary order.
    const keys = this.list(bucket)
      .filter((o) => o.key.startsWith(prefix))
      .sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    const entries: Array<{ key: string; obj?: S3Object }> = [];
    const seenPrefixes = new Set<string>();
    for (const o of keys) {
      const rest = o.key.slice(prefix.length);
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      const entryKey = cut >= 0 ? prefix + rest.slice(0, cut + delimiter.length) : o.key;
      if (Buffer.compare(Buffer.from(entryKey), Buffer.from(after)) <= 0 && after !== '') continue;
      if (cut >= 0) {
        if (seenPrefixes.has(entryKey)) continue;
        seenPrefixes.add(entryKey);
        entries.push({ key: entryKey });
      } else entries.push({ key: o.key, obj: o });
    }
    const page = entries.slice(0, maxKeys);
    const truncated = entries.length > page.length;
    const last = page[page.length - 1]?.key;
    const contents = page
      .filter((e) => e.obj)
      .map(
        (e) =>
          `<Contents><Key>${enc(e.key)}</Key><LastModified>${new Date(e.obj!.storedAt).toISOString()}</LastModified><ETag>${xmlEscape(e.obj!.etag)}</ETag><Size>${e.obj!.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
      )
      .join('');
    const common = page
      .filter((e) => !e.obj)
      .map((e) => `<CommonPrefixes><Prefix>${enc(e.key)}</Prefix></CommonPrefixes>`)
      .join('');
    const paging = v2
      ? `<KeyCount>${page.length}</KeyCount>${token !== null ? `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>` : ''}${truncated && last ? `<NextContinuationToken>${Buffer.from(last).toString('base64url')}</NextContinuationToken>` : ''}${startAfter ? `<StartAfter>${enc(startAfter)}</StartAfter>` : ''}`
      : `<Marker>${enc(after)}</Marker>${truncated && last && delimiter ? `<NextMarker>${enc(last)}</NextMarker>` : ''}`;
    return `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xmlEscape(bucket)}</Name><Prefix>${enc(prefix)}</Prefix>${delimiter ? `<Delimiter>${enc(delimiter)}</Delimiter>` : ''}<MaxKeys>${maxKeys}</MaxKeys>${urlEncode ? '<EncodingType>url</EncodingType>' : ''}<IsTruncated>${truncated}</IsTruncated>${paging}${contents}${common}</ListBucketResult>`;
  }

  private copyObject(
    bucket: string,
    key: string,
    copySource: string,
    send: (status: number, body?: string, extra?: Record<string, string>) => void,
    error: (status: number, code: string, message: string) => void,
  ): void {
    const raw = decodeURIComponent(copySource.split('?')[0]!).replace(/^\//, '');
    const slash = raw.indexOf('/');
    const srcBucket = slash < 0 ? raw : raw.slice(0, slash);
    const srcKey = slash < 0 ? '' : raw.slice(slash + 1);
    if (!this.buckets.has(srcBucket))
      return error(404, 'NoSuchBucket', 'The specified bucket does not exist');
    const src = this.objects.get(`${srcBucket}/${srcKey}`);
    if (!src) return error(404, 'NoSuchKey', 'The specified key does not exist.');
    if (this.unreadableKeys.get(`${srcBucket}/${srcKey}`) === 403)
      return error(403, 'AccessDenied', 'Access Denied');
    this.putDirect(bucket, key, src.body, src.contentType);
    const copy = this.objects.get(`${bucket}/${key}`)!;
    return send(
      200,
      `<?xml version="1.0" encoding="UTF-8"?>\n<CopyObjectResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LastModified>${new Date(copy.storedAt).toISOString()}</LastModified><ETag>${xmlEscape(copy.etag)}</ETag></CopyObjectResult>`,
      { 'content-type': 'application/xml' },
    );
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    const headers: Record<string, string> = {};
    for (const [k, v] of headerValues(req.rawHeaders)) headers[k] = v.join(', ');
    const slash = path.indexOf('/', 1);
    const bucket =
      path.length > 1
        ? decodeURIComponent(slash < 0 ? path.slice(1) : path.slice(1, slash))
        : undefined;
    const keyRaw = slash < 0 ? '' : path.slice(slash + 1);
    const key = keyRaw === '' ? undefined : decodeURIComponent(keyRaw);
    const rec: S3RecordedRequest = {
      method: req.method ?? 'GET',
      url,
      bucket,
      key,
      headers,
      bodyBytes: 0,
      status: 0,
      note: undefined,
    };
    this.requests.push(rec);

    const send = (status: number, body = '', extra: Record<string, string> = {}): void => {
      rec.status = status;
      if (res.destroyed || res.writableEnded) return;
      res.writeHead(status, {
        'x-amz-request-id': createHash('md5')
          .update(url + this.requests.length)
          .digest('hex')
          .slice(0, 16)
          .toUpperCase(),
        ...extra,
        'content-length': String(Buffer.byteLength(body)),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const error = (
      status: number,
      code: string,
      message: string,
      extra: Record<string, string> = {},
    ): void => {
      rec.note = `${code}: ${message.split('\n')[0]}`;
      const fields = Object.entries(extra)
        .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
        .join('');
      send(
        status,
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message>${bucket ? `<BucketName>${xmlEscape(bucket)}</BucketName>` : ''}${key ? `<Key>${xmlEscape(key)}</Key>` : ''}${fields}<RequestId>STANDIN</RequestId></Error>`,
        { 'content-type': 'application/xml' },
      );
    };

    let body: Buffer;
    try {
      body = await readBody(req, this.options.maxObjectBytes ?? 5 * 1024 * 1024 * 1024);
    } catch (e) {
      if (e instanceof BodyTooLarge)
        return error(
          400,
          'EntityTooLarge',
          'Your proposed upload exceeds the maximum allowed size',
        );
      rec.note = `body read failed: ${(e as Error).message}`;
      return;
    }
    (rec as { bodyBytes: number }).bodyBytes = body.length;

    if (this.verifier) {
      const v = this.verifier.verify({ method: rec.method, url, rawHeaders: req.rawHeaders, body });
      if (!v.ok) {
        const code =
          v.check === 'access-key'
            ? 'InvalidAccessKeyId'
            : v.check === 'content-sha256'
              ? 'XAmzContentSHA256Mismatch'
              : v.check === 'signature'
                ? 'SignatureDoesNotMatch'
                : 'AccessDenied';
        return error(v.check === 'content-sha256' ? 400 : 403, code, v.message, { Check: v.check });
      }
    }
    if (bucket === undefined)
      return error(400, 'InvalidRequest', 'path-style requests only: /<bucket>/<key>');
    if (!this.buckets.has(bucket))
      return error(404, 'NoSuchBucket', 'The specified bucket does not exist');

    if (rec.method === 'PUT' && key !== undefined) {
      const injected =
        this.failQueue.shift() ?? (this.now() < this.failUntil ? this.failUntilStatus : undefined);
      if (injected !== undefined) {
        return injected === 500
          ? error(500, 'InternalError', 'We encountered an internal error. Please try again.')
          : error(503, 'SlowDown', 'Please reduce your request rate.');
      }
      const copySource = headers['x-amz-copy-source'];
      if (copySource !== undefined) return this.copyObject(bucket, key, copySource, send, error);
      const md5 = headers['content-md5'];
      if (md5 !== undefined && md5 !== createHash('md5').update(body).digest('base64')) {
        return error(
          400,
          'BadDigest',
          'The Content-MD5 you specified did not match what we received.',
        );
      }
      const crc = headers['x-amz-checksum-crc32'];
      if (crc !== undefined) {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(crc32(body) >>> 0);
        if (crc !== b.toString('base64'))
          return error(
            400,
            'BadDigest',
            'The CRC32 you specified did not match the calculated checksum.',
          );
      }
      this.putDirect(bucket, key, body, headers['content-type']);
      return send(200, '', { etag: this.objects.get(`${bucket}/${key}`)!.etag });
    }
    if ((rec.method === 'GET' || rec.method === 'HEAD') && key !== undefined) {
      const obj = this.objects.get(`${bucket}/${key}`);
      if (!obj) return error(404, 'NoSuchKey', 'The specified key does not exist.');
      const unreadable = this.unreadableKeys.get(`${bucket}/${key}`);
      if (unreadable === 403) return error(403, 'AccessDenied', 'Access Denied');
      if (unreadable === 500)
        return error(500, 'InternalError', 'We encountered an internal error. Please try again.');
      rec.note = undefined;
      res.writeHead(200, {
        etag: obj.etag,
        'content-type': obj.contentType ?? 'binary/octet-stream',
        'last-modified': new Date(obj.storedAt).toUTCString(),
        'content-length': String(obj.body.length),
      });
      rec.status = 200;
      res.end(rec.method === 'HEAD' ? undefined : obj.body);
      return;
    }
    if (rec.method === 'DELETE' && key !== undefined) {
      this.objects.delete(`${bucket}/${key}`);
      return send(204);
    }
    if (rec.method === 'POST' && key === undefined && query.has('delete')) {
      const xml = body.toString('utf8');
      const keys = [...xml.matchAll(/<Object>\s*<Key>([\s\S]*?)<\/Key>/g)].map((m) =>
        xmlUnescape(m[1]!),
      );
      const quiet = /<Quiet>\s*true\s*<\/Quiet>/i.test(xml);
      for (const k of keys) this.objects.delete(`${bucket}/${k}`);
      const deleted = quiet
        ? ''
        : keys.map((k) => `<Deleted><Key>${xmlEscape(k)}</Key></Deleted>`).join('');
      return send(
        200,
        `<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${deleted}</DeleteResult>`,
        { 'content-type': 'application/xml' },
      );
    }
    if (rec.method === 'GET' && key === undefined) {
      return send(200, this.listObjects(bucket, query), { 'content-type': 'application/xml' });
    }
    return error(
      405,
      'MethodNotAllowed',
      'The specified method is not allowed against this resource.',
    );
  }
}

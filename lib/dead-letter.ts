/**
 * The only module that knows S3. Dead letters are JSON objects, one per record:
 *
 *   s3://<DEAD_LETTER_BUCKET>/<DEAD_LETTER_PREFIX>YYYY/MM/DD/HH/<identifier>-<eventID>.json
 *
 * holding the full record as received, its source (`dynamodb`, `kinesis`, `scan`), the error type
 * and reason, the index and the time. The identifier is the stream's sequence number; the date is
 * the change's creation time (UTC) when it has one, so re-writing the same record after a retry
 * lands on the same key instead of creating a copy.
 *
 * Writes are retried here too (`createDeadLetterWriter`): a few attempts with backoff, each bounded
 * by the invocation's deadline, a few at a time.
 *
 * A PutObject is a single signed HTTPS request, so it is made with aws4 (already used by the
 * OpenSearch signer) rather than the S3 client, which would add about 1 MB to the bundle.
 * With AWS_ENDPOINT_URL_S3 set (a local S3-compatible server), path-style addressing is used.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import aws4 from 'aws4';
import type { Config } from './config';
import type { AwsCredentials, CredentialProvider } from './credentials';
import { withTimeout, type Deadline } from './deadline';
import { DeadLetterWriteError, describeError } from './errors';
import type { RecordIdentity, SourceName } from './records';
import { backoffMs, limiter, type RetryPolicy } from './retry';
import { dynamodbSource } from './sources/dynamodb';
import { MAX_SECONDS } from './versions';

export interface DeadLetter {
  /** The record exactly as it was received (a Lambda event record, or a scanned item). */
  readonly record: unknown;
  readonly errorType: string;
  readonly reason: string;
  readonly documentId?: string | undefined;
  /** Which adapter reads `record` back (a re-drive replays it through the same one). */
  readonly source?: SourceName | undefined;
  /** Names the object; taken from a DynamoDB stream record when absent. */
  readonly identity?: RecordIdentity | undefined;
}

export interface DeadLetterSink {
  /** Where letters go, for logs: `s3://bucket/prefix`. */
  readonly location: string;
  /** Stores one letter; resolves with its key, rejects with DeadLetterWriteError. */
  write(letter: DeadLetter, timeoutMs: number): Promise<string>;
  /** The `s3://bucket/key` address of a stored letter, for logs. */
  uri(key: string): string;
}

export interface S3DeadLetterOptions {
  readonly bucket: string;
  readonly prefix: string;
  readonly region: string;
  readonly index: string;
  /** AWS_ENDPOINT_URL_S3: a custom endpoint, addressed path-style. */
  readonly endpoint: URL | undefined;
  readonly getCredentials: CredentialProvider;
  readonly now?: () => Date;
}

const SAFE_KEY_PART = /[^A-Za-z0-9._-]/g;

export function deadLetterKey(
  prefix: string,
  record: unknown,
  now: Date,
  identity: RecordIdentity = dynamodbSource.identity(record),
): string {
  const created = identity.createdSeconds;
  // A creation time beyond any plausible date (the clamp) is garbage: date the letter by now.
  const stamp = (
    created > 0 && created < MAX_SECONDS ? new Date(created * 1000) : now
  ).toISOString();
  const datePath = `${stamp.slice(0, 4)}/${stamp.slice(5, 7)}/${stamp.slice(8, 10)}/${stamp.slice(11, 13)}`;
  const seq = identity.identifier;
  const eventId = identity.eventId;
  const name =
    seq !== undefined
      ? `${seq}-${eventId ?? 'no-event-id'}`
      : `no-sequence-${createHash('sha256').update(safeStringify(record)).digest('hex').slice(0, 32)}`;
  return `${prefix}${datePath}/${name.replace(SAFE_KEY_PART, '_').slice(0, 200)}.json`;
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function createS3DeadLetterSink(options: S3DeadLetterOptions): DeadLetterSink {
  const now = options.now ?? (() => new Date());
  const pathStyle = options.endpoint !== undefined || options.bucket.includes('.');
  const base = options.endpoint ?? new URL(`https://s3.${options.region}.amazonaws.com`);
  const host = pathStyle ? base.host : `${options.bucket}.${base.host}`;
  const keyPrefix = pathStyle ? `/${options.bucket}/` : '/';
  const transport = base.protocol === 'http:' ? http : https;
  const agent = new transport.Agent({ keepAlive: true, maxSockets: 16 });

  return {
    location: `s3://${options.bucket}/${options.prefix}`,
    async write(letter, timeoutMs) {
      const failedAt = now();
      const key = deadLetterKey(options.prefix, letter.record, failedAt, letter.identity);
      const body = JSON.stringify({
        errorType: letter.errorType,
        reason: letter.reason,
        index: options.index,
        documentId: letter.documentId,
        failedAt: failedAt.toISOString(),
        source: letter.source ?? 'dynamodb',
        record: letter.record,
      });
      const deadline = Date.now() + timeoutMs;
      let credentials;
      try {
        credentials = await withTimeout(options.getCredentials(), timeoutMs, 'credentials');
      } catch (error) {
        throw new DeadLetterWriteError(undefined, `no credentials: ${describeError(error)}`, {
          cause: error,
        });
      }
      const signed = aws4.sign(
        {
          host,
          path: keyPrefix + key,
          method: 'PUT',
          service: 's3',
          region: options.region,
          headers: {
            'content-type': 'application/json',
            'x-amz-content-sha256': createHash('sha256').update(body, 'utf8').digest('hex'),
          },
          body,
        },
        toAws4Credentials(credentials),
      );
      const { status, code } = await put(transport, agent, base, signed, body, {
        remainingMs: Math.max(1, deadline - Date.now()),
        timeoutMs,
      });
      // Anything but a 2xx is a failure (Node's client never ends on a 1xx: it reports those as
      // 'information' and waits for the final answer).
      if (Math.floor(status / 100) !== 2) {
        throw new DeadLetterWriteError(
          status,
          `PutObject ${key} answered ${code ?? 'HTTP'} ${status}`,
        );
      }
      return key;
    },
    uri: (key) => `s3://${options.bucket}/${key}`,
  };
}

function put(
  transport: typeof http | typeof https,
  agent: http.Agent,
  base: URL,
  signed: aws4.Request,
  body: string,
  { remainingMs, timeoutMs }: { remainingMs: number; timeoutMs: number },
): Promise<{ status: number; code: string | undefined }> {
  return new Promise((resolve, reject) => {
    const request = transport.request(
      {
        protocol: base.protocol,
        // URL keeps an IPv6 address in brackets (`[::1]`); the socket wants the bare address.
        hostname: base.hostname.startsWith('[') ? base.hostname.slice(1, -1) : base.hostname,
        port: base.port || undefined,
        method: 'PUT',
        path: signed.path,
        headers: signed.headers as http.OutgoingHttpHeaders,
        agent,
      },
      (response) => {
        // A success has no body; an error has a short XML document whose <Code> is worth logging.
        // Stryker disable next-line StringLiteral: a non-empty start only puts text before the body, where the <Code> search does not find it, and the 2048-character cap is reached by the body's first chunk either way in every test and every S3 answer (an XML error fits one chunk).
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (text.length < 2048) text += chunk;
        });
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            code: /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1],
          }),
        );
        response.on('error', (error) => reject(wrap(error)));
      },
    );
    // Bounds the whole exchange (connecting, a server that trickles bytes), not only idle time.
    const deadline = setTimeout(
      () => request.destroy(new Error(`timed out after ${timeoutMs} ms`)),
      Math.max(1, Math.floor(remainingMs)),
    );
    request.on('close', () => clearTimeout(deadline));
    request.on('error', (error) => reject(wrap(error)));
    request.end(body);
  });
}

function toAws4Credentials(c: AwsCredentials): aws4.Credentials {
  const base = { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey };
  return c.sessionToken ? { ...base, sessionToken: c.sessionToken } : base;
}

function wrap(error: unknown): DeadLetterWriteError {
  return new DeadLetterWriteError(undefined, describeError(error), { cause: error });
}

/** Attempts per dead letter: S3 is rarely down, and every attempt spends the invocation's time. */
export const DEAD_LETTER_ATTEMPTS = 3;
/** Letters written at once: a poison batch can hold hundreds; S3 takes them in parallel. */
export const DEAD_LETTER_CONCURRENCY = 8;
/** One PutObject of a few KB answers in well under a second; 5 s means S3 is in trouble. */
export const DEAD_LETTER_TIMEOUT_MS = 5_000;

export type DeadLetterOutcome =
  { readonly ok: true; readonly key: string } | { readonly ok: false; readonly error: unknown };

export interface DeadLetterWriterOptions {
  /** Bounds every attempt and every wait between attempts. */
  readonly deadline: Deadline;
  readonly policy: RetryPolicy;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
}

/**
 * Writes letters through `sink` with retries: up to DEAD_LETTER_ATTEMPTS per letter, backoff
 * between them, never an attempt or a wait past the deadline, DEAD_LETTER_CONCURRENCY at a time.
 * Resolves with the key, or with the last error when the letter could not be kept.
 */
export function createDeadLetterWriter(
  sink: DeadLetterSink,
  options: DeadLetterWriterOptions,
): (letter: DeadLetter) => Promise<DeadLetterOutcome> {
  const queue = limiter(DEAD_LETTER_CONCURRENCY);
  const { deadline, policy, sleep, random } = options;
  return (letter) =>
    queue(async () => {
      let lastError: unknown;
      for (let attempt = 1; attempt <= DEAD_LETTER_ATTEMPTS; attempt++) {
        const timeout = deadline.timeoutFor(DEAD_LETTER_TIMEOUT_MS);
        if (timeout === undefined) break;
        try {
          return { ok: true, key: await sink.write(letter, timeout) };
        } catch (error) {
          lastError = error;
          const delay = backoffMs(attempt, policy, random);
          if (!deadline.canWait(delay)) break;
          if (attempt < DEAD_LETTER_ATTEMPTS) await sleep(delay);
        }
      }
      return { ok: false, error: lastError };
    });
}

/**
 * The S3 sink the configuration names (DEAD_LETTER_BUCKET, DEAD_LETTER_PREFIX, AWS_REGION,
 * AWS_ENDPOINT_URL_S3), or undefined when no bucket is set. `index` is the index letters name
 * (the backfill writes through its own target index).
 */
export function s3DeadLetterSinkFor(
  config: Config,
  getCredentials: CredentialProvider,
  index: string = config.index,
): DeadLetterSink | undefined {
  if (config.deadLetterBucket === undefined) return undefined;
  return createS3DeadLetterSink({
    bucket: config.deadLetterBucket,
    prefix: config.deadLetterPrefix,
    region: config.region,
    index,
    endpoint: config.s3Endpoint,
    getCredentials,
  });
}

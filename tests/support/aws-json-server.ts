/**
 * The AWS JSON 1.0 protocol as the SQS and DynamoDB Streams stand-ins speak it: `POST /` with
 * `X-Amz-Target: <ServiceTarget>.<Operation>` and a JSON body; answers `application/x-amz-json-1.0`;
 * errors are `{"__type": "<namespace>#<Code>", "message": ...}` with the HTTP status of the error
 * (Smithy "AWS JSON 1.0 protocol": error type resolution from `__type`). Requests may be SigV4
 * verified with the stand-ins' independent verifier.
 */
import * as http from 'node:http';
import { randomUUID } from 'node:crypto';
import { readBody, ServerLifecycle } from './http-util';
import { Sigv4Verifier, type Sigv4Credentials } from './sigv4-verifier';

export class AwsJsonError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra response headers, e.g. SQS's `x-amzn-query-error`. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface AwsJsonRequestLog {
  readonly operation: string;
  readonly body: Record<string, unknown>;
  status: number;
  errorCode: string | undefined;
}

export interface AwsJsonServerOptions {
  /** `X-Amz-Target` prefix, e.g. `AmazonSQS` or `DynamoDBStreams_20120810`. */
  readonly target: string;
  /** `__type` namespace of errors, e.g. `com.amazonaws.sqs`. */
  readonly errorNamespace: string;
  /** Verify SigV4 for this service/region/credentials; unsigned requests are accepted when absent. */
  readonly sigv4?: {
    readonly service: string;
    readonly region: string;
    readonly credentials: Sigv4Credentials;
  };
  readonly now?: () => number;
}

export type AwsJsonHandler = (
  operation: string,
  body: Record<string, unknown>,
) => Promise<Record<string, unknown>> | Record<string, unknown>;

export class AwsJsonServer {
  readonly requests: AwsJsonRequestLog[] = [];
  private lifecycle!: ServerLifecycle;
  private readonly verifier: Sigv4Verifier | undefined;
  port = 0;

  private constructor(
    private readonly options: AwsJsonServerOptions,
    private readonly handler: AwsJsonHandler,
  ) {
    // Signatures are checked against the real clock: the stand-ins' test clocks move freely.
    if (options.sigv4) this.verifier = new Sigv4Verifier(options.sigv4);
  }

  static async start(
    options: AwsJsonServerOptions,
    handler: AwsJsonHandler,
  ): Promise<AwsJsonServer> {
    const s = new AwsJsonServer(options, handler);
    const server = http.createServer((req, res) => void s.lifecycle.track(s.handle(req, res)));
    s.lifecycle = new ServerLifecycle(server);
    s.port = await s.lifecycle.listen();
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** setTimeout that close() cancels (for long polling). */
  delay(ms: number): Promise<void> {
    return this.lifecycle.delay(ms);
  }

  get closed(): boolean {
    return this.lifecycle.closed;
  }

  async close(): Promise<void> {
    await this.lifecycle.close();
  }

  /** Requests per operation. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.requests) out[r.operation] = (out[r.operation] ?? 0) + 1;
    return out;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
      if (res.destroyed || res.writableEnded) return;
      const text = JSON.stringify(payload);
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.0',
        'content-length': String(Buffer.byteLength(text)),
        'x-amzn-requestid': randomUUID(),
        ...headers,
      });
      res.end(text);
    };
    const fail = (e: AwsJsonError, log?: AwsJsonRequestLog): void => {
      if (log) {
        log.status = e.status;
        log.errorCode = e.code;
      }
      send(
        e.status,
        { __type: `${this.options.errorNamespace}#${e.code}`, message: e.message },
        e.headers,
      );
    };
    let raw: Buffer;
    try {
      raw = await readBody(req, 16 * 1024 * 1024);
    } catch {
      req.socket.destroy();
      return;
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    const dot = target.indexOf('.');
    const operation = dot < 0 ? '' : target.slice(dot + 1);
    if (req.method !== 'POST' || target.slice(0, dot) !== this.options.target)
      return fail(new AwsJsonError(400, 'UnknownOperationException', `unknown target [${target}]`));
    if (this.verifier) {
      const v = this.verifier.verify({
        method: 'POST',
        url: req.url ?? '/',
        rawHeaders: req.rawHeaders,
        body: raw,
      });
      if (!v.ok)
        return fail(
          new AwsJsonError(
            400,
            v.check === 'access-key' ? 'UnrecognizedClientException' : 'InvalidSignatureException',
            v.message.split('\n')[0] ?? 'signature',
          ),
        );
    }
    let body: Record<string, unknown>;
    try {
      body = (raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'))) as Record<string, unknown>;
    } catch {
      return fail(new AwsJsonError(400, 'SerializationException', 'malformed JSON body'));
    }
    const log: AwsJsonRequestLog = { operation, body, status: 0, errorCode: undefined };
    this.requests.push(log);
    try {
      const out = await this.handler(operation, body);
      log.status = 200;
      send(200, out);
    } catch (e) {
      if (e instanceof AwsJsonError) return fail(e, log);
      log.status = 500;
      send(500, { __type: `${this.options.errorNamespace}#InternalFailure`, message: String(e) });
    }
  }
}

/** What every stand-in built on an AwsJsonServer exposes to the tests. */
export abstract class AwsJsonStandIn {
  protected server!: AwsJsonServer;

  /** Endpoint for clients (`endpoint`, or the service's AWS_ENDPOINT_URL_<SERVICE>). */
  get url(): string {
    return this.server.url;
  }

  get requests(): readonly AwsJsonRequestLog[] {
    return this.server.requests;
  }

  /** Requests per operation. */
  counts(): Record<string, number> {
    return this.server.counts();
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}

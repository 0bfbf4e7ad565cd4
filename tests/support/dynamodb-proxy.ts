/**
 * An HTTP proxy on 127.0.0.1 in front of a local DynamoDB (dynalite): it counts requests per
 * operation, records what each asked for, and answers chosen requests with DynamoDB's throttling
 * errors instead of forwarding them, so tests can prove "a resumed run reads less than a full
 * scan", "a missing table touches nothing" and "throttling, even long stretches of it, loses
 * nothing".
 *
 * Sources (Amazon DynamoDB API Reference):
 *  - "Common Errors" / "Error handling with DynamoDB": errors are HTTP 400 with an
 *    application/x-amz-json-1.0 body `{"__type":"com.amazonaws.dynamodb.v20120810#<Code>",
 *    "message":...}`; ThrottlingException ("Rate of requests exceeds the allowed throughput.") and
 *    ProvisionedThroughputExceededException ("The level of configured provisioned throughput for
 *    the table was exceeded...", with `ThrottlingReasons` since 2025) are the throttling codes the
 *    SDKs retry; InternalServerError is HTTP 500.
 *  - Scan / all operations: the operation is named by `X-Amz-Target: DynamoDB_20120810.<Operation>`.
 *  - Responses carry `x-amzn-RequestId` and `x-amz-crc32` (CRC32 of the body).
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { crc32 } from 'node:zlib';
import { readBody, ServerLifecycle } from './http-util';

export type DynamoDBFault =
  | 'ProvisionedThroughputExceededException'
  | 'ThrottlingException'
  | 'RequestLimitExceeded'
  | 'InternalServerError';

export interface ProxiedRequest {
  readonly seq: number;
  readonly at: number;
  /** The operation from X-Amz-Target, e.g. `Scan`. */
  readonly operation: string;
  /** The parsed JSON request (undefined if it was not JSON). */
  readonly body: Record<string, unknown> | undefined;
  /** The fault answered instead of forwarding, if any. */
  fault: DynamoDBFault | undefined;
  status: number;
}

/** Which requests to answer with a fault. All given conditions must hold. */
export interface ThrottleRule {
  /** Operations it applies to (`Scan`, `BatchWriteItem`...); every operation when omitted. */
  readonly operations?: readonly string[];
  /** Default ProvisionedThroughputExceededException. */
  readonly fault?: DynamoDBFault;
  /** Only the next `n` matching requests (the rule then retires). */
  readonly next?: number;
  /** Every matching request until this many ms from now: a long stretch of throttling. */
  readonly forMs?: number;
  /** The k-th matching request (1-based, counted from when the rule was added) is throttled when this says so. */
  readonly schedule?: (k: number) => boolean;
  /** Narrows by request content, e.g. one scan segment. */
  readonly match?: (request: {
    operation: string;
    body: Record<string, unknown> | undefined;
  }) => boolean;
}

const MESSAGES: Record<DynamoDBFault, [number, string]> = {
  ProvisionedThroughputExceededException: [
    400,
    'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
  ],
  ThrottlingException: [400, 'Rate of requests exceeds the allowed throughput.'],
  RequestLimitExceeded: [
    400,
    'Throughput exceeds the current throughput limit for your account. Please contact AWS Support at https://aws.amazon.com/support request a limit increase',
  ],
  InternalServerError: [500, 'Internal server error'],
};

interface ActiveRule {
  readonly rule: ThrottleRule;
  readonly until: number | undefined;
  remaining: number | undefined;
  seen: number;
}

export class DynamoDBProxy {
  readonly requests: ProxiedRequest[] = [];
  /**
   * Rewrites a forwarded DescribeTable answer (`Table` object) before the client sees it, e.g. to
   * report an ItemCount: DynamoDB refreshes it only about every six hours, dynalite never does.
   */
  onDescribeTable: ((table: Record<string, unknown>) => Promise<void> | void) | undefined;
  private rules: ActiveRule[] = [];
  private lifecycle!: ServerLifecycle;
  private seq = 0;
  port = 0;

  private constructor(
    private readonly target: URL,
    private readonly now: () => number,
  ) {}

  /** Starts a proxy on 127.0.0.1 (random port) forwarding to `targetUrl` (also on 127.0.0.1). */
  static async start(targetUrl: string, now: () => number = Date.now): Promise<DynamoDBProxy> {
    const target = new URL(targetUrl);
    if (target.hostname !== '127.0.0.1' && target.hostname !== 'localhost')
      throw new Error(`the proxy only forwards to 127.0.0.1, not ${target.hostname}`);
    const p = new DynamoDBProxy(target, now);
    const server = http.createServer((req, res) => void p.lifecycle.track(p.handle(req, res)));
    p.lifecycle = new ServerLifecycle(server);
    p.port = await p.lifecycle.listen();
    return p;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    await this.lifecycle.close();
  }

  /** Adds a fault rule; returns a function that removes it. */
  throttle(rule: ThrottleRule): () => void {
    const active: ActiveRule = {
      rule,
      until: rule.forMs === undefined ? undefined : this.now() + rule.forMs,
      remaining: rule.next,
      seen: 0,
    };
    this.rules.push(active);
    return () => {
      this.rules = this.rules.filter((r) => r !== active);
    };
  }

  /** Removes every fault rule. */
  heal(): void {
    this.rules = [];
  }

  /** Requests per operation (throttled ones included), e.g. `{Scan: 12, DescribeTable: 1}`. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.requests) out[r.operation] = (out[r.operation] ?? 0) + 1;
    return out;
  }

  /** Requests of one operation; `forwarded` counts only those that reached DynamoDB. */
  count(operation: string, which: 'all' | 'forwarded' | 'faulted' = 'all'): number {
    return this.requests.filter(
      (r) =>
        r.operation === operation &&
        (which === 'all' || (which === 'forwarded') === (r.fault === undefined)),
    ).length;
  }

  /** Clears the request log (rules stay). */
  clearLog(): void {
    this.requests.length = 0;
  }

  private decide(
    operation: string,
    body: Record<string, unknown> | undefined,
  ): DynamoDBFault | undefined {
    const now = this.now();
    this.rules = this.rules.filter(
      (r) =>
        (r.remaining === undefined || r.remaining > 0) && (r.until === undefined || now < r.until),
    );
    for (const r of this.rules) {
      const { rule } = r;
      if (rule.operations && !rule.operations.includes(operation)) continue;
      if (rule.match && !rule.match({ operation, body })) continue;
      r.seen++;
      if (rule.schedule && !rule.schedule(r.seen)) continue;
      if (r.remaining !== undefined) r.remaining--;
      return rule.fault ?? 'ProvisionedThroughputExceededException';
    }
    return undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let raw: Buffer;
    try {
      raw = await readBody(req, 64 * 1024 * 1024);
    } catch {
      req.socket.destroy();
      return;
    }
    const targetHeader = String(req.headers['x-amz-target'] ?? '');
    const operation = targetHeader.slice(targetHeader.indexOf('.') + 1) || '(none)';
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    const rec: ProxiedRequest = {
      seq: ++this.seq,
      at: this.now(),
      operation,
      body,
      fault: this.decide(operation, body),
      status: 0,
    };
    this.requests.push(rec);
    if (rec.fault !== undefined) {
      const [status, message] = MESSAGES[rec.fault];
      const payload: Record<string, unknown> = {
        __type: `com.amazonaws.dynamodb.v20120810#${rec.fault}`,
        message,
      };
      if (
        rec.fault === 'ProvisionedThroughputExceededException' &&
        typeof body?.TableName === 'string'
      )
        payload.ThrottlingReasons = [
          {
            reason:
              operation.includes('Write') ||
              operation.includes('Put') ||
              operation.includes('Delete')
                ? 'TableWriteProvisionedThroughputExceeded'
                : 'TableReadProvisionedThroughputExceeded',
            resource: `arn:aws:dynamodb:us-east-1:000000000000:table/${body.TableName}`,
          },
        ];
      const text = JSON.stringify(payload);
      rec.status = status;
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.0',
        'content-length': String(Buffer.byteLength(text)),
        'x-amzn-requestid': randomBytes(26).toString('hex').toUpperCase().slice(0, 52),
        'x-amz-crc32': String(crc32(text) >>> 0),
      });
      res.end(text);
      return;
    }
    await new Promise<void>((resolve) => {
      const out = http.request(
        {
          host: this.target.hostname,
          port: this.target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent: false,
        },
        (up) => {
          rec.status = up.statusCode ?? 0;
          if (operation === 'DescribeTable' && this.onDescribeTable && up.statusCode === 200) {
            void this.rewriteDescribeTable(up, res, this.onDescribeTable).finally(resolve);
            return;
          }
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          up.on('end', resolve);
          up.on('error', () => resolve());
        },
      );
      out.on('error', (e) => {
        rec.status = 502;
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`proxy: ${e.message}`);
        resolve();
      });
      out.end(raw);
    });
  }

  private async rewriteDescribeTable(
    up: http.IncomingMessage,
    res: http.ServerResponse,
    hook: (table: Record<string, unknown>) => Promise<void> | void,
  ): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of up) chunks.push(c as Buffer);
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      Table: Record<string, unknown>;
    };
    await hook(parsed.Table);
    const text = JSON.stringify(parsed);
    res.writeHead(200, {
      ...up.headers,
      'content-length': String(Buffer.byteLength(text)),
      'x-amz-crc32': String(crc32(text) >>> 0),
    });
    res.end(text);
  }
}

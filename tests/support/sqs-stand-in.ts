/**
 * An SQS stand-in on 127.0.0.1 speaking the AWS JSON 1.0 protocol that current
 * @aws-sdk/client-sqs uses (`X-Amz-Target: AmazonSQS.<Operation>`, awsQueryCompatible: errors
 * also carry `x-amzn-query-error: <legacy code>;Sender`). Enough for the Lambda on-failure queue:
 * CreateQueue, GetQueueUrl, SendMessage, ReceiveMessage, DeleteMessage, ChangeMessageVisibility,
 * GetQueueAttributes.
 *
 * Sources (Amazon SQS API Reference):
 *  - ReceiveMessage: at most MaxNumberOfMessages (1-10, default 1) visible messages; each receipt
 *    hides the message for the queue's VisibilityTimeout (default 30 s) or the request's, and
 *    hands out a new ReceiptHandle; WaitTimeSeconds (0-20) long-polls; system attributes
 *    (ApproximateReceiveCount, SentTimestamp, ApproximateFirstReceiveTimestamp) only when asked.
 *  - DeleteMessage: "you must provide the most recently received ReceiptHandle for the message
 *    (otherwise, the request succeeds, but the message will not be deleted)"; a malformed handle
 *    is ReceiptHandleIsInvalid.
 *  - MD5OfMessageBody is the hex MD5 of the body (the SDK checks it).
 *  - A missing queue is QueueDoesNotExist ("AWS.SimpleQueueService.NonExistentQueue").
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AwsJsonError, AwsJsonServer, AwsJsonStandIn } from './aws-json-server';
import type { Sigv4Credentials } from './sigv4-verifier';

export const ACCOUNT_ID = '000000000000';

export interface SqsMessage {
  readonly messageId: string;
  readonly body: string;
  readonly sentAt: number;
  receiveCount: number;
  firstReceivedAt: number | undefined;
  /** Hidden until this time (ms). */
  invisibleUntil: number;
  receiptHandle: string | undefined;
}

interface Queue {
  readonly name: string;
  readonly url: string;
  visibilityTimeoutS: number;
  readonly messages: SqsMessage[];
}

export interface SqsStandInOptions {
  readonly now?: () => number;
  readonly region?: string;
  /** Verify SigV4 (service `sqs`) with these credentials; unsigned requests pass when absent. */
  readonly credentials?: Sigv4Credentials;
}

const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

const queueMissing = (): AwsJsonError =>
  new AwsJsonError(400, 'QueueDoesNotExist', 'The specified queue does not exist.', {
    'x-amzn-query-error': 'AWS.SimpleQueueService.NonExistentQueue;Sender',
  });

export class SqsStandIn extends AwsJsonStandIn {
  private readonly queues = new Map<string, Queue>();
  private readonly now: () => number;

  private constructor(readonly options: SqsStandInOptions) {
    super();
    this.now = options.now ?? Date.now;
  }

  static async start(options: SqsStandInOptions = {}): Promise<SqsStandIn> {
    const s = new SqsStandIn(options);
    s.server = await AwsJsonServer.start(
      {
        target: 'AmazonSQS',
        errorNamespace: 'com.amazonaws.sqs',
        ...(options.credentials
          ? {
              sigv4: {
                service: 'sqs',
                region: options.region ?? 'us-east-1',
                credentials: options.credentials,
              },
            }
          : {}),
      },
      (op, body) => s.dispatch(op, body),
    );
    return s;
  }

  /** Creates a queue (idempotent) and returns its URL. */
  createQueue(name: string, visibilityTimeoutS = 30): string {
    const existing = this.queues.get(name);
    if (existing) return existing.url;
    const url = `${this.url}/${ACCOUNT_ID}/${name}`;
    this.queues.set(name, { name, url, visibilityTimeoutS, messages: [] });
    return url;
  }

  /** Puts a message directly (test setup); returns its MessageId. */
  send(queueName: string, body: string): string {
    const q = this.queues.get(queueName);
    if (!q) throw new Error(`no queue ${queueName}`);
    return this.enqueue(q, body, 0);
  }

  /** Every message still in the queue (visible or in flight), oldest first. */
  messages(queueName: string): readonly SqsMessage[] {
    return this.queues.get(queueName)?.messages ?? [];
  }

  private enqueue(q: Queue, body: string, delayS: number): string {
    const messageId = randomUUID();
    q.messages.push({
      messageId,
      body,
      sentAt: this.now(),
      receiveCount: 0,
      firstReceivedAt: undefined,
      invisibleUntil: this.now() + delayS * 1000,
      receiptHandle: undefined,
    });
    return messageId;
  }

  private queueByUrl(body: Record<string, unknown>): Queue {
    const url = body.QueueUrl;
    if (typeof url !== 'string')
      throw new AwsJsonError(
        400,
        'MissingParameter',
        'The request must contain the parameter QueueUrl.',
      );
    const name = url.slice(url.lastIndexOf('/') + 1);
    const q = this.queues.get(name);
    if (!q) throw queueMissing();
    return q;
  }

  private async dispatch(
    op: string,
    body: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    switch (op) {
      case 'CreateQueue': {
        const name = String(body.QueueName ?? '');
        const attrs = (body.Attributes ?? {}) as Record<string, string>;
        return { QueueUrl: this.createQueue(name, Number(attrs.VisibilityTimeout ?? 30)) };
      }
      case 'GetQueueUrl': {
        const q = this.queues.get(String(body.QueueName ?? ''));
        if (!q) throw queueMissing();
        return { QueueUrl: q.url };
      }
      case 'SendMessage': {
        const q = this.queueByUrl(body);
        const text = String(body.MessageBody ?? '');
        if (text.length === 0)
          throw new AwsJsonError(
            400,
            'MissingParameter',
            'The request must contain the parameter MessageBody.',
          );
        const id = this.enqueue(q, text, Number(body.DelaySeconds ?? 0));
        return { MessageId: id, MD5OfMessageBody: md5(text) };
      }
      case 'ReceiveMessage':
        return this.receive(this.queueByUrl(body), body);
      case 'DeleteMessage': {
        const q = this.queueByUrl(body);
        const handle = String(body.ReceiptHandle ?? '');
        if (!handle.startsWith('rh-'))
          throw new AwsJsonError(
            400,
            'ReceiptHandleIsInvalid',
            `The input receipt handle "${handle}" is not a valid receipt handle.`,
            {
              'x-amzn-query-error': 'ReceiptHandleIsInvalid;Sender',
            },
          );
        const i = q.messages.findIndex((m) => m.receiptHandle === handle);
        if (i >= 0) q.messages.splice(i, 1);
        return {};
      }
      case 'ChangeMessageVisibility': {
        const q = this.queueByUrl(body);
        const m = q.messages.find((x) => x.receiptHandle === body.ReceiptHandle);
        if (!m)
          throw new AwsJsonError(
            400,
            'ReceiptHandleIsInvalid',
            'The input receipt handle is not a valid receipt handle.',
            {
              'x-amzn-query-error': 'ReceiptHandleIsInvalid;Sender',
            },
          );
        m.invisibleUntil = this.now() + Number(body.VisibilityTimeout ?? 0) * 1000;
        return {};
      }
      case 'GetQueueAttributes': {
        const q = this.queueByUrl(body);
        const now = this.now();
        const visible = q.messages.filter((m) => m.invisibleUntil <= now).length;
        return {
          Attributes: {
            ApproximateNumberOfMessages: String(visible),
            ApproximateNumberOfMessagesNotVisible: String(q.messages.length - visible),
            VisibilityTimeout: String(q.visibilityTimeoutS),
            QueueArn: `arn:aws:sqs:${this.options.region ?? 'us-east-1'}:${ACCOUNT_ID}:${q.name}`,
          },
        };
      }
      default:
        throw new AwsJsonError(
          400,
          'UnsupportedOperation',
          `the stand-in does not implement ${op}`,
        );
    }
  }

  private async receive(q: Queue, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const max = Number(body.MaxNumberOfMessages ?? 1);
    if (!Number.isInteger(max) || max < 1 || max > 10)
      throw new AwsJsonError(
        400,
        'InvalidParameterValue',
        `Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`,
      );
    const waitMs = Math.min(20, Number(body.WaitTimeSeconds ?? 0)) * 1000;
    const visibilityS = Number(body.VisibilityTimeout ?? q.visibilityTimeoutS);
    const wanted = new Set([
      ...((body.AttributeNames as string[] | undefined) ?? []),
      ...((body.MessageSystemAttributeNames as string[] | undefined) ?? []),
    ]);
    const deadline = Date.now() + waitMs;
    for (;;) {
      const now = this.now();
      const picked = q.messages.filter((m) => m.invisibleUntil <= now).slice(0, max);
      // An empty receive answers `{}` (no Messages member).
      if (picked.length === 0 && (Date.now() >= deadline || this.server.closed)) return {};
      if (picked.length > 0) {
        return {
          Messages: picked.map((m) => {
            m.receiveCount++;
            m.firstReceivedAt ??= now;
            m.invisibleUntil = now + visibilityS * 1000;
            m.receiptHandle = `rh-${randomBytes(24).toString('base64url')}`;
            const all = wanted.has('All');
            const attributes: Record<string, string> = {};
            if (all || wanted.has('ApproximateReceiveCount'))
              attributes.ApproximateReceiveCount = String(m.receiveCount);
            if (all || wanted.has('SentTimestamp')) attributes.SentTimestamp = String(m.sentAt);
            if (all || wanted.has('ApproximateFirstReceiveTimestamp'))
              attributes.ApproximateFirstReceiveTimestamp = String(m.firstReceivedAt);
            return {
              MessageId: m.messageId,
              ReceiptHandle: m.receiptHandle,
              MD5OfBody: md5(m.body),
              Body: m.body,
              ...(Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}),
            };
          }),
        };
      }
      await this.server.delay(20);
    }
  }
}

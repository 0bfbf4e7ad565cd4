import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { QueueUnavailableError, type QueueMessage } from '../../lib/redrive/failure-queue';
import { createSqsQueue, regionOfQueueUrl } from '../../lib/redrive/sqs-queue';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/indexer-on-failure';
/**
 * Every queue here points at a closed local port with static keys, so a client built by mistake
 * (instead of the injected one) fails at once and never reaches AWS or the instance metadata.
 */
const LOCAL = {
  queueUrl: QUEUE_URL,
  region: 'eu-west-1',
  endpoint: new URL('http://127.0.0.1:9/'),
  credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
};

/** An SQSClient stand-in that records each command and answers from `answer` (injected client). */
function fakeClient(answer: (command: unknown) => unknown): {
  client: SQSClient;
  sent: unknown[];
  destroyed: () => number;
} {
  const sent: unknown[] = [];
  let destroyed = 0;
  const client = {
    send: async (command: unknown) => {
      sent.push(command);
      return answer(command);
    },
    destroy: () => {
      destroyed++;
    },
  } as unknown as SQSClient;
  return { client, sent, destroyed: () => destroyed };
}

function input(command: unknown): Record<string, unknown> {
  return (command as { input: Record<string, unknown> }).input;
}

const message: QueueMessage = { id: 'm-1', receiptHandle: 'receipt-1', body: '{}' };

describe('regionOfQueueUrl', () => {
  it.each([
    [QUEUE_URL, 'eu-west-1'],
    ['https://sqs.us-gov-west-1.amazonaws.com/1/q', 'us-gov-west-1'],
    ['http://localhost:9324/000000000000/q', undefined],
    ['https://vpce.sqs.eu-west-1.amazonaws.com/1/q', undefined],
    ['not a url', undefined],
  ])('%s names region %s', (url, region) => {
    expect(regionOfQueueUrl(url)).toBe(region);
  });
});

describe('createSqsQueue', () => {
  it('receives with the visibility timeout, long-poll wait and receive count asked for (SQS ReceiveMessage)', async () => {
    // Prepare
    const fake = fakeClient(() => ({
      Messages: [
        {
          MessageId: 'm-1',
          ReceiptHandle: 'receipt-1',
          Body: '{"DDBStreamBatchInfo":{}}',
          Attributes: { ApproximateReceiveCount: '3' },
        },
      ],
    }));
    const queue = createSqsQueue({ ...LOCAL, client: fake.client });

    // Act
    const messages = await queue.receive(7, 900, 1);

    // Assert
    expect(queue.location).toBe(QUEUE_URL);
    expect(fake.sent).toHaveLength(1);
    expect(fake.sent[0]).toBeInstanceOf(ReceiveMessageCommand);
    expect(input(fake.sent[0])).toEqual({
      QueueUrl: QUEUE_URL,
      MaxNumberOfMessages: 7,
      VisibilityTimeout: 900,
      WaitTimeSeconds: 1,
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
    });
    expect(messages).toEqual([
      { id: 'm-1', receiptHandle: 'receipt-1', body: '{"DDBStreamBatchInfo":{}}', receiveCount: 3 },
    ]);
  });

  it('skips messages without an id or receipt, reads a missing body as empty and an unusable count as unknown', async () => {
    // Prepare
    const fake = fakeClient(() => ({
      Messages: [
        { ReceiptHandle: 'no-id', Body: 'x' },
        { MessageId: 'no-receipt', Body: 'x' },
        { MessageId: 'm-2', ReceiptHandle: 'receipt-2' },
        {
          MessageId: 'm-3',
          ReceiptHandle: 'receipt-3',
          Body: 'b',
          Attributes: { ApproximateReceiveCount: 'many' },
        },
      ],
    }));
    const queue = createSqsQueue({ ...LOCAL, client: fake.client });

    // Act
    const messages = await queue.receive(10, 60, 1);

    // Assert
    expect(messages).toEqual([
      { id: 'm-2', receiptHandle: 'receipt-2', body: '', receiveCount: undefined },
      { id: 'm-3', receiptHandle: 'receipt-3', body: 'b', receiveCount: undefined },
    ]);
  });

  it('answers no messages when the queue has none', async () => {
    // Prepare
    const fake = fakeClient(() => ({}));
    const queue = createSqsQueue({ ...LOCAL, client: fake.client });

    // Act
    const messages = await queue.receive(10, 60, 1);

    // Assert
    expect(messages).toEqual([]);
  });

  it('turns a failed receive into QueueUnavailableError naming the queue and the cause', async () => {
    // Prepare
    const cause = Object.assign(new Error('The specified queue does not exist.'), {
      name: 'QueueDoesNotExist',
    });
    const fake = fakeClient(() => {
      throw cause;
    });
    const queue = createSqsQueue({ ...LOCAL, client: fake.client });

    // Act
    const error = await queue.receive(10, 60, 1).catch((e: unknown) => e);

    // Assert
    expect(error).toBeInstanceOf(QueueUnavailableError);
    expect((error as Error).message).toBe(
      `cannot receive from ${QUEUE_URL}: QueueDoesNotExist: The specified queue does not exist.`,
    );
    expect((error as Error).cause).toBe(cause);
  });

  it('deletes with the receipt handle of the message (SQS DeleteMessage)', async () => {
    // Prepare
    const fake = fakeClient(() => ({}));
    const queue = createSqsQueue({ ...LOCAL, client: fake.client });

    // Act
    await queue.delete(message);

    // Assert
    expect(fake.sent[0]).toBeInstanceOf(DeleteMessageCommand);
    expect(input(fake.sent[0])).toEqual({ QueueUrl: QUEUE_URL, ReceiptHandle: 'receipt-1' });
  });

  it('releases by setting the visibility timeout to 0 (SQS ChangeMessageVisibility)', async () => {
    // Prepare
    const fake = fakeClient(() => ({}));
    const queue = createSqsQueue({ ...LOCAL, client: fake.client });

    // Act
    await queue.release(message);

    // Assert
    expect(fake.sent[0]).toBeInstanceOf(ChangeMessageVisibilityCommand);
    expect(input(fake.sent[0])).toEqual({
      QueueUrl: QUEUE_URL,
      ReceiptHandle: 'receipt-1',
      VisibilityTimeout: 0,
    });
  });

  it.each([
    [{ Attributes: { ApproximateNumberOfMessages: '12' } }, 12],
    [{ Attributes: {} }, 0],
    [{}, 0],
  ])(
    'counts the waiting messages from ApproximateNumberOfMessages (%j -> %i)',
    async (answer, expected) => {
      // Prepare
      const fake = fakeClient(() => answer);
      const queue = createSqsQueue({ ...LOCAL, client: fake.client });

      // Act
      const waiting = await queue.waiting();

      // Assert
      expect(fake.sent[0]).toBeInstanceOf(GetQueueAttributesCommand);
      expect(input(fake.sent[0])).toEqual({
        QueueUrl: QUEUE_URL,
        AttributeNames: ['ApproximateNumberOfMessages'],
      });
      expect(waiting).toBe(expected);
    },
  );

  it('closes the client it was given', () => {
    // Prepare
    const fake = fakeClient(() => ({}));
    const queue = createSqsQueue({ ...LOCAL, client: fake.client });

    // Act
    queue.close();

    // Assert
    expect(fake.destroyed()).toBe(1);
  });

  it('builds its own client for the region, the local endpoint and the given credentials when none is injected', async () => {
    // Prepare
    const seen: { region?: string; endpoint?: unknown; accessKeyId?: string } = {};
    const send = jest.spyOn(SQSClient.prototype, 'send').mockImplementation(async function (
      this: SQSClient,
    ) {
      seen.region = await this.config.region();
      seen.endpoint = await this.config.endpoint?.();
      seen.accessKeyId = (await this.config.credentials()).accessKeyId;
      return { Attributes: { ApproximateNumberOfMessages: '4' } };
    } as never);
    const queue = createSqsQueue({ ...LOCAL, region: 'eu-west-2' });

    // Act
    const waiting = await queue.waiting();
    queue.close();
    send.mockRestore();

    // Assert
    expect(waiting).toBe(4);
    expect(seen).toEqual({
      region: 'eu-west-2',
      endpoint: expect.objectContaining({ hostname: '127.0.0.1', port: 9 }),
      accessKeyId: 'AKIDEXAMPLE',
    });
  });
});

/**
 * The on-failure queue for the failure-queue re-drive, through @aws-sdk/client-sqs (the operator's
 * credentials; the handler never loads this). Amazon SQS API Reference:
 *  - ReceiveMessage: 1-10 messages; VisibilityTimeout hides them for that long; WaitTimeSeconds > 0
 *    asks every server (short polling samples only some, and may answer nothing while messages
 *    wait); ApproximateReceiveCount on request.
 *  - DeleteMessage needs the receipt handle of the latest receipt.
 *  - ChangeMessageVisibility with VisibilityTimeout 0 makes a message visible again at once.
 *  - A missing queue is QueueDoesNotExist (AWS.SimpleQueueService.NonExistentQueue).
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { describeError } from '../errors';
import { sdkClientConfig, type SdkClientOptions } from './sdk-config';
import { QueueUnavailableError, type FailureQueue, type QueueMessage } from './failure-queue';

export interface SqsQueueOptions extends SdkClientOptions {
  readonly queueUrl: string;
  readonly client?: SQSClient;
}

/** `https://sqs.<region>.amazonaws.com/<account>/<name>` -> region. */
export function regionOfQueueUrl(queueUrl: string): string | undefined {
  if (!URL.canParse(queueUrl)) return undefined;
  return /^sqs\.([a-z0-9-]+)\.amazonaws\.com/.exec(new URL(queueUrl).hostname)?.[1];
}

export function createSqsQueue(options: SqsQueueOptions): FailureQueue & { close(): void } {
  const client = options.client ?? new SQSClient(sdkClientConfig(options.region, options));
  const QueueUrl = options.queueUrl;
  return {
    location: QueueUrl,
    async receive(max, visibilityTimeoutS, waitS) {
      let answer;
      try {
        answer = await client.send(
          new ReceiveMessageCommand({
            QueueUrl,
            MaxNumberOfMessages: max,
            VisibilityTimeout: visibilityTimeoutS,
            WaitTimeSeconds: waitS,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
        );
      } catch (error) {
        // QueueDoesNotExist, AccessDenied, KMS.AccessDeniedException: nothing can be read here.
        throw new QueueUnavailableError(
          `cannot receive from ${QueueUrl}: ${describeError(error)}`,
          {
            cause: error,
          },
        );
      }
      const messages: QueueMessage[] = [];
      // Stryker disable next-line ArrayDeclaration: a made-up entry in place of no messages has no MessageId, so the check below skips it as it skips any such entry.
      for (const m of answer.Messages ?? []) {
        if (m.MessageId === undefined || m.ReceiptHandle === undefined) continue;
        const count = Number(m.Attributes?.ApproximateReceiveCount);
        messages.push({
          id: m.MessageId,
          receiptHandle: m.ReceiptHandle,
          body: m.Body ?? '',
          receiveCount: Number.isInteger(count) ? count : undefined,
        });
      }
      return messages;
    },
    async delete(message) {
      await client.send(
        new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.receiptHandle }),
      );
    },
    async release(message) {
      await client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl,
          ReceiptHandle: message.receiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    },
    async waiting() {
      const answer = await client.send(
        new GetQueueAttributesCommand({
          QueueUrl,
          AttributeNames: ['ApproximateNumberOfMessages'],
        }),
      );
      return Number(answer.Attributes?.ApproximateNumberOfMessages ?? 0);
    },
    close: () => client.destroy(),
  };
}

/**
 * The source adapters, and which one reads a Lambda batch. A batch comes from one event source
 * mapping, so its records share one `eventSource`: "aws:dynamodb" (DynamoDB Streams) or
 * "aws:kinesis" (Kinesis Data Streams), as Lambda's event shapes name them.
 */
import type { ChangeSource } from '../records';
import { dynamodbSource } from './dynamodb';
import { kinesisSource } from './kinesis';

export { dynamodbSource } from './dynamodb';
export { kinesisSource } from './kinesis';

/**
 * The adapter for a Lambda batch: Kinesis when its records say `eventSource: "aws:kinesis"`,
 * else DynamoDB Streams. The first record that names a source decides, so one broken record
 * (no eventSource) cannot send a whole Kinesis batch down the stream path.
 */
export function sourceFor(records: readonly unknown[]): ChangeSource {
  for (const record of records) {
    const eventSource = (record as { eventSource?: unknown } | null | undefined)?.eventSource;
    if (eventSource === 'aws:kinesis') return kinesisSource;
    if (eventSource === 'aws:dynamodb') return dynamodbSource;
  }
  return dynamodbSource;
}

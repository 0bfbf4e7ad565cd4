/**
 * The source adapters, and which one reads a Lambda batch. A batch comes from one event source
 * mapping, so its records share one `eventSource`.
 */
import type { ChangeSource } from '../records';
import { dynamodbSource } from './dynamodb';

export { dynamodbSource } from './dynamodb';

/** The adapter for a Lambda batch: DynamoDB Streams unless the records say otherwise. */
export function sourceFor(_records: readonly unknown[]): ChangeSource {
  return dynamodbSource;
}

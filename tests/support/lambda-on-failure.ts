/**
 * The message Lambda sends to a DynamoDB Streams event source mapping's on-failure destination
 * (SQS or SNS) when it gives up on a batch: metadata only, never the records.
 * Source: AWS Lambda developer guide, "Retaining discarded batches for a DynamoDB Streams event
 * source" (services-dynamodb-errors), example invocation record:
 * `{requestContext: {requestId, functionArn, condition, approximateInvokeCount}, responseContext:
 * {statusCode, executedVersion, functionError}, version: "1.0", timestamp, DDBStreamBatchInfo:
 * {shardId, startSequenceNumber, endSequenceNumber, approximateArrivalOfFirstRecord,
 * approximateArrivalOfLastRecord, batchSize, streamArn}}`, arrival times as ISO 8601 seconds.
 */
import { randomUUID } from 'node:crypto';

export interface DDBStreamBatchInfo {
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly approximateArrivalOfFirstRecord: string;
  readonly approximateArrivalOfLastRecord: string;
  readonly batchSize: number;
  readonly streamArn: string;
}

export interface OnFailureInvocationRecord {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    /** `RetryAttemptsExhausted` in the documented example; record age limits give another condition. */
    readonly condition: string;
    readonly approximateInvokeCount: number;
  };
  readonly responseContext: {
    readonly statusCode: number;
    readonly executedVersion: string;
    readonly functionError?: string;
  };
  readonly version: '1.0';
  readonly timestamp: string;
  readonly DDBStreamBatchInfo: DDBStreamBatchInfo;
}

/** The part of a stream record the message is built from. */
export interface BatchRecord {
  readonly dynamodb: {
    readonly SequenceNumber: string;
    readonly ApproximateCreationDateTime: number;
  };
}

const isoSeconds = (epochSeconds: number): string =>
  new Date(Math.floor(epochSeconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Builds the on-failure message for a batch (records in stream order, at least one). */
export function onFailureMessage(opts: {
  readonly streamArn: string;
  readonly shardId: string;
  readonly records: readonly BatchRecord[];
  readonly condition?: string;
  readonly functionArn?: string;
  readonly approximateInvokeCount?: number;
  readonly functionError?: string;
  readonly at?: Date;
}): OnFailureInvocationRecord {
  const first = opts.records[0];
  const last = opts.records[opts.records.length - 1];
  if (!first || !last) throw new Error('an on-failure message describes at least one record');
  return {
    requestContext: {
      requestId: randomUUID(),
      functionArn:
        opts.functionArn ?? 'arn:aws:lambda:us-east-1:000000000000:function:indexer-dev-indexer',
      condition: opts.condition ?? 'RetryAttemptsExhausted',
      approximateInvokeCount: opts.approximateInvokeCount ?? 1,
    },
    responseContext: {
      statusCode: 200,
      executedVersion: '$LATEST',
      ...(opts.functionError === undefined
        ? { functionError: 'Unhandled' }
        : opts.functionError === ''
          ? {}
          : { functionError: opts.functionError }),
    },
    version: '1.0',
    timestamp: (opts.at ?? new Date()).toISOString(),
    DDBStreamBatchInfo: {
      shardId: opts.shardId,
      startSequenceNumber: first.dynamodb.SequenceNumber,
      endSequenceNumber: last.dynamodb.SequenceNumber,
      approximateArrivalOfFirstRecord: isoSeconds(first.dynamodb.ApproximateCreationDateTime),
      approximateArrivalOfLastRecord: isoSeconds(last.dynamodb.ApproximateCreationDateTime),
      batchSize: opts.records.length,
      streamArn: opts.streamArn,
    },
  };
}

/**
 * The message Lambda sends to a Kinesis event source mapping's on-failure destination. Source:
 * AWS Lambda developer guide, "Retain discarded batch records for a Kinesis Data Streams event
 * source" (kinesis-on-failure-destination), example invocation record: the same requestContext,
 * responseContext, version and timestamp, and `KinesisBatchInfo: {shardId, startSequenceNumber,
 * endSequenceNumber, approximateArrivalOfFirstRecord, approximateArrivalOfLastRecord, batchSize,
 * streamArn}` (arrival times as ISO 8601 with milliseconds in the example).
 */
export interface KinesisBatchInfo {
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly approximateArrivalOfFirstRecord: string;
  readonly approximateArrivalOfLastRecord: string;
  readonly batchSize: number;
  readonly streamArn: string;
}

/** The part of a Lambda Kinesis record the message is built from. */
export interface KinesisBatchRecord {
  readonly kinesis: {
    readonly sequenceNumber: string;
    readonly approximateArrivalTimestamp: number;
  };
}

export function kinesisOnFailureMessage(opts: {
  readonly streamArn: string;
  readonly shardId: string;
  readonly records: readonly KinesisBatchRecord[];
  readonly at?: Date;
}): Omit<OnFailureInvocationRecord, 'DDBStreamBatchInfo'> & {
  readonly KinesisBatchInfo: KinesisBatchInfo;
} {
  const first = opts.records[0];
  const last = opts.records[opts.records.length - 1];
  if (!first || !last) throw new Error('an on-failure message describes at least one record');
  const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();
  const envelope = onFailureMessage({
    streamArn: opts.streamArn,
    shardId: opts.shardId,
    records: [{ dynamodb: { SequenceNumber: '0', ApproximateCreationDateTime: 0 } }],
    ...(opts.at ? { at: opts.at } : {}),
  });
  return {
    requestContext: envelope.requestContext,
    responseContext: envelope.responseContext,
    version: envelope.version,
    timestamp: envelope.timestamp,
    KinesisBatchInfo: {
      shardId: opts.shardId,
      startSequenceNumber: first.kinesis.sequenceNumber,
      endSequenceNumber: last.kinesis.sequenceNumber,
      approximateArrivalOfFirstRecord: iso(first.kinesis.approximateArrivalTimestamp),
      approximateArrivalOfLastRecord: iso(last.kinesis.approximateArrivalTimestamp),
      batchSize: opts.records.length,
      streamArn: opts.streamArn,
    },
  };
}

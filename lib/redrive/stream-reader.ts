/**
 * Reading a batch range back from the stream, for the failure-queue re-drive, through the AWS SDK
 * (the operator's credentials; the handler never loads this). Records come back in the shape
 * Lambda delivers them, so the source adapters read them exactly as they read the stream:
 *
 *  - DynamoDB Streams (API reference, GetRecords / Record / StreamRecord / Identity): the SDK
 *    turns `ApproximateCreationDateTime` (epoch seconds on the wire) into a Date and binary
 *    attribute values (`B`, `BS`, base64 on the wire) into bytes, and the `userIdentity` members
 *    are `PrincipalId`/`Type`; a Lambda event carries epoch seconds, base64 strings and
 *    `principalId`/`type` (the TTL rule reads them). Converted back here.
 *  - Kinesis Data Streams (API reference, GetRecords / Record): `{SequenceNumber,
 *    ApproximateArrivalTimestamp, Data (bytes), PartitionKey}` -> the Lambda Kinesis event record
 *    `{eventSource: "aws:kinesis", eventID: "<shardId>:<sequenceNumber>", kinesis: {sequenceNumber,
 *    partitionKey, data (base64), approximateArrivalTimestamp (epoch seconds)}}`.
 *
 * Trimmed data (TrimmedDataAccessException) and a shard or stream that no longer exists
 * (ResourceNotFoundException) mean the range aged out.
 */
import {
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamsRecord,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb-streams';
import {
  GetRecordsCommand as KinesisGetRecordsCommand,
  GetShardIteratorCommand as KinesisGetShardIteratorCommand,
  KinesisClient,
  type _Record as KinesisRecord,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { BatchRange, StreamReader } from './failure-queue';
import {
  RangeAgedOutError,
  readShardRange,
  type ReadRangeOptions,
  type ShardPages,
} from './shard-range';
import { sdkClientConfig, type SdkClientOptions } from './sdk-config';

const AGED_OUT = new Set(['TrimmedDataAccessException', 'ResourceNotFoundException']);

/** Calls `fn`; an error that says the data is gone becomes RangeAgedOutError. */
async function agedOutAware<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const name = (error as { name?: unknown } | null)?.name;
    // Stryker disable next-line ConditionalExpression: only `true && ...` is equivalent: the set holds only text, so a name that is not text is not in it either (the type check is for the compiler). The whole condition as `true` or `false` is killed by the stream-reader tests "rethrows ..." and "reports the range aged out when ...".
    if (typeof name === 'string' && AGED_OUT.has(name)) {
      // Stryker disable next-line ObjectLiteral: readShardRange turns this error into an aged-out answer carrying only its message; the cause is kept for a debugger, never read.
      throw new RangeAgedOutError(`${name}: ${(error as Error).message}`, { cause: error });
    }
    throw error;
  }
}

/** An SDK attribute value -> the Lambda event's JSON form (binary as base64). */
export function lambdaAttribute(value: AttributeValue): Record<string, unknown> {
  const v = value as unknown as Record<string, unknown>;
  if (v.B instanceof Uint8Array) return { B: base64(v.B) };
  if (Array.isArray(v.BS)) return { BS: (v.BS as Uint8Array[]).map(base64) };
  if (Array.isArray(v.L)) return { L: (v.L as AttributeValue[]).map(lambdaAttribute) };
  if (v.M !== null && typeof v.M === 'object') {
    return { M: lambdaImage(v.M as Record<string, AttributeValue>) };
  }
  // S, N, SS, NS, BOOL, NULL are the same on both sides; drop the SDK's `$unknown`.
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined && k !== '$unknown') out[k] = x;
  return out;
}

export function lambdaImage(
  image: Record<string, AttributeValue> | undefined,
): Record<string, unknown> | undefined {
  if (image === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(image)) out[name] = lambdaAttribute(value);
  return out;
}

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** A GetRecords record (SDK form) -> the DynamoDB stream record Lambda delivers. */
export function lambdaStreamRecord(
  record: StreamsRecord,
  streamArn: string,
): Record<string, unknown> {
  const d = record.dynamodb ?? {};
  const created = d.ApproximateCreationDateTime;
  const dynamodb: Record<string, unknown> = {
    // Epoch seconds, rounded down, as Lambda delivers them (the version is built from them).
    ApproximateCreationDateTime:
      created instanceof Date ? Math.floor(created.getTime() / 1000) : created,
    Keys: lambdaImage(d.Keys),
    NewImage: lambdaImage(d.NewImage),
    OldImage: lambdaImage(d.OldImage),
    SequenceNumber: d.SequenceNumber,
    SizeBytes: d.SizeBytes,
    StreamViewType: d.StreamViewType,
  };
  for (const k of Object.keys(dynamodb)) if (dynamodb[k] === undefined) delete dynamodb[k];
  const identity = record.userIdentity;
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion,
    eventSource: record.eventSource ?? 'aws:dynamodb',
    awsRegion: record.awsRegion,
    dynamodb,
    eventSourceARN: streamArn,
    ...(identity === undefined
      ? {}
      : { userIdentity: { type: identity.Type, principalId: identity.PrincipalId } }),
  };
}

/** A Kinesis GetRecords record (SDK form) -> the Lambda Kinesis event record. */
export function lambdaKinesisRecord(
  record: KinesisRecord,
  shardId: string,
  streamArn: string,
  region: string,
): Record<string, unknown> {
  const arrival = record.ApproximateArrivalTimestamp;
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: record.PartitionKey,
      sequenceNumber: record.SequenceNumber,
      data: base64(record.Data ?? new Uint8Array()),
      approximateArrivalTimestamp: arrival instanceof Date ? arrival.getTime() / 1000 : arrival,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${record.SequenceNumber ?? ''}`,
    eventName: 'aws:kinesis:record',
    awsRegion: region,
    eventSourceARN: streamArn,
  };
}

/** `arn:aws:<service>:<region>:...` -> region. */
export function regionOfArn(arn: string): string | undefined {
  return arn.split(':')[3] || undefined;
}

export interface StreamClientOptions extends SdkClientOptions {
  /** `region` is used when the stream ARN names none; `endpoint` is AWS_ENDPOINT_URL_DYNAMODB_STREAMS / AWS_ENDPOINT_URL_KINESIS. */
  readonly read?: ReadRangeOptions;
}

/** One SDK client per region (a stream ARN names its own). */
function perRegion<C extends { destroy(): void }>(
  make: (region: string) => C,
): { get(region: string): C; close(): void } {
  const clients = new Map<string, C>();
  return {
    get(region) {
      let client = clients.get(region);
      if (client === undefined) {
        client = make(region);
        clients.set(region, client);
      }
      return client;
    },
    close() {
      for (const client of clients.values()) client.destroy();
      clients.clear();
    },
  };
}

export function createDynamodbStreamReader(
  options: StreamClientOptions,
): StreamReader & { close(): void } {
  const clients = perRegion(
    (region) => new DynamoDBStreamsClient(sdkClientConfig(region, options)),
  );
  return {
    async readRange(range: BatchRange) {
      const client = clients.get(regionOfArn(range.streamArn) ?? options.region);
      const pages: ShardPages<Record<string, unknown>> = {
        iteratorAt: (SequenceNumber) =>
          agedOutAware(async () => {
            const answer = await client.send(
              new GetShardIteratorCommand({
                StreamArn: range.streamArn,
                ShardId: range.shardId,
                ShardIteratorType: 'AT_SEQUENCE_NUMBER',
                SequenceNumber,
              }),
            );
            if (answer.ShardIterator === undefined) {
              throw new RangeAgedOutError('GetShardIterator returned no iterator');
            }
            return answer.ShardIterator;
          }),
        page: (ShardIterator) =>
          agedOutAware(async () => {
            // 1000 is GetRecords' maximum (and default) Limit.
            const answer = await client.send(new GetRecordsCommand({ ShardIterator, Limit: 1000 }));
            return {
              records: (answer.Records ?? []).map((record) => ({
                sequenceNumber: record.dynamodb?.SequenceNumber ?? '',
                record: lambdaStreamRecord(record, range.streamArn),
              })),
              next: answer.NextShardIterator,
            };
          }),
      };
      return readShardRange(pages, range.start, range.end, options.read);
    },
    close: () => clients.close(),
  };
}

export function createKinesisStreamReader(
  options: StreamClientOptions,
): StreamReader & { close(): void } {
  // The Kinesis client speaks HTTP/2 by default (for SubscribeToShard); GetShardIterator and
  // GetRecords work over HTTP/1.1 too, which local endpoints (AWS_ENDPOINT_URL_KINESIS) speak.
  const clients = perRegion(
    (region) =>
      new KinesisClient({
        ...sdkClientConfig(region, options),
        requestHandler: new NodeHttpHandler(),
      }),
  );
  return {
    async readRange(range: BatchRange) {
      const region = regionOfArn(range.streamArn) ?? options.region;
      const client = clients.get(region);
      const pages: ShardPages<Record<string, unknown>> = {
        iteratorAt: (StartingSequenceNumber) =>
          agedOutAware(async () => {
            const answer = await client.send(
              new KinesisGetShardIteratorCommand({
                StreamARN: range.streamArn,
                ShardId: range.shardId,
                ShardIteratorType: 'AT_SEQUENCE_NUMBER',
                StartingSequenceNumber,
              }),
            );
            if (answer.ShardIterator === undefined) {
              throw new RangeAgedOutError('GetShardIterator returned no iterator');
            }
            return answer.ShardIterator;
          }),
        page: (ShardIterator) =>
          agedOutAware(async () => {
            const answer = await client.send(
              new KinesisGetRecordsCommand({ ShardIterator, StreamARN: range.streamArn }),
            );
            return {
              records: (answer.Records ?? []).map((record) => ({
                sequenceNumber: record.SequenceNumber ?? '',
                record: lambdaKinesisRecord(record, range.shardId, range.streamArn, region),
              })),
              next: answer.NextShardIterator,
            };
          }),
      };
      // Kinesis answers empty pages while it catches up to the data more often than DynamoDB.
      return readShardRange(pages, range.start, range.end, { maxEmptyPages: 20, ...options.read });
    },
    close: () => clients.close(),
  };
}

/**
 * A DynamoDB Streams stand-in on 127.0.0.1 (AWS JSON 1.0, `X-Amz-Target:
 * DynamoDBStreams_20120810.<Operation>`): streams, shards and records that the test supplies,
 * read back with ListStreams, DescribeStream, GetShardIterator and GetRecords, plus trimming
 * (retention and "expired" mode) so a re-drive of an on-failure range can be tested both while
 * the records are retained and after they aged out.
 *
 * Sources (Amazon DynamoDB Streams API Reference):
 *  - GetShardIterator: TRIM_HORIZON (oldest untrimmed record), LATEST (after the newest),
 *    AT_SEQUENCE_NUMBER / AFTER_SEQUENCE_NUMBER (need SequenceNumber); a sequence number older
 *    than the trim point is TrimmedDataAccessException; an unknown stream or shard is
 *    ResourceNotFoundException. Iterators expire 15 minutes after they are issued
 *    (ExpiredIteratorException).
 *  - GetRecords: up to Limit (max 1000, the default) records in sequence order and a
 *    NextShardIterator, which is absent once a closed shard has been read to its end; reading a
 *    position trimmed since the iterator was issued is TrimmedDataAccessException.
 *  - DescribeStream: StreamDescription with Shards[{ShardId, SequenceNumberRange:
 *    {StartingSequenceNumber, EndingSequenceNumber (closed shards only)}, ParentShardId?}].
 *  - Records: `{eventID, eventName, eventVersion "1.1", eventSource "aws:dynamodb", awsRegion,
 *    dynamodb: {ApproximateCreationDateTime (epoch seconds), Keys, NewImage?, OldImage?,
 *    SequenceNumber, SizeBytes, StreamViewType}, userIdentity?}`; on the wire `userIdentity` is an
 *    Identity `{PrincipalId, Type}` (API reference, "Identity"), where a Lambda event has
 *    `{principalId, type}`; records are kept in the Lambda form. Sequence numbers are decimal
 *    strings compared as integers; retention is 24 hours (DynamoDB developer guide, "Streams").
 * The AT_SEQUENCE_NUMBER of a number that is not in the shard positions at the next record after
 * it (GUESS: the API reference does not say).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { AwsJsonError, AwsJsonServer, AwsJsonStandIn } from './aws-json-server';

const DAY_MS = 24 * 3600 * 1000;
const ITERATOR_TTL_MS = 15 * 60 * 1000;

export interface StreamRecordInput {
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly Keys: Record<string, AttributeValue>;
  readonly NewImage?: Record<string, AttributeValue>;
  readonly OldImage?: Record<string, AttributeValue>;
  /** Decimal string; assigned increasing when omitted. */
  readonly SequenceNumber?: string;
  /** Epoch seconds; the stand-in clock when omitted. */
  readonly ApproximateCreationDateTime?: number;
  readonly userIdentity?: { readonly type: string; readonly principalId: string };
}

export interface StoredStreamRecord {
  readonly eventID: string;
  readonly eventName: string;
  readonly eventVersion: string;
  readonly eventSource: string;
  readonly awsRegion: string;
  readonly dynamodb: {
    readonly ApproximateCreationDateTime: number;
    readonly Keys: Record<string, AttributeValue>;
    readonly NewImage?: Record<string, AttributeValue>;
    readonly OldImage?: Record<string, AttributeValue>;
    readonly SequenceNumber: string;
    readonly SizeBytes: number;
    readonly StreamViewType: string;
  };
  readonly userIdentity?: { readonly type: string; readonly principalId: string };
}

interface Shard {
  readonly shardId: string;
  readonly parentShardId: string | undefined;
  readonly records: StoredStreamRecord[];
  /** Arrival time (ms) per record, for retention. */
  readonly arrivals: number[];
  startingSequenceNumber: string;
  endingSequenceNumber: string | undefined;
  /** Records with a sequence number below this are trimmed. */
  trimBelow: bigint;
}

interface Stream {
  readonly arn: string;
  readonly label: string;
  readonly tableName: string;
  readonly viewType: string;
  readonly keySchema: ReadonlyArray<{ AttributeName: string; KeyType: string }>;
  readonly shards: Shard[];
  readonly createdAt: number;
}

interface Iterator {
  readonly arn: string;
  readonly shardId: string;
  /** The next record to read has a sequence number >= this. */
  readonly from: bigint;
  readonly issuedAt: number;
}

export interface DynamoDBStreamsStandInOptions {
  readonly region?: string;
  readonly now?: () => number;
  /** Retention of records (ms). Default 24 h. */
  readonly retentionMs?: number;
}

const notFound = (what: string): AwsJsonError =>
  new AwsJsonError(400, 'ResourceNotFoundException', `Requested resource not found: ${what}`);
const trimmed = (): AwsJsonError =>
  new AwsJsonError(
    400,
    'TrimmedDataAccessException',
    'The operation attempted to read past the oldest stream record in a shard.',
  );

/** A stored record as GetRecords puts it on the wire (Identity members are capitalised). */
function wireRecord(r: StoredStreamRecord): Record<string, unknown> {
  if (r.userIdentity === undefined) return r as unknown as Record<string, unknown>;
  return {
    ...r,
    userIdentity: { PrincipalId: r.userIdentity.principalId, Type: r.userIdentity.type },
  };
}

export class DynamoDBStreamsStandIn extends AwsJsonStandIn {
  private readonly streams = new Map<string, Stream>();
  private readonly iterators = new Map<string, Iterator>();
  private readonly now: () => number;
  private readonly region: string;
  private nextSeq = 100000000000000000000n;

  private constructor(private readonly options: DynamoDBStreamsStandInOptions) {
    super();
    this.now = options.now ?? Date.now;
    this.region = options.region ?? 'us-east-1';
  }

  static async start(options: DynamoDBStreamsStandInOptions = {}): Promise<DynamoDBStreamsStandIn> {
    const s = new DynamoDBStreamsStandIn(options);
    s.server = await AwsJsonServer.start(
      {
        target: 'DynamoDBStreams_20120810',
        errorNamespace: 'com.amazonaws.dynamodb.v20120810',
        now: s.now,
      },
      (op, body) => s.dispatch(op, body),
    );
    return s;
  }

  /** Adds a stream for a table with one open shard; returns the stream ARN. */
  addStream(
    tableName = 'UsersTransactions',
    opts: {
      viewType?: string;
      keySchema?: Array<{ AttributeName: string; KeyType: string }>;
      shardId?: string;
    } = {},
  ): string {
    const createdAt = this.now();
    const label = new Date(createdAt).toISOString().replace('Z', '');
    const arn = `arn:aws:dynamodb:${this.region}:000000000000:table/${tableName}/stream/${label}`;
    this.streams.set(arn, {
      arn,
      label,
      tableName,
      viewType: opts.viewType ?? 'NEW_AND_OLD_IMAGES',
      keySchema: opts.keySchema ?? [
        { AttributeName: 'userId', KeyType: 'HASH' },
        { AttributeName: 'transactionId', KeyType: 'RANGE' },
      ],
      shards: [],
      createdAt,
    });
    this.addShard(arn, opts.shardId);
    return arn;
  }

  /** Adds an open shard (a child of `parentShardId` if given); returns its id. */
  addShard(streamArn: string, shardId?: string, parentShardId?: string): string {
    const stream = this.stream(streamArn);
    const id =
      shardId ??
      `shardId-${String(this.now()).padStart(20, '0')}-${randomBytes(4).toString('hex')}`;
    stream.shards.push({
      shardId: id,
      parentShardId,
      records: [],
      arrivals: [],
      startingSequenceNumber: (this.nextSeq + 1n).toString(),
      endingSequenceNumber: undefined,
      trimBelow: 0n,
    });
    return id;
  }

  /** Appends records to a shard (the first shard when omitted); returns them as stored. */
  putRecords(
    streamArn: string,
    records: readonly StreamRecordInput[],
    shardId?: string,
  ): StoredStreamRecord[] {
    const stream = this.stream(streamArn);
    const shard = shardId ? this.shard(stream, shardId) : stream.shards[0]!;
    if (shard.endingSequenceNumber !== undefined)
      throw new Error(`shard ${shard.shardId} is closed`);
    return records.map((r) => {
      const seq =
        r.SequenceNumber !== undefined ? BigInt(r.SequenceNumber) : (this.nextSeq += 100n);
      const last = shard.records[shard.records.length - 1];
      if (last && BigInt(last.dynamodb.SequenceNumber) >= seq)
        throw new Error(
          `sequence numbers must increase within a shard (${seq} after ${last.dynamodb.SequenceNumber})`,
        );
      if (seq > this.nextSeq) this.nextSeq = seq;
      if (shard.records.length === 0) shard.startingSequenceNumber = seq.toString();
      const images = { Keys: r.Keys, NewImage: r.NewImage, OldImage: r.OldImage };
      const stored: StoredStreamRecord = {
        eventID: randomUUID().replace(/-/g, ''),
        eventName: r.eventName,
        eventVersion: '1.1',
        eventSource: 'aws:dynamodb',
        awsRegion: this.region,
        dynamodb: {
          ApproximateCreationDateTime:
            r.ApproximateCreationDateTime ?? Math.floor(this.now() / 1000),
          Keys: r.Keys,
          ...(r.NewImage ? { NewImage: r.NewImage } : {}),
          ...(r.OldImage ? { OldImage: r.OldImage } : {}),
          SequenceNumber: seq.toString(),
          SizeBytes: Buffer.byteLength(JSON.stringify(images)),
          StreamViewType: stream.viewType,
        },
        ...(r.userIdentity ? { userIdentity: r.userIdentity } : {}),
      };
      shard.records.push(stored);
      shard.arrivals.push(this.now());
      return stored;
    });
  }

  /** Closes a shard: it gets an EndingSequenceNumber and GetRecords ends with no NextShardIterator. */
  closeShard(streamArn: string, shardId: string): void {
    const shard = this.shard(this.stream(streamArn), shardId);
    const last = shard.records[shard.records.length - 1];
    shard.endingSequenceNumber = last ? last.dynamodb.SequenceNumber : shard.startingSequenceNumber;
  }

  /**
   * Trims a shard (every shard when omitted) below `sequenceNumber`, or entirely ("expired"
   * mode: every record aged out of the 24 h retention).
   */
  trim(streamArn: string, opts: { shardId?: string; below?: string } = {}): void {
    const stream = this.stream(streamArn);
    for (const shard of opts.shardId ? [this.shard(stream, opts.shardId)] : stream.shards) {
      const last = shard.records[shard.records.length - 1];
      shard.trimBelow =
        opts.below !== undefined
          ? BigInt(opts.below)
          : last
            ? BigInt(last.dynamodb.SequenceNumber) + 1n
            : shard.trimBelow;
    }
  }

  /** The shard ids of a stream, in creation order. */
  shardIds(streamArn: string): string[] {
    return this.stream(streamArn).shards.map((x) => x.shardId);
  }

  /** The records of a shard as stored (trimmed ones included). */
  records(streamArn: string, shardId?: string): readonly StoredStreamRecord[] {
    const stream = this.stream(streamArn);
    return (shardId ? this.shard(stream, shardId) : stream.shards[0]!).records;
  }

  private stream(arn: unknown): Stream {
    const s = typeof arn === 'string' ? this.streams.get(arn) : undefined;
    if (!s) throw notFound(`Stream: ${String(arn)} not found`);
    return s;
  }

  private shard(stream: Stream, shardId: unknown): Shard {
    const shard = stream.shards.find((x) => x.shardId === shardId);
    if (!shard) throw notFound(`Shard: ${String(shardId)} in Stream: ${stream.arn} not found`);
    return shard;
  }

  /** The lowest sequence number still readable: explicit trims and the retention window. */
  private trimPoint(shard: Shard): bigint {
    const retention = this.options.retentionMs ?? DAY_MS;
    let point = shard.trimBelow;
    const now = this.now();
    shard.records.forEach((r, i) => {
      if (now - shard.arrivals[i]! > retention) {
        const next = BigInt(r.dynamodb.SequenceNumber) + 1n;
        if (next > point) point = next;
      }
    });
    return point;
  }

  private issue(arn: string, shardId: string, from: bigint): string {
    const id = `${arn}|${shardId}|${randomBytes(18).toString('base64url')}`;
    this.iterators.set(id, { arn, shardId, from, issuedAt: this.now() });
    return id;
  }

  private dispatch(op: string, body: Record<string, unknown>): Record<string, unknown> {
    switch (op) {
      case 'ListStreams':
        return {
          Streams: [...this.streams.values()]
            .filter((s) => body.TableName === undefined || s.tableName === body.TableName)
            .map((s) => ({ StreamArn: s.arn, StreamLabel: s.label, TableName: s.tableName })),
        };
      case 'DescribeStream': {
        const s = this.stream(body.StreamArn);
        const start = body.ExclusiveStartShardId;
        const from = start === undefined ? 0 : s.shards.findIndex((x) => x.shardId === start) + 1;
        const limit = Number(body.Limit ?? 100);
        const shards = s.shards.slice(from, from + limit);
        const more = from + limit < s.shards.length;
        return {
          StreamDescription: {
            StreamArn: s.arn,
            StreamLabel: s.label,
            StreamStatus: 'ENABLED',
            StreamViewType: s.viewType,
            CreationRequestDateTime: s.createdAt / 1000,
            TableName: s.tableName,
            KeySchema: s.keySchema,
            Shards: shards.map((x) => ({
              ShardId: x.shardId,
              SequenceNumberRange: {
                StartingSequenceNumber: x.startingSequenceNumber,
                ...(x.endingSequenceNumber !== undefined
                  ? { EndingSequenceNumber: x.endingSequenceNumber }
                  : {}),
              },
              ...(x.parentShardId ? { ParentShardId: x.parentShardId } : {}),
            })),
            ...(more ? { LastEvaluatedShardId: shards[shards.length - 1]!.shardId } : {}),
          },
        };
      }
      case 'GetShardIterator': {
        const s = this.stream(body.StreamArn);
        const shard = this.shard(s, body.ShardId);
        const type = body.ShardIteratorType;
        const point = this.trimPoint(shard);
        if (type === 'TRIM_HORIZON')
          return { ShardIterator: this.issue(s.arn, shard.shardId, point) };
        if (type === 'LATEST') {
          const last = shard.records[shard.records.length - 1];
          const from = last ? BigInt(last.dynamodb.SequenceNumber) + 1n : point;
          return { ShardIterator: this.issue(s.arn, shard.shardId, from) };
        }
        if (type !== 'AT_SEQUENCE_NUMBER' && type !== 'AFTER_SEQUENCE_NUMBER')
          throw new AwsJsonError(
            400,
            'ValidationException',
            `1 validation error detected: Value '${String(type)}' at 'shardIteratorType' failed to satisfy constraint`,
          );
        if (typeof body.SequenceNumber !== 'string' || !/^\d{1,40}$/.test(body.SequenceNumber))
          throw new AwsJsonError(
            400,
            'ValidationException',
            `SequenceNumber is required for ${type}`,
          );
        const seq = BigInt(body.SequenceNumber);
        if (seq < point) throw trimmed();
        return {
          ShardIterator: this.issue(
            s.arn,
            shard.shardId,
            type === 'AT_SEQUENCE_NUMBER' ? seq : seq + 1n,
          ),
        };
      }
      case 'GetRecords': {
        const it = this.iterators.get(String(body.ShardIterator ?? ''));
        if (!it) throw new AwsJsonError(400, 'ValidationException', 'Invalid ShardIterator');
        if (this.now() - it.issuedAt > ITERATOR_TTL_MS)
          throw new AwsJsonError(400, 'ExpiredIteratorException', 'Iterator expired');
        const shard = this.shard(this.stream(it.arn), it.shardId);
        if (it.from < this.trimPoint(shard)) throw trimmed();
        const limit = Math.min(1000, Number(body.Limit ?? 1000));
        const out = shard.records
          .filter((r) => BigInt(r.dynamodb.SequenceNumber) >= it.from)
          .slice(0, limit);
        const last = out[out.length - 1];
        const next = last ? BigInt(last.dynamodb.SequenceNumber) + 1n : it.from;
        const end = shard.endingSequenceNumber;
        const exhausted = end !== undefined && next > BigInt(end);
        return {
          Records: out.map(wireRecord),
          ...(exhausted ? {} : { NextShardIterator: this.issue(it.arn, it.shardId, next) }),
        };
      }
      default:
        throw new AwsJsonError(
          400,
          'UnknownOperationException',
          `the stand-in does not implement ${op}`,
        );
    }
  }
}

/**
 * A Kinesis Data Streams stand-in on 127.0.0.1 for reading a shard back (the failure-queue
 * re-drive): GetShardIterator and GetRecords over records the test supplies in the shape Lambda
 * delivers them (kinesis-shard.ts), served in the API's shape. @aws-sdk/client-kinesis speaks AWS
 * JSON 1.1 (`X-Amz-Target: Kinesis_20131202.<Operation>`), which differs from 1.0 only in the
 * content type; the SDK reads either answer.
 *
 * Sources (Amazon Kinesis Data Streams API Reference):
 *  - GetShardIterator: StreamName or StreamARN, ShardId, ShardIteratorType (AT_SEQUENCE_NUMBER /
 *    AFTER_SEQUENCE_NUMBER with StartingSequenceNumber, TRIM_HORIZON, LATEST); an unknown stream
 *    or shard is ResourceNotFoundException; an iterator expires 5 minutes after it is issued
 *    (ExpiredIteratorException).
 *  - GetRecords: up to Limit (max 10,000) records `{SequenceNumber, ApproximateArrivalTimestamp
 *    (epoch seconds), Data (base64 blob), PartitionKey}` and NextShardIterator, null once a closed
 *    shard is read to its end; MillisBehindLatest.
 * GUESS (not documented): AT_SEQUENCE_NUMBER for a number below the trim horizon answers an
 * iterator at the oldest record still held, so the first record returned is after the number.
 */
import { randomBytes } from 'node:crypto';
import type { KinesisStreamRecord } from 'aws-lambda';
import { AwsJsonError, AwsJsonServer, AwsJsonStandIn } from './aws-json-server';

const ITERATOR_TTL_MS = 5 * 60 * 1000;

interface Shard {
  readonly records: KinesisStreamRecord[];
  trimBelow: bigint;
  closed: boolean;
}

interface Iterator {
  readonly arn: string;
  readonly shardId: string;
  readonly from: bigint;
  readonly issuedAt: number;
}

const notFound = (what: string): AwsJsonError =>
  new AwsJsonError(400, 'ResourceNotFoundException', `${what} not found.`);

export class KinesisStandIn extends AwsJsonStandIn {
  private readonly streams = new Map<string, Map<string, Shard>>();
  private readonly iterators = new Map<string, Iterator>();

  private constructor(private readonly now: () => number) {
    super();
  }

  static async start(options: { now?: () => number } = {}): Promise<KinesisStandIn> {
    const s = new KinesisStandIn(options.now ?? Date.now);
    s.server = await AwsJsonServer.start(
      { target: 'Kinesis_20131202', errorNamespace: 'com.amazonaws.kinesis' },
      (op, body) => s.dispatch(op, body),
    );
    return s;
  }

  /** Puts Lambda-shaped records into a shard of a stream (created on first use). */
  putRecords(streamArn: string, shardId: string, records: readonly KinesisStreamRecord[]): void {
    const shards = this.streams.get(streamArn) ?? new Map<string, Shard>();
    this.streams.set(streamArn, shards);
    const shard = shards.get(shardId) ?? { records: [], trimBelow: 0n, closed: false };
    shards.set(shardId, shard);
    shard.records.push(...records);
    shard.records.sort((a, b) => {
      const d = BigInt(a.kinesis.sequenceNumber) - BigInt(b.kinesis.sequenceNumber);
      return d < 0n ? -1 : d > 0n ? 1 : 0;
    });
  }

  /** Trims a shard below `sequenceNumber` (retention expired for those records). */
  trim(streamArn: string, shardId: string, sequenceNumber: string): void {
    this.shard(streamArn, shardId).trimBelow = BigInt(sequenceNumber);
  }

  private shard(arn: unknown, shardId: unknown): Shard {
    const shards = typeof arn === 'string' ? this.streams.get(arn) : undefined;
    if (!shards) throw notFound(`Stream ${String(arn)}`);
    const shard = shards.get(String(shardId));
    if (!shard) throw notFound(`Shard ${String(shardId)} in stream ${String(arn)}`);
    return shard;
  }

  private issue(arn: string, shardId: string, from: bigint): string {
    const id = `${randomBytes(24).toString('base64url')}`;
    this.iterators.set(id, { arn, shardId, from, issuedAt: this.now() });
    return id;
  }

  private dispatch(op: string, body: Record<string, unknown>): Record<string, unknown> {
    switch (op) {
      case 'GetShardIterator': {
        const arn = body.StreamARN;
        const shard = this.shard(arn, body.ShardId);
        const seq = body.StartingSequenceNumber;
        let from: bigint;
        switch (body.ShardIteratorType) {
          case 'TRIM_HORIZON':
            from = shard.trimBelow;
            break;
          case 'LATEST': {
            const last = shard.records[shard.records.length - 1];
            from = last ? BigInt(last.kinesis.sequenceNumber) + 1n : shard.trimBelow;
            break;
          }
          case 'AT_SEQUENCE_NUMBER':
          case 'AFTER_SEQUENCE_NUMBER':
            if (typeof seq !== 'string' || !/^\d{1,128}$/.test(seq))
              throw new AwsJsonError(400, 'InvalidArgumentException', 'StartingSequenceNumber');
            from = BigInt(seq) + (body.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' ? 1n : 0n);
            if (from < shard.trimBelow) from = shard.trimBelow;
            break;
          default:
            throw new AwsJsonError(400, 'InvalidArgumentException', 'ShardIteratorType');
        }
        return { ShardIterator: this.issue(String(arn), String(body.ShardId), from) };
      }
      case 'GetRecords': {
        const it = this.iterators.get(String(body.ShardIterator ?? ''));
        if (!it) throw new AwsJsonError(400, 'InvalidArgumentException', 'Invalid ShardIterator.');
        if (this.now() - it.issuedAt > ITERATOR_TTL_MS)
          throw new AwsJsonError(400, 'ExpiredIteratorException', 'Iterator expired.');
        const shard = this.shard(it.arn, it.shardId);
        const limit = Math.min(10_000, Number(body.Limit ?? 10_000));
        const from = it.from < shard.trimBelow ? shard.trimBelow : it.from;
        const out = shard.records
          .filter((r) => BigInt(r.kinesis.sequenceNumber) >= from)
          .slice(0, limit);
        const last = out[out.length - 1];
        const next = last ? BigInt(last.kinesis.sequenceNumber) + 1n : from;
        const ended =
          shard.closed && !shard.records.some((r) => BigInt(r.kinesis.sequenceNumber) >= next);
        return {
          Records: out.map((r) => ({
            SequenceNumber: r.kinesis.sequenceNumber,
            ApproximateArrivalTimestamp: r.kinesis.approximateArrivalTimestamp,
            Data: r.kinesis.data,
            PartitionKey: r.kinesis.partitionKey,
          })),
          NextShardIterator: ended ? null : this.issue(it.arn, it.shardId, next),
          MillisBehindLatest: 0,
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

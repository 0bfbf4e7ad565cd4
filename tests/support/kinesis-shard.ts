/**
 * A model table's changes as a Kinesis Data Streams shard delivers them to Lambda, after the
 * table's Kinesis streaming destination wrote them (REFERENCE "DynamoDB -> Kinesis Data Streams"):
 *
 *  - each change becomes the JSON the destination writes: {awsRegion, eventID, eventName,
 *    userIdentity, recordFormat: "application/json", tableName, dynamodb: {ApproximateCreationDateTime,
 *    Keys, NewImage?, OldImage?, SizeBytes}, eventSource: "aws:dynamodb"}, with no SequenceNumber
 *    (DynamoDB developer guide, "Kinesis Data Streams for DynamoDB"), base64 in `kinesis.data`;
 *  - ApproximateCreationDateTime is in the table's precision, MILLISECOND or MICROSECOND
 *    (EnableKinesisStreamingConfiguration). The model table's clock is whole seconds, so changes
 *    made in one second are spread over it, strictly increasing (one item's changes do);
 *  - the guide says records "might appear in a different sequence than the item modifications
 *    occurred" and "might also appear more than once": deliveries are shuffled inside windows of
 *    consecutive changes, and some are delivered again later (same data, a new sequence number);
 *  - the Lambda record: {eventSource: "aws:kinesis", eventID: "shardId-...:<seq>", kinesis:
 *    {kinesisSchemaVersion, partitionKey, sequenceNumber, data, approximateArrivalTimestamp}};
 *    sequence numbers grow in delivery order. GUESS: partitionKey is an MD5 of the keys in hex
 *    (the samples show 32 hex digits; the indexer never reads it).
 */
import { createHash } from 'node:crypto';
import type { DynamoDBRecord, KinesisStreamRecord } from 'aws-lambda';
import { Rng } from './rng';
import type { TableModel } from './table-model';

export type Precision = 'MILLISECOND' | 'MICROSECOND';

export type KinesisMalformedKind =
  'bad-base64' | 'not-json' | 'not-a-dynamodb-change' | 'other-table' | 'no-creation-time';

export interface KinesisShardOptions {
  readonly precision: Precision;
  /** Changes are shuffled inside consecutive windows of this many (1 = in change order). */
  readonly window?: number;
  /** 'reversed': each window is delivered newest first instead of shuffled. */
  readonly order?: 'shuffled' | 'reversed';
  /** Chance that a change is delivered once more, a few deliveries later. */
  readonly duplicateRate?: number;
  readonly seed?: number;
  /** The table name written into each change (SOURCE_TABLE compares with it). */
  readonly tableName?: string;
}

interface Delivery {
  readonly data: string;
  readonly partitionKey: string;
  readonly arrival: number;
  /** The table change this delivery carries, if it carries one. */
  readonly change: DynamoDBRecord | undefined;
  /** True when the indexer must dead-letter it. */
  readonly malformed: boolean;
}

export class KinesisShard {
  /** The shard, in delivery order. */
  readonly records: KinesisStreamRecord[] = [];
  /** The table change each delivery carries (absent for Kinesis-only malformed records). */
  readonly changeOf = new Map<KinesisStreamRecord, DynamoDBRecord>();
  /** Deliveries that must end in the dead-letter bucket whatever the cluster says. */
  readonly malformed: KinesisStreamRecord[] = [];
  private readonly rng: Rng;
  private seq = 49_657_828_409_187_701_520_019_995_242_508_390_119_953_358_325_192_589_314n;

  constructor(
    readonly table: TableModel,
    readonly options: KinesisShardOptions,
  ) {
    this.rng = new Rng(options.seed ?? 17);
  }

  /** Delivers the table's changes (all of them, or those from `from` on) and returns them. */
  deliverChanges(from = 0): KinesisStreamRecord[] {
    const changes = this.table.records.slice(from);
    const malformed = new Set(this.table.malformed);
    const stamped = this.stamp(changes);
    let deliveries: Delivery[] = changes.map((change, i) => ({
      data: encode(this.changeJson(change, stamped[i] as number)),
      partitionKey: partitionKey(change),
      arrival: (stamped[i] as number) / this.unitsPerSecond() + 0.2,
      change,
      malformed: malformed.has(change),
    }));
    deliveries = this.shuffle(deliveries);
    deliveries = this.duplicate(deliveries);
    return deliveries.map((d) => this.append(d));
  }

  /** Appends a record that is not a usable DynamoDB change (it must be dead-lettered). */
  appendMalformed(kind: KinesisMalformedKind): KinesisStreamRecord {
    const change = this.changeJson(this.table.records[0] ?? sampleChange(), this.nowStamp());
    let data: string;
    switch (kind) {
      case 'bad-base64':
        data = `${encode(change).slice(0, 40)}*not base64*`;
        break;
      case 'not-json':
        data = Buffer.from('{"eventName":"INSERT",', 'utf8').toString('base64');
        break;
      case 'not-a-dynamodb-change':
        data = encode({ ...change, eventSource: 'aws:s3' });
        break;
      case 'other-table':
        data = encode({ ...change, tableName: `${this.tableName()}-elsewhere` });
        break;
      case 'no-creation-time': {
        const dynamodb = { ...(change.dynamodb as Record<string, unknown>) };
        delete dynamodb.ApproximateCreationDateTime;
        data = encode({ ...change, dynamodb });
        break;
      }
    }
    return this.append({
      data,
      partitionKey: 'MALFORMED',
      arrival: this.table.now + 0.5,
      change: undefined,
      malformed: true,
    });
  }

  private tableName(): string {
    return this.options.tableName ?? this.table.schema.tableName;
  }

  private unitsPerSecond(): number {
    return this.options.precision === 'MILLISECOND' ? 1000 : 1_000_000;
  }

  private nowStamp(): number {
    return this.table.now * this.unitsPerSecond() + this.unitsPerSecond() - 1;
  }

  /**
   * ApproximateCreationDateTime for each change in the table's precision: its second, plus an
   * offset that grows through the changes of that second (1 ms apart, or a few us apart).
   */
  private stamp(changes: readonly DynamoDBRecord[]): number[] {
    const units = this.unitsPerSecond();
    let second = -1;
    let offset = 0;
    return changes.map((change) => {
      const s = Number(change.dynamodb?.ApproximateCreationDateTime ?? this.table.now);
      if (s !== second) {
        second = s;
        offset = this.rng.int(0, 50);
      } else {
        offset += units === 1000 ? 1 : this.rng.int(1, 700);
      }
      if (offset >= units) throw new Error('too many changes in one second for the precision');
      return s * units + offset;
    });
  }

  /** The JSON the table's Kinesis destination writes for a stream record. */
  private changeJson(record: DynamoDBRecord, stamp: number): Record<string, unknown> {
    const out: Record<string, unknown> = {
      awsRegion: record.awsRegion,
      eventID: uuid(record.eventID ?? ''),
      eventName: record.eventName,
      userIdentity: record.userIdentity ?? null,
      recordFormat: 'application/json',
      tableName: this.tableName(),
    };
    if (record.dynamodb !== undefined) {
      const dynamodb: Record<string, unknown> = { ...record.dynamodb };
      delete dynamodb.SequenceNumber;
      delete dynamodb.StreamViewType;
      out.dynamodb = { ...dynamodb, ApproximateCreationDateTime: stamp };
    }
    out.eventSource = 'aws:dynamodb';
    return out;
  }

  private shuffle(deliveries: Delivery[]): Delivery[] {
    const window = Math.max(1, this.options.window ?? 1);
    const out: Delivery[] = [];
    for (let i = 0; i < deliveries.length; i += window) {
      const slice = deliveries.slice(i, i + window);
      if (this.options.order === 'reversed') {
        out.push(...slice.reverse());
        continue;
      }
      for (let j = slice.length - 1; j > 0; j--) {
        const k = this.rng.int(0, j);
        [slice[j], slice[k]] = [slice[k] as Delivery, slice[j] as Delivery];
      }
      out.push(...slice);
    }
    return out;
  }

  private duplicate(deliveries: Delivery[]): Delivery[] {
    const rate = this.options.duplicateRate ?? 0;
    if (rate <= 0) return deliveries;
    const out = [...deliveries];
    for (const d of deliveries) {
      if (!this.rng.chance(rate)) continue;
      const at = out.indexOf(d);
      const later = Math.min(out.length, at + 1 + this.rng.int(0, 2 * (this.options.window ?? 1)));
      out.splice(later, 0, { ...d, arrival: d.arrival + 1 });
    }
    return out;
  }

  private append(d: Delivery): KinesisStreamRecord {
    this.seq += BigInt(this.rng.int(1, 900)) * 1_000_000_000n + 7n;
    const sequenceNumber = this.seq.toString();
    const record: KinesisStreamRecord = {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: d.partitionKey,
        sequenceNumber,
        data: d.data,
        approximateArrivalTimestamp: d.arrival,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000000:${sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::123456789012:role/indexer-role',
      awsRegion: this.table.region,
      eventSourceARN: `arn:aws:kinesis:${this.table.region}:123456789012:stream/${this.tableName()}-changes`,
    };
    this.records.push(record);
    if (d.change !== undefined) this.changeOf.set(record, d.change);
    if (d.malformed) this.malformed.push(record);
    return record;
  }
}

export function kinesisSequenceNumber(record: KinesisStreamRecord | undefined): string | undefined {
  return record?.kinesis?.sequenceNumber;
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64');
}

function partitionKey(record: DynamoDBRecord): string {
  return createHash('md5')
    .update(JSON.stringify(record.dynamodb?.Keys ?? record.eventID))
    .digest('hex')
    .toUpperCase();
}

function uuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function sampleChange(): DynamoDBRecord {
  return {
    eventID: 'sample',
    eventName: 'INSERT',
    awsRegion: 'eu-west-1',
    dynamodb: { ApproximateCreationDateTime: 1, Keys: { id: { S: 'x' } } },
  };
}

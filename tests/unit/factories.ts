/**
 * Factories and fakes shared by the unit and handler tests. Everything here is plain data or a
 * jest.fn; nothing touches the network (the loopback servers live in `loopback.ts`).
 */
import type { DynamoDBStreamEvent } from 'aws-lambda';
import type { BatchDependencies } from '../../lib/process-batch';
import type { DeadLetter, DeadLetterSink } from '../../lib/dead-letter';
import { createLogger, type LogLevel, type Logger } from '../../lib/logger';
import type { BulkItemResult } from '../../lib/bulk';

/** A DynamoDB JSON attribute map as it appears in a stream record (deliberately loose). */
export type Attributes = Record<string, unknown>;

/** A stream record as Lambda delivers it, loose enough to build malformed ones. */
export interface TestStreamRecord {
  eventID?: unknown;
  eventName?: unknown;
  eventVersion?: string;
  eventSource?: string;
  awsRegion?: string;
  dynamodb?: unknown;
  userIdentity?: unknown;
  [extra: string]: unknown;
}

export interface StreamRecordInput {
  readonly eventName?: 'INSERT' | 'MODIFY' | 'REMOVE' | string;
  readonly keys?: Attributes;
  readonly newImage?: Attributes;
  readonly oldImage?: Attributes;
  /** Sequence number text; defaults to `sequenceNumber(1)`. */
  readonly sequenceNumber?: string;
  /** ApproximateCreationDateTime in epoch seconds. */
  readonly createdAt?: number;
  /** Marks the record as a TTL expiry (userIdentity of the DynamoDB service). */
  readonly ttl?: boolean;
  readonly eventID?: string;
}

/** The article's table: `userId` hash key, `transactionId` range key. */
export const KEY_ORDER = ['userId', 'transactionId'] as const;
export const CREATED_AT = 1_700_000_000;

/** 21-digit sequence numbers that grow with `n`, like a shard's. */
export function sequenceNumber(n: number): string {
  return (10n ** 20n + BigInt(n)).toString();
}

export function transactionKeys(
  userId: number | string,
  transactionId: number | string,
): Attributes {
  return { userId: { N: String(userId) }, transactionId: { N: String(transactionId) } };
}

/** A NewImage for the article's table (keys plus a few attributes). */
export function transactionImage(
  userId: number | string,
  transactionId: number | string,
  extra: Attributes = {},
): Attributes {
  return {
    ...transactionKeys(userId, transactionId),
    accountId: { N: '3' },
    amount: { N: '11' },
    shortDescription: { S: 'Final mega test 2' },
    ...extra,
  };
}

export function streamRecord(input: StreamRecordInput = {}): TestStreamRecord {
  const eventName = input.eventName ?? 'INSERT';
  const keys = input.keys ?? transactionKeys(3, 51);
  const dynamodb: Record<string, unknown> = {
    ApproximateCreationDateTime: input.createdAt ?? CREATED_AT,
    Keys: keys,
    SequenceNumber: input.sequenceNumber ?? sequenceNumber(1),
    SizeBytes: 100,
    StreamViewType: 'NEW_AND_OLD_IMAGES',
  };
  if (input.newImage !== undefined) dynamodb.NewImage = input.newImage;
  else if (eventName === 'INSERT' || eventName === 'MODIFY') dynamodb.NewImage = { ...keys };
  if (input.oldImage !== undefined) dynamodb.OldImage = input.oldImage;
  const record: TestStreamRecord = {
    eventID: input.eventID ?? `event-${String(dynamodb.SequenceNumber)}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    dynamodb,
  };
  if (input.ttl === true) {
    record.userIdentity = { type: 'Service', principalId: 'dynamodb.amazonaws.com' };
  }
  return record;
}

/** Removes a field from a record's `dynamodb` section (for malformed records). */
export function withoutStreamField(record: TestStreamRecord, field: string): TestStreamRecord {
  const dynamodb = { ...(record.dynamodb as Record<string, unknown>) };
  delete dynamodb[field];
  return { ...record, dynamodb };
}

/** Sets a field of a record's `dynamodb` section to any value, valid or not. */
export function withStreamField(
  record: TestStreamRecord,
  field: string,
  value: unknown,
): TestStreamRecord {
  return {
    ...record,
    dynamodb: { ...(record.dynamodb as Record<string, unknown>), [field]: value },
  };
}

export function streamEvent(records: readonly unknown[]): DynamoDBStreamEvent {
  return { Records: records } as unknown as DynamoDBStreamEvent;
}

/** A Kinesis record as Lambda delivers it, loose enough to build malformed ones. */
export interface TestKinesisRecord {
  eventSource: string;
  eventVersion: string;
  eventID: string;
  eventName: string;
  awsRegion: string;
  eventSourceARN: string;
  kinesis: {
    kinesisSchemaVersion: string;
    partitionKey: string;
    sequenceNumber: unknown;
    data: unknown;
    approximateArrivalTimestamp: number;
  };
  [extra: string]: unknown;
}

export const SOURCE_TABLE = 'UsersTransactions';

/**
 * The DynamoDB change a table's Kinesis streaming destination writes: the stream record's fields
 * without SequenceNumber and StreamViewType, plus recordFormat and tableName, and
 * ApproximateCreationDateTime in the table's precision (`createdAt` as given: ms or us).
 */
export function dynamodbChangeJson(
  input: StreamRecordInput & { readonly tableName?: string } = {},
): Record<string, unknown> {
  const record = streamRecord(input);
  const dynamodb = { ...(record.dynamodb as Record<string, unknown>) };
  delete dynamodb.SequenceNumber;
  delete dynamodb.StreamViewType;
  dynamodb.ApproximateCreationDateTime = input.createdAt ?? CREATED_AT * 1000;
  return {
    awsRegion: 'eu-west-1',
    eventID: input.eventID ?? 'a9f0b3d4-0c36-4c55-9d6e-1b2c3d4e5f60',
    eventName: record.eventName,
    userIdentity: record.userIdentity ?? null,
    recordFormat: 'application/json',
    tableName: input.tableName ?? SOURCE_TABLE,
    dynamodb,
    eventSource: 'aws:dynamodb',
  };
}

/** Kinesis sequence numbers: 56 digits that grow with `n`, like a shard's. */
export function kinesisSequenceNumber(n: number): string {
  return (49657828409187701520019995242508390119953358325192589314n + BigInt(n)).toString();
}

/** A Lambda Kinesis record whose data is `data` (a value is JSON-encoded, a string is sent as is). */
export function kinesisRecord(
  data: unknown,
  options: { readonly sequenceNumber?: string; readonly rawData?: boolean } = {},
): TestKinesisRecord {
  const seq = options.sequenceNumber ?? kinesisSequenceNumber(1);
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: '859F7C064A4818874FA67ABEC9BF2AF1',
      sequenceNumber: seq,
      data:
        options.rawData === true
          ? data
          : Buffer.from(JSON.stringify(data), 'utf8').toString('base64'),
      approximateArrivalTimestamp: CREATED_AT + 0.5,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `shardId-000000000000:${seq}`,
    eventName: 'aws:kinesis:record',
    awsRegion: 'eu-west-1',
    eventSourceARN: 'arn:aws:kinesis:eu-west-1:123456789012:stream/UsersTransactions-changes',
  };
}

/** The version the spec defines for a Kinesis change, computed independently with BigInt. */
export function expectedTimeVersion(micros: bigint): string {
  return ((micros / 1_000_000n) * 2n ** 31n + (micros % 1_000_000n)).toString();
}

/** The external version the spec defines, computed independently with BigInt. */
export function expectedVersion(createdAtSeconds: number, seq: string): string {
  return (BigInt(createdAtSeconds) * 2n ** 31n + (BigInt(seq) % 2n ** 31n)).toString();
}

// ---------------------------------------------------------------------------------------------
// Logger

export interface CapturedLogs {
  readonly logger: Logger;
  readonly lines: string[];
  entries(): Array<Record<string, unknown>>;
  messages(): string[];
  find(msg: string): Record<string, unknown> | undefined;
  all(msg: string): Array<Record<string, unknown>>;
}

export function captureLogger(level: LogLevel = 'debug'): CapturedLogs {
  const lines: string[] = [];
  const logger = createLogger(level, (line) => lines.push(line));
  const entries = (): Array<Record<string, unknown>> =>
    lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    logger,
    lines,
    entries,
    messages: () => entries().map((e) => String(e.msg)),
    find: (msg) => entries().find((e) => e.msg === msg),
    all: (msg) => entries().filter((e) => e.msg === msg),
  };
}

// ---------------------------------------------------------------------------------------------
// Batch configuration and time

export type BatchConfig = BatchDependencies['config'];

export function batchConfig(overrides: Partial<BatchConfig> = {}): BatchConfig {
  return {
    index: 'transactions',
    versioning: true,
    ttlDeletes: 'delete',
    keyOrder: KEY_ORDER,
    sourceTable: undefined,
    dryRun: false,
    bulkMaxBytes: 5 * 1024 * 1024,
    bulkConcurrency: 2,
    requestTimeoutMs: 10_000,
    retryBaseMs: 100,
    retryMaxMs: 5_000,
    deadlineMarginMs: 1_000,
    ...overrides,
  };
}

/**
 * A virtual clock: `sleep` advances it, nothing else does. `remainingMs` counts down from
 * `budgetMs`, so retry loops end deterministically.
 */
export interface VirtualTime {
  readonly remainingMs: () => number;
  readonly sleep: jest.Mock<Promise<void>, [number]>;
  readonly random: () => number;
  readonly clock: () => number;
  elapsed(): number;
  advance(ms: number): void;
}

export function virtualTime(budgetMs = 60_000): VirtualTime {
  let now = 0;
  return {
    remainingMs: () => budgetMs - now,
    sleep: jest.fn(async (ms: number) => {
      now += ms;
    }),
    random: () => 0.5,
    clock: () => now,
    elapsed: () => now,
    advance: (ms) => {
      now += ms;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Fake OpenSearch `_bulk`

export interface BulkAction {
  readonly action: 'index' | 'delete';
  readonly id: string;
  /** The version exactly as written in the action line (digits), if any. */
  readonly version: string | undefined;
  readonly versionType: string | undefined;
  /** The document line, raw. */
  readonly source: string | undefined;
  /** Every key of the action's metadata object, to check nothing extra is sent. */
  readonly metaKeys: readonly string[];
}

export interface BulkCall {
  readonly body: string;
  readonly operations: number;
  readonly timeoutMs: number;
  readonly actions: readonly BulkAction[];
}

/** Parses an NDJSON bulk body; versions are read as text so no digit is lost. */
export function parseBulkBody(body: string): BulkAction[] {
  if (body !== '' && !body.endsWith('\n')) throw new Error('bulk body does not end with a newline');
  const lines = body.split('\n');
  lines.pop();
  const actions: BulkAction[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const parsed = JSON.parse(line) as Record<string, Record<string, unknown>>;
    const [action, meta] = Object.entries(parsed)[0] as [string, Record<string, unknown>];
    if (action !== 'index' && action !== 'delete') throw new Error(`unexpected action ${action}`);
    const version = /"version":(\d+)/.exec(line)?.[1];
    let source: string | undefined;
    if (action === 'index') {
      source = lines[++i];
      if (source === undefined) throw new Error('index action without a document line');
    }
    actions.push({
      action,
      id: meta._id as string,
      version,
      versionType: meta.version_type as string | undefined,
      source,
      metaKeys: Object.keys(meta),
    });
  }
  return actions;
}

/** What the fake answers for one item: a status, or a full result. */
export type ItemAnswer = number | BulkItemResult;

export interface FakeSearchOptions {
  /**
   * Answers one item. `attempt` counts how many times this `_id` has been sent (1 = first).
   * Default: 201 for index, 200 for delete.
   */
  readonly item?: (action: BulkAction, attempt: number) => ItemAnswer;
  /** Fails the whole request by throwing what it returns (when it returns something). */
  readonly request?: (call: BulkCall, callNumber: number) => unknown;
  /** Delays the answer (e.g. to observe concurrency). */
  readonly delay?: (call: BulkCall, callNumber: number) => Promise<void>;
}

export interface FakeSearch {
  readonly search: {
    bulk: jest.Mock<Promise<BulkItemResult[]>, [Buffer | string, number, number]>;
  };
  readonly calls: BulkCall[];
  /** Every action sent, in order, across calls. */
  sent(): BulkAction[];
}

export function item(status: number, errorType?: string, reason?: string): BulkItemResult {
  return { status, errorType, reason };
}

/** What a healthy cluster answers: 201 for an index action, 200 for a delete. */
export function ok(action: BulkAction): number {
  return action.action === 'index' ? 201 : 200;
}

export function fakeSearch(options: FakeSearchOptions = {}): FakeSearch {
  const calls: BulkCall[] = [];
  const attempts = new Map<string, number>();
  const bulk = jest.fn(async (raw: Buffer | string, operations: number, timeoutMs: number) => {
    const body = typeof raw === 'string' ? raw : raw.toString('utf8');
    const actions = parseBulkBody(body);
    const call: BulkCall = { body, operations, timeoutMs, actions };
    calls.push(call);
    const callNumber = calls.length;
    if (options.delay) await options.delay(call, callNumber);
    const failure = options.request?.(call, callNumber);
    if (failure !== undefined) throw failure;
    return actions.map((action) => {
      const attempt = (attempts.get(action.id) ?? 0) + 1;
      attempts.set(action.id, attempt);
      const answer = options.item?.(action, attempt) ?? ok(action);
      return typeof answer === 'number' ? item(answer) : answer;
    });
  });
  return { search: { bulk }, calls, sent: () => calls.flatMap((c) => c.actions) };
}

// ---------------------------------------------------------------------------------------------
// Fake dead-letter sink

export interface FakeDeadLetters {
  readonly sink: DeadLetterSink;
  readonly letters: DeadLetter[];
  readonly write: jest.Mock<Promise<string>, [DeadLetter, number]>;
}

/** `fail(letter, attempt)` returning an error makes that write reject with it. */
export function fakeDeadLetters(
  fail?: (letter: DeadLetter, attempt: number) => Error | undefined,
): FakeDeadLetters {
  const letters: DeadLetter[] = [];
  const attempts = new Map<unknown, number>();
  const write = jest.fn(async (letter: DeadLetter, _timeoutMs: number) => {
    const attempt = (attempts.get(letter.record) ?? 0) + 1;
    attempts.set(letter.record, attempt);
    const error = fail?.(letter, attempt);
    if (error !== undefined) throw error;
    letters.push(letter);
    return `dead-letter/2023/11/14/22/${letters.length}.json`;
  });
  return {
    sink: {
      location: 's3://dead-letters/dead-letter/',
      write,
      uri: (key: string) => `s3://dead-letters/${key}`,
    },
    letters,
    write,
  };
}

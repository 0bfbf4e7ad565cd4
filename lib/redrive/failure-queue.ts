/**
 * Re-drive of the on-failure queue: each message names a batch Lambda gave up on (a shard and a
 * sequence-number range, never the records), so its records are read again from the stream while
 * it still holds them and go through the same core as the stream (`processRecords` with the
 * source's adapter). They get the versions the stream gives them, so a replay never overwrites a
 * newer document (OpenSearch answers 409: done).
 *
 * A message is deleted only when every record of its range is done: indexed, deleted, stale,
 * superseded, skipped or dead-lettered (to the same bucket the Lambda writes to). Anything else
 * leaves it in the queue, reported with why:
 *   aged-out    the stream no longer holds the range: `npm run backfill -- --table <T>` repairs it;
 *   not-done    some record was not taken (cluster down, or rejected with no dead-letter bucket);
 *   unreadable  the stream could not be read (access denied, throttled ...);
 *   malformed   not an on-failure message, or one without a usable batch range.
 * Messages that stay are made visible again at the end of the run (ChangeMessageVisibility 0), so
 * the queue's alarm keeps counting them; the run never receives one twice.
 *
 * Message formats (AWS Lambda developer guide): "Retaining discarded batches for a DynamoDB
 * Streams event source" (services-dynamodb-errors): `DDBStreamBatchInfo: {shardId,
 * startSequenceNumber, endSequenceNumber, approximateArrivalOfFirstRecord,
 * approximateArrivalOfLastRecord, batchSize, streamArn}`; "Retain discarded batch records for a
 * Kinesis Data Streams event source" (kinesis-on-failure-destination): `KinesisBatchInfo` with the
 * same members, streamArn naming the Kinesis stream.
 */
import { describeError, IndexerError } from '../errors';
import { emptySummary, type BatchSummary } from '../ledger';
import { processRecords, type BatchDependencies } from '../process-batch';
import { planRecord, type ChangeSource } from '../records';
import { dynamodbSource } from '../sources/dynamodb';
import { kinesisSource } from '../sources/kinesis';
import { BATCH_BUDGET_MS } from './dead-letters';
import { DECIMAL, type RangeRead } from './shard-range';

/** Messages per ReceiveMessage (the SQS maximum). */
export const RECEIVE_MAX = 10;
/**
 * How long a received message stays hidden: the work on the ten messages of one receive (each a
 * batch of at most `batchSize` records, at most 60 s per core call) fits well inside 15 minutes, and
 * a crashed run hides them no longer than that.
 */
export const VISIBILITY_TIMEOUT_S = 900;
/** A dry run holds its messages only while it reads them, then releases them at once. */
export const DRY_RUN_VISIBILITY_TIMEOUT_S = 60;
/** Long enough for SQS to ask all its servers (short polling samples only some), short for a CLI. */
export const RECEIVE_WAIT_S = 1;
/** Records per core call. */
export const CORE_BATCH = 1000;

export type StreamKind = 'dynamodb' | 'kinesis';

export interface QueueMessage {
  readonly id: string;
  readonly receiptHandle: string;
  readonly body: string;
  /** ApproximateReceiveCount, when the queue says (the queue's redrive policy moves it at 5). */
  readonly receiveCount?: number | undefined;
}

/** What the re-drive needs of the queue; sqs-queue.ts is the SQS one. */
export interface FailureQueue {
  /** The queue URL, for reports. */
  readonly location: string;
  /** ReceiveMessage; throws QueueUnavailableError when the queue cannot be read at all. */
  receive(max: number, visibilityTimeoutS: number, waitS: number): Promise<readonly QueueMessage[]>;
  delete(message: QueueMessage): Promise<void>;
  /** Visible again now (ChangeMessageVisibility 0). */
  release(message: QueueMessage): Promise<void>;
  /** Messages visible now (ApproximateNumberOfMessages), without receiving them. */
  waiting(): Promise<number>;
}

export class QueueUnavailableError extends IndexerError {
  override name = 'QueueUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** One batch range, as the message names it. */
export interface BatchRange {
  readonly kind: StreamKind;
  readonly streamArn: string;
  readonly shardId: string;
  readonly start: string;
  readonly end: string;
  readonly batchSize: number | undefined;
}

/** Re-reads a range from a stream; stream-reader.ts holds the DynamoDB Streams and Kinesis ones. */
export interface StreamReader {
  /** Records in the shape Lambda delivers them; throws on errors other than "aged out". */
  readRange(range: BatchRange): Promise<RangeRead<unknown>>;
}

export type MessageOutcome =
  | 'redriven'
  | 'aged-out'
  | 'not-done'
  | 'unreadable'
  | 'malformed'
  | 'delete-failed'
  | 'would-redrive';

/** Outcomes after which the message is gone from the queue. */
const GONE: ReadonlySet<MessageOutcome> = new Set(['redriven']);

export interface MessageResult {
  readonly messageId: string;
  readonly outcome: MessageOutcome;
  readonly range?: BatchRange;
  readonly detail?: string;
  /** For aged-out ranges: the command that repairs them. */
  readonly repair?: string;
  readonly receiveCount?: number | undefined;
}

export interface FailureQueueReport {
  readonly counts: Record<MessageOutcome, number>;
  /** Every message that stays in the queue, with why. */
  readonly left: MessageResult[];
  /** How the re-read records ended, summed over the messages. */
  readonly records: BatchSummary;
  seen: number;
  /** The limit stopped the run while the queue still answered messages. */
  more: boolean;
  /** Why the run stopped early: the queue could not be read after some messages were handled. */
  stoppedBy?: string;
}

export interface FailureQueueOptions {
  readonly dryRun: boolean;
  readonly limit: number | undefined;
  /** --table: the table to backfill for aged-out ranges (else taken from the stream ARN). */
  readonly table: string | undefined;
  /** SOURCE_TABLE: the table when the stream ARN names none (a Kinesis stream). */
  readonly sourceTable?: string | undefined;
  readonly coreBatch?: number;
}

export interface FailureQueueDeps {
  readonly queue: FailureQueue;
  readonly readers: Partial<Record<StreamKind, StreamReader>>;
  /** The core's dependencies; `deadLetters` is where the Lambda writes (absent: none set). */
  readonly core: Omit<BatchDependencies, 'remainingMs'>;
  readonly now?: () => number;
  readonly onMessage?: (result: MessageResult, report: FailureQueueReport) => void;
}

const SOURCES: Record<StreamKind, ChangeSource> = {
  dynamodb: dynamodbSource,
  kinesis: kinesisSource,
};

export function emptyFailureQueueReport(): FailureQueueReport {
  return {
    counts: {
      redriven: 0,
      'aged-out': 0,
      'not-done': 0,
      unreadable: 0,
      malformed: 0,
      'delete-failed': 0,
      'would-redrive': 0,
    },
    left: [],
    records: emptySummary(0),
    seen: 0,
    more: false,
  };
}

/** True when a message stays in the queue (what the exit code says). */
export function anythingLeftInQueue(report: FailureQueueReport): boolean {
  return report.more || report.left.length > 0;
}

/** The batch range a message names, or why it names none. */
export function parseMessage(body: string): BatchRange | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    return `not JSON: ${describeError(error)}`;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return 'not a JSON object';
  }
  const message = parsed as Record<string, unknown>;
  const kind: StreamKind | undefined =
    'DDBStreamBatchInfo' in message
      ? 'dynamodb'
      : 'KinesisBatchInfo' in message
        ? 'kinesis'
        : undefined;
  if (kind === undefined) return 'no DDBStreamBatchInfo or KinesisBatchInfo';
  const name = kind === 'dynamodb' ? 'DDBStreamBatchInfo' : 'KinesisBatchInfo';
  const info = message[name] as Record<string, unknown> | null;
  if (info === null || typeof info !== 'object') return `${name} is not an object`;
  const { shardId, startSequenceNumber: start, endSequenceNumber: end, streamArn } = info;
  if (typeof streamArn !== 'string' || streamArn === '') return `${name}.streamArn is missing`;
  if (typeof shardId !== 'string' || shardId === '') return `${name}.shardId is missing`;
  if (typeof start !== 'string' || !DECIMAL.test(start)) {
    return `${name}.startSequenceNumber is not a sequence number`;
  }
  if (typeof end !== 'string' || !DECIMAL.test(end)) {
    return `${name}.endSequenceNumber is not a sequence number`;
  }
  const batchSize = typeof info.batchSize === 'number' ? info.batchSize : undefined;
  return { kind, streamArn, shardId, start, end, batchSize };
}

/**
 * The table behind a DynamoDB stream ARN
 * (`arn:aws:dynamodb:<region>:<account>:table/<TableName>/stream/<label>`).
 */
export function tableOfStream(streamArn: string): string | undefined {
  return /^arn:[^:]+:dynamodb:[^:]*:[^:]*:table\/([^/]+)\/stream\//.exec(streamArn)?.[1];
}

export function backfillCommand(
  range: BatchRange,
  table: string | undefined,
  sourceTable?: string,
): string {
  const name = table ?? tableOfStream(range.streamArn) ?? sourceTable ?? '<table>';
  return `npm run backfill -- --table ${name}`;
}

export async function redriveFailureQueue(
  options: FailureQueueOptions,
  deps: FailureQueueDeps,
): Promise<FailureQueueReport> {
  const report = emptyFailureQueueReport();
  // Messages that stay, by id, with their latest receipt (the one a release must name).
  const held = new Map<string, QueueMessage>();
  const seen = new Set<string>();
  const settle = (message: QueueMessage, result: MessageResult): void => {
    report.counts[result.outcome]++;
    if (!GONE.has(result.outcome)) {
      report.left.push(result);
      held.set(message.id, message);
    }
    deps.onMessage?.(result, report);
  };
  const visibility = options.dryRun ? DRY_RUN_VISIBILITY_TIMEOUT_S : VISIBILITY_TIMEOUT_S;
  try {
    for (;;) {
      const room = options.limit === undefined ? RECEIVE_MAX : options.limit - report.seen;
      if (room <= 0) {
        // Stopped by --limit: does anything else wait? (Counted, not received: every receive
        // counts towards the queue's maxReceiveCount.)
        // Without an answer (no sqs:GetQueueAttributes), assume so: the exit code then says 1.
        report.more = await deps.queue.waiting().then(
          (n) => n > 0,
          () => true,
        );
        break;
      }
      const messages = await receiveOrStop(
        deps.queue,
        report,
        Math.min(room, RECEIVE_MAX),
        visibility,
        RECEIVE_WAIT_S,
      );
      // A message received again (its visibility ran out during a long run) is not handled twice;
      // its new receipt replaces the old one, which no longer releases it.
      for (const m of messages) if (held.has(m.id)) held.set(m.id, m);
      const fresh = messages.filter((m) => !seen.has(m.id));
      if (fresh.length === 0) break;
      for (const message of fresh) {
        seen.add(message.id);
        report.seen++;
        settle(message, await redriveMessage(message, options, deps, report));
      }
    }
  } finally {
    // Left messages are visible again for the next run and the queue's alarm.
    await Promise.all([...held.values()].map((m) => deps.queue.release(m).catch(() => undefined)));
  }
  return report;
}

/**
 * ReceiveMessage. A queue that cannot be read at all fails the run (exit 2); one that stops
 * answering after messages were handled ends it, so what was done is still reported.
 */
async function receiveOrStop(
  queue: FailureQueue,
  report: FailureQueueReport,
  max: number,
  visibilityTimeoutS: number,
  waitS: number,
): Promise<readonly QueueMessage[]> {
  try {
    return await queue.receive(max, visibilityTimeoutS, waitS);
  } catch (error) {
    if (report.seen === 0) throw error;
    report.more = true;
    report.stoppedBy = describeError(error);
    return [];
  }
}

async function redriveMessage(
  message: QueueMessage,
  options: FailureQueueOptions,
  deps: FailureQueueDeps,
  report: FailureQueueReport,
): Promise<MessageResult> {
  const base = { messageId: message.id, receiveCount: message.receiveCount };
  const range = parseMessage(message.body);
  if (typeof range === 'string') return { ...base, outcome: 'malformed', detail: range };
  const reader = deps.readers[range.kind];
  if (reader === undefined) {
    return { ...base, outcome: 'unreadable', range, detail: `no reader for ${range.kind} streams` };
  }
  let read: RangeRead<unknown>;
  try {
    read = await reader.readRange(range);
  } catch (error) {
    return { ...base, outcome: 'unreadable', range, detail: describeError(error) };
  }
  if (read.kind === 'aged-out') {
    return {
      ...base,
      outcome: 'aged-out',
      range,
      detail: read.detail,
      repair: backfillCommand(range, options.table, options.sourceTable),
    };
  }
  if (read.kind === 'incomplete') {
    return { ...base, outcome: 'unreadable', range, detail: read.detail };
  }
  const source = SOURCES[range.kind];
  if (options.dryRun) {
    return { ...base, outcome: 'would-redrive', range, detail: plan(read.records, source, deps) };
  }
  const notDone = await replay(read.records, source, options, deps, report);
  if (notDone > 0) {
    return {
      ...base,
      outcome: 'not-done',
      range,
      detail: `${notDone} of ${read.records.length} records not done`,
    };
  }
  try {
    await deps.queue.delete(message);
  } catch (error) {
    // Every record is done; a second run replays them idempotently and deletes it then.
    return {
      ...base,
      outcome: 'delete-failed',
      range,
      detail: `done, but ${describeError(error)}`,
    };
  }
  return { ...base, outcome: 'redriven', range, detail: `${read.records.length} records` };
}

/** The dry run's answer: what the core would make of the range, from its planning step. */
function plan(records: readonly unknown[], source: ChangeSource, deps: FailureQueueDeps): string {
  const counts = { index: 0, delete: 0, skip: 0, malformed: 0 };
  records.forEach((record, position) => {
    const planned = planRecord(record, position, deps.core.config, source);
    if (planned.kind === 'operation') counts[planned.operation.kind]++;
    else if (planned.kind === 'skip') counts.skip++;
    else counts.malformed++;
  });
  const letters =
    counts.malformed === 0
      ? ''
      : `, ${counts.malformed} malformed (${deps.core.deadLetters === undefined ? 'would stay: no DEAD_LETTER_BUCKET' : 'would be dead-lettered'})`;
  return `${records.length} records: ${counts.index} index, ${counts.delete} delete, ${counts.skip} skip${letters}`;
}

/** Through the core, in chunks; resolves with the number of records that are not done. */
async function replay(
  records: readonly unknown[],
  source: ChangeSource,
  options: FailureQueueOptions,
  deps: FailureQueueDeps,
  report: FailureQueueReport,
): Promise<number> {
  const now = deps.now ?? Date.now;
  const size = options.coreBatch ?? CORE_BATCH;
  let notDone = 0;
  for (let at = 0; at < records.length; at += size) {
    const chunk = records.slice(at, at + size);
    const started = now();
    const { failed, summary } = await processRecords(chunk, source, {
      ...deps.core,
      remainingMs: () => started + BATCH_BUDGET_MS - now(),
    });
    notDone += failed.length;
    addSummary(report.records, summary);
  }
  return notDone;
}

function addSummary(total: BatchSummary, add: BatchSummary): void {
  for (const key of Object.keys(total) as Array<keyof BatchSummary>) total[key] += add[key];
}

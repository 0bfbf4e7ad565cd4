/**
 * Orchestration: a batch of stream records -> bulk requests, retries, dead letters and the
 * partial batch response. All I/O comes in as arguments, so tests pass fakes.
 *
 * Every record ends in exactly one state:
 *   done   - indexed, deleted, already newer in the index (409 under versioning), superseded by a
 *            later record of the same item in this batch, a TTL delete that is kept, or written
 *            to the dead-letter bucket;
 *   failed - anything else. Lambda is told the earliest failed record and re-delivers from it.
 */
import type { DynamoDBBatchResponse } from 'aws-lambda';
import {
  bulkBody,
  chunkByBytes,
  classifyItem,
  classifyRequestFailure,
  encodeOperation,
  EncodedOperation,
} from './bulk';
import type { Config } from './config';
import type { DeadLetterSink } from './dead-letter';
import { BulkRequestError, describeError, IndexerError } from './errors';
import type { Logger } from './logger';
import { coalesce, planRecord, sequenceNumberOf, type Operation } from './records';
import { conflictingVersion, overtakesAcrossWrap } from './versions';
import type { BulkItemResult, SearchClient } from './search-client';

export interface BatchDependencies {
  readonly config: Pick<
    Config,
    | 'index'
    | 'versioning'
    | 'ttlDeletes'
    | 'keyOrder'
    | 'dryRun'
    | 'bulkMaxBytes'
    | 'bulkConcurrency'
    | 'requestTimeoutMs'
    | 'retryBaseMs'
    | 'retryMaxMs'
    | 'deadlineMarginMs'
  >;
  /** Absent only in dry-run. */
  readonly search: Pick<SearchClient, 'bulk'> | undefined;
  /** Absent when no DEAD_LETTER_BUCKET is configured: rejected records are then reported. */
  readonly deadLetters: DeadLetterSink | undefined;
  readonly logger: Logger;
  /** Milliseconds until Lambda kills the invocation (`context.getRemainingTimeInMillis`). */
  readonly remainingMs: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly clock?: () => number;
}

export interface BatchSummary {
  records: number;
  indexed: number;
  deleted: number;
  notFound: number;
  stale: number;
  /** Same-second changes re-sent past a wrapped tiebreak (see lib/versions.ts). */
  wrapped: number;
  superseded: number;
  skipped: number;
  retried: number;
  deadLettered: number;
  failed: number;
  requests: number;
  bytes: number;
  ms: number;
}

export interface BatchResult {
  readonly response: DynamoDBBatchResponse;
  readonly summary: BatchSummary;
}

/** The earliest failed record has no usable identifier, and neither has any record before it. */
export class UnreportableFailureError extends IndexerError {
  override name = 'UnreportableFailureError';
  constructor(position: number) {
    super(
      `record ${position} failed and no record at or before it has a SequenceNumber; ` +
        'failing the whole batch so Lambda retries it',
    );
  }
}

/** Below this, a request cannot be expected to finish before the deadline, so none is started. */
export const MIN_REQUEST_MS = 250;
const DEAD_LETTER_ATTEMPTS = 3;
const DEAD_LETTER_CONCURRENCY = 8;
const DEAD_LETTER_TIMEOUT_MS = 5_000;

interface RecordState {
  done: boolean;
  /** Why the record is not done, for its log line. */
  errorType: string | undefined;
  documentId: string | undefined;
}

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

export async function processBatch(
  records: readonly unknown[],
  deps: BatchDependencies,
): Promise<BatchResult> {
  const { config, logger } = deps;
  const clock = deps.clock ?? Date.now;
  const sleep = deps.sleep ?? defaultSleep;
  const random = deps.random ?? Math.random;
  const started = clock();
  const margin = config.deadlineMarginMs;
  const budget = (): number => deps.remainingMs() - margin;
  // A request is only worth starting if it can run this long (or its whole configured timeout).
  const minRequestMs = Math.min(MIN_REQUEST_MS, config.requestTimeoutMs);

  const summary: BatchSummary = {
    records: records.length,
    indexed: 0,
    deleted: 0,
    notFound: 0,
    stale: 0,
    wrapped: 0,
    superseded: 0,
    skipped: 0,
    retried: 0,
    deadLettered: 0,
    failed: 0,
    requests: 0,
    bytes: 0,
    ms: 0,
  };
  const states: RecordState[] = records.map(() => ({
    done: false,
    errorType: undefined,
    documentId: undefined,
  }));
  const deadLetterWrites: Promise<void>[] = [];
  const deadLetterQueue = limiter(DEAD_LETTER_CONCURRENCY);

  /** Keeps a record that can never be indexed: S3 if configured, else report it to Lambda. */
  const deadLetter = (position: number, errorType: string, reason: string): void => {
    const state = states[position] as RecordState;
    state.errorType = errorType;
    if (config.dryRun) {
      logger.warn('dry run: would dead-letter record', recordFields(records[position], state));
      state.done = true;
      return;
    }
    const sink = deps.deadLetters;
    if (sink === undefined) return; // reported as failed below: lossless without a bucket
    deadLetterWrites.push(
      deadLetterQueue(async () => {
        let lastError: unknown;
        for (let attempt = 1; attempt <= DEAD_LETTER_ATTEMPTS; attempt++) {
          const timeout = Math.min(DEAD_LETTER_TIMEOUT_MS, deps.remainingMs() - margin / 2);
          if (timeout < minRequestMs) break;
          try {
            const key = await sink.write(
              { record: records[position], errorType, reason, documentId: state.documentId },
              timeout,
            );
            state.done = true;
            summary.deadLettered++;
            logger.warn('record dead-lettered', {
              ...recordFields(records[position], state),
              location: sink.uri(key),
            });
            return;
          } catch (error) {
            lastError = error;
            const delay = backoff(attempt);
            if (deps.remainingMs() - margin / 2 - delay < minRequestMs) break;
            if (attempt < DEAD_LETTER_ATTEMPTS) await sleep(delay);
          }
        }
        state.errorType = `${errorType}; dead-letter write failed`;
        logger.error('dead-letter write failed', {
          ...recordFields(records[position], state),
          error: describeError(lastError),
        });
      }),
    );
  };

  const backoff = (attempt: number): number => {
    const ceiling = Math.min(config.retryMaxMs, config.retryBaseMs * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + (random() * ceiling) / 2);
  };

  // 1. Plan every record: an operation, a skip (kept TTL delete), or a malformed record.
  const operations: Operation[] = [];
  for (let position = 0; position < records.length; position++) {
    const plan = planRecord(records[position], position, config);
    const state = states[position] as RecordState;
    if (plan.kind === 'operation') {
      state.documentId = plan.operation.id;
      operations.push(plan.operation);
    } else if (plan.kind === 'skip') {
      state.done = true;
      summary.skipped++;
    } else {
      deadLetter(position, plan.error.errorType, plan.error.message);
    }
  }

  // 2. One operation per document: the last change wins (REMOVE then INSERT ends present).
  const { latest, superseded } = coalesce(operations);
  for (const position of superseded) (states[position] as RecordState).done = true;
  summary.superseded = superseded.length;

  // 3. Send, re-sending only what is not done, until done or out of time.
  let pending = latest.map(encodeOperation);
  if (config.dryRun) {
    for (const chunk of chunkByBytes(pending, config.bulkMaxBytes)) {
      logger.info('dry run: bulk request not sent', {
        method: 'POST',
        path: `/${config.index}/_bulk`,
        operations: chunk.length,
        body: bulkBody(chunk).toString('utf8'),
      });
    }
    for (const item of pending) (states[item.operation.position] as RecordState).done = true;
    pending = [];
  }
  const search = deps.search;
  let lastRequestError: string | undefined;

  const settle = (item: EncodedOperation, errorType: string | undefined): void => {
    const state = states[item.operation.position] as RecordState;
    state.done = true;
    state.errorType = errorType;
  };

  const sendChunk = async (chunk: EncodedOperation[], retry: EncodedOperation[]): Promise<void> => {
    const timeout = Math.min(config.requestTimeoutMs, budget());
    if (search === undefined || timeout < minRequestMs) {
      retry.push(...chunk);
      return;
    }
    const body = bulkBody(chunk);
    let items;
    summary.requests++;
    for (const item of chunk) summary.bytes += item.bytes;
    try {
      items = await search.bulk(body, chunk.length, timeout);
    } catch (error) {
      // The client turns every I/O failure into BulkRequestError; anything else is a bug, and a
      // bug must fail the batch loudly (Lambda retries and bisects it) rather than burn retries.
      if (!(error instanceof BulkRequestError)) throw error;
      const status = error.status;
      lastRequestError = describeError(error);
      if (classifyRequestFailure(status) === 'split') {
        if (chunk.length > 1) {
          // 413: the cluster's HTTP limit is below BULK_MAX_BYTES. Halve and try again now.
          const half = Math.ceil(chunk.length / 2);
          await sendChunk(chunk.slice(0, half), retry);
          await sendChunk(chunk.slice(half), retry);
        } else {
          const only = chunk[0] as EncodedOperation;
          deadLetter(
            only.operation.position,
            'request_entity_too_large',
            `a bulk request with only this record (${only.bytes} bytes) was answered 413`,
          );
        }
        return;
      }
      for (const item of chunk) {
        (states[item.operation.position] as RecordState).errorType = lastRequestError;
      }
      retry.push(...chunk);
      return;
    }
    for (let i = 0; i < chunk.length; i++) {
      const item = chunk[i] as EncodedOperation;
      const result = items[i] as BulkItemResult;
      const verdict = classifyItem(result, item.operation.kind, config.versioning);
      if (verdict.label === 'stale' && item.operation.version !== undefined) {
        const current = conflictingVersion(result.reason);
        if (current !== undefined && overtakesAcrossWrap(item.operation.version, current)) {
          // Newer than what is stored: only the same-second tiebreak wrapped (lib/versions.ts).
          retry.push(encodeOperation({ ...item.operation, version: (current + 1n).toString() }));
          summary.wrapped++;
          continue;
        }
      }
      if (verdict.outcome === 'done') {
        settle(item, undefined);
        if (verdict.label === 'indexed') summary.indexed++;
        else if (verdict.label === 'deleted') summary.deleted++;
        else if (verdict.label === 'not-found') summary.notFound++;
        else summary.stale++;
      } else if (verdict.outcome === 'retry') {
        (states[item.operation.position] as RecordState).errorType =
          result.errorType ?? `HTTP ${result.status}`;
        retry.push(item);
      } else {
        deadLetter(
          item.operation.position,
          result.errorType ?? `HTTP ${result.status}`,
          result.reason ?? `bulk item answered HTTP ${result.status}`,
        );
      }
    }
  };

  const chunkQueue = limiter(config.bulkConcurrency);
  for (let attempt = 1; pending.length > 0; attempt++) {
    const retry: EncodedOperation[] = [];
    // Chunks can go out concurrently: after coalescing no two operations share a document.
    await Promise.all(
      chunkByBytes(pending, config.bulkMaxBytes).map((chunk) =>
        chunkQueue(() => sendChunk(chunk, retry)),
      ),
    );
    if (retry.length === 0) break;
    // Keep stream order in the next request; concurrent chunks may have finished in any order.
    pending = retry.sort((a, b) => a.operation.position - b.operation.position);
    const delay = backoff(attempt);
    if (budget() - delay < minRequestMs) {
      logger.warn('out of time: leaving operations for Lambda to re-deliver', {
        pending: pending.length,
        attempts: attempt,
        lastError: lastRequestError,
      });
      break;
    }
    summary.retried += pending.length;
    logger.warn('retrying bulk operations', {
      pending: pending.length,
      attempt,
      delayMs: delay,
      lastError: lastRequestError,
    });
    await sleep(delay);
  }

  // 4. Wait for dead letters. A write that fails leaves its record failed.
  await Promise.all(deadLetterWrites);

  // 5. Tell Lambda where to resume.
  let earliest: { position: number; sequence: bigint } | undefined;
  for (let position = 0; position < states.length; position++) {
    const state = states[position] as RecordState;
    if (state.done) continue;
    summary.failed++;
    logger.error('record not done', recordFields(records[position], state));
    const reportable = reportablePosition(records, position);
    if (reportable === undefined) throw new UnreportableFailureError(position);
    const sequence = BigInt(sequenceNumberOf(records[reportable]) as string);
    if (earliest === undefined || sequence < earliest.sequence) {
      earliest = { position: reportable, sequence };
    }
  }
  summary.ms = clock() - started;
  logger.info('batch processed', { ...summary });
  const batchItemFailures =
    earliest === undefined
      ? []
      : [{ itemIdentifier: sequenceNumberOf(records[earliest.position]) as string }];
  return { response: { batchItemFailures }, summary };
}

/**
 * The record whose SequenceNumber stands for a failed record: itself, or the nearest earlier
 * record with one. Lambda checkpoints at the lowest identifier and re-delivers everything after
 * it, so reporting an earlier record is safe; an empty identifier would fail the whole batch.
 */
function reportablePosition(records: readonly unknown[], position: number): number | undefined {
  for (let p = position; p >= 0; p--) {
    const seq = sequenceNumberOf(records[p]);
    if (seq !== undefined && /^\d+$/.test(seq)) return p;
  }
  return undefined;
}

function recordFields(record: unknown, state: RecordState): Record<string, unknown> {
  const r = record as { eventID?: unknown; eventName?: unknown } | null;
  return {
    key: state.documentId,
    sequenceNumber: sequenceNumberOf(record),
    eventName: typeof r?.eventName === 'string' ? r.eventName : undefined,
    errorType: state.errorType,
  };
}

/** Runs at most `limit` tasks at once. */
function limiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    // A finishing task hands its slot straight to the next waiter, so `running` never overshoots.
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

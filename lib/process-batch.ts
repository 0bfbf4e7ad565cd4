/**
 * Orchestration: a batch of source records -> bulk requests, retries, dead letters and the
 * partial batch response. All I/O comes in as arguments, so tests pass fakes.
 *
 * A batch goes through named phases; a Ledger carries each record's state between them:
 *   1. plan         each record -> an operation, a skip, or malformed (dead-lettered)   planRecords
 *   2. coalesce     one operation per document, the latest change wins                  records.ts
 *   3. send         until every operation is done, set aside, or time is up             send.ts
 *   4. dead-letter  wait for the letters; a letter that cannot be written stays failed  dead-letter.ts
 *   5. answer       the lowest identifier among the records that are not done           batch-response.ts
 *
 * Every record ends in exactly one state:
 *   done   - indexed, deleted, already newer in the index (409 under versioning), superseded by a
 *            later change of the same item in this batch, a TTL delete that is kept, or written
 *            to the dead-letter store;
 *   failed - anything else. Lambda is told the earliest failed record and re-delivers from it.
 */
import type { DynamoDBBatchResponse } from 'aws-lambda';
import { batchResponse } from './batch-response';
import { bulkBody, chunkByBytes, encodeOperation } from './bulk';
import type { Config } from './config';
import { createDeadline } from './deadline';
import { createDeadLetterWriter, type DeadLetterOutcome, type DeadLetterSink } from './dead-letter';
import { describeError } from './errors';
import { Ledger, type BatchSummary } from './ledger';
import type { Logger } from './logger';
import { freshnessSeconds, type Emf } from './metrics';
import { coalesce, planRecord, type ChangeSource, type Operation } from './records';
import { defaultSleep, type RetryPolicy } from './retry';
import type { SearchClient } from './search-client';
import { sendUntilDone } from './send';
import { sourceFor } from './sources';

export type { BatchSummary } from './ledger';
export { UnreportableFailureError } from './errors';

export interface BatchDependencies {
  readonly config: Pick<
    Config,
    | 'index'
    | 'versioning'
    | 'ttlDeletes'
    | 'keyOrder'
    | 'sourceTable'
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
  /** Adds CloudWatch EMF metrics to the 'batch processed' line (lib/metrics.ts); absent: none. */
  readonly metrics?: Emf | undefined;
}

export interface BatchResult {
  readonly response: DynamoDBBatchResponse;
  readonly summary: BatchSummary;
}

export interface RecordsResult {
  /** Positions of the records that are not done, in batch order. */
  readonly failed: readonly number[];
  readonly summary: BatchSummary;
}

/** Below this, a request cannot be expected to finish before the deadline, so none is started. */
export const MIN_REQUEST_MS = 250;

/**
 * A Lambda batch (DynamoDB Streams or Kinesis, told apart by the records' `eventSource`) ->
 * the partial batch response.
 */
export async function processBatch(
  records: readonly unknown[],
  deps: BatchDependencies,
): Promise<BatchResult> {
  const source = sourceFor(records);
  const { failed, summary } = await processRecords(records, source, deps);
  const response = batchResponse(
    failed,
    (position) => source.identity(records[position]).identifier,
  );
  return { response, summary };
}

/**
 * Any source's records -> indexed, deleted or dead-lettered, as far as the deadline allows.
 * Resolves with the positions of the records that are not done.
 */
export async function processRecords<R>(
  records: readonly R[],
  source: ChangeSource<R>,
  deps: BatchDependencies,
): Promise<RecordsResult> {
  const { config, logger } = deps;
  const clock = deps.clock ?? Date.now;
  const sleep = deps.sleep ?? defaultSleep;
  const random = deps.random ?? Math.random;
  const started = clock();
  // A request is only worth starting if it can run this long (or its whole configured timeout).
  const minRequestMs = Math.min(MIN_REQUEST_MS, config.requestTimeoutMs);
  const policy: RetryPolicy = { baseMs: config.retryBaseMs, maxMs: config.retryMaxMs };
  const ledger = new Ledger(records.length);
  const logFields = (position: number): Record<string, unknown> => {
    const identity = source.identity(records[position]);
    return {
      key: ledger.documentId(position),
      sequenceNumber: identity.identifier,
      eventName: identity.eventName,
      errorType: ledger.errorType(position),
    };
  };

  // Phase 4's writer, fed from phases 1 and 3. Dead letters get half the margin the bulk requests
  // get: keeping a rejected record is worth more of the remaining time than one more retry.
  const writeLetter =
    deps.deadLetters === undefined ||
    // Stryker disable next-line ConditionalExpression: `false` is equivalent: a dry run's reject() returns before it reads the writer, and an unused writer does nothing (`true` is killed).
    config.dryRun
      ? undefined
      : createDeadLetterWriter(deps.deadLetters, {
          deadline: createDeadline(deps.remainingMs, config.deadlineMarginMs / 2, minRequestMs),
          policy,
          sleep,
          random,
        });
  const letters: Promise<void>[] = [];
  const reject = (position: number, errorType: string, reason: string): void => {
    ledger.setError(position, errorType);
    if (config.dryRun) {
      logger.warn('dry run: would dead-letter record', logFields(position));
      ledger.shown(position);
      return;
    }
    if (writeLetter === undefined) return; // reported as failed: lossless without a bucket
    const letter = {
      record: records[position],
      errorType,
      reason,
      documentId: ledger.documentId(position),
      source: source.name,
      identity: source.identity(records[position]),
    };
    letters.push(
      writeLetter(letter).then((outcome) =>
        deadLettered(position, outcome, errorType, deps, ledger, logFields),
      ),
    );
  };

  // 1. Plan.
  const operations = planRecords(records, source, config, ledger, reject);

  // 2. Coalesce.
  const { latest, superseded } = coalesce(operations);
  for (const position of superseded) ledger.settle(position, 'superseded');

  // 3. Send until done (or show, in a dry run).
  if (config.dryRun) {
    showDryRun(latest, config, logger, ledger);
  } else {
    await sendUntilDone(latest, {
      config,
      search: deps.search,
      ledger,
      deadline: createDeadline(deps.remainingMs, config.deadlineMarginMs, minRequestMs),
      policy,
      reject,
      logger,
      sleep,
      random,
    });
  }

  // 4. Dead letters.
  await Promise.all(letters);

  // 5. What is not done.
  const failed = ledger.closeFailed();
  for (const position of failed) logger.error('record not done', logFields(position));
  const ended = clock();
  ledger.summary.ms = ended - started;
  logger.summary(
    'batch processed',
    deps.metrics === undefined
      ? { ...ledger.summary }
      : deps.metrics(
          ledger.summary,
          freshnessSeconds(newestCreatedSeconds(records, source), ended),
          ended,
        ),
  );
  return { failed, summary: ledger.summary };
}

/** Phase 1: each record -> an operation (returned), a skip (done) or malformed (rejected). */
function planRecords<R>(
  records: readonly R[],
  source: ChangeSource<R>,
  config: BatchDependencies['config'],
  ledger: Ledger,
  reject: (position: number, errorType: string, reason: string) => void,
): Operation[] {
  const operations: Operation[] = [];
  for (let position = 0; position < records.length; position++) {
    const plan = planRecord(records[position] as R, position, config, source);
    if (plan.kind === 'operation') {
      ledger.setDocumentId(position, plan.operation.id);
      operations.push(plan.operation);
    } else if (plan.kind === 'skip') {
      ledger.settle(position, 'skipped');
    } else {
      reject(position, plan.error.errorType, plan.error.message);
    }
  }
  return operations;
}

function deadLettered(
  position: number,
  outcome: DeadLetterOutcome,
  errorType: string,
  deps: BatchDependencies,
  ledger: Ledger,
  logFields: (position: number) => Record<string, unknown>,
): void {
  if (outcome.ok) {
    ledger.deadLettered(position);
    deps.logger.warn('record dead-lettered', {
      ...logFields(position),
      location: deps.deadLetters?.uri(outcome.key),
    });
    return;
  }
  ledger.setError(position, `${errorType}; dead-letter write failed`);
  deps.logger.error('dead-letter write failed', {
    ...logFields(position),
    error: describeError(outcome.error),
  });
}

/** The newest creation time (epoch s) among the records, 0 when none has one. */
function newestCreatedSeconds<R>(records: readonly R[], source: ChangeSource<R>): number {
  let newest = 0;
  // Stryker disable next-line ConditionalExpression,BlockStatement: `false` and an emptied block are equivalent: the loop below then reads identity(record).createdSeconds, the same value, only slower (`true` is killed: a Kinesis source has no createdSeconds).
  if (source.createdSeconds !== undefined) {
    // One field per record, rather than a whole identity object (this runs for every record).
    for (const record of records) {
      const created = source.createdSeconds(record);
      // Stryker disable next-line EqualityOperator: `>=` is equivalent (an equal time leaves the same newest); `<=` is killed.
      if (created > newest) newest = created;
    }
    return newest;
  }
  for (const record of records) {
    const created = source.identity(record).createdSeconds;
    // Stryker disable next-line EqualityOperator: `>=` is equivalent (an equal time leaves the same newest); `<=` is killed.
    if (created > newest) newest = created;
  }
  return newest;
}

/** A dry run logs the bulk requests it would send, and counts their records as shown. */
function showDryRun(
  operations: readonly Operation[],
  config: BatchDependencies['config'],
  logger: Logger,
  ledger: Ledger,
): void {
  const encoded = operations.map(encodeOperation);
  for (const chunk of chunkByBytes(encoded, config.bulkMaxBytes)) {
    logger.info('dry run: bulk request not sent', {
      method: 'POST',
      path: `/${config.index}/_bulk`,
      operations: chunk.length,
      body: bulkBody(chunk).toString('utf8'),
    });
  }
  for (const operation of operations) ledger.shown(operation.position);
}

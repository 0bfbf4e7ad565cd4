/**
 * A simulator of Lambda's event source mapping for ONE DynamoDB stream shard, following the
 * documented rules (AWS Lambda developer guide "services-ddb-batchfailurereporting",
 * "services-dynamodb-errors", "services-ddb-params"; summarised in shared/REFERENCE.md):
 *
 *  - Records are delivered in order, in batches of up to `batchSize` starting at the checkpoint
 *    (and under the 6 MB invocation payload limit).
 *  - The handler gets a real `DynamoDBStreamEvent` ({Records}, JSON round-tripped like Lambda's
 *    payload) and a Context whose getRemainingTimeInMillis() counts down to start + timeoutMs.
 *  - The handler is raced against the timeout. A timeout is a function error (whole batch
 *    retried) and is also recorded as a deadline violation.
 *  - With ReportBatchItemFailures: {batchItemFailures: []}, a null list, a null/undefined
 *    response, or a response without the key mean success. Valid identifiers: checkpoint at the
 *    LOWEST reported sequence number and re-deliver from there (later successes included). An
 *    empty-string / null / missing itemIdentifier, a wrongly named key, or an identifier that is
 *    not in the batch: whole-batch failure. A thrown error: whole-batch failure. (A response that
 *    is not an object, or a batchItemFailures that is not a list, is treated as a whole-batch
 *    failure too: GUESS, the docs do not say.)
 *  - BisectBatchOnFunctionError: a failing batch is split in two and the halves are retried in
 *    order; splitting does not count as a retry. With a partial response the batch is split at
 *    the reported record and only the remaining records are retried.
 *  - MaximumRetryAttempts (must be bounded here): when the record at the checkpoint has failed
 *    more than that many times, the failed batch goes to the recorded on-failure destination
 *    and processing continues after it. (The real destination only gets metadata; the simulator
 *    keeps the records so a test can say what was lost.) GUESS: the retry counter resets
 *    whenever the checkpoint advances.
 *  - A hard bound on total invocations (and on wall-clock time) stops a looping bug.
 *
 * The same rules hold for a Kinesis shard (AWS Lambda developer guide "services-kinesis-
 * batchfailurereporting", "kinesis-on-failure-destination": partial batch responses name the
 * Kinesis `sequenceNumber`, Lambda checkpoints at the lowest, bisects and retries the same way), so
 * `identifierOf` lets the simulator run a Kinesis shard: the records are then Kinesis records and
 * the event is a `KinesisStreamEvent`.
 */
import { randomUUID } from 'node:crypto';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

export type StreamHandler<R = DynamoDBRecord> = (
  event: R extends DynamoDBRecord ? DynamoDBStreamEvent : { Records: R[] },
  context: Context,
) => Promise<unknown> | unknown;

export interface EsmOptions<R = DynamoDBRecord> {
  /** The record's identifier for partial batch responses. Default: dynamodb.SequenceNumber. */
  readonly identifierOf?: (record: R) => string | undefined;
  readonly batchSize?: number;
  /** The function timeout. */
  readonly timeoutMs?: number;
  /** Bounded; AWS's -1 (until the record expires) is not accepted here. Default 10. */
  readonly maximumRetryAttempts?: number;
  readonly bisectBatchOnFunctionError?: boolean;
  /** FunctionResponseTypes: [ReportBatchItemFailures]. Default true. */
  readonly reportBatchItemFailures?: boolean;
  /** Hard bound on invocations (late re-deliveries included). Default 500. */
  readonly maxInvocations?: number;
  /** Pause before re-delivering after a failure (Lambda backs off too). Default 0. */
  readonly retryDelayMs?: number;
  /** After a timeout, wait at most this long for the abandoned invocation to settle. Default 10 s. */
  readonly abandonedGraceMs?: number;
  /** Called after a timeout to get a fresh handler (Lambda replaces a timed-out sandbox). */
  readonly reloadHandler?: () => StreamHandler<R> | Promise<StreamHandler<R>>;
  readonly functionName?: string;
  /** Invocation payload limit. Default 6 MB. */
  readonly maxPayloadBytes?: number;
  /** Wall-clock budget for runToEnd(), default 120 s: a hung or looping run stops (as a bound hit). */
  readonly maxWallMs?: number;
  /** Checked before every invocation: true stops the run (e.g. the harness is closing). */
  readonly shouldStop?: () => boolean;
}

export type InvocationOutcome = 'success' | 'partial' | 'error' | 'timeout' | 'invalid-response';

export interface InvocationRecord {
  readonly n: number;
  readonly late: boolean;
  readonly start: number;
  readonly end: number;
  readonly firstSequenceNumber: string | undefined;
  readonly lastSequenceNumber: string | undefined;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly timeoutMs: number;
  readonly outcome: InvocationOutcome;
  readonly response: unknown;
  readonly error: string | undefined;
  /** For 'partial': index (in the shard) of the lowest reported record. */
  readonly checkpointAt: number | undefined;
}

export interface OnFailureEntry<R = DynamoDBRecord> {
  readonly reason: string;
  readonly records: R[];
  readonly startSequenceNumber: string | undefined;
  readonly endSequenceNumber: string | undefined;
}

export interface EsmStats {
  invocations: number;
  lateInvocations: number;
  successes: number;
  partialFailures: number;
  wholeBatchFailures: number;
  thrown: number;
  timeouts: number;
  invalidResponses: number;
  retries: number;
  deadlineViolations: number;
  maxDurationMs: number;
  /** max(duration / timeout) over invocations. */
  maxDurationFraction: number;
  recordsDelivered: number;
  recordsDiscarded: number;
  hitInvocationBound: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function dynamodbSequenceNumber(r: unknown): string | undefined {
  return (r as DynamoDBRecord | undefined)?.dynamodb?.SequenceNumber;
}

export class EsmSimulator<R = DynamoDBRecord> {
  readonly records: R[] = [];
  readonly invocations: InvocationRecord[] = [];
  readonly onFailure: OnFailureEntry<R>[] = [];
  readonly stats: EsmStats = {
    invocations: 0,
    lateInvocations: 0,
    successes: 0,
    partialFailures: 0,
    wholeBatchFailures: 0,
    thrown: 0,
    timeouts: 0,
    invalidResponses: 0,
    retries: 0,
    deadlineViolations: 0,
    maxDurationMs: 0,
    maxDurationFraction: 0,
    recordsDelivered: 0,
    recordsDiscarded: 0,
    hitInvocationBound: false,
  };
  /** Index in `records` of the next record to deliver. */
  checkpoint = 0;
  private attempts = 0;
  private pending: Array<{ start: number; end: number }> = [];
  private readonly opts: Required<
    Omit<EsmOptions<R>, 'reloadHandler' | 'shouldStop' | 'identifierOf'>
  > & {
    reloadHandler: EsmOptions<R>['reloadHandler'] | undefined;
    shouldStop: () => boolean;
  };
  private readonly createdAt = Date.now();
  private readonly seqOf: (record: R | undefined) => string | undefined;

  constructor(
    private handler: StreamHandler<R>,
    options: EsmOptions<R> = {},
  ) {
    const identifierOf = options.identifierOf ?? dynamodbSequenceNumber;
    this.seqOf = (record) => (record === undefined ? undefined : identifierOf(record));
    const maximumRetryAttempts = options.maximumRetryAttempts ?? 10;
    if (!Number.isInteger(maximumRetryAttempts) || maximumRetryAttempts < 0) {
      throw new Error(
        'maximumRetryAttempts must be a bounded non-negative integer in the simulator',
      );
    }
    const batchSize = options.batchSize ?? 100;
    if (batchSize < 1 || batchSize > 10_000) throw new Error('batchSize must be 1..10000');
    this.opts = {
      batchSize,
      timeoutMs: options.timeoutMs ?? 30_000,
      maximumRetryAttempts,
      bisectBatchOnFunctionError: options.bisectBatchOnFunctionError ?? false,
      reportBatchItemFailures: options.reportBatchItemFailures ?? true,
      maxInvocations: options.maxInvocations ?? 500,
      retryDelayMs: options.retryDelayMs ?? 0,
      abandonedGraceMs: options.abandonedGraceMs ?? 10_000,
      reloadHandler: options.reloadHandler,
      functionName: options.functionName ?? 'indexer',
      maxPayloadBytes: options.maxPayloadBytes ?? 6 * 1024 * 1024,
      maxWallMs: options.maxWallMs ?? 120_000,
      shouldStop: options.shouldStop ?? (() => false),
    };
  }

  /** Adds records to the shard (they must be in stream order). */
  append(records: readonly R[]): this {
    this.records.push(...records);
    return this;
  }

  get done(): boolean {
    return this.checkpoint >= this.records.length;
  }

  private budgetLeft(): boolean {
    if (
      this.stats.invocations >= this.opts.maxInvocations ||
      this.opts.shouldStop() ||
      Date.now() - this.createdAt > this.opts.maxWallMs
    ) {
      this.stats.hitInvocationBound = true;
      return false;
    }
    return true;
  }

  /** Processes until every record is checkpointed (or the invocation / wall-clock bound is hit). */
  async runToEnd(): Promise<EsmStats> {
    while (!this.done && this.budgetLeft()) await this.step();
    return this.stats;
  }

  /** One invocation at the checkpoint. */
  async step(): Promise<InvocationRecord | undefined> {
    if (this.done || !this.budgetLeft()) return undefined;
    let range = this.pending.shift() ?? {
      start: this.checkpoint,
      end: Math.min(this.checkpoint + this.opts.batchSize, this.records.length),
    };
    if (range.start !== this.checkpoint)
      throw new Error(
        `simulator bug: range ${range.start} is not at checkpoint ${this.checkpoint}`,
      );
    // Lambda keeps an invocation under the payload limit by sending fewer records.
    while (
      range.end - range.start > 1 &&
      Buffer.byteLength(JSON.stringify({ Records: this.records.slice(range.start, range.end) })) >
        this.opts.maxPayloadBytes
    ) {
      range = { start: range.start, end: range.start + Math.ceil((range.end - range.start) / 2) };
    }
    const inv = await this.invoke(range.start, range.end, false);
    switch (inv.outcome) {
      case 'success':
        this.checkpoint = range.end;
        this.attempts = 0;
        break;
      case 'partial': {
        const at = inv.checkpointAt as number;
        if (at > this.checkpoint) {
          this.checkpoint = at;
          this.attempts = 0;
        } else {
          this.attempts++;
        }
        const remaining = { start: at, end: range.end };
        this.stats.retries++;
        if (this.attempts > this.opts.maximumRetryAttempts) {
          this.discard(
            remaining,
            `retries exhausted after partial batch failure (attempts ${this.attempts})`,
          );
        } else if (this.opts.bisectBatchOnFunctionError) {
          this.pending.unshift(remaining);
        }
        if (this.opts.retryDelayMs > 0) await sleep(this.opts.retryDelayMs);
        break;
      }
      default: {
        this.stats.retries++;
        if (this.opts.bisectBatchOnFunctionError && range.end - range.start > 1) {
          const mid = range.start + Math.ceil((range.end - range.start) / 2);
          this.pending.unshift({ start: range.start, end: mid }, { start: mid, end: range.end });
        } else {
          this.attempts++;
          if (this.attempts > this.opts.maximumRetryAttempts) {
            this.discard(
              range,
              `retries exhausted after ${inv.outcome} (attempts ${this.attempts})`,
            );
          } else if (this.opts.bisectBatchOnFunctionError) {
            this.pending.unshift(range);
          }
        }
        if (this.opts.retryDelayMs > 0) await sleep(this.opts.retryDelayMs);
      }
    }
    return inv;
  }

  private discard(range: { start: number; end: number }, reason: string): void {
    const records = this.records.slice(range.start, range.end);
    this.onFailure.push({
      reason,
      records,
      startSequenceNumber: this.seqOf(records[0]),
      endSequenceNumber: this.seqOf(records[records.length - 1]),
    });
    this.stats.recordsDiscarded += records.length;
    this.checkpoint = range.end;
    this.attempts = 0;
    this.pending = this.pending.filter((p) => p.start >= range.end);
  }

  /** Invokes the handler again with an already-processed slice (a late duplicate delivery). */
  async redeliver(start: number, end: number): Promise<InvocationRecord> {
    if (start < 0 || end > this.checkpoint || start >= end)
      throw new Error(
        `redeliver ${start}..${end} is not an already-processed slice (checkpoint ${this.checkpoint})`,
      );
    if (!this.budgetLeft()) throw new Error('invocation bound reached');
    return this.invoke(start, end, true);
  }

  private async invoke(start: number, end: number, late: boolean): Promise<InvocationRecord> {
    const batch = this.records.slice(start, end);
    const event = JSON.parse(JSON.stringify({ Records: batch })) as Parameters<StreamHandler<R>>[0];
    const n = ++this.stats.invocations;
    if (late) this.stats.lateInvocations++;
    this.stats.recordsDelivered += batch.length;
    const startedAt = Date.now();
    const deadline = startedAt + this.opts.timeoutMs;
    const requestId = randomUUID();
    const context: Context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: this.opts.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${this.opts.functionName}`,
      memoryLimitInMB: '1024',
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${this.opts.functionName}`,
      logStreamName: `2024/05/17/[$LATEST]${requestId.replace(/-/g, '')}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => {
        throw new Error('context.done is not supported by async handlers');
      },
      fail: () => {
        throw new Error('context.fail is not supported by async handlers');
      },
      succeed: () => {
        throw new Error('context.succeed is not supported by async handlers');
      },
    };

    let timer: NodeJS.Timeout | undefined;
    const TIMEOUT = Symbol('timeout');
    const call = (async () => this.handler(event, context))();
    let outcome: InvocationOutcome;
    let response: unknown;
    let error: string | undefined;
    let checkpointAt: number | undefined;
    try {
      const result = await Promise.race([
        call,
        new Promise<typeof TIMEOUT>((resolve) => {
          timer = setTimeout(() => resolve(TIMEOUT), this.opts.timeoutMs);
        }),
      ]);
      if (result === TIMEOUT) {
        outcome = 'timeout';
        error = `Task timed out after ${(this.opts.timeoutMs / 1000).toFixed(2)} seconds`;
      } else {
        response = result;
        const parsed = this.interpret(result, batch, start);
        outcome = parsed.outcome;
        checkpointAt = parsed.checkpointAt;
        error = parsed.error;
      }
    } catch (e) {
      outcome = 'error';
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    } finally {
      if (timer) clearTimeout(timer);
    }
    const durationMs = Date.now() - startedAt;
    if (outcome === 'timeout') {
      this.stats.timeouts++;
      this.stats.deadlineViolations++;
      // Lambda stops a timed-out sandbox; here the abandoned call still runs, so wait (bounded)
      // for it to settle before the retry, then give the retry a fresh module instance.
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([
        call.catch(() => undefined),
        new Promise((r) => {
          grace = setTimeout(r, this.opts.abandonedGraceMs);
        }),
      ]);
      if (grace) clearTimeout(grace);
      if (this.opts.reloadHandler) this.handler = await this.opts.reloadHandler();
    } else if (durationMs > this.opts.timeoutMs) {
      this.stats.deadlineViolations++;
    }
    if (outcome === 'error') this.stats.thrown++;
    if (outcome === 'invalid-response') this.stats.invalidResponses++;
    if (outcome === 'success') this.stats.successes++;
    if (outcome === 'partial') this.stats.partialFailures++;
    if (outcome === 'error' || outcome === 'timeout' || outcome === 'invalid-response')
      this.stats.wholeBatchFailures++;
    this.stats.maxDurationMs = Math.max(this.stats.maxDurationMs, durationMs);
    this.stats.maxDurationFraction = Math.max(
      this.stats.maxDurationFraction,
      durationMs / this.opts.timeoutMs,
    );
    const inv: InvocationRecord = {
      n,
      late,
      start,
      end,
      firstSequenceNumber: this.seqOf(batch[0]),
      lastSequenceNumber: this.seqOf(batch[batch.length - 1]),
      startedAt,
      durationMs,
      timeoutMs: this.opts.timeoutMs,
      outcome,
      response,
      error,
      checkpointAt,
    };
    this.invocations.push(inv);
    return inv;
  }

  private interpret(
    result: unknown,
    batch: R[],
    start: number,
  ): { outcome: InvocationOutcome; checkpointAt?: number; error?: string } {
    if (!this.opts.reportBatchItemFailures) return { outcome: 'success' };
    if (result === null || result === undefined) return { outcome: 'success' };
    if (typeof result !== 'object' || Array.isArray(result))
      return {
        outcome: 'invalid-response',
        error: `response is not an object: ${JSON.stringify(result)}`,
      };
    const failures = (result as Record<string, unknown>)['batchItemFailures'];
    if (failures === null || failures === undefined) return { outcome: 'success' };
    if (!Array.isArray(failures))
      return { outcome: 'invalid-response', error: 'batchItemFailures is not a list' };
    if (failures.length === 0) return { outcome: 'success' };
    let lowest: number | undefined;
    for (const f of failures as unknown[]) {
      if (f === null || typeof f !== 'object')
        return {
          outcome: 'invalid-response',
          error: `batch item failure is not an object: ${JSON.stringify(f)}`,
        };
      const keys = Object.keys(f);
      if (keys.length !== 1 || keys[0] !== 'itemIdentifier')
        return {
          outcome: 'invalid-response',
          error: `batch item failure has wrong keys: ${JSON.stringify(f)}`,
        };
      const id = (f as Record<string, unknown>)['itemIdentifier'];
      if (typeof id !== 'string' || id === '')
        return {
          outcome: 'invalid-response',
          error: `itemIdentifier is empty or not a string: ${JSON.stringify(f)}`,
        };
      const pos = batch.findIndex((r) => this.seqOf(r) === id);
      if (pos < 0)
        return { outcome: 'invalid-response', error: `itemIdentifier ${id} is not in the batch` };
      lowest = lowest === undefined ? pos : Math.min(lowest, pos);
    }
    return { outcome: 'partial', checkpointAt: start + (lowest as number) };
  }
}

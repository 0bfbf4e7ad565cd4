/**
 * Send until done: operations -> `_bulk` requests, re-sending only what is not done, until every
 * operation is done or set aside, or the deadline leaves no room for another attempt.
 *
 * Each bulk item's outcome comes from the one table in lib/bulk.ts (ITEM_RULES): done items are
 * settled in the ledger, retryable ones go to the next round (in batch order, after backoff),
 * rejected ones to `reject` (the dead-letter phase), and a wrapped same-second conflict is re-sent
 * with the stored version + 1 in the next round. A 413 halves the request and tries again at once.
 */
import {
  bulkBody,
  chunkByBytes,
  classifyItem,
  classifyRequestFailure,
  encodeOperation,
  encodeOperations,
  type BulkItemResult,
  type EncodedOperation,
  type ItemLabel,
} from './bulk';
import type { Config } from './config';
import type { Deadline } from './deadline';
import { BulkRequestError, describeError } from './errors';
import type { DoneCounter, Ledger } from './ledger';
import type { Logger } from './logger';
import type { Operation } from './records';
import { backoffMs, limiter, type RetryPolicy } from './retry';
import type { SearchClient } from './search-client';
import { versionAfterConflict } from './versions';

export interface SendContext {
  readonly config: Pick<
    Config,
    'versioning' | 'bulkMaxBytes' | 'bulkConcurrency' | 'requestTimeoutMs'
  >;
  readonly search: Pick<SearchClient, 'bulk'> | undefined;
  readonly ledger: Ledger;
  readonly deadline: Deadline;
  readonly policy: RetryPolicy;
  /** Sets a record aside for good (the dead-letter phase). */
  readonly reject: (position: number, errorType: string, reason: string) => void;
  readonly logger: Logger;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
}

/** The ledger counter of each "done" label. */
const DONE_COUNTERS: Partial<Record<ItemLabel, DoneCounter>> = {
  indexed: 'indexed',
  deleted: 'deleted',
  'not-found': 'notFound',
  stale: 'stale',
};

export async function sendUntilDone(
  operations: readonly Operation[],
  ctx: SendContext,
): Promise<void> {
  const { config, ledger, logger } = ctx;
  const round = new SendRound(ctx);
  const chunkQueue = limiter(config.bulkConcurrency);
  let pending = encodeOperations(operations);
  // Stryker disable next-line ConditionalExpression,EqualityOperator: `true` and `>= 0` are equivalent: the condition only matters for an empty batch, whose round sends nothing (chunkByBytes([]) is []) and breaks on an empty retry list (`false` and `<= 0` are killed).
  for (let attempt = 1; pending.length > 0; attempt++) {
    const retry: EncodedOperation[] = [];
    // Chunks can go out concurrently: after coalescing no two operations share a document.
    await Promise.all(
      chunkByBytes(pending, config.bulkMaxBytes).map((chunk) =>
        chunkQueue(() => round.send(chunk, retry)),
      ),
    );
    if (retry.length === 0) break;
    // Keep batch order in the next request; concurrent chunks may have finished in any order.
    pending = retry.sort(byPosition);
    const delay = backoffMs(attempt, ctx.policy, ctx.random);
    if (!ctx.deadline.canWait(delay)) {
      logger.warn('out of time: leaving operations for Lambda to re-deliver', {
        pending: pending.length,
        attempts: attempt,
        lastError: round.lastError,
      });
      break;
    }
    ledger.summary.retried += pending.length;
    logger.warn('retrying bulk operations', {
      pending: pending.length,
      attempt,
      delayMs: delay,
      lastError: round.lastError,
    });
    await ctx.sleep(delay);
  }
}

function bytesOf(chunk: readonly EncodedOperation[]): number {
  let bytes = 0;
  for (const item of chunk) bytes += item.bytes;
  return bytes;
}

const byPosition = (a: EncodedOperation, b: EncodedOperation): number =>
  a.operation.position - b.operation.position;

/** Sends chunks and applies their answers; remembers the last request error for the logs. */
class SendRound {
  lastError: string | undefined;

  constructor(private readonly ctx: SendContext) {}

  async send(chunk: EncodedOperation[], retry: EncodedOperation[]): Promise<void> {
    const { ctx } = this;
    const timeout = ctx.deadline.timeoutFor(ctx.config.requestTimeoutMs);
    if (ctx.search === undefined || timeout === undefined) {
      retry.push(...chunk);
      return;
    }
    const summary = ctx.ledger.summary;
    summary.requests++;
    summary.bytes += bytesOf(chunk);
    let items: BulkItemResult[];
    try {
      items = await ctx.search.bulk(bulkBody(chunk), chunk.length, timeout);
    } catch (error) {
      // The client turns every I/O failure into BulkRequestError; anything else is a bug, and a
      // bug must fail the batch loudly (Lambda retries and bisects it) rather than burn retries.
      if (!(error instanceof BulkRequestError)) throw error;
      await this.requestFailed(chunk, error, retry);
      return;
    }
    this.applyAll(chunk, items, retry);
  }

  // The per-item loops live in plain functions rather than in the async `send`: V8 optimizes a
  // hot loop by compiling its whole function on the spot (OSR), and an async function's state
  // machine is a much bigger compile than the loop (measured with --trace-opt).
  private applyAll(
    chunk: readonly EncodedOperation[],
    items: readonly BulkItemResult[],
    retry: EncodedOperation[],
  ): void {
    for (let i = 0; i < chunk.length; i++) {
      this.apply(chunk[i] as EncodedOperation, items[i] as BulkItemResult, retry);
    }
  }

  private async requestFailed(
    chunk: EncodedOperation[],
    error: BulkRequestError,
    retry: EncodedOperation[],
  ): Promise<void> {
    const { ctx } = this;
    this.lastError = describeError(error);
    if (classifyRequestFailure(error.status) === 'split') {
      if (chunk.length > 1) {
        // 413: the cluster's HTTP limit is below BULK_MAX_BYTES. Halve and try again now.
        const half = Math.ceil(chunk.length / 2);
        await this.send(chunk.slice(0, half), retry);
        await this.send(chunk.slice(half), retry);
      } else {
        const only = chunk[0] as EncodedOperation;
        ctx.reject(
          only.operation.position,
          'request_entity_too_large',
          `a bulk request with only this record (${only.bytes} bytes) was answered 413`,
        );
      }
      return;
    }
    for (const item of chunk) ctx.ledger.setError(item.operation.position, this.lastError);
    retry.push(...chunk);
  }

  /** One bulk item's answer, through the outcome table. */
  private apply(item: EncodedOperation, result: BulkItemResult, retry: EncodedOperation[]): void {
    const { ctx } = this;
    const { operation } = item;
    // Only a sequence-number tiebreak can wrap; a time tiebreak's conflict is final (versions.ts).
    const wrappable = operation.timeTiebreak === true ? undefined : operation.version;
    const verdict = classifyItem(result, operation.kind, ctx.config.versioning, wrappable);
    switch (verdict.outcome) {
      case 'done': {
        const counter = DONE_COUNTERS[verdict.label];
        // A "done" row without a counter is a bug in the table: fail the batch loudly.
        if (counter === undefined) throw new Error(`no counter for done label ${verdict.label}`);
        ctx.ledger.settle(operation.position, counter);
        return;
      }
      case 'resend':
        // Newer than what is stored: only the same-second tiebreak wrapped (lib/versions.ts).
        retry.push(encodeOperation({ ...operation, version: versionAfterConflict(result.reason) }));
        ctx.ledger.summary.wrapped++;
        return;
      case 'retry':
        ctx.ledger.setError(operation.position, result.errorType ?? `HTTP ${result.status}`);
        retry.push(item);
        return;
      case 'reject':
        ctx.reject(
          operation.position,
          result.errorType ?? `HTTP ${result.status}`,
          result.reason ?? `bulk item answered HTTP ${result.status}`,
        );
    }
  }
}

/**
 * One Scan page -> the index, through the stream handler's own core (`processRecords` with the
 * scan adapter): the same documents, ids, bulk chunking, outcome table, retries and dead letters.
 *
 * `processRecords` works within one deadline, like a Lambda invocation. Whatever is still not done
 * after a call (an OpenSearch outage, a dead-letter store that is down) is handed to a further
 * call after a backoff, until every record of the page is done or dead-lettered, or the caller
 * says stop (SIGINT, a Lambda deadline). The page then counts as not done and is read again.
 */
import { emptySummary, type BatchSummary } from '../ledger';
import { processRecords, type BatchDependencies } from '../process-batch';
import { backoffMs, type RetryPolicy } from '../retry';
import { scanSource, type ScanRecord } from '../sources/scan';

export interface DeliverDependencies {
  /** The core's dependencies, except the deadline, which `callBudgetMs` sets per call. */
  readonly batch: Omit<BatchDependencies, 'remainingMs'>;
  /** Time one `processRecords` call may take (it retries inside that, too). */
  readonly callBudgetMs: () => number;
  readonly policy: RetryPolicy;
  /** False when no further call may start after waiting `delayMs` (a stop or a deadline). */
  readonly mayRetry: (delayMs: number) => boolean;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  readonly clock: () => number;
}

export interface DeliverResult {
  /** True when every record is indexed, already newer in the index, or dead-lettered. */
  readonly done: boolean;
  /** Counters summed over every call. `failed` is what is still not done at the end. */
  readonly summary: BatchSummary;
}

export async function deliverUntilDone(
  records: readonly ScanRecord[],
  deps: DeliverDependencies,
): Promise<DeliverResult> {
  const total = emptySummary(records.length);
  let pending: readonly ScanRecord[] = records;
  for (let attempt = 1; pending.length > 0; attempt++) {
    const end = deps.clock() + deps.callBudgetMs();
    const { failed, summary } = await processRecords(pending, scanSource, {
      ...deps.batch,
      remainingMs: () => end - deps.clock(),
    });
    add(total, summary);
    total.records = records.length;
    total.failed = failed.length;
    if (failed.length === 0) return { done: true, summary: total };
    pending = failed.map((position) => pending[position] as ScanRecord);
    const delay = backoffMs(attempt, deps.policy, deps.random);
    if (!deps.mayRetry(delay)) break;
    deps.batch.logger.warn('backfill: records not done yet, trying again', {
      pending: pending.length,
      attempt,
      delayMs: delay,
    });
    await deps.sleep(delay);
  }
  return { done: pending.length === 0, summary: total };
}

const SUMMED = [
  'indexed',
  'deleted',
  'notFound',
  'stale',
  'wrapped',
  'superseded',
  'skipped',
  'retried',
  'deadLettered',
  'requests',
  'bytes',
  'ms',
] as const;

function add(total: BatchSummary, summary: BatchSummary): void {
  for (const key of SUMMED) total[key] += summary[key];
}

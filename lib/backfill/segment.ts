/**
 * The unit of work of a backfill: one Scan segment, resumable from a key. The CLI runs several at
 * once on one machine; the Step Functions state machine runs each in its own Lambda invocations
 * (backfill-worker.ts). Both call `scanSegment`.
 *
 * Per page: pace, send the Scan (ConsistentRead, the run's segment count), stamp every item with
 * the version of the moment the request was SENT (lib/sources/scan.ts), deliver the page through
 * the core until every item is done or dead-lettered, and only then move the segment's key past
 * the page. A page that cannot be finished (stop, deadline) is read again next time, so an item is
 * never skipped; reading it twice is harmless (versions).
 */
import { describeError } from '../errors';
import type { Logger } from '../logger';
import { backoffMs, type RetryPolicy } from '../retry';
import { keysOf, scanVersion, type ScanRecord } from '../sources/scan';
import type { DeliverResult } from './deliver';
import { classifyDynamoError, type DynamoTable, type Item } from './dynamo';
import type { Pacer } from './pacer';

export interface SegmentTask {
  readonly segment: number;
  readonly totalSegments: number;
  /** Where to continue; undefined = from the start of the segment. */
  readonly startKey: Item | undefined;
}

export interface PageDone {
  readonly segment: number;
  /** The key after this page; undefined = the segment is done. */
  readonly lastKey: Item | undefined;
  readonly items: number;
  /** The page's records, all done. */
  readonly records: readonly ScanRecord[];
  readonly result: DeliverResult;
}

export interface SegmentDependencies {
  readonly dynamo: Pick<DynamoTable, 'scan' | 'table'>;
  readonly keyNames: readonly string[];
  readonly marginSeconds: number;
  readonly deliver: (records: readonly ScanRecord[]) => Promise<DeliverResult>;
  readonly pacer: Pacer;
  /** Items per Scan page at most (the page also ends at 1 MB). */
  readonly pageLimit?: number | undefined;
  /** True when no new page should be started (SIGINT, or too close to a Lambda deadline). */
  readonly shouldStop: () => boolean;
  /** Called after each finished page, before the next Scan: save the checkpoint here. */
  readonly onPage: (page: PageDone) => Promise<void> | void;
  /** Called when a Scan was throttled or failed transiently and will be retried. */
  readonly onScanRetry?: (error: string) => void;
  readonly policy: RetryPolicy;
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  readonly logger: Logger;
}

export interface SegmentOutcome {
  readonly segment: number;
  readonly done: boolean;
  /** Where the segment continues when not done. */
  readonly lastKey: Item | undefined;
  readonly pages: number;
}

export async function scanSegment(
  task: SegmentTask,
  deps: SegmentDependencies,
): Promise<SegmentOutcome> {
  let key = task.startKey;
  let pages = 0;
  for (;;) {
    if (deps.shouldStop()) return { segment: task.segment, done: false, lastKey: key, pages };
    const read = await scanWithRetry(task, key, deps);
    if (read === undefined) return { segment: task.segment, done: false, lastKey: key, pages };
    const { page, sentMs } = read;
    const version = scanVersion(sentMs, deps.marginSeconds);
    const records = page.items.map((item): ScanRecord => ({
      table: deps.dynamo.table,
      keys: keysOf(item, deps.keyNames),
      item,
      version,
    }));
    const result = await deps.deliver(records);
    if (!result.done) return { segment: task.segment, done: false, lastKey: key, pages };
    pages++;
    key = page.lastKey;
    await deps.onPage({
      segment: task.segment,
      lastKey: key,
      items: records.length,
      records,
      result,
    });
    if (key === undefined) return { segment: task.segment, done: true, lastKey: undefined, pages };
  }
}

async function scanWithRetry(
  task: SegmentTask,
  startKey: Item | undefined,
  deps: SegmentDependencies,
): Promise<{ page: Awaited<ReturnType<DynamoTable['scan']>>; sentMs: number } | undefined> {
  for (let attempt = 1; ; attempt++) {
    await deps.pacer.before();
    if (deps.shouldStop()) return undefined;
    // The version is taken from the moment the request leaves, not when it is answered: the scan
    // may read an item at any moment after this, never before.
    const sentMs = deps.clock();
    try {
      const page = await deps.dynamo.scan({
        segment: task.segment,
        totalSegments: task.totalSegments,
        startKey,
        limit: deps.pageLimit,
      });
      deps.pacer.after(page.items.length);
      return { page, sentMs };
    } catch (error) {
      const kind = classifyDynamoError(error);
      if (kind === 'fatal') throw error;
      if (kind === 'throttled') deps.pacer.throttled();
      const delay = backoffMs(attempt, deps.policy, deps.random);
      deps.onScanRetry?.(describeError(error));
      deps.logger.debug('scan retried', {
        segment: task.segment,
        attempt,
        delayMs: delay,
        error: describeError(error),
      });
      await deps.sleep(delay);
    }
  }
}

/**
 * A whole backfill on one machine: check the table, load or start the checkpoint, run every
 * segment at once through `scanSegment`, save the checkpoint after each finished page, show
 * progress, and sum up. All I/O comes in as arguments (scripts/backfill.ts wires the real ones).
 *
 * Order matters for "fail cleanly": DescribeTable (table, endpoint, credentials, key schema) is
 * answered before anything is sent to OpenSearch.
 */
import type { Config } from '../config';
import type { DeadLetterSink } from '../dead-letter';
import { describeError, IndexerError } from '../errors';
import { emptySummary, type BatchSummary } from '../ledger';
import type { Logger } from '../logger';
import type { RetryPolicy } from '../retry';
import type { SearchClient } from '../search-client';
import { newCheckpoint, readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint';
import { deliverUntilDone } from './deliver';
import {
  DynamoFatalError,
  explainDynamoError,
  type DynamoTable,
  type TableDescription,
} from './dynamo';
import { createPacer } from './pacer';
import type { ProgressReporter } from './progress';
import { scanSegment, type PageDone } from './segment';

/** A problem the operator must fix; the CLI prints its message alone and exits 1. */
export class BackfillError extends IndexerError {
  override name = 'BackfillError';
}

export interface BackfillOptions {
  readonly table: string;
  /** The index (or alias) documents are written to. */
  readonly index: string;
  /** Parallel Scan segments; undefined = the checkpoint's on --resume, else DEFAULT_SEGMENTS. */
  readonly segments: number | undefined;
  readonly resume: boolean;
  readonly checkpointPath: string;
  readonly dryRun: boolean;
  /** Items per second over all segments; undefined = adaptive pacing only. */
  readonly maxRate: number | undefined;
  readonly marginSeconds: number;
  readonly pageLimit?: number | undefined;
}

export const DEFAULT_SEGMENTS = 4;

export interface BackfillContext {
  readonly config: Config;
  readonly dynamo: DynamoTable;
  /** The client for `options.index`; undefined in a dry run. */
  readonly search: Pick<SearchClient, 'bulk' | 'request'> | undefined;
  readonly deadLetters: DeadLetterSink | undefined;
  /** Where DynamoDB requests go, for messages. */
  readonly dynamoEndpoint: string;
  readonly logger: Logger;
  /** Human messages (stderr). */
  readonly say: (line: string) => void;
  readonly progress: ProgressReporter;
  /** Set by SIGINT: no new page starts. */
  readonly stopped: () => boolean;
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  /** Every finished page's records (the reindex's upgrade pass collects the ids it wrote). */
  readonly onRecords?: (records: PageDone['records']) => void;
  /** The latest checkpoint, for the SIGINT handler to save. */
  readonly onCheckpoint?: (checkpoint: Checkpoint | undefined) => void;
}

export interface BackfillReport {
  /** Every segment done: every item indexed, already newer, or dead-lettered. */
  readonly complete: boolean;
  readonly read: number;
  readonly summary: BatchSummary;
  readonly segmentsDone: number;
  readonly totalSegments: number;
  readonly elapsedMs: number;
  readonly keyNames: readonly string[];
  /** Segment -> its checkpoint state at the end (for reindex's second pass and tests). */
  readonly checkpoint: Checkpoint;
}

/** A processRecords call may take this long before the page is retried from outside. */
const CALL_BUDGET_MS = 120_000;

export async function preflight(
  options: Pick<BackfillOptions, 'table'>,
  ctx: Pick<BackfillContext, 'dynamo' | 'config' | 'dynamoEndpoint'>,
): Promise<TableDescription> {
  let description: TableDescription;
  try {
    description = await ctx.dynamo.describe();
  } catch (error) {
    throw new BackfillError(explainDynamoError(error, options.table, ctx.dynamoEndpoint), {
      cause: error,
    });
  }
  if (description.status !== 'ACTIVE' && description.status !== 'UPDATING') {
    throw new BackfillError(`table ${options.table} is ${description.status}, not ACTIVE`);
  }
  const configured = ctx.config.keyOrder;
  if (configured.length > 0 && configured.join(',') !== description.keyNames.join(',')) {
    throw new BackfillError(
      `KEY_ATTRIBUTES=${configured.join(',')} does not match the key schema of ${options.table} ` +
        `(${description.keyNames.join(',')}); the ids would differ from the stream handler's`,
    );
  }
  return description;
}

/** Checks the target index exists, so a bulk write cannot create it with dynamic mappings. */
async function checkIndex(options: BackfillOptions, ctx: BackfillContext): Promise<void> {
  if (ctx.search === undefined) return;
  let status: number;
  try {
    ({ statusCode: status } = await ctx.search.request(
      'HEAD',
      `/${encodeURIComponent(options.index)}`,
      undefined,
      ctx.config.requestTimeoutMs,
    ));
  } catch (error) {
    throw new BackfillError(
      `cannot reach OpenSearch at ${ctx.config.endpoint?.origin ?? '?'}: ${describeError(error)}`,
      { cause: error },
    );
  }
  if (status === 404) {
    throw new BackfillError(
      `index ${options.index} does not exist at ${ctx.config.endpoint?.origin ?? '?'}: run npm run index:setup first`,
    );
  }
  // 403: a role allowed only `_bulk` (least privilege) may not look; the bulk requests will tell.
  if (status >= 500) {
    ctx.say(`warning: HEAD /${options.index} answered HTTP ${status}; continuing`);
  }
}

function loadCheckpoint(options: BackfillOptions, ctx: BackfillContext): Checkpoint {
  const now = new Date(ctx.clock());
  let existing: Checkpoint | undefined;
  try {
    existing = readCheckpoint(options.checkpointPath);
  } catch (error) {
    if (options.resume) {
      throw new BackfillError(
        `cannot read checkpoint ${options.checkpointPath}: ${describeError(error)}`,
      );
    }
  }
  if (options.resume) {
    if (existing === undefined) {
      throw new BackfillError(`--resume: no checkpoint at ${options.checkpointPath}`);
    }
    if (existing.table !== options.table || existing.index !== options.index) {
      throw new BackfillError(
        `--resume: ${options.checkpointPath} is for table ${existing.table} -> ${existing.index}, not ${options.table} -> ${options.index}`,
      );
    }
    if (options.segments !== undefined && options.segments !== existing.totalSegments) {
      throw new BackfillError(
        `--resume: the checkpoint was made with --segments ${existing.totalSegments}; a segment's key only resumes the same split`,
      );
    }
    const done = existing.segments.filter((s) => s.done).length;
    ctx.say(
      `resuming ${options.checkpointPath}: ${done}/${existing.totalSegments} segments done, ` +
        `${existing.segments.reduce((n, s) => n + s.items, 0)} items already read`,
    );
    return existing;
  }
  if (existing !== undefined) {
    ctx.say(
      `starting over: ${options.checkpointPath} from an earlier run (${existing.updatedAt}) is replaced; ` +
        'use --resume to continue it instead',
    );
  }
  return newCheckpoint(options.table, options.index, options.segments ?? DEFAULT_SEGMENTS, now);
}

export async function runBackfill(
  options: BackfillOptions,
  ctx: BackfillContext,
): Promise<BackfillReport> {
  const started = ctx.clock();
  const description = await preflight(options, ctx);
  const checkpoint = loadCheckpoint(options, ctx);
  if (!options.dryRun) await checkIndex(options, ctx);
  const save = (): void => {
    if (!options.dryRun) writeCheckpoint(options.checkpointPath, checkpoint, new Date(ctx.clock()));
    ctx.onCheckpoint?.(options.dryRun ? undefined : checkpoint);
  };
  save();

  const { config } = ctx;
  const policy: RetryPolicy = { baseMs: config.retryBaseMs, maxMs: config.retryMaxMs };
  const pacer = createPacer({ maxRate: options.maxRate, clock: ctx.clock, sleep: ctx.sleep });
  const total = emptySummary(0);
  const readBefore = checkpoint.segments.reduce((n, s) => n + s.items, 0);
  const state = (): Parameters<ProgressReporter['update']>[0] => ({
    read: checkpoint.segments.reduce((n, s) => n + s.items, 0),
    indexed: total.indexed + total.stale,
    deadLettered: total.deadLettered,
    estimatedTotal: description.itemCount,
    segmentsDone: checkpoint.segments.filter((s) => s.done).length,
    totalSegments: checkpoint.totalSegments,
    readBefore,
  });
  const batchConfig = { ...config, index: options.index, dryRun: options.dryRun };
  const deliver = (records: Parameters<typeof deliverUntilDone>[0]) =>
    deliverUntilDone(records, {
      batch: {
        config: batchConfig,
        // Stryker disable next-line ConditionalExpression: `false` is equivalent: in a dry run the core never calls `search` (batchConfig.dryRun), and ctx.search is undefined then anyway; `true` (no client in a real run) hangs the run tests (checked by hand).
        search: options.dryRun ? undefined : ctx.search,
        deadLetters: ctx.deadLetters,
        logger: ctx.logger,
        sleep: ctx.sleep,
        random: ctx.random,
        clock: ctx.clock,
      },
      callBudgetMs: () => CALL_BUDGET_MS,
      policy,
      mayRetry: () => !ctx.stopped(),
      sleep: ctx.sleep,
      random: ctx.random,
      clock: ctx.clock,
    });
  const onPage = (page: PageDone): void => {
    const segment = checkpoint.segments[page.segment];
    if (segment === undefined) return;
    segment.lastKey = page.lastKey ?? null;
    segment.done = page.lastKey === undefined;
    segment.items += page.items;
    for (const key of [
      'indexed',
      'stale',
      'deadLettered',
      'skipped',
      'retried',
      'requests',
    ] as const) {
      total[key] += page.result.summary[key];
    }
    total.records += page.items;
    ctx.onRecords?.(page.records);
    save();
    ctx.progress.update(state());
  };

  ctx.progress.update(state());
  const outcomes = await Promise.all(
    checkpoint.segments.map((segment, n) =>
      segment.done
        ? Promise.resolve({ segment: n, done: true })
        : scanSegment(
            {
              segment: n,
              totalSegments: checkpoint.totalSegments,
              startKey: segment.lastKey ?? undefined,
            },
            {
              dynamo: ctx.dynamo,
              keyNames: description.keyNames,
              marginSeconds: options.marginSeconds,
              deliver,
              pacer,
              pageLimit: options.pageLimit,
              shouldStop: ctx.stopped,
              onPage,
              policy,
              clock: ctx.clock,
              sleep: ctx.sleep,
              random: ctx.random,
              logger: ctx.logger,
            },
          ).catch((error: unknown) => {
            if (error instanceof IndexerError && !(error instanceof DynamoFatalError)) throw error;
            throw new BackfillError(
              `segment ${n}: ${explainDynamoError(error, options.table, ctx.dynamoEndpoint)}`,
              { cause: error },
            );
          }),
    ),
  );
  ctx.progress.update(state());
  ctx.progress.finish();
  const segmentsDone = checkpoint.segments.filter((s) => s.done).length;
  return {
    // Stryker disable next-line ConditionalExpression,LogicalOperator,MethodExpression: a segment's outcome is done exactly when onPage marked it done (scanSegment returns done only after the page without lastKey), so either half alone gives the answer: one half as `true`, `||` or `some` change nothing; the whole as `true` or `false` is killed (checked by hand).
    complete: outcomes.every((o) => o.done) && segmentsDone === checkpoint.totalSegments,
    read: state().read,
    summary: total,
    segmentsDone,
    totalSegments: checkpoint.totalSegments,
    elapsedMs: ctx.clock() - started,
    keyNames: description.keyNames,
    checkpoint,
  };
}

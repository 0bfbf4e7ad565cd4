/**
 * The backfill's segment worker as a Lambda, for the Step Functions state machine in
 * serverless.yml (BackfillStateMachine): each invocation scans one segment from `startKey` until
 * it is done or close to the invocation's deadline, through the same `scanSegment` the CLI runs,
 * and hands back where to continue. The state machine loops on `done`.
 *
 * Input and output have the same shape, so the output of one invocation is the input of the next:
 *   { table, segment, totalSegments, startKey?, index?, marginSeconds?, items? }
 *   -> { ...same, startKey (null when done), done, items (total so far) }
 */
import type { Context } from 'aws-lambda';
import { createRuntime, type Runtime } from './handler';
import { deliverUntilDone } from './lib/backfill/deliver';
import { createDynamoTable, type DynamoTable, type Item } from './lib/backfill/dynamo';
import { createPacer } from './lib/backfill/pacer';
import { scanSegment } from './lib/backfill/segment';
import { defaultCredentials } from './lib/credentials';
import { createSearchClient, type SearchClient } from './lib/search-client';
import { DEFAULT_MARGIN_SECONDS } from './lib/sources/scan';
import { defaultSleep } from './lib/retry';

export interface SegmentEvent {
  readonly table: string;
  readonly segment: number;
  readonly totalSegments: number;
  readonly startKey?: Item | null;
  /** A physical index (a reindex); default OPENSEARCH_INDEX. */
  readonly index?: string;
  readonly marginSeconds?: number;
  /** Items per Scan page at most (default: DynamoDB's 1 MB pages). */
  readonly pageSize?: number;
  readonly items?: number;
}

export interface SegmentResult extends SegmentEvent {
  readonly startKey: Item | null;
  readonly done: boolean;
  readonly items: number;
}

/** Time kept free at the end of an invocation: one page's Scan and delivery must fit before it. */
export const STOP_BEFORE_DEADLINE_MS = 60_000;
/** A processRecords call always gets at least this long (the first page must finish). */
const MIN_CALL_MS = 10_000;

interface WorkerState {
  readonly runtime: Runtime;
  readonly tables: Map<string, { dynamo: DynamoTable; keyNames: Promise<readonly string[]> }>;
  readonly searches: Map<string, SearchClient | undefined>;
}

export function createWorker(
  getRuntime: () => Runtime,
  options: {
    stopBeforeMs?: number;
    dynamo?: (table: string) => DynamoTable;
    search?: (index: string) => SearchClient | undefined;
  } = {},
): (
  event: SegmentEvent,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
) => Promise<SegmentResult> {
  let state: WorkerState | undefined;
  const stopBefore = options.stopBeforeMs ?? STOP_BEFORE_DEADLINE_MS;
  return async (event, context) => {
    state ??= { runtime: getRuntime(), tables: new Map(), searches: new Map() };
    const { runtime } = state;
    const { config, logger } = runtime;
    const index = event.index ?? config.index;
    let table = state.tables.get(event.table);
    if (table === undefined) {
      const dynamo =
        options.dynamo?.(event.table) ?? createDynamoTable(event.table, { region: config.region });
      table = { dynamo, keyNames: dynamo.describe().then((d) => d.keyNames) };
      state.tables.set(event.table, table);
    }
    if (!state.searches.has(index)) {
      // One client per target index: the bulk path is fixed when the client is made.
      state.searches.set(
        index,
        options.search?.(index) ??
          (index === config.index || config.endpoint === undefined
            ? runtime.search
            : createSearchClient({
                endpoint: config.endpoint,
                index,
                auth: config.auth,
                service: config.service,
                region: config.searchRegion,
                compression: config.compression,
                getCredentials: defaultCredentials(),
              })),
      );
    }
    const search = state.searches.get(index);
    const remaining = (): number => context.getRemainingTimeInMillis() - stopBefore;
    // Every invocation finishes at least one page, so the state machine's loop always advances.
    let pagesDone = 0;
    const policy = { baseMs: config.retryBaseMs, maxMs: config.retryMaxMs };
    let items = event.items ?? 0;
    const outcome = await scanSegment(
      {
        segment: event.segment,
        totalSegments: event.totalSegments,
        startKey: event.startKey ?? undefined,
      },
      {
        dynamo: table.dynamo,
        keyNames: await table.keyNames,
        marginSeconds: event.marginSeconds ?? DEFAULT_MARGIN_SECONDS,
        deliver: (records) =>
          deliverUntilDone(records, {
            batch: {
              config: { ...config, index },
              search,
              deadLetters: runtime.deadLetters,
              logger,
            },
            callBudgetMs: () => Math.max(remaining(), MIN_CALL_MS),
            policy,
            mayRetry: (delay) => pagesDone === 0 || remaining() - delay > 0,
            sleep: defaultSleep,
            random: Math.random,
            clock: Date.now,
          }),
        pacer: createPacer({ clock: Date.now, sleep: defaultSleep }),
        pageLimit: event.pageSize,
        shouldStop: () => pagesDone > 0 && remaining() <= 0,
        onPage: (page) => {
          pagesDone++;
          items += page.items;
        },
        policy,
        clock: Date.now,
        sleep: defaultSleep,
        random: Math.random,
        logger,
      },
    );
    logger.info('backfill segment invocation', {
      table: event.table,
      segment: event.segment,
      done: outcome.done,
      pages: outcome.pages,
      items,
    });
    return { ...event, index, startKey: outcome.lastKey ?? null, done: outcome.done, items };
  };
}

let runtime: Runtime | undefined;

export const handler = createWorker(() => (runtime ??= createRuntime()));

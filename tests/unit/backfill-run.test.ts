import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newCheckpoint, type Checkpoint } from '../../lib/backfill/checkpoint';
import { DynamoFatalError, type ScanPage, type ScanRequest } from '../../lib/backfill/dynamo';
import type { ProgressState } from '../../lib/backfill/progress';
import {
  BackfillError,
  preflight,
  runBackfill,
  type BackfillContext,
  type BackfillOptions,
} from '../../lib/backfill/run';
import { loadConfig, type Config } from '../../lib/config';
import { BulkRequestError } from '../../lib/errors';
import { emptySummary } from '../../lib/ledger';
import type { SearchResponse } from '../../lib/search-client';
import type { ScanRecord } from '../../lib/sources/scan';
import {
  captureLogger,
  fakeDeadLetters,
  fakeSearch,
  item,
  type FakeSearchOptions,
} from './factories';

const TABLE = 'UsersTransactions';
const DYNAMO = 'http://dynamodb.test:8000';
/** The clock of every run: only `sleep` moves it. */
const T0 = 1_764_000_000_500;

const txItem = (n: number) => ({
  userId: { N: '3' },
  transactionId: { N: String(n) },
  amount: { N: '11' },
});
const txKey = (n: number) => ({ userId: { N: '3' }, transactionId: { N: String(n) } });
const page = (items: number[], lastKey?: number): ScanPage => ({
  items: items.map(txItem),
  lastKey: lastKey === undefined ? undefined : txKey(lastKey),
  capacityUnits: items.length,
});
/** AWS SDK errors carry their exception name (DynamoDB API reference, "Common Errors"). */
const awsError = (name: string) => Object.assign(new Error(`${name} happened`), { name });

function config(env: Record<string, string> = {}): Readonly<Config> {
  return loadConfig({
    OPENSEARCH_ENDPOINT: 'https://search.test:9200',
    OPENSEARCH_AUTH: 'none',
    OPENSEARCH_INDEX: 'transactions',
    KEY_ATTRIBUTES: 'userId,transactionId',
    AWS_REGION: 'us-east-1',
    LOG_LEVEL: 'error',
    RETRY_BASE_MS: '40',
    RETRY_MAX_MS: '400',
    ...env,
  });
}

interface Harness {
  readonly ctx: BackfillContext;
  readonly scans: ScanRequest[];
  readonly heads: Array<[string, string, unknown, number]>;
  readonly says: string[];
  readonly updates: ProgressState[];
  readonly finishes: () => number;
  readonly sleeps: number[];
  readonly saved: Array<Checkpoint | undefined>;
  readonly records: ScanRecord[];
  readonly search: ReturnType<typeof fakeSearch>;
  readonly now: () => number;
  readonly logs: ReturnType<typeof captureLogger>;
}

interface HarnessOptions {
  /** Scripted Scan answers per segment, in order. */
  readonly pages?: Record<number, Array<ScanPage | Error>>;
  readonly status?: string;
  readonly keyNames?: string[];
  readonly describeError?: Error;
  readonly head?: () => Promise<SearchResponse>;
  readonly search?: FakeSearchOptions;
  readonly config?: Readonly<Config>;
  readonly stopped?: (h: { bulkCalls: number }) => boolean;
}

/** A backfill over a scripted table, a fake OpenSearch and a virtual clock that only `sleep` moves. */
function harness(options: HarnessOptions = {}): Harness {
  let now = T0;
  let finishes = 0;
  const scans: ScanRequest[] = [];
  const heads: Array<[string, string, unknown, number]> = [];
  const says: string[] = [];
  const updates: ProgressState[] = [];
  const sleeps: number[] = [];
  const saved: Array<Checkpoint | undefined> = [];
  const records: ScanRecord[] = [];
  const search = fakeSearch(options.search);
  const logs = captureLogger('info');
  const pages = options.pages ?? {};
  const ctx: BackfillContext = {
    config: options.config ?? config(),
    dynamo: {
      table: TABLE,
      describe: async () => {
        if (options.describeError) throw options.describeError;
        return {
          name: TABLE,
          keyNames: options.keyNames ?? ['userId', 'transactionId'],
          itemCount: 10,
          status: options.status ?? 'ACTIVE',
        };
      },
      scan: async (request) => {
        scans.push(request);
        const answer = pages[request.segment]?.shift();
        if (answer === undefined)
          throw new Error(`no scripted page for segment ${request.segment}`);
        if (answer instanceof Error) throw answer;
        return answer;
      },
      close: () => undefined,
    },
    search: {
      bulk: search.search.bulk,
      request: async (method, path, body, timeoutMs) => {
        heads.push([method, path, body, timeoutMs]);
        return options.head ? options.head() : { statusCode: 200, body: undefined };
      },
    },
    deadLetters: fakeDeadLetters().sink,
    dynamoEndpoint: DYNAMO,
    logger: logs.logger,
    say: (line) => void says.push(line),
    progress: {
      update: (state) => void updates.push(state),
      finish: () => void finishes++,
    },
    stopped: () => options.stopped?.({ bulkCalls: search.calls.length }) ?? false,
    clock: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    random: () => 0,
    onRecords: (page) => void records.push(...page),
    onCheckpoint: (checkpoint) => void saved.push(checkpoint && structuredClone(checkpoint)),
  };
  return {
    ctx,
    scans,
    heads,
    says,
    updates,
    finishes: () => finishes,
    sleeps,
    saved,
    records,
    search,
    now: () => now,
    logs,
  };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'backfill-run-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function options(overrides: Partial<BackfillOptions> = {}): BackfillOptions {
  return {
    table: TABLE,
    index: 'transactions',
    segments: 2,
    resume: false,
    checkpointPath: join(dir, 'checkpoint.json'),
    dryRun: false,
    maxRate: undefined,
    marginSeconds: 7,
    pageLimit: 2,
    ...overrides,
  };
}

const readSaved = (path: string): Checkpoint =>
  JSON.parse(readFileSync(path, 'utf8')) as Checkpoint;

function writeSaved(path: string, edit: (c: Checkpoint) => Checkpoint = (c) => c): Checkpoint {
  const checkpoint = newCheckpoint(TABLE, 'transactions', 2, new Date('2026-11-30T10:00:00.000Z'));
  const edited = edit(checkpoint);
  writeFileSync(path, JSON.stringify(edited));
  return edited;
}

/** The message of the BackfillError `run` rejects with (anything else is reported as such). */
async function refusal(run: Promise<unknown>): Promise<string> {
  try {
    await run;
  } catch (error) {
    return error instanceof BackfillError ? error.message : `not a BackfillError: ${String(error)}`;
  }
  return 'resolved';
}

/** The transactionId of every action sent, from its document line. */
const sentIds = (h: Harness): number[] =>
  h.search
    .sent()
    .map((a) =>
      Number((JSON.parse(a.source as string) as { transactionId: number }).transactionId),
    );

describe('preflight', () => {
  it.each(['ACTIVE', 'UPDATING'])('accepts a table that is %s', async (status) => {
    // Prepare
    const h = harness({ status });

    // Act
    const description = await preflight({ table: TABLE }, h.ctx);

    // Assert
    expect(description).toEqual({
      name: TABLE,
      keyNames: ['userId', 'transactionId'],
      itemCount: 10,
      status,
    });
  });

  it.each(['CREATING', 'DELETING', 'ARCHIVED'])('refuses a table that is %s', async (status) => {
    const h = harness({ status });

    expect(await refusal(preflight({ table: TABLE }, h.ctx))).toBe(
      `table ${TABLE} is ${status}, not ACTIVE`,
    );
  });

  it('explains a DescribeTable failure for the operator and keeps it as the cause', async () => {
    // Prepare
    const failure = awsError('ResourceNotFoundException');
    const h = harness({ describeError: failure });

    // Act
    const error = await preflight({ table: TABLE }, h.ctx).catch((e: unknown) => e);

    // Assert
    expect(error).toBeInstanceOf(BackfillError);
    expect((error as Error).message).toBe(
      `table ${TABLE} does not exist in DynamoDB at ${DYNAMO} (check --table and AWS_REGION)`,
    );
    expect((error as Error).cause).toBe(failure);
  });

  it('refuses KEY_ATTRIBUTES that differ from the key schema, even only in order', async () => {
    const h = harness({ config: config({ KEY_ATTRIBUTES: 'transactionId,userId' }) });

    expect(await refusal(preflight({ table: TABLE }, h.ctx))).toBe(
      `KEY_ATTRIBUTES=transactionId,userId does not match the key schema of ${TABLE} ` +
        "(userId,transactionId); the ids would differ from the stream handler's",
    );
  });

  it('takes the key schema as it is when KEY_ATTRIBUTES is not set', async () => {
    const h = harness({ config: config({ KEY_ATTRIBUTES: '' }), keyNames: ['id'] });

    await expect(preflight({ table: TABLE }, h.ctx)).resolves.toMatchObject({ keyNames: ['id'] });
  });
});

describe('runBackfill', () => {
  it('reads every segment into the index page by page and sums up', async () => {
    // Prepare
    const h = harness({ pages: { 0: [page([1, 2], 2), page([3])], 1: [page([4])] } });

    // Act
    const report = await runBackfill(options(), h.ctx);

    // Assert
    expect(report).toEqual({
      complete: true,
      read: 4,
      summary: { ...emptySummary(4), indexed: 4, requests: 3 },
      segmentsDone: 2,
      totalSegments: 2,
      elapsedMs: 0,
      keyNames: ['userId', 'transactionId'],
      checkpoint: expect.objectContaining({ table: TABLE, index: 'transactions' }) as unknown,
    });
    expect(h.scans).toEqual([
      { segment: 0, totalSegments: 2, startKey: undefined, limit: 2 },
      { segment: 1, totalSegments: 2, startKey: undefined, limit: 2 },
      { segment: 0, totalSegments: 2, startKey: txKey(2), limit: 2 },
    ]);
    expect(sentIds(h).sort()).toEqual([1, 2, 3, 4]);
    expect(h.records.map((r) => r.keys)).toEqual([txKey(1), txKey(2), txKey(4), txKey(3)]);
    expect(h.says).toEqual([]);
    expect(h.sleeps).toEqual([]);
  });

  it('checks that the index exists with HEAD before anything is written', async () => {
    // Prepare: an index name that must be escaped in a path.
    const h = harness({ pages: { 0: [page([])], 1: [page([])] } });

    // Act
    await runBackfill(options({ index: 'tx#1' }), h.ctx);

    // Assert
    expect(h.heads).toEqual([['HEAD', '/tx%231', undefined, 10_000]]);
  });

  it('writes under the version of the second the Scan was sent minus the margin, tiebreak 0', async () => {
    // Prepare: the Scan is sent at T0 (second 1_764_000_000), margin 7 s.
    const h = harness({ pages: { 0: [page([1])], 1: [page([])] } });

    // Act
    await runBackfill(options(), h.ctx);

    // Assert: the lowest version of second 1_763_999_993, so no same-second stream change is
    // judged behind it across the wrap (lib/versions.ts).
    const [action] = h.search.sent();
    expect(action?.version).toBe(((1_764_000_000n - 7n) << 31n).toString());
    expect(BigInt(action?.version ?? '1') % 2n ** 31n).toBe(0n);
    expect(action?.versionType).toBe('external');
  });

  it('shows in a dry run the bulk requests it would send to the index it is given', async () => {
    // Prepare
    const h = harness({ pages: { 0: [page([1])], 1: [page([])] } });

    // Act
    await runBackfill(options({ index: 'transactions-000002', dryRun: true }), h.ctx);

    // Assert
    expect(h.logs.find('dry run: bulk request not sent')).toMatchObject({
      path: '/transactions-000002/_bulk',
      operations: 1,
    });
  });

  it('saves the checkpoint before the first page and after each finished page', async () => {
    // Prepare
    const h = harness({ pages: { 0: [page([1, 2], 2), page([3])], 1: [page([4])] } });
    const path = join(dir, 'sub', 'checkpoint.json');

    // Act
    await runBackfill(options({ checkpointPath: path }), h.ctx);

    // Assert
    expect(h.saved.map((c) => c?.segments)).toEqual([
      [
        { lastKey: null, done: false, items: 0 },
        { lastKey: null, done: false, items: 0 },
      ],
      [
        { lastKey: txKey(2), done: false, items: 2 },
        { lastKey: null, done: false, items: 0 },
      ],
      [
        { lastKey: txKey(2), done: false, items: 2 },
        { lastKey: null, done: true, items: 1 },
      ],
      [
        { lastKey: null, done: true, items: 3 },
        { lastKey: null, done: true, items: 1 },
      ],
    ]);
    expect(readSaved(path)).toEqual({
      format: 1,
      table: TABLE,
      index: 'transactions',
      totalSegments: 2,
      startedAt: new Date(T0).toISOString(),
      updatedAt: new Date(T0).toISOString(),
      segments: [
        { lastKey: null, done: true, items: 3 },
        { lastKey: null, done: true, items: 1 },
      ],
    });
  });

  it('shows progress at the start, after each page and at the end, then finishes the line', async () => {
    // Prepare
    const h = harness({ pages: { 0: [page([1, 2], 2), page([3])], 1: [page([4])] } });

    // Act
    await runBackfill(options(), h.ctx);

    // Assert
    const at = (read: number, segmentsDone: number): ProgressState => ({
      read,
      indexed: read,
      deadLettered: 0,
      estimatedTotal: 10,
      segmentsDone,
      totalSegments: 2,
      readBefore: 0,
    });
    expect(h.updates).toEqual([at(0, 0), at(2, 0), at(3, 1), at(4, 2), at(4, 2)]);
    expect(h.finishes()).toBe(1);
  });

  it('counts stale, dead-lettered and retried items, and shows stale ones as indexed', async () => {
    // Prepare: item 2 is already newer in the index, item 3 is refused, item 4 is throttled once.
    const h = harness({
      pages: { 0: [page([1, 2, 3, 4])], 1: [page([])] },
      search: {
        item: (action, attempt) => {
          const id = (JSON.parse(action.source as string) as { transactionId: number })
            .transactionId;
          if (id === 2) return item(409, 'version_conflict_engine_exception', 'newer');
          if (id === 3) return item(400, 'mapper_parsing_exception', 'bad amount');
          if (id === 4 && attempt === 1) return item(429, 'es_rejected_execution_exception');
          return 201;
        },
      },
    });

    // Act
    const report = await runBackfill(options({ pageLimit: undefined }), h.ctx);

    // Assert
    expect(report.summary).toEqual({
      ...emptySummary(4),
      indexed: 2,
      stale: 1,
      deadLettered: 1,
      retried: 1,
      requests: 2,
    });
    expect(h.updates.at(-1)).toEqual({
      read: 4,
      indexed: 3,
      deadLettered: 1,
      estimatedTotal: 10,
      segmentsDone: 2,
      totalSegments: 2,
      readBefore: 0,
    });
    expect(h.scans[0]?.limit).toBeUndefined();
  });

  it('hands what is still not done to a further call after a backoff, until it is done', async () => {
    // Prepare: OpenSearch is down for longer than one call's budget (120 s of virtual time).
    let now = 0;
    const h = harness({
      pages: { 0: [page([1])], 1: [page([])] },
      search: {
        request: () => (now < T0 + 200_000 ? new BulkRequestError(503, 'unavailable') : undefined),
      },
    });
    const clock = h.ctx.clock;
    const ctx = { ...h.ctx, clock: () => (now = clock()) };

    // Act
    const report = await runBackfill(options(), ctx);

    // Assert
    expect(report.complete).toBe(true);
    expect(report.summary.indexed).toBe(1);
    expect(h.now()).toBeGreaterThanOrEqual(T0 + 200_000);
  });

  it('gives a page back undone once stopped, and reports the run incomplete', async () => {
    // Prepare: OpenSearch never answers; SIGINT arrives once a bulk request has failed.
    const h = harness({
      pages: { 0: [page([1])], 1: [page([])] },
      search: { request: () => new BulkRequestError(503, 'unavailable') },
      stopped: ({ bulkCalls }) => bulkCalls > 0,
    });

    // Act
    const report = await runBackfill(options(), h.ctx);

    // Assert
    expect(report.complete).toBe(false);
    expect(report.segmentsDone).toBe(1);
    expect(report.read).toBe(0);
    expect(readSaved(options().checkpointPath).segments[0]).toEqual({
      lastKey: null,
      done: false,
      items: 0,
    });
  });

  it('runs without the optional record and checkpoint hooks', async () => {
    // Prepare
    const h = harness({ pages: { 0: [page([1])], 1: [page([])] } });
    const ctx: { -readonly [K in keyof BackfillContext]: BackfillContext[K] } = { ...h.ctx };
    delete ctx.onRecords;
    delete ctx.onCheckpoint;

    // Act
    const report = await runBackfill(options(), ctx);

    // Assert
    expect(report).toMatchObject({ complete: true, read: 1 });
    expect(h.records).toEqual([]);
  });

  it('starts no Scan once stopped', async () => {
    const h = harness({ pages: { 0: [page([1])], 1: [page([2])] }, stopped: () => true });

    const report = await runBackfill(options(), h.ctx);

    expect(report).toMatchObject({ complete: false, segmentsDone: 0, read: 0 });
    expect(h.scans).toEqual([]);
  });

  it('splits the table into four segments unless told otherwise', async () => {
    const h = harness({ pages: { 0: [page([])], 1: [page([])], 2: [page([])], 3: [page([])] } });

    const report = await runBackfill(options({ segments: undefined }), h.ctx);

    expect(report.totalSegments).toBe(4);
    expect(h.scans.map((s) => [s.segment, s.totalSegments])).toEqual([
      [0, 4],
      [1, 4],
      [2, 4],
      [3, 4],
    ]);
  });

  it('keeps to --max-rate over all segments', async () => {
    // Prepare: 2 items per second; the first page of 2 items holds the next Scan back 1 s.
    const h = harness({ pages: { 0: [page([1, 2], 2), page([])] } });

    // Act
    await runBackfill(options({ segments: 1, maxRate: 2 }), h.ctx);

    // Assert
    expect(h.sleeps).toEqual([1000]);
  });

  it('retries a throttled Scan with the configured backoff and slows the pacer', async () => {
    // Prepare: RETRY_BASE_MS 40 with random 0 waits 20 ms; the pacer then pauses 50 ms.
    const h = harness({
      pages: { 0: [awsError('ProvisionedThroughputExceededException'), page([1])] },
    });

    // Act
    const report = await runBackfill(options({ segments: 1 }), h.ctx);

    // Assert
    expect(report.complete).toBe(true);
    expect(h.sleeps).toEqual([20, 50]);
  });

  it('writes nothing in a dry run: no HEAD, no bulk request, no checkpoint file', async () => {
    // Prepare
    const h = harness({ pages: { 0: [page([1])], 1: [page([2])] } });

    // Act
    const report = await runBackfill(options({ dryRun: true }), h.ctx);

    // Assert
    expect(report.complete).toBe(true);
    expect(report.read).toBe(2);
    expect(h.heads).toEqual([]);
    expect(h.search.calls).toEqual([]);
    expect(() => readFileSync(options().checkpointPath)).toThrow(/ENOENT/);
    expect(h.saved).toEqual([undefined, undefined, undefined]);
  });

  it('resumes each segment from its saved key, skipping finished ones, and says so', async () => {
    // Prepare
    const path = options().checkpointPath;
    writeSaved(path, (c) => ({
      ...c,
      segments: [
        { lastKey: null, done: true, items: 5 },
        { lastKey: txKey(7), done: false, items: 2 },
      ],
    }));
    const h = harness({ pages: { 1: [page([8, 9])] } });

    // Act
    const report = await runBackfill(options({ resume: true, segments: undefined }), h.ctx);

    // Assert
    expect(h.says).toEqual([`resuming ${path}: 1/2 segments done, 7 items already read`]);
    expect(h.scans).toEqual([{ segment: 1, totalSegments: 2, startKey: txKey(7), limit: 2 }]);
    expect(report).toMatchObject({ complete: true, read: 9, segmentsDone: 2 });
    expect(report.summary.records).toBe(2);
    expect(h.updates[0]).toMatchObject({ read: 7, readBefore: 7, segmentsDone: 1 });
    expect(h.updates.at(-1)).toMatchObject({ read: 9, readBefore: 7, segmentsDone: 2 });
    expect(readSaved(path).startedAt).toBe('2026-11-30T10:00:00.000Z');
  });

  it('resumes with --segments equal to the checkpoint', async () => {
    writeSaved(options().checkpointPath);
    const h = harness({ pages: { 0: [page([])], 1: [page([])] } });

    const report = await runBackfill(options({ resume: true, segments: 2 }), h.ctx);

    expect(report.complete).toBe(true);
  });

  it.each<[string, (path: string) => void, Partial<BackfillOptions>, (path: string) => string]>([
    ['no checkpoint', () => undefined, {}, (p) => `--resume: no checkpoint at ${p}`],
    [
      'a corrupt checkpoint',
      (p) => writeFileSync(p, '{"format":1'),
      {},
      (p) =>
        `cannot read checkpoint ${p}: SyntaxError: Expected ',' or '}' after property value in JSON at position 11`,
    ],
    [
      'a checkpoint of another table',
      (p) => writeSaved(p, (c) => ({ ...c, table: 'Other' })),
      {},
      (p) => `--resume: ${p} is for table Other -> transactions, not ${TABLE} -> transactions`,
    ],
    [
      'a checkpoint of another index',
      (p) => writeSaved(p, (c) => ({ ...c, index: 'other' })),
      {},
      (p) => `--resume: ${p} is for table ${TABLE} -> other, not ${TABLE} -> transactions`,
    ],
    [
      'another segment count',
      (p) => writeSaved(p),
      { segments: 3 },
      () =>
        "--resume: the checkpoint was made with --segments 2; a segment's key only resumes the same split",
    ],
  ])('refuses --resume with %s, before anything is scanned', async (_, prepare, extra, message) => {
    // Prepare
    const path = options().checkpointPath;
    prepare(path);
    const h = harness({ pages: { 0: [page([1])], 1: [page([2])] } });

    // Act
    const run = runBackfill(options({ resume: true, ...extra }), h.ctx);

    // Assert
    expect(await refusal(run)).toBe(message(path));
    expect(h.scans).toEqual([]);
  });

  it('starts over, and says so, when a checkpoint exists without --resume', async () => {
    // Prepare
    const path = options().checkpointPath;
    writeSaved(path, (c) => ({ ...c, segments: c.segments.map((s) => ({ ...s, done: true })) }));
    const h = harness({ pages: { 0: [page([1])], 1: [page([])] } });

    // Act
    const report = await runBackfill(options(), h.ctx);

    // Assert
    expect(h.says).toEqual([
      `starting over: ${path} from an earlier run (2026-11-30T10:00:00.000Z) is replaced; ` +
        'use --resume to continue it instead',
    ]);
    expect(report.read).toBe(1);
  });

  it('starts over silently when an unreadable checkpoint is in the way without --resume', async () => {
    writeFileSync(options().checkpointPath, 'not json');
    const h = harness({ pages: { 0: [page([1])], 1: [page([])] } });

    const report = await runBackfill(options(), h.ctx);

    expect(report.complete).toBe(true);
    expect(h.says).toEqual([]);
  });

  it.each([
    [
      'a missing index',
      async () => ({ statusCode: 404, body: undefined }),
      'index transactions does not exist at https://search.test:9200: run npm run index:setup first',
    ],
    [
      'an unreachable OpenSearch',
      () => Promise.reject(new Error('connect ECONNREFUSED')),
      'cannot reach OpenSearch at https://search.test:9200: Error: connect ECONNREFUSED',
    ],
  ])('stops on %s before anything is scanned', async (_, head, message) => {
    const h = harness({ head, pages: { 0: [page([1])], 1: [page([2])] } });

    expect(await refusal(runBackfill(options(), h.ctx))).toBe(message);
    expect(h.scans).toEqual([]);
  });

  it('keeps the failure of the HEAD request as the cause', async () => {
    const failure = new Error('socket hang up');
    const h = harness({ head: () => Promise.reject(failure) });

    const error = await runBackfill(options(), h.ctx).catch((e: unknown) => e);

    expect((error as Error).cause).toBe(failure);
  });

  it.each([
    [404, 'index transactions does not exist at ?: run npm run index:setup first'],
    [undefined, 'cannot reach OpenSearch at ?: Error: down'],
  ])('names the endpoint ? when none is configured (HEAD answer %s)', async (status, message) => {
    const h = harness({
      config: { ...config(), endpoint: undefined },
      head: () =>
        status === undefined
          ? Promise.reject(new Error('down'))
          : Promise.resolve({ statusCode: status, body: undefined }),
    });

    expect(await refusal(runBackfill(options(), h.ctx))).toBe(message);
  });

  it.each([
    [500, ['warning: HEAD /transactions answered HTTP 500; continuing']],
    [503, ['warning: HEAD /transactions answered HTTP 503; continuing']],
    [403, []],
    [499, []],
  ])('goes on after HEAD answers %s, warning only about a server error', async (status, says) => {
    const h = harness({
      head: async () => ({ statusCode: status, body: undefined }),
      pages: { 0: [page([1])], 1: [page([])] },
    });

    const report = await runBackfill(options(), h.ctx);

    expect(report.complete).toBe(true);
    expect(h.says).toEqual(says);
  });

  it('explains a fatal Scan error with its segment, keeping it as the cause', async () => {
    // Prepare
    const failure = awsError('ResourceNotFoundException');
    const h = harness({ pages: { 0: [page([])], 1: [failure] } });

    // Act
    const error = await runBackfill(options(), h.ctx).catch((e: unknown) => e);

    // Assert
    expect(error).toBeInstanceOf(BackfillError);
    // The CLI and logs print the name: an operator's problem reads as such.
    expect((error as Error).name).toBe('BackfillError');
    expect((error as Error).message).toBe(
      `segment 1: table ${TABLE} does not exist in DynamoDB at ${DYNAMO} (check --table and AWS_REGION)`,
    );
    expect((error as Error).cause).toBe(failure);
  });

  it('explains a DynamoFatalError with its segment too', async () => {
    const h = harness({ pages: { 0: [new DynamoFatalError('bad request')], 1: [page([])] } });

    expect(await refusal(runBackfill(options(), h.ctx))).toBe(
      `segment 0: DynamoDB at ${DYNAMO} failed: DynamoFatalError: bad request`,
    );
  });

  it('lets the project’s own errors through unchanged', async () => {
    const own = new BackfillError('already explained');
    const h = harness({ pages: { 0: [own], 1: [page([])] } });

    await expect(runBackfill(options(), h.ctx)).rejects.toBe(own);
  });
});

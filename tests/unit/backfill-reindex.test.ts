import type { DeliverResult } from '../../lib/backfill/deliver';
import { runReindex, type ReindexOptions, type ReindexSteps } from '../../lib/backfill/reindex';
import { BackfillError, type BackfillContext, type BackfillReport } from '../../lib/backfill/run';
import { loadConfig } from '../../lib/config';
import { documentId } from '../../lib/ids';
import type { IndexBody } from '../../lib/index-setup';
import { emptySummary } from '../../lib/ledger';
import type { SearchResponse } from '../../lib/search-client';
import type { ScanRecord } from '../../lib/sources/scan';

const TABLE = 'UsersTransactions';
const BODY: IndexBody = { mappings: { dynamic: 'strict', properties: {} } } as unknown as IndexBody;
const key = (n: number) => ({ userId: { N: '3' }, transactionId: { N: String(n) } });
const record = (n: number): ScanRecord => ({
  table: TABLE,
  keys: key(n),
  item: key(n),
  version: '1',
});

type Call = [method: string, path: string, body: unknown, timeoutMs: number];

interface Harness {
  readonly ctx: Pick<BackfillContext, 'dynamo' | 'config' | 'dynamoEndpoint' | 'say' | 'clock'>;
  readonly client: { request: (...call: Call) => Promise<SearchResponse> };
  readonly steps: ReindexSteps;
  /** Everything that happened, in order: DescribeTable, requests, passes, deletes. */
  readonly events: string[];
  readonly calls: Call[];
  readonly says: string[];
  readonly passes: Array<[string, string, { resume: boolean }]>;
  readonly delivered: Array<[string, readonly ScanRecord[]]>;
  now: number;
}

interface HarnessOptions {
  /** Answers by `METHOD path`; anything else answers 200. */
  readonly answers?: Record<string, SearchResponse>;
  /** Per pass name: whether it completes and which records it reads. */
  readonly passes?: Record<string, { complete?: boolean; records?: number[]; endsAt?: number }>;
  readonly deliver?: DeliverResult;
  readonly describeFails?: boolean;
}

const alias = (indices: Record<string, { is_write_index?: boolean }>): SearchResponse => ({
  statusCode: 200,
  body: Object.fromEntries(
    Object.entries(indices).map(([index, props]) => [index, { aliases: { transactions: props } }]),
  ),
});
const status = (statusCode: number): SearchResponse => ({ statusCode, body: {} });

const passReport = (complete: boolean): BackfillReport => ({
  complete,
  read: 0,
  summary: emptySummary(0),
  segmentsDone: 0,
  totalSegments: 1,
  elapsedMs: 0,
  keyNames: ['userId', 'transactionId'],
  checkpoint: {
    format: 1,
    table: TABLE,
    index: 'x',
    totalSegments: 1,
    startedAt: '',
    updatedAt: '',
    segments: [],
  },
});

function harness(options: HarnessOptions = {}): Harness {
  const h: Harness = {
    events: [],
    calls: [],
    says: [],
    passes: [],
    delivered: [],
    now: 1_764_000_000_000,
    ctx: undefined as never,
    client: undefined as never,
    steps: undefined as never,
  };
  const config = loadConfig({
    OPENSEARCH_ENDPOINT: 'https://search.test',
    OPENSEARCH_AUTH: 'none',
    OPENSEARCH_INDEX: 'transactions',
    KEY_ATTRIBUTES: 'userId,transactionId',
    AWS_REGION: 'us-east-1',
    REQUEST_TIMEOUT_MS: '4321',
  });
  return Object.assign(h, {
    ctx: {
      config,
      dynamoEndpoint: 'http://dynamodb.test',
      dynamo: {
        table: TABLE,
        describe: async () => {
          h.events.push('DescribeTable');
          if (options.describeFails === true) {
            throw Object.assign(new Error('no table'), { name: 'ResourceNotFoundException' });
          }
          return {
            name: TABLE,
            keyNames: ['userId', 'transactionId'],
            itemCount: 3,
            status: 'ACTIVE',
          };
        },
        scan: () => Promise.reject(new Error('the reindex scans only through its steps')),
        close: () => undefined,
      },
      say: (line: string) => void h.says.push(line),
      clock: () => h.now,
    },
    client: {
      request: async (...call: Call) => {
        h.calls.push(call);
        h.events.push(`${call[0]} ${call[1]}`);
        if (call[1] === '/_aliases') h.now += 60_000;
        return options.answers?.[`${call[0]} ${call[1]}`] ?? status(200);
      },
    },
    steps: {
      backfill: async (index, pass, opts) => {
        h.passes.push([index, pass, { resume: opts.resume }]);
        h.events.push(`backfill ${pass}`);
        const script = options.passes?.[pass] ?? {};
        opts.onRecords?.((script.records ?? []).map(record));
        if (script.endsAt !== undefined) h.now = script.endsAt;
        return passReport(script.complete ?? true);
      },
      deliver: async (index, records) => {
        h.delivered.push([index, records]);
        h.events.push('deliver');
        return options.deliver ?? { done: true, summary: emptySummary(records.length) };
      },
    },
  } satisfies Partial<Harness>);
}

function reindexOptions(overrides: Partial<ReindexOptions> = {}): ReindexOptions {
  return {
    table: TABLE,
    alias: 'transactions',
    deleteOld: false,
    resume: false,
    marginSeconds: 5,
    ...overrides,
  };
}

const run = (h: Harness, overrides: Partial<ReindexOptions> = {}) =>
  runReindex(reindexOptions(overrides), BODY, h.client, h.ctx, h.steps);

/** The message of the BackfillError `promise` rejects with (anything else is reported as such). */
async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof BackfillError ? error.message : `not a BackfillError: ${String(error)}`;
  }
  return 'resolved';
}

describe('runReindex over an alias', () => {
  it.each([false, true])(
    'creates the next index, writes to it, fills it, then reads only it (--delete-old %s)',
    async (deleteOld) => {
      // Prepare
      const h = harness({
        answers: { 'GET /_alias/transactions': alias({ 'transactions-000001': {} }) },
      });

      // Act
      const report = await run(h, { deleteOld });

      // Assert
      expect(h.calls).toEqual([
        ['GET', '/_alias/transactions', undefined, 4321],
        ['PUT', '/transactions-000002', BODY, 4321],
        [
          'POST',
          '/_aliases',
          {
            actions: [
              {
                add: { index: 'transactions-000002', alias: 'transactions', is_write_index: true },
              },
              {
                add: { index: 'transactions-000001', alias: 'transactions', is_write_index: false },
              },
            ],
          },
          4321,
        ],
        [
          'POST',
          '/_aliases',
          { actions: [{ remove: { index: 'transactions-000001', alias: 'transactions' } }] },
          4321,
        ],
        ...(deleteOld ? [['DELETE', '/transactions-000001', undefined, 4321]] : []),
      ]);
      expect(h.events.slice(0, 1)).toEqual(['DescribeTable']);
      expect(h.events.indexOf('backfill reindex')).toBe(4);
      expect(h.passes).toEqual([['transactions-000002', 'reindex', { resume: false }]]);
      expect(h.says).toEqual([
        'created transactions-000002',
        'transactions now writes to transactions-000002; searches read transactions-000001 and transactions-000002',
        'transactions now reads transactions-000002 only',
        ...(deleteOld ? ['deleted transactions-000001'] : []),
      ]);
      expect(report).toEqual({
        from: 'transactions-000001',
        to: 'transactions-000002',
        upgraded: false,
        deletedOld: deleteOld,
        passes: [passReport(true)],
        deletes: 0,
      });
    },
  );

  it('continues an interrupted reindex with --resume: fills the write index, then drops the other', async () => {
    // Prepare
    const h = harness({
      answers: {
        'GET /_alias/transactions': alias({
          'transactions-000001': { is_write_index: false },
          'transactions-000002': { is_write_index: true },
        }),
      },
    });

    // Act
    const report = await run(h, { resume: true });

    // Assert
    expect(h.says[0]).toBe(
      'resuming the reindex of transactions: transactions-000001 -> transactions-000002',
    );
    expect(h.passes).toEqual([['transactions-000002', 'reindex', { resume: true }]]);
    expect(h.calls.map((c) => `${c[0]} ${c[1]}`)).toEqual([
      'GET /_alias/transactions',
      'POST /_aliases',
    ]);
    expect(h.calls[1]?.[2]).toEqual({
      actions: [{ remove: { index: 'transactions-000001', alias: 'transactions' } }],
    });
    expect(report).toMatchObject({ from: 'transactions-000001', to: 'transactions-000002' });
  });

  it.each<[string, Record<string, { is_write_index?: boolean }>, boolean, string]>([
    [
      'two indices without --resume',
      { 'transactions-000001': {}, 'transactions-000002': { is_write_index: true } },
      false,
      'alias transactions is over 2 indices (transactions-000001, transactions-000002); a reindex needs exactly one (an interrupted reindex continues with --resume)',
    ],
    [
      'two indices without a write index, even with --resume',
      { 'transactions-000001': {}, 'transactions-000002': {} },
      true,
      'alias transactions is over 2 indices (transactions-000001, transactions-000002); a reindex needs exactly one (an interrupted reindex continues with --resume)',
    ],
    [
      'three indices',
      { a: {}, b: {}, c: { is_write_index: true } },
      true,
      'alias transactions is over 3 indices (a, b, c); a reindex needs exactly one',
    ],
    ['no index', {}, false, 'alias transactions is over 0 indices (); a reindex needs exactly one'],
  ])('refuses an alias over %s', async (_, indices, resume, message) => {
    const h = harness({ answers: { 'GET /_alias/transactions': alias(indices) } });

    expect(await refusal(run(h, { resume }))).toBe(message);
    expect(h.passes).toEqual([]);
    expect(h.calls).toHaveLength(1);
  });

  it('refuses a name that is neither an alias nor an index', async () => {
    const h = harness({
      answers: { 'GET /_alias/transactions': status(404), 'HEAD /transactions': status(404) },
    });

    expect(await refusal(run(h))).toBe(
      'transactions does not exist: run npm run index:setup first',
    );
  });

  it('checks the table before OpenSearch is touched', async () => {
    const h = harness({ describeFails: true });

    expect(await refusal(run(h))).toBe(
      `table ${TABLE} does not exist in DynamoDB at http://dynamodb.test (check --table and AWS_REGION)`,
    );
    expect(h.calls).toEqual([]);
  });

  it('leaves the alias over both indices when the backfill does not finish', async () => {
    const h = harness({
      answers: { 'GET /_alias/transactions': alias({ 'transactions-000001': {} }) },
      passes: { reindex: { complete: false } },
    });

    expect(await refusal(run(h, { deleteOld: true }))).toBe(
      'the backfill into transactions-000002 did not finish; transactions still writes to transactions-000002 and reads both. Continue with --resume',
    );
    expect(h.calls.map((c) => `${c[0]} ${c[1]}`)).toEqual([
      'GET /_alias/transactions',
      'PUT /transactions-000002',
      'POST /_aliases',
    ]);
  });
});

describe('runReindex of a concrete index (upgrade to an alias)', () => {
  const concrete = {
    'GET /_alias/transactions': status(404),
    'HEAD /transactions': status(200),
    'GET /_alias/transactions-000001': status(404),
    'HEAD /transactions-000001': status(404),
  };

  it('fills a new index twice around the switch and deletes what pass 1 wrote but pass 2 no longer saw', async () => {
    // Prepare: item 2 is deleted from the table while pass 1 runs; the switch happens 60 s after
    // the start, pass 2 ends much later.
    const h = harness({
      answers: concrete,
      passes: {
        'upgrade-pass-1': { records: [1, 2, 3] },
        'upgrade-pass-2': { records: [1, 3], endsAt: 1_764_001_000_000 },
      },
    });

    // Act
    const report = await run(h, { marginSeconds: 9 });

    // Assert
    expect(h.events).toEqual([
      'DescribeTable',
      'GET /_alias/transactions',
      'HEAD /transactions',
      'GET /_alias/transactions-000001',
      'HEAD /transactions-000001',
      'PUT /transactions-000001',
      'backfill upgrade-pass-1',
      'POST /_aliases',
      'backfill upgrade-pass-2',
      'deliver',
    ]);
    expect(h.calls[4]).toEqual(['PUT', '/transactions-000001', BODY, 4321]);
    expect(h.calls[5]).toEqual([
      'POST',
      '/_aliases',
      {
        actions: [
          { remove_index: { index: 'transactions' } },
          { add: { index: 'transactions-000001', alias: 'transactions', is_write_index: true } },
        ],
      },
      4321,
    ]);
    expect(h.passes).toEqual([
      ['transactions-000001', 'upgrade-pass-1', { resume: false }],
      ['transactions-000001', 'upgrade-pass-2', { resume: false }],
    ]);
    // The delete's version is the second pass 2 started (after the switch) minus the margin,
    // tiebreak 0: above pass 1's reads, below any stream change made after pass 2 began.
    expect(h.delivered).toEqual([
      [
        'transactions-000001',
        [{ table: TABLE, keys: key(2), version: ((1_764_000_060n - 9n) << 31n).toString() }],
      ],
    ]);
    expect(h.says).toEqual([
      'transactions is a concrete index: upgrading it to an alias over transactions-000001',
      'transactions is now an alias writing to transactions-000001 (the concrete index is removed)',
      'deleted 1 items removed from the table during pass 1',
    ]);
    expect(report).toEqual({
      from: 'transactions',
      to: 'transactions-000001',
      upgraded: true,
      deletedOld: true,
      passes: [passReport(true), passReport(true)],
      deletes: 1,
    });
  });

  it('matches the passes by document id', async () => {
    // Prepare: the same key read with its attributes in another order is the same document.
    const h = harness({ answers: concrete, passes: { 'upgrade-pass-1': { records: [1] } } });
    const steps: ReindexSteps = {
      ...h.steps,
      backfill: async (index, pass, opts) => {
        if (pass === 'upgrade-pass-2') {
          opts.onRecords?.([
            { ...record(1), keys: { transactionId: { N: '1' }, userId: { N: '3' } } },
          ]);
          return passReport(true);
        }
        return h.steps.backfill(index, pass, opts);
      },
    };

    // Act
    const report = await runReindex(reindexOptions(), BODY, h.client, h.ctx, steps);

    // Assert
    expect(documentId(key(1), ['userId', 'transactionId'])).toBe('3|1');
    expect(report.deletes).toBe(0);
    expect(h.delivered).toEqual([]);
    expect(h.says).not.toContain('deleted 0 items removed from the table during pass 1');
  });

  it('refuses to reuse an existing first physical index', async () => {
    const h = harness({
      answers: { ...concrete, 'HEAD /transactions-000001': status(200) },
    });

    expect(await refusal(run(h))).toBe(
      'transactions is a concrete index and transactions-000001 already exists (an interrupted upgrade?): check it, delete it (DELETE /transactions-000001) and run the reindex again',
    );
    expect(h.calls.map((c) => c[0])).not.toContain('PUT');
  });

  it('switches nothing when pass 1 does not finish', async () => {
    const h = harness({ answers: concrete, passes: { 'upgrade-pass-1': { complete: false } } });

    expect(await refusal(run(h))).toBe(
      'pass 1 into transactions-000001 did not finish; nothing was switched: delete transactions-000001 and run again',
    );
    expect(h.events).not.toContain('POST /_aliases');
  });

  it('says how to finish when pass 2 does not', async () => {
    const h = harness({ answers: concrete, passes: { 'upgrade-pass-2': { complete: false } } });

    expect(await refusal(run(h))).toBe(
      `pass 2 into transactions-000001 did not finish; transactions is an alias already: finish with npm run backfill -- --table ${TABLE}`,
    );
    expect(h.delivered).toEqual([]);
  });

  it('fails when the deletes are not all done', async () => {
    const h = harness({
      answers: concrete,
      passes: { 'upgrade-pass-1': { records: [1, 2] } },
      deliver: { done: false, summary: emptySummary(2) },
    });

    expect(await refusal(run(h))).toBe('2 deletes into transactions-000001 did not finish');
  });
});

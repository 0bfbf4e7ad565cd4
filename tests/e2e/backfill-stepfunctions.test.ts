/**
 * The Step Functions backfill, run locally: the state machine's definition
 * (stepfunctions/backfill.asl.json) interpreted by tests/support/asl.ts, invoking the segment
 * worker (backfill-worker.ts) in this process against dynalite and the OpenSearch stand-in. Each
 * invocation gets a short deadline, so every segment takes several invocations and the machine's
 * loop (Task -> Choice -> Task ...) is what finishes the table.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWorker, type SegmentEvent } from '../../backfill-worker';
import { createRuntime } from '../../handler';
import { createDynamoTable } from '../../lib/backfill/dynamo';
import { runStateMachine, type AslStats } from '../support/asl';
import { indexerEnv } from '../support/backfill-local';
import { indexVersusTable } from '../support/backfill-cli';
import { DUMMY_CREDENTIALS, DynamoDBLocal, usersTransactions } from '../support/dynamodb-local';
import { OpenSearchStandIn } from '../support/opensearch-stand-in';
import { REPO_ROOT } from '../support/packaged';

const TABLE = 'UsersTransactions';
let ddb: DynamoDBLocal;
let os: OpenSearchStandIn;

beforeAll(async () => {
  ddb = await DynamoDBLocal.start();
  os = await OpenSearchStandIn.start({ auth: 'none' });
});
afterAll(async () => {
  await os.close();
  await ddb.close();
});

const definition = JSON.parse(
  readFileSync(join(REPO_ROOT, 'stepfunctions', 'backfill.asl.json'), 'utf8'),
) as Record<string, unknown>;

describe('backfill state machine (local)', () => {
  it('loops each segment through short invocations until the whole table is indexed', async () => {
    // Prepare
    await ddb.createTable(TABLE);
    await ddb.putItems(TABLE, usersTransactions(250));
    os.createIndex('transactions-000001', { aliases: { transactions: { is_write_index: true } } });
    const runtime = createRuntime(indexerEnv(os), async () => DUMMY_CREDENTIALS);
    const worker = createWorker(() => runtime, {
      stopBeforeMs: 0,
      dynamo: (table) =>
        createDynamoTable(table, {
          endpoint: ddb.endpoint,
          region: ddb.region,
          credentials: async () => DUMMY_CREDENTIALS,
        }),
    });
    // Every invocation starts at its deadline, so it finishes exactly the one page the worker
    // always finishes, then hands back its key: the loop, not wall-clock timing, covers the table.
    const invoke = (payload: unknown) =>
      worker(payload as SegmentEvent, { getRemainingTimeInMillis: () => 0 });
    const segments = Array.from({ length: 4 }, (_, segment) => ({
      table: TABLE,
      segment,
      totalSegments: 4,
      pageSize: 10,
    }));
    const stats: AslStats = { invocations: 0, maxConcurrent: 0 };

    // Act
    const output = (await runStateMachine(
      definition,
      { segments, concurrency: 2 },
      invoke,
      stats,
    )) as {
      done: boolean;
      items: number;
      startKey: unknown;
    }[];

    // Assert
    expect(output.map((o) => o.done)).toEqual([true, true, true, true]);
    expect(output.every((o) => o.startKey === null)).toBe(true);
    expect(output.reduce((n, o) => n + o.items, 0)).toBe(250);
    // 250 items in pages of at most 10: at least 25 pages, one per invocation.
    expect(stats.invocations).toBeGreaterThanOrEqual(25);
    expect(stats.maxConcurrent).toBe(2);
    expect(indexVersusTable(os, 'transactions', await ddb.scanAll(TABLE))).toEqual([]);
  }, 120_000);
});

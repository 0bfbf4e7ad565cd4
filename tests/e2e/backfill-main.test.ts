/**
 * scripts/backfill.ts `main` in this process (the child-process suite proves the command; this one
 * lets coverage see the same paths): errors before OpenSearch, resume rules, throttled scans.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../scripts/backfill';
import { indexerEnv } from '../support/backfill-local';
import { indexVersusTable } from '../support/backfill-cli';
import { DynamoDBLocal, usersTransactions } from '../support/dynamodb-local';
import { OpenSearchStandIn } from '../support/opensearch-stand-in';

const TABLE = 'UsersTransactions';
let ddb: DynamoDBLocal;
let os: OpenSearchStandIn;
let dir: string;

beforeAll(async () => {
  ddb = await DynamoDBLocal.start();
  os = await OpenSearchStandIn.start({ auth: 'none' });
  await ddb.createTable(TABLE);
  await ddb.putItems(TABLE, usersTransactions(60));
});
afterAll(async () => {
  await os.close();
  await ddb.close();
});
beforeEach(() => {
  os.reset();
  os.createIndex('transactions-000001', { aliases: { transactions: { is_write_index: true } } });
  os.clearLogs();
  ddb.proxy.heal();
  dir = mkdtempSync(join(tmpdir(), 'backfill-main-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[], extra: Record<string, string> = {}) {
  const lines: string[] = [];
  const io = { out: (l: string) => lines.push(l), err: (t: string) => lines.push(t), tty: false };
  const code = await main(
    [...args, '--checkpoint', join(dir, 'cp.json')],
    { ...indexerEnv(os), ...ddb.env(), ...extra },
    io,
  );
  return { code, text: lines.join('\n') };
}

describe('backfill main (in process)', () => {
  it.each([
    [['--table', 'Missing'], {}, /table Missing does not exist/],
    [
      ['--table', TABLE],
      { KEY_ATTRIBUTES: 'transactionId,userId' },
      /does not match the key schema/,
    ],
    [['--table', TABLE, '--resume'], {}, /--resume: no checkpoint at/],
    [['--segments', 'x'], {}, /--table is required[\s\S]*--segments must be an integer/],
    [['--table', TABLE, '--remote'], {}, /aws stepfunctions start-execution/],
  ])(
    '%j ends with one clear message and nothing sent to OpenSearch',
    async (args, env, message) => {
      // Act
      const result = await run(args, env);

      // Assert
      expect(result.code).toBe(1);
      expect(result.text).toMatch(message);
      expect(os.requests).toHaveLength(0);
    },
  );

  it('refuses to write into an index that does not exist (index:setup first)', async () => {
    // Act
    const result = await run(['--table', TABLE], { OPENSEARCH_INDEX: 'nothing-here' });

    // Assert
    expect(result.code).toBe(1);
    expect(result.text).toMatch(
      /index nothing-here does not exist .* run npm run index:setup first/,
    );
    expect(os.bulkRequests()).toHaveLength(0);
  });

  it('retries throttled scans and resumes only with the same segment count', async () => {
    // Prepare
    ddb.proxy.throttle({ operations: ['Scan'], next: 3 });

    // Act
    const first = await run(['--table', TABLE, '--segments', '2', '--page-size', '15']);
    const wrongSplit = await run(['--table', TABLE, '--segments', '3', '--resume']);
    const resumed = await run(['--table', TABLE, '--resume']);

    // Assert
    expect(first.code).toBe(0);
    expect(ddb.proxy.count('Scan', 'faulted')).toBe(3);
    expect(wrongSplit).toMatchObject({ code: 1 });
    expect(wrongSplit.text).toMatch(/made with --segments 2/);
    expect(resumed.code).toBe(0);
    expect(resumed.text).toMatch(/resuming .*2\/2 segments done, 60 items already read/);
    expect(indexVersusTable(os, 'transactions', await ddb.scanAll(TABLE))).toEqual([]);
  }, 60_000);

  it('prints the bulk requests in a dry run and sends nothing', async () => {
    // Act
    const result = await run(['--table', TABLE, '--dry-run']);

    // Assert
    expect(result.code).toBe(0);
    expect(os.requests).toHaveLength(0);
  });
});

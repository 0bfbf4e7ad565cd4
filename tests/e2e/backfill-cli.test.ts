/**
 * `npm run backfill` end to end, as a child process: dynalite (behind the counting, throttling
 * proxy) as the table, the OpenSearch stand-in as the cluster. Nothing of DynamoDB is stubbed
 * below HTTP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkpointItems,
  indexVersusTable,
  runCli,
  startCli,
  summaryOf,
  waitFor,
} from '../support/backfill-cli';
import { DynamoDBLocal, usersTransactions } from '../support/dynamodb-local';
import { OpenSearchStandIn } from '../support/opensearch-stand-in';

const TABLE = 'UsersTransactions';
let ddb: DynamoDBLocal;
let os: OpenSearchStandIn;
let dir: string;

beforeAll(async () => {
  ddb = await DynamoDBLocal.start();
  os = await OpenSearchStandIn.start({ auth: 'none' });
});
afterAll(async () => {
  await os.close();
  await ddb.close();
});
beforeEach(async () => {
  ddb.proxy.heal();
  await ddb.deleteTable(TABLE).catch(() => undefined);
  await ddb.createTable(TABLE);
  ddb.proxy.clearLog();
  os.reset();
  os.createIndex('transactions-000001', {
    settings: { index: { gc_deletes: '25h' } },
    aliases: { transactions: { is_write_index: true } },
  });
  os.clearLogs();
  dir = mkdtempSync(join(tmpdir(), 'backfill-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...ddb.env(),
    OPENSEARCH_ENDPOINT: os.url,
    OPENSEARCH_AUTH: 'none',
    KEY_ATTRIBUTES: 'userId,transactionId',
    RETRY_BASE_MS: '20',
    RETRY_MAX_MS: '200',
    ...extra,
  };
}

describe('npm run backfill', () => {
  it('indexes every item of the table, with consistent scans of the requested segments', async () => {
    // Prepare
    await ddb.putItems(TABLE, usersTransactions(300));
    const checkpoint = join(dir, 'cp.json');

    // Act
    const run = await runCli(
      'backfill',
      ['--table', TABLE, '--segments', '3', '--page-size', '40', '--checkpoint', checkpoint],
      env(),
    );

    // Assert
    expect(run.code).toBe(0);
    expect(indexVersusTable(os, 'transactions', await ddb.scanAll(TABLE))).toEqual([]);
    const scans = ddb.proxy.requests.filter((r) => r.operation === 'Scan');
    expect(scans.length).toBeGreaterThan(3);
    for (const scan of scans) {
      expect(scan.body).toMatchObject({ ConsistentRead: true, TotalSegments: 3 });
    }
    expect(summaryOf(run.stdout)).toMatchObject({ complete: true, read: 300, indexed: 300 });
  }, 60_000);

  it('fails at once, naming the table, and sends nothing to OpenSearch when the table is missing', async () => {
    // Act
    const run = await runCli('backfill', ['--table', 'NoSuchTable'], env());

    // Assert
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/table NoSuchTable does not exist/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(os.requests).toHaveLength(0);
  }, 30_000);

  it('fails at once with a clear message when the DynamoDB endpoint does not answer', async () => {
    // Act: a port nothing listens on
    const run = await runCli(
      'backfill',
      ['--table', TABLE],
      env({ AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9' }),
    );

    // Assert
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot reach DynamoDB at http:\/\/127\.0\.0\.1:9/);
    expect(os.requests).toHaveLength(0);
  }, 30_000);

  it('refuses KEY_ATTRIBUTES that disagree with the key schema, before sending anything', async () => {
    // Act
    const run = await runCli(
      'backfill',
      ['--table', TABLE],
      env({ KEY_ATTRIBUTES: 'transactionId,userId' }),
    );

    // Assert
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/does not match the key schema/);
    expect(os.requests).toHaveLength(0);
  }, 30_000);

  it('loses nothing through long stretches of throttling', async () => {
    // Prepare: every Scan throttled for 2.5 s from the first one, then every third one, then every third one, both throttling codes
    await ddb.putItems(TABLE, usersTransactions(200));
    let first: number | undefined;
    ddb.proxy.throttle({
      operations: ['Scan'],
      schedule: () => Date.now() - (first ??= Date.now()) < 2_500,
    });
    ddb.proxy.throttle({
      operations: ['Scan'],
      fault: 'ThrottlingException',
      schedule: (k) => k % 3 === 0,
    });

    // Act
    const run = await runCli(
      'backfill',
      ['--table', TABLE, '--page-size', '25', '--checkpoint', join(dir, 'cp.json')],
      env(),
    );

    // Assert
    expect(run.code).toBe(0);
    const faults = new Set(ddb.proxy.requests.map((r) => r.fault).filter((f) => f !== undefined));
    expect(faults).toEqual(
      new Set(['ProvisionedThroughputExceededException', 'ThrottlingException']),
    );
    expect(ddb.proxy.count('Scan', 'faulted')).toBeGreaterThanOrEqual(4);
    expect(indexVersusTable(os, 'transactions', await ddb.scanAll(TABLE))).toEqual([]);
  }, 90_000);

  it.each([['SIGINT'], ['SIGKILL']] as const)(
    'after %s, --resume reads clearly less than a full scan and completes the index',
    async (signal) => {
      // Prepare: a slow run (rate-limited), interrupted once some pages are done
      await ddb.putItems(TABLE, usersTransactions(400));
      const checkpoint = join(dir, 'cp.json');
      const args = ['--table', TABLE, '--page-size', '10', '--checkpoint', checkpoint];
      const first = startCli('backfill', [...args, '--max-rate', '150'], env());
      await waitFor(() => checkpointItems(checkpoint) >= 150, 30_000, 'progress');
      first.child.kill(signal);
      const exit = await first.exit;
      if (signal === 'SIGINT') {
        expect(exit.code).toBe(130);
        expect(first.stderr()).toMatch(/checkpoint saved/);
      } else {
        expect(exit.signal).toBe('SIGKILL');
      }
      const done = checkpointItems(checkpoint);
      expect(done).toBeGreaterThanOrEqual(150);
      expect(done).toBeLessThan(400);
      const scansBefore = ddb.proxy.count('Scan');

      // Act
      const resumed = await runCli('backfill', [...args, '--resume'], env());

      // Assert
      expect(resumed.code).toBe(0);
      expect(resumed.stderr).toMatch(/resuming/);
      const resumedScans = ddb.proxy.count('Scan') - scansBefore;
      const fullScan = 400 / 10 + 4; // pages of 10, plus each segment's last empty page
      expect(resumedScans).toBeLessThan(fullScan * 0.75);
      expect(indexVersusTable(os, 'transactions', await ddb.scanAll(TABLE))).toEqual([]);
    },
    90_000,
  );

  it('starts over and says so when a checkpoint exists and --resume is not given', async () => {
    // Prepare
    await ddb.putItems(TABLE, usersTransactions(30));
    const checkpoint = join(dir, 'cp.json');
    const args = ['--table', TABLE, '--checkpoint', checkpoint];
    expect((await runCli('backfill', args, env())).code).toBe(0);

    // Act
    const again = await runCli('backfill', args, env());

    // Assert
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/starting over/);
    expect(summaryOf(again.stdout)).toMatchObject({ complete: true, read: 30 });
  }, 60_000);

  it('--dry-run scans and prints the bulk requests, sending nothing', async () => {
    // Prepare
    await ddb.putItems(TABLE, usersTransactions(5));

    // Act
    const run = await runCli('backfill', ['--table', TABLE, '--dry-run'], env());

    // Assert
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/dry run: bulk request not sent/);
    expect(run.stderr).toContain('"_id\\":\\"3|4\\"');
    expect(os.requests).toHaveLength(0);
  }, 30_000);
});

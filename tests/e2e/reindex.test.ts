/**
 * `npm run reindex` (scripts/reindex.ts, in this process) against dynalite and the OpenSearch
 * stand-in with OpenSearch's alias semantics, while table changes flow through the stream handler.
 * Checked at every alias change: the alias resolves and has a write index; checked all along:
 * searches through the alias never fail and never see an empty index.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main as backfill } from '../../scripts/backfill';
import { main as reindex } from '../../scripts/reindex';
import { main as setupIndex } from '../../scripts/setup-index';
import { indexerEnv, streamIndexer } from '../support/backfill-local';
import { indexVersusTable } from '../support/backfill-cli';
import { DynamoDBLocal, usersTransactions, type Item as SdkItem } from '../support/dynamodb-local';
import { OpenSearchStandIn } from '../support/opensearch-stand-in';
import { httpRequest } from '../support/sign';
import { TableModel, USERS_TRANSACTIONS, type Item } from '../support/table-model';

const TABLE = 'UsersTransactions';
let ddb: DynamoDBLocal;
let os: OpenSearchStandIn;
let dir: string;
let cwd: string;

beforeAll(async () => {
  ddb = await DynamoDBLocal.start();
  os = await OpenSearchStandIn.start({ auth: 'none' });
});
afterAll(async () => {
  await os.close();
  await ddb.close();
});
beforeEach(async () => {
  await ddb.deleteTable(TABLE).catch(() => undefined);
  await ddb.createTable(TABLE);
  os.reset();
  dir = mkdtempSync(join(tmpdir(), 'reindex-'));
  // Checkpoints go under .backfill/ of the working directory.
  cwd = process.cwd();
  process.chdir(dir);
});
afterEach(() => {
  process.chdir(cwd);
  rmSync(dir, { recursive: true, force: true });
});

function env(): Record<string, string> {
  return { ...indexerEnv(os), ...ddb.env(), LOG_LEVEL: 'error' };
}

const quiet = () => {
  const lines: string[] = [];
  return {
    io: { out: (l: string) => lines.push(l), err: (t: string) => lines.push(t), tty: false },
    lines,
  };
};

/** Table changes through the stream handler until `stop()`; the model mirrors dynalite. */
function liveChanges(seed: number) {
  const model = new TableModel(USERS_TRANSACTIONS, {
    seed,
    startTime: Math.floor(Date.now() / 1000),
  });
  const stream = streamIndexer(os);
  let running = true;
  let n = 0;
  const done = (async () => {
    while (running) {
      n++;
      const key = {
        userId: { N: String(n % 5) },
        transactionId: { N: String(((n * 7) % 60) + 1) },
      };
      const remove = n % 4 === 0;
      const item: Item = { ...key, amount: { N: String(n) }, shortDescription: { S: `live ${n}` } };
      await (remove ? ddb.deleteItem(TABLE, key as SdkItem) : ddb.putItem(TABLE, item as SdkItem));
      model.tick(Math.max(0, Math.floor(Date.now() / 1000) - model.now));
      // The model only knows items it saw: mirror what dynalite holds before the change.
      const record = remove ? (model.delete(key) ?? deleteRecord(model, key)) : model.put(item);
      if (record !== undefined) stream.append([record]);
      if (n % 3 === 0) await stream.runToEnd();
      await new Promise((r) => setTimeout(r, 5));
    }
    await stream.runToEnd();
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return stream;
    },
  };
}

/** A REMOVE for an item the model never saw (it pre-dates the stream). */
function deleteRecord(model: TableModel, key: Item) {
  model.put({ ...key, placeholder: { S: 'x' } });
  model.records.pop();
  return model.delete(key);
}

/** Polls `GET /<alias>/_count` until stopped; records every failure or empty answer. */
function watchSearches(alias: string) {
  const problems: string[] = [];
  let polls = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      const r = await httpRequest(`${os.url}/${alias}/_count`, { method: 'GET' });
      polls++;
      const count = (JSON.parse(r.body.toString() || '{}') as { count?: number }).count;
      if (r.status !== 200) problems.push(`HTTP ${r.status}`);
      else if (!count) problems.push('empty');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return { problems, polls };
    },
  };
}

/** Checks the alias at every change: it resolves, and it has a write index. */
function watchAlias(alias: string) {
  const problems: string[] = [];
  const off = os.onAliasChange((event) => {
    const after = event.after.get(alias);
    if (after === undefined) problems.push(`${event.cause}: ${alias} resolves to nothing`);
    else if (after.writeIndex === undefined) problems.push(`${event.cause}: no write index`);
  });
  return { problems, off };
}

describe('npm run reindex', () => {
  it('rebuilds the index behind the alias while the stream writes, never leaving searches empty', async () => {
    // Prepare: index:setup, existing items, a first backfill
    await ddb.putItems(TABLE, usersTransactions(150));
    const { io } = quiet();
    expect(await setupIndex([], env(), io.out, io.err)).toBe(0);
    expect(await backfill(['--table', TABLE, '--page-size', '20'], env(), io)).toBe(0);
    const alias = watchAlias('transactions');
    const searches = watchSearches('transactions');
    const live = liveChanges(1);

    // Act
    const code = await reindex(['--table', TABLE, '--page-size', '10', '--delete-old'], env(), io);
    const stream = await live.stop();
    const seen = await searches.stop();
    alias.off();

    // Assert
    expect(code).toBe(0);
    expect(stream.done).toBe(true);
    expect(alias.problems).toEqual([]);
    expect(seen.problems).toEqual([]);
    expect(seen.polls).toBeGreaterThan(5);
    expect(os.resolveAlias('transactions')).toMatchObject({ indices: ['transactions-000002'] });
    expect(os.hasIndex('transactions-000001')).toBe(false);
    expect(os.aliasHistory('transactions').map((h) => h.resolution?.writeIndex)).toEqual([
      'transactions-000001',
      'transactions-000002',
      'transactions-000002',
    ]);
    expect(indexVersusTable(os, 'transactions', await ddb.scanAll(TABLE))).toEqual([]);
  }, 180_000);

  it('upgrades a concrete index to an alias while the stream writes, deletes included', async () => {
    // Prepare: a deployment from before aliases: `transactions` is a concrete index
    await ddb.putItems(TABLE, usersTransactions(120));
    os.createIndex('transactions', { settings: { index: { gc_deletes: '25h' } } });
    const { io } = quiet();
    expect(await backfill(['--table', TABLE], env(), io)).toBe(0);
    const searches = watchSearches('transactions');
    const live = liveChanges(2);
    // While pass 1 runs: delete items it has already copied (their deletes reach only the old
    // index, so only the versioned deletes after pass 2 can remove them from the new one). Keys
    // above 60 only: the live writer never touches them, so one stream orders each key.
    const model = new TableModel(USERS_TRANSACTIONS, { startTime: Math.floor(Date.now() / 1000) });
    const stream = streamIndexer(os);
    const deletedDuringPass1 = (async () => {
      const ours = (): string[] =>
        [...os.readIndex('transactions-000001').docs.keys()].filter(
          (id) => Number(id.split('|')[1]) > 60,
        );
      while (ours().length < 10) await new Promise((r) => setTimeout(r, 5));
      const copied = ours().slice(0, 15);
      for (const id of copied) {
        const [userId, transactionId] = id.split('|');
        const key = { userId: { N: String(userId) }, transactionId: { N: String(transactionId) } };
        await ddb.deleteItem(TABLE, key as SdkItem);
        model.tick(Math.max(0, Math.floor(Date.now() / 1000) - model.now));
        stream.append([deleteRecord(model, key) as never]);
      }
      await stream.runToEnd();
      // Still before the switch: `transactions` is the concrete index.
      expect(os.resolveAlias('transactions')).toBeUndefined();
      return copied;
    })();

    // Act
    const code = await reindex(
      ['--table', TABLE, '--page-size', '10', '--max-rate', '40'],
      env(),
      io,
    );
    const deleted = await deletedDuringPass1;
    const seen = await searches.stop();

    await live.stop();

    // Assert
    expect(code).toBe(0);
    expect(stream.done).toBe(true);
    expect(seen.problems).toEqual([]);
    const after = os.readIndex('transactions').docs;
    expect(deleted.filter((id) => after.has(id))).toEqual([]);
    expect(os.resolveAlias('transactions')).toMatchObject({
      indices: ['transactions-000001'],
      writeIndex: 'transactions-000001',
    });
    expect(indexVersusTable(os, 'transactions', await ddb.scanAll(TABLE))).toEqual([]);
  }, 180_000);

  it('refuses an alias over two indices with a clear error, changing nothing', async () => {
    // Prepare
    os.createIndex('transactions-000001', { aliases: { transactions: {} } });
    os.createIndex('other', { aliases: { transactions: { is_write_index: true } } });
    const { io, lines } = quiet();

    // Act
    const code = await reindex(['--table', TABLE], env(), io);

    // Assert
    expect(code).toBe(1);
    expect(lines.join('')).toMatch(
      /alias transactions is over 2 indices \(other, transactions-000001\)/,
    );
    expect(os.hasIndex('transactions-000002')).toBe(false);
  });

  it('refuses to run without the alias (index:setup first)', async () => {
    // Prepare
    const { io, lines } = quiet();

    // Act
    const code = await reindex(['--table', TABLE], env(), io);

    // Assert
    expect(code).toBe(1);
    expect(lines.join('')).toMatch(/transactions does not exist: run npm run index:setup first/);
  });
});

/**
 * The backfill beside the live stream: items that pre-date the stream, a backfill, and table
 * changes made while it runs and fed through the stream handler (in any timing, some delivered
 * only after the backfill is done), end with the index equal to the table. Property-based and
 * seeded (fast-check); dynalite is the table, the OpenSearch stand-in the cluster.
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backfillInProcess, streamIndexer } from '../support/backfill-local';
import { indexVersusTable } from '../support/backfill-cli';
import { DynamoDBLocal, type Item as SdkItem } from '../support/dynamodb-local';
import { OpenSearchStandIn } from '../support/opensearch-stand-in';
import { TableModel, USERS_TRANSACTIONS, type Item } from '../support/table-model';

const TABLE = 'UsersTransactions';
const SEED = Number(process.env.BACKFILL_RACE_SEED ?? 20261202);
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

interface Op {
  readonly kind: 'put' | 'update' | 'delete';
  readonly userId: number;
  readonly transactionId: number;
  readonly amount: number;
  /** Pause before the change, so changes spread over the backfill's pages and seconds. */
  readonly pauseMs: number;
  /** Deliver the stream up to here now; otherwise the record waits (a slow or late stream). */
  readonly deliverNow: boolean;
}

const op: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('put', 'update', 'delete'),
  userId: fc.integer({ min: 0, max: 3 }),
  transactionId: fc.integer({ min: 1, max: 30 }),
  amount: fc.integer({ min: 0, max: 99_999 }),
  pauseMs: fc.integer({ min: 0, max: 60 }),
  deliverNow: fc.boolean(),
});

const keyOf = (userId: number, transactionId: number): Item => ({
  userId: { N: String(userId) },
  transactionId: { N: String(transactionId) },
});
const itemOf = (userId: number, transactionId: number, amount: number, note: string): Item => ({
  ...keyOf(userId, transactionId),
  amount: { N: (amount / 100).toFixed(2) },
  shortDescription: { S: note },
});

describe('backfill racing the stream', () => {
  it('ends with the index equal to the table, whatever the interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 5, max: 60 }),
        fc.array(op, { minLength: 10, maxLength: 50 }),
        async (preExisting, ops) => {
          // Prepare: a fresh table and index; items written before the stream existed
          const dir = mkdtempSync(join(tmpdir(), 'backfill-race-'));
          await ddb.deleteTable(TABLE).catch(() => undefined);
          await ddb.createTable(TABLE);
          os.reset();
          os.createIndex('transactions-000001', {
            settings: { index: { gc_deletes: '25h' } },
            aliases: { transactions: { is_write_index: true } },
          });
          const model = new TableModel(USERS_TRANSACTIONS, {
            startTime: Math.floor(Date.now() / 1000),
          });
          const old: Item[] = [];
          for (let i = 0; i < preExisting; i++) {
            old.push(itemOf(i % 4, (i % 30) + 1, i * 7, `before the stream ${i}`));
          }
          for (const item of old) model.put(item);
          model.records.length = 0; // no stream yet: these never reach it
          await ddb.putItems(TABLE, old as SdkItem[]);
          const stream = streamIndexer(os);

          // Act: the backfill and live changes at once
          const backfill = backfillInProcess(ddb, os, { table: TABLE, index: 'transactions', dir });
          for (const [n, change] of ops.entries()) {
            await new Promise((r) => setTimeout(r, change.pauseMs));
            const key = keyOf(change.userId, change.transactionId);
            // The record's creation time is the wall-clock second of the write (DynamoDB's clock).
            await (change.kind === 'delete'
              ? ddb.deleteItem(TABLE, key as SdkItem)
              : ddb.putItem(
                  TABLE,
                  itemOf(
                    change.userId,
                    change.transactionId,
                    change.amount,
                    `live ${n}`,
                  ) as SdkItem,
                ));
            model.tick(Math.max(0, Math.floor(Date.now() / 1000) - model.now));
            const record =
              change.kind === 'delete'
                ? model.delete(key)
                : model.put(
                    itemOf(change.userId, change.transactionId, change.amount, `live ${n}`),
                  );
            if (record !== undefined) stream.append([record]);
            if (change.deliverNow) await stream.runToEnd();
          }
          const report = await backfill;
          await stream.runToEnd();

          // Assert
          const table = await ddb.scanAll(TABLE);
          expect(report.complete).toBe(true);
          expect(stream.done).toBe(true);
          expect(table).toHaveLength(model.finalItems().length);
          expect(indexVersusTable(os, 'transactions', table)).toEqual([]);
          rmSync(dir, { recursive: true, force: true });
        },
      ),
      { seed: SEED, numRuns: Number(process.env.BACKFILL_RACE_RUNS ?? 4), endOnFailure: true },
    );
  }, 240_000);
});

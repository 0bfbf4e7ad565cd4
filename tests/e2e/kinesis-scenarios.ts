/**
 * End-to-end scenarios for the Kinesis path (DynamoDB -> Kinesis Data Streams -> this Lambda),
 * run against each target by indexer-kinesis.test.ts. A model table's changes are delivered like
 * a Kinesis shard does (kinesis-shard.ts: shuffled within windows, partly duplicated, in ms or us)
 * through the ESM simulator, over real sockets to the stand-ins; then the four properties are
 * checked (assertions.ts, checkKinesis) plus what is specific to each scenario.
 */
import type { KinesisStreamRecord } from 'aws-lambda';
import { checkKinesis, docIdOf } from '../support/assertions';
import type { EsmOptions, EsmSimulator, StreamHandler } from '../support/esm-simulator';
import type { E2eHarness, IndexedDoc } from '../support/harness';
import { KinesisShard, kinesisSequenceNumber, type Precision } from '../support/kinesis-shard';
import { Rng } from '../support/rng';
import { TableModel, USERS_TRANSACTIONS, type Item } from '../support/table-model';
import { ARTICLE_ITEM, DEFAULT_ESM, runStream } from './scenarios';

type KinesisHandler = StreamHandler<KinesisStreamRecord>;

export interface KinesisRunOptions {
  readonly env?: Record<string, string | undefined>;
  readonly esm?: EsmOptions<KinesisStreamRecord>;
  readonly expectedDeadLetters?: readonly string[];
  readonly arm?: () => void;
}

export interface KinesisRunResult {
  readonly sim: EsmSimulator<KinesisStreamRecord>;
  readonly problems: string[];
  readonly index: Map<string, IndexedDoc>;
}

export async function runKinesis(
  h: E2eHarness,
  shard: KinesisShard,
  opts: KinesisRunOptions = {},
): Promise<KinesisRunResult> {
  const handler = h.loadHandler({
    SOURCE_TABLE: shard.table.schema.tableName,
    ...opts.env,
  }) as unknown as KinesisHandler;
  opts.arm?.();
  const sim = h.simulator<KinesisStreamRecord>(handler, {
    ...(DEFAULT_ESM as EsmOptions<KinesisStreamRecord>),
    identifierOf: kinesisSequenceNumber,
    ...opts.esm,
  });
  sim.append(shard.records);
  await sim.runToEnd();
  return { sim, ...(await checkShard(h, sim, shard, opts)) };
}

async function checkShard(
  h: E2eHarness,
  sim: EsmSimulator<KinesisStreamRecord>,
  shard: KinesisShard,
  opts: KinesisRunOptions,
): Promise<{ problems: string[]; index: Map<string, IndexedDoc> }> {
  const index = await h.readIndex();
  const problems = checkKinesis({
    shard,
    index,
    indexName: h.index,
    deadLetters: h.deadLetters(),
    ttlDeletes: (opts.env?.['TTL_DELETES'] as 'delete' | 'ignore' | undefined) ?? 'delete',
    ...(h.os ? { standInItems: h.os.items } : {}),
    ...(opts.expectedDeadLetters ? { expectedDeadLetters: opts.expectedDeadLetters } : {}),
    sim,
  });
  return { problems, index };
}

function expectNoProblems(h: E2eHarness, r: KinesisRunResult): void {
  if (r.problems.length === 0) return;
  const inv = r.sim.invocations
    .slice(-6)
    .map(
      (i) =>
        `#${i.n} [${i.start},${i.end}) ${i.outcome} ${i.durationMs}ms ${i.error ?? JSON.stringify(i.response)?.slice(0, 200)}`,
    )
    .join('\n    ');
  const logs = h.logs
    .slice(-10)
    .map((l) => l.slice(0, 300))
    .join('\n    ');
  throw new Error(
    `end-to-end properties violated:\n  - ${r.problems.join('\n  - ')}\n  invocations:\n    ${inv}\n  handler log:\n    ${logs}\n  stats: ${JSON.stringify(r.sim.stats)}`,
  );
}

/** Transactions put, modified (several times in one second for some) and removed. */
function busyTable(n: number, seed: number): TableModel {
  const t = new TableModel(USERS_TRANSACTIONS, { seed });
  const rng = new Rng(seed);
  const key = (i: number): Item => ({
    userId: { N: String(1 + (i % 4)) },
    transactionId: { N: String(100 + i) },
  });
  for (let i = 0; i < n; i++) {
    t.put({
      ...key(i),
      accountId: { N: String(i % 3) },
      amount: { N: `${rng.int(1, 9999)}.${rng.int(0, 99)}` },
      shortDescription: { S: `transaction ${i}` },
      receipt: { B: Buffer.from(`receipt-${i}`).toString('base64') },
      tags: { SS: ['a', `t${i % 5}`] },
    });
    if (rng.chance(0.3)) t.tick();
  }
  // Bursts: one item changed several times within one second.
  for (let i = 0; i < n; i += 4) {
    for (let k = 0; k < 3; k++) t.update(key(i), { set: { amount: { N: String(i * 10 + k) } } });
  }
  t.tick();
  for (let i = 0; i < n; i += 3) t.update(key(i), { set: { note: { S: `modified ${i}` } } });
  for (let i = 0; i < n; i += 5) t.delete(key(i));
  t.tick();
  // Re-created after the delete, in the same second as other changes.
  for (let i = 0; i < n; i += 10) t.put({ ...key(i), shortDescription: { S: `reborn ${i}` } });
  return t;
}

export interface KinesisScenario {
  readonly name: string;
  readonly faults: boolean;
  readonly timeoutMs?: number;
  readonly run: (h: E2eHarness) => Promise<void>;
}

const PRECISIONS: Precision[] = ['MILLISECOND', 'MICROSECOND'];

export const kinesisScenarios: KinesisScenario[] = [
  ...PRECISIONS.map((precision, p): KinesisScenario => ({
    name: `shuffled within windows and duplicated, ${precision}: the index equals the table`,
    faults: false,
    run: async (h) => {
      const t = busyTable(40, 31 + p);
      const shard = new KinesisShard(t, { precision, window: 6, duplicateRate: 0.25, seed: 5 });
      shard.deliverChanges();
      const r = await runKinesis(h, shard, { esm: { batchSize: 7 } });
      expectNoProblems(h, r);
      expect(h.deadLetters()).toEqual([]);
      expect(r.index.size).toBeGreaterThan(10);
      // Out-of-order delivery across batches met a newer stored version and was refused.
      if (h.os) expect(h.os.items.some((i) => i.status === 409)).toBe(true);
    },
  })),
  {
    name: 'per-item 429/503 and whole-request 503/429 faults, shuffled and duplicated: converges',
    faults: true,
    run: async (h) => {
      const t = busyTable(30, 41);
      const shard = new KinesisShard(t, {
        precision: 'MICROSECOND',
        window: 5,
        duplicateRate: 0.2,
        seed: 9,
      });
      shard.deliverChanges();
      const ids = t.records.filter((_r, i) => i % 4 === 0).map((r) => docIdOf(r));
      const r = await runKinesis(h, shard, {
        esm: { batchSize: 10 },
        arm: () => {
          h.standIn.faults
            .failItems({ ids, status: 429, times: 2 })
            .failItemsRandomly({ probability: 0.2, status: 'mixed', maxFailures: 15, seed: 3 })
            .failNextRequests(2, 503)
            .failNextRequests(1, 429)
            .dropConnections(1, 'after-apply');
        },
      });
      expectNoProblems(h, r);
      expect(h.standIn.items.some((i) => i.status === 429)).toBe(true);
      expect(h.standIn.bulkRequests().some((q) => q.status === 503)).toBe(true);
      expect(h.deadLetters()).toEqual([]);
    },
  },
  {
    name: 'rejected items and malformed records are dead-lettered as delivered; the rest converges',
    faults: true,
    run: async (h) => {
      const t = new TableModel(USERS_TRANSACTIONS, { seed: 51 });
      for (let i = 0; i < 16; i++) {
        t.put({
          userId: { N: '8' },
          transactionId: { N: String(i) },
          shortDescription: { S: i % 5 === 1 ? 'poison pill' : `ok ${i}` },
        });
      }
      t.appendMalformed('no-keys');
      t.appendMalformed('unknown-event-name');
      t.appendMalformed('insert-without-new-image');
      t.appendMalformed('bad-attribute-value');
      t.appendMalformed('no-dynamodb');
      t.tick();
      t.update(
        { userId: { N: '8' }, transactionId: { N: '1' } },
        { set: { shortDescription: { S: 'fixed' } } },
      );
      const shard = new KinesisShard(t, {
        precision: 'MILLISECOND',
        window: 4,
        duplicateRate: 0.2,
        seed: 13,
      });
      shard.deliverChanges();
      for (const kind of [
        'bad-base64',
        'not-json',
        'not-a-dynamodb-change',
        'other-table',
        'no-creation-time',
      ] as const)
        shard.appendMalformed(kind);
      const r = await runKinesis(h, shard, {
        esm: { batchSize: 6 },
        arm: () => {
          h.standIn.faults.poison((item) => item.rawSource?.includes('poison') ?? false);
        },
      });
      expectNoProblems(h, r);
      const letters = h.deadLetters().flatMap((d) => d.letters);
      expect(letters.length).toBeGreaterThanOrEqual(shard.malformed.length + 1);
      expect(new Set(letters.map((l) => l.errorType))).toEqual(
        new Set([
          'MissingKeys',
          'UnknownEventName',
          'MissingNewImage',
          'InvalidAttributeValue',
          'MissingDynamodb',
          'InvalidBase64',
          'InvalidJson',
          'NotDynamodbChange',
          'OtherTable',
          'InvalidCreationDateTime',
          'mapper_parsing_exception',
        ]),
      );
      expect(JSON.parse(r.index.get(docIdOf(t.records[1]!))!.rawSource)).toMatchObject({
        shortDescription: 'fixed',
      });
    },
  },
  {
    name: 'late re-delivery of old Kinesis batches changes nothing',
    faults: false,
    run: async (h) => {
      const t = busyTable(24, 61);
      const shard = new KinesisShard(t, { precision: 'MICROSECOND', window: 4, seed: 21 });
      shard.deliverChanges();
      const r = await runKinesis(h, shard, { esm: { batchSize: 5 } });
      expectNoProblems(h, r);
      const before = [...(await h.readIndex())].sort();
      const n = shard.records.length;
      for (const [a, b] of [
        [0, 5],
        [0, n],
        [n - 7, n],
        [3, 11],
      ] as Array<[number, number]>) {
        const inv = await r.sim.redeliver(a, b);
        expect([a, b, inv.outcome, inv.response]).toEqual([
          a,
          b,
          'success',
          { batchItemFailures: [] },
        ]);
      }
      expect([...(await h.readIndex())].sort()).toEqual(before);
      expect(h.deadLetters()).toEqual([]);
    },
  },
  {
    name: 'one batch per record, the latest change delivered first: older deliveries are refused',
    faults: false,
    run: async (h) => {
      const t = new TableModel(USERS_TRANSACTIONS, { seed: 71 });
      for (let k = 0; k < 6; k++)
        t.put({ ...ARTICLE_ITEM, amount: { N: String(k) }, shortDescription: { S: `v${k}` } });
      const shard = new KinesisShard(t, {
        precision: 'MICROSECOND',
        window: 6,
        order: 'reversed',
        seed: 2,
      });
      shard.deliverChanges();
      const r = await runKinesis(h, shard, { esm: { batchSize: 1 } });
      expectNoProblems(h, r);
      expect(r.sim.stats.invocations).toBe(6);
      expect(JSON.parse(r.index.get(docIdOf(t.records[0]!))!.rawSource)).toMatchObject({
        shortDescription: 'v5',
      });
      // The five older changes each met the newer stored version: 409, counted done.
      if (h.os) expect(h.os.items.filter((i) => i.status === 409)).toHaveLength(5);
    },
  },
  {
    name: 'switching an index from the DynamoDB stream to Kinesis (both running, then Kinesis alone) converges',
    faults: false,
    timeoutMs: 60_000,
    run: async (h) => {
      // Phase 1: the stream path indexes the first part of the history.
      const t = busyTable(24, 81);
      const streamed = t.records.length;
      const first = await runStream(h, t.records, t.malformed, { esm: { batchSize: 8 } });
      expect(first.problems).toEqual([]);
      // Phase 2: the table also streams to Kinesis (TRIM_HORIZON replays everything retained);
      // more changes follow, in a later second than the stream's last (the residual window of a
      // switch is a same-second change delivered by the new source alone: lib/versions.ts).
      t.tick();
      for (let i = 0; i < 24; i += 2)
        t.update(
          { userId: { N: String(1 + (i % 4)) }, transactionId: { N: String(100 + i) } },
          { set: { note: { S: `after the switch ${i}` } } },
        );
      const shard = new KinesisShard(t, {
        precision: 'MICROSECOND',
        window: 5,
        duplicateRate: 0.1,
        seed: 33,
      });
      shard.deliverChanges();
      const r = await runKinesis(h, shard, { esm: { batchSize: 9 } });
      expectNoProblems(h, r);
      expect(streamed).toBeLessThan(t.records.length);
      // The replayed changes the stream path already wrote were refused as stale or rewritten with
      // the same content; none went backwards.
      if (h.os) expect(h.os.items.some((i) => i.status === 409)).toBe(true);
    },
  },
];

/**
 * End-to-end scenarios, written once and run against each target (see indexer-*.test.ts).
 * Each scenario drives a model table's stream through the ESM simulator into the handler under
 * test, over real sockets to the stand-ins, then asserts the four properties (assertions.ts)
 * plus what is specific to it. Scenarios with `faults: true` need the OpenSearch stand-in and
 * are skipped on the real-cluster target.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { checkAll, docIdOf } from '../support/assertions';
import { emfViolations } from '../support/emf';
import type { EsmOptions, EsmSimulator } from '../support/esm-simulator';
import type { E2eHarness, IndexedDoc } from '../support/harness';
import { Rng } from '../support/rng';
import {
  MIXED_KEYS,
  STRING_COMPOSITE,
  TableModel,
  USERS_TRANSACTIONS,
  type Item,
} from '../support/table-model';

export const ARTICLE_MAPPINGS = {
  properties: {
    userId: { type: 'long' },
    transactionId: { type: 'long' },
    accountId: { type: 'long' },
    amount: { type: 'scaled_float', scaling_factor: 100 },
    shortDescription: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
  },
};

export const ARTICLE_ITEM: Item = {
  userId: { N: '3' },
  transactionId: { N: '51' },
  accountId: { N: '3' },
  amount: { N: '11' },
  shortDescription: { S: 'Final mega test 2' },
};

export interface RunOptions {
  readonly env?: Record<string, string | undefined>;
  readonly esm?: EsmOptions;
  readonly ttlDeletes?: 'delete' | 'ignore';
  readonly keyOrder?: readonly string[];
  readonly expectedDeadLetters?: readonly string[];
  /** Called after the handler is loaded, before the stream runs (to arm faults). */
  readonly arm?: () => void;
}

export interface RunResult {
  readonly sim: EsmSimulator;
  readonly problems: string[];
  readonly index: Map<string, IndexedDoc>;
}

/** Default mapping settings: the serverless framework's batch size default, a short function timeout. */
export const DEFAULT_ESM: EsmOptions = {
  batchSize: 10,
  timeoutMs: 8000,
  maximumRetryAttempts: 30,
  retryDelayMs: 20,
  maxInvocations: 300,
};

export async function runStream(
  h: E2eHarness,
  records: readonly DynamoDBRecord[],
  malformed: readonly DynamoDBRecord[],
  opts: RunOptions = {},
): Promise<RunResult> {
  const handler = h.loadHandler(opts.env);
  opts.arm?.();
  const sim = h.simulator(handler, { ...DEFAULT_ESM, ...opts.esm });
  sim.append(records);
  await sim.runToEnd();
  return { sim, ...(await check(h, sim, malformed, opts)) };
}

export async function check(
  h: E2eHarness,
  sim: EsmSimulator,
  malformed: readonly DynamoDBRecord[],
  opts: RunOptions = {},
): Promise<{ problems: string[]; index: Map<string, IndexedDoc> }> {
  const index = await h.readIndex();
  const problems = checkAll({
    records: sim.records,
    malformed,
    index,
    indexName: h.index,
    deadLetters: h.deadLetters(),
    ttlDeletes:
      opts.ttlDeletes ?? (opts.env?.['TTL_DELETES'] as 'delete' | 'ignore' | undefined) ?? 'delete',
    ...(opts.keyOrder ? { keyOrder: opts.keyOrder } : {}),
    ...(h.os ? { standInItems: h.os.items } : {}),
    ...(opts.expectedDeadLetters ? { expectedDeadLetters: opts.expectedDeadLetters } : {}),
    sim,
  });
  return { problems, index };
}

/** A debugging summary attached to failures: what the handler saw and answered. */
export function evidence(h: E2eHarness, sim: EsmSimulator): string {
  const inv = sim.invocations
    .slice(-6)
    .map(
      (i) =>
        `#${i.n}${i.late ? ' late' : ''} [${i.start},${i.end}) ${i.outcome} ${i.durationMs}ms ${i.error ?? JSON.stringify(i.response)?.slice(0, 200)}`,
    )
    .join('\n    ');
  const reqs = (h.os?.requests ?? [])
    .slice(-6)
    .map((r) => `${r.method} ${r.url} -> ${r.status}${r.note ? ` (${r.note.slice(0, 160)})` : ''}`)
    .join('\n    ');
  const logs = h.logs
    .slice(-12)
    .map((l) => l.slice(0, 300))
    .join('\n    ');
  return `invocations:\n    ${inv}\n  handler log (last lines):\n    ${logs}\n  last requests:\n    ${reqs}\n  faults injected: ${h.os?.faults.log.slice(-10).join(', ') ?? 'n/a'}\n  stats: ${JSON.stringify(sim.stats)}`;
}

/** Fails with every problem listed (and the evidence) instead of a bare boolean. */
export function expectNoProblems(
  h: E2eHarness,
  result: { sim: EsmSimulator; problems: readonly string[] },
): void {
  if (result.problems.length > 0) {
    throw new Error(
      `end-to-end properties violated:\n  - ${result.problems.join('\n  - ')}\n  ${evidence(h, result.sim)}`,
    );
  }
}

function articleTable(seed = 1): TableModel {
  return new TableModel(USERS_TRANSACTIONS, { seed });
}

/** A table of `n` transactions, some modified and some removed over a few seconds. */
function busyTable(n: number, seed: number): TableModel {
  const t = articleTable(seed);
  const rng = new Rng(seed);
  for (let i = 0; i < n; i++) {
    t.put({
      userId: { N: String(1 + (i % 5)) },
      transactionId: { N: String(100 + i) },
      accountId: { N: String(i % 3) },
      amount: { N: `${rng.int(1, 9999)}.${rng.int(0, 99)}` },
      shortDescription: { S: `transaction ${i}` },
    });
    if (rng.chance(0.3)) t.tick();
  }
  for (let i = 0; i < n; i += 3)
    t.update(
      { userId: { N: String(1 + (i % 5)) }, transactionId: { N: String(100 + i) } },
      { set: { amount: { N: String(i * 7) }, note: { S: `modified ${i}` } } },
    );
  t.tick();
  for (let i = 0; i < n; i += 7)
    t.delete({ userId: { N: String(1 + (i % 5)) }, transactionId: { N: String(100 + i) } });
  return t;
}

export interface Scenario {
  readonly name: string;
  /** Needs the OpenSearch stand-in (fault injection or request inspection). */
  readonly faults: boolean;
  readonly timeoutMs?: number;
  readonly run: (h: E2eHarness) => Promise<void>;
}

export const scenarios: Scenario[] = [
  {
    name: 'happy batch: INSERT, MODIFY, REMOVE with the article item',
    faults: false,
    run: async (h) => {
      await h.createIndex({ mappings: ARTICLE_MAPPINGS });
      const t = articleTable();
      t.put(ARTICLE_ITEM);
      t.put({ ...ARTICLE_ITEM, transactionId: { N: '52' }, shortDescription: { S: 'second' } });
      t.tick();
      t.update(
        { userId: { N: '3' }, transactionId: { N: '51' } },
        { set: { amount: { N: '11.5' } } },
      );
      t.put({
        userId: { N: '4' },
        transactionId: { N: '1' },
        accountId: { N: '9' },
        amount: { N: '0.01' },
        shortDescription: { S: 'other user' },
      });
      t.tick();
      t.delete({ userId: { N: '3' }, transactionId: { N: '52' } });
      t.update(
        { userId: { N: '3' }, transactionId: { N: '51' } },
        { set: { amount: { N: '11' } } },
      );
      const r = await runStream(h, t.records, []);
      expectNoProblems(h, r);
      expect(r.index.size).toBe(2);
      const article = r.index.get(docIdOf(t.records[0]!));
      expect(article && JSON.parse(article.rawSource)).toEqual({
        userId: 3,
        transactionId: 51,
        accountId: 3,
        amount: 11,
        shortDescription: 'Final mega test 2',
      });
      expect(h.deadLetters()).toEqual([]);
      // Every invocation's summary line is a valid EMF document whose metrics are its counts.
      const summaries = h.logs
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line['msg'] === 'batch processed');
      expect(summaries.length).toBe(r.sim.stats.invocations);
      for (const line of summaries) {
        expect(emfViolations(line)).toEqual([]);
        expect(line).toMatchObject({ Service: 'dynamodb-opensearch-indexer', Index: h.index });
      }
      const total = (field: string): number =>
        summaries.reduce((sum, line) => sum + (line[field] as number), 0);
      expect(total('records')).toBe(t.records.length);
      const done = ['indexed', 'deleted', 'notFound', 'superseded'].map(total);
      expect(done.reduce((a, b) => a + b)).toBe(t.records.length);
      if (h.os) {
        const bulks = h.os.bulkRequests();
        expect(bulks.length).toBeGreaterThan(0);
        for (const b of bulks) {
          expect(b.status).toBe(200);
          expect(b.headers['content-type']).toMatch(/^application\/x-ndjson/);
          expect(b.body?.endsWith('\n')).toBe(true);
          expect(b.headers['x-amz-security-token']).toBe(h.credentials.sessionToken);
        }
        expect(r.sim.stats.invocations).toBe(1);
      }
    },
  },
  {
    name: 'exact numbers, sets, binary and nested values round trip; OpenSearch-rejected shapes are dead-lettered',
    faults: false,
    run: async (h) => {
      await h.createIndex({ mappings: { properties: { huge: { type: 'double' } } } });
      const t = new TableModel(MIXED_KEYS, { seed: 5 });
      const exact: Item = {
        tenant: { S: 'acme|1' },
        blob: { B: Buffer.from([0, 255, 16, 32]).toString('base64') },
        big: { N: '9007199254740993' },
        pi: { N: '3.14159265358979323846' },
        neg: { N: '-42' },
        tiny: { N: '1E-130' },
        huge: { N: '1E+30' },
        dec: { N: '-0.000123' },
        yes: { BOOL: true },
        no: { BOOL: false },
        nothing: { NULL: true },
        empty: { S: '' },
        unicode: { S: 'é 😀 "quoted" \\ \n' },
        bin: { B: 'AAECAwQ=' },
        ss: { SS: ['b', 'a', 'c'] },
        ns: { NS: ['10', '2.5', '-3', '9007199254740993'] },
        bs: { BS: ['AQI=', 'AwQ='] },
        m: {
          M: {
            inner: { M: { n: { N: '1.10' }, l: { L: [{ N: '1' }, { N: '2' }] } } },
            list: { L: [{ M: { a: { S: 'x' } } }, { M: { a: { S: 'y' } } }] },
          },
        },
        l: { L: [{ S: 'one' }, { S: 'two' }] },
        emptyList: { L: [] },
        emptyMap: { M: {} },
      };
      t.put(exact);
      t.tick();
      t.put({
        tenant: { S: 'acme|1' },
        blob: { B: 'AQ==' },
        mixed: { L: [{ N: '1' }, { S: 'two' }] },
      });
      t.put({ tenant: { S: 'acme|2' }, blob: { B: 'AQ==' }, unmapped: { N: '1E+30' } });
      const rejected = t.records.slice(1).map((r) => r.dynamodb!.SequenceNumber!);
      const r = await runStream(h, t.records, []);
      expectNoProblems(h, r);
      const doc = r.index.get(docIdOf(t.records[0]!));
      expect(doc?.rawSource).toContain('9007199254740993');
      expect(doc?.rawSource).toContain('3.14159265358979323846');
      expect(doc?.rawSource).toContain('1000000000000000000000000000000');
      const dead = h
        .deadLetters()
        .flatMap((d) =>
          d.letters.map((l) => (l.record as DynamoDBRecord).dynamodb!.SequenceNumber),
        );
      expect(dead.sort()).toEqual([...rejected].sort());
    },
  },
  {
    name: 'per-item 429/503 then success',
    faults: true,
    run: async (h) => {
      const t = busyTable(30, 2);
      const ids = t.records.filter((_r, i) => i % 4 === 0).map((r) => docIdOf(r));
      const r = await runStream(h, t.records, [], {
        arm: () => {
          h.standIn.faults
            .failItems({ ids, status: 429, times: 2 })
            .failItemsRandomly({ probability: 0.2, status: 'mixed', maxFailures: 15, seed: 3 });
        },
      });
      expectNoProblems(h, r);
      expect(h.standIn.items.filter((i) => i.status === 429).length).toBeGreaterThan(0);
      expect(h.deadLetters()).toEqual([]);
    },
  },
  {
    name: 'whole-request 503 and 429',
    faults: true,
    run: async (h) => {
      const t = busyTable(25, 3);
      const r = await runStream(h, t.records, [], {
        arm: () => {
          h.standIn.faults
            .failNextRequests(2, 503)
            .failNextRequests(2, 429)
            .failNextRequests(1, 502);
        },
      });
      expectNoProblems(h, r);
      expect(
        h.standIn.bulkRequests().filter((q) => q.status === 503 || q.status === 429).length,
      ).toBe(4);
      expect(h.deadLetters()).toEqual([]);
    },
  },
  {
    name: '403 for a while (IAM not yet propagated), then success',
    faults: true,
    run: async (h) => {
      const t = busyTable(20, 4);
      const r = await runStream(h, t.records, [], {
        esm: { retryDelayMs: 150 },
        arm: () => {
          h.standIn.faults.forbidFor(1500);
        },
      });
      expectNoProblems(h, r);
      expect(h.standIn.bulkRequests().some((q) => q.status === 403)).toBe(true);
      expect(h.deadLetters()).toEqual([]);
    },
  },
  {
    name: 'dropped connections before the body, after the body, and after the write was applied',
    faults: true,
    run: async (h) => {
      const t = busyTable(25, 5);
      const r = await runStream(h, t.records, [], {
        arm: () => {
          h.standIn.faults
            .dropConnections(1, 'before-body')
            .dropConnections(1, 'after-body')
            .dropConnections(2, 'after-apply');
        },
      });
      expectNoProblems(h, r);
      expect(h.standIn.requests.filter((q) => q.dropped).length).toBe(4);
      expect(h.deadLetters()).toEqual([]);
    },
  },
  {
    name: 'slow cluster near the deadline: no invocation runs past its deadline',
    faults: true,
    timeoutMs: 60_000,
    run: async (h) => {
      const t = busyTable(20, 6);
      const r = await runStream(h, t.records, [], {
        esm: { timeoutMs: 3000, batchSize: 10 },
        arm: () => {
          h.standIn.faults.slow(2600, 3);
        },
      });
      expectNoProblems(h, r);
      expect(r.sim.stats.maxDurationFraction).toBeLessThan(1);
    },
  },
  {
    name: 'poison items are dead-lettered with their content and the stream keeps moving',
    faults: true,
    run: async (h) => {
      const t = articleTable(7);
      for (let i = 0; i < 20; i++) {
        t.put({
          userId: { N: '8' },
          transactionId: { N: String(i) },
          shortDescription: { S: i % 6 === 1 ? 'poison pill' : `ok ${i}` },
        });
      }
      t.tick();
      // a poisoned item later fixed: the fix must win
      t.update(
        { userId: { N: '8' }, transactionId: { N: '1' } },
        { set: { shortDescription: { S: 'fixed' } } },
      );
      const poisoned = t.records.filter((r) =>
        JSON.stringify(r.dynamodb?.NewImage).includes('poison'),
      );
      const r = await runStream(h, t.records, [], {
        arm: () => {
          h.standIn.faults.poison((item) => item.rawSource?.includes('poison') ?? false);
        },
      });
      expectNoProblems(h, r);
      const dls = h.deadLetters();
      expect(
        dls
          .flatMap((d) => d.letters)
          .map((l) => (l.record as DynamoDBRecord).dynamodb!.SequenceNumber)
          .sort(),
      ).toEqual(poisoned.map((p) => p.dynamodb!.SequenceNumber).sort());
      for (const l of dls.flatMap((d) => d.letters))
        expect(l.errorType).toMatch(/mapper_parsing_exception/);
      expect(JSON.parse(r.index.get(docIdOf(t.records[1]!))!.rawSource)).toMatchObject({
        shortDescription: 'fixed',
      });
    },
  },
  {
    name: 'malformed records are dead-lettered, good records around them are indexed',
    faults: false,
    run: async (h) => {
      const t = articleTable(8);
      t.put(ARTICLE_ITEM);
      t.appendMalformed('no-dynamodb');
      t.put({ ...ARTICLE_ITEM, transactionId: { N: '60' } });
      t.appendMalformed('no-keys');
      t.appendMalformed('unknown-event-name');
      t.put({ ...ARTICLE_ITEM, transactionId: { N: '61' } });
      t.appendMalformed('insert-without-new-image');
      t.appendMalformed('bad-attribute-value');
      t.put({ ...ARTICLE_ITEM, transactionId: { N: '62' } });
      const r = await runStream(h, t.records, t.malformed);
      expectNoProblems(h, r);
      expect(r.index.size).toBe(4);
      expect(h.deadLetters().flatMap((d) => d.letters)).toHaveLength(5);
    },
  },
  {
    name: 'S3 down: rejected records are reported (not lost) and dead-lettered once S3 is back',
    faults: true,
    timeoutMs: 60_000,
    run: async (h) => {
      const t = articleTable(9);
      for (let i = 0; i < 12; i++)
        t.put({
          userId: { N: '9' },
          transactionId: { N: String(i) },
          shortDescription: { S: i % 4 === 0 ? 'poison' : `fine ${i}` },
        });
      t.appendMalformed('no-keys');
      const r = await runStream(h, t.records, t.malformed, {
        esm: { retryDelayMs: 100 },
        arm: () => {
          h.standIn.faults.poison((item) => item.rawSource?.includes('poison') ?? false);
          h.s3.failPutsFor(2500, 503);
        },
      });
      expectNoProblems(h, r);
      expect(h.s3.requests.some((q) => q.status === 503)).toBe(true);
      expect(r.sim.stats.partialFailures + r.sim.stats.wholeBatchFailures).toBeGreaterThan(0);
      expect(h.deadLetters().flatMap((d) => d.letters)).toHaveLength(4);
    },
  },
  {
    name: 'S3 fails the next PutObjects with 500: retried, nothing lost',
    faults: true,
    run: async (h) => {
      const t = articleTable(10);
      for (let i = 0; i < 6; i++)
        t.put({
          userId: { N: '10' },
          transactionId: { N: String(i) },
          shortDescription: { S: i % 2 === 0 ? 'poison' : 'fine' },
        });
      const r = await runStream(h, t.records, [], {
        arm: () => {
          h.standIn.faults.poison((item) => item.rawSource?.includes('poison') ?? false);
          h.s3.failNextPuts(5, 500);
        },
      });
      expectNoProblems(h, r);
      expect(h.deadLetters().flatMap((d) => d.letters)).toHaveLength(3);
    },
  },
  {
    name: 'a record too large for the cluster (HTTP 413 even alone) is dead-lettered, the rest is indexed',
    faults: true,
    run: async (h) => {
      const t = articleTable(21);
      for (let i = 0; i < 8; i++)
        t.put({
          userId: { N: '21' },
          transactionId: { N: String(i) },
          shortDescription: { S: i === 3 ? 'x'.repeat(20_000) : `small ${i}` },
        });
      const big = t.records[3]!.dynamodb!.SequenceNumber!;
      h.standIn.limits.maxPayloadBytes = 8 * 1024;
      try {
        const r = await runStream(h, t.records, [], { expectedDeadLetters: [big] });
        expectNoProblems(h, r);
        expect(h.standIn.requests.some((q) => q.status === 413)).toBe(true);
        const dead = h
          .deadLetters()
          .flatMap((d) =>
            d.letters.map((l) => (l.record as DynamoDBRecord).dynamodb!.SequenceNumber),
          );
        expect(dead).toEqual([big]);
        expect(r.index.size).toBe(7);
      } finally {
        h.standIn.limits.maxPayloadBytes = 10 * 1024 * 1024;
      }
    },
  },
  {
    name: 'REMOVE then re-INSERT of one item in one batch ends present',
    faults: false,
    run: async (h) => {
      const t = articleTable(11);
      const key = { userId: { N: '3' }, transactionId: { N: '51' } };
      t.put(ARTICLE_ITEM);
      t.delete(key);
      t.put({ ...ARTICLE_ITEM, shortDescription: { S: 'back again' } });
      t.delete(key);
      t.put({ ...ARTICLE_ITEM, shortDescription: { S: 'and again' } });
      // the same within separate batches of one record each
      const t2 = new TableModel(STRING_COMPOSITE, { seed: 12 });
      t2.put({ pk: { S: 'x' }, sk: { S: 'y' }, v: { N: '1' } });
      t2.delete({ pk: { S: 'x' }, sk: { S: 'y' } });
      t2.put({ pk: { S: 'x' }, sk: { S: 'y' }, v: { N: '2' } });
      const r = await runStream(h, t.records, []);
      expectNoProblems(h, r);
      expect(JSON.parse(r.index.get(docIdOf(t.records[0]!))!.rawSource)).toMatchObject({
        shortDescription: 'and again',
      });
      await h.newScenario();
      const r2 = await runStream(h, t2.records, [], { esm: { batchSize: 1 } });
      expectNoProblems(h, r2);
      expect(r2.index.size).toBe(1);
    },
  },
  {
    name: 'late re-delivery of old batches changes nothing',
    faults: false,
    run: async (h) => {
      const t = busyTable(30, 13);
      // several changes to one item within the same second
      for (let i = 0; i < 6; i++)
        t.update(
          { userId: { N: '1' }, transactionId: { N: '100' } },
          { set: { amount: { N: String(1000 + i) } } },
        );
      t.put({
        userId: { N: '1' },
        transactionId: { N: '105' },
        shortDescription: { S: 'rewritten' },
      });
      t.delete({ userId: { N: '2' }, transactionId: { N: '101' } });
      const r = await runStream(h, t.records, [], { esm: { batchSize: 7 } });
      expectNoProblems(h, r);
      const before = [...(await h.readIndex())].sort();
      const keysBefore = h.deadLetters().map((d) => d.key);
      const n = t.records.length;
      for (const [a, b] of [
        [0, 7],
        [7, 14],
        [0, n],
        [n - 5, n],
        [3, 9],
        [0, 1],
      ] as Array<[number, number]>) {
        const inv = await r.sim.redeliver(a, Math.min(b, n));
        expect([a, b, inv.outcome, inv.response]).toEqual([
          a,
          b,
          'success',
          { batchItemFailures: [] },
        ]);
      }
      const after = [...(await h.readIndex())].sort();
      expect(after).toEqual(before);
      expect(h.deadLetters().map((d) => d.key)).toEqual(keysBefore);
      expectNoProblems(h, { sim: r.sim, ...(await check(h, r.sim, [])) });
    },
  },
  {
    name: 'TTL deletes with TTL_DELETES=delete remove the document',
    faults: false,
    run: async (h) => {
      const t = articleTable(14);
      for (let i = 0; i < 5; i++) t.put({ ...ARTICLE_ITEM, transactionId: { N: String(200 + i) } });
      t.tick(3600);
      t.expire({ userId: { N: '3' }, transactionId: { N: '200' } });
      t.expire({ userId: { N: '3' }, transactionId: { N: '201' } });
      t.delete({ userId: { N: '3' }, transactionId: { N: '202' } });
      const r = await runStream(h, t.records, [], { env: { TTL_DELETES: 'delete' } });
      expectNoProblems(h, r);
      expect(r.index.size).toBe(2);
    },
  },
  {
    name: 'TTL deletes with TTL_DELETES=ignore keep the document (user deletes still delete)',
    faults: false,
    run: async (h) => {
      const t = articleTable(15);
      for (let i = 0; i < 5; i++) t.put({ ...ARTICLE_ITEM, transactionId: { N: String(300 + i) } });
      t.tick(3600);
      t.expire({ userId: { N: '3' }, transactionId: { N: '300' } });
      t.expire({ userId: { N: '3' }, transactionId: { N: '301' } });
      t.delete({ userId: { N: '3' }, transactionId: { N: '302' } });
      t.tick();
      // re-created after expiry: the new item wins
      t.put({ ...ARTICLE_ITEM, transactionId: { N: '301' }, shortDescription: { S: 'reborn' } });
      const r = await runStream(h, t.records, [], { env: { TTL_DELETES: 'ignore' } });
      expectNoProblems(h, r);
      expect(r.index.size).toBe(4);
    },
  },
  {
    name: 'gzip request bodies (BULK_COMPRESSION=gzip), signed over the compressed bytes',
    faults: false,
    run: async (h) => {
      const t = busyTable(40, 16);
      const r = await runStream(h, t.records, [], { env: { BULK_COMPRESSION: 'gzip' } });
      expectNoProblems(h, r);
      if (h.os) {
        const bulks = h.os.bulkRequests();
        expect(bulks.length).toBeGreaterThan(0);
        for (const b of bulks) {
          expect(b.gzip).toBe(true);
          expect(b.status).toBe(200);
          expect(b.rawBodyBytes).toBeLessThan(b.bodyBytes);
        }
      }
    },
  },
  {
    name: 'BULK_MAX_BYTES bounds every bulk request',
    faults: false,
    run: async (h) => {
      const t = busyTable(40, 17);
      const r = await runStream(h, t.records, [], {
        env: { BULK_MAX_BYTES: '2048' },
        esm: { batchSize: 40 },
      });
      expectNoProblems(h, r);
      if (h.os) {
        const bulks = h.os.bulkRequests();
        expect(bulks.length).toBeGreaterThan(2);
        for (const b of bulks) expect(b.bodyBytes).toBeLessThanOrEqual(2048);
      }
    },
  },
  {
    name: 'document ids: composite keys never collide, long keys are hashed under 512 bytes',
    faults: false,
    run: async (h) => {
      const t = articleTable(18);
      t.put({ userId: { N: '1' }, transactionId: { N: '23' }, shortDescription: { S: '1/23' } });
      t.put({ userId: { N: '12' }, transactionId: { N: '3' }, shortDescription: { S: '12/3' } });
      t.put({
        userId: { N: '-1' },
        transactionId: { N: '0.5' },
        shortDescription: { S: 'odd numbers' },
      });
      const s = new TableModel(STRING_COMPOSITE, { seed: 19 });
      for (const [pk, sk] of [
        ['a|b', 'c'],
        ['a', 'b|c'],
        ['a\\', '|c'],
        ['', 'x'],
        ['x'.repeat(600), 'y'],
        ['x'.repeat(600), 'z'],
        ['é'.repeat(300), 'ü'],
      ] as Array<[string, string]>) {
        if (pk === '') continue; // DynamoDB refuses empty key strings
        s.put({ pk: { S: pk }, sk: { S: sk }, v: { S: `${pk.slice(0, 5)}/${sk}` } });
      }
      const r = await runStream(h, t.records, []);
      expectNoProblems(h, r);
      expect(r.index.size).toBe(3);
      await h.newScenario();
      const r2 = await runStream(h, s.records, []);
      expectNoProblems(h, r2);
      expect(r2.index.size).toBe(6);
      for (const id of r2.index.keys()) expect(Buffer.byteLength(id)).toBeLessThanOrEqual(512);
    },
  },
  {
    name: 'OPENSEARCH_VERSIONING=off sends no versions and stays correct for in-order delivery',
    faults: false,
    run: async (h) => {
      const t = busyTable(20, 20);
      const r = await runStream(h, t.records, [], { env: { OPENSEARCH_VERSIONING: 'off' } });
      expectNoProblems(h, r);
      if (h.os) {
        for (const b of h.os.bulkRequests()) expect(b.body).not.toMatch(/"version"/);
      }
    },
  },
];

import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { EsmSimulator, type StreamHandler } from '../support/esm-simulator';
import { TableModel, STRING_COMPOSITE } from '../support/table-model';

function shard(n: number): DynamoDBRecord[] {
  const t = new TableModel(STRING_COMPOSITE, { seed: 11 });
  for (let i = 0; i < n; i++) t.put({ pk: { S: `p${i}` }, sk: { S: 's' }, i: { N: String(i) } });
  return t.records;
}
const seq = (r: DynamoDBRecord | undefined): string => r!.dynamodb!.SequenceNumber!;
const idx = (e: DynamoDBStreamEvent): number[] =>
  e.Records.map((r) => Number(r.dynamodb!.NewImage!['i']!.N));

describe('EsmSimulator', () => {
  test('in-order batches from the checkpoint, success variants', async () => {
    const seen: number[][] = [];
    const responses: unknown[] = [
      undefined,
      null,
      { batchItemFailures: [] },
      { batchItemFailures: null },
    ];
    let call = 0;
    const sim = new EsmSimulator(
      async (e) => {
        seen.push(idx(e));
        return responses[call++ % responses.length];
      },
      { batchSize: 3 },
    );
    sim.append(shard(10));
    const stats = await sim.runToEnd();
    expect(seen).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
    expect(stats).toMatchObject({
      invocations: 4,
      successes: 4,
      retries: 0,
      deadlineViolations: 0,
      recordsDiscarded: 0,
    });
    expect(sim.done).toBe(true);
  });

  test('partial failure checkpoints at the lowest reported identifier and re-delivers from there', async () => {
    const seen: number[][] = [];
    let first = true;
    const sim = new EsmSimulator(
      async (e) => {
        seen.push(idx(e));
        if (first) {
          first = false;
          return {
            batchItemFailures: [
              { itemIdentifier: seq(e.Records[3]) },
              { itemIdentifier: seq(e.Records[1]) },
            ],
          };
        }
        return { batchItemFailures: [] };
      },
      { batchSize: 4 },
    );
    sim.append(shard(8));
    await sim.runToEnd();
    expect(seen).toEqual([
      [0, 1, 2, 3],
      [1, 2, 3, 4],
      [5, 6, 7],
    ]);
    expect(sim.stats).toMatchObject({ partialFailures: 1, retries: 1 });
  });

  test.each([
    ['empty-string identifier', () => ({ batchItemFailures: [{ itemIdentifier: '' }] })],
    ['null identifier', () => ({ batchItemFailures: [{ itemIdentifier: null }] })],
    ['missing identifier', () => ({ batchItemFailures: [{}] })],
    [
      'wrongly named key',
      (e: DynamoDBStreamEvent) => ({ batchItemFailures: [{ itemIdentifer: seq(e.Records[1]) }] }),
    ],
    ['identifier not in the batch', () => ({ batchItemFailures: [{ itemIdentifier: '1' }] })],
    ['batchItemFailures not a list', () => ({ batchItemFailures: 'x' })],
  ])('%s fails the whole batch', async (_name, bad) => {
    const seen: number[][] = [];
    let first = true;
    const sim = new EsmSimulator(
      async (e) => {
        seen.push(idx(e));
        if (first) {
          first = false;
          return (bad as (e: DynamoDBStreamEvent) => unknown)(e);
        }
        return {};
      },
      { batchSize: 3 },
    );
    sim.append(shard(3));
    await sim.runToEnd();
    expect(seen).toEqual([
      [0, 1, 2],
      [0, 1, 2],
    ]);
    expect(sim.stats).toMatchObject({ invalidResponses: 1, wholeBatchFailures: 1 });
  });

  test('thrown errors retry until maximumRetryAttempts, then go to the on-failure list and the stream moves on', async () => {
    const seen: number[][] = [];
    const sim = new EsmSimulator(
      async (e) => {
        seen.push(idx(e));
        if (idx(e).includes(1)) throw new Error('boom');
        return {};
      },
      { batchSize: 2, maximumRetryAttempts: 2 },
    );
    sim.append(shard(4));
    await sim.runToEnd();
    expect(seen).toEqual([
      [0, 1],
      [0, 1],
      [0, 1],
      [2, 3],
    ]);
    expect(sim.onFailure).toHaveLength(1);
    expect(sim.onFailure[0]!.records.map((r) => r.dynamodb!.NewImage!['i']!.N)).toEqual(['0', '1']);
    expect(sim.stats).toMatchObject({ thrown: 3, recordsDiscarded: 2 });
  });

  test('bisect isolates a poison record', async () => {
    const seen: number[][] = [];
    const sim = new EsmSimulator(
      async (e) => {
        seen.push(idx(e));
        if (idx(e).includes(5)) throw new Error('poison');
        return {};
      },
      { batchSize: 8, maximumRetryAttempts: 1, bisectBatchOnFunctionError: true },
    );
    sim.append(shard(8));
    await sim.runToEnd();
    expect(seen).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7],
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [4, 5],
      [4],
      [5],
      [5],
      [6, 7],
    ]);
    expect(sim.onFailure.map((f) => f.records.length)).toEqual([1]);
    expect(sim.done).toBe(true);
  });

  test('timeouts are failures and deadline violations; the context deadline is real', async () => {
    const remaining: number[] = [];
    let calls = 0;
    let reloads = 0;
    const slow: StreamHandler = async (_e, ctx: Context) => {
      remaining.push(ctx.getRemainingTimeInMillis());
      calls++;
      if (calls === 1) await new Promise((r) => setTimeout(r, 400));
      return {};
    };
    const sim = new EsmSimulator(slow, {
      batchSize: 5,
      timeoutMs: 150,
      reloadHandler: () => {
        reloads++;
        return slow;
      },
    });
    sim.append(shard(2));
    await sim.runToEnd();
    expect(sim.stats).toMatchObject({
      timeouts: 1,
      deadlineViolations: 1,
      invocations: 2,
      successes: 1,
    });
    expect(reloads).toBe(1);
    expect(remaining[0]).toBeGreaterThan(100);
    expect(remaining[0]).toBeLessThanOrEqual(150);
  });

  test('hard bound on invocations', async () => {
    const sim = new EsmSimulator(
      async () => {
        throw new Error('always');
      },
      { batchSize: 1, maximumRetryAttempts: 1000, maxInvocations: 7 },
    );
    sim.append(shard(2));
    await sim.runToEnd();
    expect(sim.stats).toMatchObject({ invocations: 7, hitInvocationBound: true });
    expect(sim.done).toBe(false);
  });

  test('late re-delivery of an old slice does not move the checkpoint', async () => {
    const seen: number[][] = [];
    const sim = new EsmSimulator(
      async (e) => {
        seen.push(idx(e));
        return {};
      },
      { batchSize: 10 },
    );
    sim.append(shard(5));
    await sim.runToEnd();
    const inv = await sim.redeliver(1, 3);
    expect(inv).toMatchObject({ late: true, outcome: 'success' });
    expect(seen).toEqual([
      [0, 1, 2, 3, 4],
      [1, 2],
    ]);
    expect(sim.checkpoint).toBe(5);
    await expect(sim.redeliver(3, 6)).rejects.toThrow();
  });
});

/**
 * Adversarial streams at the edges of the versioning scheme (lib/versions.ts).
 *
 * The same-second 2^31 wrap is handled (a 409 quoting the stored version is compared as a serial
 * number and the newer change re-sent), so its tests run by default. The gc_deletes probe shows a
 * documented OpenSearch limit the indexer cannot close; it is opt-in (E2E_PROBES=1) and reported,
 * not gated on.
 * Run: E2E_PROBES=1 npx jest tests/e2e/indexer-probes.test.ts
 */
import { E2eHarness, resolveTarget } from '../support/harness';
import { TableModel, USERS_TRANSACTIONS } from '../support/table-model';
import { expectNoProblems, runStream } from './scenarios';

const enabled = process.env['E2E_PROBES'] === '1';
const target = resolveTarget('source');
if (!enabled)
  console.warn('[e2e probes] skipped: set E2E_PROBES=1 to run the residual-window probes');
const suite = enabled ? describe : describe.skip;

describe('same-second changes across a 2^31 tiebreak wrap (source)', () => {
  let h: E2eHarness;
  beforeAll(async () => {
    h = await E2eHarness.start({ target });
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(async () => {
    await h.newScenario();
  });

  // 2^31 * 200000000000 is a 21-digit sequence number; the step of 3 puts the INSERT just below
  // the boundary and the MODIFY just above it, in the same second: the MODIFY's plain version is
  // LOWER than the INSERT's.
  const straddling = (): TableModel => {
    const t = new TableModel(USERS_TRANSACTIONS, {
      seed: 1,
      sequenceStart: 2n ** 31n * 200_000_000_000n - 2n,
      sequenceStep: 3n,
    });
    t.put({ userId: { N: '3' }, transactionId: { N: '51' }, amount: { N: '11' } });
    t.update({ userId: { N: '3' }, transactionId: { N: '51' } }, { set: { amount: { N: '12' } } });
    return t;
  };

  test('the newer change still lands', async () => {
    const t = straddling();
    const r = await runStream(h, t.records, [], { esm: { batchSize: 1 } });
    expectNoProblems(h, r);
  });

  test('both changes in one batch, then a late re-delivery of the older one alone, changes nothing', async () => {
    const t = straddling();
    const r = await runStream(h, t.records, [], { esm: { batchSize: 10 } });
    expectNoProblems(h, r);
    const before = await h.readIndex();
    await r.sim.redeliver(0, 1);
    expect(await h.readIndex()).toEqual(before);
  });

  test('a late re-delivery of the older change changes nothing', async () => {
    const t = straddling();
    const r = await runStream(h, t.records, [], { esm: { batchSize: 1 } });
    expectNoProblems(h, r);
    const before = await h.readIndex();
    await r.sim.redeliver(0, 1);
    expect(await h.readIndex()).toEqual(before);
  });
});

suite('residual-window probes (source)', () => {
  let h: E2eHarness;
  beforeAll(async () => {
    h = await E2eHarness.start({ target });
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(async () => {
    await h.newScenario();
  });

  test('a late re-delivery of an INSERT after its delete tombstone was garbage-collected (gc_deletes)', async () => {
    await h.createIndex({ settings: { index: { gc_deletes: '200ms' } } });
    const t = new TableModel(USERS_TRANSACTIONS, { seed: 2 });
    t.put({ userId: { N: '1' }, transactionId: { N: '1' }, v: { S: 'created' } });
    t.tick();
    t.delete({ userId: { N: '1' }, transactionId: { N: '1' } });
    const r = await runStream(h, t.records, []);
    expectNoProblems(h, r);
    await new Promise((res) => setTimeout(res, 300));
    await r.sim.redeliver(0, 1);
    expect([...(await h.readIndex()).keys()]).toEqual([]);
  });
});

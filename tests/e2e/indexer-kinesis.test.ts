/**
 * The Kinesis path end to end (kinesis-scenarios.ts), against handler.ts and against the
 * packaged handler.js in .serverless/indexer.zip (skipped, with a message, when it cannot be
 * built outside CI; see packaged.ts).
 * Run: npx jest tests/e2e/indexer-kinesis.test.ts
 */
import { E2eHarness, resolveTarget, type Target } from '../support/harness';
import { kinesisScenarios } from './kinesis-scenarios';

describe.each<Target>(['source', 'packaged'])('Kinesis end to end (%s)', (name) => {
  const target = resolveTarget(name);
  if (!target.available) {
    console.warn(`[e2e kinesis ${name}] ${target.reason}`);
    it.skip(`${name}: ${target.reason?.split('\n')[0]}`, () => undefined);
    return;
  }
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
  for (const s of kinesisScenarios) {
    test(s.name, () => s.run(h), s.timeoutMs ?? 30_000);
  }
});

/**
 * End-to-end scenarios against handler.ts (through jest's transform).
 * Run: npx jest tests/e2e/indexer-source.test.ts
 */
import { E2eHarness, resolveTarget } from '../support/harness';
import { scenarios } from './scenarios';

const target = resolveTarget('source');
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

describe('indexer end to end (source)', () => {
  for (const s of scenarios) {
    test(s.name, () => s.run(h), s.timeoutMs ?? 30_000);
  }
});

/**
 * End-to-end scenarios against the PACKAGED handler: handler.js inside .serverless/indexer.zip.
 * The package is built with `npx serverless package` when it is missing or E2E_PACKAGE=1.
 * Run: npx jest tests/e2e/indexer-packaged.test.ts   (E2E_PACKAGE=1 to rebuild first)
 */
import { E2eHarness, resolveTarget } from '../support/harness';
import { scenarios } from './scenarios';

const target = resolveTarget('packaged');
if (!target.available) console.warn(`[e2e packaged] ${target.reason}`);
const suite = target.available ? describe : describe.skip;

suite(
  `indexer end to end (packaged${target.available ? `: ${target.handlerPath}` : ` — ${target.reason?.split('\n')[0]}`})`,
  () => {
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
    for (const s of scenarios) {
      test(s.name, () => s.run(h), s.timeoutMs ?? 30_000);
    }
  },
);

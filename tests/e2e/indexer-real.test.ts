/**
 * The same scenarios against a REAL OpenSearch cluster, when OPENSEARCH_URL is set (a loopback
 * URL, e.g. a local OpenSearch container at http://127.0.0.1:9200, security plugin off). No fault
 * injection; OPENSEARCH_AUTH=none; a unique index per scenario, deleted afterwards. Dead letters
 * still go to the local S3 stand-in.
 * Run: OPENSEARCH_URL=http://127.0.0.1:9200 npx jest tests/e2e/indexer-real.test.ts
 */
import { E2eHarness, resolveTarget } from '../support/harness';
import { scenarios } from './scenarios';

const target = resolveTarget('real');
if (!target.available) console.warn(`[e2e real] ${target.reason}`);
const suite = target.available ? describe : describe.skip;

suite(
  `indexer end to end (real cluster${target.available ? ` at ${target.realUrl}` : ` — ${target.reason}`})`,
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
    for (const s of scenarios.filter((x) => !x.faults)) {
      test(s.name, () => s.run(h), s.timeoutMs ?? 60_000);
    }
  },
);

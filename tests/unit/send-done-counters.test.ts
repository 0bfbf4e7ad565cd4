/**
 * lib/send.ts counts every "done" item under the ledger counter of its label. A row of the outcome
 * table (lib/bulk.ts ITEM_RULES) that says "done" for a label without a counter is a bug in the
 * table; it must fail the batch loudly (Lambda retries and bisects it) rather than count the
 * record as done under no counter. The table's real rows never do this, so the classification is
 * replaced here by one that does.
 */
import type { ItemVerdict } from '../../lib/bulk';
import { processBatch } from '../../lib/process-batch';
import {
  batchConfig,
  captureLogger,
  fakeDeadLetters,
  fakeSearch,
  streamRecord,
  virtualTime,
} from './factories';

jest.mock('../../lib/bulk', () => ({
  ...jest.requireActual<object>('../../lib/bulk'),
  classifyItem: (): ItemVerdict => ({ outcome: 'done', label: 'blocked' }),
}));

describe('sendUntilDone with an outcome table row that is done without a counter', () => {
  it('fails the batch, naming the label', async () => {
    // Prepare
    const time = virtualTime();

    // Act
    const outcome = processBatch([streamRecord()], {
      config: batchConfig(),
      search: fakeSearch().search,
      deadLetters: fakeDeadLetters().sink,
      logger: captureLogger().logger,
      remainingMs: time.remainingMs,
      sleep: time.sleep,
      random: time.random,
      clock: time.clock,
    });

    // Assert
    await expect(outcome).rejects.toThrow(new Error('no counter for done label blocked'));
  });
});

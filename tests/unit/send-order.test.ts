/**
 * Retries keep stream order (lib/send.ts): chunks of one round may go out concurrently and finish
 * in any order, and the next round must still send the records it retries in batch order, so
 * the earliest record is never starved behind later ones and logs read in stream order.
 */
import { processBatch, type BatchDependencies } from '../../lib/process-batch';
import {
  batchConfig,
  captureLogger,
  fakeDeadLetters,
  fakeSearch,
  sequenceNumber,
  streamRecord,
  transactionKeys,
  virtualTime,
} from './factories';

describe('sendUntilDone, retries after concurrent chunks', () => {
  it('re-sends the retried records in stream order even when later chunks answered first', async () => {
    // Prepare: one record per chunk, two chunks in flight, the earlier chunk always answers last,
    // and every record is throttled once.
    const records = Array.from({ length: 4 }, (_, n) =>
      streamRecord({ keys: transactionKeys(5, n), sequenceNumber: sequenceNumber(n + 1) }),
    );
    const fake = fakeSearch({
      item: (_action, attempt) => (attempt === 1 ? 429 : 201),
      delay: async (call) => {
        const first = Number(call.actions[0]?.id.split('|')[1]);
        await new Promise((resolve) => setTimeout(resolve, first % 2 === 0 ? 20 : 1));
      },
    });
    const time = virtualTime(60_000);
    const deps: BatchDependencies = {
      config: batchConfig({ bulkConcurrency: 2, bulkMaxBytes: 1 }),
      search: fake.search,
      deadLetters: fakeDeadLetters().sink,
      logger: captureLogger('debug').logger,
      remainingMs: time.remainingMs,
      sleep: time.sleep,
      random: time.random,
      clock: time.clock,
    };

    // Act
    await processBatch(records, deps);

    // Assert: the first round finished 1 before 0 and 3 before 2; the second round starts in order.
    const rounds = fake.calls.map((call) => call.actions.map((a) => a.id));
    expect(rounds.slice(0, 4).flat()).toEqual(['5|0', '5|1', '5|2', '5|3']);
    expect(rounds.slice(4).flat()).toEqual(['5|0', '5|1', '5|2', '5|3']);
  });
});

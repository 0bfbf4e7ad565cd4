/**
 * The 'batch processed' line's `ms` (lib/process-batch.ts) is the time from the batch's start to
 * its end on the injected clock, whatever the clock's origin.
 */
import { processBatch } from '../../lib/process-batch';
import {
  batchConfig,
  captureLogger,
  fakeDeadLetters,
  fakeSearch,
  streamRecord,
  virtualTime,
} from './factories';

describe('processBatch, the duration in the summary', () => {
  it('is the time between the start and the end of the batch, including retry waits', async () => {
    // Prepare: the clock does not start at 0; one 503 costs a 75 ms wait (base 100, random 0.5).
    const time = virtualTime();
    const logs = captureLogger();

    // Act
    const { summary } = await processBatch([streamRecord()], {
      config: batchConfig({ retryBaseMs: 100 }),
      search: fakeSearch({ item: (_a, attempt) => (attempt === 1 ? 503 : 201) }).search,
      deadLetters: fakeDeadLetters().sink,
      logger: logs.logger,
      remainingMs: time.remainingMs,
      sleep: time.sleep,
      random: time.random,
      clock: () => 1_700_000_000_000 + time.elapsed(),
    });

    // Assert
    expect(summary.ms).toBe(75);
    expect(logs.find('batch processed')).toMatchObject({ ms: 75 });
  });
});

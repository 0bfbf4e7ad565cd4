/**
 * Dead letters in lib/process-batch.ts: a write may use the time up to half the bulk margin
 * before Lambda's deadline (keeping a rejected record is worth more than one more bulk retry),
 * and a write that cannot be made leaves the record failed with the write's error in the log.
 */
import { DeadLetterWriteError } from '../../lib/errors';
import { processBatch, type BatchDependencies } from '../../lib/process-batch';
import {
  batchConfig,
  captureLogger,
  fakeDeadLetters,
  fakeSearch,
  item,
  sequenceNumber,
  streamRecord,
  virtualTime,
  type CapturedLogs,
  type FakeDeadLetters,
} from './factories';

function deps(
  deadLetters: FakeDeadLetters,
  logs: CapturedLogs,
  budgetMs: number,
): BatchDependencies {
  const time = virtualTime(budgetMs);
  return {
    config: batchConfig({ deadlineMarginMs: 1_000, requestTimeoutMs: 10_000 }),
    search: fakeSearch({ item: () => item(400, 'mapper_parsing_exception') }).search,
    deadLetters: deadLetters.sink,
    logger: logs.logger,
    remainingMs: time.remainingMs,
    sleep: time.sleep,
    random: time.random,
    clock: time.clock,
  };
}

describe('processBatch, dead-letter writes', () => {
  it('gives a dead-letter write the time up to half the margin before the deadline', async () => {
    // Prepare: 3 s left, a 1 s margin for bulk requests, so 500 ms for dead letters.
    const deadLetters = fakeDeadLetters();

    // Act
    await processBatch([streamRecord()], deps(deadLetters, captureLogger(), 3_000));

    // Assert
    expect(deadLetters.write.mock.calls.map(([, timeoutMs]) => timeoutMs)).toEqual([2_500]);
  });

  it('logs the error of the last failed write with the record it could not keep', async () => {
    // Prepare
    const deadLetters = fakeDeadLetters(() => new DeadLetterWriteError(503, 'SlowDown'));
    const logs = captureLogger();

    // Act
    const { response } = await processBatch([streamRecord()], deps(deadLetters, logs, 60_000));

    // Assert
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: sequenceNumber(1) }]);
    expect(logs.find('dead-letter write failed')).toMatchObject({
      level: 'error',
      key: '3|51',
      sequenceNumber: sequenceNumber(1),
      eventName: 'INSERT',
      errorType: 'mapper_parsing_exception; dead-letter write failed',
      error: 'DeadLetterWriteError: dead-letter write failed with HTTP 503: SlowDown',
    });
  });
});

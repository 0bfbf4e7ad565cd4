/**
 * What an operator reads when records are not done (lib/send.ts): the retry and out-of-time
 * warnings name what is pending, the attempt and the last request error; a record left for
 * Lambda names why; a record set aside after a lone 413 says how large it was.
 */
import { BulkRequestError } from '../../lib/errors';
import { MIN_REQUEST_MS, processBatch, type BatchDependencies } from '../../lib/process-batch';
import {
  batchConfig,
  captureLogger,
  fakeDeadLetters,
  fakeSearch,
  item,
  streamRecord,
  virtualTime,
  type CapturedLogs,
  type FakeDeadLetters,
  type FakeSearch,
  type FakeSearchOptions,
} from './factories';

const MARGIN_MS = 1_000;
const UNAVAILABLE = 'BulkRequestError: bulk request failed with HTTP 503: unavailable';

interface Setup {
  readonly fake: FakeSearch;
  readonly deadLetters: FakeDeadLetters;
  readonly logs: CapturedLogs;
  readonly deps: BatchDependencies;
}

/** Retry waits of 75, 150, 300... ms (random() is 0.5, base 100 ms) on a virtual clock. */
function setup(search: FakeSearchOptions, budgetMs: number): Setup {
  const fake = fakeSearch(search);
  const deadLetters = fakeDeadLetters();
  const logs = captureLogger('debug');
  const time = virtualTime(budgetMs);
  const deps: BatchDependencies = {
    config: batchConfig({ retryBaseMs: 100, deadlineMarginMs: MARGIN_MS }),
    search: fake.search,
    deadLetters: deadLetters.sink,
    logger: logs.logger,
    remainingMs: time.remainingMs,
    sleep: time.sleep,
    random: time.random,
    clock: time.clock,
  };
  return { fake, deadLetters, logs, deps };
}

describe('sendUntilDone, what the logs tell an operator', () => {
  it('names the pending operations, the attempt, the wait and the last error when it retries, and when it runs out of time', async () => {
    // Prepare: room for a request, a 75 ms wait, a second request, but not for a 150 ms wait.
    const s = setup(
      { request: () => new BulkRequestError(503, 'unavailable') },
      MARGIN_MS + MIN_REQUEST_MS + 100,
    );

    // Act
    const { summary } = await processBatch([streamRecord()], s.deps);

    // Assert
    expect(s.fake.calls).toHaveLength(2);
    expect(s.logs.all('retrying bulk operations')).toEqual([
      expect.objectContaining({
        level: 'warn',
        pending: 1,
        attempt: 1,
        delayMs: 75,
        lastError: UNAVAILABLE,
      }),
    ]);
    expect(s.logs.find('out of time: leaving operations for Lambda to re-deliver')).toMatchObject({
      level: 'warn',
      pending: 1,
      attempts: 2,
      lastError: UNAVAILABLE,
    });
    expect(summary).toMatchObject({ retried: 1, requests: 2, failed: 1 });
  });

  it.each([
    ['a failed request', { request: () => new BulkRequestError(503, 'unavailable') }, UNAVAILABLE],
    ['an item answered 503 without an error type', { item: () => item(503) }, 'HTTP 503'],
    [
      'an item answered 429 with an error type',
      { item: () => item(429, 'es_rejected_execution_exception') },
      'es_rejected_execution_exception',
    ],
  ])(
    'gives a record left for Lambda after %s the reason it is not done',
    async (_label, search, errorType) => {
      // Prepare
      const s = setup(search, MARGIN_MS + MIN_REQUEST_MS);

      // Act
      const { response } = await processBatch([streamRecord()], s.deps);

      // Assert
      expect(response.batchItemFailures).toHaveLength(1);
      expect(s.logs.find('record not done')).toMatchObject({ errorType });
    },
  );

  it('dead-letters a record answered 413 on its own with its size in the reason', async () => {
    // Prepare
    const s = setup({ request: () => new BulkRequestError(413, 'Request size exceeded') }, 60_000);

    // Act
    const { response } = await processBatch([streamRecord()], s.deps);

    // Assert
    const bytes = Buffer.byteLength(s.fake.calls[0]?.body ?? '', 'utf8');
    expect(response.batchItemFailures).toEqual([]);
    expect(s.deadLetters.letters).toEqual([
      expect.objectContaining({
        errorType: 'request_entity_too_large',
        reason: `a bulk request with only this record (${bytes} bytes) was answered 413`,
      }),
    ]);
  });
});

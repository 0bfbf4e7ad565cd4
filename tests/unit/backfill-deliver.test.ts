import { deliverUntilDone } from '../../lib/backfill/deliver';
import { scanVersion } from '../../lib/sources/scan';
import { batchConfig, captureLogger, fakeSearch, ok } from './factories';

const record = (n: number) => ({
  table: 'T',
  keys: { userId: { N: String(n) }, transactionId: { N: '1' } },
  item: { userId: { N: String(n) }, transactionId: { N: '1' } },
  version: scanVersion(1_764_000_000_000, 5),
});

describe('deliverUntilDone', () => {
  it('sends again only the records not done, and sums the counters of every call', async () => {
    // Prepare: record 2 is refused (400, no dead-letter store) on its first two attempts.
    const { search, calls } = fakeSearch({
      item: (action, attempt) => (action.id.startsWith('2') && attempt <= 2 ? 400 : ok(action)),
    });
    const delays: number[] = [];

    // Act
    const result = await deliverUntilDone([record(1), record(2), record(3)], {
      batch: {
        config: batchConfig({ retryBaseMs: 1, retryMaxMs: 1 }),
        search,
        deadLetters: undefined,
        logger: captureLogger('error').logger,
      },
      callBudgetMs: () => 60_000,
      policy: { baseMs: 100, maxMs: 1000 },
      mayRetry: (delay) => {
        delays.push(delay);
        return true;
      },
      sleep: async () => undefined,
      random: () => 0,
      clock: () => 0,
    });

    // Assert
    expect(calls.map((c) => c.actions.map((a) => a.id))).toEqual([
      ['1|1', '2|1', '3|1'],
      ['2|1'],
      ['2|1'],
    ]);
    expect(delays).toEqual([50, 100]);
    expect(result).toMatchObject({
      done: true,
      summary: { records: 3, indexed: 3, failed: 0, requests: 3 },
    });
  });

  it('reports what is still not done when it stops', async () => {
    const { search } = fakeSearch({
      item: (action) => (action.id.startsWith('1') ? ok(action) : 400),
    });

    const result = await deliverUntilDone([record(1), record(2), record(3)], {
      batch: {
        config: batchConfig({ retryBaseMs: 1, retryMaxMs: 1 }),
        search,
        deadLetters: undefined,
        logger: captureLogger('error').logger,
      },
      callBudgetMs: () => 60_000,
      policy: { baseMs: 100, maxMs: 1000 },
      mayRetry: () => false,
      sleep: async () => undefined,
      random: () => 0,
      clock: () => 0,
    });

    expect(result).toMatchObject({ done: false, summary: { records: 3, indexed: 1, failed: 2 } });
  });

  it('gives each call of the core the call budget as its deadline', async () => {
    // Prepare: 3 s per call, 1 s margin: a bulk request may take 2 s, not REQUEST_TIMEOUT_MS.
    const { search, calls } = fakeSearch();

    // Act
    await deliverUntilDone([record(1)], {
      batch: {
        config: batchConfig({ requestTimeoutMs: 10_000, deadlineMarginMs: 1_000 }),
        search,
        deadLetters: undefined,
        logger: captureLogger('error').logger,
      },
      callBudgetMs: () => 3_000,
      policy: { baseMs: 100, maxMs: 1000 },
      mayRetry: () => true,
      sleep: async () => undefined,
      random: () => 0,
      clock: () => 1_764_000_000_000,
    });

    // Assert
    expect(calls.map((c) => c.timeoutMs)).toEqual([2_000]);
  });

  it('warns before each further call with what is pending, the attempt and the wait', async () => {
    // Prepare: record 2 is refused (400, no dead-letter store) on its first attempt.
    const { search } = fakeSearch({
      item: (action, attempt) => (action.id.startsWith('2') && attempt === 1 ? 400 : ok(action)),
    });
    const logs = captureLogger('warn');

    // Act
    await deliverUntilDone([record(1), record(2)], {
      batch: {
        config: batchConfig({ retryBaseMs: 1, retryMaxMs: 1 }),
        search,
        deadLetters: undefined,
        logger: logs.logger,
      },
      callBudgetMs: () => 60_000,
      policy: { baseMs: 100, maxMs: 1000 },
      mayRetry: () => true,
      sleep: async () => undefined,
      random: () => 0,
      clock: () => 0,
    });

    // Assert
    expect(logs.all('backfill: records not done yet, trying again')).toEqual([
      expect.objectContaining({ pending: 1, attempt: 1, delayMs: 50 }),
    ]);
  });

  it('is done at once for an empty page, without calling the core', async () => {
    const { search } = fakeSearch();
    const logs = captureLogger('debug');

    const result = await deliverUntilDone([], {
      batch: {
        config: batchConfig(),
        search,
        deadLetters: undefined,
        logger: logs.logger,
      },
      callBudgetMs: () => 60_000,
      policy: { baseMs: 100, maxMs: 1000 },
      mayRetry: () => true,
      sleep: async () => undefined,
      random: () => 0,
      clock: () => 0,
    });

    expect(result).toMatchObject({ done: true, summary: { records: 0 } });
    expect(search.bulk).not.toHaveBeenCalled();
    expect(logs.lines).toEqual([]);
  });
});

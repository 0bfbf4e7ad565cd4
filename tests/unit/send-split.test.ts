/**
 * A 413 (lib/send.ts) means the cluster's HTTP limit is below BULK_MAX_BYTES: the chunk is halved
 * at once, the first half holding the odd record, and each half is sent in stream order.
 */
import { BulkRequestError } from '../../lib/errors';
import { processBatch } from '../../lib/process-batch';
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

describe('sendUntilDone after a 413', () => {
  it.each([
    [3, [['1|1', '1|2', '1|3'], ['1|1', '1|2'], ['1|3']]],
    [
      5,
      [
        ['1|1', '1|2', '1|3', '1|4', '1|5'],
        ['1|1', '1|2', '1|3'],
        ['1|1', '1|2'],
        ['1|3'],
        ['1|4', '1|5'],
      ],
    ],
  ])(
    'splits a chunk of %i records into halves, the first one the larger',
    async (count, expectedRequests) => {
      // Prepare: the cluster only accepts two operations per request.
      const records = Array.from({ length: count }, (_, n) =>
        streamRecord({ keys: transactionKeys(1, n + 1), sequenceNumber: sequenceNumber(n + 1) }),
      );
      const fake = fakeSearch({
        request: (call) =>
          call.operations > 2 ? new BulkRequestError(413, 'Request size exceeded') : undefined,
      });
      const time = virtualTime();

      // Act
      const { response, summary } = await processBatch(records, {
        config: batchConfig(),
        search: fake.search,
        deadLetters: fakeDeadLetters().sink,
        logger: captureLogger().logger,
        remainingMs: time.remainingMs,
        sleep: time.sleep,
        random: time.random,
        clock: time.clock,
      });

      // Assert
      expect(fake.calls.map((c) => c.actions.map((a) => a.id))).toEqual(expectedRequests);
      expect(response.batchItemFailures).toEqual([]);
      expect(summary).toMatchObject({ indexed: count, retried: 0 });
    },
  );
});

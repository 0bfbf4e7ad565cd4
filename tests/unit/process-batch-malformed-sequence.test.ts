/**
 * A record whose SequenceNumber is not a decimal number cannot be named to Lambda: reporting it
 * would fail the whole batch (Lambda rejects an itemIdentifier that is not a sequence number of
 * the batch). When such a record is not done, the previous record is reported instead, so Lambda
 * re-delivers from there and no record is lost (lib/process-batch.ts, lib/batch-response.ts).
 */
import { DeadLetterWriteError } from '../../lib/errors';
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

describe('processBatch with a malformed SequenceNumber', () => {
  it.each(['12ab', 'ab12', '-1', '1.5', ' 7'])(
    'reports the previous record when the record with SequenceNumber %p cannot be dead-lettered',
    async (malformed) => {
      // Prepare: the middle record is malformed, and S3 refuses every dead letter.
      const records = [1, 2, 3].map((n) =>
        streamRecord({
          keys: transactionKeys(8, n),
          sequenceNumber: n === 2 ? malformed : sequenceNumber(n),
        }),
      );
      const time = virtualTime();
      const fake = fakeSearch();

      // Act
      const { response, summary } = await processBatch(records, {
        config: batchConfig(),
        search: fake.search,
        deadLetters: fakeDeadLetters(() => new DeadLetterWriteError(500, 'down')).sink,
        logger: captureLogger().logger,
        remainingMs: time.remainingMs,
        sleep: time.sleep,
        random: time.random,
        clock: time.clock,
      });

      // Assert
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: sequenceNumber(1) }] });
      expect(fake.sent().map((a) => a.id)).toEqual(['8|1', '8|3']);
      expect(summary).toMatchObject({ indexed: 2, failed: 1 });
    },
  );
});

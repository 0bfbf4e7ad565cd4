/**
 * The freshness metric (lib/metrics.ts) is read from the newest record of the batch, whichever
 * position it holds and whichever source delivered it: a DynamoDB stream record reads its
 * ApproximateCreationDateTime directly, a Kinesis record through its identity.
 */
import { createEmf } from '../../lib/metrics';
import { processBatch, type BatchDependencies } from '../../lib/process-batch';
import {
  batchConfig,
  captureLogger,
  CREATED_AT,
  dynamodbChangeJson,
  fakeDeadLetters,
  fakeSearch,
  kinesisRecord,
  kinesisSequenceNumber,
  SOURCE_TABLE,
  sequenceNumber,
  streamRecord,
  transactionImage,
  transactionKeys,
  virtualTime,
  type CapturedLogs,
} from './factories';

/** The batch ends 42 s after the newest record was created. */
const ENDED_MS = (CREATED_AT + 42) * 1000;

/** Creation times (s) in batch order: the newest sits in the middle, not at either end. */
const CREATED = [CREATED_AT - 100, CREATED_AT, CREATED_AT - 300];

function deps(logs: CapturedLogs): BatchDependencies {
  const time = virtualTime();
  return {
    config: batchConfig({ sourceTable: SOURCE_TABLE }),
    search: fakeSearch().search,
    deadLetters: fakeDeadLetters().sink,
    logger: logs.logger,
    remainingMs: time.remainingMs,
    sleep: time.sleep,
    random: time.random,
    clock: () => ENDED_MS,
    metrics: createEmf({ namespace: 'NS', dimensions: [['Service', 'svc']] }),
  };
}

describe('processBatch, the freshness metric', () => {
  it.each([
    [
      'DynamoDB stream records',
      CREATED.map((createdAt, n) =>
        streamRecord({
          keys: transactionKeys(7, n),
          newImage: transactionImage(7, n),
          sequenceNumber: sequenceNumber(n + 1),
          createdAt,
        }),
      ),
    ],
    [
      'Kinesis records',
      CREATED.map((createdAt, n) =>
        kinesisRecord(
          dynamodbChangeJson({
            keys: transactionKeys(7, n),
            newImage: transactionImage(7, n),
            createdAt: createdAt * 1000,
          }),
          { sequenceNumber: kinesisSequenceNumber(n + 1) },
        ),
      ),
    ],
  ])(
    'is the age of the newest record, wherever it sits in the batch (%s)',
    async (_label, records) => {
      // Prepare
      const logs = captureLogger();

      // Act
      const { summary } = await processBatch(records, deps(logs));

      // Assert
      expect(summary).toMatchObject({ indexed: 3, failed: 0 });
      expect(logs.find('batch processed')).toMatchObject({ freshness: 42 });
    },
  );
});

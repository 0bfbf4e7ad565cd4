/**
 * Lambda entry point: wiring only. Configuration, the OpenSearch client and the credential
 * provider are built once per container, on the first invocation, and reused while warm.
 */
import type {
  Context,
  DynamoDBBatchResponse,
  DynamoDBStreamEvent,
  KinesisStreamBatchResponse,
  KinesisStreamEvent,
} from 'aws-lambda';
import { loadConfig, type Config } from './lib/config';
import { defaultCredentials, type CredentialProvider } from './lib/credentials';
import { s3DeadLetterSinkFor, type DeadLetterSink } from './lib/dead-letter';
import { describeError } from './lib/errors';
import { createLogger, type Logger } from './lib/logger';
import { createEmf, type Emf } from './lib/metrics';
import { processBatch } from './lib/process-batch';
import { createSearchClient, type SearchClient } from './lib/search-client';

export interface Runtime {
  readonly config: Readonly<Config>;
  readonly logger: Logger;
  readonly search: SearchClient | undefined;
  readonly deadLetters: DeadLetterSink | undefined;
  readonly metrics: Emf | undefined;
}

/** Without a context deadline (some local harnesses), assume Lambda's 60 s used by our stack. */
const FALLBACK_BUDGET_MS = 60_000;

export function createRuntime(
  env: Readonly<Record<string, string | undefined>> = process.env,
  getCredentials: CredentialProvider = defaultCredentials(env),
): Runtime {
  const config = loadConfig(env);
  const logger = createLogger(config.logLevel);
  const search =
    config.dryRun || config.endpoint === undefined
      ? undefined
      : createSearchClient({
          endpoint: config.endpoint,
          index: config.index,
          auth: config.auth,
          service: config.service,
          region: config.searchRegion,
          compression: config.compression,
          getCredentials,
        });
  const deadLetters = s3DeadLetterSinkFor(config, getCredentials);
  if (config.dryRun) {
    logger.warn('INDEXER_DRY_RUN=true: bulk requests are logged, not sent');
  }
  if (deadLetters === undefined && !config.dryRun) {
    logger.warn(
      'DEAD_LETTER_BUCKET is not set: rejected and malformed records will be reported to Lambda as failures, ' +
        "and only Lambda's retry limit and on-failure destination will move the stream past them",
    );
  }
  logger.info('indexer configured', {
    endpoint: config.endpoint?.host,
    index: config.index,
    auth: config.auth,
    service: config.service,
    versioning: config.versioning,
    compression: config.compression,
    deadLetters: deadLetters?.location,
  });
  const metrics = config.metrics === undefined ? undefined : createEmf(config.metrics);
  return { config, logger, search, deadLetters, metrics };
}

/**
 * What the function is invoked with: a DynamoDB Streams batch or a Kinesis Data Streams batch of
 * DynamoDB changes (one kind per batch: one event source mapping). Both answer with a partial
 * batch response of the same shape, naming a SequenceNumber or a Kinesis sequenceNumber.
 */
export type IndexerEvent = DynamoDBStreamEvent | KinesisStreamEvent;
export type IndexerResponse = DynamoDBBatchResponse | KinesisStreamBatchResponse;

/** A handler bound to one runtime; `handler` below is the one Lambda calls. */
export function createHandler(
  getRuntime: () => Runtime,
): (event: IndexerEvent, context: Context) => Promise<IndexerResponse> {
  return async (event, context) => {
    const started = Date.now();
    const runtime = getRuntime();
    const logger = runtime.logger.child({ requestId: context?.awsRequestId });
    const records: unknown[] = Array.isArray(event?.Records) ? event.Records : [];
    const remainingMs =
      typeof context?.getRemainingTimeInMillis === 'function'
        ? () => context.getRemainingTimeInMillis()
        : () => started + FALLBACK_BUDGET_MS - Date.now();
    try {
      const { response } = await processBatch(records, {
        config: runtime.config,
        search: runtime.search,
        deadLetters: runtime.deadLetters,
        logger,
        remainingMs,
        metrics: runtime.metrics,
      });
      return response;
    } catch (error) {
      // A bug must never turn into silent loss: throwing makes Lambda retry (and bisect) the batch.
      logger.error('batch failed unexpectedly; Lambda will retry the whole batch', {
        error: describeError(error),
      });
      throw error;
    }
  };
}

let runtime: Runtime | undefined;

export const handler = createHandler(() => (runtime ??= createRuntime()));

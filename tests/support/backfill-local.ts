/**
 * The backfill and the stream handler wired in this process (so coverage counts), against
 * dynalite and the OpenSearch stand-in on loopback: the same lib/ code `npm run backfill` and the
 * Lambda run, with real HTTP clients.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { join } from 'node:path';
import { createHandler, createRuntime } from '../../handler';
import { loadConfig } from '../../lib/config';
import { createDynamoTable } from '../../lib/backfill/dynamo';
import { createFileDeadLetterSink } from '../../lib/backfill/file-dead-letters';
import { createLogger } from '../../lib/logger';
import { runBackfill, type BackfillOptions, type BackfillReport } from '../../lib/backfill/run';
import { createSearchClient } from '../../lib/search-client';
import { DUMMY_CREDENTIALS, type DynamoDBLocal } from './dynamodb-local';
import { EsmSimulator, type StreamHandler } from './esm-simulator';
import type { OpenSearchStandIn } from './opensearch-stand-in';

export function indexerEnv(os: OpenSearchStandIn, index = 'transactions'): Record<string, string> {
  return {
    OPENSEARCH_ENDPOINT: os.url,
    OPENSEARCH_AUTH: 'none',
    OPENSEARCH_INDEX: index,
    KEY_ATTRIBUTES: 'userId,transactionId',
    AWS_REGION: 'us-east-1',
    LOG_LEVEL: 'error',
    RETRY_BASE_MS: '10',
    RETRY_MAX_MS: '100',
  };
}

/** The stream handler (handler.ts) behind a simulated event source mapping. */
export function streamIndexer(os: OpenSearchStandIn): EsmSimulator {
  const runtime = createRuntime(indexerEnv(os), async () => DUMMY_CREDENTIALS);
  const handler = createHandler(() => runtime) as unknown as StreamHandler;
  return new EsmSimulator(handler, { batchSize: 7, maxInvocations: 5_000, maxWallMs: 300_000 });
}

export interface LocalBackfill {
  readonly table: string;
  readonly index: string;
  readonly dir: string;
  readonly segments?: number;
  readonly pageLimit?: number;
  readonly marginSeconds?: number;
  readonly resume?: boolean;
  readonly stopped?: () => boolean;
}

export async function backfillInProcess(
  ddb: DynamoDBLocal,
  os: OpenSearchStandIn,
  run: LocalBackfill,
): Promise<BackfillReport> {
  const config = loadConfig(indexerEnv(os, run.index));
  const dynamo = createDynamoTable(run.table, {
    region: ddb.region,
    endpoint: ddb.endpoint,
    credentials: async () => DUMMY_CREDENTIALS,
  });
  const search = createSearchClient({
    endpoint: config.endpoint as URL,
    index: run.index,
    auth: 'none',
    service: 'es',
    region: 'us-east-1',
    compression: false,
    getCredentials: async () => DUMMY_CREDENTIALS,
  });
  const options: BackfillOptions = {
    table: run.table,
    index: run.index,
    segments: run.segments ?? 3,
    resume: run.resume ?? false,
    checkpointPath: join(run.dir, `${run.index}.json`),
    dryRun: false,
    maxRate: undefined,
    marginSeconds: run.marginSeconds ?? 5,
    pageLimit: run.pageLimit ?? 5,
  };
  try {
    return await runBackfill(options, {
      config,
      dynamo,
      search,
      deadLetters: createFileDeadLetterSink(join(run.dir, 'dead-letter'), run.index),
      dynamoEndpoint: ddb.endpoint,
      logger: createLogger('error'),
      say: () => undefined,
      progress: { update: () => undefined, finish: () => undefined },
      stopped: run.stopped ?? (() => false),
      clock: Date.now,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      random: Math.random,
    });
  } finally {
    dynamo.close();
    await search.close();
  }
}

export type { DynamoDBRecord };

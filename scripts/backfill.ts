/**
 * `npm run backfill -- --table <name> [options]`: indexes every item of a DynamoDB table with a
 * parallel, consistent Scan, through the stream handler's core, beside the live stream.
 *
 * Environment: the handler's (lib/config.ts: OPENSEARCH_ENDPOINT, OPENSEARCH_INDEX,
 * OPENSEARCH_AUTH, AWS_REGION, DEAD_LETTER_BUCKET, AWS_ENDPOINT_URL_S3, KEY_ATTRIBUTES, ...),
 * credentials from the AWS default chain, and AWS_ENDPOINT_URL_DYNAMODB for a local DynamoDB.
 *
 * Exit codes: 0 every item indexed (or already newer) or dead-lettered; 1 an error (a message
 * names it); 130 interrupted (SIGINT; the checkpoint is saved, continue with --resume).
 */
import { loadConfig, type Config } from '../lib/config';
import { defaultCredentials } from '../lib/credentials';
import { s3DeadLetterSinkFor, type DeadLetterSink } from '../lib/dead-letter';
import { describeError } from '../lib/errors';
import { createLogger, type Logger } from '../lib/logger';
import { createSearchClient, type SearchClient } from '../lib/search-client';
import { DEFAULT_MARGIN_SECONDS } from '../lib/sources/scan';
import { integerOption, parseArgs } from '../lib/backfill/args';
import { CHECKPOINT_DIR, defaultCheckpointPath, writeCheckpoint } from '../lib/backfill/checkpoint';
import type { Checkpoint } from '../lib/backfill/checkpoint';
import { createDynamoTable, dynamoEndpoint } from '../lib/backfill/dynamo';
import { createFileDeadLetterSink } from '../lib/backfill/file-dead-letters';
import { createProgress } from '../lib/backfill/progress';
import {
  BackfillError,
  runBackfill,
  type BackfillContext,
  type BackfillOptions,
  type BackfillReport,
} from '../lib/backfill/run';
import { defaultSleep } from '../lib/retry';

type Env = Readonly<Record<string, string | undefined>>;

export const USAGE = `usage: npm run backfill -- --table <name> [options]
  --segments N         parallel Scan segments (default 4; a resumed run keeps its checkpoint's)
  --resume             continue from the checkpoint instead of starting over
  --checkpoint PATH    checkpoint file (default ${CHECKPOINT_DIR}/<table>--<index>.json)
  --dry-run            scan and print the bulk requests that would be sent; send nothing
  --max-rate N         read at most N items per second over all segments
  --margin-seconds N   version safety margin for clock skew (default ${DEFAULT_MARGIN_SECONDS})
  --page-size N        items per Scan page at most (default: DynamoDB's 1 MB pages)
  --remote             start the Step Functions backfill instead (see docs/deploy.md)`;

export interface Io {
  readonly out: (line: string) => void;
  readonly err: (text: string) => void;
  readonly tty: boolean;
}

export const processIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (text) => process.stderr.write(text),
  tty: process.stderr.isTTY === true,
};

/** The clients a backfill into `index` needs, built from the handler's environment. */
export function backfillClients(
  config: Config,
  env: Env,
  table: string,
  index: string,
  dryRun: boolean,
): {
  dynamo: ReturnType<typeof createDynamoTable>;
  search: SearchClient | undefined;
  deadLetters: DeadLetterSink;
} {
  const getCredentials = defaultCredentials(env);
  // The SDK's own resolution would read process.env; the caller's `env` is the configuration.
  const endpoint = env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL;
  const dynamo = createDynamoTable(table, {
    region: config.region || undefined,
    ...(endpoint ? { endpoint } : {}),
    credentials: getCredentials,
  });
  // One client per target index: the bulk path is fixed when the client is made.
  const search =
    dryRun || config.endpoint === undefined
      ? undefined
      : createSearchClient({
          endpoint: config.endpoint,
          index,
          auth: config.auth,
          service: config.service,
          region: config.searchRegion,
          compression: config.compression,
          getCredentials,
        });
  const deadLetters =
    s3DeadLetterSinkFor(config, getCredentials, index) ??
    createFileDeadLetterSink(`${CHECKPOINT_DIR}/dead-letter`, index);
  return { dynamo, search, deadLetters };
}

/** The backfill log: quiet (warnings and errors) beside the progress bar unless LOG_LEVEL asks. */
export function backfillLogger(config: Config, env: Env, dryRun: boolean): Logger {
  const level = env.LOG_LEVEL !== undefined ? config.logLevel : dryRun ? 'info' : 'warn';
  return createLogger(level);
}

export function summaryLine(report: BackfillReport, index: string, interrupted: boolean): string {
  return JSON.stringify({
    msg: 'backfill summary',
    index,
    complete: report.complete,
    interrupted,
    read: report.read,
    indexed: report.summary.indexed,
    alreadyNewer: report.summary.stale,
    deadLettered: report.summary.deadLettered,
    segmentsDone: report.segmentsDone,
    totalSegments: report.totalSegments,
    elapsedSeconds: Math.round(report.elapsedMs / 100) / 10,
  });
}

export interface CommonOptions {
  readonly options: BackfillOptions;
  readonly config: Config;
}

/** Parses backfill options; returns problems instead of throwing. */
export function parseBackfillArgs(
  argv: readonly string[],
  env: Env,
  extraValued: readonly string[] = [],
  extraFlags: readonly string[] = [],
): {
  parsed: CommonOptions | undefined;
  flags: ReadonlySet<string>;
  values: Readonly<Record<string, string>>;
  problems: string[];
} {
  const args = parseArgs(
    argv,
    ['table', 'segments', 'checkpoint', 'max-rate', 'margin-seconds', 'page-size', ...extraValued],
    ['resume', 'dry-run', ...extraFlags],
  );
  const problems = [...args.problems];
  const table = args.values['table'];
  if (table === undefined || table === '') problems.push('--table is required');
  const segments = integerOption(args, 'segments', 1, 1_000_000, problems);
  const maxRate = integerOption(args, 'max-rate', 1, 10_000_000, problems);
  const margin = integerOption(args, 'margin-seconds', 0, 3600, problems);
  const pageSize = integerOption(args, 'page-size', 1, 1_000_000, problems);
  const dryRun = args.flags.has('dry-run');
  let config: Config | undefined;
  try {
    config = loadConfig(dryRun ? { ...env, INDEXER_DRY_RUN: 'true' } : env);
  } catch (error) {
    problems.push(describeError(error));
  }
  if (problems.length > 0 || config === undefined || table === undefined) {
    return { parsed: undefined, flags: args.flags, values: args.values, problems };
  }
  const options: BackfillOptions = {
    table,
    index: config.index,
    segments,
    resume: args.flags.has('resume'),
    checkpointPath: args.values['checkpoint'] ?? defaultCheckpointPath(table, config.index),
    dryRun,
    maxRate,
    marginSeconds: margin ?? DEFAULT_MARGIN_SECONDS,
    pageLimit: pageSize,
  };
  return { parsed: { options, config }, flags: args.flags, values: args.values, problems };
}

/** Runs SIGINT as "stop, save, exit 130"; returns the stop flag and a remover. */
export function interruptible(
  io: Io,
  latest: () => { checkpoint: Checkpoint | undefined; path: string },
  onInterrupt: () => void = () => process.exit(130),
): { stopped: () => boolean; dispose: () => void } {
  let stopped = false;
  const handler = (): void => {
    stopped = true;
    const { checkpoint, path } = latest();
    if (checkpoint !== undefined) writeCheckpoint(path, checkpoint, new Date());
    io.err(
      `\ninterrupted: ${checkpoint === undefined ? 'nothing to save' : `checkpoint saved to ${path}`}; ` +
        'continue with --resume\n',
    );
    onInterrupt();
  };
  process.on('SIGINT', handler);
  return { stopped: () => stopped, dispose: () => process.off('SIGINT', handler) };
}

export async function main(argv: readonly string[], env: Env, io: Io = processIo): Promise<number> {
  const { parsed, flags, problems } = parseBackfillArgs(argv, env, [], ['remote']);
  if (flags.has('remote')) {
    const table = parsed?.options.table ?? '<table>';
    const total = parsed?.options.segments ?? 4;
    const segments = Array.from({ length: total }, (_, segment) => ({
      table,
      segment,
      totalSegments: total,
    }));
    io.err(
      'start the deployed state machine (README "Backfill in AWS") with:\n' +
        `aws stepfunctions start-execution --state-machine-arn <BackfillStateMachineArn stack output> --input '${JSON.stringify({ concurrency: total, segments })}'\n`,
    );
    return 1;
  }
  if (parsed === undefined) {
    io.err(`${problems.join('\n')}\n${USAGE}\n`);
    return 1;
  }
  const { options, config } = parsed;
  const { dynamo, search, deadLetters } = backfillClients(
    config,
    env,
    options.table,
    options.index,
    options.dryRun,
  );
  let latest: Checkpoint | undefined;
  const interrupt = interruptible(io, () => ({ checkpoint: latest, path: options.checkpointPath }));
  const ctx: BackfillContext = {
    config,
    dynamo,
    search,
    deadLetters,
    dynamoEndpoint: dynamoEndpoint(env),
    logger: backfillLogger(config, env, options.dryRun),
    say: (line) => io.err(`${line}\n`),
    progress: createProgress({ tty: io.tty, write: io.err, clock: Date.now }),
    stopped: interrupt.stopped,
    clock: Date.now,
    sleep: defaultSleep,
    random: Math.random,
    onCheckpoint: (checkpoint) => {
      latest = checkpoint;
    },
  };
  try {
    const report = await runBackfill(options, ctx);
    io.out(summaryLine(report, options.index, interrupt.stopped()));
    return report.complete ? 0 : interrupt.stopped() ? 130 : 1;
  } catch (error) {
    io.err(
      `backfill failed: ${error instanceof BackfillError ? error.message : describeError(error)}\n`,
    );
    return 1;
  } finally {
    interrupt.dispose();
    dynamo.close();
    await search?.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${describeError(error)}\n`);
      process.exit(1);
    },
  );
}

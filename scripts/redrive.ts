/**
 * `npm run redrive -- <what> [options]`: put back what the indexer set aside.
 *
 *   dead-letters [--prefix dead-letter/2026/12/02/] [--dry-run] [--limit N] [--delete] [--bucket B]
 *   failure-queue [--queue-url URL] [--dry-run] [--limit N] [--table NAME]
 *
 * It reads the same environment as the Lambda (lib/config.ts: OPENSEARCH_ENDPOINT, OPENSEARCH_INDEX,
 * KEY_ATTRIBUTES, DEAD_LETTER_BUCKET, DEAD_LETTER_PREFIX, AWS_REGION, ...), plus FAILURE_QUEUE_URL,
 * and runs with the operator's credentials (the AWS default chain): the handler's role stays
 * write-only. Local endpoints: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_SQS,
 * AWS_ENDPOINT_URL_DYNAMODB_STREAMS, AWS_ENDPOINT_URL_KINESIS. docs/deploy.md lists the IAM rights each command needs.
 *
 * Exit codes: 0 nothing is left, 1 something is left (reported line by line), 2 the command
 * could not run (usage, configuration, a bucket or queue that cannot be read).
 */
import { loadConfig, type Config } from '../lib/config';
import { defaultCredentials } from '../lib/credentials';
import { s3DeadLetterSinkFor } from '../lib/dead-letter';
import { describeError } from '../lib/errors';
import { createLogger, type Logger } from '../lib/logger';
import type { BatchDependencies } from '../lib/process-batch';
import {
  anythingLeft,
  redriveDeadLetters,
  type LetterResult,
  type RedriveReport,
} from '../lib/redrive/dead-letters';
import {
  anythingLeftInQueue,
  QueueUnavailableError,
  redriveFailureQueue,
  type FailureQueueReport,
  type MessageResult,
} from '../lib/redrive/failure-queue';
import { createProgress, type Progress } from '../lib/redrive/progress';
import { createSqsQueue, regionOfQueueUrl } from '../lib/redrive/sqs-queue';
import {
  createDynamodbStreamReader,
  createKinesisStreamReader,
} from '../lib/redrive/stream-reader';
import { createS3Store } from '../lib/redrive/s3-store';
import { StoreUnavailableError, type DeadLetterStore } from '../lib/redrive/store';
import { createSearchClient } from '../lib/search-client';

type Env = Readonly<Record<string, string | undefined>>;

export const USAGE = [
  'usage: npm run redrive -- dead-letters [--prefix <key prefix>] [--dry-run] [--limit N] [--delete] [--bucket <name>]',
  '       npm run redrive -- failure-queue [--queue-url <url>] [--dry-run] [--limit N] [--table <name>]',
].join('\n');

export interface CliArgs {
  readonly what: 'dead-letters' | 'failure-queue';
  readonly prefix: string | undefined;
  readonly dryRun: boolean;
  readonly limit: number | undefined;
  readonly deleteDone: boolean;
  readonly bucket: string | undefined;
  readonly queueUrl: string | undefined;
  readonly table: string | undefined;
  readonly verbose: boolean;
}

/** Parses the command line; throws a RangeError naming the problem. */
export function parseArgs(argv: readonly string[]): CliArgs {
  const [what, ...rest] = argv;
  if (what !== 'dead-letters' && what !== 'failure-queue') {
    throw new RangeError(`unknown re-drive ${JSON.stringify(what ?? '')}`);
  }
  const valued = new Map<string, string>();
  const flags = new Set<string>();
  const VALUED = ['--prefix', '--limit', '--bucket', '--queue-url', '--table'];
  const FLAGS = ['--dry-run', '--delete', '--verbose'];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (FLAGS.includes(name) && eq < 0) {
      flags.add(name);
    } else if (VALUED.includes(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : rest[++i];
      if (value === undefined || value === '') throw new RangeError(`${name} needs a value`);
      valued.set(name, value);
    } else {
      throw new RangeError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  const onlyFor = (names: string[], command: string): void => {
    for (const n of names) {
      if ((valued.has(n) || flags.has(n)) && what !== command) {
        throw new RangeError(`${n} applies to ${command} only`);
      }
    }
  };
  onlyFor(['--prefix', '--delete', '--bucket'], 'dead-letters');
  onlyFor(['--queue-url', '--table'], 'failure-queue');
  let limit: number | undefined;
  if (valued.has('--limit')) {
    limit = Number(valued.get('--limit'));
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError('--limit must be a positive integer');
  }
  return {
    what,
    prefix: valued.get('--prefix'),
    dryRun: flags.has('--dry-run'),
    limit,
    deleteDone: flags.has('--delete'),
    bucket: valued.get('--bucket'),
    queueUrl: valued.get('--queue-url'),
    table: valued.get('--table'),
    verbose: flags.has('--verbose'),
  };
}

export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** A terminal: show a progress line (on stderr). */
  readonly progress: Progress | undefined;
}

/** Test seams: the stores and clients a run uses (defaults: the AWS SDK against `env`). */
export interface CliSeams {
  readonly store?: (bucket: string, config: Config) => DeadLetterStore & { close?(): void };
}

export async function main(
  argv: readonly string[],
  env: Env,
  io: CliIo = defaultIo(),
  seams: CliSeams = {},
): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (error) {
    io.err(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  let config: Config;
  try {
    // A dry run sends nothing, so it needs no endpoint; a real one writes only through the core.
    config = loadConfig({
      ...env,
      INDEXER_DRY_RUN: args.dryRun ? 'true' : 'false',
      METRICS: 'off',
    });
  } catch (error) {
    io.err(describeError(error));
    return 2;
  }
  // The core's own log lines (retries, per-record lines) only with --verbose; the report is ours.
  const logger = createLogger(
    args.verbose ? 'debug' : 'error',
    args.verbose ? (line) => process.stderr.write(line) : () => undefined,
  );
  if (args.what === 'dead-letters') return deadLetters(args, config, env, logger, io, seams);
  return failureQueue(args, config, env, logger, io);
}

async function deadLetters(
  args: CliArgs,
  config: Config,
  env: Env,
  logger: Logger,
  io: CliIo,
  seams: CliSeams,
): Promise<number> {
  const bucket = args.bucket ?? config.deadLetterBucket;
  if (bucket === undefined) {
    io.err('no bucket: set DEAD_LETTER_BUCKET or pass --bucket');
    return 2;
  }
  if (config.region === '' && seams.store === undefined) {
    io.err('AWS_REGION is required');
    return 2;
  }
  const store =
    seams.store?.(bucket, config) ??
    createS3Store({ bucket, region: config.region, endpoint: config.s3Endpoint });
  const search = coreSearch(config, env);
  const prefix = args.prefix ?? config.deadLetterPrefix;
  let report: RedriveReport;
  try {
    report = await redriveDeadLetters(
      {
        prefix,
        deadLetterPrefix: config.deadLetterPrefix,
        dryRun: args.dryRun,
        limit: args.limit,
        deleteDone: args.deleteDone,
      },
      {
        store,
        core: coreDeps(config, search, logger),
        onLetter: (_result, r) => io.progress?.update(progressText(r)),
      },
    );
  } catch (error) {
    io.progress?.done();
    io.err(
      error instanceof StoreUnavailableError || error instanceof RangeError
        ? error.message
        : `re-drive failed: ${describeError(error)}`,
    );
    return 2;
  } finally {
    search?.close();
    store.close?.();
  }
  io.progress?.done();
  for (const left of report.left) io.out(letterLine(left));
  io.out(summaryLine(`s3://${bucket}/${prefix}`, report, args.dryRun));
  if (report.olderThanTombstones > 0) {
    io.out(
      `note: ${report.olderThanTombstones} replayed change(s) are older than 25 h (index.gc_deletes): ` +
        'if their item was deleted since, the replay may have brought it back; compare those ids with the table',
    );
  }
  return anythingLeft(report) ? 1 : 0;
}

async function failureQueue(
  args: CliArgs,
  config: Config,
  env: Env,
  logger: Logger,
  io: CliIo,
): Promise<number> {
  const queueUrl = args.queueUrl ?? nonEmpty(env.FAILURE_QUEUE_URL);
  if (queueUrl === undefined) {
    io.err(
      'no queue: set FAILURE_QUEUE_URL (the stack output FailureQueueUrl) or pass --queue-url',
    );
    return 2;
  }
  const region = config.region !== '' ? config.region : regionOfQueueUrl(queueUrl);
  if (region === undefined) {
    io.err('AWS_REGION is required');
    return 2;
  }
  let endpoints: Record<'sqs' | 'streams' | 'kinesis', URL | undefined>;
  try {
    endpoints = {
      sqs: endpointFrom(env, 'AWS_ENDPOINT_URL_SQS'),
      streams: endpointFrom(env, 'AWS_ENDPOINT_URL_DYNAMODB_STREAMS'),
      kinesis: endpointFrom(env, 'AWS_ENDPOINT_URL_KINESIS'),
    };
  } catch (error) {
    io.err((error as Error).message);
    return 2;
  }
  // The SDK clients get the same credentials as the search client: from `env` first.
  const credentials = defaultCredentials(env);
  const queue = createSqsQueue({ queueUrl, region, endpoint: endpoints.sqs, credentials });
  const dynamodb = createDynamodbStreamReader({
    region,
    endpoint: endpoints.streams,
    credentials,
  });
  const kinesis = createKinesisStreamReader({ region, endpoint: endpoints.kinesis, credentials });
  const search = coreSearch(config, env);
  // Records the index rejects go where the Lambda puts them: a record re-read from the stream
  // has no other copy once its message is deleted. Without a bucket they stay not done, and so
  // does their message.
  const deadLetterSink = config.dryRun ? undefined : s3DeadLetterSinkFor(config, credentials);
  let report: FailureQueueReport;
  try {
    report = await redriveFailureQueue(
      {
        dryRun: args.dryRun,
        limit: args.limit,
        table: args.table,
        sourceTable: config.sourceTable,
      },
      {
        queue,
        readers: { dynamodb, kinesis },
        core: { ...coreDeps(config, search, logger), deadLetters: deadLetterSink },
        onMessage: (_result, r) => io.progress?.update(queueProgressText(r)),
      },
    );
  } catch (error) {
    io.progress?.done();
    io.err(
      error instanceof QueueUnavailableError
        ? error.message
        : `re-drive failed: ${describeError(error)}`,
    );
    return 2;
  } finally {
    search?.close();
    queue.close();
    dynamodb.close();
    kinesis.close();
  }
  io.progress?.done();
  for (const left of report.left) io.out(messageLine(left));
  io.out(queueSummaryLine(queueUrl, report, args.dryRun));
  if (report.stoppedBy !== undefined) io.out(`stopped early: ${report.stoppedBy}`);
  if (
    deadLetterSink === undefined &&
    !args.dryRun &&
    report.left.some((m) => m.outcome === 'not-done')
  ) {
    io.out('note: DEAD_LETTER_BUCKET is not set, so records the index rejects keep their message');
  }
  return anythingLeftInQueue(report) ? 1 : 0;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/**
 * A local endpoint from the environment. Passed to the client explicitly (as lib/config.ts does
 * for S3) because the command reads the `env` it is given, not only process.env.
 */
function endpointFrom(env: Env, name: string): URL | undefined {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RangeError(`${name} is not a URL (got "${raw}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RangeError(`${name} must be an http(s) URL (got "${raw}")`);
  }
  return url;
}

function queueProgressText(r: FailureQueueReport): string {
  const c = r.counts;
  return `failure queue: ${r.seen} messages, ${c.redriven} re-driven, ${r.left.length} left; ${r.records.records} records`;
}

function messageLine(r: MessageResult): string {
  const where =
    r.range === undefined ? '' : `  ${r.range.shardId} ${r.range.start}..${r.range.end}`;
  const received = r.receiveCount === undefined ? '' : `  (received ${r.receiveCount} times)`;
  const repair = r.repair === undefined ? '' : `\n${' '.repeat(13)}repair: ${r.repair}`;
  return `${r.outcome.padEnd(12)} ${r.messageId}${where}${r.detail === undefined ? '' : `  ${r.detail}`}${received}${repair}`;
}

function queueSummaryLine(where: string, r: FailureQueueReport, dryRun: boolean): string {
  const c = r.counts;
  const s = r.records;
  const parts = dryRun
    ? [`${c['would-redrive']} would be re-driven`]
    : [
        `${c.redriven} re-driven and deleted`,
        `${c['not-done']} not done`,
        `${c['delete-failed']} done but not deleted`,
      ];
  parts.push(`${c['aged-out']} aged out`, `${c.unreadable} unreadable`, `${c.malformed} malformed`);
  const records = dryRun
    ? ''
    : `; ${s.records} records: ${s.indexed} indexed, ${s.deleted + s.notFound} deleted, ` +
      `${s.stale} already newer, ${s.superseded + s.skipped} superseded or skipped, ` +
      `${s.deadLettered} dead-lettered, ${s.failed} not done`;
  const more = r.more ? '; --limit reached, more messages wait' : '';
  return `${dryRun ? 'dry run: ' : ''}${where}: ${r.seen} messages: ${parts.join(', ')}${records}${more}`;
}

function coreSearch(config: Config, env: Env): ReturnType<typeof createSearchClient> | undefined {
  if (config.dryRun || config.endpoint === undefined) return undefined;
  return createSearchClient({
    endpoint: config.endpoint,
    index: config.index,
    auth: config.auth,
    service: config.service,
    region: config.searchRegion,
    compression: config.compression,
    getCredentials: defaultCredentials(env),
  });
}

function coreDeps(
  config: Config,
  search: BatchDependencies['search'],
  logger: Logger,
): Omit<BatchDependencies, 'deadLetters' | 'remainingMs'> {
  return { config, search, logger };
}

function progressText(r: RedriveReport): string {
  const c = r.counts;
  const done = c.replayed + c.deleted;
  return `dead letters: ${r.seen} listed, ${done} done, ${c.rejected} rejected again, ${r.left.length} left`;
}

function letterLine(r: LetterResult): string {
  return `${r.outcome.padEnd(12)} ${r.key}${r.detail === undefined ? '' : `  ${r.detail}`}`;
}

function summaryLine(where: string, r: RedriveReport, dryRun: boolean): string {
  const c = r.counts;
  const parts = dryRun
    ? [`${c['would-replay']} would be replayed`, `${c['would-stay']} would stay`]
    : [
        `${c.replayed} replayed`,
        `${c.deleted} deleted`,
        `${c.rejected} rejected again`,
        `${c['not-done']} not done`,
        `${c['move-failed']} done but not moved`,
      ];
  parts.push(`${c.unreadable} unreadable`, `${c.malformed} malformed`);
  const more = r.more ? '; --limit reached, more letters remain' : '';
  return `${dryRun ? 'dry run: ' : ''}${where}: ${r.seen} letters: ${parts.join(', ')}${more}`;
}

function defaultIo(): CliIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    progress: process.stderr.isTTY ? createProgress(process.stderr) : undefined,
  };
}

if (require.main === module) {
  main(process.argv.slice(2), process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${describeError(error)}\n`);
      process.exitCode = 2;
    },
  );
}

/**
 * `npm run reindex -- --table <name> [--delete-old] [--resume] [backfill options]`: rebuilds the
 * index behind the alias OPENSEARCH_INDEX (`transactions`) from the table, with index:setup's
 * current settings and mappings, without downtime (lib/backfill/reindex.ts has the steps). A
 * concrete index of that name is upgraded to an alias.
 *
 * Environment: as `npm run backfill` (the handler's, AWS_ENDPOINT_URL_DYNAMODB), plus index:setup's
 * INDEX_SHARDS, INDEX_REPLICAS and INDEX_GC_DELETES for the new index.
 * Exit codes: 0 done; 1 an error (a message names it; see the README for how to continue);
 * 130 interrupted (continue with --resume).
 */
import { describeError } from '../lib/errors';
import { indexBody, indexOptionsFromEnv } from '../lib/index-setup';
import { createSearchClient } from '../lib/search-client';
import { defaultCredentials } from '../lib/credentials';
import { defaultCheckpointPath, type Checkpoint } from '../lib/backfill/checkpoint';
import { deliverUntilDone } from '../lib/backfill/deliver';
import { dynamoEndpoint } from '../lib/backfill/dynamo';
import { createProgress } from '../lib/backfill/progress';
import { runReindex } from '../lib/backfill/reindex';
import { BackfillError, runBackfill, type BackfillContext } from '../lib/backfill/run';
import { defaultSleep } from '../lib/retry';
import {
  backfillClients,
  backfillLogger,
  interruptible,
  parseBackfillArgs,
  processIo,
  summaryLine,
  type Io,
} from './backfill';

type Env = Readonly<Record<string, string | undefined>>;

const USAGE = `usage: npm run reindex -- --table <name> [--delete-old] [--resume] [--segments N] [--max-rate N] [--margin-seconds N] [--page-size N]`;

export async function main(argv: readonly string[], env: Env, io: Io = processIo): Promise<number> {
  const { parsed, flags, problems } = parseBackfillArgs(argv, env, [], ['delete-old']);
  if (argv.includes('--dry-run')) problems.push('--dry-run is not supported by reindex');
  if (argv.some((a) => a.startsWith('--checkpoint'))) {
    problems.push('--checkpoint: reindex names its checkpoints after the new index');
  }
  let body;
  try {
    body = parsed && indexBody(indexOptionsFromEnv(env, parsed.config.service));
  } catch (error) {
    problems.push(describeError(error));
  }
  if (parsed === undefined || body === undefined || problems.length > 0) {
    io.err(`${problems.join('\n')}\n${USAGE}\n`);
    return 1;
  }
  const { options, config } = parsed;
  if (config.endpoint === undefined) {
    io.err('OPENSEARCH_ENDPOINT is required\n');
    return 1;
  }
  const admin = createSearchClient({
    endpoint: config.endpoint,
    index: config.index,
    auth: config.auth,
    service: config.service,
    region: config.searchRegion,
    compression: false,
    getCredentials: defaultCredentials(env),
  });
  const base = backfillClients(config, env, options.table, config.index, true);
  let latest: { checkpoint: Checkpoint | undefined; path: string } = {
    checkpoint: undefined,
    path: '',
  };
  const interrupt = interruptible(io, () => latest);
  const logger = backfillLogger(config, env, false);
  const context = (
    search: BackfillContext['search'],
    deadLetters: BackfillContext['deadLetters'],
    path: string,
  ): BackfillContext => ({
    config,
    dynamo: base.dynamo,
    search,
    deadLetters,
    dynamoEndpoint: dynamoEndpoint(env),
    logger,
    say: (line) => io.err(`${line}\n`),
    progress: createProgress({ tty: io.tty, write: io.err, clock: Date.now }),
    stopped: interrupt.stopped,
    clock: Date.now,
    sleep: defaultSleep,
    random: Math.random,
    onCheckpoint: (checkpoint) => {
      latest = { checkpoint, path };
    },
  });
  try {
    const report = await runReindex(
      {
        table: options.table,
        alias: config.index,
        deleteOld: flags.has('delete-old'),
        resume: options.resume,
        marginSeconds: options.marginSeconds,
      },
      body,
      admin,
      context(undefined, undefined, ''),
      {
        backfill: async (index, pass, passOptions) => {
          const clients = backfillClients(config, env, options.table, index, false);
          const path = defaultCheckpointPath(options.table, `${index}.${pass}`);
          try {
            const result = await runBackfill(
              { ...options, index, resume: passOptions.resume, checkpointPath: path },
              {
                ...context(clients.search, clients.deadLetters, path),
                ...(passOptions.onRecords ? { onRecords: passOptions.onRecords } : {}),
              },
            );
            io.out(summaryLine(result, index, interrupt.stopped()));
            return result;
          } finally {
            clients.dynamo.close();
            await clients.search?.close();
          }
        },
        deliver: async (index, records) => {
          const clients = backfillClients(config, env, options.table, index, false);
          try {
            return await deliverUntilDone(records, {
              batch: {
                config: { ...config, index },
                search: clients.search,
                deadLetters: clients.deadLetters,
                logger,
              },
              callBudgetMs: () => 120_000,
              policy: { baseMs: config.retryBaseMs, maxMs: config.retryMaxMs },
              mayRetry: () => !interrupt.stopped(),
              sleep: defaultSleep,
              random: Math.random,
              clock: Date.now,
            });
          } finally {
            clients.dynamo.close();
            await clients.search?.close();
          }
        },
      },
    );
    io.out(
      JSON.stringify({
        msg: 'reindex done',
        alias: config.index,
        from: report.from,
        to: report.to,
        upgraded: report.upgraded,
        deletedOld: report.deletedOld,
        deletes: report.deletes,
      }),
    );
    return 0;
  } catch (error) {
    io.err(
      `reindex failed: ${error instanceof BackfillError ? error.message : describeError(error)}\n`,
    );
    return interrupt.stopped() ? 130 : 1;
  } finally {
    interrupt.dispose();
    base.dynamo.close();
    await admin.close();
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

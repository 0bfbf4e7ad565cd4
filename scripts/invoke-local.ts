/**
 * `npm start` / `npm run invoke -- events/<file>.json [more serverless options]`
 *
 * Runs `serverless invoke local -f indexer -p <event file>` on the bundled handler (osls +
 * serverless-esbuild, offline, no AWS account needed). The shell's environment is passed through
 * unchanged (serverless.yml keeps every stack-derived variable out of invoke local), so:
 *
 * - with OPENSEARCH_ENDPOINT set it indexes for real, e.g.
 *     OPENSEARCH_ENDPOINT=http://localhost:9200 OPENSEARCH_AUTH=none npm start
 *   or, against a domain, with AWS credentials and AWS_REGION exported (SigV4);
 * - without it, it runs in explicit dry-run (INDEXER_DRY_RUN=true): the handler logs the exact
 *   bulk request as a JSON line on stderr, and the batch response is printed on stdout.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const DEFAULT_EVENT = 'events/mixed-batch.json';

/** The command line and environment for one local invocation. */
export function invocation(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { args: string[]; env: Record<string, string | undefined>; dryRun: boolean } {
  const [first, ...rest] = argv;
  const eventFile = first !== undefined && !first.startsWith('-') ? first : DEFAULT_EVENT;
  const extra = first !== undefined && !first.startsWith('-') ? rest : [...argv];
  const dryRun = (env.OPENSEARCH_ENDPOINT ?? '').trim() === '';
  return {
    args: [
      require.resolve('osls/bin/serverless.js', { paths: [ROOT] }),
      'invoke',
      'local',
      '--function',
      'indexer',
      '--path',
      eventFile,
      ...extra,
    ],
    env: dryRun ? { ...env, INDEXER_DRY_RUN: 'true' } : { ...env },
    dryRun,
  };
}

if (require.main === module) {
  const { args, env, dryRun } = invocation(process.argv.slice(2), process.env);
  if (dryRun) {
    process.stderr.write(
      'OPENSEARCH_ENDPOINT is not set: dry run (INDEXER_DRY_RUN=true), the bulk request is logged, not sent\n',
    );
  }
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 1 : 0);
  });
}

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
 *   bulk request as a JSON line on stderr, and the batch response is printed on stdout. On a
 *   terminal the request is shown the way a person reads one: the request line, then each NDJSON
 *   action and document line, indented and coloured. Anywhere else (a pipe, CI) the JSON log
 *   line is kept as it is, for machines.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

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

const DRY_RUN_MESSAGE = 'dry run: bulk request not sent';

/**
 * One stderr line of the handler, for a person at a terminal: a dry-run bulk request becomes its
 * request line and its NDJSON lines (each action line, then its document pretty-printed under
 * it); any other line is returned unchanged.
 */
export function readableLine(line: string, color: boolean): string {
  let entry: { msg?: unknown; method?: unknown; path?: unknown; body?: unknown } | undefined;
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    return line;
  }
  if (entry?.msg !== DRY_RUN_MESSAGE || typeof entry.body !== 'string') return line;
  const paint = (code: number, text: string): string =>
    color ? `\u001b[${code}m${text}\u001b[0m` : text;
  const out = [paint(1, `${String(entry.method)} ${String(entry.path)}  (dry run: not sent)`)];
  for (const ndjson of entry.body.split('\n')) {
    if (ndjson === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(ndjson);
    } catch {
      out.push(ndjson);
      continue;
    }
    const isAction =
      parsed !== null &&
      typeof parsed === 'object' &&
      ('index' in parsed || 'delete' in parsed) &&
      Object.keys(parsed).length === 1;
    // The action line stays one line, as NDJSON sends it; the document is indented under it.
    // The document text is shown as sent (exact numbers), re-indented only when JSON can do so
    // without changing a digit.
    out.push(
      isAction
        ? paint(36, ndjson)
        : JSON.stringify(parsed) === ndjson
          ? indent(JSON.stringify(parsed, null, 2))
          : indent(ndjson),
    );
  }
  return out.join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

if (require.main === module) {
  const { args, env, dryRun } = invocation(process.argv.slice(2), process.env);
  if (dryRun) {
    process.stderr.write(
      'OPENSEARCH_ENDPOINT is not set: dry run (INDEXER_DRY_RUN=true), the bulk request is logged, not sent\n',
    );
  }
  const readable = dryRun && process.stderr.isTTY === true;
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env,
    stdio: ['inherit', 'inherit', readable ? 'pipe' : 'inherit'],
  });
  if (readable && child.stderr !== null) {
    const color = process.env.NO_COLOR === undefined;
    createInterface({ input: child.stderr }).on('line', (line) =>
      process.stderr.write(`${readableLine(line, color)}\n`),
    );
  }
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 1 : 0);
  });
}

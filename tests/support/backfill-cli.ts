/**
 * Runs `scripts/backfill.ts` / `scripts/reindex.ts` as a child process, exactly as
 * `npm run backfill` would (tsx), but as ONE node process (`node --import tsx`): a signal sent to
 * it reaches the command itself, not a wrapper, so SIGINT and SIGKILL behave as for a user.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './packaged';
import type { Item } from './dynamodb-local';
import { compareDocument } from './table-model';
import type { OpenSearchStandIn } from './opensearch-stand-in';

export interface CliRun {
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
}

/** Variables from the test runner's shell that would change what the command does. */
const STRIPPED = /^(AWS_|OPENSEARCH_|DEAD_LETTER_|KEY_ATTRIBUTES$|LOG_LEVEL$|INDEXER_|INDEX_)/;

export function startCli(
  script: 'backfill' | 'reindex' | 'setup-index',
  args: readonly string[],
  env: Record<string, string>,
): CliRun {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !STRIPPED.test(k)) base[k] = v;
  }
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join('scripts', `${script}.ts`), ...args],
    {
      cwd: REPO_ROOT,
      env: { ...base, ...env, NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, exit, stdout: () => out, stderr: () => err };
}

export async function runCli(
  script: 'backfill' | 'reindex' | 'setup-index',
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = startCli(script, args, env);
  const { code } = await run.exit;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** The JSON summary line a backfill prints on stdout. */
export function summaryOf(stdout: string): Record<string, unknown> {
  const line = stdout
    .split('\n')
    .reverse()
    .find((l) => l.includes('"backfill summary"'));
  if (line === undefined) throw new Error(`no summary in stdout: ${stdout}`);
  return JSON.parse(line) as Record<string, unknown>;
}

/** Items read so far according to a checkpoint file (0 when there is none yet). */
export function checkpointItems(path: string): number {
  try {
    const cp = JSON.parse(readFileSync(path, 'utf8')) as { segments: { items: number }[] };
    return cp.segments.reduce((n, s) => n + s.items, 0);
  } catch {
    return 0;
  }
}

export async function waitFor(
  condition: () => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `userId|transactionId` for the article's table (lib/ids.ts rule for N keys). */
export const articleId = (item: Item): string => `${item.userId?.N}|${item.transactionId?.N}`;

/**
 * Differences between the index behind `name` and the table's items (empty = exactly equal):
 * missing ids, extra ids, and documents that differ from the item.
 */
export function indexVersusTable(
  os: OpenSearchStandIn,
  name: string,
  items: readonly Item[],
): string[] {
  const docs = os.readIndex(name).docs;
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const item of items) {
    const id = articleId(item);
    ids.add(id);
    const doc = docs.get(id);
    if (doc === undefined) {
      problems.push(`missing ${id}`);
      continue;
    }
    const diff = compareDocument(item as never, doc.rawSource);
    if (diff !== null) problems.push(`${id}: ${diff}`);
  }
  for (const id of docs.keys()) if (!ids.has(id)) problems.push(`extra ${id}`);
  return problems;
}

export function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

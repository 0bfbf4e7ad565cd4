/**
 * Runs the Serverless Framework (osls) on a private copy of the service, so that packaging and
 * `invoke local` in these suites never race each other, another suite, or a developer's own
 * `serverless package` over the shared `.esbuild/` and `.serverless/` folders of the checkout.
 * The copy holds the service's own files; node_modules is a symlink to the checkout's.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
const SERVICE_FILES = [
  'serverless.yml',
  'esbuild.plugins.js',
  'deployment-bucket.plugin.js',
  'handler.ts',
  'backfill-worker.ts',
  'stepfunctions',
  'lib',
  'scripts',
  'events',
  'package.json',
  'tsconfig.json',
];
export const OSLS_BIN = require.resolve('osls/bin/serverless.js', { paths: [ROOT] });

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** A fresh copy of the service in a temp dir. */
export function copyService(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'indexer-sls-'));
  for (const name of SERVICE_FILES) {
    const from = path.join(ROOT, name);
    if (existsSync(from)) cpSync(from, path.join(dir, name), { recursive: true });
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A minimal environment: nothing from the test runner's shell (no AWS_* variables, no
 * OPENSEARCH_*), only what a run needs plus `env`.
 */
export function cleanEnv(env: Record<string, string>): Record<string, string> {
  const base: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'SystemRoot']) {
    const value = process.env[name];
    if (value !== undefined) base[name] = value;
  }
  return { ...base, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', ...env };
}

/** Runs `node <args>` in `cwd` and collects its output. */
export function runNode(
  args: readonly string[],
  options: { cwd: string; env: Record<string, string>; timeoutMs: number },
): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `node ${args.join(' ')} timed out after ${options.timeoutMs} ms\n${stdout}\n${stderr}`,
        ),
      );
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

export function runServerless(
  dir: string,
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 90_000,
): Promise<RunResult> {
  return runNode([OSLS_BIN, ...args], { cwd: dir, env: cleanEnv(env), timeoutMs });
}

/** The last top-level JSON object printed on stdout (invoke local prints the response last). */
export function lastJsonObject(stdout: string): unknown {
  const end = stdout.lastIndexOf('}');
  for (
    let start = stdout.lastIndexOf('{', end);
    start >= 0;
    start = stdout.lastIndexOf('{', start - 1)
  ) {
    try {
      return JSON.parse(stdout.slice(start, end + 1));
    } catch {
      // not yet the outermost brace
    }
  }
  throw new Error(`no JSON object in:\n${stdout}`);
}

/** JSON lines (the handler's logs) from stderr; other lines are skipped. */
export function jsonLines(stderr: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a log line
    }
  }
  return lines;
}

export { zipEntries, type ZipEntry } from '../support/zip';

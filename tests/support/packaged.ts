/**
 * The `packaged` e2e target: the handler.js inside `.serverless/indexer.zip` produced by
 * `npx serverless package`. `ensurePackagedHandler()` rebuilds the package when asked
 * (E2E_PACKAGE=1), when the zip is missing, or when it is older than any file it is built from, so
 * the suites never test a stale artifact. It extracts the zip to a temp dir and returns the path
 * of handler.js, or a reason why it is not available. jest runs it once as a globalSetup
 * (global-setup-packaged.ts), and the packaged suites call it too.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { unzip } from './zip';

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const PACKAGE_ZIP = join(REPO_ROOT, '.serverless', 'indexer.zip');

export type PackagedHandler =
  | { readonly available: true; readonly handlerPath: string; readonly zip: string }
  | { readonly available: false; readonly reason: string };

let cached: PackagedHandler | undefined;

/** What the package is built from: a zip older than any of these is stale. */
const PACKAGE_SOURCES = [
  'handler.ts',
  'lib',
  'serverless.yml',
  'esbuild.plugins.js',
  'deployment-bucket.plugin.js',
  'package-lock.json',
];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

/** True when the zip is missing or older than a source it is built from. */
export function packageIsStale(): boolean {
  if (!existsSync(PACKAGE_ZIP)) return true;
  const built = statSync(PACKAGE_ZIP).mtimeMs;
  return PACKAGE_SOURCES.some((name) => newestMtime(join(REPO_ROOT, name)) > built);
}

export function ensurePackagedHandler(
  options: { rebuild?: boolean; log?: (msg: string) => void } = {},
): PackagedHandler {
  if (cached) return cached;
  const log = options.log ?? ((m: string) => console.log(m));
  // E2E_PACKAGE_BUILT is set by the globalSetup after it rebuilt, so workers do not rebuild again.
  const rebuild =
    options.rebuild ??
    (process.env['E2E_PACKAGE'] === '1' && process.env['E2E_PACKAGE_BUILT'] !== '1');
  if (rebuild || (process.env['E2E_PACKAGE_BUILT'] !== '1' && packageIsStale())) {
    if (!existsSync(join(REPO_ROOT, 'serverless.yml'))) {
      return (cached = {
        available: false,
        reason: 'no serverless.yml, cannot run `npx serverless package`',
      });
    }
    log(
      `[e2e packaged] running \`npx serverless package\` (${rebuild ? 'E2E_PACKAGE=1' : 'zip missing or older than its sources'})`,
    );
    const r = spawnSync('npx', ['--no-install', 'serverless', 'package'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 300_000,
      env: {
        ...process.env,
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
        CI: 'true',
      },
    });
    if (r.status !== 0 || !existsSync(PACKAGE_ZIP)) {
      const tail = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
      return (cached = {
        available: false,
        reason: `\`npx serverless package\` failed (exit ${r.status ?? r.signal}):\n${tail}`,
      });
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'indexer-packaged-'));
  let names: string[];
  try {
    names = unzip(PACKAGE_ZIP, dir).map((entry) => entry.name);
  } catch (e) {
    return (cached = {
      available: false,
      reason: `cannot extract ${PACKAGE_ZIP}: ${(e as Error).message}`,
    });
  }
  const handlerName = names.includes('handler.js')
    ? 'handler.js'
    : names.find((n) => /(^|\/)handler\.js$/.test(n));
  if (!handlerName)
    return (cached = {
      available: false,
      reason: `no handler.js in ${PACKAGE_ZIP} (entries: ${names.slice(0, 10).join(', ')})`,
    });
  return (cached = { available: true, handlerPath: join(dir, handlerName), zip: PACKAGE_ZIP });
}

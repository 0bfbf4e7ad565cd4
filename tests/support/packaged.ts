/**
 * The `packaged` e2e target: the handler.js inside `.serverless/indexer.zip` produced by
 * `npx serverless package`. `ensurePackagedHandler()` rebuilds the package when asked
 * (E2E_PACKAGE=1), when the zip is missing, or when it is older than any file it is built from, so
 * the suites never test a stale artifact. It extracts the zip to a temp dir and returns the path
 * of handler.js, or a reason why it is not available. jest runs it once as a globalSetup
 * (global-setup-packaged.ts), and the packaged suites call it too.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { inflateRawSync } from 'node:zlib';

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const PACKAGE_ZIP = join(REPO_ROOT, '.serverless', 'indexer.zip');

export type PackagedHandler =
  | { readonly available: true; readonly handlerPath: string; readonly zip: string }
  | { readonly available: false; readonly reason: string };

/** Minimal ZIP reader (stored and deflated entries), enough for a serverless package. */
export function unzip(zipPath: string, destDir: string): string[] {
  const buf = readFileSync(zipPath);
  // End of central directory: signature 0x06054b50, within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65_557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${zipPath} is not a zip file (no end of central directory)`);
  const entries = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const written: string[] = [];
  for (let n = 0; n < entries; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('bad central directory entry');
    const method = buf.readUInt16LE(p + 10);
    const compressedSize = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const localOffset = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    if (name.endsWith('/')) continue;
    if (name.split('/').some((s) => s === '..') || name.startsWith('/'))
      throw new Error(`unsafe path in zip: ${name}`);
    const lNameLen = buf.readUInt16LE(localOffset + 26);
    const lExtraLen = buf.readUInt16LE(localOffset + 28);
    const dataStart = localOffset + 30 + lNameLen + lExtraLen;
    const data = buf.subarray(dataStart, dataStart + compressedSize);
    const content = method === 0 ? data : method === 8 ? inflateRawSync(data) : undefined;
    if (!content) throw new Error(`unsupported compression method ${method} for ${name}`);
    const out = join(destDir, name);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, content);
    written.push(name);
  }
  return written;
}

let cached: PackagedHandler | undefined;

/** What the package is built from: a zip older than any of these is stale. */
const PACKAGE_SOURCES = [
  'handler.ts',
  'lib',
  'serverless.yml',
  'esbuild.plugins.js',
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
    names = unzip(PACKAGE_ZIP, dir);
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

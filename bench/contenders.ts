/**
 * Contenders: what is benchmarked, and how each is obtained.
 *
 * - ours:       our handler AS PACKAGED by `npx serverless package` (the zip is extracted and its
 *               handler module required), in the packaged function's default configuration;
 *               falls back to an esbuild bundle of handler.ts, clearly labelled, when no zip can
 *               be had.
 * - ours-gzip:  the same module with BULK_COMPRESSION=gzip (to decide whether gzip should be the
 *               default).
 * - lean-floor: bench/lean-floor.ts, the least work any indexer must do, written as cheaply as
 *               we can (the reference for the targets).
 * - floor:      bench/floor.ts, the previous floor (plain conversion, http.request), kept as a
 *               second reference so results stay comparable with earlier runs.
 * - peer:       dynamodb-stream-elasticsearch@3.3.1 (useBulk) with its aws-sdk v2 peer, installed
 *               in a scratch folder; a comparison only, never a project dependency.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { Invoker } from './driver';
import { unzip } from '../tests/support/zip';

export type ContenderId = 'ours' | 'ours-gzip' | 'lean-floor' | 'floor' | 'peer';

export interface Contender {
  readonly id: ContenderId;
  readonly label: string;
  readonly invoker: Invoker;
  /** Extra environment for this contender's processes (on top of the common one). */
  readonly env: Readonly<Record<string, string>>;
  /** Module whose require() time is measured; undefined when it is another row's module. */
  readonly loadModule: string | undefined;
}

export interface OursArtifact {
  readonly source: 'packaged' | 'esbuild-fallback';
  /** How the artifact was obtained, for the report. */
  readonly origin: string;
  readonly zipPath: string | undefined;
  readonly zipBytes: number | undefined;
  readonly handlerPath: string;
  readonly exportName: string;
  readonly bundleBytes: number;
  /** handler.js.map next to the handler, when the package has one (used to read profiles). */
  readonly sourceMapPath: string | undefined;
  /** String-valued environment of the packaged function (the deployed default configuration). */
  readonly functionEnv: Readonly<Record<string, string>>;
  readonly functionEnvOrigin: string;
  /** NODE_OPTIONS of the packaged function (a runtime flag, measured as a context row only). */
  readonly nodeOptions: string | undefined;
  readonly warnings: string[];
}

export interface PeerArtifact {
  readonly modulePath: string;
  readonly version: string;
  readonly awsSdkVersion: string;
  /** Every installed file: the peer, its dependencies and aws-sdk v2. */
  readonly installedBytes: number;
  /** The peer and its own dependencies without aws-sdk v2 (not in Lambda's Node >= 18 runtimes). */
  readonly installedBytesWithoutAwsSdk: number;
  readonly reused: boolean;
}

export const PEER_NAME = 'dynamodb-stream-elasticsearch';
export const PEER_VERSION = '3.3.1';
export const INDEX = 'transactions';

/**
 * The function environment as serverless.yml deploys it today, used only when no packaged
 * template can be read (esbuild fallback). NODE_OPTIONS is left out on purpose, see runner.
 */
const FALLBACK_FUNCTION_ENV: Record<string, string> = {
  KEY_ATTRIBUTES: 'userId,transactionId',
  OPENSEARCH_INDEX: INDEX,
  TTL_DELETES: 'delete',
  LOG_LEVEL: 'info',
  OPENSEARCH_AUTH: 'sigv4',
  OPENSEARCH_SIGV4_SERVICE: 'es',
  OPENSEARCH_VERSIONING: 'external',
  DEAD_LETTER_PREFIX: 'dead-letter/',
  INDEXER_DRY_RUN: 'false',
};

/** Variables the bench sets itself (or must not take from the template). */
const NOT_FROM_TEMPLATE = new Set(['NODE_OPTIONS', 'OPENSEARCH_ENDPOINT', 'DEAD_LETTER_BUCKET']);

/** Inputs of the packaged artifact: a zip older than any of them is stale. */
function newestSourceMtime(root: string): number {
  let newest = 0;
  const visit = (path: string): void => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const name of readdirSync(path)) visit(join(path, name));
    } else if (/\.(ts|js|json|ya?ml)$/.test(path)) {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  for (const p of ['handler.ts', 'lib', 'serverless.yml', 'package-lock.json'])
    visit(join(root, p));
  return newest;
}

/** The indexer's zip: the stack also packages the backfill worker (backfillSegment.zip). */
const INDEXER_ZIP = 'indexer.zip';
const INDEXER_RESOURCE = 'IndexerLambdaFunction';

function zipIn(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  return readdirSync(dir).includes(INDEXER_ZIP) ? join(dir, INDEXER_ZIP) : undefined;
}

interface TemplateFunction {
  handler: string;
  env: Record<string, string>;
  nodeOptions: string | undefined;
}

/** The packaged function's Handler and string environment, from the CloudFormation template. */
function readTemplate(dir: string): TemplateFunction | undefined {
  const file = join(dir, 'cloudformation-template-update-stack.json');
  if (!existsSync(file)) return undefined;
  const template = JSON.parse(readFileSync(file, 'utf8')) as {
    Resources?: Record<string, { Type?: string; Properties?: Record<string, unknown> }>;
  };
  const resource = template.Resources?.[INDEXER_RESOURCE];
  if (resource?.Type === 'AWS::Lambda::Function') {
    const props = resource.Properties ?? {};
    const variables =
      (props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(variables)) {
      if (typeof value === 'string' && !NOT_FROM_TEMPLATE.has(name)) env[name] = value;
    }
    const nodeOptions =
      typeof variables.NODE_OPTIONS === 'string' ? variables.NODE_OPTIONS : undefined;
    return {
      handler: typeof props.Handler === 'string' ? props.Handler : 'handler.handler',
      env,
      nodeOptions,
    };
  }
  return undefined;
}

function run(
  command: string,
  args: string[],
  options: { cwd: string; timeoutMs: number; log: string; env?: NodeJS.ProcessEnv },
): boolean {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    timeout: options.timeoutMs,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  mkdirSync(dirname(options.log), { recursive: true });
  writeFileSync(
    options.log,
    `$ ${command} ${args.join(' ')}\n(exit ${result.status}${result.error ? `, ${result.error.message}` : ''})\n${result.stdout ?? ''}\n${result.stderr ?? ''}`,
  );
  return result.status === 0;
}

export interface PrepareOursOptions {
  readonly root: string;
  readonly tmp: string;
  /** Always run `serverless package`, even when .serverless holds a fresh zip. */
  readonly repackage: boolean;
  /** Use this zip as is. */
  readonly zip: string | undefined;
  readonly packageTimeoutMs: number;
  readonly log: (line: string) => void;
}

/**
 * Finds or builds the packaged zip, extracts it, and reads the function's configuration:
 * an explicit --zip; else a fresh `.serverless/*.zip`; else `npx serverless package` into the
 * scratch folder (never touching .serverless/, which another engineer's work may own); else a
 * stale `.serverless` zip (flagged); else the esbuild fallback (flagged, not the artifact).
 */
export function prepareOurs(options: PrepareOursOptions): OursArtifact {
  const { root, tmp, log } = options;
  const warnings: string[] = [];
  let zipPath: string | undefined;
  let origin = '';

  if (options.zip !== undefined) {
    zipPath = options.zip;
    origin = `given with --zip (${options.zip})`;
  }
  const committed = zipIn(join(root, '.serverless'));
  const fresh = committed !== undefined && statSync(committed).mtimeMs >= newestSourceMtime(root);
  if (zipPath === undefined && committed !== undefined && fresh && !options.repackage) {
    zipPath = committed;
    origin = `npx serverless package (existing ${relative(root, committed)}, newer than the sources)`;
  }
  if (zipPath === undefined) {
    const out = join(tmp, 'serverless');
    rmSync(out, { recursive: true, force: true });
    log(`packaging: npx serverless package --package ${relative(root, out)} ...`);
    const started = Date.now();
    const ok = run('npx', ['--no-install', 'serverless', 'package', '--package', out], {
      cwd: root,
      timeoutMs: options.packageTimeoutMs,
      log: join(tmp, 'logs', 'serverless-package.log'),
    });
    const packaged = ok ? zipIn(out) : undefined;
    if (packaged !== undefined) {
      zipPath = packaged;
      origin = `npx serverless package (fresh, ${((Date.now() - started) / 1000).toFixed(1)} s)`;
    } else if (committed !== undefined) {
      zipPath = committed;
      origin = `npx serverless package (existing ${relative(root, committed)})`;
      warnings.push(
        `serverless package failed (see .bench-tmp/logs/serverless-package.log); using ${relative(root, committed)}, which is OLDER than the sources`,
      );
    } else {
      warnings.push('serverless package failed (see .bench-tmp/logs/serverless-package.log)');
    }
  }

  if (zipPath !== undefined) {
    const dir = join(tmp, 'ours');
    rmSync(dir, { recursive: true, force: true });
    unzip(zipPath, dir);
    const template = readTemplate(dirname(zipPath));
    const handler = template?.handler ?? 'handler.handler';
    const dot = handler.lastIndexOf('.');
    const handlerPath = join(dir, `${handler.slice(0, dot)}.js`);
    if (template === undefined) {
      warnings.push(
        'no packaged CloudFormation template next to the zip: default environment assumed',
      );
    }
    return {
      source: 'packaged',
      origin,
      zipPath,
      zipBytes: statSync(zipPath).size,
      handlerPath,
      exportName: handler.slice(dot + 1),
      bundleBytes: statSync(handlerPath).size,
      sourceMapPath: existsSync(`${handlerPath}.map`) ? `${handlerPath}.map` : undefined,
      functionEnv: template?.env ?? FALLBACK_FUNCTION_ENV,
      functionEnvOrigin: template
        ? `the packaged ${relative(root, join(dirname(zipPath), 'cloudformation-template-update-stack.json'))}`
        : 'bench defaults',
      nodeOptions: template?.nodeOptions,
      warnings,
    };
  }

  const dir = join(tmp, 'esbuild-fallback');
  rmSync(dir, { recursive: true, force: true });
  const outfile = join(dir, 'handler.js');
  const esbuild = join(root, 'node_modules', '.bin', 'esbuild');
  const ok = run(
    esbuild,
    [
      'handler.ts',
      '--bundle',
      '--platform=node',
      '--target=node22',
      '--format=cjs',
      '--minify',
      '--sourcemap',
      `--outfile=${outfile}`,
    ],
    { cwd: root, timeoutMs: 120_000, log: join(tmp, 'logs', 'esbuild-fallback.log') },
  );
  if (!ok)
    throw new Error('neither serverless package nor the esbuild fallback produced a handler');
  warnings.push('ESBUILD FALLBACK: these figures are NOT from the packaged artifact');
  return {
    source: 'esbuild-fallback',
    origin: 'esbuild fallback, not the packaged artifact',
    zipPath: undefined,
    zipBytes: undefined,
    handlerPath: outfile,
    exportName: 'handler',
    bundleBytes: statSync(outfile).size,
    sourceMapPath: `${outfile}.map`,
    functionEnv: FALLBACK_FUNCTION_ENV,
    functionEnvOrigin: 'bench defaults (serverless.yml as of writing)',
    nodeOptions: '--enable-source-maps',
    warnings,
  };
}

function relative(root: string, path: string): string {
  return path.startsWith(root + '/') ? path.slice(root.length + 1) : path;
}

function readVersion(packageDir: string): string | undefined {
  try {
    return (
      JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version?: string }
    ).version;
  } catch {
    return undefined;
  }
}

/** Apparent size of every file under `dir`, optionally not descending into nested node_modules. */
function treeBytes(dir: string, skipNodeModules: boolean): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (skipNodeModules && entry.name === 'node_modules') continue;
      total += treeBytes(path, skipNodeModules);
    } else if (entry.isFile()) {
      total += statSync(path).size;
    }
  }
  return total;
}

/** Size of a package and its dependency closure (node's resolution), excluding `without`. */
function closureBytes(nodeModules: string, name: string, without: Set<string>): number {
  const seen = new Set<string>();
  const visit = (dep: string, from: string): number => {
    if (without.has(dep)) return 0;
    const nested = join(from, 'node_modules', dep);
    const dir = existsSync(nested) ? nested : join(nodeModules, dep);
    if (seen.has(dir) || !existsSync(dir)) return 0;
    seen.add(dir);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    let total = treeBytes(dir, true);
    for (const child of Object.keys(pkg.dependencies ?? {})) total += visit(child, dir);
    return total;
  };
  return visit(name, nodeModules);
}

/**
 * Installs the peer in `<tmp>/peer` (reused when already there), or returns why it could not.
 */
export function preparePeer(
  tmp: string,
  timeoutMs: number,
  log: (line: string) => void,
): PeerArtifact | { skipped: string } {
  const dir = join(tmp, 'peer');
  const nodeModules = join(dir, 'node_modules');
  const peerDir = join(nodeModules, PEER_NAME);
  const ready = (): boolean =>
    readVersion(peerDir) === PEER_VERSION &&
    (readVersion(join(nodeModules, 'aws-sdk')) ?? '').startsWith('2.');
  let reused = true;
  if (!ready()) {
    reused = false;
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({
        private: true,
        description: 'bench scratch: comparison peer, not a dependency',
      }),
    );
    log(`installing ${PEER_NAME}@${PEER_VERSION} and aws-sdk@2 into ${dir} ...`);
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const key of Object.keys(env)) {
      if (
        /^npm_config_(local_prefix|prefix|global|workspaces?|include_workspace_root|save)/i.test(
          key,
        )
      ) {
        delete env[key];
      }
    }
    run(
      'npm',
      [
        'install',
        `${PEER_NAME}@${PEER_VERSION}`,
        'aws-sdk@2',
        '--no-save',
        '--no-package-lock',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        '--prefix',
        dir,
      ],
      { cwd: dir, timeoutMs, log: join(tmp, 'logs', 'peer-install.log'), env },
    );
    if (!ready()) return { skipped: 'npm install failed (see .bench-tmp/logs/peer-install.log)' };
  }
  return {
    modulePath: peerDir,
    version: PEER_VERSION,
    awsSdkVersion: readVersion(join(nodeModules, 'aws-sdk')) ?? '?',
    installedBytes: treeBytes(nodeModules, false),
    installedBytesWithoutAwsSdk: closureBytes(nodeModules, PEER_NAME, new Set(['aws-sdk'])),
    reused,
  };
}

export function contenders(
  ours: OursArtifact,
  floors: { lean: string; previous: string },
  peer: PeerArtifact | undefined,
): Contender[] {
  const fallback =
    ours.source === 'esbuild-fallback' ? ' [esbuild fallback, not the packaged artifact]' : '';
  const oursInvoker: Invoker = {
    kind: 'lambda',
    modulePath: ours.handlerPath,
    exportName: ours.exportName,
    expectBatchResponse: true,
  };
  const list: Contender[] = [
    {
      id: 'ours',
      label: `ours (default config)${fallback}`,
      invoker: oursInvoker,
      env: {},
      loadModule: ours.handlerPath,
    },
    {
      id: 'ours-gzip',
      label: `ours + BULK_COMPRESSION=gzip${fallback}`,
      invoker: oursInvoker,
      env: { BULK_COMPRESSION: 'gzip' },
      loadModule: undefined,
    },
    {
      id: 'lean-floor',
      label: 'lean floor (typed pass, stringify, raw POST)',
      invoker: {
        kind: 'lambda',
        modulePath: floors.lean,
        exportName: 'handler',
        expectBatchResponse: false,
      },
      env: {},
      loadModule: floors.lean,
    },
    {
      id: 'floor',
      label: 'previous floor (plain conversion, http.request)',
      invoker: {
        kind: 'lambda',
        modulePath: floors.previous,
        exportName: 'handler',
        expectBatchResponse: false,
      },
      env: {},
      loadModule: floors.previous,
    },
  ];
  if (peer !== undefined) {
    list.push({
      id: 'peer',
      label: `peer ${PEER_NAME}@${peer.version}`,
      invoker: { kind: 'peer', modulePath: peer.modulePath, index: INDEX },
      env: {},
      loadModule: peer.modulePath,
    });
  }
  return list;
}

/**
 * End-to-end harness: starts the stand-ins on 127.0.0.1, loads a fresh instance of the handler
 * under test with a scenario's environment, runs a table history through the ESM simulator and
 * reads back the index and the dead-letter bucket.
 *
 * Targets (E2E target selection):
 *  - `source`:   handler.ts through jest's transform (coverage of lib/ counts);
 *  - `packaged`: handler.js from .serverless/indexer.zip (see packaged.ts);
 *  - `real`:     a real OpenSearch at OPENSEARCH_URL (loopback only: all test traffic stays on
 *                this machine), OPENSEARCH_AUTH=none, a unique index per scenario, no faults.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { EsmSimulator, type EsmOptions, type StreamHandler } from './esm-simulator';
import { parseLossless, member, type JsonNode } from './lossless-json';
import { OpenSearchStandIn, type OpenSearchStandInOptions } from './opensearch-stand-in';
import { ensurePackagedHandler, REPO_ROOT } from './packaged';
import { S3StandIn } from './s3-stand-in';
import { httpRequest } from './sign';
import type { Sigv4Credentials } from './sigv4-verifier';

export type Target = 'source' | 'packaged' | 'real';

/** handler.ts, loaded through jest's transform for the `source` and `real` targets. */
const SOURCE_HANDLER = join(REPO_ROOT, 'handler.ts');

export interface TargetInfo {
  readonly target: Target;
  readonly available: boolean;
  readonly reason: string | undefined;
  readonly handlerPath: string | undefined;
  readonly realUrl: string | undefined;
}

/** Decides whether a target can run here; prints a visible line when it cannot. */
export function resolveTarget(target: Target): TargetInfo {
  const none = { realUrl: undefined, handlerPath: undefined };
  if (target === 'source')
    return {
      target,
      available: true,
      reason: undefined,
      ...none,
      handlerPath: SOURCE_HANDLER,
    };
  if (target === 'packaged') {
    const p = ensurePackagedHandler();
    if (!p.available)
      return {
        target,
        available: false,
        reason: `skipped: packaged handler not available: ${p.reason}`,
        ...none,
      };
    return {
      target,
      available: true,
      reason: undefined,
      realUrl: undefined,
      handlerPath: p.handlerPath,
    };
  }
  const url = process.env['OPENSEARCH_URL'];
  if (!url)
    return {
      target,
      available: false,
      reason: 'skipped: set OPENSEARCH_URL to run against a real cluster',
      ...none,
    };
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return {
      target,
      available: false,
      reason: `skipped: OPENSEARCH_URL ${JSON.stringify(url)} is not a URL`,
      ...none,
    };
  }
  if (host !== '127.0.0.1' && host !== 'localhost') {
    return {
      target,
      available: false,
      reason: `skipped: OPENSEARCH_URL must be a loopback address (test traffic stays on this machine), got ${host}`,
      ...none,
    };
  }
  return {
    target,
    available: true,
    reason: undefined,
    realUrl: url.replace(/\/+$/, ''),
    handlerPath: SOURCE_HANDLER,
  };
}

/** Variables the harness owns: cleared before each scenario so nothing leaks in from the shell. */
const OWNED_ENV =
  /^(AWS_|OPENSEARCH_|DEAD_LETTER_|BULK_|TTL_DELETES$|SOURCE_TABLE$|INDEXER_|KEY_ATTRIBUTES$|RETRY_|REQUEST_TIMEOUT_MS$|DEADLINE_MARGIN_MS$|LOG_LEVEL$|HTTPS?_PROXY$|https?_proxy$|NO_PROXY$|no_proxy$)/;

export interface DeadLetterView {
  readonly key: string;
  readonly body: string;
  readonly writes: number;
  /** Parsed letters: one per object (the product's format), or several (array / NDJSON). */
  readonly letters: ReadonlyArray<{
    record: unknown;
    errorType: unknown;
    reason: unknown;
    index: unknown;
    raw: Record<string, unknown>;
  }>;
  readonly parseError: string | undefined;
}

export interface IndexedDoc {
  readonly version: string;
  readonly rawSource: string;
}

export interface HarnessOptions {
  readonly target: TargetInfo;
  readonly region?: string;
  readonly standIn?: Partial<OpenSearchStandInOptions>;
  readonly credentials?: Sigv4Credentials;
}

export class E2eHarness {
  readonly region: string;
  readonly credentials: Sigv4Credentials;
  readonly bucket = 'indexer-dead-letters';
  index = 'transactions';
  private savedEnv: Record<string, string | undefined> | undefined;
  /** The handler's structured log lines (stderr JSON) of the current scenario; E2E_LOG=1 prints them too. */
  readonly logs: string[] = [];
  private restoreStderr: (() => void) | undefined;
  private scenarioCount = 0;
  private closed = false;
  private readonly runId = randomBytes(4).toString('hex');

  private constructor(
    readonly target: TargetInfo,
    readonly os: OpenSearchStandIn | undefined,
    readonly s3: S3StandIn,
    region: string,
    credentials: Sigv4Credentials,
  ) {
    this.region = region;
    this.credentials = credentials;
  }

  static async start(options: HarnessOptions): Promise<E2eHarness> {
    const region = options.region ?? 'eu-west-1';
    const credentials = options.credentials ?? {
      accessKeyId: 'AKIAE2ESTANDIN',
      secretAccessKey: 'e2e/secret+key',
      sessionToken: 'e2e-session-token',
    };
    const os =
      options.target.target === 'real'
        ? undefined
        : await OpenSearchStandIn.start({ credentials, region, ...options.standIn });
    const s3 = await S3StandIn.start({ buckets: ['indexer-dead-letters'], credentials, region });
    return new E2eHarness(options.target, os, s3, region, credentials);
  }

  get isReal(): boolean {
    return this.target.target === 'real';
  }

  /** The stand-in (throws on the real target: scenarios that need it are fault scenarios). */
  get standIn(): OpenSearchStandIn {
    if (!this.os) throw new Error('this scenario needs the OpenSearch stand-in');
    return this.os;
  }

  get endpoint(): string {
    return this.target.realUrl ?? (this.os as OpenSearchStandIn).url;
  }

  /**
   * Captures the product's JSON log lines from stderr for the scenario's evidence, instead of
   * flooding the test output; other writes pass through.
   */
  private captureLogs(): void {
    if (this.restoreStderr) return;
    const stderr = process.stderr;
    const original = stderr.write;
    const show = process.env['E2E_LOG'] === '1';
    const logs = this.logs;
    stderr.write = function (
      this: NodeJS.WriteStream,
      chunk: unknown,
      ...rest: unknown[]
    ): boolean {
      const text =
        typeof chunk === 'string'
          ? chunk
          : Buffer.isBuffer(chunk)
            ? chunk.toString('utf8')
            : undefined;
      if (text !== undefined && text.startsWith('{"level":')) {
        logs.push(text.trimEnd());
        if (logs.length > 2000) logs.splice(0, logs.length - 2000);
        if (!show) {
          const cb = rest.find((x) => typeof x === 'function') as (() => void) | undefined;
          cb?.();
          return true;
        }
      }
      return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof stderr.write;
    this.restoreStderr = () => {
      stderr.write = original;
    };
  }

  /** Starts a scenario: clean stand-ins, a fresh index name on the real target, a clean env. */
  async newScenario(): Promise<void> {
    this.restoreEnv();
    this.logs.length = 0;
    if (this.os) await this.os.quiesce();
    this.os?.reset();
    this.s3.reset();
    this.scenarioCount++;
    if (this.isReal) {
      if (this.scenarioCount > 1) await this.deleteRealIndex();
      this.index = `e2e-${this.runId}-${this.scenarioCount}`;
    } else {
      this.index = 'transactions';
    }
  }

  baseEnv(): Record<string, string> {
    return {
      OPENSEARCH_ENDPOINT: this.endpoint,
      OPENSEARCH_INDEX: this.index,
      OPENSEARCH_AUTH: this.isReal ? 'none' : 'sigv4',
      AWS_REGION: this.region,
      AWS_ACCESS_KEY_ID: this.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: this.credentials.secretAccessKey,
      ...(this.credentials.sessionToken
        ? { AWS_SESSION_TOKEN: this.credentials.sessionToken }
        : {}),
      DEAD_LETTER_BUCKET: this.bucket,
      AWS_ENDPOINT_URL_S3: this.s3.url,
      AWS_EC2_METADATA_DISABLED: 'true',
      NO_PROXY: '127.0.0.1,localhost',
      LOG_LEVEL: process.env['E2E_LOG_LEVEL'] ?? 'error',
    };
  }

  /**
   * Sets the environment (base + overrides; `undefined` removes a variable) and loads a FRESH
   * module instance of the handler, which reads its configuration once. The environment stays
   * set until the next scenario or close(), since the handler may read it on first invocation.
   */
  loadHandler(overrides: Record<string, string | undefined> = {}): StreamHandler {
    this.restoreEnv();
    this.savedEnv = { ...process.env };
    for (const k of Object.keys(process.env)) if (OWNED_ENV.test(k)) delete process.env[k];
    for (const [k, v] of Object.entries({ ...this.baseEnv(), ...overrides })) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    this.captureLogs();
    const path = this.target.handlerPath;
    if (!path) throw new Error(`target ${this.target.target} has no handler`);
    let mod: { handler?: unknown } | undefined;
    jest.isolateModules(() => {
      mod =
        path === SOURCE_HANDLER
          ? // A literal path, so Jest's related-tests lookup links every e2e test to handler.ts
            // and through it to lib/ (it cannot follow a path held in a variable, nor a call with
            // type arguments).
            (jest.requireActual('../../handler') as { handler?: unknown })
          : jest.requireActual<{ handler?: unknown }>(path);
    });
    const handler = mod?.handler;
    if (typeof handler !== 'function')
      throw new Error(`${path} does not export a handler function`);
    return handler as StreamHandler;
  }

  /** A simulator whose timeouts reload the handler with the same environment (a fresh sandbox). */
  simulator<R = DynamoDBRecord>(
    handler: StreamHandler<R>,
    options: EsmOptions<R> = {},
  ): EsmSimulator<R> {
    const env = { ...process.env };
    return new EsmSimulator<R>(handler, {
      ...options,
      shouldStop: () => this.closed || (options.shouldStop?.() ?? false),
      reloadHandler: () => {
        const overrides: Record<string, string | undefined> = {};
        for (const [k, v] of Object.entries(env)) if (OWNED_ENV.test(k)) overrides[k] = v;
        // One handler serves both event kinds (handler.ts); only the simulator's typing differs.
        return this.loadHandler(overrides) as unknown as StreamHandler<R>;
      },
    });
  }

  restoreEnv(): void {
    if (!this.savedEnv) return;
    for (const k of Object.keys(process.env)) if (!(k in this.savedEnv)) delete process.env[k];
    for (const [k, v] of Object.entries(this.savedEnv)) if (v !== undefined) process.env[k] = v;
    this.savedEnv = undefined;
  }

  /** Creates the index with explicit settings/mappings (as the product's setup script would). */
  async createIndex(body: { settings?: unknown; mappings?: unknown }): Promise<void> {
    if (this.os) {
      this.os.createIndex(this.index, body);
      return;
    }
    const r = await httpRequest(`${this.endpoint}/${this.index}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (r.status !== 200)
      throw new Error(`creating ${this.index} on the real cluster: HTTP ${r.status} ${r.text}`);
  }

  /** The whole index: id -> {version, rawSource}. */
  async readIndex(): Promise<Map<string, IndexedDoc>> {
    if (this.os) {
      const out = new Map<string, IndexedDoc>();
      for (const [id, d] of this.os.readIndex(this.index).docs)
        out.set(id, { version: d.version.toString(), rawSource: d.rawSource });
      return out;
    }
    return this.readRealIndex();
  }

  private async readRealIndex(): Promise<Map<string, IndexedDoc>> {
    const out = new Map<string, IndexedDoc>();
    const base = this.endpoint;
    const head = await httpRequest(`${base}/${this.index}`, { method: 'HEAD' });
    if (head.status === 404) return out;
    await httpRequest(`${base}/${this.index}/_refresh`, { method: 'POST' });
    let r = await httpRequest(`${base}/${this.index}/_search?scroll=1m`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ size: 500, version: true, query: { match_all: {} } }),
    });
    for (let page = 0; page < 200; page++) {
      if (r.status !== 200)
        throw new Error(`search on the real cluster: HTTP ${r.status} ${r.text.slice(0, 500)}`);
      const root = parseLossless(r.text);
      const hits = member(member(root, 'hits'), 'hits');
      if (!hits || hits.kind !== 'array' || hits.items.length === 0) break;
      for (const hit of hits.items) {
        const id = member(hit, '_id');
        const version = member(hit, '_version');
        const source = member(hit, '_source') as JsonNode;
        if (id?.kind !== 'string' || version?.kind !== 'number' || !source)
          throw new Error('unexpected hit shape');
        out.set(id.value, {
          version: version.raw,
          rawSource: r.text.slice(source.start, source.end),
        });
      }
      const scrollId = member(root, '_scroll_id');
      if (scrollId?.kind !== 'string') break;
      r = await httpRequest(`${base}/_search/scroll`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ scroll: '1m', scroll_id: scrollId.value }),
      });
    }
    return out;
  }

  private async deleteRealIndex(): Promise<void> {
    if (!this.isReal) return;
    await httpRequest(`${this.endpoint}/${this.index}`, { method: 'DELETE' }).catch(
      () => undefined,
    );
  }

  /** Every object in the dead-letter bucket, parsed. */
  deadLetters(): DeadLetterView[] {
    return this.s3.list(this.bucket).map((o) => {
      const body = o.body.toString('utf8');
      const letters: Array<Record<string, unknown>> = [];
      let parseError: string | undefined;
      try {
        const trimmed = body.trim();
        if (trimmed.startsWith('['))
          letters.push(...(JSON.parse(trimmed) as Array<Record<string, unknown>>));
        else if (trimmed.includes('\n'))
          for (const line of trimmed.split('\n'))
            letters.push(JSON.parse(line) as Record<string, unknown>);
        else letters.push(JSON.parse(trimmed) as Record<string, unknown>);
      } catch (e) {
        parseError = (e as Error).message;
      }
      return {
        key: o.key,
        body,
        writes: o.writes,
        letters: letters.map((raw) => ({
          record: raw['record'],
          errorType: raw['errorType'],
          reason: raw['reason'],
          index: raw['index'],
          raw,
        })),
        parseError,
      };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.restoreEnv();
    this.restoreStderr?.();
    this.restoreStderr = undefined;
    await this.deleteRealIndex();
    await this.os?.close();
    await this.s3.close();
  }
}

/** The records of a shard slice as a DynamoDBStreamEvent would carry them. */
export function sequenceNumbers(records: readonly DynamoDBRecord[]): string[] {
  return records.map((r) => r.dynamodb?.SequenceNumber ?? '<none>');
}

/**
 * Configuration: read from the environment once per container and validated as a whole, so a bad
 * deploy fails at cold start with one error naming every bad variable.
 */
import { ConfigError } from './errors';
import { emptySummary } from './ledger';
import {
  DEFAULT_METRICS_NAMESPACE,
  DEFAULT_METRICS_SERVICE,
  isValidNamespace,
  checkDimensions,
  splitDimensions,
  type MetricsSpec,
} from './metrics';

export interface Config {
  /** OPENSEARCH_ENDPOINT; undefined only in dry-run. */
  readonly endpoint: URL | undefined;
  readonly index: string;
  readonly auth: 'sigv4' | 'none';
  readonly service: 'es' | 'aoss';
  /** AWS_REGION: the function's region, used for S3. */
  readonly region: string;
  /** Signing region for OpenSearch: OPENSEARCH_REGION, else the endpoint host's, else AWS_REGION. */
  readonly searchRegion: string;
  readonly versioning: boolean;
  readonly ttlDeletes: 'delete' | 'ignore';
  readonly dryRun: boolean;
  readonly deadLetterBucket: string | undefined;
  readonly deadLetterPrefix: string;
  readonly s3Endpoint: URL | undefined;
  readonly keyOrder: readonly string[];
  /** SOURCE_TABLE: with Kinesis, changes of any other table are dead-lettered. */
  readonly sourceTable: string | undefined;
  readonly bulkMaxBytes: number;
  readonly bulkConcurrency: number;
  readonly compression: boolean;
  readonly requestTimeoutMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly deadlineMarginMs: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** EMF metrics in the summary line (METRICS=emf, the default), or undefined for METRICS=off. */
  readonly metrics: MetricsSpec | undefined;
}

const MiB = 1024 * 1024;

/** Defaults of the tuning knobs; the README's configuration table lists the same values. */
export const DEFAULTS = {
  index: 'transactions',
  deadLetterPrefix: 'dead-letter/',
  bulkMaxBytes: 5 * MiB,
  bulkConcurrency: 2,
  requestTimeoutMs: 10_000,
  retryBaseMs: 100,
  retryMaxMs: 5_000,
  deadlineMarginMs: 1_000,
} as const;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

type Env = Readonly<Record<string, string | undefined>>;

/** Parses and validates the environment. Throws ConfigError listing every problem at once. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  function oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = read(name);
    if (value === undefined) return fallback;
    const match = allowed.find((a) => a === value.toLowerCase());
    if (match === undefined)
      problems.push(`${name} must be one of ${allowed.join(', ')} (got "${value}")`);
    return match ?? fallback;
  }
  function integer(name: string, fallback: number, min: number, max: number): number {
    const value = read(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${value}")`);
      return fallback;
    }
    return n;
  }
  function url(name: string, value: string, requireTls: boolean): URL | undefined {
    let parsed: URL;
    try {
      // Without a scheme: https, except on loopback, where a local OpenSearch speaks plain http.
      parsed = /^[a-z][a-z0-9+.-]*:\/\//i.test(value)
        ? new URL(value)
        : new URL(
            `${LOOPBACK_HOSTS.has(new URL(`http://${value}`).hostname) ? 'http' : 'https'}://${value}`,
          );
    } catch {
      problems.push(`${name} is not a URL (got "${value}")`);
      return undefined;
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      problems.push(`${name} must be an http(s) URL (got "${value}")`);
      return undefined;
    }
    if (requireTls && parsed.protocol === 'http:' && !LOOPBACK_HOSTS.has(parsed.hostname)) {
      problems.push(`${name} must use https unless it is localhost or 127.0.0.1 (got "${value}")`);
      return undefined;
    }
    if (parsed.pathname !== '/' || parsed.search !== '' || parsed.username !== '') {
      problems.push(`${name} must be a bare origin such as https://host:port (got "${value}")`);
      return undefined;
    }
    return parsed;
  }

  // Stryker disable next-line StringLiteral: only the fallback 'false' is equivalent (any fallback but 'true' reads as false); the name, the allowed values and the compared 'true' are killed by the config tests (checked by hand).
  const dryRun = oneOf('INDEXER_DRY_RUN', ['true', 'false'], 'false') === 'true';
  const rawEndpoint = read('OPENSEARCH_ENDPOINT');
  let endpoint: URL | undefined;
  if (rawEndpoint !== undefined) endpoint = url('OPENSEARCH_ENDPOINT', rawEndpoint, true);
  else if (!dryRun) problems.push('OPENSEARCH_ENDPOINT is required (or set INDEXER_DRY_RUN=true)');

  const index = read('OPENSEARCH_INDEX') ?? DEFAULTS.index;
  if (!isValidIndexName(index)) {
    problems.push(
      `OPENSEARCH_INDEX must be a lowercase OpenSearch index name without \\ / * ? " < > | , # : or spaces (got "${index}")`,
    );
  }
  const auth = oneOf('OPENSEARCH_AUTH', ['sigv4', 'none'], 'sigv4');
  const service = oneOf(
    'OPENSEARCH_SIGV4_SERVICE',
    ['es', 'aoss'],
    endpoint?.hostname.endsWith('.aoss.amazonaws.com') ? 'aoss' : 'es',
  );
  // The function's own region (Lambda sets AWS_REGION) signs S3; OpenSearch is signed for the
  // region in its endpoint's host when it has one, so a domain in another region works too.
  const hostRegion = regionFromHost(endpoint?.hostname);
  const region = read('AWS_REGION') ?? read('AWS_DEFAULT_REGION') ?? hostRegion ?? '';
  const searchRegion = read('OPENSEARCH_REGION') ?? hostRegion ?? region;
  if (searchRegion === '' && auth === 'sigv4' && !dryRun) {
    problems.push('AWS_REGION (or OPENSEARCH_REGION) is required for OPENSEARCH_AUTH=sigv4');
  }
  if (region === '' && deadLetterBucketSet(env) && !dryRun) {
    problems.push('AWS_REGION is required with DEAD_LETTER_BUCKET');
  }

  const deadLetterBucket = read('DEAD_LETTER_BUCKET');
  if (
    // Stryker disable next-line ConditionalExpression: only `true` is equivalent (RegExp#test(undefined) tests the text "undefined", a valid bucket name); `false` is killed by the bucket tests.
    deadLetterBucket !== undefined &&
    !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(deadLetterBucket)
  ) {
    problems.push(`DEAD_LETTER_BUCKET is not a valid S3 bucket name (got "${deadLetterBucket}")`);
  }
  let deadLetterPrefix = read('DEAD_LETTER_PREFIX') ?? DEFAULTS.deadLetterPrefix;
  if (!deadLetterPrefix.endsWith('/')) deadLetterPrefix += '/';
  if (deadLetterPrefix.startsWith('/')) {
    problems.push(`DEAD_LETTER_PREFIX must not start with "/" (got "${deadLetterPrefix}")`);
  }
  const rawS3Endpoint = read('AWS_ENDPOINT_URL_S3');
  const s3Endpoint =
    rawS3Endpoint === undefined ? undefined : url('AWS_ENDPOINT_URL_S3', rawS3Endpoint, false);

  const keyOrder = (read('KEY_ATTRIBUTES') ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');

  // A Kinesis stream may carry several tables' changes (or the wrong one's): SOURCE_TABLE names
  // the table this index mirrors. DynamoDB's naming rules (CreateTable): 3-255 of [A-Za-z0-9_.-].
  const sourceTable = read('SOURCE_TABLE');
  // Stryker disable next-line ConditionalExpression: only `true` is equivalent (RegExp#test(undefined) tests the text "undefined", a valid table name); `false` is killed by the SOURCE_TABLE tests.
  if (sourceTable !== undefined && !/^[A-Za-z0-9_.-]{3,255}$/.test(sourceTable)) {
    problems.push(`SOURCE_TABLE is not a DynamoDB table name (got "${sourceTable}")`);
  }

  const retryBaseMs = integer('RETRY_BASE_MS', DEFAULTS.retryBaseMs, 1, 60_000);
  const retryMaxMs = integer('RETRY_MAX_MS', DEFAULTS.retryMaxMs, 1, 300_000);
  if (retryMaxMs < retryBaseMs) problems.push('RETRY_MAX_MS must be at least RETRY_BASE_MS');

  const metrics =
    oneOf('METRICS', ['emf', 'off'], 'emf') === 'emf'
      ? metricsSpec(read, problems, index)
      : undefined;

  const config: Config = {
    endpoint,
    index,
    auth,
    service,
    region,
    searchRegion,
    // OpenSearch Serverless does not document external versioning; opt in there explicitly.
    versioning:
      oneOf(
        'OPENSEARCH_VERSIONING',
        ['external', 'off'],
        // Stryker disable next-line StringLiteral: only the fallback 'off' is equivalent (any fallback but 'external' reads as off); 'aoss' and 'external' are killed by the versioning default tests.
        service === 'aoss' ? 'off' : 'external',
      ) === 'external',
    ttlDeletes: oneOf('TTL_DELETES', ['delete', 'ignore'], 'delete'),
    dryRun,
    deadLetterBucket,
    deadLetterPrefix,
    s3Endpoint,
    keyOrder,
    sourceTable,
    bulkMaxBytes: integer('BULK_MAX_BYTES', DEFAULTS.bulkMaxBytes, 1024, 100 * MiB),
    bulkConcurrency: integer('BULK_CONCURRENCY', DEFAULTS.bulkConcurrency, 1, 16),
    // Stryker disable next-line StringLiteral: only the fallback 'none' is equivalent (any fallback but 'gzip' reads as off); the name, the allowed values and the compared 'gzip' are killed by the config tests (checked by hand).
    compression: oneOf('BULK_COMPRESSION', ['none', 'gzip'], 'none') === 'gzip',
    requestTimeoutMs: integer('REQUEST_TIMEOUT_MS', DEFAULTS.requestTimeoutMs, 100, 900_000),
    retryBaseMs,
    retryMaxMs,
    deadlineMarginMs: integer('DEADLINE_MARGIN_MS', DEFAULTS.deadlineMarginMs, 0, 60_000),
    logLevel: oneOf('LOG_LEVEL', ['debug', 'info', 'warn', 'error'], 'info'),
    metrics,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/**
 * METRICS_NAMESPACE and METRICS_DIMENSIONS (with METRICS=emf). The dimensions default to the service and the
 * index, with literal values: an alarm must name the exact set a line carries (serverless.yml).
 */
function metricsSpec(
  read: (name: string) => string | undefined,
  problems: string[],
  index: string,
): MetricsSpec {
  const namespace = read('METRICS_NAMESPACE') ?? DEFAULT_METRICS_NAMESPACE;
  if (!isValidNamespace(namespace)) {
    problems.push(
      `METRICS_NAMESPACE must be 1-255 of A-Z a-z 0-9 space . _ - / # : and not start with AWS/ (got "${namespace}")`,
    );
  }
  const text = read('METRICS_DIMENSIONS');
  const pairs: [string, string][] =
    text === undefined
      ? [
          ['Service', DEFAULT_METRICS_SERVICE],
          ['Index', index],
        ]
      : splitDimensions(text);
  const parsed = checkDimensions(pairs, Object.keys(emptySummary(0)));
  for (const problem of parsed.problems) problems.push(`METRICS_DIMENSIONS: ${problem}`);
  return { namespace, dimensions: parsed.dimensions };
}

function deadLetterBucketSet(env: Env): boolean {
  return (env.DEAD_LETTER_BUCKET ?? '').trim() !== '';
}

/** OpenSearch index name rules (MetadataCreateIndexService.validateIndexOrAliasName). */
export function isValidIndexName(name: string): boolean {
  return (
    name === name.toLowerCase() &&
    !/[\\/*?"<>| ,#:]/.test(name) &&
    !/^[-_+]/.test(name) &&
    name !== '.' &&
    name !== '..' &&
    Buffer.byteLength(name) <= 255
  );
}

/** `search-x.eu-central-1.es.amazonaws.com` / `id.eu-central-1.aoss.amazonaws.com` -> region. */
function regionFromHost(hostname: string | undefined): string | undefined {
  return hostname?.match(/\.([a-z]{2}(?:-[a-z]+)+-\d)\.(?:es|aoss)\.amazonaws\.com$/)?.[1];
}

import { DEFAULTS, isValidIndexName, loadConfig } from '../../lib/config';
import { ConfigError } from '../../lib/errors';

type Env = Record<string, string | undefined>;

const BASE: Env = {
  OPENSEARCH_ENDPOINT: 'https://search-tx-abc123.eu-west-1.es.amazonaws.com',
};

/** Runs loadConfig and returns the ConfigError's problems (fails the test if it does not throw). */
function problemsOf(env: Env): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('loadConfig did not throw');
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    // Act
    const config = loadConfig(BASE);

    // Assert
    expect(config).toEqual({
      endpoint: new URL('https://search-tx-abc123.eu-west-1.es.amazonaws.com'),
      index: 'transactions',
      auth: 'sigv4',
      service: 'es',
      region: 'eu-west-1',
      searchRegion: 'eu-west-1',
      versioning: true,
      ttlDeletes: 'delete',
      dryRun: false,
      deadLetterBucket: undefined,
      deadLetterPrefix: 'dead-letter/',
      s3Endpoint: undefined,
      keyOrder: [],
      sourceTable: undefined,
      bulkMaxBytes: DEFAULTS.bulkMaxBytes,
      bulkConcurrency: 2,
      compression: false,
      requestTimeoutMs: 10_000,
      retryBaseMs: 100,
      retryMaxMs: 5_000,
      deadlineMarginMs: 1_000,
      logLevel: 'info',
      metrics: {
        namespace: 'DynamoDBOpenSearchIndexer',
        dimensions: [
          ['Service', 'dynamodb-opensearch-indexer'],
          ['Index', 'transactions'],
        ],
      },
    });
    expect(DEFAULTS.bulkMaxBytes).toBe(5 * 1024 * 1024);
  });

  it('reads every variable when all are valid', () => {
    // Prepare
    const env: Env = {
      OPENSEARCH_ENDPOINT: 'https://search.example.com:9200',
      OPENSEARCH_INDEX: 'tx-v2',
      OPENSEARCH_AUTH: 'SIGV4',
      OPENSEARCH_SIGV4_SERVICE: 'aoss',
      AWS_REGION: 'us-east-2',
      OPENSEARCH_VERSIONING: 'off',
      TTL_DELETES: 'ignore',
      INDEXER_DRY_RUN: 'false',
      DEAD_LETTER_BUCKET: 'my.dead-letters',
      DEAD_LETTER_PREFIX: 'dl/tx',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4566',
      KEY_ATTRIBUTES: ' userId , transactionId ,',
      SOURCE_TABLE: 'UsersTransactions',
      BULK_MAX_BYTES: '1024',
      BULK_CONCURRENCY: '16',
      BULK_COMPRESSION: 'gzip',
      REQUEST_TIMEOUT_MS: '2500',
      RETRY_BASE_MS: '50',
      RETRY_MAX_MS: '50',
      DEADLINE_MARGIN_MS: '0',
      LOG_LEVEL: 'debug',
    };

    // Act
    const config = loadConfig(env);

    // Assert
    expect(config).toMatchObject({
      index: 'tx-v2',
      auth: 'sigv4',
      service: 'aoss',
      region: 'us-east-2',
      versioning: false,
      ttlDeletes: 'ignore',
      dryRun: false,
      deadLetterBucket: 'my.dead-letters',
      deadLetterPrefix: 'dl/tx/',
      keyOrder: ['userId', 'transactionId'],
      sourceTable: 'UsersTransactions',
      bulkMaxBytes: 1024,
      bulkConcurrency: 16,
      compression: true,
      requestTimeoutMs: 2500,
      retryBaseMs: 50,
      retryMaxMs: 50,
      deadlineMarginMs: 0,
      logLevel: 'debug',
    });
    expect(config.endpoint?.origin).toBe('https://search.example.com:9200');
    expect(config.s3Endpoint?.origin).toBe('http://127.0.0.1:4566');
  });

  it('returns a frozen object', () => {
    const config = loadConfig(BASE);

    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { index: string }).index = 'other';
    }).toThrow(TypeError);
  });

  it('treats blank values as unset', () => {
    const config = loadConfig({ ...BASE, OPENSEARCH_INDEX: '   ', LOG_LEVEL: '' });

    expect(config.index).toBe('transactions');
    expect(config.logLevel).toBe('info');
  });

  it('reports every bad variable at once, by name, in one ConfigError', () => {
    // Prepare
    const env: Env = {
      OPENSEARCH_ENDPOINT: 'http://search.example.com',
      OPENSEARCH_INDEX: 'Bad Index',
      OPENSEARCH_AUTH: 'basic',
      OPENSEARCH_SIGV4_SERVICE: 'lambda',
      OPENSEARCH_VERSIONING: 'internal',
      TTL_DELETES: 'sometimes',
      INDEXER_DRY_RUN: 'yes',
      DEAD_LETTER_BUCKET: 'Bad_Bucket',
      DEAD_LETTER_PREFIX: '/abs',
      AWS_ENDPOINT_URL_S3: 'ftp://127.0.0.1',
      BULK_MAX_BYTES: '10',
      BULK_CONCURRENCY: '0',
      BULK_COMPRESSION: 'brotli',
      REQUEST_TIMEOUT_MS: 'soon',
      RETRY_BASE_MS: '1.5',
      RETRY_MAX_MS: '-1',
      DEADLINE_MARGIN_MS: '60001',
      LOG_LEVEL: 'verbose',
    };

    // Act
    const problems = problemsOf(env);

    // Assert
    for (const name of Object.keys(env)) {
      expect(problems.some((p) => p.includes(name))).toBe(true);
    }
    expect(problems.some((p) => p.includes('AWS_REGION'))).toBe(true);
    expect(() => loadConfig(env)).toThrow(
      /^invalid configuration: .*OPENSEARCH_ENDPOINT.*LOG_LEVEL/,
    );
  });

  describe('OPENSEARCH_ENDPOINT', () => {
    it.each([
      ['https', 'https://search.example.com', 'https://search.example.com'],
      ['a bare host (https assumed)', 'search.example.com', 'https://search.example.com'],
      ['a bare loopback host (http assumed)', '127.0.0.1:9200', 'http://127.0.0.1:9200'],
      ['a bare localhost (http assumed)', 'localhost:9200', 'http://localhost:9200'],
      ['http on localhost', 'http://localhost:9200', 'http://localhost:9200'],
      ['http on 127.0.0.1', 'http://127.0.0.1:9200', 'http://127.0.0.1:9200'],
      ['http on [::1]', 'http://[::1]:9200', 'http://[::1]:9200'],
      ['a trailing slash', 'https://search.example.com/', 'https://search.example.com'],
    ])('accepts %s', (_label, value, origin) => {
      const config = loadConfig({ OPENSEARCH_ENDPOINT: value, AWS_REGION: 'eu-west-1' });

      expect(config.endpoint?.origin).toBe(origin);
    });

    it.each([
      ['plain http to a remote host', 'http://search.example.com', /must use https/],
      [
        'http to a host that only starts like localhost',
        'http://localhost.evil.com',
        /must use https/,
      ],
      ['another scheme', 'ftp://search.example.com', /must be an http\(s\) URL/],
      ['a path', 'https://search.example.com/transactions', /bare origin/],
      ['a query', 'https://search.example.com/?x=1', /bare origin/],
      ['credentials', 'https://user:pw@search.example.com', /bare origin/],
      ['garbage', 'http://', /is not a URL/],
    ])('rejects %s', (_label, value, message) => {
      const problems = problemsOf({ OPENSEARCH_ENDPOINT: value, AWS_REGION: 'eu-west-1' });

      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^OPENSEARCH_ENDPOINT /);
      expect(problems[0]).toMatch(message);
    });

    it('is required unless INDEXER_DRY_RUN=true', () => {
      expect(problemsOf({ AWS_REGION: 'eu-west-1' })).toEqual([
        'OPENSEARCH_ENDPOINT is required (or set INDEXER_DRY_RUN=true)',
      ]);
      const dryRun = loadConfig({ INDEXER_DRY_RUN: 'TRUE' });
      expect(dryRun.dryRun).toBe(true);
      expect(dryRun.endpoint).toBeUndefined();
    });
  });

  describe('service and region', () => {
    it.each([
      ['a domain', 'https://search-tx.eu-central-1.es.amazonaws.com', 'es', 'eu-central-1'],
      [
        'a serverless collection',
        'https://abc123.us-west-2.aoss.amazonaws.com',
        'aoss',
        'us-west-2',
      ],
      [
        'a GovCloud domain',
        'https://search-tx.us-gov-west-1.es.amazonaws.com',
        'es',
        'us-gov-west-1',
      ],
    ])('infers service and region from %s host', (_label, endpoint, service, region) => {
      const config = loadConfig({ OPENSEARCH_ENDPOINT: endpoint });

      expect(config.service).toBe(service);
      expect(config.region).toBe(region);
    });

    it.each([
      ['a domain', 'https://search-tx.eu-central-1.es.amazonaws.com', {}, true],
      ['a serverless collection', 'https://abc.us-west-2.aoss.amazonaws.com', {}, false],
      [
        'a serverless collection that opts in',
        'https://abc.us-west-2.aoss.amazonaws.com',
        { OPENSEARCH_VERSIONING: 'external' },
        true,
      ],
      [
        'a custom host signed as aoss',
        'https://search.example.com',
        { OPENSEARCH_SIGV4_SERVICE: 'aoss', AWS_REGION: 'eu-west-1' },
        false,
      ],
      [
        'a domain that opts out',
        'https://search-tx.eu-central-1.es.amazonaws.com',
        { OPENSEARCH_VERSIONING: 'off' },
        false,
      ],
    ])(
      'defaults versioning for %s (external unless aoss)',
      (_label, endpoint, extra, versioning) => {
        expect(loadConfig({ OPENSEARCH_ENDPOINT: endpoint, ...extra }).versioning).toBe(versioning);
      },
    );

    it('lets OPENSEARCH_SIGV4_SERVICE override the inferred service', () => {
      const config = loadConfig({
        OPENSEARCH_ENDPOINT: 'https://abc.us-west-2.aoss.amazonaws.com',
        OPENSEARCH_SIGV4_SERVICE: 'es',
      });

      expect(config.service).toBe('es');
    });

    it.each([
      ['AWS_REGION', { AWS_REGION: 'ap-south-1' }, 'ap-south-1'],
      ['AWS_DEFAULT_REGION', { AWS_DEFAULT_REGION: 'sa-east-1' }, 'sa-east-1'],
      [
        'AWS_REGION before AWS_DEFAULT_REGION',
        { AWS_REGION: 'ap-south-1', AWS_DEFAULT_REGION: 'sa-east-1' },
        'ap-south-1',
      ],
    ])('reads the region from %s for a custom host', (_label, env, region) => {
      const config = loadConfig({ OPENSEARCH_ENDPOINT: 'https://search.example.com', ...env });

      expect(config.region).toBe(region);
    });

    it.each([
      [
        'OPENSEARCH_REGION over the host and AWS_REGION',
        'https://search-tx.eu-central-1.es.amazonaws.com',
        { OPENSEARCH_REGION: 'ap-south-1', AWS_REGION: 'us-east-1' },
        'ap-south-1',
      ],
      [
        'OPENSEARCH_REGION for a custom host',
        'https://search.example.com',
        { OPENSEARCH_REGION: 'ap-south-1', AWS_REGION: 'us-east-1' },
        'ap-south-1',
      ],
      [
        "the host's region over AWS_REGION (a domain in another region)",
        'https://search-tx.eu-central-1.es.amazonaws.com',
        { AWS_REGION: 'us-east-1' },
        'eu-central-1',
      ],
      [
        'AWS_REGION for a custom host',
        'https://search.example.com',
        { AWS_REGION: 'us-east-1' },
        'us-east-1',
      ],
    ])('signs OpenSearch for %s, and S3 for AWS_REGION', (_label, endpoint, env, searchRegion) => {
      // Act
      const config = loadConfig({ OPENSEARCH_ENDPOINT: endpoint, ...env });

      // Assert
      expect(config.searchRegion).toBe(searchRegion);
      expect(config.region).toBe('us-east-1');
    });

    it('accepts OPENSEARCH_REGION alone for sigv4 with a custom host', () => {
      const config = loadConfig({
        OPENSEARCH_ENDPOINT: 'https://search.example.com',
        OPENSEARCH_REGION: 'eu-west-3',
      });

      expect(config.searchRegion).toBe('eu-west-3');
    });

    it('requires AWS_REGION with DEAD_LETTER_BUCKET when no region can be inferred (S3 is signed for it)', () => {
      expect(
        problemsOf({
          OPENSEARCH_ENDPOINT: 'https://search.example.com',
          OPENSEARCH_REGION: 'eu-west-3',
          DEAD_LETTER_BUCKET: 'dead-letters',
        }),
      ).toEqual(['AWS_REGION is required with DEAD_LETTER_BUCKET']);
    });

    it.each([
      ['in dry-run', { INDEXER_DRY_RUN: 'true', DEAD_LETTER_BUCKET: 'dead-letters' }],
      [
        'with a blank DEAD_LETTER_BUCKET',
        {
          OPENSEARCH_ENDPOINT: 'http://127.0.0.1:9200',
          OPENSEARCH_AUTH: 'none',
          DEAD_LETTER_BUCKET: ' ',
        },
      ],
    ])('needs no AWS_REGION for dead letters %s', (_label, env) => {
      expect(loadConfig(env).region).toBe('');
    });

    it('requires a region for sigv4 when none can be inferred', () => {
      expect(problemsOf({ OPENSEARCH_ENDPOINT: 'https://search.example.com' })).toEqual([
        'AWS_REGION (or OPENSEARCH_REGION) is required for OPENSEARCH_AUTH=sigv4',
      ]);
    });

    it('needs no region without sigv4 or in dry-run', () => {
      expect(
        loadConfig({ OPENSEARCH_ENDPOINT: 'http://127.0.0.1:9200', OPENSEARCH_AUTH: 'none' })
          .region,
      ).toBe('');
      expect(loadConfig({ INDEXER_DRY_RUN: 'true' }).region).toBe('');
    });
  });

  describe('OPENSEARCH_INDEX', () => {
    it.each([
      'Transactions',
      'a b',
      'a*b',
      'a?b',
      'a"b',
      'a<b',
      'a>b',
      'a|b',
      'a,b',
      'a#b',
      'a:b',
      'a/b',
      'a\\b',
      '-a',
      '_a',
      '+a',
      '.',
      '..',
      'x'.repeat(256),
    ])('rejects %j', (index) => {
      const problems = problemsOf({ ...BASE, OPENSEARCH_INDEX: index });

      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^OPENSEARCH_INDEX /);
      expect(isValidIndexName(index)).toBe(false);
    });

    it.each(['transactions', 'tx-2024.11', 'a_b', '.hidden', 'x'.repeat(255)])(
      'accepts %j',
      (index) => {
        expect(loadConfig({ ...BASE, OPENSEARCH_INDEX: index }).index).toBe(index);
      },
    );
  });

  describe('dead letters', () => {
    it.each([
      ['dl', 'dl/'],
      ['dl/', 'dl/'],
      ['a/b', 'a/b/'],
      ['  spaced  ', 'spaced/'],
    ])('normalises DEAD_LETTER_PREFIX %j to %j', (prefix, expected) => {
      expect(loadConfig({ ...BASE, DEAD_LETTER_PREFIX: prefix }).deadLetterPrefix).toBe(expected);
    });

    it('rejects a DEAD_LETTER_PREFIX starting with a slash', () => {
      expect(problemsOf({ ...BASE, DEAD_LETTER_PREFIX: '/dl' })[0]).toMatch(/^DEAD_LETTER_PREFIX /);
    });

    it.each(['ab', 'UPPER', '-start', 'end-', 'under_score', 'x'.repeat(64)])(
      'rejects bucket %j',
      (bucket) => {
        expect(problemsOf({ ...BASE, DEAD_LETTER_BUCKET: bucket })[0]).toMatch(
          /^DEAD_LETTER_BUCKET /,
        );
      },
    );

    it.each(['abc', 'my-bucket.logs', 'x'.repeat(63)])('accepts bucket %j', (bucket) => {
      expect(loadConfig({ ...BASE, DEAD_LETTER_BUCKET: bucket }).deadLetterBucket).toBe(bucket);
    });

    it.each(['ab', 'has space', 'slash/table', 'x'.repeat(256)])(
      'rejects SOURCE_TABLE %j',
      (table) => {
        expect(problemsOf({ ...BASE, SOURCE_TABLE: table })).toEqual([
          `SOURCE_TABLE is not a DynamoDB table name (got "${table}")`,
        ]);
      },
    );

    it.each(['abc', 'UsersTransactions', 'my_table.v2-x', 'x'.repeat(255)])(
      'accepts SOURCE_TABLE %j',
      (table) => {
        expect(loadConfig({ ...BASE, SOURCE_TABLE: table }).sourceTable).toBe(table);
      },
    );

    it('allows plain http for AWS_ENDPOINT_URL_S3 (a local S3 stand-in)', () => {
      expect(
        loadConfig({ ...BASE, AWS_ENDPOINT_URL_S3: 'http://minio.internal:9000' }).s3Endpoint?.host,
      ).toBe('minio.internal:9000');
    });
  });

  describe('numbers', () => {
    it.each([
      ['BULK_MAX_BYTES', '1023'],
      ['BULK_MAX_BYTES', String(100 * 1024 * 1024 + 1)],
      ['BULK_CONCURRENCY', '17'],
      ['REQUEST_TIMEOUT_MS', '99'],
      ['REQUEST_TIMEOUT_MS', 'soon'],
      ['RETRY_BASE_MS', '0'],
      ['RETRY_MAX_MS', '300001'],
      ['DEADLINE_MARGIN_MS', '-1'],
      ['BULK_CONCURRENCY', '2.5'],
    ])('rejects %s=%s', (name, value) => {
      const problems = problemsOf({ ...BASE, [name]: value });

      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(
        new RegExp(`^${name} must be an integer from \\d+ to \\d+ \\(got "${value}"\\)$`),
      );
    });

    it.each([
      ['BULK_MAX_BYTES', '104857600', 'bulkMaxBytes', 104857600],
      ['BULK_CONCURRENCY', '1', 'bulkConcurrency', 1],
      ['REQUEST_TIMEOUT_MS', '100', 'requestTimeoutMs', 100],
      ['DEADLINE_MARGIN_MS', '60000', 'deadlineMarginMs', 60000],
    ] as const)('accepts the bound %s=%s', (name, value, field, expected) => {
      expect(loadConfig({ ...BASE, [name]: value })[field]).toBe(expected);
    });

    it('requires RETRY_MAX_MS to be at least RETRY_BASE_MS', () => {
      expect(problemsOf({ ...BASE, RETRY_BASE_MS: '500', RETRY_MAX_MS: '499' })).toEqual([
        'RETRY_MAX_MS must be at least RETRY_BASE_MS',
      ]);
    });
  });

  it.each([
    ['OPENSEARCH_AUTH', 'none', 'auth', 'none'],
    ['OPENSEARCH_VERSIONING', 'external', 'versioning', true],
    ['TTL_DELETES', 'delete', 'ttlDeletes', 'delete'],
    ['BULK_COMPRESSION', 'none', 'compression', false],
    ['LOG_LEVEL', 'ERROR', 'logLevel', 'error'],
  ] as const)('reads %s=%s case-insensitively', (name, value, field, expected) => {
    expect(loadConfig({ ...BASE, [name]: value })[field]).toBe(expected);
  });

  describe('metrics', () => {
    it('takes the index of OPENSEARCH_INDEX as the default Index dimension', () => {
      expect(loadConfig({ ...BASE, OPENSEARCH_INDEX: 'tx-v2' }).metrics?.dimensions).toEqual([
        ['Service', 'dynamodb-opensearch-indexer'],
        ['Index', 'tx-v2'],
      ]);
    });

    it('reads the namespace and the dimensions in their given order', () => {
      // Act
      const config = loadConfig({
        ...BASE,
        METRICS_NAMESPACE: 'Team/Indexer',
        METRICS_DIMENSIONS: ' Stage = prod , Service=tx-indexer ',
      });

      // Assert
      expect(config.metrics).toEqual({
        namespace: 'Team/Indexer',
        dimensions: [
          ['Stage', 'prod'],
          ['Service', 'tx-indexer'],
        ],
      });
    });

    it('turns metrics off with METRICS=off', () => {
      expect(loadConfig({ ...BASE, METRICS: 'OFF' }).metrics).toBeUndefined();
    });

    it.each([
      ['METRICS', 'statsd', 'METRICS must be one of emf, off (got "statsd")'],
      ['METRICS_NAMESPACE', 'AWS/Lambda', 'METRICS_NAMESPACE must be 1-255'],
      ['METRICS_NAMESPACE', 'bad|name', 'METRICS_NAMESPACE must be 1-255'],
      ['METRICS_DIMENSIONS', 'Service', 'METRICS_DIMENSIONS: dimension Service needs a value'],
      ['METRICS_DIMENSIONS', ':x=1', 'METRICS_DIMENSIONS: dimension name ":x" must be'],
      [
        'METRICS_DIMENSIONS',
        'indexed=1',
        'METRICS_DIMENSIONS: dimension name "indexed" is a field',
      ],
      ['METRICS_DIMENSIONS', 'msg=1', 'METRICS_DIMENSIONS: dimension name "msg" is a field'],
      ['METRICS_DIMENSIONS', 'A=1,A=2', 'METRICS_DIMENSIONS: dimension A is given twice'],
      ['METRICS_DIMENSIONS', 'A=é', 'METRICS_DIMENSIONS: dimension A needs a value'],
      [
        'METRICS_DIMENSIONS',
        Array.from({ length: 31 }, (_, i) => `D${i}=v`).join(','),
        'METRICS_DIMENSIONS: at most 30 dimensions',
      ],
    ])('rejects %s=%s', (name, value, problem) => {
      expect(problemsOf({ ...BASE, [name]: value })).toEqual([expect.stringContaining(problem)]);
    });
  });

  it('reads process.env by default', () => {
    // Prepare
    const saved = { ...process.env };
    process.env.OPENSEARCH_ENDPOINT = 'https://search-x.eu-north-1.es.amazonaws.com';
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    try {
      // Act
      const config = loadConfig();

      // Assert
      expect(config.region).toBe('eu-north-1');
    } finally {
      process.env = saved;
    }
  });
});

/**
 * `npx serverless package` for each way of deploying the stack, once each, and what the generated
 * CloudFormation says: the stream mapping, the function, its environment, IAM scoping, and the
 * security settings of every resource the stack creates; then the zip itself.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../lib/config';
import { emptySummary } from '../../lib/ledger';
import { createEmf } from '../../lib/metrics';
import { REPLAYED_PREFIX } from '../../lib/redrive/dead-letters';
import { policyStatements, Stack, type CfnTemplate, type PolicyStatement } from './cfn';
import { cleanEnv, copyService, runNode, runServerless, zipEntries } from './serverless-run';

const EXISTING_STREAM =
  'arn:aws:dynamodb:eu-central-1:123456789012:table/Ledger/stream/2026-01-01T00:00:00.000';
const EXISTING_DOMAIN_ENDPOINT = 'https://search-ledger-abc123.eu-central-1.es.amazonaws.com';
const EXISTING_DOMAIN_ARN = 'arn:aws:es:eu-central-1:123456789012:domain/ledger';
const COLLECTION_ENDPOINT = 'https://k9x2abc.eu-central-1.aoss.amazonaws.com';
const COLLECTION_ARN = 'arn:aws:aoss:eu-central-1:123456789012:collection/k9x2abc';
const CREATED_DOMAIN_ARN = 'arn:aws:es:eu-central-1:123456789012:domain/transactions-dev';

const EXISTING_KINESIS = 'arn:aws:kinesis:eu-central-1:123456789012:stream/ledger-changes';

type DynamodbSet = 'create' | 'existing' | 'aoss';
type SetName = DynamodbSet | 'kinesis' | 'kinesis-existing';
const PARAMS: Record<SetName, string[]> = {
  create: [],
  existing: [
    `existingStreamArn=${EXISTING_STREAM}`,
    `existingDomainEndpoint=${EXISTING_DOMAIN_ENDPOINT}`,
    `existingDomainArn=${EXISTING_DOMAIN_ARN}`,
  ],
  aoss: [
    `existingStreamArn=${EXISTING_STREAM}`,
    'sigv4Service=aoss',
    `existingCollectionEndpoint=${COLLECTION_ENDPOINT}`,
    `existingCollectionArn=${COLLECTION_ARN}`,
  ],
  kinesis: ['source=kinesis'],
  'kinesis-existing': [
    'source=kinesis',
    `existingStreamArn=${EXISTING_STREAM}`,
    `existingKinesisStreamArn=${EXISTING_KINESIS}`,
    'sourceTable=Ledger',
  ],
};

interface Packaged {
  readonly stack: Stack;
  readonly zip: string;
}

const packaged = {} as Record<SetName, Packaged>;
const removers: (() => void)[] = [];

beforeAll(async () => {
  // One package per parameter set, in parallel, each in its own copy of the service.
  await Promise.all(
    (Object.keys(PARAMS) as SetName[]).map(async (name) => {
      const { dir, remove } = copyService();
      removers.push(remove);
      const out = path.join(dir, '.package');
      const args = ['package', '--stage', 'dev', '--region', 'eu-central-1', '--package', out];
      for (const param of PARAMS[name]) args.push(`--param=${param}`);
      const result = await runServerless(dir, args, {}, 280_000);
      if (result.code !== 0) {
        throw new Error(
          `serverless package (${name}) exited ${result.code}:\n${result.stdout}\n${result.stderr}`,
        );
      }
      const template = JSON.parse(
        readFileSync(path.join(out, 'cloudformation-template-update-stack.json'), 'utf8'),
      ) as CfnTemplate;
      packaged[name] = { stack: new Stack(template), zip: path.join(out, 'indexer.zip') };
    }),
  );
}, 300_000);

afterAll(() => {
  for (const remove of removers) remove();
});

const SETS: DynamodbSet[] = ['create', 'existing', 'aoss'];

interface FunctionProperties {
  Runtime: string;
  Architectures: string[];
  Handler: string;
  MemorySize: number;
  Timeout: number;
  Environment: { Variables: Record<string, unknown> };
}
/** The indexer, by its logical id: the stack also creates the backfill worker function. */
function fn(stack: Stack): FunctionProperties {
  return stack.byId('IndexerLambdaFunction', 'AWS::Lambda::Function')
    .Properties as unknown as FunctionProperties;
}
/** Statements of one role's inline policies, by the role's logical id. */
function roleStatements(stack: Stack, role: string): PolicyStatement[] {
  stack.byId(role, 'AWS::IAM::Role');
  return policyStatements(stack)
    .filter((s) => s.where === `${role} (role policy)`)
    .map((s) => s.statement);
}
const INDEXER_ROLE = 'IamRoleLambdaExecution';
const WORKER_ROLE = 'BackfillWorkerRole';
function env(stack: Stack): Record<string, unknown> {
  return fn(stack).Environment.Variables as Record<string, unknown>;
}
function mapping(
  stack: Stack,
): Record<string, unknown> & { MaximumRetryAttempts: number; MaximumRecordAgeInSeconds: number } {
  return stack.one('AWS::Lambda::EventSourceMapping')[1].Properties as ReturnType<typeof mapping>;
}
function actions(statement: { Action: string | string[] }): string[] {
  return [statement.Action].flat();
}
function resources(statement: { Resource: string | string[] }): string[] {
  return [statement.Resource].flat();
}

describe.each(SETS)('serverless package (%s)', (name) => {
  const stack = () => packaged[name].stack;

  it('produces a template whose every reference points at a created resource', () => {
    expect(stack().danglingReferences()).toEqual([]);
  });

  it('maps the stream with partial batch responses, bisection and bounded retries', () => {
    // Act
    const m = mapping(stack());

    // Assert
    expect(m).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 1,
      ParallelizationFactor: 1,
      Enabled: true,
      DestinationConfig: { OnFailure: { Destination: '{{IndexerFailureQueue.Arn}}' } },
    });
    expect(m.MaximumRetryAttempts).toBeGreaterThanOrEqual(1);
    expect(m.MaximumRetryAttempts).toBeLessThanOrEqual(10_000);
    // Shorter than the 24 h stream retention: records given up on can still be re-driven.
    expect(m.MaximumRecordAgeInSeconds).toBeGreaterThanOrEqual(3600);
    expect(m.MaximumRecordAgeInSeconds).toBeLessThan(86_400);
    expect(m.EventSourceArn).toBe(
      name === 'create' ? '{{UsersTransactionsTable.StreamArn}}' : EXISTING_STREAM,
    );
    expect(m.FunctionName).toBe('{{IndexerLambdaFunction.Arn}}');
  });

  it('runs the bundled handler on a current Node.js runtime, arm64, with room for retries', () => {
    // Act
    const f = fn(stack());

    // Assert
    expect(f.Runtime).toMatch(/^nodejs(22|24)\.x$/);
    expect(f.Architectures).toEqual(['arm64']);
    expect(f.Handler).toBe('handler.handler');
    expect(f.MemorySize).toBe(512);
    // The handler retries until 1 s before the deadline; requests time out after 10 s.
    expect(f.Timeout).toBeGreaterThanOrEqual(30);
    expect(f.Timeout).toBeLessThanOrEqual(900);
  });

  it('gives the deployed function its stack-derived environment and never a dry run', () => {
    // Act
    const e = env(stack());

    // Assert
    expect(e).toMatchObject({
      INDEXER_DRY_RUN: 'false',
      OPENSEARCH_AUTH: 'sigv4',
      OPENSEARCH_INDEX: 'transactions',
      KEY_ATTRIBUTES: 'userId,transactionId',
      DEAD_LETTER_BUCKET: '{{Ref:DeadLetterBucket}}',
      DEAD_LETTER_PREFIX: 'dead-letter/',
      TTL_DELETES: 'delete',
    });
    expect(String(e.NODE_OPTIONS)).toContain('--enable-source-maps');
    const expected = {
      create: {
        OPENSEARCH_ENDPOINT: 'https://{{OpenSearchDomain.DomainEndpoint}}',
        OPENSEARCH_SIGV4_SERVICE: 'es',
        OPENSEARCH_VERSIONING: 'external',
      },
      existing: {
        OPENSEARCH_ENDPOINT: EXISTING_DOMAIN_ENDPOINT,
        OPENSEARCH_SIGV4_SERVICE: 'es',
        OPENSEARCH_VERSIONING: 'external',
      },
      aoss: {
        OPENSEARCH_ENDPOINT: COLLECTION_ENDPOINT,
        OPENSEARCH_SIGV4_SERVICE: 'aoss',
        OPENSEARCH_VERSIONING: 'off',
      },
    }[name];
    expect(e).toMatchObject(expected);
    // Nothing the local shell sets (region, credentials) is pinned in the template.
    for (const local of [
      'AWS_REGION',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_ENDPOINT_URL_S3',
    ]) {
      expect(e).not.toHaveProperty(local);
    }
  });

  it('grants no wildcard action and no wildcard resource for OpenSearch or S3', () => {
    // Arrange
    const statements = policyStatements(stack());
    expect(statements.length).toBeGreaterThan(0);

    for (const { where, statement } of statements) {
      // A Deny (the bucket's TLS-only rule) may name every action; an Allow never does.
      if (statement.Effect !== 'Allow') continue;
      for (const action of actions(statement)) {
        expect({ where, action }).not.toEqual({ where, action: '*' });
        expect({ where, action, wildcard: /^[a-z0-9-]+:\*$/i.test(action) }).toEqual({
          where,
          action,
          wildcard: false,
        });
      }
      if (actions(statement).some((a) => /^(es|aoss|s3):/.test(a))) {
        for (const resource of resources(statement)) {
          expect({ where, resource }).not.toEqual({ where, resource: '*' });
        }
      }
      if (statement.Principal !== undefined) {
        expect({ where, principal: statement.Principal }).not.toEqual({ where, principal: '*' });
        expect(JSON.stringify(statement.Principal)).not.toContain('"*"');
      }
    }
  });

  it('creates the indexer and the backfill worker, each with its own role', () => {
    // Act
    const functions = Object.fromEntries(stack().ofType('AWS::Lambda::Function'));
    const roles = stack()
      .ofType('AWS::IAM::Role')
      .map(([id]) => id)
      .sort();

    // Assert
    expect(Object.keys(functions).sort()).toEqual([
      'BackfillSegmentLambdaFunction',
      'IndexerLambdaFunction',
    ]);
    expect(functions.IndexerLambdaFunction!.Properties?.Role).toBe(`{{${INDEXER_ROLE}.Arn}}`);
    expect(functions.BackfillSegmentLambdaFunction!.Properties).toMatchObject({
      Handler: 'backfill-worker.handler',
      Role: `{{${WORKER_ROLE}.Arn}}`,
    });
    expect(roles).toEqual(['BackfillStateMachineRole', WORKER_ROLE, INDEXER_ROLE].sort());
    expect(
      stack().byId(WORKER_ROLE, 'AWS::IAM::Role').Properties?.AssumeRolePolicyDocument,
    ).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'lambda.amazonaws.com' },
          Action: 'sts:AssumeRole',
        },
      ],
    });
    // The state machine's role may invoke the worker and no other function.
    expect(
      roleStatements(stack(), 'BackfillStateMachineRole').filter((s) =>
        actions(s).some((a) => a.startsWith('lambda:')),
      ),
    ).toEqual([
      {
        Effect: 'Allow',
        Action: ['lambda:InvokeFunction'],
        Resource: ['{{BackfillSegmentLambdaFunction.Arn}}'],
      },
    ]);
  });

  it("lets the backfill worker's role only scan the table, POST to the alias's and the physical indices' _bulk, write dead letters and log", () => {
    // Act
    const worker = roleStatements(stack(), WORKER_ROLE);

    // Assert
    const domain = name === 'create' ? CREATED_DOMAIN_ARN : EXISTING_DOMAIN_ARN;
    const search =
      name === 'aoss'
        ? { Effect: 'Allow', Action: ['aoss:APIAccessAll'], Resource: [COLLECTION_ARN] }
        : {
            Effect: 'Allow',
            Action: ['es:ESHttpPost'],
            Resource: [`${domain}/transactions/_bulk`, `${domain}/transactions-*/_bulk`],
          };
    expect(worker).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:Scan', 'dynamodb:DescribeTable'],
        Resource: ['arn:aws:dynamodb:eu-central-1:123456789012:table/UsersTransactions'],
      },
      search,
      {
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: ['arn:aws:s3:::{{Ref:DeadLetterBucket}}/dead-letter/*'],
      },
      {
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: ['{{StageKey.Arn}}'],
        Condition: { StringEquals: { 'kms:ViaService': ['s3.eu-central-1.amazonaws.com'] } },
      },
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: [
          'arn:aws:logs:eu-central-1:123456789012:log-group:/aws/lambda/dynamodb-opensearch-indexer-dev-backfillSegment:*',
        ],
      },
    ]);
  });

  it('lets the indexer role only POST to /<index>/_bulk (es) or use the collection (aoss), and write dead letters', () => {
    // Arrange
    const role = roleStatements(stack(), INDEXER_ROLE);
    const byAction = (prefix: string) =>
      role.filter((s) => actions(s).some((a) => a.startsWith(prefix)));

    // Assert
    const search = [...byAction('es:'), ...byAction('aoss:')];
    if (name === 'aoss') {
      expect(search).toEqual([
        { Effect: 'Allow', Action: ['aoss:APIAccessAll'], Resource: COLLECTION_ARN },
      ]);
    } else {
      const domain = name === 'create' ? CREATED_DOMAIN_ARN : EXISTING_DOMAIN_ARN;
      // Only the alias: `/transactions-*/_bulk` belongs to the backfill worker's role alone.
      expect(search).toEqual([
        { Effect: 'Allow', Action: ['es:ESHttpPost'], Resource: [`${domain}/transactions/_bulk`] },
      ]);
      expect(JSON.stringify(role)).not.toContain('transactions-*');
    }
    expect(byAction('s3:')).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: ['arn:aws:s3:::{{Ref:DeadLetterBucket}}/dead-letter/*'],
      },
    ]);
    const stream = byAction('dynamodb:');
    expect(stream).toHaveLength(1);
    expect(actions(stream[0]!).sort()).toEqual([
      'dynamodb:DescribeStream',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
      'dynamodb:ListStreams',
    ]);
    expect(resources(stream[0]!)).toEqual([
      name === 'create' ? '{{UsersTransactionsTable.StreamArn}}' : EXISTING_STREAM,
    ]);
    const sqs = byAction('sqs:');
    expect(sqs).toHaveLength(1);
    expect(actions(sqs[0]!)).toContain('sqs:SendMessage');
    expect(resources(sqs[0]!)).toEqual(['{{IndexerFailureQueue.Arn}}']);
    // Nothing else but data keys of the stage key, only through S3 and SQS (dead letters and the
    // failure queue are encrypted with it), and the function's own log group.
    const other = role.filter(
      (s) => !actions(s).every((a) => /^(es|aoss|s3|dynamodb|sqs|logs):/.test(a)),
    );
    expect(other).toEqual([
      {
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: ['{{StageKey.Arn}}'],
        Condition: {
          StringEquals: {
            'kms:ViaService': ['s3.eu-central-1.amazonaws.com', 'sqs.eu-central-1.amazonaws.com'],
          },
        },
      },
    ]);
    for (const s of byAction('logs:')) {
      for (const r of resources(s))
        expect(r).toContain(':log-group:/aws/lambda/dynamodb-opensearch-indexer-dev');
    }
  });

  it('creates an encrypted, TLS-only, IAM-only OpenSearch domain only when asked to', () => {
    // Arrange
    const domains = stack().ofType('AWS::OpenSearchService::Domain');

    if (name !== 'create') {
      expect(domains).toEqual([]);
      return;
    }
    const [, domain] = domains[0]!;
    const p = domain.Properties as Record<string, unknown>;

    // Assert
    expect(p.DomainName).toBe('transactions-dev');
    expect(p.EngineVersion).toMatch(/^OpenSearch_2\.\d+$/);
    expect(p.ClusterConfig).toMatchObject({ InstanceType: 't3.small.search', InstanceCount: 1 });
    expect(p.EBSOptions).toEqual({ EBSEnabled: true, VolumeType: 'gp3', VolumeSize: 10 });
    expect(p.EncryptionAtRestOptions).toEqual({ Enabled: true });
    expect(p.NodeToNodeEncryptionOptions).toEqual({ Enabled: true });
    expect(p.DomainEndpointOptions).toEqual({
      EnforceHTTPS: true,
      TLSSecurityPolicy: 'Policy-Min-TLS-1-2-PFS-2023-10',
    });
    expect((p.AccessPolicies as { Statement: unknown }).Statement).toEqual([
      {
        Sid: 'IndexerBulkOnly',
        Effect: 'Allow',
        Principal: { AWS: '{{IamRoleLambdaExecution.Arn}}' },
        Action: ['es:ESHttpPost'],
        Resource: `${CREATED_DOMAIN_ARN}/transactions/_bulk`,
      },
      {
        Sid: 'BackfillBulkOnly',
        Effect: 'Allow',
        Principal: { AWS: `{{${WORKER_ROLE}.Arn}}` },
        Action: ['es:ESHttpPost'],
        Resource: [
          `${CREATED_DOMAIN_ARN}/transactions/_bulk`,
          `${CREATED_DOMAIN_ARN}/transactions-*/_bulk`,
        ],
      },
    ]);
  });

  it('expires the letters a re-drive put back under replayed/ after 30 days, and nothing else by that rule', () => {
    // Arrange
    const p = stack().resources.DeadLetterBucket!.Properties as {
      LifecycleConfiguration: { Rules: Array<Record<string, unknown>> };
    };

    // Act
    // The prefix the dead-letters re-drive moves done letters to.
    const rules = p.LifecycleConfiguration.Rules.filter((r) => r.Prefix === REPLAYED_PREFIX);

    // Assert
    expect(rules).toEqual([
      {
        Id: 'expire-replayed',
        Status: 'Enabled',
        Prefix: 'replayed/',
        ExpirationInDays: 30,
        NoncurrentVersionExpiration: { NoncurrentDays: 1 },
      },
    ]);
    expect(p.LifecycleConfiguration.Rules.map((r) => r.Prefix)).toEqual([
      'dead-letter/',
      'replayed/',
    ]);
  });

  it('keeps dead letters in a private, encrypted, TLS-only bucket that expires them', () => {
    // Arrange
    const bucket = stack().resources.DeadLetterBucket!;
    const p = bucket.Properties as Record<string, unknown>;
    const policy = stack().resources.DeadLetterBucketPolicy!;

    // Assert
    expect(bucket.Type).toBe('AWS::S3::Bucket');
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(p.BucketEncryption).toMatchObject({
      ServerSideEncryptionConfiguration: [
        {
          ServerSideEncryptionByDefault: {
            SSEAlgorithm: expect.stringMatching(/^(AES256|aws:kms)$/),
          },
        },
      ],
    });
    expect(p.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(p.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect((p.LifecycleConfiguration as { Rules: unknown[] }).Rules).toContainEqual(
      expect.objectContaining({ Status: 'Enabled', Prefix: 'dead-letter/', ExpirationInDays: 90 }),
    );
    expect(policy.Properties).toMatchObject({
      Bucket: '{{Ref:DeadLetterBucket}}',
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:*',
            Resource: ['{{DeadLetterBucket.Arn}}', '{{DeadLetterBucket.Arn}}/*'],
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      },
    });
  });

  it('sends failed-batch metadata to a queue kept 14 days, encrypted with the stage key, with a dead-letter queue behind it', () => {
    // Act
    const queues = Object.fromEntries(stack().ofType('AWS::SQS::Queue'));

    // Assert
    expect(Object.keys(queues).sort()).toEqual([
      'IndexerFailureDeadLetterQueue',
      'IndexerFailureQueue',
    ]);
    expect(queues.IndexerFailureQueue!.Properties).toEqual({
      QueueName: 'dynamodb-opensearch-indexer-dev-failures',
      MessageRetentionPeriod: 1_209_600,
      KmsMasterKeyId: '{{StageKey.Arn}}',
      RedrivePolicy: {
        deadLetterTargetArn: '{{IndexerFailureDeadLetterQueue.Arn}}',
        maxReceiveCount: 5,
      },
    });
    // Only the failure queue may redrive into it.
    expect(queues.IndexerFailureDeadLetterQueue!.Properties).toEqual({
      QueueName: 'dynamodb-opensearch-indexer-dev-failures-dlq',
      MessageRetentionPeriod: 1_209_600,
      KmsMasterKeyId: '{{StageKey.Arn}}',
      RedriveAllowPolicy: {
        redrivePermission: 'byQueue',
        sourceQueueArns: [
          'arn:aws:sqs:eu-central-1:123456789012:dynamodb-opensearch-indexer-dev-failures',
        ],
      },
    });
  });

  it('creates no Kinesis stream, no Kinesis destination and no Kinesis read policy (source=dynamodb)', () => {
    expect(stack().ofType('AWS::Kinesis::Stream')).toEqual([]);
    expect(stack().ofType('AWS::IAM::Policy')).toEqual([]);
    for (const [, table] of stack().ofType('AWS::DynamoDB::Table'))
      expect(table.Properties).not.toHaveProperty('KinesisStreamSpecification');
    expect(env(stack()).SOURCE_TABLE).toBe('');
    expect(mapping(stack()).EventSourceArn).not.toMatch(/kinesis/i);
  });

  it('creates the article table with a NEW_AND_OLD_IMAGES stream and PITR, unless a stream is given', () => {
    // Arrange
    const tables = stack().ofType('AWS::DynamoDB::Table');

    if (name !== 'create') {
      expect(tables).toEqual([]);
      return;
    }
    const [, table] = tables[0]!;

    // Assert
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      TableName: 'UsersTransactions',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'userId', KeyType: 'HASH' },
        { AttributeName: 'transactionId', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'userId', AttributeType: 'N' },
        { AttributeName: 'transactionId', AttributeType: 'N' },
      ],
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('outputs the table, stream, endpoint, Dashboards URL, bucket and queue', () => {
    // Act
    const outputs = stack().outputs;

    // Assert
    const endpoint = env(stack()).OPENSEARCH_ENDPOINT;
    expect(outputs).toMatchObject({
      StreamArn: name === 'create' ? '{{UsersTransactionsTable.StreamArn}}' : EXISTING_STREAM,
      OpenSearchEndpoint: endpoint,
      DashboardsUrl: `${String(endpoint)}/_dashboards`,
      DeadLetterBucketName: '{{Ref:DeadLetterBucket}}',
      FailureQueueUrl: '{{Ref:IndexerFailureQueue}}',
      IndexerRoleArn: '{{IamRoleLambdaExecution.Arn}}',
    });
    if (name === 'create') expect(outputs.TableName).toBe('{{Ref:UsersTransactionsTable}}');
    else expect(outputs).not.toHaveProperty('TableName');
  });

  describe('operations (issue 10): alarms, topic, dashboard', () => {
    interface AlarmProperties {
      Namespace: string;
      MetricName: string;
      Dimensions: { Name: string; Value: unknown }[];
      Statistic: string;
      Period: number;
      EvaluationPeriods: number;
      Threshold: unknown;
      ComparisonOperator: string;
      AlarmActions: unknown[];
    }
    const alarms = (): Record<string, AlarmProperties> =>
      Object.fromEntries(
        stack()
          .ofType('AWS::CloudWatch::Alarm')
          .map(([id, r]) => [id, r.Properties as unknown as AlarmProperties]),
      );
    const FUNCTION = [{ Name: 'FunctionName', Value: '{{Ref:IndexerLambdaFunction}}' }];
    const DOMAIN = [
      { Name: 'DomainName', Value: 'transactions-dev' },
      { Name: 'ClientId', Value: '123456789012' },
    ];
    // id, namespace ('EMF' = the handler's), metric, statistic, comparison, threshold (default)
    const EXPECTED: [string, string, string, string, string, number][] = [
      ['IteratorAgeAlarm', 'AWS/Lambda', 'IteratorAge', 'Maximum', 'GreaterThanThreshold', 600_000],
      ['DeadLettersAlarm', 'EMF', 'deadLettered', 'Sum', 'GreaterThanThreshold', 0],
      ['FailedRecordsAlarm', 'EMF', 'failed', 'Sum', 'GreaterThanThreshold', 0],
      ['FunctionErrorsAlarm', 'AWS/Lambda', 'Errors', 'Sum', 'GreaterThanThreshold', 0],
      ['ThrottlesAlarm', 'AWS/Lambda', 'Throttles', 'Sum', 'GreaterThanThreshold', 0],
      [
        'FailureQueueAlarm',
        'AWS/SQS',
        'ApproximateNumberOfMessagesVisible',
        'Maximum',
        'GreaterThanThreshold',
        0,
      ],
      [
        'ClusterRedAlarm',
        'AWS/ES',
        'ClusterStatus.red',
        'Maximum',
        'GreaterThanOrEqualToThreshold',
        1,
      ],
      [
        'ClusterIndexWritesBlockedAlarm',
        'AWS/ES',
        'ClusterIndexWritesBlocked',
        'Maximum',
        'GreaterThanOrEqualToThreshold',
        1,
      ],
      [
        'FreeStorageSpaceAlarm',
        'AWS/ES',
        'FreeStorageSpace',
        'Minimum',
        'LessThanOrEqualToThreshold',
        2560,
      ],
      [
        'JvmMemoryPressureAlarm',
        'AWS/ES',
        'JVMMemoryPressure',
        'Maximum',
        'GreaterThanOrEqualToThreshold',
        95,
      ],
    ];
    const CLUSTER = new Set(['AWS/ES']);

    it('creates exactly the expected alarms (the cluster ones only for a created domain)', () => {
      const expected = EXPECTED.filter(([, ns]) => name === 'create' || !CLUSTER.has(ns)).map(
        ([id]) => id,
      );
      expect(Object.keys(alarms()).sort()).toEqual(expected.sort());
    });

    it.each(EXPECTED)(
      '%s watches %s %s (%s, %s %d) and notifies the alarm topic',
      (id, namespace, metric, statistic, comparison, threshold) => {
        if (name !== 'create' && CLUSTER.has(namespace)) return;
        // Prepare: what the function's EMF lines carry, from its own packaged environment.
        const e = env(stack());
        const config = loadConfig({
          OPENSEARCH_ENDPOINT: 'https://search-x.eu-central-1.es.amazonaws.com',
          OPENSEARCH_INDEX: String(e.OPENSEARCH_INDEX),
          METRICS: String(e.METRICS),
          METRICS_NAMESPACE: String(e.METRICS_NAMESPACE),
          METRICS_DIMENSIONS: String(e.METRICS_DIMENSIONS),
        });
        const line = createEmf(config.metrics!)(emptySummary(1), 1, 0);
        const directive = (
          line._aws as {
            CloudWatchMetrics: {
              Namespace: string;
              Dimensions: string[][];
              Metrics: { Name: string }[];
            }[];
          }
        ).CloudWatchMetrics[0]!;

        // Act
        const alarm = alarms()[id]!;

        // Assert
        if (namespace === 'EMF') {
          expect(alarm.Namespace).toBe(directive.Namespace);
          expect(directive.Metrics.map((m) => m.Name)).toContain(metric);
          expect(alarm.Dimensions).toEqual(
            directive.Dimensions[0]!.map((d) => ({ Name: d, Value: line[d] })),
          );
          // The documented defaults.
          expect(alarm.Namespace).toBe('DynamoDBOpenSearchIndexer');
          expect(alarm.Dimensions).toEqual([
            { Name: 'Service', Value: 'dynamodb-opensearch-indexer-dev' },
            { Name: 'Index', Value: 'transactions' },
          ]);
        } else {
          expect(alarm.Namespace).toBe(namespace);
          expect(alarm.Dimensions).toEqual(
            namespace === 'AWS/Lambda'
              ? FUNCTION
              : namespace === 'AWS/ES'
                ? DOMAIN
                : [{ Name: 'QueueName', Value: '{{IndexerFailureQueue.QueueName}}' }],
          );
        }
        expect(alarm).toMatchObject({
          MetricName: metric,
          Statistic: statistic,
          ComparisonOperator: comparison,
          Threshold: threshold,
          AlarmActions: ['{{Ref:AlarmTopic}}'],
        });
      },
    );

    it('subscribes an e-mail address to the one alarm topic only when AlarmEmail is given', () => {
      // Prepare
      const template = stack().template;

      // Act
      const withEmail = new Stack(template, { AlarmEmail: 'ops@example.com' });

      // Assert
      expect(
        stack()
          .ofType('AWS::SNS::Topic')
          .map(([id]) => id),
      ).toEqual(['AlarmTopic']);
      expect(stack().ofType('AWS::SNS::Subscription')).toEqual([]);
      expect(withEmail.one('AWS::SNS::Subscription')[1].Properties).toEqual({
        TopicArn: '{{Ref:AlarmTopic}}',
        Protocol: 'email',
        Endpoint: 'ops@example.com',
      });
    });

    it('builds one dashboard of throughput, freshness, outcomes, errors and the cluster', () => {
      // Act
      const body = JSON.parse(
        String(stack().one('AWS::CloudWatch::Dashboard')[1].Properties?.DashboardBody),
      ) as { widgets: { properties: { title: string; metrics: unknown[][] } }[] };

      // Assert
      const titles = body.widgets.map((w) => w.properties.title);
      expect(titles).toEqual([
        'Throughput (records, bytes)',
        'Freshness (s) and iterator age (ms)',
        'Outcomes',
        'Errors',
        ...(name === 'create' ? ['Cluster'] : []),
      ]);
      const named = body.widgets.flatMap((w) => w.properties.metrics.map((m) => m[1]));
      for (const metric of [
        'records',
        'freshness',
        'deadLettered',
        'failed',
        'IteratorAge',
        'Errors',
      ]) {
        expect(named).toContain(metric);
      }
      expect(body.widgets[0]!.properties.metrics[0]).toEqual([
        'DynamoDBOpenSearchIndexer',
        'records',
        'Service',
        'dynamodb-opensearch-indexer-dev',
        'Index',
        'transactions',
      ]);
    });
  });

  it('zips only the bundled handler, its source map and the lazily loaded credential chain, under 512 KiB', () => {
    // Arrange
    const zip = packaged[name].zip;
    expect(existsSync(zip)).toBe(true);

    // Act
    const entries = zipEntries(zip);
    const names = entries.map((e) => e.name).sort();

    // Assert
    expect(names).toEqual(['aws-credential-chain.js', 'handler.js', 'handler.js.map']);
    expect(names.some((n) => n.includes('node_modules'))).toBe(false);
    expect(statSync(zip).size).toBeLessThan(512 * 1024);
    const map = JSON.parse(
      entries
        .find((e) => e.name === 'handler.js.map')!
        .read()
        .toString('utf8'),
    ) as {
      sources: string[];
      sourcesContent?: unknown;
    };
    expect(map.sources.some((s) => s.endsWith('handler.ts'))).toBe(true);
    expect(map.sourcesContent).toBeUndefined();
    const code = entries
      .find((e) => e.name === 'handler.js')!
      .read()
      .toString('utf8');
    // Everything is bundled: no require() of anything but Node's own modules and the credential
    // chain's own file in the zip. (The chain file's one other match is text, not code: an SDK
    // error message telling users to require() the optional CRT signer, never used here.)
    const requiredBy = (file: string): string[] => {
      const text = entries
        .find((e) => e.name === file)!
        .read()
        .toString('utf8');
      const required = new Set(
        [...text.matchAll(/(?:require|import)\("([^"]+)"\)/g)].map((m) => m[1] as string),
      );
      return [...required].filter((m) => !m.startsWith('node:') && !builtinModules.includes(m));
    };
    expect(requiredBy('handler.js')).toEqual(['./aws-credential-chain.js']);
    expect(
      requiredBy('aws-credential-chain.js').filter((m) => m !== '@aws-sdk/signature-v4-crt'),
    ).toEqual([]);
    // The chain is out of the handler's own bundle: that is what keeps its load time small.
    expect(code).not.toContain('fromInstanceMetadata');
    expect(code).toContain('sourceMappingURL=handler.js.map');
  });

  it('loads the zipped handler on its own, with no node_modules anywhere', async () => {
    // Arrange: the zip's files alone in an empty directory.
    const dir = mkdtempSync(path.join(tmpdir(), 'indexer-zip-'));
    try {
      for (const entry of zipEntries(packaged[name].zip))
        writeFileSync(path.join(dir, entry.name), entry.read());
      // Loads the handler, then the SDK chain the way the handler does when the environment holds
      // no credentials (a profile file here), proving the zip alone carries both.
      writeFileSync(
        path.join(dir, 'credentials'),
        '[default]\naws_access_key_id = AKIDFROMPROFILE\naws_secret_access_key = secret\n',
      );
      const probe =
        "const m = require('./handler.js');" +
        "const kinds = ['handler','createRuntime','createHandler'].map((k) => typeof m[k]);" +
        "require('./aws-credential-chain.js').defaultProvider()().then((c) =>" +
        ' process.stdout.write(JSON.stringify([...kinds, c.accessKeyId])));';

      // Act
      const result = await runNode(['-e', probe], {
        cwd: dir,
        env: cleanEnv({
          NODE_PATH: '',
          AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials'),
          AWS_CONFIG_FILE: path.join(dir, 'no-config'),
          AWS_EC2_METADATA_DISABLED: 'true',
        }),
        timeoutMs: 30_000,
      });

      // Assert
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual([
        'function',
        'function',
        'function',
        'AKIDFROMPROFILE',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Two Node processes load the bundle; on a busy shared machine that can take seconds.
  }, 30_000);
});

/** `--param="source=kinesis"`: the table's changes through a Kinesis data stream. */
describe.each(['kinesis', 'kinesis-existing'] as const)('serverless package (%s)', (name) => {
  const stack = () => packaged[name].stack;
  const streamArn = name === 'kinesis' ? '{{ChangesKinesisStream.Arn}}' : EXISTING_KINESIS;

  it('produces a template whose every reference points at a created resource', () => {
    expect(stack().danglingReferences()).toEqual([]);
  });

  it('maps the Kinesis stream with the same settings as the DynamoDB stream', () => {
    // Act
    const m = mapping(stack());
    const dynamodbMapping = mapping(packaged.create.stack);

    // Assert
    expect(m.EventSourceArn).toBe(streamArn);
    const settings = { ...m, EventSourceArn: undefined };
    expect(settings).toEqual({ ...dynamodbMapping, EventSourceArn: undefined });
    expect(settings).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 100,
      MaximumRecordAgeInSeconds: 43_200,
      DestinationConfig: { OnFailure: { Destination: '{{IndexerFailureQueue.Arn}}' } },
    });
  });

  it('creates an on-demand stream encrypted with the stage key, only when none is given', () => {
    // Act
    const streams = stack().ofType('AWS::Kinesis::Stream');

    // Assert
    if (name === 'kinesis-existing') {
      expect(streams).toEqual([]);
      return;
    }
    expect(streams.map(([id]) => id)).toEqual(['ChangesKinesisStream']);
    expect(streams[0]![1].Properties).toEqual({
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      RetentionPeriodHours: 24,
      StreamEncryption: { EncryptionType: 'KMS', KeyId: '{{StageKey.Arn}}' },
    });
  });

  it('streams the created table into it with microsecond timestamps, and keeps its DynamoDB stream', () => {
    // Act
    const tables = stack().ofType('AWS::DynamoDB::Table');

    // Assert
    if (name === 'kinesis-existing') {
      expect(tables).toEqual([]);
      return;
    }
    expect(tables[0]![1].Properties).toMatchObject({
      TableName: 'UsersTransactions',
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      KinesisStreamSpecification: {
        StreamArn: '{{ChangesKinesisStream.Arn}}',
        ApproximateCreationDateTimePrecision: 'MICROSECOND',
      },
    });
  });

  it('lets the role read only that stream, and nothing of the DynamoDB stream', () => {
    // Arrange
    const all = policyStatements(stack()).filter(
      (s) => s.where === `${INDEXER_ROLE} (role policy)` || s.where === 'IndexerKinesisReadPolicy',
    );
    const kinesis = all.filter((s) => actions(s.statement).some((a) => a.startsWith('kinesis:')));

    // Assert
    expect(kinesis.flatMap((s) => actions(s.statement)).sort()).toEqual([
      'kinesis:DescribeStream',
      'kinesis:DescribeStreamSummary',
      'kinesis:GetRecords',
      'kinesis:GetShardIterator',
      'kinesis:ListShards',
      'kinesis:ListStreams',
    ]);
    for (const { statement } of kinesis) {
      expect(statement.Effect).toBe('Allow');
      expect(resources(statement)).toEqual([streamArn]);
      expect(actions(statement).every((a) => a.startsWith('kinesis:'))).toBe(true);
    }
    expect(all.filter((s) => actions(s.statement).some((a) => a.startsWith('dynamodb:')))).toEqual(
      [],
    );
    // Attached to the function's role, nowhere else; the stage key only through Kinesis.
    const [, policy] = stack().one('AWS::IAM::Policy');
    expect(policy.Properties?.Roles).toEqual(['{{Ref:IamRoleLambdaExecution}}']);
    expect(
      all
        .filter((s) => s.where === 'IndexerKinesisReadPolicy')
        .filter((s) => actions(s.statement).some((a) => a.startsWith('kms:')))
        .map((s) => s.statement),
    ).toEqual([
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt'],
        Resource: '{{StageKey.Arn}}',
        Condition: { StringEquals: { 'kms:ViaService': 'kinesis.eu-central-1.amazonaws.com' } },
      },
    ]);
    const other = all.filter(
      (s) => !actions(s.statement).every((a) => /^(es|s3|kinesis|kms|sqs|logs):/.test(a)),
    );
    expect(other).toEqual([]);
  });

  it('indexes any table on the stream unless sourceTable names one', () => {
    expect(env(stack()).SOURCE_TABLE).toBe(name === 'kinesis' ? '' : 'Ledger');
  });

  it('outputs the Kinesis stream as the stream it reads', () => {
    expect(stack().outputs.StreamArn).toBe(streamArn);
  });

  it('packages the same handler as the DynamoDB source', () => {
    const code = (zip: string): Buffer =>
      zipEntries(zip)
        .find((e) => e.name === 'handler.js')!
        .read();
    expect(code(packaged[name].zip).equals(code(packaged.create.zip))).toBe(true);
  });
});

/**
 * The two profiles of serverless.yml, packaged with osls as a deploy would: the default stage
 * (`dev`) and `--stage prod`. AWS Control Tower's proactive controls (AWS's cfn-guard rules, run
 * offline from the pinned npm package) judge both packaged templates, and the prod template is
 * checked for what the controls cannot see: fine-grained access control and its generated
 * password, the key policy, the VPC wiring and the IAM scoping.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { policyStatements, Stack, type CfnTemplate, type PolicyStatement } from './cfn';
import {
  cfnGuardBinary,
  describeFailures,
  evaluateControls,
  type ControlResult,
} from './cfn-guard';
import { copyService, ROOT, runServerless } from './serverless-run';

type StageName = 'dev' | 'prod';
const STAGES: StageName[] = ['dev', 'prod'];

/** Controls prod deliberately does not meet; each is explained in docs/deploy.md. */
const DOCUMENTED_EXCEPTIONS = ['CT.OPENSEARCH.PR.16'];
/** What the default stage must pass although it is the cheap profile. */
const DEFAULT_STAGE_CONTROLS = [
  'CT.S3.PR.1',
  'CT.S3.PR.4',
  'CT.S3.PR.6',
  'CT.S3.PR.8',
  'CT.S3.PR.11',
  'CT.SQS.PR.1',
  'CT.CLOUDWATCH.PR.2',
];

interface Packaged {
  readonly update: string;
  readonly create: string;
  readonly stack: Stack;
  readonly createStack: Stack;
  readonly raw: string;
  readonly controls: Map<string, ControlResult>;
  readonly createControls: Map<string, ControlResult>;
}

const packaged = {} as Record<StageName, Packaged>;
const removers: (() => void)[] = [];

beforeAll(async () => {
  await Promise.all(
    STAGES.map(async (stage) => {
      const { dir, remove } = copyService();
      removers.push(remove);
      const out = path.join(dir, '.package');
      const args = ['package', '--stage', stage, '--region', 'eu-central-1', '--package', out];
      const result = await runServerless(dir, args, {}, 150_000);
      if (result.code !== 0) {
        throw new Error(
          `serverless package --stage ${stage} exited ${result.code}:\n${result.stdout}\n${result.stderr}`,
        );
      }
      const update = path.join(out, 'cloudformation-template-update-stack.json');
      const create = path.join(out, 'cloudformation-template-create-stack.json');
      const raw = readFileSync(update, 'utf8');
      packaged[stage] = {
        update,
        create,
        raw,
        stack: new Stack(JSON.parse(raw) as CfnTemplate),
        createStack: new Stack(JSON.parse(readFileSync(create, 'utf8')) as CfnTemplate),
        controls: await evaluateControls(update),
        // The create-stack template holds the deployment bucket and its policy only: every
        // control outside S3 would be skipped, so only the S3 rules are run over it.
        createControls: await evaluateControls(create, 's3'),
      };
      // The report the issue asks for: every failing control, with its own message.
      const failing = describeFailures(packaged[stage].controls);
      process.stdout.write(
        `[controls] --stage ${stage}: ${failing.length} failing control(s)\n` +
          failing.map((line) => `  ${line}\n`).join(''),
      );
    }),
  );
  // Packaging and the rules each take well under a minute alone, several on a busy 2-core machine.
}, 600_000);

afterAll(() => {
  for (const remove of removers) remove();
});

function statusOf(results: Map<string, ControlResult>, control: string): string {
  return results.get(control)?.status ?? 'ABSENT';
}
function failing(results: Map<string, ControlResult>): string[] {
  return [...results.values()].filter((r) => r.status === 'FAIL').map((r) => r.control);
}
function props(stack: Stack, id: string): Record<string, unknown> {
  const resource = stack.resources[id];
  if (resource === undefined) throw new Error(`no resource ${id}`);
  return resource.Properties ?? {};
}
function list<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : ([value].flat() as T[]);
}

describe('AWS Control Tower proactive controls (cfn-guard rules from @cdklabs/cdk-validator-cfnguard)', () => {
  it('runs the cfn-guard binary shipped in the pinned package', () => {
    // Act
    const result = spawnSync(cfnGuardBinary(), ['--version'], { encoding: 'utf8' });

    // Assert
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^cfn-guard \d+\.\d+\.\d+/);
  });

  it('evaluates the controls of every service the prod stack uses', () => {
    // Arrange
    const applied = [...packaged.prod.controls.values()]
      .filter((r) => r.status !== 'SKIP')
      .map((r) => r.control.split('.')[1]);

    // Assert: a wrong rules path or an unreadable template would skip everything and pass.
    expect([...new Set(applied)].sort()).toEqual([
      'CLOUDWATCH',
      'DYNAMODB',
      'IAM',
      // The source=kinesis stream is in every template (created only under its condition).
      'KINESIS',
      'KMS',
      'LAMBDA',
      'OPENSEARCH',
      'S3',
      'SQS',
      // The backfill state machine (issue 8).
      'STEPFUNCTIONS',
    ]);
  });

  it('passes every applicable control in prod except the documented exceptions', () => {
    // Act
    const failed = failing(packaged.prod.controls);

    // Assert
    expect(failed.filter((c) => !DOCUMENTED_EXCEPTIONS.includes(c))).toEqual([]);
    expect(failing(packaged.prod.createControls)).toEqual([]);
  });

  it.each(DOCUMENTED_EXCEPTIONS)('explains the exception %s in docs/deploy.md', (control) => {
    // Arrange
    const docs = readFileSync(path.join(ROOT, 'docs', 'deploy.md'), 'utf8');

    const row = docs.split('\n').find((line) => line.startsWith(`| \`${control}\` |`));

    // Assert: a row of the exceptions table, with a reason.
    expect(row).toMatch(/^\| `[^`]+` \| .{20,} \|$/);
  });

  it.each(DEFAULT_STAGE_CONTROLS)(
    'passes %s in the default stage (an S3 control: for the framework deployment bucket too)',
    (control) => {
      // Assert: PASS, not SKIP: the control found resources to judge.
      expect(statusOf(packaged.dev.controls, control)).toBe('PASS');
      if (control.startsWith('CT.S3.')) {
        expect(statusOf(packaged.dev.createControls, control)).toBe('PASS');
      }
    },
  );

  it('still fails the controls the default stage skips to stay cheap (so the profiles differ)', () => {
    // Act
    const failed = failing(packaged.dev.controls);

    // Assert
    expect(failed).toEqual(
      expect.arrayContaining([
        'CT.LAMBDA.PR.3',
        'CT.OPENSEARCH.PR.10',
        'CT.OPENSEARCH.PR.14',
        'CT.OPENSEARCH.PR.15',
        'CT.S3.PR.9',
      ]),
    );
  });
});

describe.each(STAGES)('the framework deployment bucket (%s)', (stage) => {
  it('is the same completed bucket in the create-stack and the update-stack template', () => {
    // Arrange
    const { stack, createStack } = packaged[stage];

    // Assert
    const bucket = props(stack, 'ServerlessDeploymentBucket');
    expect(props(createStack, 'ServerlessDeploymentBucket')).toEqual(bucket);
    expect(props(createStack, 'ServerlessDeploymentBucketPolicy')).toEqual(
      props(stack, 'ServerlessDeploymentBucketPolicy'),
    );
    expect(bucket).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      VersioningConfiguration: { Status: 'Enabled' },
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
      ObjectLockEnabled: stage === 'prod',
    });
    expect(bucket).not.toHaveProperty('ObjectLockConfiguration');
  });
});

describe('the prod template', () => {
  const stack = () => packaged.prod.stack;
  const domain = () => props(stack(), 'OpenSearchDomain');

  it('turns on fine-grained access control with an internal master user whose password comes from the generated secret', () => {
    // Assert
    expect(domain().AdvancedSecurityOptions).toEqual({
      Enabled: true,
      InternalUserDatabaseEnabled: true,
      MasterUserOptions: {
        MasterUserName: 'dashboards-admin',
        MasterUserPassword:
          '{{resolve:secretsmanager:{{Ref:DashboardsMasterSecret}}:SecretString:password::}}',
      },
    });
    expect(props(stack(), 'DashboardsMasterSecret')).toEqual({
      Description: 'OpenSearch Dashboards master user of transactions-prod',
      GenerateSecretString: expect.objectContaining({
        SecretStringTemplate: '{"username":"dashboards-admin"}',
        GenerateStringKey: 'password',
        PasswordLength: 32,
        RequireEachIncludedType: true,
      }),
    });
  });

  it('never puts the master password in the template or the outputs', () => {
    // Arrange
    const template = JSON.parse(packaged.prod.raw) as CfnTemplate;

    // Assert: no literal secret anywhere, only the dynamic reference in the domain.
    expect(props(stack(), 'DashboardsMasterSecret')).not.toHaveProperty('SecretString');
    // The only template parameters are the alarm settings (issue 10): none can carry a secret.
    for (const [name, parameter] of Object.entries(template.Parameters ?? {})) {
      expect(name).toMatch(/^(AlarmEmail|\w+Alarm\w*)$/);
      expect(name).not.toMatch(/pass|secret|master/i);
      expect(parameter).not.toHaveProperty('NoEcho');
    }
    const references = packaged.prod.raw.match(/resolve:secretsmanager/g) ?? [];
    expect(references).toHaveLength(1);
    expect(JSON.stringify(template.Outputs)).not.toContain('resolve:secretsmanager');
    expect(stack().outputs.DashboardsMasterSecretArn).toBe('{{Ref:DashboardsMasterSecret}}');
  });

  it('puts the domain in three zones of the VPC, with audit and error logs', () => {
    // Assert
    expect(domain().ClusterConfig).toMatchObject({
      InstanceCount: 3,
      ZoneAwarenessEnabled: true,
      ZoneAwarenessConfig: { AvailabilityZoneCount: 3 },
    });
    expect(domain().LogPublishingOptions).toEqual({
      ES_APPLICATION_LOGS: {
        Enabled: true,
        CloudWatchLogsLogGroupArn: '{{DomainErrorLogGroup.Arn}}',
      },
      AUDIT_LOGS: { Enabled: true, CloudWatchLogsLogGroupArn: '{{DomainAuditLogGroup.Arn}}' },
    });
    const logsPolicy = JSON.parse(
      props(stack(), 'DomainLogsResourcePolicy').PolicyDocument as string,
    ) as { Statement: PolicyStatement[] };
    expect(logsPolicy.Statement).toEqual([
      {
        Sid: 'OpenSearchWritesDomainLogs',
        Effect: 'Allow',
        Principal: { Service: 'es.amazonaws.com' },
        Action: ['logs:PutLogEvents', 'logs:CreateLogStream'],
        Resource: ['{{DomainErrorLogGroup.Arn}}', '{{DomainAuditLogGroup.Arn}}'],
        Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
      },
    ]);
  });

  it('wires the function and the domain into the same subnets, each with its own security groups', () => {
    // Arrange
    const fn = props(stack(), 'IndexerLambdaFunction');
    const subnets = ['a', 'b', 'c'].map(
      (zone) => `{{resolve:ssm:/dynamodb-opensearch-indexer/prod/subnet-${zone}}}`,
    );

    // Assert
    expect(fn.VpcConfig).toEqual({
      SubnetIds: subnets,
      SecurityGroupIds: [
        '{{resolve:ssm:/dynamodb-opensearch-indexer/prod/function-security-group}}',
      ],
    });
    expect(domain().VPCOptions).toEqual({
      SubnetIds: subnets,
      SecurityGroupIds: ['{{resolve:ssm:/dynamodb-opensearch-indexer/prod/domain-security-group}}'],
    });
    // Lambda manages the function's network interfaces with AWS's managed policy for that.
    expect(props(stack(), 'IamRoleLambdaExecution').ManagedPolicyArns).toEqual([
      'arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole',
    ]);
  });

  it('locks dead letters (Object Lock) without a default retention rule that could refuse a write', () => {
    // Act
    const bucket = props(stack(), 'DeadLetterBucket');

    // Assert
    expect(bucket.ObjectLockEnabled).toBe(true);
    expect(bucket).not.toHaveProperty('ObjectLockConfiguration');
    expect(bucket.LoggingConfiguration).toEqual({
      DestinationBucketName: '{{resolve:ssm:/dynamodb-opensearch-indexer/prod/access-logs-bucket}}',
      LogFilePrefix: 'dynamodb-opensearch-indexer-prod/dead-letter/',
    });
  });

  it("opens the domain access policy only behind fine-grained access control and the VPC, and it admits the indexer's _bulk", () => {
    // Arrange
    const policy = domain().AccessPolicies as { Statement: PolicyStatement[] };
    const role = '{{IamRoleLambdaExecution.Arn}}';
    const bulk = 'arn:aws:es:eu-central-1:123456789012:domain/transactions-prod/transactions/_bulk';

    // Assert
    expect(policy.Statement).toEqual([
      {
        Sid: 'FineGrainedAccessControlDecides',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: ['es:ESHttp*'],
        Resource: 'arn:aws:es:eu-central-1:123456789012:domain/transactions-prod/*',
      },
    ]);
    expect(domain().AdvancedSecurityOptions).toMatchObject({ Enabled: true });
    expect(domain().VPCOptions).toMatchObject({ SubnetIds: expect.any(Array) });
    expect(allows(policy.Statement, role, 'es:ESHttpPost', bulk)).toBe(true);
  });
});

describe.each(STAGES)('keys, logs and IAM (%s)', (stage) => {
  const stack = () => packaged[stage].stack;

  it("lets only CloudWatch Logs (for this stack's log groups) and S3, SQS and Kinesis in this account use the stage key", () => {
    // Arrange
    const key = props(stack(), 'StageKey');
    const statements = (key.KeyPolicy as { Statement: PolicyStatement[] }).Statement;
    const dataActions = /^kms:(Encrypt|Decrypt|ReEncrypt|GenerateDataKey)/;
    const prefix = 'arn:aws:logs:eu-central-1:123456789012:log-group:';

    // Assert
    expect(key.EnableKeyRotation).toBe(true);
    const users = statements.filter(
      (s) => s.Effect === 'Allow' && list(s.Action).some((a) => dataActions.test(a)),
    );
    expect(users.map((s) => [s.Principal, s.Condition])).toEqual([
      [
        { Service: 'logs.eu-central-1.amazonaws.com' },
        {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': [
              `${prefix}/aws/lambda/dynamodb-opensearch-indexer-${stage}-*`,
              `${prefix}/aws/opensearch/transactions-${stage}/*`,
              `${prefix}/aws/vendedlogs/dynamodb-opensearch-indexer-${stage}/*`,
            ],
          },
        },
      ],
      [
        { AWS: 'arn:aws:iam::123456789012:root' },
        {
          StringEquals: {
            'kms:CallerAccount': '123456789012',
            'kms:ViaService': [
              's3.eu-central-1.amazonaws.com',
              'sqs.eu-central-1.amazonaws.com',
              'kinesis.eu-central-1.amazonaws.com',
            ],
          },
        },
      ],
    ]);
    // The account administers the key through IAM but cannot use it directly.
    const admin = statements.find((s) => s.Sid === 'AccountAdministersTheKey')!;
    expect(list(admin.Action).filter((a) => dataActions.test(a) || a === 'kms:*')).toEqual([]);
    expect(statements).toContainEqual({
      Sid: 'GrantsOnlyForAwsServices',
      Effect: 'Deny',
      Principal: '*',
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: {
        BoolIfExists: {
          'kms:GrantIsForAWSResource': 'false',
          'aws:PrincipalIsAWSService': 'false',
        },
      },
    });
  });

  it('encrypts every log group, the dead-letter bucket and every queue with the stage key, and keeps logs a year', () => {
    // Assert
    for (const [id, group] of stack().ofType('AWS::Logs::LogGroup')) {
      expect({ id, key: group.Properties?.KmsKeyId }).toEqual({ id, key: '{{StageKey.Arn}}' });
      expect(group.Properties?.RetentionInDays).toBeGreaterThanOrEqual(365);
    }
    for (const [id, queue] of stack().ofType('AWS::SQS::Queue')) {
      expect({ id, key: queue.Properties?.KmsMasterKeyId }).toEqual({
        id,
        key: '{{StageKey.Arn}}',
      });
    }
    expect(props(stack(), 'DeadLetterBucket').BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [
        {
          ServerSideEncryptionByDefault: {
            SSEAlgorithm: 'aws:kms',
            KMSMasterKeyID: '{{StageKey.Arn}}',
          },
          BucketKeyEnabled: true,
        },
      ],
    });
  });

  it('keeps the indexer role to _bulk on its index, dead letters and the stage key through S3 and SQS', () => {
    // Arrange
    // The indexer's role only: the backfill worker and its state machine have roles of their own.
    const role = policyStatements(stack())
      .filter((s) => s.where === 'IamRoleLambdaExecution (role policy)')
      .map((s) => s.statement);
    const domainArn = `arn:aws:es:eu-central-1:123456789012:domain/transactions-${stage}`;

    // Assert
    for (const statement of role) {
      for (const action of list(statement.Action)) expect(action).not.toMatch(/(^\*$|:\*$)/);
    }
    const byService = (service: string) =>
      role.filter((s) => list(s.Action).some((a) => a.startsWith(`${service}:`)));
    expect(byService('es')).toEqual([
      { Effect: 'Allow', Action: ['es:ESHttpPost'], Resource: [`${domainArn}/transactions/_bulk`] },
    ]);
    expect(byService('s3')).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: ['arn:aws:s3:::{{Ref:DeadLetterBucket}}/dead-letter/*'],
      },
    ]);
    expect(byService('kms')).toHaveLength(1);
    expect(byService('kms')[0]).toMatchObject({
      Resource: ['{{StageKey.Arn}}'],
      Condition: { StringEquals: { 'kms:ViaService': expect.any(Array) } },
    });
  });
});

describe('the default stage stays cheap', () => {
  const stack = () => packaged.dev.stack;

  it('has one small node, no VPC, no fine-grained access control and no secret', () => {
    // Arrange
    const domain = props(stack(), 'OpenSearchDomain');

    // Assert
    expect(domain.ClusterConfig).toEqual({
      InstanceType: 't3.small.search',
      InstanceCount: 1,
      ZoneAwarenessEnabled: false,
      DedicatedMasterEnabled: false,
    });
    expect(domain).not.toHaveProperty('AdvancedSecurityOptions');
    expect(domain).not.toHaveProperty('VPCOptions');
    expect(props(stack(), 'IndexerLambdaFunction')).not.toHaveProperty('VpcConfig');
    expect(props(stack(), 'IamRoleLambdaExecution')).not.toHaveProperty('ManagedPolicyArns');
    expect(stack().resources).not.toHaveProperty('DashboardsMasterSecret');
    expect(props(stack(), 'DeadLetterBucket').ObjectLockEnabled).toBe(false);
  });
});

/** Whether an identity-agnostic reading of `statements` allows principal/action/resource. */
function allows(
  statements: PolicyStatement[],
  principal: string,
  action: string,
  resource: string,
): boolean {
  const glob = (pattern: string, value: string): boolean =>
    new RegExp(`^${pattern.split('*').map(escape).join('.*')}$`).test(value);
  const escape = (text: string): string => text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  const principals = (s: PolicyStatement): string[] => {
    const p = s.Principal as string | { AWS?: string | string[] } | undefined;
    return typeof p === 'string' ? [p] : list(p?.AWS);
  };
  const matches = (s: PolicyStatement): boolean =>
    principals(s).some((p) => p === '*' || p === principal) &&
    list(s.Action).some((a) => glob(a, action)) &&
    list(s.Resource).some((r) => glob(r, resource)) &&
    s.Condition === undefined;
  return (
    statements.some((s) => s.Effect === 'Allow' && matches(s)) &&
    !statements.some((s) => s.Effect === 'Deny' && matches(s))
  );
}

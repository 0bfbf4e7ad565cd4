/**
 * The only module that knows DynamoDB: DescribeTable and parallel Scan through the AWS SDK v3
 * client, and which of its errors are worth retrying.
 *
 * The SDK's own retries are off (`maxAttempts: 1`): the segment worker retries throttling with the
 * project's one backoff policy (lib/retry.ts) and without limit, so a long stretch of throttling
 * slows a backfill down but never ends it. The endpoint comes from the SDK's standard
 * configuration (AWS_ENDPOINT_URL_DYNAMODB for a local DynamoDB), the credentials from its default
 * chain.
 */
import {
  DescribeTableCommand,
  DynamoDBClient,
  ScanCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import type { CredentialProvider } from '../credentials';
import { describeError, IndexerError } from '../errors';

/** The project's credential provider in the SDK's shape (no `undefined` optional fields). */
function sdkCredentials(provider: CredentialProvider) {
  return async () => {
    const c = await provider();
    return {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
      ...(c.expiration ? { expiration: c.expiration } : {}),
    };
  };
}

export type Item = Record<string, AttributeValue>;

export interface TableDescription {
  readonly name: string;
  /** Key attribute names in key-schema order: hash key, then range key. */
  readonly keyNames: readonly string[];
  /** DescribeTable's ItemCount: refreshed by DynamoDB about every six hours, so approximate. */
  readonly itemCount: number;
  readonly status: string;
}

export interface ScanRequest {
  readonly segment: number;
  readonly totalSegments: number;
  readonly startKey: Item | undefined;
  /** Items per page at most (a page also stops at 1 MB). */
  readonly limit?: number | undefined;
}

export interface ScanPage {
  readonly items: Item[];
  /** Where the segment continues; undefined when the segment is done. */
  readonly lastKey: Item | undefined;
  /** Read capacity units the page consumed, when DynamoDB reports it. */
  readonly capacityUnits: number;
}

export interface DynamoTable {
  readonly table: string;
  describe(): Promise<TableDescription>;
  scan(request: ScanRequest): Promise<ScanPage>;
  close(): void;
}

/** A DynamoDB error that retrying cannot fix: a missing table, bad credentials, a bad endpoint. */
export class DynamoFatalError extends IndexerError {
  override name = 'DynamoFatalError';
}

/**
 * DynamoDB's throttling answers (HTTP 400 `ProvisionedThroughputExceededException` for a
 * provisioned table, `ThrottlingException` and `RequestLimitExceeded` otherwise; DynamoDB API
 * reference, "Common Errors" and Scan) and its server errors are retried; everything else is a
 * problem of the request or the setup.
 */
const THROTTLED = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'Throttling',
]);

export type DynamoErrorClass = 'throttled' | 'retry' | 'fatal';

export function classifyDynamoError(error: unknown): DynamoErrorClass {
  const e = error as { name?: unknown; code?: unknown; $metadata?: { httpStatusCode?: unknown } };
  // As text: a missing or odd field prints as something ("undefined") that no rule below names.
  const name = String(e?.name);
  if (THROTTLED.has(name)) return 'throttled';
  const status = e?.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 500) return 'retry';
  if (name === 'InternalServerError' || name === 'ServiceUnavailable') return 'retry';
  // Lost connections and timeouts on an endpoint that answered before are transient.
  const code = String(e?.code);
  if (['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'EAI_AGAIN'].includes(code)) {
    return 'retry';
  }
  if (name === 'TimeoutError' || name === 'AbortError') return 'retry';
  return 'fatal';
}

/** One line for an operator: what went wrong and what to check. */
export function explainDynamoError(error: unknown, table: string, endpoint: string): string {
  const e = error as { name?: unknown; code?: unknown; message?: unknown };
  // As text, as in classifyDynamoError: a missing field matches no rule below.
  const name = String(e?.name);
  const code = String(e?.code);
  const message = String(e?.message);
  const where = `DynamoDB at ${endpoint}`;
  if (name === 'ResourceNotFoundException') {
    return `table ${table} does not exist in ${where} (check --table and AWS_REGION)`;
  }
  if (name === 'CredentialsProviderError' || /credential/i.test(message)) {
    return `no AWS credentials for ${where}: ${describeError(error)} (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)`;
  }
  if (
    name === 'UnrecognizedClientException' ||
    name === 'InvalidSignatureException' ||
    name === 'AccessDeniedException'
  ) {
    return `${where} refused the credentials: ${describeError(error)}`;
  }
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT'].includes(code)) {
    return `cannot reach ${where} (${code}; check AWS_ENDPOINT_URL_DYNAMODB and AWS_REGION)`;
  }
  if (/region/i.test(message)) {
    return `no AWS region for ${where}: set AWS_REGION`;
  }
  return `${where} failed: ${describeError(error)}`;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Where the SDK will send requests, for messages: the per-service endpoint or the region's. */
export function dynamoEndpoint(env: Env): string {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? '<no region>';
  return (
    env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL ?? `dynamodb.${region}.amazonaws.com`
  );
}

export function createDynamoTable(
  table: string,
  options: {
    readonly region?: string | undefined;
    readonly requestTimeoutMs?: number;
    /** Overrides the SDK's endpoint resolution (AWS_ENDPOINT_URL_DYNAMODB); tests use it. */
    readonly endpoint?: string;
    readonly credentials?: CredentialProvider;
  } = {},
): DynamoTable {
  const client = new DynamoDBClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: sdkCredentials(options.credentials) } : {}),
    maxAttempts: 1,
    requestHandler: {
      connectionTimeout: 5_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
    },
  });
  return {
    table,
    async describe() {
      const answer = await client.send(new DescribeTableCommand({ TableName: table }));
      const t = answer.Table;
      const schema = t?.KeySchema ?? [];
      const ordered = [
        ...schema.filter((k) => k.KeyType === 'HASH'),
        ...schema.filter((k) => k.KeyType !== 'HASH'),
      ];
      return {
        name: t?.TableName ?? table,
        keyNames: ordered.map((k) => String(k.AttributeName)),
        itemCount: Number(t?.ItemCount ?? 0),
        status: String(t?.TableStatus ?? 'UNKNOWN'),
      };
    },
    async scan(request) {
      const answer = await client.send(
        new ScanCommand({
          TableName: table,
          // The latest committed image of every item, not an eventually consistent one.
          ConsistentRead: true,
          Segment: request.segment,
          TotalSegments: request.totalSegments,
          ExclusiveStartKey: request.startKey,
          ReturnConsumedCapacity: 'TOTAL',
          ...(request.limit !== undefined ? { Limit: request.limit } : {}),
        }),
      );
      return {
        items: answer.Items ?? [],
        lastKey: answer.LastEvaluatedKey,
        capacityUnits: answer.ConsumedCapacity?.CapacityUnits ?? 0,
      };
    },
    close: () => client.destroy(),
  };
}

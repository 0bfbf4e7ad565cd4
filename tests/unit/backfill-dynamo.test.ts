/**
 * The DynamoDB edge: what the backfill asks of the SDK client (DescribeTable, a consistent
 * parallel Scan, no SDK retries), how it reads the answers, and which errors it retries or explains.
 * The SDK client is the one module edge replaced here (STYLE: jest.mock only at such edges); the
 * commands are the SDK's own, so their input is what would go on the wire.
 */
import type { DescribeTableCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  classifyDynamoError,
  createDynamoTable,
  dynamoEndpoint,
  explainDynamoError,
} from '../../lib/backfill/dynamo';

interface MockClient {
  readonly options: Record<string, unknown>;
  readonly sent: Array<DescribeTableCommand | ScanCommand>;
  destroyed: number;
}

const mockClients: MockClient[] = [];
let mockAnswer: (command: { constructor: { name: string } }) => unknown = () => ({});

jest.mock('@aws-sdk/client-dynamodb', () => {
  const actual = jest.requireActual<typeof import('@aws-sdk/client-dynamodb')>(
    '@aws-sdk/client-dynamodb',
  );
  class DynamoDBClient {
    private readonly mock: MockClient;
    constructor(options: Record<string, unknown>) {
      this.mock = { options, sent: [], destroyed: 0 };
      mockClients.push(this.mock);
    }
    async send(command: DescribeTableCommand | ScanCommand): Promise<unknown> {
      this.mock.sent.push(command);
      return mockAnswer(command);
    }
    destroy(): void {
      this.mock.destroyed++;
    }
  }
  return { ...actual, DynamoDBClient };
});

beforeEach(() => {
  mockClients.length = 0;
  mockAnswer = () => ({});
});

const lastClient = (): MockClient => mockClients[mockClients.length - 1] as MockClient;

describe('createDynamoTable', () => {
  it('turns the SDK retries off and sets the timeouts, region, endpoint and credentials given', () => {
    // Act
    createDynamoTable('T', {
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:8000',
      requestTimeoutMs: 1234,
      credentials: async () => ({ accessKeyId: 'a', secretAccessKey: 's' }),
    });

    // Assert
    expect(lastClient().options).toEqual({
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:8000',
      credentials: expect.any(Function) as unknown,
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 1234 },
    });
  });

  it("leaves region, endpoint and credentials to the SDK's defaults when none are given", () => {
    createDynamoTable('T');

    expect(lastClient().options).toStrictEqual({
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
    });
  });

  it.each([
    [
      { accessKeyId: 'a', secretAccessKey: 's' },
      { accessKeyId: 'a', secretAccessKey: 's' },
    ],
    [
      {
        accessKeyId: 'a',
        secretAccessKey: 's',
        sessionToken: 't',
        expiration: new Date('2026-12-02T00:00:00Z'),
      },
      {
        accessKeyId: 'a',
        secretAccessKey: 's',
        sessionToken: 't',
        expiration: new Date('2026-12-02T00:00:00Z'),
      },
    ],
  ])(
    'hands the SDK the credentials without undefined fields (%p)',
    async (credentials, expected) => {
      // Prepare
      createDynamoTable('T', { credentials: async () => credentials });
      const provider = lastClient().options.credentials as () => Promise<unknown>;

      // Act
      const given = await provider();

      // Assert
      expect(given).toStrictEqual(expected);
    },
  );

  it('reads the key schema hash key first, and the table state, from DescribeTable', async () => {
    // Prepare
    mockAnswer = () => ({
      Table: {
        TableName: 'UsersTransactions',
        KeySchema: [
          { AttributeName: 'transactionId', KeyType: 'RANGE' },
          { AttributeName: 'userId', KeyType: 'HASH' },
        ],
        ItemCount: 42,
        TableStatus: 'ACTIVE',
      },
    });
    const table = createDynamoTable('UsersTransactions');

    // Act
    const description = await table.describe();

    // Assert
    expect(description).toEqual({
      name: 'UsersTransactions',
      keyNames: ['userId', 'transactionId'],
      itemCount: 42,
      status: 'ACTIVE',
    });
    const [command] = lastClient().sent;
    expect(command?.constructor.name).toBe('DescribeTableCommand');
    expect(command?.input).toEqual({ TableName: 'UsersTransactions' });
  });

  it('describes a table the answer says nothing about by its name, with no keys', async () => {
    const table = createDynamoTable('T');

    expect(await table.describe()).toEqual({
      name: 'T',
      keyNames: [],
      itemCount: 0,
      status: 'UNKNOWN',
    });
  });

  it('sends a consistent parallel Scan from the given key, reporting consumed capacity', async () => {
    // Prepare
    mockAnswer = () => ({
      Items: [{ id: { N: '1' } }],
      LastEvaluatedKey: { id: { N: '1' } },
      ConsumedCapacity: { CapacityUnits: 2.5 },
    });
    const table = createDynamoTable('T');

    // Act
    const page = await table.scan({
      segment: 2,
      totalSegments: 4,
      startKey: { id: { N: '0' } },
      limit: 10,
    });

    // Assert
    expect(page).toEqual({
      items: [{ id: { N: '1' } }],
      lastKey: { id: { N: '1' } },
      capacityUnits: 2.5,
    });
    const [command] = lastClient().sent;
    expect(command?.constructor.name).toBe('ScanCommand');
    expect(command?.input).toStrictEqual({
      TableName: 'T',
      ConsistentRead: true,
      Segment: 2,
      TotalSegments: 4,
      ExclusiveStartKey: { id: { N: '0' } },
      ReturnConsumedCapacity: 'TOTAL',
      Limit: 10,
    });
  });

  it('sends no Limit without one, and reads an empty answer as the end of the segment', async () => {
    const table = createDynamoTable('T');

    const page = await table.scan({ segment: 0, totalSegments: 1, startKey: undefined });

    expect(page).toStrictEqual({ items: [], lastKey: undefined, capacityUnits: 0 });
    expect(Object.keys(lastClient().sent[0]?.input ?? {})).not.toContain('Limit');
  });

  it('closes the client', () => {
    const table = createDynamoTable('T');

    table.close();

    expect(lastClient().destroyed).toBe(1);
  });
});

const err = (name: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} happened`), { name, ...extra });

describe('classifyDynamoError', () => {
  it.each([
    [err('ProvisionedThroughputExceededException'), 'throttled'],
    [err('ThrottlingException'), 'throttled'],
    [err('RequestLimitExceeded'), 'throttled'],
    [err('Throttling'), 'throttled'],
    [err('Whatever', { $metadata: { httpStatusCode: 500 } }), 'retry'],
    [err('Whatever', { $metadata: { httpStatusCode: 499 } }), 'fatal'],
    [err('Whatever', { $metadata: { httpStatusCode: '503' } }), 'fatal'],
    [err('InternalServerError'), 'retry'],
    [err('ServiceUnavailable'), 'retry'],
    [err('Error', { code: 'ECONNRESET' }), 'retry'],
    [err('Error', { code: 'EPIPE' }), 'retry'],
    [err('Error', { code: 'ETIMEDOUT' }), 'retry'],
    [err('Error', { code: 'ECONNREFUSED' }), 'retry'],
    [err('Error', { code: 'EAI_AGAIN' }), 'retry'],
    [err('Error', { code: 'ENOTFOUND' }), 'fatal'],
    [err('Error', { code: 42 }), 'fatal'],
    [err('TimeoutError'), 'retry'],
    [err('AbortError'), 'retry'],
    [{ name: 42 }, 'fatal'],
    [null, 'fatal'],
    [undefined, 'fatal'],
  ])('%p is %s', (error, expected) => {
    expect(classifyDynamoError(error)).toBe(expected);
  });
});

describe('explainDynamoError', () => {
  it.each<[unknown, string]>([
    [
      err('ResourceNotFoundException'),
      'table T does not exist in DynamoDB at E (check --table and AWS_REGION)',
    ],
    [
      err('CredentialsProviderError'),
      'no AWS credentials for DynamoDB at E: CredentialsProviderError: CredentialsProviderError happened (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)',
    ],
    [
      // The name alone decides, whatever the message says.
      Object.assign(new Error('no provider in the chain answered'), {
        name: 'CredentialsProviderError',
      }),
      'no AWS credentials for DynamoDB at E: CredentialsProviderError: no provider in the chain answered (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)',
    ],
    [
      new Error('Could not load CREDENTIALS from any providers'),
      'no AWS credentials for DynamoDB at E: Error: Could not load CREDENTIALS from any providers (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)',
    ],
    ...['UnrecognizedClientException', 'InvalidSignatureException', 'AccessDeniedException'].map(
      (name): [unknown, string] => [
        err(name),
        `DynamoDB at E refused the credentials: ${name}: ${name} happened`,
      ],
    ),
    ...['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT'].map(
      (code): [unknown, string] => [
        err('Error', { code }),
        `cannot reach DynamoDB at E (${code}; check AWS_ENDPOINT_URL_DYNAMODB and AWS_REGION)`,
      ],
    ),
    [new Error('Region is missing'), 'no AWS region for DynamoDB at E: set AWS_REGION'],
    [err('Odd'), 'DynamoDB at E failed: Odd: Odd happened'],
    [err('Odd', { code: 'EPIPE' }), 'DynamoDB at E failed: Odd: Odd happened'],
    [{ name: 1, code: 2, message: 3 }, 'DynamoDB at E failed: [object Object]'],
    [null, 'DynamoDB at E failed: null'],
  ])('explains %p for the operator', (error, expected) => {
    expect(explainDynamoError(error, 'T', 'E')).toBe(expected);
  });
});

describe('dynamoEndpoint', () => {
  it.each([
    [
      { AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000', AWS_ENDPOINT_URL: 'http://x' },
      'http://127.0.0.1:8000',
    ],
    [
      { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566', AWS_REGION: 'eu-west-1' },
      'http://127.0.0.1:4566',
    ],
    [
      { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-west-2' },
      'dynamodb.eu-west-1.amazonaws.com',
    ],
    [{ AWS_DEFAULT_REGION: 'us-west-2' }, 'dynamodb.us-west-2.amazonaws.com'],
    [{}, 'dynamodb.<no region>.amazonaws.com'],
  ])('says where requests go for %p', (env, expected) => {
    expect(dynamoEndpoint(env)).toBe(expected);
  });
});

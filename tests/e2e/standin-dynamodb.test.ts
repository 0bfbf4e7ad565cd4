import {
  DescribeTableCommand,
  DynamoDBClient,
  ScanCommand,
  type ScanCommandOutput,
} from '@aws-sdk/client-dynamodb';
import {
  DUMMY_CREDENTIALS,
  DynamoDBLocal,
  usersTransactions,
  type Item,
} from '../support/dynamodb-local';
import { httpRequest } from '../support/sign';

const TABLE = 'UsersTransactions';
let ddb: DynamoDBLocal;

beforeAll(async () => {
  ddb = await DynamoDBLocal.start();
});
afterAll(async () => {
  await ddb.close();
});
beforeEach(async () => {
  ddb.proxy.heal();
  await ddb.deleteTable(TABLE).catch(() => undefined);
  await ddb.createTable(TABLE);
  ddb.proxy.clearLog();
});

const keyOf = (i: Item): string => `${i.userId?.N}/${i.transactionId?.N}`;

/** Scans one segment to its end, page by page. */
async function scanSegment(
  client: DynamoDBClient,
  segment: number,
  total: number,
  limit?: number,
): Promise<Item[]> {
  const out: Item[] = [];
  let start: Item | undefined;
  do {
    const r: ScanCommandOutput = await client.send(
      new ScanCommand({
        TableName: TABLE,
        Segment: segment,
        TotalSegments: total,
        ConsistentRead: true,
        ExclusiveStartKey: start,
        ...(limit ? { Limit: limit } : {}),
      }),
    );
    out.push(...(r.Items ?? []));
    start = r.LastEvaluatedKey;
  } while (start);
  return out;
}

describe('local DynamoDB (dynalite behind a counting, throttling proxy)', () => {
  test('puts, deletes and a consistent full scan see the table as written', async () => {
    const items = usersTransactions(40);
    await ddb.putItems(TABLE, items);
    await ddb.deleteItem(TABLE, { userId: { N: '3' }, transactionId: { N: '4' } });
    await ddb.putItem(TABLE, {
      userId: { N: '3' },
      transactionId: { N: '51' },
      amount: { N: '11' },
    });

    const all = await ddb.scanAll(TABLE);

    const expected = new Set([...items.map(keyOf).filter((k) => k !== '3/4'), '3/51']);
    expect(new Set(all.map(keyOf))).toEqual(expected);
    expect(all).toHaveLength(40);
    expect(ddb.proxy.requests).toEqual([]);
  });

  test('a parallel consistent Scan with Segment/TotalSegments covers every item exactly once', async () => {
    // Segments split by hash key, so spread the items over many users.
    await ddb.putItems(TABLE, usersTransactions(120, 60));
    const client = ddb.client();

    const segments = await Promise.all([0, 1, 2, 3].map((s) => scanSegment(client, s, 4, 7)));

    const keys = segments.flat().map(keyOf);
    expect(new Set(keys).size).toBe(120);
    expect(keys).toHaveLength(120);
    expect(segments.every((s) => s.length > 0)).toBe(true);
    const scans = ddb.proxy.requests.filter((r) => r.operation === 'Scan');
    expect(scans.every((r) => r.body?.ConsistentRead === true && r.body.TotalSegments === 4)).toBe(
      true,
    );
    expect(ddb.proxy.counts()).toEqual({ Scan: scans.length });
  });

  test('AWS_ENDPOINT_URL_DYNAMODB points a client without an endpoint at the local DynamoDB', async () => {
    await ddb.putItems(TABLE, usersTransactions(3));
    ddb.reportExactItemCount(true);
    const saved = process.env.AWS_ENDPOINT_URL_DYNAMODB;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = ddb.endpoint;
    try {
      const client = new DynamoDBClient({ region: ddb.region, credentials: DUMMY_CREDENTIALS });

      const r = await client.send(new DescribeTableCommand({ TableName: TABLE }));
      client.destroy();

      expect(r.Table?.ItemCount).toBe(3);
      expect(r.Table?.KeySchema).toEqual([
        { AttributeName: 'userId', KeyType: 'HASH' },
        { AttributeName: 'transactionId', KeyType: 'RANGE' },
      ]);
      expect(ddb.proxy.counts()).toEqual({ DescribeTable: 1 });
    } finally {
      ddb.reportExactItemCount(false);
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
      else process.env.AWS_ENDPOINT_URL_DYNAMODB = saved;
    }
  });

  test('DescribeTable reports ItemCount 0 (as dynalite and a young DynamoDB table do) unless asked for the exact count', async () => {
    await ddb.putItems(TABLE, usersTransactions(4));
    const client = ddb.client();
    const describe = async () =>
      (await client.send(new DescribeTableCommand({ TableName: TABLE }))).Table?.ItemCount;

    const stale = await describe();
    ddb.reportExactItemCount(true);
    const exact = await describe();
    ddb.reportExactItemCount(false);

    expect([stale, exact]).toEqual([0, 4]);
    expect(ddb.proxy.counts()).toEqual({ DescribeTable: 2 });
  });

  test.each(['ProvisionedThroughputExceededException', 'ThrottlingException'] as const)(
    'the next N Scans answer HTTP 400 %s, then Scans pass again',
    async (fault) => {
      await ddb.putItems(TABLE, usersTransactions(5));
      ddb.proxy.throttle({ operations: ['Scan'], next: 2, fault });
      const client = ddb.client();
      const scan = () => client.send(new ScanCommand({ TableName: TABLE, ConsistentRead: true }));

      const first = await scan().catch((e: unknown) => e);
      const second = await scan().catch((e: unknown) => e);
      const third = await scan();

      for (const e of [first, second]) {
        expect(e).toMatchObject({ name: fault, $metadata: { httpStatusCode: 400 } });
      }
      expect(third.Count).toBe(5);
      expect(ddb.proxy.count('Scan', 'faulted')).toBe(2);
      expect(ddb.proxy.count('Scan', 'forwarded')).toBe(1);
    },
  );

  test('the raw throttling answer has the DynamoDB JSON error shape', async () => {
    ddb.proxy.throttle({ next: 1 });

    const r = await httpRequest(`${ddb.endpoint}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.Scan',
      },
      body: JSON.stringify({ TableName: TABLE }),
    });

    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(JSON.parse(r.text)).toMatchObject({
      __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
      message: expect.stringContaining('provisioned throughput') as unknown,
    });
  });

  test("the SDK's own retries absorb a short throttle; the proxy counts every attempt", async () => {
    await ddb.putItems(TABLE, usersTransactions(5));
    ddb.proxy.throttle({ operations: ['Scan'], next: 1, fault: 'ThrottlingException' });
    const client = ddb.client({ maxAttempts: 3 });

    const r = await client.send(new ScanCommand({ TableName: TABLE }));

    expect(r.Count).toBe(5);
    expect(r.$metadata.attempts).toBe(2);
    expect(ddb.proxy.counts()).toEqual({ Scan: 2 });
  });

  test('a long stretch: every Scan is throttled until the window ends', async () => {
    ddb.proxy.throttle({ operations: ['Scan'], forMs: 300 });
    const client = ddb.client();
    const outcomes: string[] = [];

    const started = Date.now();
    for (;;) {
      const r = await client
        .send(new ScanCommand({ TableName: TABLE }))
        .then(() => 'ok')
        .catch((e: Error) => e.name);
      outcomes.push(r);
      if (r === 'ok') break;
      await new Promise((res) => setTimeout(res, 40));
    }

    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(outcomes.length).toBeGreaterThan(2);
    expect(new Set(outcomes.slice(0, -1))).toEqual(
      new Set(['ProvisionedThroughputExceededException']),
    );
  });

  test('a schedule and a request matcher choose which requests fail', async () => {
    await ddb.putItems(TABLE, usersTransactions(30));
    // Every second Scan of segment 1 fails; segment 0 is never touched.
    ddb.proxy.throttle({
      operations: ['Scan'],
      match: ({ body }) => body?.Segment === 1,
      schedule: (k) => k % 2 === 0,
    });
    const client = ddb.client();
    const scan = (segment: number) =>
      client
        .send(new ScanCommand({ TableName: TABLE, Segment: segment, TotalSegments: 2, Limit: 2 }))
        .then(() => 'ok')
        .catch((e: Error) => e.name);

    const seg1 = [await scan(1), await scan(1), await scan(1), await scan(1)];
    const seg0 = [await scan(0), await scan(0)];

    expect(seg1).toEqual([
      'ok',
      'ProvisionedThroughputExceededException',
      'ok',
      'ProvisionedThroughputExceededException',
    ]);
    expect(seg0).toEqual(['ok', 'ok']);
  });

  test('a missing table is ResourceNotFoundException and the counts show what was touched', async () => {
    const client = ddb.client();

    const e = await client
      .send(new DescribeTableCommand({ TableName: 'NoSuchTable' }))
      .catch((err: unknown) => err);

    expect(e).toMatchObject({ name: 'ResourceNotFoundException' });
    expect(ddb.proxy.counts()).toEqual({ DescribeTable: 1 });
  });

  test('a scan resumed from a LastEvaluatedKey reads clearly fewer pages than a full one', async () => {
    await ddb.putItems(TABLE, usersTransactions(60));
    const client = ddb.client();
    const full = await scanSegment(client, 0, 1, 10);
    const fullPages = ddb.proxy.count('Scan');
    ddb.proxy.clearLog();
    const firstHalf = await client.send(
      new ScanCommand({ TableName: TABLE, Limit: 30, ConsistentRead: true }),
    );
    ddb.proxy.clearLog();

    let start = firstHalf.LastEvaluatedKey;
    const rest: Item[] = [];
    while (start) {
      const r = await client.send(
        new ScanCommand({ TableName: TABLE, Limit: 10, ExclusiveStartKey: start }),
      );
      rest.push(...(r.Items ?? []));
      start = r.LastEvaluatedKey;
    }

    expect(full).toHaveLength(60);
    expect(rest).toHaveLength(30);
    expect(ddb.proxy.count('Scan')).toBeLessThan(fullPages);
  });
});

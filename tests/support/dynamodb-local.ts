/**
 * A local DynamoDB for tests: dynalite (a JavaScript implementation of the DynamoDB API over
 * HTTP, in memory) on 127.0.0.1, behind a DynamoDBProxy that counts requests per operation and
 * injects throttling. Clients talk to `endpoint` (the proxy); nothing of DynamoDB is stubbed below
 * the HTTP layer.
 *
 * The default table is the article's `UsersTransactions`: `userId` (N) hash key and
 * `transactionId` (N) range key.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand,
  type AttributeValue,
  type KeySchemaElement,
  type ScalarAttributeType,
  type StreamViewType,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { DynamoDBProxy } from './dynamodb-proxy';

export type Item = Record<string, AttributeValue>;

export interface KeySpec {
  readonly hash: readonly [name: string, type: ScalarAttributeType];
  readonly range?: readonly [name: string, type: ScalarAttributeType];
}

/** The article's table: userId (N) hash key, transactionId (N) range key. */
export const USERS_TRANSACTIONS: KeySpec = { hash: ['userId', 'N'], range: ['transactionId', 'N'] };

export const DUMMY_CREDENTIALS = {
  accessKeyId: 'AKIDLOCALDYNAMODB',
  secretAccessKey: 'local-dynamodb-secret',
} as const;

export interface DynamoDBLocalOptions {
  /** Region the clients sign for (dynalite does not check it). Default us-east-1. */
  readonly region?: string;
  /** dynalite's CREATING/DELETING/UPDATING durations in ms. Default 0: tables are ACTIVE at once. */
  readonly tableStateMs?: number;
}

export class DynamoDBLocal {
  private clients: DynamoDBClient[] = [];

  private constructor(
    private readonly server: http.Server,
    /** The proxy every client goes through: counts and throttling. */
    readonly proxy: DynamoDBProxy,
    readonly region: string,
  ) {}

  /** Starts dynalite (in memory) and the proxy, each on 127.0.0.1 with a random port. */
  static async start(options: DynamoDBLocalOptions = {}): Promise<DynamoDBLocal> {
    const ms = options.tableStateMs ?? 0;
    const server = dynalite({ createTableMs: ms, deleteTableMs: ms, updateTableMs: ms });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const proxy = await DynamoDBProxy.start(`http://127.0.0.1:${port}`);
    return new DynamoDBLocal(server, proxy, options.region ?? 'us-east-1');
  }

  /** The endpoint for clients (the proxy). Also what AWS_ENDPOINT_URL_DYNAMODB should hold. */
  get endpoint(): string {
    return this.proxy.url;
  }

  /** dynalite itself, bypassing counts and faults. */
  get directEndpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Environment for a child process (backfill command) to reach this DynamoDB with dummy credentials. */
  env(): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_DYNAMODB: this.endpoint,
      AWS_REGION: this.region,
      AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
    };
  }

  /**
   * A real SDK client for this DynamoDB. `direct` skips the proxy (setup and checks that must
   * not count or be throttled). Retries are off unless asked, so a test sees every fault.
   */
  client(opts: { direct?: boolean; maxAttempts?: number } = {}): DynamoDBClient {
    const c = new DynamoDBClient({
      endpoint: opts.direct ? this.directEndpoint : this.endpoint,
      region: this.region,
      credentials: DUMMY_CREDENTIALS,
      maxAttempts: opts.maxAttempts ?? 1,
    });
    this.clients.push(c);
    return c;
  }

  private get admin(): DynamoDBClient {
    return (this.adminClient ??= this.client({ direct: true }));
  }
  private adminClient: DynamoDBClient | undefined;

  /** Creates a table (on-demand) and returns when it is ACTIVE. */
  async createTable(
    name = 'UsersTransactions',
    key: KeySpec = USERS_TRANSACTIONS,
    opts: { streamViewType?: StreamViewType } = {},
  ): Promise<void> {
    const schema: KeySchemaElement[] = [{ AttributeName: key.hash[0], KeyType: 'HASH' }];
    const defs = [{ AttributeName: key.hash[0], AttributeType: key.hash[1] }];
    if (key.range) {
      schema.push({ AttributeName: key.range[0], KeyType: 'RANGE' });
      defs.push({ AttributeName: key.range[0], AttributeType: key.range[1] });
    }
    await this.admin.send(
      new CreateTableCommand({
        TableName: name,
        KeySchema: schema,
        AttributeDefinitions: defs,
        BillingMode: 'PAY_PER_REQUEST',
        ...(opts.streamViewType
          ? { StreamSpecification: { StreamEnabled: true, StreamViewType: opts.streamViewType } }
          : {}),
      }),
    );
    for (let i = 0; i < 200; i++) {
      const d = await this.admin.send(new DescribeTableCommand({ TableName: name }));
      if (d.Table?.TableStatus === 'ACTIVE') return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`table ${name} did not become ACTIVE`);
  }

  async deleteTable(name: string): Promise<void> {
    await this.admin.send(new DeleteTableCommand({ TableName: name }));
  }

  async putItem(table: string, item: Item): Promise<void> {
    await this.admin.send(new PutItemCommand({ TableName: table, Item: item }));
  }

  /** Writes many items with BatchWriteItem (25 per request), retrying unprocessed ones. */
  async putItems(table: string, items: readonly Item[]): Promise<void> {
    for (let i = 0; i < items.length; i += 25) {
      let requests = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      while (requests.length > 0) {
        const r = await this.admin.send(
          new BatchWriteItemCommand({ RequestItems: { [table]: requests } }),
        );
        requests = (r.UnprocessedItems?.[table] ?? []).flatMap((w) =>
          w.PutRequest?.Item ? [{ PutRequest: { Item: w.PutRequest.Item } }] : [],
        );
      }
    }
  }

  async deleteItem(table: string, key: Item): Promise<void> {
    await this.admin.send(new DeleteItemCommand({ TableName: table, Key: key }));
  }

  /** Every item, read with a consistent full scan (direct, so it neither counts nor throttles). */
  async scanAll(table: string): Promise<Item[]> {
    const out: Item[] = [];
    let start: Item | undefined;
    do {
      const r = await this.admin.send(
        new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      out.push(...(r.Items ?? []));
      start = r.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /**
   * DescribeTable's ItemCount is 0 in dynalite (and only refreshed every ~6 hours by DynamoDB).
   * With `true`, the proxy reports the exact count (a direct COUNT scan) so progress and ETA code
   * can be tested; `false` restores the raw answer.
   */
  reportExactItemCount(enabled: boolean): void {
    this.proxy.onDescribeTable = enabled
      ? async (table) => {
          let count = 0;
          let start: Item | undefined;
          do {
            const r = await this.admin.send(
              new ScanCommand({
                TableName: String(table.TableName),
                Select: 'COUNT',
                ExclusiveStartKey: start,
              }),
            );
            count += r.Count ?? 0;
            start = r.LastEvaluatedKey;
          } while (start);
          table.ItemCount = count;
        }
      : undefined;
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.destroy();
    this.clients = [];
    await this.proxy.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Items in the article's shape: `count` transactions spread over `users` users. */
export function usersTransactions(count: number, users = 7): Item[] {
  return Array.from({ length: count }, (_, i) => ({
    userId: { N: String(i % users) },
    transactionId: { N: String(i + 1) },
    accountId: { N: String(i % users) },
    amount: { N: String((i * 37) % 1000) },
    shortDescription: { S: `transaction ${i + 1}` },
  }));
}

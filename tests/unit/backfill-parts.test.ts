import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectName, nextPhysicalName, physicalName } from '../../lib/aliases';
import { integerOption, parseArgs } from '../../lib/backfill/args';
import {
  defaultCheckpointPath,
  newCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from '../../lib/backfill/checkpoint';
import { deliverUntilDone } from '../../lib/backfill/deliver';
import { classifyDynamoError, dynamoEndpoint, explainDynamoError } from '../../lib/backfill/dynamo';
import { createFileDeadLetterSink } from '../../lib/backfill/file-dead-letters';
import { createPacer } from '../../lib/backfill/pacer';
import { createProgress, formatDuration, rates } from '../../lib/backfill/progress';
import type { SearchResponse } from '../../lib/search-client';
import { scanVersion } from '../../lib/sources/scan';
import { batchConfig, captureLogger, fakeSearch } from './factories';

const err = (name: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} happened`), { name, ...extra });

describe('classifyDynamoError', () => {
  it.each([
    [err('ProvisionedThroughputExceededException'), 'throttled'],
    [err('ThrottlingException'), 'throttled'],
    [err('RequestLimitExceeded'), 'throttled'],
    [err('Whatever', { $metadata: { httpStatusCode: 503 } }), 'retry'],
    [err('InternalServerError'), 'retry'],
    [err('Error', { code: 'ECONNRESET' }), 'retry'],
    [err('TimeoutError'), 'retry'],
    [err('ResourceNotFoundException', { $metadata: { httpStatusCode: 400 } }), 'fatal'],
    [err('ValidationException'), 'fatal'],
    ['a string', 'fatal'],
  ])('%p is %s', (error, expected) => {
    expect(classifyDynamoError(error)).toBe(expected);
  });
});

describe('explainDynamoError', () => {
  it.each([
    [err('ResourceNotFoundException'), /table T does not exist in DynamoDB at E/],
    [err('CredentialsProviderError'), /no AWS credentials for DynamoDB at E/],
    [err('UnrecognizedClientException'), /refused the credentials/],
    [err('Error', { code: 'ECONNREFUSED' }), /cannot reach DynamoDB at E \(ECONNREFUSED/],
    [new Error('Region is missing'), /no AWS region/],
    [err('Odd'), /DynamoDB at E failed: Odd: Odd happened/],
  ])('names the problem of %p', (error, expected) => {
    expect(explainDynamoError(error, 'T', 'E')).toMatch(expected);
  });

  it.each([
    [{ AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000' }, 'http://127.0.0.1:8000'],
    [{ AWS_REGION: 'eu-west-1' }, 'dynamodb.eu-west-1.amazonaws.com'],
    [{}, 'dynamodb.<no region>.amazonaws.com'],
  ])('says where requests go for %p', (env, expected) => {
    expect(dynamoEndpoint(env)).toBe(expected);
  });
});

describe('parseArgs', () => {
  it('reads values in both forms and flags, and names every problem', () => {
    // Act
    const args = parseArgs(
      ['--table', 'T', '--segments=8', '--resume', 'stray', '--bogus', '--max-rate', '--resume=x'],
      ['table', 'segments', 'max-rate'],
      ['resume'],
    );
    const problems: string[] = [];

    // Assert
    expect(args.values).toEqual({ table: 'T', segments: '8' });
    expect([...args.flags]).toEqual(['resume']);
    expect(args.problems).toEqual([
      'unexpected argument "stray"',
      'unknown option --bogus',
      '--max-rate needs a value',
      'unknown option --resume',
    ]);
    expect(integerOption(args, 'segments', 1, 10, problems)).toBe(8);
    expect(integerOption(args, 'segments', 1, 4, problems)).toBeUndefined();
    expect(integerOption(args, 'table', 1, 4, problems)).toBeUndefined();
    expect(integerOption(args, 'max-rate', 1, 4, problems)).toBeUndefined();
    expect(problems).toHaveLength(2);
  });

  it('needs a value at the end of the line', () => {
    expect(parseArgs(['--table'], ['table'], []).problems).toEqual(['--table needs a value']);
  });
});

describe('checkpoint', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cp-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is named by table and index, made safe for a file name', () => {
    expect(defaultCheckpointPath('My Table', 'tx/1')).toBe(
      join('.backfill', 'My_Table--tx_1.json'),
    );
  });

  it('round-trips through an atomic write, and is absent before the first', () => {
    // Prepare
    const path = join(dir, 'sub', 'cp.json');
    const cp = newCheckpoint('T', 'i', 3, new Date(0));
    cp.segments[1] = { lastKey: { id: { N: '1' } }, done: false, items: 10 };

    // Act
    const before = readCheckpoint(path);
    writeCheckpoint(path, cp, new Date(1000));

    // Assert
    expect(before).toBeUndefined();
    expect(readCheckpoint(path)).toEqual({ ...cp, updatedAt: new Date(1000).toISOString() });
  });

  it.each([
    ['{"format":2}'],
    ['{"format":1,"table":"T","index":"i","segments":[],"totalSegments":2}'],
  ])('refuses a file that is not a checkpoint (%s)', (text) => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, text);
    expect(() => readCheckpoint(path)).toThrow(/is not a backfill checkpoint/);
  });

  it('lets other read errors through', () => {
    expect(() => readCheckpoint(dir)).toThrow();
  });
});

describe('createPacer', () => {
  it('keeps to the maximum rate over all callers', async () => {
    // Prepare
    let now = 0;
    const waits: number[] = [];
    const pacer = createPacer({
      maxRate: 100,
      clock: () => now,
      sleep: async (ms) => void waits.push(ms),
    });

    // Act
    await pacer.before();
    pacer.after(50); // half a second's worth
    await pacer.before();

    // Assert
    expect(waits).toEqual([500]);
    now = 1000;
    await pacer.before();
    expect(waits).toEqual([500]);
  });

  it('pauses more after each throttle, up to a cap, and less after each page', () => {
    // Prepare
    const pacer = createPacer({
      clock: () => 0,
      sleep: async () => undefined,
      minPauseMs: 100,
      maxPauseMs: 300,
    });

    // Act / Assert
    pacer.throttled();
    expect(pacer.pauseMs).toBe(100);
    pacer.throttled();
    pacer.throttled();
    expect(pacer.pauseMs).toBe(300);
    pacer.after(1);
    expect(pacer.pauseMs).toBe(150);
    pacer.after(1);
    pacer.after(1);
    expect(pacer.pauseMs).toBe(0);
  });
});

describe('progress', () => {
  const state = {
    read: 50,
    indexed: 50,
    deadLettered: 0,
    estimatedTotal: 200,
    segmentsDone: 1,
    totalSegments: 4,
    readBefore: 0,
  };

  it.each([
    [0, '0:00'],
    [75, '1:15'],
    [3725, '1:02:05'],
    [NaN, '--:--'],
    [-1, '--:--'],
  ])('formats %s s as %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it('computes rate and ETA from the items read in this run, capped below done', () => {
    expect(rates(state, 10_000)).toEqual({ perSecond: 5, etaSeconds: 30, fraction: 0.25 });
    expect(rates({ ...state, read: 500 }, 10_000).fraction).toBe(0.99);
    expect(rates({ ...state, estimatedTotal: 0 }, 10_000).etaSeconds).toBeUndefined();
    expect(rates({ ...state, segmentsDone: 4 }, 0)).toEqual({
      perSecond: 0,
      etaSeconds: 0,
      fraction: 1,
    });
  });

  it('draws one bar line in place on a terminal, throttled, and ends it with a newline', () => {
    // Prepare
    let now = 0;
    const out: string[] = [];
    const progress = createProgress({ tty: true, write: (t) => out.push(t), clock: () => now });

    // Act
    now = 10_000;
    progress.update(state);
    progress.update(state); // too soon: skipped
    now = 20_000;
    progress.update({ ...state, estimatedTotal: 0 });
    progress.finish();

    // Assert
    expect(out).toHaveLength(3);
    expect(out[0]).toMatch(
      /^\r\[######\.+\] {2}25% 50\/~200 items {2}5 items\/s {2}segments 1\/4 {2}ETA 0:30/,
    );
    expect(out[1]).toMatch(/\s+\?% 50 items/);
    expect(out[2]).toBe('\n');
  });

  it('writes JSON lines elsewhere, and the final state at once', () => {
    // Prepare
    const out: string[] = [];
    const progress = createProgress({ tty: false, write: (t) => out.push(t), clock: () => 1 });

    // Act
    progress.update(state);
    progress.update(state);
    progress.update({ ...state, segmentsDone: 4 });
    progress.finish();

    // Assert
    expect(out.map((l) => JSON.parse(l).segmentsDone)).toEqual([1, 4]);
    expect(JSON.parse(out[0] as string)).toMatchObject({
      msg: 'backfill progress',
      read: 50,
      etaSeconds: null,
    });
  });
});

describe('aliases', () => {
  const client = (answers: Record<string, SearchResponse>) => ({
    request: async (method: string, path: string) => {
      const answer = answers[`${method} ${path}`];
      if (answer === undefined) throw new Error(`unexpected ${method} ${path}`);
      return answer;
    },
  });

  it.each([
    [{ a: { aliases: { t: {} } } }, { kind: 'alias', indices: ['a'], writeIndex: 'a' }],
    [
      { a: { aliases: { t: { is_write_index: false } } } },
      { kind: 'alias', indices: ['a'], writeIndex: undefined },
    ],
    [
      { a: { aliases: { t: {} } }, b: { aliases: { t: { is_write_index: true } } } },
      { kind: 'alias', indices: ['a', 'b'], writeIndex: 'b' },
    ],
    [
      JSON.stringify({ a: { aliases: { t: {} } }, b: { aliases: { t: {} } } }),
      { kind: 'alias', indices: ['a', 'b'], writeIndex: undefined },
    ],
  ])('reads what an alias resolves to (%p)', async (body, expected) => {
    expect(
      await inspectName(client({ 'GET /_alias/t': { statusCode: 200, body } }), 't', 1000),
    ).toEqual(expected);
  });

  it.each([
    [200, { kind: 'index' }],
    [404, { kind: 'missing' }],
  ])('tells a concrete index from nothing (HEAD %s)', async (status, expected) => {
    const c = client({
      'GET /_alias/t': { statusCode: 404, body: {} },
      'HEAD /t': { statusCode: status, body: '' },
    });
    expect(await inspectName(c, 't', 1000)).toEqual(expected);
  });

  it.each([
    [
      { 'GET /_alias/t': { statusCode: 403, body: { error: 'forbidden' } } },
      /GET \/_alias\/t answered HTTP 403: forbidden/,
    ],
    [
      {
        'GET /_alias/t': { statusCode: 404, body: {} },
        'HEAD /t': { statusCode: 500, body: { error: { type: 'x' } } },
      },
      /HEAD \/t answered HTTP 500: x/,
    ],
  ])('throws what OpenSearch answered otherwise', async (answers, message) => {
    await expect(inspectName(client(answers), 't', 1000)).rejects.toThrow(message);
  });

  it.each([
    ['transactions-000001', 'transactions-000002'],
    ['transactions-000041', 'transactions-000042'],
    ['other-000005', 'transactions-000001'],
    ['transactions', 'transactions-000001'],
  ])('names the index after %s: %s', (current, next) => {
    expect(nextPhysicalName('transactions', current)).toBe(next);
    expect(physicalName('t', 12)).toBe('t-000012');
  });
});

describe('deliverUntilDone', () => {
  const record = (n: number) => ({
    table: 'T',
    keys: { userId: { N: String(n) }, transactionId: { N: '1' } },
    item: { userId: { N: String(n) }, transactionId: { N: '1' } },
    version: scanVersion(1_764_000_000_000, 5),
  });

  it('calls the core again, after a backoff, for what is not done, until everything is', async () => {
    // Prepare: the first answer rejects each item; without a dead-letter store it stays not done
    const { search } = fakeSearch({ item: (_action, attempt) => (attempt === 1 ? 400 : 201) });
    const sleeps: number[] = [];

    // Act
    const result = await deliverUntilDone([record(1), record(2)], {
      batch: {
        config: batchConfig({ retryBaseMs: 1, retryMaxMs: 1 }),
        search,
        deadLetters: undefined,
        logger: captureLogger('error').logger,
      },
      callBudgetMs: () => 60_000,
      policy: { baseMs: 10, maxMs: 10 },
      mayRetry: () => true,
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0,
      clock: () => 0,
    });

    // Assert
    expect(result.done).toBe(true);
    expect(result.summary).toMatchObject({ records: 2, indexed: 2, failed: 0 });
    expect(search.bulk).toHaveBeenCalledTimes(2);
    expect(sleeps).toEqual([5]);
  });

  it('gives the page back undone when it may not retry', async () => {
    // Act
    const result = await deliverUntilDone([record(1)], {
      batch: {
        config: batchConfig(),
        search: undefined,
        deadLetters: undefined,
        logger: captureLogger('error').logger,
      },
      callBudgetMs: () => 1000,
      policy: { baseMs: 10, maxMs: 10 },
      mayRetry: () => false,
      sleep: async () => undefined,
      random: () => 0,
      clock: () => 0,
    });

    // Assert
    expect(result).toMatchObject({ done: false, summary: { failed: 1 } });
  });
});

describe('createFileDeadLetterSink', () => {
  it('writes the letter in the S3 object format under the same key', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'dl-'));
    const sink = createFileDeadLetterSink(
      dir,
      'transactions',
      () => new Date('2026-12-02T00:00:00Z'),
    );
    const record = { table: 'T', keys: { id: { N: '1' } }, item: { id: { N: '1' } }, version: '1' };

    // Act
    const key = await sink.write(
      { record, errorType: 'mapper_parsing_exception', reason: 'bad', source: 'scan' },
      1000,
    );

    // Assert
    const stored = JSON.parse(readFileSync(sink.uri(key), 'utf8'));
    expect(stored).toMatchObject({
      errorType: 'mapper_parsing_exception',
      index: 'transactions',
      source: 'scan',
      record,
    });
    expect(sink.location).toBe(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails with DeadLetterWriteError when it cannot write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-'));
    writeFileSync(join(dir, 'file'), '');
    const sink = createFileDeadLetterSink(join(dir, 'file', 'below'), 'i');
    await expect(sink.write({ record: {}, errorType: 'x', reason: 'y' }, 1000)).rejects.toThrow(
      /dead-letter write failed/,
    );
    rmSync(dir, { recursive: true, force: true });
  });
});

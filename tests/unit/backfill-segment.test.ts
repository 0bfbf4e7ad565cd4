import type { ScanPage, ScanRequest } from '../../lib/backfill/dynamo';
import type { DeliverResult } from '../../lib/backfill/deliver';
import type { Pacer } from '../../lib/backfill/pacer';
import { scanSegment, type PageDone, type SegmentDependencies } from '../../lib/backfill/segment';
import { emptySummary } from '../../lib/ledger';
import { scanVersion, type ScanRecord } from '../../lib/sources/scan';
import { captureLogger } from './factories';

const item = (n: number) => ({ id: { N: String(n) }, name: { S: `item ${n}` } });
const key = (n: number) => ({ id: { N: String(n) } });

const DONE: DeliverResult = { done: true, summary: emptySummary(0) };
const NOT_DONE: DeliverResult = { done: false, summary: emptySummary(0) };

/** AWS SDK errors carry their exception name (DynamoDB API reference, "Common Errors"). */
const awsError = (name: string) => Object.assign(new Error(`${name} happened`), { name });

interface Harness {
  deps: SegmentDependencies;
  requests: ScanRequest[];
  delivered: ScanRecord[][];
  pagesDone: PageDone[];
  events: string[];
  sleeps: number[];
  retries: string[];
}

/**
 * A segment over scripted Scan answers (a page or an error per call), a recording pacer and
 * deliver; `clock` advances 1 s per read so each Scan has its own send time.
 */
function harness(
  answers: Array<ScanPage | Error>,
  options: { deliver?: DeliverResult[]; stopAfter?: number; pageLimit?: number } = {},
): Harness {
  const h: Omit<Harness, 'deps'> = {
    requests: [],
    delivered: [],
    pagesDone: [],
    events: [],
    sleeps: [],
    retries: [],
  };
  let now = 1_764_000_000_000;
  let stopChecks = 0;
  const pacer: Pacer = {
    before: async () => void h.events.push('before'),
    after: (units) => void h.events.push(`after ${units}`),
    throttled: () => void h.events.push('throttled'),
    pauseMs: 0,
  };
  const deliverResults = [...(options.deliver ?? [])];
  const deps: SegmentDependencies = {
    dynamo: {
      table: 'T',
      scan: async (request) => {
        h.requests.push(request);
        h.events.push('scan');
        const answer = answers.shift();
        if (answer === undefined) throw new Error('no more scripted answers');
        if (answer instanceof Error) throw answer;
        return answer;
      },
    },
    keyNames: ['id'],
    marginSeconds: 5,
    deliver: async (records) => {
      h.delivered.push([...records]);
      return deliverResults.shift() ?? DONE;
    },
    pacer,
    pageLimit: options.pageLimit,
    shouldStop: () => options.stopAfter !== undefined && ++stopChecks > options.stopAfter,
    onPage: (page) => void h.pagesDone.push(page),
    onScanRetry: (error) => void h.retries.push(error),
    policy: { baseMs: 100, maxMs: 1000 },
    clock: () => (now += 1000),
    sleep: async (ms) => void h.sleeps.push(ms),
    random: () => 0,
    logger: captureLogger().logger,
  };
  return { ...h, deps };
}

const page = (items: number[], lastKey?: number): ScanPage => ({
  items: items.map(item),
  lastKey: lastKey === undefined ? undefined : key(lastKey),
  capacityUnits: items.length,
});

describe('scanSegment', () => {
  it('reads page after page from the last key until the segment ends', async () => {
    // Prepare
    const h = harness([page([1, 2], 2), page([3], 3), page([])], { pageLimit: 2 });

    // Act
    const outcome = await scanSegment({ segment: 1, totalSegments: 4, startKey: key(0) }, h.deps);

    // Assert
    expect(outcome).toEqual({ segment: 1, done: true, lastKey: undefined, pages: 3 });
    expect(h.requests).toEqual([
      { segment: 1, totalSegments: 4, startKey: key(0), limit: 2 },
      { segment: 1, totalSegments: 4, startKey: key(2), limit: 2 },
      { segment: 1, totalSegments: 4, startKey: key(3), limit: 2 },
    ]);
    expect(h.pagesDone.map((p) => [p.segment, p.lastKey, p.items])).toEqual([
      [1, key(2), 2],
      [1, key(3), 1],
      [1, undefined, 0],
    ]);
  });

  it('stamps every item with the version of the moment its Scan was sent, with its keys', async () => {
    // Prepare: the clock reads 1_764_000_001_000 for the first Scan, +1 s for the next.
    const h = harness([page([1, 2], 2), page([3])]);

    // Act
    await scanSegment({ segment: 0, totalSegments: 1, startKey: undefined }, h.deps);

    // Assert
    expect(h.delivered).toEqual([
      [
        { table: 'T', keys: key(1), item: item(1), version: scanVersion(1_764_000_001_000, 5) },
        { table: 'T', keys: key(2), item: item(2), version: scanVersion(1_764_000_001_000, 5) },
      ],
      [{ table: 'T', keys: key(3), item: item(3), version: scanVersion(1_764_000_002_000, 5) }],
    ]);
    expect(h.pagesDone[1]?.records).toEqual(h.delivered[1]);
  });

  it('keeps the key before a page that is not done, so that page is read again next time', async () => {
    // Prepare
    const h = harness([page([1], 1), page([2], 2)], { deliver: [DONE, NOT_DONE] });

    // Act
    const outcome = await scanSegment(
      { segment: 2, totalSegments: 4, startKey: undefined },
      h.deps,
    );

    // Assert
    expect(outcome).toEqual({ segment: 2, done: false, lastKey: key(1), pages: 1 });
    expect(h.pagesDone).toHaveLength(1);
  });

  it('starts no page once asked to stop, and says where to continue', async () => {
    const h = harness([page([1], 1), page([2], 2)], { stopAfter: 2 });

    const outcome = await scanSegment({ segment: 0, totalSegments: 1, startKey: key(0) }, h.deps);

    expect(outcome).toEqual({ segment: 0, done: false, lastKey: key(1), pages: 1 });
    expect(h.requests).toHaveLength(1);
  });

  it('does not send a Scan when asked to stop during the pacing wait', async () => {
    const h = harness([page([1])], { stopAfter: 1 });

    const outcome = await scanSegment({ segment: 0, totalSegments: 1, startKey: key(0) }, h.deps);

    expect(outcome).toEqual({ segment: 0, done: false, lastKey: key(0), pages: 0 });
    expect(h.events).toEqual(['before']);
  });

  it('paces each Scan and reports its items to the pacer', async () => {
    const h = harness([page([1, 2], 2), page([])]);

    await scanSegment({ segment: 0, totalSegments: 1, startKey: undefined }, h.deps);

    expect(h.events).toEqual(['before', 'scan', 'after 2', 'before', 'scan', 'after 0']);
  });

  it('slows the pacer on throttling and retries with backoff from the same key', async () => {
    // Prepare
    const h = harness([
      awsError('ProvisionedThroughputExceededException'),
      awsError('InternalServerError'),
      page([1]),
    ]);

    // Act
    const outcome = await scanSegment({ segment: 3, totalSegments: 4, startKey: key(9) }, h.deps);

    // Assert: backoff with random 0 is half the ceiling: 100/2, then 200/2.
    expect(outcome.done).toBe(true);
    expect(h.events.filter((e) => e === 'throttled')).toHaveLength(1);
    expect(h.sleeps).toEqual([50, 100]);
    expect(h.requests.map((r) => r.startKey)).toEqual([key(9), key(9), key(9)]);
    expect(h.retries).toEqual([
      'ProvisionedThroughputExceededException: ProvisionedThroughputExceededException happened',
      'InternalServerError: InternalServerError happened',
    ]);
  });

  it('slows the pacer only on throttling, not on a server error', async () => {
    const h = harness([awsError('InternalServerError'), page([1])]);

    await scanSegment({ segment: 0, totalSegments: 1, startKey: undefined }, h.deps);

    expect(h.events).toEqual(['before', 'scan', 'before', 'scan', 'after 1']);
  });

  it('logs each Scan retry with its segment, attempt, wait and error', async () => {
    // Prepare
    const logs = captureLogger('debug');
    const h = harness([awsError('ThrottlingException'), page([1])]);

    // Act
    await scanSegment(
      { segment: 2, totalSegments: 4, startKey: undefined },
      { ...h.deps, logger: logs.logger },
    );

    // Assert
    expect(logs.all('scan retried')).toEqual([
      expect.objectContaining({
        segment: 2,
        attempt: 1,
        delayMs: 50,
        error: 'ThrottlingException: ThrottlingException happened',
      }),
    ]);
  });

  it('lets a fatal error through without retrying', async () => {
    const fatal = awsError('ResourceNotFoundException');
    const h = harness([fatal, page([1])]);

    await expect(
      scanSegment({ segment: 0, totalSegments: 1, startKey: undefined }, h.deps),
    ).rejects.toBe(fatal);
    expect(h.requests).toHaveLength(1);
    expect(h.sleeps).toEqual([]);
  });

  it('retries without a retry callback', async () => {
    const h = harness([awsError('ThrottlingException'), page([1])]);
    const deps: { -readonly [K in keyof SegmentDependencies]: SegmentDependencies[K] } = {
      ...h.deps,
    };
    delete deps.onScanRetry;

    const outcome = await scanSegment({ segment: 0, totalSegments: 1, startKey: undefined }, deps);

    expect(outcome.done).toBe(true);
  });
});

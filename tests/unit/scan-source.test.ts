import { deadLetterKey } from '../../lib/dead-letter';
import { planRecord, type RecordOptions } from '../../lib/records';
import { scanSource, scanVersion, keysOf, type ScanRecord } from '../../lib/sources/scan';
import { externalVersion, overtakesAcrossWrap } from '../../lib/versions';

const OPTIONS: RecordOptions = {
  ttlDeletes: 'delete',
  versioning: true,
  keyOrder: ['userId', 'transactionId'],
};
const ITEM = {
  userId: { N: '3' },
  transactionId: { N: '51' },
  amount: { N: '12.50' },
  shortDescription: { S: 'coffee' },
};
const SECOND = 1_764_000_000;
const TIEBREAK = 2n ** 31n;

function scanRecord(overrides: Partial<ScanRecord> = {}): ScanRecord {
  return {
    table: 'UsersTransactions',
    keys: keysOf(ITEM, ['userId', 'transactionId']),
    item: ITEM,
    version: scanVersion(SECOND * 1000 + 999, 5),
    ...overrides,
  };
}

/**
 * OpenSearch external versioning: a write applies when its version is above the stored one; a
 * refused write (409) is re-sent by the indexer only when `overtakesAcrossWrap` says so.
 */
function applies(incoming: bigint, stored: bigint): boolean {
  return incoming > stored || overtakesAcrossWrap(incoming.toString(), stored);
}

describe('scanVersion', () => {
  it('is the send second minus the margin, with tiebreak 0, on the stream scale', () => {
    // Act
    const version = BigInt(scanVersion(SECOND * 1000 + 999, 5));

    // Assert
    expect(version).toBe(BigInt(SECOND - 5) * TIEBREAK);
    expect(version % TIEBREAK).toBe(0n);
  });

  it('sits below every stream version of its second and above every earlier second', () => {
    // Prepare
    const backfill = BigInt(scanVersion(SECOND * 1000, 0));

    // Assert
    expect(BigInt(externalVersion(SECOND, '1'))).toBeGreaterThan(backfill);
    expect(BigInt(externalVersion(SECOND - 1, String(2 ** 31 - 1)))).toBeLessThan(backfill);
  });
});

describe('backfill versions against the same-second wrap rule (REFERENCE trap)', () => {
  const read = SECOND; // the second the backfill's Scan was sent, after the margin
  const backfill = BigInt(scanVersion(read * 1000 + 500, 0));
  // Every class of stream tiebreak: the lowest non-zero, around 2^30, the highest.
  const tiebreaks = [
    1n,
    2n,
    2n ** 30n - 1n,
    2n ** 30n,
    2n ** 30n + 1n,
    2n ** 31n - 2n,
    2n ** 31n - 1n,
  ];
  const stream = (second: number, tiebreak: bigint): bigint => BigInt(second) * TIEBREAK + tiebreak;

  it.each(tiebreaks)(
    'a stream change from the same second with tiebreak %s re-applies over the backfilled document',
    (tiebreak) => {
      expect(applies(stream(read, tiebreak), backfill)).toBe(true);
    },
  );

  it.each([0n, ...tiebreaks])(
    'a stream change from an earlier second with tiebreak %s is refused',
    (tiebreak) => {
      expect(applies(stream(read - 1, tiebreak), backfill)).toBe(false);
      expect(applies(stream(read - 100, tiebreak), backfill)).toBe(false);
    },
  );

  it.each([0n, ...tiebreaks])(
    'a stream change from a later second with tiebreak %s always wins',
    (tiebreak) => {
      expect(applies(stream(read + 1, tiebreak), backfill)).toBe(true);
    },
  );

  it.each([0n, ...tiebreaks])(
    'a backfilled document never overwrites a stream change from a later second (tiebreak %s)',
    (tiebreak) => {
      expect(applies(backfill, stream(read + 1, tiebreak))).toBe(false);
    },
  );

  it('the only same-second stream change it refuses has the identical version (tiebreak 0)', () => {
    // A change made in the read's second was made before the read (the margin covers the clock
    // skew), so the scan already holds it or something newer: refusing an equal version loses
    // nothing.
    expect(applies(stream(read, 0n), backfill)).toBe(false);
  });

  it.each([
    ['tiebreak 0 (ours): ends with the last change', 0n, 'change 2'],
    ['tiebreak 2^31 - 1 (the trap): ends stale', 2n ** 31n - 1n, 'change 1'],
  ])(
    'two later changes of the read second after a backfilled document, %s',
    (_name, backfillTiebreak, expected) => {
      // Prepare: the index as OpenSearch plus the indexer's 409 re-send would leave it
      let stored = { version: BigInt(read) * TIEBREAK + backfillTiebreak, content: 'backfill' };
      const write = (version: bigint, content: string): void => {
        if (version > stored.version) stored = { version, content };
        else if (overtakesAcrossWrap(version.toString(), stored.version)) {
          stored = { version: stored.version + 1n, content };
        }
      };

      // Act: stream changes of that second, in stream order
      write(stream(read, 5n), 'change 1');
      write(stream(read, 6n), 'change 2');

      // Assert
      expect(stored.content).toBe(expected);
    },
  );
});

describe('scanSource', () => {
  it('indexes the scanned item as the whole document under its key id and version', () => {
    // Act
    const plan = planRecord(scanRecord(), 0, OPTIONS, scanSource);

    // Assert
    expect(plan).toMatchObject({
      kind: 'operation',
      operation: {
        kind: 'index',
        id: '3|51',
        version: scanVersion(SECOND * 1000 + 999, 5),
        source: '{"userId":3,"transactionId":51,"amount":12.50,"shortDescription":"coffee"}',
      },
    });
  });

  it('deletes by key, with its version, when the record has no item', () => {
    // Act
    const plan = planRecord(scanRecord({ item: undefined }), 0, OPTIONS, scanSource);

    // Assert
    expect(plan).toMatchObject({ kind: 'operation', operation: { kind: 'delete', id: '3|51' } });
  });

  it('sends no version when versioning is off', () => {
    // Act
    const plan = planRecord(scanRecord(), 0, { ...OPTIONS, versioning: false }, scanSource);

    // Assert
    expect(plan).toMatchObject({ kind: 'operation', operation: { version: undefined } });
  });

  it.each([
    ['no keys', { keys: undefined }],
    ['a missing key attribute', { keys: { userId: { N: '3' }, transactionId: undefined } }],
  ])('marks a record with %s malformed', (_name, overrides) => {
    // Act
    const plan = planRecord(
      { ...scanRecord(), ...overrides } as unknown as ScanRecord,
      0,
      OPTIONS,
      scanSource,
    );

    // Assert
    expect(plan.kind).toBe('malformed');
  });

  it('names dead letters by read version and key, stable for the same read, distinct per item', () => {
    // Prepare
    const now = new Date('2026-12-02T00:00:00Z');
    const a = scanRecord();
    const b = scanRecord({ keys: { userId: { N: '3' }, transactionId: { N: '52' } } });

    // Act
    const keyA = deadLetterKey('dl/', a, now, scanSource.identity(a));
    const keyA2 = deadLetterKey('dl/', { ...a }, now, scanSource.identity({ ...a }));
    const keyB = deadLetterKey('dl/', b, now, scanSource.identity(b));

    // Assert
    expect(keyA).toMatch(/^dl\/2025\/11\/24\/\d\d\/scan-\d+-[0-9a-f]{32}\.json$/);
    expect(keyA2).toBe(keyA);
    expect(keyB).not.toBe(keyA);
  });

  it.each([[null], [42], [{ version: 'x' }]])(
    'describes any value without throwing (%p)',
    (value) => {
      expect(() => scanSource.identity(value)).not.toThrow();
    },
  );
});

import fc from 'fast-check';
import { MalformedRecordError } from '../../lib/errors';
import {
  checkSequenceNumber,
  conflictingVersion,
  creationMicros,
  creationSeconds,
  externalVersion,
  overtakesAcrossWrap,
  sequenceTiebreak,
  timestampVersion,
} from '../../lib/versions';
import { expectedTimeVersion, expectedVersion } from './factories';

const MAX_LONG = 9223372036854775807n;
const MAX_SECONDS = 2 ** 32 - 1;
const TWO_31 = 2n ** 31n;

/** Stream sequence numbers: 21 to 40 decimal digits, no leading zero. */
const sequenceNumbers = fc
  .tuple(
    fc.integer({ min: 1, max: 9 }),
    fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 20, maxLength: 39 }),
  )
  .map(([first, rest]) => `${first}${rest}`);
const seconds = fc.integer({ min: 0, max: MAX_SECONDS });

describe('sequenceTiebreak', () => {
  it('equals BigInt(seq) % 2^31 for random 21-40 digit sequence numbers', () => {
    fc.assert(
      fc.property(sequenceNumbers, (seq) => sequenceTiebreak(seq) === Number(BigInt(seq) % TWO_31)),
      { numRuns: 5_000 },
    );
  });

  it('equals BigInt(seq) % 2^31 for every length from 1 to 64 digits, all nines included', () => {
    const allNines = Array.from({ length: 64 }, (_, i) => '9'.repeat(i + 1));
    const anyDigits = fc.sample(fc.stringMatching(/^[0-9]{1,64}$/), 2_000);

    for (const seq of [...allNines, ...anyDigits]) {
      expect(sequenceTiebreak(seq)).toBe(Number(BigInt(seq) % TWO_31));
    }
  });

  it.each([
    ['0', 0],
    ['2147483647', 2147483647],
    ['2147483648', 0],
    [
      '9999999999999999999999999999999999999999',
      Number(9999999999999999999999999999999999999999n % TWO_31),
    ],
  ])('gives %s -> %d', (seq, expected) => {
    expect(sequenceTiebreak(seq)).toBe(expected);
  });
});

describe('creationSeconds', () => {
  it.each([
    { label: 'epoch seconds', input: 1_700_000_000, expected: 1_700_000_000 },
    { label: 'fractional seconds (rounded down)', input: 1_700_000_000.9, expected: 1_700_000_000 },
    { label: 'epoch milliseconds (scaled)', input: 1_700_000_000_123, expected: 1_700_000_000 },
    { label: 'the last second that fits', input: MAX_SECONDS, expected: MAX_SECONDS },
    { label: 'an absurdly large value (clamped)', input: 1e20, expected: MAX_SECONDS },
    { label: 'missing', input: undefined, expected: 0 },
    { label: 'zero', input: 0, expected: 0 },
    { label: 'negative zero (as plain 0)', input: -0, expected: 0 },
    { label: 'negative', input: -5, expected: 0 },
    { label: 'NaN', input: Number.NaN, expected: 0 },
    { label: 'a numeric string', input: '1700000000', expected: 1_700_000_000 },
    {
      label: 'a numeric string with a fraction (rounded down)',
      input: '1700000000.75',
      expected: 1_700_000_000,
    },
    {
      label: 'an ISO-8601 string (AWS CLI re-drive)',
      input: '2023-11-14T22:13:20Z',
      expected: 1_700_000_000,
    },
    // The AWS CLI's own output format: an ISO date that ends in digits is still a date, never
    // a number (which would read as second 0 and make the change look stale).
    {
      label: 'an ISO-8601 string with a numeric offset (AWS CLI re-drive)',
      input: '2023-11-14T22:13:20+00:00',
      expected: 1_700_000_000,
    },
    {
      label: 'an ISO-8601 string with fractional seconds and an offset',
      input: '2023-11-15T00:13:20.500+02:00',
      expected: 1_700_000_000,
    },
    { label: 'an unparseable string', input: 'yesterday', expected: 0 },
  ])('reads $label as $expected', ({ input, expected }) => {
    expect(creationSeconds(input)).toBe(expected);
  });
});

describe('externalVersion', () => {
  it('is seconds * 2^31 + seq mod 2^31, as decimal text', () => {
    fc.assert(
      fc.property(
        seconds,
        sequenceNumbers,
        (s, seq) => externalVersion(s, seq) === expectedVersion(s, seq),
      ),
      { numRuns: 2_000 },
    );
  });

  it('is exact for runs of changes in the same second, as a batch has them', () => {
    // Prepare: a few seconds, each shared by several sequence numbers, in any order.
    const runs = fc.array(
      fc.tuple(seconds, fc.array(sequenceNumbers, { minLength: 1, maxLength: 8 })),
      {
        minLength: 1,
        maxLength: 6,
      },
    );

    fc.assert(
      fc.property(runs, fc.boolean(), (secondRuns, interleave) => {
        const calls = secondRuns.flatMap(([s, seqs]) => seqs.map((seq) => [s, seq] as const));
        if (interleave) calls.sort((x, y) => x[1].localeCompare(y[1]));
        // Act + Assert
        return calls.every(([s, seq]) => externalVersion(s, seq) === expectedVersion(s, seq));
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['no carry out of the low limb', 1_764_633_600, ['0', '1', '288627199']],
    ['each carry out of the low limb', 1_764_633_600, ['288627200', '1288627200', '2147483647']],
    ['a value below 10^9 and above it', 0, ['999999999', '1000000000', '5']],
  ])('is exact for one second with %s', (_label, s, seqs) => {
    for (const seq of seqs) expect(externalVersion(s, seq)).toBe(expectedVersion(s, seq));
  });

  // Where the BigInt-free computation carries between its base-10^9 limbs or prints leading zeros.
  it.each([
    { seconds: 0, seq: '0' },
    { seconds: 1, seq: '0' },
    { seconds: 9_999, seq: '2147483647' },
    { seconds: 10_000, seq: '2147483648' },
    { seconds: 465_661_287, seq: '1' },
    { seconds: 465_661_288, seq: '0' },
    // seconds * 2^31 has a middle limb of 999999999 or 999999998, so the largest tiebreak
    // carries out of the low limb and on through the middle one into the top.
    { seconds: 465_661_287, seq: '2147483647' },
    { seconds: 931_322_574, seq: '2147483647' },
    { seconds: 1_396_983_861, seq: '2147483647' },
    { seconds: 1_862_645_149, seq: '4294967295' },
    { seconds: 1_764_633_600, seq: '49000000000000000000000' },
    { seconds: MAX_SECONDS, seq: '0' },
  ])('is exact at a limb boundary: $seconds s, sequence $seq', ({ seconds: s, seq }) => {
    expect(externalVersion(s, seq)).toBe(expectedVersion(s, seq));
  });

  it('is exact for the first version a fresh process computes, whatever its second', () => {
    // The high part is cached for the last second seen; the cache must start out matching no
    // second at all, the epoch's first seconds included.
    for (const s of [0, 1, 2]) {
      jest.isolateModules(() => {
        // Prepare
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh module instance
        const fresh = require('../../lib/versions') as typeof import('../../lib/versions');

        // Act
        const version = fresh.externalVersion(s, '5');

        // Assert
        expect(version).toBe(expectedVersion(s, '5'));
      });
    }
  });

  it('fits a signed 64-bit long for every second up to 2^32-1', () => {
    // Prepare: the largest possible low part too.
    const worstSequence = (TWO_31 * 12345n + TWO_31 - 1n).toString();

    // Act
    const version = BigInt(externalVersion(MAX_SECONDS, worstSequence));

    // Assert
    expect(version).toBe(MAX_LONG);
    fc.assert(
      fc.property(seconds, sequenceNumbers, (s, seq) => {
        const v = BigInt(externalVersion(s, seq));
        return v >= 0n && v <= MAX_LONG;
      }),
    );
  });

  it('orders a later second above an earlier one, whatever the sequence numbers', () => {
    fc.assert(
      fc.property(seconds, seconds, sequenceNumbers, sequenceNumbers, (a, b, seqA, seqB) => {
        fc.pre(a !== b);
        const [early, late] = a < b ? [a, b] : [b, a];
        return BigInt(externalVersion(early, seqA)) < BigInt(externalVersion(late, seqB));
      }),
      { numRuns: 2_000 },
    );
  });

  it('orders the same second by sequence number (changes of one shard in one second)', () => {
    // Within one second a shard advances its sequence number by far less than 2^31; the pair
    // below does not straddle a multiple of 2^31 (see versions.ts "Residual window").
    fc.assert(
      fc.property(
        seconds,
        sequenceNumbers,
        fc.bigInt({ min: 1n, max: 1_000_000n }),
        (s, seq, step) => {
          const base = BigInt(seq);
          fc.pre((base % TWO_31) + step < TWO_31);
          const later = (base + step).toString();
          return BigInt(externalVersion(s, seq)) < BigInt(externalVersion(s, later));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('scales a millisecond ApproximateCreationDateTime to the same version as seconds', () => {
    const seq = '111000000000000000000001';

    expect(externalVersion(1_700_000_000_999, seq)).toBe(externalVersion(1_700_000_000, seq));
  });

  it('uses second 0 when the record has no ApproximateCreationDateTime', () => {
    const seq = '111000000000000000000001';

    expect(externalVersion(undefined, seq)).toBe((BigInt(seq) % TWO_31).toString());
  });
});

describe('checkSequenceNumber', () => {
  it.each(['111000000000000000000001', '0', '1'.repeat(64)])('accepts %s', (seq) => {
    expect(checkSequenceNumber(seq)).toBe(seq);
  });

  it.each([
    ['missing', undefined],
    ['null', null],
    ['empty', ''],
    ['a number', 111],
    ['a BigInt', 111n],
    ['letters', 'abc'],
    ['digits then letters', '123a'],
    ['negative', '-1'],
    ['decimal', '1.5'],
    ['padded', ' 1'],
    ['longer than 64 digits', '1'.repeat(65)],
  ])('rejects %s with InvalidSequenceNumber', (_label, seq) => {
    const act = (): string => checkSequenceNumber(seq);

    expect(act).toThrow(MalformedRecordError);
    expect(act).toThrow(expect.objectContaining({ errorType: 'InvalidSequenceNumber' }));
    expect(act).toThrow('dynamodb.SequenceNumber is missing or not a decimal string');
  });

  it.each([
    ['a digit next to "0" in ASCII', '12/4'],
    ['a digit next to "9" in ASCII', '12:4'],
    ['a trailing newline', '123\n'],
    ['a non-ASCII digit', '12\u0664'],
  ])('rejects %s', (_label, seq) => {
    expect(() => checkSequenceNumber(seq)).toThrow(MalformedRecordError);
  });

  it('accepts exactly the texts of 1 to 64 ASCII digits (property)', () => {
    const digitsOrNot = fc.oneof(
      fc.stringMatching(/^\d{1,70}$/),
      fc.string({ maxLength: 70 }),
      fc.string({ unit: fc.constantFrom('0', '9', '/', ':', '5', '\n'), maxLength: 66 }),
    );
    fc.assert(
      fc.property(digitsOrNot, (seq) => {
        let accepted = true;
        try {
          checkSequenceNumber(seq);
        } catch {
          accepted = false;
        }
        return accepted === /^[0-9]{1,64}$/.test(seq);
      }),
    );
  });
});

describe('conflictingVersion', () => {
  it.each([
    [
      'an OpenSearch external-versioning conflict',
      '[3|51]: version conflict, current version [3684968554978869246] is higher or equal to the one provided [3684968552831385601]',
      3684968554978869246n,
    ],
    ['a reason without the stored version', 'version conflict, document already exists', undefined],
    ['no reason at all', undefined, undefined],
  ])('reads %s', (_label, reason, expected) => {
    expect(conflictingVersion(reason)).toBe(expected);
  });
});

describe('overtakesAcrossWrap', () => {
  const at = (seconds: number, tiebreak: bigint): bigint => (BigInt(seconds) << 31n) + tiebreak;

  it.each([
    [
      'just past the wrap, same second',
      at(1_700_000_000, 1n),
      at(1_700_000_000, TWO_31 - 2n),
      true,
    ],
    ['a stale replay, same second', at(1_700_000_000, 5n), at(1_700_000_000, 9n), false],
    ['the same change again', at(1_700_000_000, 9n), at(1_700_000_000, 9n), false],
    [
      'half the tiebreak space ahead',
      at(1_700_000_000, TWO_31 / 2n + 5n),
      at(1_700_000_000, 5n),
      false,
    ],
    ['an earlier second', at(1_699_999_999, 1n), at(1_700_000_000, TWO_31 - 2n), false],
  ])('is %s -> %s', (_label, ours, current, expected) => {
    expect(overtakesAcrossWrap(ours.toString(), current)).toBe(expected);
  });

  it('lets the newer of two same-second changes less than 2^30 apart win, and refuses a late replay', () => {
    // A model of OpenSearch external versioning plus the indexer's 409 handling: a write lands if
    // its version is higher, or if it overtakes the stored one across the wrap (then it is stored
    // as stored + 1).
    const apply = (stored: bigint | undefined, version: bigint): bigint | undefined => {
      if (stored === undefined || version > stored) return version;
      return overtakesAcrossWrap(version.toString(), stored) ? stored + 1n : undefined;
    };
    fc.assert(
      fc.property(sequenceNumbers, fc.bigInt({ min: 1n, max: 2n ** 30n - 1n }), (older, gap) => {
        const v = (seq: string): bigint => BigInt(externalVersion(1_700_000_000, seq));
        const vOlder = v(older);
        const vNewer = v((BigInt(older) + gap).toString());
        // In stream order: the older change is stored, then the newer one must land...
        const afterNewer = apply(vOlder, vNewer);
        if (afterNewer === undefined) return false;
        // ...and a late replay of the older one must not.
        return apply(afterNewer, vOlder) === undefined;
      }),
    );
  });
});

describe('creationMicros', () => {
  it.each([
    { label: 'epoch seconds', input: 1_700_000_000, expected: 1_700_000_000_000_000 },
    { label: 'fractional seconds', input: 1_700_000_000.123456, expected: 1_700_000_000_123_456 },
    { label: 'epoch milliseconds', input: 1_700_000_000_123, expected: 1_700_000_000_123_000 },
    {
      label: 'fractional milliseconds',
      input: 1_700_000_000_123.5,
      expected: 1_700_000_000_123_500,
    },
    { label: 'epoch microseconds', input: 1_700_000_000_123_456, expected: 1_700_000_000_123_456 },
    {
      label: 'the largest seconds value (1e11 - 1, past 2106)',
      input: 99_999_999_999,
      expected: undefined,
    },
    { label: '1e11 as milliseconds', input: 1e11, expected: 1e14 },
    {
      label: 'the largest milliseconds value (1e14 - 1, past 2106)',
      input: 1e14 - 1,
      expected: undefined,
    },
    { label: '1e14 as microseconds', input: 1e14, expected: 1e14 },
    {
      label: 'a numeric string in milliseconds',
      input: '1700000000123',
      expected: 1_700_000_000_123_000,
    },
    {
      label: 'the last second that fits, in microseconds',
      input: MAX_SECONDS * 1e6,
      expected: MAX_SECONDS * 1e6,
    },
    {
      label: 'beyond the last second that fits',
      input: (MAX_SECONDS + 1) * 1e6,
      expected: undefined,
    },
    { label: 'missing', input: undefined, expected: undefined },
    { label: 'zero', input: 0, expected: undefined },
    { label: 'negative', input: -1, expected: undefined },
    { label: 'NaN', input: Number.NaN, expected: undefined },
    { label: 'Infinity', input: Number.POSITIVE_INFINITY, expected: undefined },
    { label: 'an ISO-8601 string', input: '2023-11-14T22:13:20Z', expected: undefined },
  ])('reads $label as $expected', ({ input, expected }) => {
    expect(creationMicros(input)).toBe(expected);
  });

  it('reads one instant the same in seconds, milliseconds and microseconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1e8, max: 4e9 }), fc.integer({ min: 0, max: 999 }), (s, ms) => {
        const micros = s * 1e6 + ms * 1000;
        return (
          creationMicros(s * 1000 + ms) === micros &&
          creationMicros(micros) === micros &&
          creationMicros(s) === s * 1e6
        );
      }),
    );
  });
});

describe('timestampVersion', () => {
  const microsOf = fc.bigInt({ min: 1n, max: BigInt(MAX_SECONDS) * 1_000_000n + 999_999n });

  it('is whole seconds * 2^31 + the sub-second microseconds, as decimal text', () => {
    fc.assert(
      fc.property(microsOf, (us) => timestampVersion(Number(us)) === expectedTimeVersion(us)),
      { numRuns: 2_000 },
    );
  });

  it('fits a signed 64-bit long up to the last second', () => {
    expect(BigInt(timestampVersion(MAX_SECONDS * 1e6 + 999_999))).toBeLessThan(MAX_LONG);
  });

  it('strictly grows with the time (one item, several changes in one second)', () => {
    fc.assert(
      fc.property(microsOf, microsOf, (a, b) => {
        fc.pre(a !== b);
        const [early, late] = a < b ? [a, b] : [b, a];
        return BigInt(timestampVersion(Number(early))) < BigInt(timestampVersion(Number(late)));
      }),
      { numRuns: 2_000 },
    );
  });

  it('shares the stream scale: a later second wins across sources, both ways', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: MAX_SECONDS - 1 }),
        fc.integer({ min: 0, max: 999_999 }),
        sequenceNumbers,
        (s, sub, seq) =>
          BigInt(externalVersion(s, seq)) < BigInt(timestampVersion((s + 1) * 1e6 + sub)) &&
          BigInt(timestampVersion(s * 1e6 + sub)) < BigInt(externalVersion(s + 1, seq)),
      ),
      { numRuns: 2_000 },
    );
  });

  it('never judges a stale Kinesis replay in the same second ahead across the wrap', () => {
    // The stored version is a later (or the same) change of that second: the replay must be refused.
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_SECONDS }),
        fc.integer({ min: 0, max: 999_999 }),
        fc.integer({ min: 0, max: 999_999 }),
        (s, a, b) => {
          const [replay, stored] = a <= b ? [a, b] : [b, a];
          return !overtakesAcrossWrap(
            timestampVersion(s * 1e6 + replay),
            BigInt(timestampVersion(s * 1e6 + stored)),
          );
        },
      ),
      { numRuns: 5_000 },
    );
    // The extremes of the second: the whole sub-second range is far below 2^30.
    const second = 1_700_000_000 * 1e6;
    expect(
      overtakesAcrossWrap(timestampVersion(second), BigInt(timestampVersion(second + 999_999))),
    ).toBe(false);
  });

  it('never judges a stream write refused by a Kinesis version of its second ahead', () => {
    // A stream write is refused by a stored Kinesis version only when its tiebreak is at most
    // the stored microseconds; it must then never be re-sent over the Kinesis document.
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_SECONDS }),
        fc.integer({ min: 0, max: 999_999 }),
        fc.bigInt({ min: 10n ** 11n, max: 10n ** 30n }),
        fc.integer({ min: 0, max: 999_999 }),
        (s, sub, high, below) => {
          // A sequence number whose tiebreak is `below` the stored microseconds (or equal).
          const seq = (high * TWO_31 + BigInt(Math.min(below, sub))).toString();
          const ours = externalVersion(s, seq);
          const stored = BigInt(timestampVersion(s * 1e6 + sub));
          return BigInt(ours) <= stored && !overtakesAcrossWrap(ours, stored);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

/**
 * fast-check arbitraries for random table histories over composite keys with every DynamoDB
 * attribute type, and random fault schedules. Attribute names carry their type (`n0`, `ss1`,
 * `l_m0`...), so type conflicts in the index come only from the values OpenSearch itself cannot
 * map (an integer beyond a long, a float overflow), as in a real table with a stable schema.
 */
import fc from 'fast-check';
import {
  DynamoValidationError,
  MIXED_KEYS,
  normalizeNumber,
  STRING_COMPOSITE,
  USERS_TRANSACTIONS,
  type AttributeValue,
  type Item,
  type KeySchema,
  type MalformedKind,
} from './table-model';

export const POISON_MARKER = '__POISON__';

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/**
 * Numbers a double cannot carry: 16-40 significant digits (DynamoDB keeps 38 and refuses more,
 * which the table model imitates), as integers, `d.ddd`, `0.000ddd` (down to 1e-8, where
 * JavaScript switches to exponents) or with an exponent, and negative zero in several spellings.
 * Magnitudes stay below 1e18, so a dynamically mapped long or float field accepts them all.
 */
const preciseNumberText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 9,
    arbitrary: fc
      .tuple(
        fc.boolean(),
        fc.constantFrom(...'123456789'),
        fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 15, maxLength: 39 }),
        // Digits before the decimal point; zero or less means 0.000ddd.
        fc.integer({ min: -7, max: 17 }),
        fc.constantFrom('plain', 'e', 'E'),
      )
      .map(([negative, first, rest, point, notation]) => {
        const digits = first + rest;
        let text: string;
        if (notation !== 'plain') {
          const exponent = point - 1;
          text = `${first}.${rest}${notation}${exponent < 0 ? '-' : '+'}${Math.abs(exponent)}`;
        } else if (point <= 0) {
          text = `0.${'0'.repeat(-point)}${digits}`;
        } else if (point >= digits.length) {
          text = digits + '0'.repeat(point - digits.length);
        } else {
          text = `${digits.slice(0, point)}.${digits.slice(point)}`;
        }
        return negative ? `-${text}` : text;
      }),
  },
  { weight: 1, arbitrary: fc.constantFrom('-0', '-0.0', '-0E+5', '-0.000') },
);

export const numberText: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -1_000_000, max: 1_000_000 }).map(String) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.integer({ min: -99_999, max: 99_999 }), fc.integer({ min: 0, max: 999_999 }))
      .map(([a, b]) => `${a}.${String(b).padStart(6, '0')}`),
  },
  { weight: 2, arbitrary: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String) },
  { weight: 3, arbitrary: preciseNumberText },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '9007199254740993',
      '-9007199254740993',
      '3.14159265358979323846',
      '0.1',
      '1E-5',
      '-1E-130',
      '0',
      '-0.000000000000000000001',
    ),
  },
);

/**
 * Numbers OpenSearch cannot map dynamically: integers beyond a long (DynamoDB stores 1.5E+20 as
 * 150000000000000000000, a BIG_INTEGER for Jackson, so a long field) or beyond a float. They get
 * their own rare attribute (`nx0`) so most documents stay indexable.
 */
export const extremeNumberText: fc.Arbitrary<string> = fc.constantFrom(
  '1E+30',
  '1.5E+20',
  '12345678901234567890.5',
  '9.9999999999999999999999999999999999999E+125',
  '-98765432109876543210987654321',
);

const text: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', ' ', '|', '\\', '"', 'a|b', 'é😀', '\u0000x', 'line\nbreak'),
  },
);

const binary: fc.Arbitrary<string> = fc.uint8Array({ maxLength: 8 }).map(b64);

const scalar = (kind: 'S' | 'N' | 'B' | 'BOOL' | 'NULL'): fc.Arbitrary<AttributeValue> => {
  switch (kind) {
    case 'S':
      return text.map((S) => ({ S }));
    case 'N':
      return numberText.map((N) => ({ N }));
    case 'B':
      return binary.map((B) => ({ B }));
    case 'BOOL':
      return fc.boolean().map((BOOL) => ({ BOOL }));
    case 'NULL':
      return fc.constant({ NULL: true as const });
  }
};

/** A number set's members, one per value; a member DynamoDB refuses stays, so the put is refused. */
const uniqueNormalized = (values: string[]): string[] => [
  ...new Map(values.map((v) => [normalizedOrAsIs(v), v])).values(),
];

function normalizedOrAsIs(value: string): string {
  try {
    return normalizeNumber(value);
  } catch (error) {
    if (error instanceof DynamoValidationError) return value;
    throw error;
  }
}

/** Nested maps with type-stable member names, bounded depth. */
const mapValue: fc.Arbitrary<AttributeValue> = fc.letrec<{ m: AttributeValue }>((tie) => ({
  m: fc
    .record(
      {
        s0: scalar('S'),
        n0: scalar('N'),
        bool0: scalar('BOOL'),
        null0: scalar('NULL'),
        b0: scalar('B'),
        ln0: fc.array(scalar('N'), { maxLength: 3 }).map((L) => ({ L })),
        m0: fc.oneof(
          { depthSize: 'small', withCrossShrink: true },
          fc.constant(undefined),
          tie('m'),
        ),
      },
      { requiredKeys: [] },
    )
    .map((r) => {
      const M: Record<string, AttributeValue> = {};
      for (const [k, v] of Object.entries(r)) if (v !== undefined) M[k] = v as AttributeValue;
      return { M };
    }),
})).m;

/** Non-key attributes of an item. */
export const attributes: fc.Arbitrary<Item> = fc
  .record(
    {
      s0: scalar('S'),
      s1: scalar('S'),
      n0: scalar('N'),
      n1: scalar('N'),
      b0: scalar('B'),
      bool0: scalar('BOOL'),
      null0: scalar('NULL'),
      m0: mapValue,
      l_s0: fc.array(scalar('S'), { maxLength: 4 }).map((L) => ({ L })),
      l_n0: fc.array(scalar('N'), { maxLength: 4 }).map((L) => ({ L })),
      l_m0: fc.array(mapValue, { maxLength: 2 }).map((L) => ({ L })),
      ss0: fc.uniqueArray(text, { minLength: 1, maxLength: 4 }).map((SS) => ({ SS })),
      ns0: fc
        .array(numberText, { minLength: 1, maxLength: 4 })
        .map((NS) => ({ NS: uniqueNormalized(NS) })),
      bs0: fc.uniqueArray(binary, { minLength: 1, maxLength: 3 }).map((BS) => ({ BS })),
      poison: fc.constant({ S: POISON_MARKER }),
      nx0: extremeNumberText.map((N) => ({ N })),
    },
    { requiredKeys: [] },
  )
  .chain((r) =>
    // poison and extreme numbers are rare
    fc.tuple(fc.nat(19), fc.nat(14)).map(([poisonDice, extremeDice]) => {
      const out: Item = {};
      for (const [k, v] of Object.entries(r)) {
        if (k === 'poison' && poisonDice !== 0) continue;
        if (k === 'nx0' && extremeDice !== 0) continue;
        if (v !== undefined) out[k] = v as AttributeValue;
      }
      return out;
    }),
  );

/** Small key pools so items get updated, deleted and re-created; values chosen to tempt collisions. */
export function keyPool(schema: KeySchema): Item[] {
  const vals = (t: 'S' | 'N' | 'B'): AttributeValue[] =>
    t === 'N'
      ? [{ N: '1' }, { N: '12' }, { N: '23' }, { N: '3' }]
      : t === 'S'
        ? [{ S: 'a' }, { S: 'a|b' }, { S: 'b' }, { S: '|' }]
        : [{ B: 'AQ==' }, { B: 'AQI=' }, { B: 'Ag==' }];
  const out: Item[] = [];
  for (const h of vals(schema.hashKey.type).slice(0, 3)) {
    if (!schema.rangeKey) out.push({ [schema.hashKey.name]: h });
    else
      for (const r of vals(schema.rangeKey.type).slice(0, 3))
        out.push({ [schema.hashKey.name]: h, [schema.rangeKey.name]: r });
  }
  return out;
}

export type HistoryOp =
  | { readonly op: 'put'; readonly key: number; readonly attrs: Item }
  | {
      readonly op: 'update';
      readonly key: number;
      readonly set: Item;
      readonly remove: readonly string[];
    }
  | { readonly op: 'delete'; readonly key: number }
  | { readonly op: 'expire'; readonly key: number }
  | { readonly op: 'tick'; readonly seconds: number }
  | { readonly op: 'malformed'; readonly kind: MalformedKind };

export const historyOp: fc.Arbitrary<HistoryOp> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ op: fc.constant('put' as const), key: fc.nat(8), attrs: attributes }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('update' as const),
      key: fc.nat(8),
      set: attributes,
      remove: fc.subarray(['s0', 'n0', 'm0', 'ss0', 'poison']),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), key: fc.nat(8) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('expire' as const), key: fc.nat(8) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('tick' as const),
      seconds: fc.integer({ min: 0, max: 2 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('malformed' as const),
      kind: fc.constantFrom<MalformedKind>(
        'no-dynamodb',
        'no-keys',
        'unknown-event-name',
        'insert-without-new-image',
        'bad-attribute-value',
      ),
    }),
  },
);

export const schemaArb: fc.Arbitrary<KeySchema> = fc.constantFrom(
  USERS_TRANSACTIONS,
  STRING_COMPOSITE,
  MIXED_KEYS,
);

export interface FaultSchedule {
  readonly itemFailureProbability: number;
  readonly requestFailures: ReadonlyArray<429 | 502 | 503>;
  readonly drops: ReadonlyArray<'before-body' | 'after-body' | 'after-apply'>;
  readonly forbidMs: number;
  readonly s3Failures: number;
  readonly seed: number;
}

export const faultSchedule: fc.Arbitrary<FaultSchedule> = fc.record({
  itemFailureProbability: fc.constantFrom(0, 0, 0.1, 0.3),
  requestFailures: fc.array(fc.constantFrom<429 | 502 | 503>(429, 502, 503), { maxLength: 3 }),
  drops: fc.array(
    fc.constantFrom<'before-body' | 'after-body' | 'after-apply'>(
      'before-body',
      'after-body',
      'after-apply',
    ),
    { maxLength: 2 },
  ),
  forbidMs: fc.constantFrom(0, 0, 0, 300),
  s3Failures: fc.integer({ min: 0, max: 3 }),
  seed: fc.integer({ min: 1, max: 1_000_000 }),
});

export interface DeliveryConfig {
  readonly batchSize: number;
  readonly bisect: boolean;
  readonly ttlDeletes: 'delete' | 'ignore';
  readonly compression: 'none' | 'gzip';
  readonly bulkMaxBytes: string | undefined;
}

export const deliveryConfig: fc.Arbitrary<DeliveryConfig> = fc.record({
  batchSize: fc.constantFrom(1, 3, 10, 100),
  bisect: fc.boolean(),
  ttlDeletes: fc.constantFrom<'delete' | 'ignore'>('delete', 'ignore'),
  compression: fc.constantFrom<'none' | 'gzip'>('none', 'gzip'),
  bulkMaxBytes: fc.constantFrom<string | undefined>(undefined, undefined, '1024'),
});

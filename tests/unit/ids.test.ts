import fc from 'fast-check';
import { MalformedRecordError } from '../../lib/errors';
import { documentId, HASHED_ID_PREFIX, MAX_ID_BYTES } from '../../lib/ids';
import { KEY_ORDER, transactionKeys } from './factories';

const S = (value: string): { S: string } => ({ S: value });
const N = (value: string): { N: string } => ({ N: value });
const bytes = (id: string): number => Buffer.byteLength(id, 'utf8');

describe('documentId', () => {
  it("gives the article's readable id 3|51 for userId=3, transactionId=51 in key-schema order", () => {
    // Prepare
    const keys = transactionKeys(3, 51);

    // Act
    const id = documentId(keys, KEY_ORDER);

    // Assert
    expect(id).toBe('3|51');
  });

  it('is deterministic: the same keys always give the same id', () => {
    const keys = { pk: S('customer#1'), sk: N('42') };

    const ids = Array.from({ length: 5 }, () => documentId(keys, ['pk', 'sk']));

    expect(new Set(ids)).toEqual(new Set(['customer#1|42']));
  });

  it.each([
    ['with keyOrder', ['userId', 'transactionId']],
    ['without keyOrder', []],
  ])('does not depend on the order of keys in the event (%s)', (_label, keyOrder) => {
    // Prepare
    const forward = { userId: N('3'), transactionId: N('51') };
    const backward = { transactionId: N('51'), userId: N('3') };

    // Act
    const a = documentId(forward, keyOrder);
    const b = documentId(backward, keyOrder);

    // Assert
    expect(a).toBe(b);
  });

  it.each([
    ['three', { zeta: S('z'), alpha: S('a'), mid: S('m') }, 'a|m|z'],
    ['two', { range: S('r'), hash: S('h') }, 'h|r'],
  ])('sorts %s attribute names when no keyOrder is configured', (_count, keys, expected) => {
    expect(documentId(keys)).toBe(expected);
  });

  it('puts names listed in keyOrder first and any others after, sorted', () => {
    const keys = { b: S('2'), extra2: S('y'), a: S('1'), extra1: S('x') };

    expect(documentId(keys, ['b', 'a'])).toBe('2|1|x|y');
  });

  it('ignores keyOrder names the record does not carry', () => {
    expect(documentId({ userId: N('3') }, KEY_ORDER)).toBe('3');
  });

  it("orders by the record's own names when it carries as many keys as keyOrder but other ones", () => {
    expect(documentId({ b: S('2'), zz: S('9') }, ['a', 'b'])).toBe('2|9');
  });

  // The fast path in orderedNames tests `name in keys`, which also sees Object.prototype members:
  // a configured name such as `valueOf` that the record lacks is taken as present, and its value
  // (a function) fails as an invalid key, where the documented scheme (keyOrder names the record
  // has, then the others sorted) gives `a|b`.
  it("applies keyOrder by the record's own attributes only, even for names like valueOf", () => {
    expect(documentId({ pk: S('a'), sk: S('b') }, ['pk', 'valueOf'])).toBe('a|b');
  });

  it.each([
    ['("1","23") vs ("12","3")', ['1', '23'], ['12', '3']],
    ['separator in the first value', ['a|b', 'c'], ['a', 'b|c']],
    ['escape then separator', ['a\\', 'b'], ['a', '\\b']],
    ['escaped separator vs escape plus separator', ['a\\|', 'b'], ['a', '\\|b']],
    ['trailing escape vs escaped separator', ['a\\', '|b'], ['a\\|', 'b']],
    ['separators at the edges', ['|a', 'b|'], ['|', 'a|b|']],
  ])('never collides for composite keys: %s', (_label, left, right) => {
    // Prepare
    const [l1, l2] = left as [string, string];
    const [r1, r2] = right as [string, string];

    // Act
    const a = documentId({ h: S(l1), r: S(l2) }, ['h', 'r']);
    const b = documentId({ h: S(r1), r: S(r2) }, ['h', 'r']);

    // Assert
    expect(a).not.toBe(b);
  });

  it('escapes the separator and the escape character readably', () => {
    expect(documentId({ h: S('a|b'), r: S('c\\d') }, ['h', 'r'])).toBe('a\\|b|c\\\\d');
  });

  it('is injective over composite keys made of separators, escapes and digits (property)', () => {
    const value = fc.string({
      unit: fc.constantFrom('|', '\\', '1', '2', 'a'),
      minLength: 1,
      maxLength: 6,
    });
    fc.assert(
      fc.property(value, value, value, value, (a1, a2, b1, b2) => {
        const a = documentId({ h: S(a1), r: S(a2) }, ['h', 'r']);
        const b = documentId({ h: S(b1), r: S(b2) }, ['h', 'r']);
        return (a === b) === (a1 === b1 && a2 === b2);
      }),
      { numRuns: 2_000 },
    );
  });

  it.each([
    ['S', { S: 'abc' }, 'abc'],
    ['N', { N: '-1.50' }, '-1.50'],
    ['B as base64 text', { B: 'AAEC' }, 'AAEC'],
    ['B as bytes', { B: new Uint8Array([0, 1, 2]) }, 'AAEC'],
  ])('spells a %s key value as DynamoDB holds it', (_type, value, expected) => {
    expect(documentId({ k: value })).toBe(expected);
  });

  describe('the 512-byte _id limit', () => {
    it.each([
      { label: '512 ASCII bytes', value: 'a'.repeat(512), hashed: false },
      { label: '513 ASCII bytes', value: 'a'.repeat(513), hashed: true },
      { label: '256 two-byte characters (512 bytes)', value: 'é'.repeat(256), hashed: false },
      {
        label: '257 two-byte characters (514 bytes, 257 UTF-16 units)',
        value: 'é'.repeat(257),
        hashed: true,
      },
      { label: '170 three-byte characters (510 bytes)', value: '€'.repeat(170), hashed: false },
      { label: '171 three-byte characters (513 bytes)', value: '€'.repeat(171), hashed: true },
      { label: '128 four-byte characters (512 bytes)', value: '😀'.repeat(128), hashed: false },
      { label: '129 four-byte characters (516 bytes)', value: '😀'.repeat(129), hashed: true },
    ])('counts UTF-8 bytes, not characters: $label -> hashed $hashed', ({ value, hashed }) => {
      // Act
      const id = documentId({ k: S(value) });

      // Assert
      expect(id.startsWith(HASHED_ID_PREFIX)).toBe(hashed);
      expect(bytes(id)).toBeLessThanOrEqual(MAX_ID_BYTES);
      if (!hashed) expect(id).toBe(value);
    });

    it('counts the separators of a composite id', () => {
      const id = documentId({ h: S('a'.repeat(255)), r: S('b'.repeat(256)) }, ['h', 'r']);

      expect(bytes(`${'a'.repeat(255)}|${'b'.repeat(256)}`)).toBe(512);
      expect(id).toBe(`${'a'.repeat(255)}|${'b'.repeat(256)}`);
      expect(documentId({ h: S('a'.repeat(256)), r: S('b'.repeat(256)) }, ['h', 'r'])).toMatch(
        /^\|sha256:/,
      );
    });

    it('hashes long ids to a stable form of at most 512 bytes', () => {
      // Prepare
      const keys = { h: S('x'.repeat(400)), r: S('y'.repeat(400)) };

      // Act
      const first = documentId(keys, ['h', 'r']);
      const again = documentId({ r: keys.r, h: keys.h }, ['h', 'r']);

      // Assert
      expect(first).toBe(again);
      expect(first).toMatch(/^\|sha256:[A-Za-z0-9_-]{43}$/);
      expect(bytes(first)).toBeLessThanOrEqual(MAX_ID_BYTES);
    });

    it('gives different long keys different hashed ids', () => {
      const a = documentId({ k: S('x'.repeat(600)) });
      const b = documentId({ k: S(`${'x'.repeat(599)}y`) });

      expect(a).not.toBe(b);
    });

    it('never lets a readable id look like a hashed one, even for values starting with the prefix', () => {
      // Prepare: a key value that literally is a hashed id.
      const hashed = documentId({ k: S('z'.repeat(600)) });

      // Act
      const readable = documentId({ k: S(hashed) });

      // Assert
      expect(readable).not.toBe(hashed);
      expect(readable.startsWith('|')).toBe(false);
    });

    it('never produces a readable id equal to a hashed id (property)', () => {
      fc.assert(
        fc.property(fc.string({ minLength: 1, maxLength: 80 }), (v) => {
          const id = documentId({ k: S(v) });
          return !id.startsWith(HASHED_ID_PREFIX) && bytes(id) <= MAX_ID_BYTES;
        }),
      );
    });
  });

  describe('bad keys', () => {
    it.each([
      ['Keys missing', undefined, 'MissingKeys'],
      ['Keys null', null, 'MissingKeys'],
      ['Keys an array', [{ S: 'a' }], 'MissingKeys'],
      ['Keys a string', 'k', 'MissingKeys'],
      ['Keys empty', {}, 'MissingKeys'],
      ['a key value missing', { k: undefined }, 'InvalidKey'],
      ['a key value null', { k: null }, 'InvalidKey'],
      ['an empty S', { k: { S: '' } }, 'InvalidKey'],
      ['an empty N', { k: { N: '' } }, 'InvalidKey'],
      ['an empty B', { k: { B: new Uint8Array(0) } }, 'InvalidKey'],
      ['a non-string S', { k: { S: 5 } }, 'InvalidKey'],
      ['a map', { k: { M: { a: { S: 'x' } } } }, 'InvalidKey'],
      ['a list', { k: { L: [] } }, 'InvalidKey'],
      ['a BOOL', { k: { BOOL: true } }, 'InvalidKey'],
      ['a raw string', { k: 'plain' }, 'InvalidKey'],
      ['one good and one bad value', { h: { S: 'a' }, r: { NULL: true } }, 'InvalidKey'],
    ])('throws MalformedRecordError for %s', (_label, keys, errorType) => {
      // Act
      const act = (): string => documentId(keys);

      // Assert
      expect(act).toThrow(MalformedRecordError);
      expect(act).toThrow(expect.objectContaining({ errorType }));
    });

    it.each([
      ['missing', undefined, 'record has no dynamodb.Keys'],
      ['empty', {}, 'dynamodb.Keys is empty'],
    ])('says why when Keys are %s', (_label, keys, message) => {
      expect(() => documentId(keys)).toThrow(message);
    });

    it('names the bad key attribute in the message', () => {
      expect(() => documentId({ userId: { S: '' } })).toThrow(/"userId"/);
    });
  });
});

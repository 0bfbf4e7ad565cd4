import fc from 'fast-check';
import { attributeToJson, itemToJson, jsonNumber, plainDoubleText } from '../../lib/documents';
import { MalformedRecordError } from '../../lib/errors';

/** Parses `json` (it must be valid JSON) and returns it with its text. */
function parsed(json: string): unknown {
  return JSON.parse(json) as unknown;
}

describe('attributeToJson', () => {
  it.each([
    { type: 'S', value: { S: 'hello' }, json: '"hello"', js: 'hello' },
    { type: 'S empty', value: { S: '' }, json: '""', js: '' },
    { type: 'BOOL true', value: { BOOL: true }, json: 'true', js: true },
    { type: 'BOOL false', value: { BOOL: false }, json: 'false', js: false },
    { type: 'NULL', value: { NULL: true }, json: 'null', js: null },
    { type: 'B (base64 text)', value: { B: 'AAEC/w==' }, json: '"AAEC/w=="', js: 'AAEC/w==' },
    {
      type: 'B (bytes)',
      value: { B: new Uint8Array([0, 1, 2, 255]) },
      json: '"AAEC/w=="',
      js: 'AAEC/w==',
    },
    { type: 'SS', value: { SS: ['a', 'b'] }, json: '["a","b"]', js: ['a', 'b'] },
    { type: 'NS', value: { NS: ['1', '2.5'] }, json: '[1,2.5]', js: [1, 2.5] },
    {
      type: 'BS (base64 text)',
      value: { BS: ['AA==', 'AQ=='] },
      json: '["AA==","AQ=="]',
      js: ['AA==', 'AQ=='],
    },
    {
      type: 'BS (bytes)',
      value: { BS: [new Uint8Array([0]), new Uint8Array([1])] },
      json: '["AA==","AQ=="]',
      js: ['AA==', 'AQ=='],
    },
    {
      type: 'L',
      value: { L: [{ S: 'x' }, { N: '1' }, { NULL: true }] },
      json: '["x",1,null]',
      js: ['x', 1, null],
    },
    { type: 'L empty', value: { L: [] }, json: '[]', js: [] },
    {
      type: 'M',
      value: { M: { a: { S: 'x' }, b: { BOOL: true } } },
      json: '{"a":"x","b":true}',
      js: { a: 'x', b: true },
    },
    { type: 'M empty', value: { M: {} }, json: '{}', js: {} },
  ])('maps $type to exact JSON', ({ value, json, js }) => {
    // Act
    const out = attributeToJson(value);

    // Assert
    expect(out).toBe(json);
    expect(parsed(out)).toEqual(js);
  });

  it.each([
    ['quotes and backslashes', 'say "hi" \\ bye'],
    ['unicode', 'Grüße, 日本, 😀'],
    ['control characters', 'tab\tnewline\ncr\rnul\u0000bell\u0007'],
    ['a lone surrogate', 'broken \ud800 pair'],
    ['JSON-looking text', '{"not":"an object"}'],
  ])('escapes S strings so they survive JSON round trips: %s', (_label, text) => {
    // Act
    const out = attributeToJson({ S: text });

    // Assert
    expect(parsed(out)).toBe(text);
    // eslint-disable-next-line no-control-regex
    expect(out).not.toMatch(/[\u0000-\u001f]/);
  });

  it.each([
    '9007199254740993',
    '-0.000000000000000000001',
    '3.14159265358979323846',
    '1E+130',
    '123456789012345678901234567890.123456789',
    '-0',
    '0',
    '1e-7',
    '99999999999999999999999999999999999999',
  ])('copies N %s digit for digit', (n) => {
    // Act
    const out = attributeToJson({ N: n });

    // Assert
    expect(out).toBe(n);
    expect(typeof parsed(out)).toBe('number');
  });

  it('keeps exact numbers inside sets, lists and maps', () => {
    // Prepare
    const value = {
      M: {
        big: { N: '9007199254740993' },
        list: { L: [{ N: '3.14159265358979323846' }] },
        set: { NS: ['123456789012345678901234567890.123456789', '1E+130'] },
      },
    };

    // Act
    const out = attributeToJson(value);

    // Assert
    expect(out).toBe(
      '{"big":9007199254740993,"list":[3.14159265358979323846],"set":[123456789012345678901234567890.123456789,1E+130]}',
    );
    expect(() => parsed(out)).not.toThrow();
  });

  it.each([
    { label: 'an unknown type', value: { X: 'y' }, path: '$' },
    { label: 'an empty attribute value', value: {}, path: '$' },
    { label: 'null', value: null, path: '$' },
    { label: 'a raw string', value: 'plain', path: '$' },
    { label: 'an N that is not a number', value: { N: 'abc' }, path: '$' },
    { label: 'an N that is not a string', value: { N: 5 }, path: '$' },
    { label: 'an N that is Infinity', value: { N: 'Infinity' }, path: '$' },
    { label: 'an N that is -Infinity', value: { N: '-Infinity' }, path: '$' },
    { label: 'an N that is NaN', value: { N: 'NaN' }, path: '$' },
    { label: 'an N that is a lone sign', value: { N: '-' }, path: '$' },
    { label: 'an S that is not a string', value: { S: 5 }, path: '$' },
    { label: 'a BOOL that is not a boolean', value: { BOOL: 'true' }, path: '$' },
    { label: 'a B that is neither text nor bytes', value: { B: 5 }, path: '$' },
    { label: 'an L that is not an array', value: { L: {} }, path: '$' },
    { label: 'an SS that is not an array', value: { SS: 'a' }, path: '$' },
    { label: 'an SS member that is not a string', value: { SS: ['a', 1] }, path: '$[1]' },
    { label: 'an NS member that is not a number', value: { NS: ['1', 'x'] }, path: '$[1]' },
    { label: 'a BS member that is not binary', value: { BS: [{}] }, path: '$[0]' },
    { label: 'an M that is an array', value: { M: [] }, path: '$' },
    { label: 'an M that is null', value: { M: null }, path: '$' },
    {
      label: 'a bad value deep in a map',
      value: { M: { a: { L: [{ S: 'ok' }, { N: '' }] } } },
      path: '$.a[1]',
    },
  ])('throws MalformedRecordError naming the path for $label', ({ value, path }) => {
    // Act
    const act = (): string => attributeToJson(value);

    // Assert
    expect(act).toThrow(MalformedRecordError);
    expect(act).toThrow(expect.objectContaining({ errorType: 'InvalidAttributeValue' }));
    expect(act).toThrow(new RegExp(`^${path.replace(/[$[\].]/g, '\\$&')}: `));
  });

  it('uses the given root in the path', () => {
    expect(() => attributeToJson({ N: 'x' }, 'Keys.id')).toThrow(/^Keys\.id: not a number/);
  });
});

describe('exact numbers (native JSON for doubles, exact text for the rest)', () => {
  const digits = (min: number, max: number): fc.Arbitrary<string> =>
    fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
  /** Any RFC 8259 number: sign, integer part, optional fraction and exponent. */
  const jsonNumbers = fc
    .tuple(
      fc.boolean(),
      fc.oneof(
        fc.constant('0'),
        fc.tuple(fc.constantFrom(...'123456789'), digits(0, 30)).map(([a, b]) => a + b),
      ),
      fc.option(digits(1, 30), { nil: undefined }),
      fc.option(
        fc
          .tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(1, 3))
          .map((p) => p.join('')),
        { nil: undefined },
      ),
    )
    .map(
      ([negative, int, fraction, exponent]) =>
        `${negative ? '-' : ''}${int}${fraction === undefined ? '' : `.${fraction}`}${exponent ?? ''}`,
    );

  it('writes every JSON number digit for digit (property)', () => {
    fc.assert(
      fc.property(
        jsonNumbers,
        (n) => attributeToJson({ N: n }) === n && itemToJson({ a: { N: n } }) === `{"a":${n}}`,
      ),
      { numRuns: 5_000 },
    );
  });

  it('writes any non-JSON spelling as jsonNumber does, with the same value (property)', () => {
    const lenient = fc
      .tuple(
        fc.constantFrom('', '+', '-'),
        digits(0, 20),
        fc.option(digits(0, 20), { nil: undefined }),
      )
      .filter(([, int, fraction]) => int !== '' || (fraction ?? '') !== '')
      .map(
        ([sign, int, fraction]) => `${sign}${int}${fraction === undefined ? '' : `.${fraction}`}`,
      );
    fc.assert(
      fc.property(lenient, (n) => {
        const out = attributeToJson({ N: n });
        return out === jsonNumber(n) && Number(JSON.parse(out)) === Number(n);
      }),
      { numRuns: 3_000 },
    );
  });

  it('keeps many exact numbers apart in one item, in lists, sets and nested maps', () => {
    // Prepare: 25 numbers a double cannot carry, so marker indices reach two digits.
    const exact = Array.from({ length: 25 }, (_, i) => `${i + 1}${'0'.repeat(17)}${i + 1}`);
    const item = {
      list: { L: exact.slice(0, 10).map((n) => ({ N: n })) },
      set: { NS: exact.slice(10, 20) },
      nested: { M: Object.fromEntries(exact.slice(20).map((n, i) => [`k${i}`, { N: n }])) },
      plain: { N: '1.5' },
    };

    // Act
    const out = itemToJson(item);

    // Assert
    expect(out).toBe(
      `{"list":[${exact.slice(0, 10).join(',')}],"set":[${exact.slice(10, 20).join(',')}],` +
        `"nested":{${exact
          .slice(20)
          .map((n, i) => `"k${i}":${n}`)
          .join(',')}},"plain":1.5}`,
    );
  });

  it.each([
    ['a trailing fraction zero', '11.10'],
    ['-0', '-0'],
    ['-0.0', '-0.0'],
    ['an exponent a double prints differently', '1e5'],
    ['1e21 (JavaScript prints 1e+21)', '1e21'],
    ['a tiny decimal JavaScript prints with an exponent', '0.0000001'],
    ['sixteen significant digits', '1234567890123456'],
    ['fifteen significant digits', '123456789012345'],
    ['0.000001', '0.000001'],
    // A double keeps any 15 significant digits but not every 16: the fast path must stop at 15.
    ['sixteen significant digits as d.ddd', '9.435250778005732'],
    ['sixteen significant digits after a leading 0.', '0.9895911253683905'],
    ['nineteen significant digits after a leading 0.', '0.1234567890123456789'],
    ['seventeen significant digits, negative, after a leading 0.', '-0.12345678901234567'],
    ['sixteen significant digits after 0.00000', '0.000009435250778005737'],
    ['seventeen integer digits', '12345678901234567'],
    ['a decimal below 1e-6 with more digits', '0.0000001234'],
    ['a fraction with an exponent', '1.5e3'],
    ['a negative exponent', '-2.5E-3'],
  ])('keeps %s exactly: %s', (_label, n) => {
    expect(itemToJson({ n: { N: n } })).toBe(`{"n":${n}}`);
  });

  it.each([
    ['-00', '-0'],
    ['-0.', '-0'],
    ['007', '7'],
    ['1.', '1'],
    ['012345678901234.5678', '12345678901234.5678'],
  ])('writes the non-JSON spelling %j as %j, keeping the sign of zero', (n, expected) => {
    expect(itemToJson({ n: { N: n } })).toBe(`{"n":${expected}}`);
  });

  // The fast path must take every short canonical decimal (most real amounts, ids and counts) and
  // nothing a double would print differently.
  it.each([
    '0',
    '7',
    '90',
    '-7',
    '123456789012345',
    '-123456789012345',
    '1.5',
    '-1.5',
    '9.09',
    '100.25',
    '12345678901234.5',
    '0.5',
    '-0.5',
    '0.09',
    '0.123456789012345',
    '0.000001',
    '0.000001234567890123',
  ])('takes the plain-double fast path for %j', (n) => {
    expect(plainDoubleText(n)).toBe(true);
  });

  it.each([
    '',
    '-',
    '-0',
    '00',
    '007',
    '-00',
    '012.5',
    '1234567890123456',
    '1.234567890123456',
    '0.1234567890123456',
    '0.0000001',
    '1.50',
    '1.',
    '-0.',
    '.5',
    '1..5',
    '1e5',
    '1.5e3',
    '+5',
    ' 5',
    '5 ',
    'a1',
    '1a',
    '1.5a',
    '0x10',
  ])('leaves %j to the exact check', (n) => {
    expect(plainDoubleText(n)).toBe(false);
  });

  it('takes the fast path only for texts a double prints back unchanged (property)', () => {
    fc.assert(
      fc.property(jsonNumbers, (n) => !plainDoubleText(n) || String(Number(n)) === n),
      { numRuns: 5_000 },
    );
  });

  it('leaves strings that look like placeholders alone', () => {
    // Prepare: strings shaped like "<hex>#<index>" next to exact numbers.
    const item = { s: { S: '0123456789abcdef#0' }, t: { S: '#1' }, n: { N: '9007199254740993' } };

    // Act
    const out = itemToJson(item);

    // Assert
    expect(out).toBe('{"s":"0123456789abcdef#0","t":"#1","n":9007199254740993}');
  });

  it('starts clean after a failed conversion', () => {
    // Prepare: an exact number, then an invalid value, in the same item.
    expect(() => itemToJson({ a: { N: '9007199254740993' }, b: { N: 'bad' } })).toThrow(
      /\$\.b: not a number/,
    );

    // Act
    const out = itemToJson({ c: { N: '12345678901234567890' } });

    // Assert
    expect(out).toBe('{"c":12345678901234567890}');
  });
});

describe('itemToJson', () => {
  it('writes an item as a JSON object with exactly its attributes, in order', () => {
    // Prepare
    const item = {
      userId: { N: '3' },
      transactionId: { N: '51' },
      amount: { N: '11.10' },
      shortDescription: { S: 'Final mega test 2' },
      tags: { SS: ['a'] },
      archived: { BOOL: false },
      note: { NULL: true },
    };

    // Act
    const out = itemToJson(item);

    // Assert
    expect(out).toBe(
      '{"userId":3,"transactionId":51,"amount":11.10,"shortDescription":"Final mega test 2","tags":["a"],"archived":false,"note":null}',
    );
    expect(Object.keys(parsed(out) as object)).toEqual(Object.keys(item));
  });

  it('writes an empty item as {}', () => {
    expect(itemToJson({})).toBe('{}');
  });

  it('escapes attribute names', () => {
    const out = itemToJson({ 'a"b\\c\n': { S: 'v' } });

    expect(parsed(out)).toEqual({ 'a"b\\c\n': 'v' });
  });

  it('ignores inherited properties and keeps an own __proto__ attribute as data', () => {
    // Prepare
    const item = JSON.parse('{"__proto__":{"S":"x"},"a":{"N":"1"}}') as Record<string, unknown>;
    const inherited = Object.create({ inheritedAttr: { S: 'no' } }) as Record<string, unknown>;
    inherited.own = { S: 'yes' };

    // Act
    const withProto = itemToJson(item);
    const withInherited = itemToJson(inherited);

    // Assert
    expect(withProto).toBe('{"__proto__":"x","a":1}');
    expect(withInherited).toBe('{"own":"yes"}');
  });

  it('names the full path of a bad value, e.g. NewImage.a.b[2]', () => {
    // Prepare
    const image = { a: { M: { b: { L: [{ N: '1' }, { N: '2' }, { N: 'abc' }] } } } };

    // Act
    const act = (): string => itemToJson(image, 'NewImage');

    // Assert
    expect(act).toThrow(MalformedRecordError);
    expect(act).toThrow(/^NewImage\.a\.b\[2\]: not a number: "abc"$/);
  });

  it.each([
    ['a number in a string set', { s: { SS: ['a', 7] } }, /^NewImage\.s\[1\]: expected a string$/],
    ['a word in a number set', { n: { NS: ['1', 'x'] } }, /^NewImage\.n\[1\]: not a number: "x"$/],
    [
      'a number in a binary set',
      { b: { BS: ['AQ==', 5] } },
      /^NewImage\.b\[1\]: binary is neither/,
    ],
    [
      'a bad value deep in a list',
      { l: { L: [{ L: [{ BOOL: 'yes' }] }] } },
      /^NewImage\.l\[0\]\[0\]: BOOL is not a boolean$/,
    ],
    ['a set that is not an array', { s: { NS: '1' } }, /^NewImage\.s: expected an array$/],
  ])('names the element of %s', (_label, image, message) => {
    expect(() => itemToJson(image, 'NewImage')).toThrow(message);
  });

  it.each([
    ['null', null],
    ['an array', []],
    ['a string', 'item'],
  ])('throws MalformedRecordError when the item is %s', (_label, item) => {
    expect(() => itemToJson(item, 'NewImage')).toThrow(/^NewImage: expected a map of attributes$/);
  });

  it('rethrows unexpected errors unchanged', () => {
    // Prepare: a getter that fails for a reason that is not an invalid value.
    const boom = new RangeError('getter failed');
    const item = {
      get a(): unknown {
        throw boom;
      },
    };

    // Act / Assert
    expect(() => itemToJson(item)).toThrow(boom);
    expect(() => attributeToJson({ L: [{ M: item }] })).toThrow(boom);
  });
});

describe('itemToJson against JSON.stringify of the converted item (property)', () => {
  // The reference: the item as plain JavaScript values, numbers as placeholders that are swapped
  // for their JSON digits after JSON.stringify, so strings, names and member order are V8's own.
  function reference(item: Record<string, unknown>): string {
    const numbers: string[] = [];
    const num = (n: string): string => `\u0000${numbers.push(jsonNumber(n)) - 1}\u0000`;
    const plain = (v: Record<string, unknown>): unknown => {
      const [type, x] = Object.entries(v)[0] as [string, unknown];
      switch (type) {
        case 'N':
          return num(x as string);
        case 'NS':
          return (x as string[]).map(num);
        case 'M':
          return object(x as Record<string, Record<string, unknown>>);
        case 'L':
          return (x as Record<string, unknown>[]).map(plain);
        case 'NULL':
          return null;
        default: // S, B, BOOL, SS, BS: already their JSON values
          return x;
      }
    };
    const object = (m: Record<string, Record<string, unknown>>): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      for (const name of Object.keys(m)) {
        Object.defineProperty(out, name, {
          value: plain(m[name] as Record<string, unknown>),
          enumerable: true,
          writable: true,
        });
      }
      return out;
    };
    return JSON.stringify(object(item as Record<string, Record<string, unknown>>)).replace(
      /"\\u0000(\d+)\\u0000"/g,
      (_m, i: string) => numbers[Number(i)] as string,
    );
  }

  const names = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 8 }),
    fc.constantFrom('0', '7', '10', '4294967295', '__proto__', 'constructor', 'a"b', 'é\\'),
  );
  const numberTexts = fc.oneof(
    fc.constantFrom('0', '-0', '1.50', '007', '+1', '.5', '5.', '1e400', '123456789012345678901'),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
    fc.bigInt().map(String),
  );
  const { attribute } = fc.letrec<{ attribute: Record<string, unknown> }>((tie) => ({
    attribute: fc.oneof(
      { depthSize: 'small' },
      fc.string({ unit: 'binary' }).map((S) => ({ S })),
      numberTexts.map((N) => ({ N })),
      fc.boolean().map((BOOL) => ({ BOOL })),
      fc.constant({ NULL: true }),
      fc.base64String().map((B) => ({ B })),
      fc.array(fc.string({ unit: 'binary' }), { minLength: 1 }).map((SS) => ({ SS })),
      fc.array(numberTexts, { minLength: 1 }).map((NS) => ({ NS })),
      fc.array(fc.base64String(), { minLength: 1 }).map((BS) => ({ BS })),
      fc.array(tie('attribute'), { maxLength: 4 }).map((L) => ({ L })),
      fc.dictionary(names, tie('attribute'), { maxKeys: 4 }).map((M) => ({ M })),
    ),
  }));

  it('writes the same text, byte for byte', () => {
    fc.assert(
      fc.property(fc.dictionary(names, attribute, { maxKeys: 6 }), (item) => {
        // Act + Assert
        return itemToJson(item) === reference(item);
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('jsonNumber', () => {
  it.each([
    ['+1', '1'],
    ['.5', '0.5'],
    ['-.5', '-0.5'],
    ['5.', '5'],
    ['007', '7'],
    ['-007.250', '-7.250'],
    ['00', '0'],
    ['+100', '100'],
    ['0100.5', '100.5'],
    ['+.5e3', '0.5e3'],
    ['5.E-3', '5e-3'],
    ['+1.5e10', '1.5e10'],
    ['.25E-125', '0.25e-125'],
    ['1e+5', '1e+5'],
    [' 12 ', '12'],
  ])('normalises the non-JSON spelling %j to %j without changing the value', (input, expected) => {
    // Act
    const out = jsonNumber(input);

    // Assert
    expect(out).toBe(expected);
    expect(Number(parsed(out))).toBe(Number(input));
  });

  it.each(['9007199254740993', '-0.000000000000000000001', '1E+130', '0.0'])(
    'returns JSON numbers unchanged: %s',
    (n) => {
      expect(jsonNumber(n)).toBe(n);
    },
  );

  it.each([
    ['"abc"', 'abc'],
    ['empty', ''],
    ['a lone dot', '.'],
    ['a lone sign', '-'],
    ['a dangling exponent', '1e'],
    ['hex', '0x10'],
    ['Infinity', 'Infinity'],
    ['NaN', 'NaN'],
    ['two dots', '1.2.3'],
    ['a number type', 5],
    ['undefined', undefined],
  ])('rejects %s', (_label, input) => {
    expect(() => jsonNumber(input)).toThrow();
  });

  // Spec: invalid values throw MalformedRecordError. jsonNumber is exported, but on its own it
  // throws documents.ts's private InvalidValue class, which callers cannot catch by type; only
  // itemToJson/attributeToJson convert it.
  it('throws MalformedRecordError for an invalid number when called directly', () => {
    expect(() => jsonNumber('abc')).toThrow(MalformedRecordError);
  });
});

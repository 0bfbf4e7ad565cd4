import {
  compareDocument,
  expectedDocumentJson,
  normalizeNumber,
  TableModel,
  USERS_TRANSACTIONS,
  STRING_COMPOSITE,
  MIXED_KEYS,
  type Item,
} from '../support/table-model';
import {
  parseLossless,
  diffLossless,
  stringifyLossless,
  duplicateMembers,
} from '../support/lossless-json';

describe('lossless JSON', () => {
  test('keeps numbers digit for digit and rejects invalid JSON', () => {
    const text =
      '{"a":9007199254740993,"b":3.14159265358979323846,"c":-1E+30,"d":[0,-0.0,1e-7],"s":"\\u00e9\\n"}';
    const node = parseLossless(text);
    expect(stringifyLossless(node)).toBe(text.replace('"\\u00e9\\n"', JSON.stringify('é\n')));
    for (const bad of [
      '{"a":01}',
      '{"a":1.}',
      '{"a":.5}',
      '[1,]',
      '{"a":1}x',
      "{'a':1}",
      '{"a":"\u0001"}',
      'NaN',
      '{"a":+1}',
    ]) {
      expect(() => parseLossless(bad)).toThrow();
    }
    expect(
      diffLossless(parseLossless('{"x":1,"y":[1,2]}'), parseLossless('{"y":[1,2],"x":1}')),
    ).toBeNull();
    expect(diffLossless(parseLossless('{"x":1.0}'), parseLossless('{"x":1}'))).toMatch(
      /number 1.0 vs 1/,
    );
    expect(duplicateMembers(parseLossless('{"a":1,"a":2}'))).toEqual(['$.a']);
  });
});

describe('DynamoDB number normalisation', () => {
  test.each([
    ['1E+30', '1000000000000000000000000000000'],
    ['3.14159265358979323846', '3.14159265358979323846'],
    ['9007199254740993', '9007199254740993'],
    ['-0', '0'],
    ['0.10', '0.1'],
    ['007', '7'],
    ['1e-5', '0.00001'],
    ['-12.500', '-12.5'],
    ['+5', '5'],
    ['1.5E3', '1500'],
    ['12345E-2', '123.45'],
    [
      '9.9999999999999999999999999999999999999E+125',
      '99999999999999999999999999999999999999' + '0'.repeat(88),
    ],
    ['1E-130', '0.' + '0'.repeat(129) + '1'],
  ])('%s -> %s', (input, out) => {
    expect(normalizeNumber(input)).toBe(out);
  });
  test.each(['1E+126', '1E-131', '1234567890123456789012345678901234567890', 'abc', '', '1e'])(
    '%s is refused',
    (input) => {
      expect(() => normalizeNumber(input)).toThrow();
    },
  );
});

describe('TableModel', () => {
  test('emits records shaped like Lambda delivers them', () => {
    const t = new TableModel(USERS_TRANSACTIONS, { seed: 3 });
    const key = { userId: { N: '3' }, transactionId: { N: '51' } };
    t.put({
      ...key,
      accountId: { N: '3' },
      amount: { N: '11' },
      shortDescription: { S: 'Final mega test 2' },
    });
    t.update(key, { set: { amount: { N: '12.50' } } });
    expect(
      t.put({
        ...key,
        accountId: { N: '3' },
        amount: { N: '12.5' },
        shortDescription: { S: 'Final mega test 2' },
      }),
    ).toBeUndefined();
    t.tick();
    t.delete(key);
    expect(t.delete(key)).toBeUndefined();
    t.put({ ...key, x: { S: 'again' } });
    t.expire(key);
    expect(t.records.map((r) => r.eventName)).toEqual([
      'INSERT',
      'MODIFY',
      'REMOVE',
      'INSERT',
      'REMOVE',
    ]);
    const [ins, mod, rem, , ttl] = t.records;
    expect(ins).toMatchObject({
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'eu-west-1',
      eventSourceARN: expect.stringMatching(
        /^arn:aws:dynamodb:eu-west-1:\d{12}:table\/UsersTransactions\/stream\//,
      ),
    });
    expect(ins!.dynamodb).toMatchObject({ Keys: key, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(ins!.dynamodb!.OldImage).toBeUndefined();
    expect(mod!.dynamodb!.NewImage!['amount']).toEqual({ N: '12.5' });
    expect(mod!.dynamodb!.OldImage!['amount']).toEqual({ N: '11' });
    expect(rem!.dynamodb!.NewImage).toBeUndefined();
    expect(rem!.userIdentity).toBeUndefined();
    expect(ttl!.userIdentity).toEqual({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
    const seqs = t.records.map((r) => BigInt(r.dynamodb!.SequenceNumber!));
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]! > seqs[i - 1]!).toBe(true);
    for (const r of t.records) {
      expect(r.dynamodb!.SequenceNumber!.length).toBeGreaterThanOrEqual(21);
      expect(Number.isInteger(r.dynamodb!.ApproximateCreationDateTime)).toBe(true);
      expect(r.dynamodb!.SizeBytes).toBeGreaterThan(0);
    }
    const times = t.records.map((r) => r.dynamodb!.ApproximateCreationDateTime!);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[0]).toBe(times[1]);
    expect(t.finalItems()).toEqual([]);
  });

  test('refuses what DynamoDB refuses', () => {
    const t = new TableModel(STRING_COMPOSITE);
    expect(() => t.put({ pk: { S: 'a' } })).toThrow(/required keys/);
    expect(() => t.put({ pk: { S: '' }, sk: { S: 'b' } })).toThrow();
    expect(() => t.put({ pk: { S: 'a' }, sk: { S: 'b' }, s: { SS: ['x', 'x'] } })).toThrow(
      /duplicates/,
    );
    expect(() => t.put({ pk: { S: 'a' }, sk: { S: 'b' }, s: { NS: [] } })).toThrow(/empty/);
    expect(() => t.put({ pk: { S: 'a' }, sk: { S: 'b' }, n: { N: '1E+200' } })).toThrow();
    expect(t.records).toEqual([]);
  });

  test('expected documents for every attribute type, compared losslessly', () => {
    const t = new TableModel(MIXED_KEYS);
    const item: Item = {
      tenant: { S: 't1' },
      blob: { B: Buffer.from([0, 1, 2, 255]).toString('base64') },
      big: { N: '9007199254740993' },
      pi: { N: '3.14159265358979323846' },
      neg: { N: '-42' },
      exp: { N: '1E+30' },
      yes: { BOOL: true },
      nothing: { NULL: true },
      m: { M: { inner: { L: [{ N: '1' }, { S: 'two' }, { M: { deep: { BS: ['AAE='] } } }] } } },
      ss: { SS: ['b', 'a'] },
      ns: { NS: ['10', '2.5'] },
      bs: { BS: ['AQI=', 'AwQ='] },
    };
    t.put(item);
    const stored = t.finalItems()[0]!.item;
    const json = expectedDocumentJson(stored);
    expect(json).toContain('"big":9007199254740993');
    expect(json).toContain('"pi":3.14159265358979323846');
    expect(json).toContain('"exp":1000000000000000000000000000000');
    expect(json).toContain('"nothing":null');
    expect(json).toContain('"blob":"AAEC/w=="');
    expect(json).toContain('"ns":[10,2.5]');
    expect(compareDocument(stored, json)).toBeNull();
    const reordered = json.replace('["b","a"]', '["a","b"]').replace('[10,2.5]', '[2.5,10]');
    expect(compareDocument(stored, reordered)).toBeNull();
    expect(compareDocument(stored, json.replace('9007199254740993', '9007199254740992'))).toMatch(
      /number/,
    );
    expect(
      compareDocument(stored, json.replace('3.14159265358979323846', '3.141592653589793')),
    ).toMatch(/number/);
    expect(compareDocument(stored, json.replace('[{"N"', '[{"N"').replace('"two"', '"2"'))).toMatch(
      /two/,
    );
    expect(compareDocument(stored, json.replace('"nothing":null,', ''))).toMatch(/nothing/);
    // lists keep their order
    expect(compareDocument(stored, json.replace('[1,"two",', '["two",1,'))).not.toBeNull();
  });

  test('malformed records take a place in the shard without touching the table', () => {
    const t = new TableModel(USERS_TRANSACTIONS);
    t.put({ userId: { N: '1' }, transactionId: { N: '1' } });
    for (const k of [
      'no-dynamodb',
      'no-keys',
      'unknown-event-name',
      'insert-without-new-image',
      'bad-attribute-value',
    ] as const)
      t.appendMalformed(k);
    expect(t.records).toHaveLength(6);
    expect(t.records[1]!.dynamodb).toBeUndefined();
    expect(t.records[2]!.dynamodb!.Keys).toBeUndefined();
    expect(t.records[3]!.eventName).toBe('UPSERT');
    expect(t.records[4]!.dynamodb!.NewImage).toBeUndefined();
    expect(t.malformed).toHaveLength(5);
    expect(t.finalItems()).toHaveLength(1);
  });
});

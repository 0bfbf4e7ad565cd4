/**
 * A malformed attribute value is dead-lettered with its reason, so the reason must say what is
 * wrong with the value, not only where: the whole message, path and detail, for each kind of
 * fault lib/documents.ts recognises.
 */
import { attributeToJson, itemToJson, jsonNumber } from '../../lib/documents';
import { MalformedRecordError } from '../../lib/errors';

describe('the reason given for a malformed attribute value', () => {
  it.each<[string, unknown, string]>([
    ['an empty attribute value', {}, '$: empty attribute value'],
    ['null', null, '$: not an attribute value'],
    ['a raw string', 'plain', '$: not an attribute value'],
    ['a list member that is not an attribute value', { L: [1] }, '$[0]: not an attribute value'],
    ['an N that is not a string', { N: 5 }, '$: number is not a string'],
    ['an N that is not a number', { N: 'abc' }, '$: not a number: "abc"'],
    ['an N that is Infinity', { N: 'Infinity' }, '$: not a number: "Infinity"'],
    ['an S that is not a string', { S: 5 }, '$: expected a string'],
    ['a BOOL that is not a boolean', { BOOL: 'true' }, '$: BOOL is not a boolean'],
    ['a B that is neither text nor bytes', { B: 5 }, '$: binary is neither base64 text nor bytes'],
    ['an L that is not an array', { L: {} }, '$: expected an array'],
    ['an SS that is not an array', { SS: 'a' }, '$: expected an array'],
    ['an NS that is not an array', { NS: 'x' }, '$: expected an array'],
    ['a BS that is not an array', { BS: 'x' }, '$: expected an array'],
    ['an SS member that is not a string', { SS: ['a', 1] }, '$[1]: expected a string'],
    ['an NS member that is not a number', { NS: ['1', 'x'] }, '$[1]: not a number: "x"'],
    [
      'a BS member that is not binary',
      { BS: [{}] },
      '$[0]: binary is neither base64 text nor bytes',
    ],
    ['an M that is an array', { M: [] }, '$: expected a map of attributes'],
    ['an unknown type', { X: 1 }, '$: unknown attribute type "X"'],
  ])('names the fault of %s', (_label, value, message) => {
    // Act
    const act = (): string => attributeToJson(value);

    // Assert
    expect(act).toThrow(MalformedRecordError);
    expect(act).toThrow(new Error(message));
  });

  it('quotes at most the first 50 characters of a bad number', () => {
    expect(() => attributeToJson({ N: 'x'.repeat(80) })).toThrow(
      new Error(`$: not a number: "${'x'.repeat(50)}"`),
    );
  });

  it('quotes at most 80 characters of an unknown type name', () => {
    expect(() => attributeToJson({ ['T'.repeat(100)]: 1 })).toThrow(
      new Error(`$: unknown attribute type ${JSON.stringify('T'.repeat(100)).slice(0, 80)}`),
    );
  });

  it('says an item that is not a map is not one', () => {
    expect(() => itemToJson([], 'NewImage')).toThrow(
      new Error('NewImage: expected a map of attributes'),
    );
  });

  it('names the N of a bad number given to jsonNumber', () => {
    expect(() => jsonNumber(5)).toThrow(new Error('N: number is not a string'));
  });
});

describe('jsonNumber failures', () => {
  it.each(['abc', '', '+', '.', '1e', 5])(
    'reports %p as a malformed record of type InvalidAttributeValue',
    (n) => {
      // Act
      const act = (): string => jsonNumber(n);

      // Assert: the type is what the dead letter and the metric dimension carry.
      expect(act).toThrow(MalformedRecordError);
      expect(act).toThrow(expect.objectContaining({ errorType: 'InvalidAttributeValue' }));
    },
  );
});

/**
 * parseBulkItems on response text: an `"errors":false` response is read by a scan of its
 * statuses (lib/bulk.ts errorFreeStatuses) instead of JSON.parse, and whatever that scan does
 * not recognise must fall back to the full parse, giving exactly what JSON.parse would.
 */
import { BulkRequestError } from '../../lib/errors';
import { isErrorFreeBulkResponse, parseBulkItems } from '../../lib/bulk';

const errorFree = (...items: string[]): string =>
  `{"took":12,"errors":false,"items":[${items.join(',')}]}`;
const indexed = (id: string, status: number): string =>
  `{"index":{"_index":"t","_id":"${id}","_version":3,"result":"created","_seq_no":0,"_primary_term":1,"status":${status}}}`;

afterEach(() => {
  jest.restoreAllMocks();
});

describe('parseBulkItems, error-free response text', () => {
  it.each([
    ['created and updated items', [201, 200]],
    ['a delete of a missing document', [404, 201]],
    ['statuses using every digit', [209, 387, 456, 201]],
  ])('reads %s from the text without JSON.parse', (_label, statuses) => {
    // Prepare
    const text = errorFree(...statuses.map((status, i) => indexed(String(i), status)));
    const parse = jest.spyOn(JSON, 'parse');

    // Act
    const items = parseBulkItems(text, statuses.length);

    // Assert
    expect(parse).not.toHaveBeenCalled();
    expect(items).toEqual(
      statuses.map((status) => ({ status, errorType: undefined, reason: undefined })),
    );
  });

  it.each([
    [
      'a space after a status',
      '{"took":1,"errors":false,"items":[{"index":{"status":201 }},{"index":{"status":200}}]}',
    ],
    [
      'a nested status field beside an item without one',
      '{"took":1,"errors":false,"items":[{"index":{"_id":"1","status":201,"x":{"status":7,"y":0}}},{"index":{"_id":"2"}}]}',
    ],
    [
      'a status given as text',
      '{"took":1,"errors":false,"items":[{"index":{"status":"201"}},{"index":{"status":200}}]}',
    ],
    [
      'a negative status',
      '{"took":1,"errors":false,"items":[{"index":{"status":-1}},{"index":{"status":200}}]}',
    ],
  ])('falls back to the full parse, with the same result, for %s', (_label, text) => {
    // Act
    const items = parseBulkItems(text, 2);

    // Assert
    expect(items).toEqual(parseBulkItems(JSON.parse(text) as unknown, 2));
  });

  it('fails a response whose status has no digits instead of reading it as 0', () => {
    const text = '{"took":1,"errors":false,"items":[{"index":{"status":}}]}';

    expect(() => parseBulkItems(text, 1)).toThrow(BulkRequestError);
  });

  it('reads the error of an "errors":true response even when each status closes its item', () => {
    // Prepare
    const text =
      '{"took":3,"errors":true,"items":[{"index":{"_id":"1","error":{"type":"mapper_parsing_exception","reason":"failed to parse"},"status":400}}]}';

    // Act
    const items = parseBulkItems(text, 1);

    // Assert
    expect(items).toEqual([
      { status: 400, errorType: 'mapper_parsing_exception', reason: 'failed to parse' },
    ]);
  });
});

describe('parseBulkItems, any response', () => {
  it('reads an item whose error is null as carrying no error', () => {
    expect(parseBulkItems({ items: [{ index: { status: 500, error: null } }] }, 1)).toEqual([
      { status: 500, errorType: undefined, reason: undefined },
    ]);
  });

  it.each([
    ['no items', { took: 1 }, 2, 'bulk response has no items for 2 operations'],
    [
      'too few items',
      { items: [{ index: { status: 201 } }] },
      3,
      'bulk response has 1 items for 3 operations',
    ],
  ])('says what is wrong with a response that has %s', (_label, body, operations, message) => {
    expect(() => parseBulkItems(body, operations)).toThrow(message);
  });
});

describe('isErrorFreeBulkResponse', () => {
  it.each([
    ['a one-digit took', '{"took":7,"errors":false,"items":[]}', true],
    ['a took of several digits', '{"took":1234,"errors":false,"items":[]}', true],
    ['a response that is only the head', '{"took":5,"errors":false}', true],
    ['the head found later in the text', '{"errors":true,"x":{"took":1,"errors":false}}', false],
    ['errors true', '{"took":7,"errors":true,"items":[]}', false],
  ])('%s -> %s', (_label, text, expected) => {
    expect(isErrorFreeBulkResponse(text)).toBe(expected);
  });
});

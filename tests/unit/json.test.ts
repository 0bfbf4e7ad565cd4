import { parseJsonOrUndefined } from '../../lib/json';

describe('parseJsonOrUndefined', () => {
  it.each([
    { text: '{"error":{"type":"x"}}', expected: { error: { type: 'x' } } },
    { text: '[1,2]', expected: [1, 2] },
    { text: 'null', expected: null },
  ])('returns the value of JSON text $text', ({ text, expected }) => {
    expect(parseJsonOrUndefined(text)).toEqual(expected);
  });

  it.each(['<html>502 Bad Gateway</html>', '{"cut":', ''])(
    'returns undefined for text that is not JSON (%p) instead of throwing',
    (text) => {
      expect(parseJsonOrUndefined(text)).toBeUndefined();
    },
  );
});

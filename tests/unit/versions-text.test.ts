/**
 * Kinesis Data Streams for DynamoDB gives ApproximateCreationDateTime as a number; a re-driven or
 * hand-written record may carry it as text. Only plain decimal text is read as a time
 * (lib/versions.ts creationMicros): any other text or type is "no time", never a guess.
 */
import { creationMicros } from '../../lib/versions';

describe('creationMicros, a time given as text or another type', () => {
  it.each<[string, unknown, number | undefined]>([
    ['whole seconds as text', '1700000000', 1_700_000_000_000_000],
    ['fractional seconds as text', '1700000000.123456', 1_700_000_000_123_456],
    ['fractional seconds with one decimal', '1700000000.5', 1_700_000_000_500_000],
    ['seconds in exponent notation', '1.7e9', undefined],
    ['text ending in digits', 'T1700000000', undefined],
    ['a fraction without digits after the point', '1700000000.', undefined],
    ['a fraction that is not digits', '1700000000.x', undefined],
    ['an ISO-8601 date ending in digits', '2023-11-14T22:13:20+00:00', undefined],
    ['a boolean', true, undefined],
    ['null', null, undefined],
  ])('reads %s as %s', (_label, input, expected) => {
    expect(creationMicros(input)).toBe(expected);
  });
});

import { batchResponse, reportablePosition } from '../../lib/batch-response';
import { UnreportableFailureError } from '../../lib/errors';

/** Identifiers by position, as a source would report them. */
const identifiers =
  (...ids: (string | undefined)[]) =>
  (position: number): string | undefined =>
    ids[position];

describe('batchResponse', () => {
  it('reports nothing when every record is done', () => {
    expect(batchResponse([], identifiers('1', '2'))).toEqual({ batchItemFailures: [] });
  });

  it('reports exactly one identifier: the lowest among the failed records, compared as integers', () => {
    // Prepare: 40-digit sequence numbers, where the failed one at position 0 is numerically larger
    // than the one at position 2 although it sorts lower as text.
    const ids = identifiers('9'.repeat(21), '1'.repeat(22), '1'.repeat(21) + '0');

    // Act
    const response = batchResponse([0, 2], ids);

    // Assert
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '9'.repeat(21) }] });
  });

  it('compares beyond double precision (two identifiers a double cannot tell apart)', () => {
    const a = '100000000000000000001';
    const b = '100000000000000000000';
    expect(batchResponse([0, 1], identifiers(a, b))).toEqual({
      batchItemFailures: [{ itemIdentifier: b }],
    });
  });

  it('reports the earlier record when two failed identifiers are equal as integers (the first one wins a tie)', () => {
    // Prepare: `7` and `07` are the same integer but name different records. Lambda re-delivers
    // from the record it is given, so naming the later one would skip the earlier failure.
    const ids = identifiers('7', '07');

    // Act
    const response = batchResponse([0, 1], ids);

    // Assert
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '7' }] });
  });

  it('reports the nearest earlier record when a failed record has no usable identifier', () => {
    expect(batchResponse([2], identifiers('5', '6', undefined))).toEqual({
      batchItemFailures: [{ itemIdentifier: '6' }],
    });
  });

  it.each([[undefined], [''], ['12ab'], ['ab12'], ['-1'], ['1.5']])(
    'throws UnreportableFailureError (never an empty identifier) when nothing at or before has a usable one (%p)',
    (identifier) => {
      // Act
      const act = (): unknown => batchResponse([0], identifiers(identifier));

      // Assert
      expect(act).toThrow(UnreportableFailureError);
    },
  );

  it('carries the failed position on the error', () => {
    let caught: unknown;
    try {
      batchResponse([1], identifiers(undefined, 'x'));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UnreportableFailureError);
    expect((caught as UnreportableFailureError).position).toBe(1);
  });
});

describe('reportablePosition', () => {
  it('is the record itself when its identifier is usable', () => {
    expect(reportablePosition(1, identifiers('1', '2'))).toEqual({ position: 1, identifier: '2' });
  });

  it('walks back past malformed identifiers, never forward', () => {
    expect(reportablePosition(2, identifiers('7', '12ab', ''))).toEqual({
      position: 0,
      identifier: '7',
    });
    expect(reportablePosition(0, identifiers(undefined, '8'))).toBeUndefined();
  });
});

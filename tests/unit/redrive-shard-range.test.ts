import {
  compareSequence,
  RangeAgedOutError,
  readShardRange,
  type ShardPage,
  type ShardPages,
} from '../../lib/redrive/shard-range';

/**
 * A shard answering scripted GetRecords pages in order: each page lists its records' sequence
 * numbers; the last page of a closed shard has no NextShardIterator (DynamoDB Streams API
 * reference, "GetRecords": "If NextShardIterator is null, the shard has been closed").
 */
function scriptedShard(
  pages: readonly (readonly string[])[],
  closed: boolean,
): ShardPages<string> & { pagesRead: number } {
  const shard = {
    pagesRead: 0,
    iteratorAt: async (): Promise<string> => '0',
    page: async (iterator: string): Promise<ShardPage<string>> => {
      shard.pagesRead++;
      const at = Number(iterator);
      const numbers = pages[at] ?? [];
      const last = at + 1 >= pages.length;
      return {
        records: numbers.map((sequenceNumber) => ({ sequenceNumber, record: sequenceNumber })),
        next: closed && last ? undefined : String(at + 1),
      };
    },
  };
  return shard;
}

const empty = (n: number): string[][] => Array.from({ length: n }, () => []);

describe('compareSequence', () => {
  it.each([
    ['100', '99', 1], // a leading zero is stripped only at the start
    ['0', '00', 0],
    ['0', '1', -1],
    ['007', '7', 0],
    ['10', '10', 0],
    ['12', '21', -1],
  ])('%s vs %s is %i', (a, b, expected) => {
    expect(compareSequence(a, b)).toBe(expected);
    expect(compareSequence(b, a)).toBe(-expected || 0);
  });
});

describe('readShardRange page rules', () => {
  it('stops after maxPages pages of an open shard that never reaches the end', async () => {
    // Prepare
    const shard = scriptedShard(
      Array.from({ length: 10 }, (_, i) => [String(10 + i)]),
      false,
    );

    // Act
    const read = await readShardRange(shard, '10', '99', { maxPages: 3 });

    // Assert
    expect(read).toEqual({ kind: 'incomplete', detail: 'more than 3 pages before 99' });
    expect(shard.pagesRead).toBe(3);
  });

  it('answers aged-out for a closed shard that holds nothing of the range any more', async () => {
    const read = await readShardRange(scriptedShard([[]], true), '10', '20');

    expect(read).toEqual({
      kind: 'aged-out',
      detail: 'no record from 10 to 20 is left in the shard',
    });
  });

  it.each([
    [4, { kind: 'records', records: ['10'] }],
    [5, { kind: 'incomplete', detail: '5 empty pages before sequence number 10' }],
  ])('by default reads on after %i empty pages only while fewer than 5', async (n, expected) => {
    const read = await readShardRange(scriptedShard([...empty(n), ['10']], false), '10', '10');

    expect(read).toEqual(expected);
  });

  it('counts only consecutive empty pages', async () => {
    // Prepare: 4 empty, a record, 4 empty, the end: never 5 in a row.
    const shard = scriptedShard([...empty(4), ['10'], ...empty(4), ['11']], false);

    // Act
    const read = await readShardRange(shard, '10', '11');

    // Assert
    expect(read).toEqual({ kind: 'records', records: ['10', '11'] });
  });

  it('ends at an empty last page of a closed shard with what it read', async () => {
    const read = await readShardRange(scriptedShard([['10'], []], true), '10', '20', {
      maxEmptyPages: 1,
    });

    expect(read).toEqual({ kind: 'records', records: ['10'] });
  });

  it('keeps the records up to and including the end, on one page', async () => {
    const shard = scriptedShard([['10', '11', '12', '13']], false);

    const read = await readShardRange(shard, '10', '12');

    expect(read).toEqual({ kind: 'records', records: ['10', '11', '12'] });
  });

  it('stops at a record past the end even without one equal to it', async () => {
    const shard = scriptedShard([['10', '12'], ['14'], ['16']], false);

    const read = await readShardRange(shard, '10', '13');

    expect(read).toEqual({ kind: 'records', records: ['10', '12'] });
    expect(shard.pagesRead).toBe(2);
  });

  it('answers aged-out with the message when the position is trimmed', async () => {
    const shard = scriptedShard([['10']], false);
    shard.iteratorAt = async () => {
      throw new RangeAgedOutError('TrimmedDataAccessException: gone');
    };

    expect(await readShardRange(shard, '10', '11')).toEqual({
      kind: 'aged-out',
      detail: 'TrimmedDataAccessException: gone',
    });
  });
});

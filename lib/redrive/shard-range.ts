/**
 * Re-reading one shard's sequence-number range, the part that does not depend on the stream's
 * API: start AT the range's first sequence number, page until a record is past its last one (or
 * the shard is closed and read to its end), keep what lies inside.
 *
 * Both DynamoDB Streams and Kinesis Data Streams work this way (GetShardIterator with
 * AT_SEQUENCE_NUMBER, then GetRecords with each NextShardIterator; a closed shard read to its end
 * answers no NextShardIterator). Their sequence numbers are decimal strings of up to 40 (DynamoDB)
 * or 128 (Kinesis) digits, so they are compared as integers in text form, never as floats.
 */

import { IndexerError } from '../errors';

/** `a` vs `b` as non-negative decimal integers: -1, 0 or 1. Leading zeros do not count. */
export function compareSequence(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) {
    // Stryker disable next-line EqualityOperator: the lengths differ here, so `<=` answers as `<` does; `>` and `>=` (the other direction) are killed by the compareSequence table ('100' vs '99').
    return x.length < y.length ? -1 : 1;
  }
  return x < y ? -1 : x > y ? 1 : 0;
}

export const DECIMAL = /^\d{1,128}$/;

/** One GetRecords answer, with each record's sequence number beside it. */
export interface ShardPage<R> {
  readonly records: ReadonlyArray<{ readonly sequenceNumber: string; readonly record: R }>;
  /** Absent: the shard is closed and read to its end. */
  readonly next: string | undefined;
}

/** What a range reader needs of a stream's API, for one shard. */
export interface ShardPages<R> {
  /** GetShardIterator AT_SEQUENCE_NUMBER. Throws RangeAgedOutError for a trimmed position. */
  iteratorAt(sequenceNumber: string): Promise<string>;
  /** GetRecords. Throws RangeAgedOutError for a trimmed position. */
  page(iterator: string): Promise<ShardPage<R>>;
}

export type RangeRead<R> =
  | { readonly kind: 'records'; readonly records: readonly R[] }
  /** The stream no longer holds (all of) the range: only a backfill repairs it. */
  | { readonly kind: 'aged-out'; readonly detail: string }
  /** The reader gave up before the range's end (empty pages of an open shard). */
  | { readonly kind: 'incomplete'; readonly detail: string };

/** TrimmedDataAccessException, or a shard or stream that no longer exists. */
export class RangeAgedOutError extends IndexerError {
  override name = 'RangeAgedOutError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface ReadRangeOptions {
  /**
   * Consecutive empty pages of an open shard before giving up. DynamoDB Streams and Kinesis may
   * both answer an empty page while records follow (Kinesis developer guide, "GetRecords":
   * "can return empty Records even when the shard contains records"), so one is not the end.
   */
  readonly maxEmptyPages?: number;
  /** Pages in all, a bound for a range that never ends (a wrong end number). */
  readonly maxPages?: number;
}

export async function readShardRange<R>(
  pages: ShardPages<R>,
  start: string,
  end: string,
  options: ReadRangeOptions = {},
): Promise<RangeRead<R>> {
  const maxEmpty = options.maxEmptyPages ?? 5;
  const maxPages = options.maxPages ?? 10_000;
  const records: R[] = [];
  let iterator: string | undefined;
  try {
    iterator = await pages.iteratorAt(start);
    let first = true;
    let empty = 0;
    for (let n = 0; n < maxPages && iterator !== undefined; n++) {
      const page = await pages.page(iterator);
      iterator = page.next;
      if (page.records.length === 0) {
        if (iterator !== undefined && ++empty >= maxEmpty) {
          return {
            kind: 'incomplete',
            detail: `${maxEmpty} empty pages before sequence number ${end}`,
          };
        }
        continue;
      }
      empty = 0;
      for (const { sequenceNumber, record } of page.records) {
        // The range's first number is a record Lambda delivered, so while the shard holds it,
        // AT_SEQUENCE_NUMBER returns it first. A later first record means it was trimmed: part
        // of the range aged out. (Whether a shard's StartingSequenceNumber moves with trimming is
        // not documented for either stream, and the Kinesis API reference does not say what
        // AT_SEQUENCE_NUMBER answers for a trimmed number, so this does not rely on either.)
        if (first) {
          first = false;
          if (compareSequence(sequenceNumber, start) > 0) {
            return {
              kind: 'aged-out',
              detail: `the shard's first record is now ${sequenceNumber}, after ${start}`,
            };
          }
        }
        if (compareSequence(sequenceNumber, end) > 0) return { kind: 'records', records };
        records.push(record);
        if (compareSequence(sequenceNumber, end) === 0) return { kind: 'records', records };
      }
    }
  } catch (error) {
    if (error instanceof RangeAgedOutError) return { kind: 'aged-out', detail: error.message };
    throw error;
  }
  if (iterator === undefined) {
    // A closed shard read to its end. A message describes at least one record: none left means
    // the range is not in the shard any more.
    return records.length > 0
      ? { kind: 'records', records }
      : { kind: 'aged-out', detail: `no record from ${start} to ${end} is left in the shard` };
  }
  return { kind: 'incomplete', detail: `more than ${maxPages} pages before ${end}` };
}

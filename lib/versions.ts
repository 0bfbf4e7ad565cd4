/**
 * External versions for OpenSearch, derived from the stream record alone.
 *
 *   version = floor(ApproximateCreationDateTime) * 2^31 + (SequenceNumber mod 2^31)
 *
 * Why this shape (see REFERENCE: OpenSearch VersionType.java, DynamoDB Streams):
 * - OpenSearch versions are signed 64-bit longs. Sequence numbers are 21-40 digits and do not
 *   fit, so they cannot be the version on their own.
 * - A per-invocation counter breaks across batches, and Lambda has no long-lived per-shard reader
 *   to keep one (Amazon OpenSearch Ingestion's seconds*10^6+counter needs that reader).
 * - ApproximateCreationDateTime is whole seconds and never decreases for one item, so the high
 *   part orders every pair of changes made in different seconds, across batches, shards and
 *   re-deliveries.
 * - Within one second, the low 31 bits of the sequence number break the tie. Sequence numbers
 *   grow in stream order within a shard, and one second of one shard spans far fewer than 2^31
 *   of them, so the low bits grow too unless the pair straddles a multiple of 2^31.
 * - 2^32 seconds * 2^31 = 2^63: the scheme fits a long until the year 2106.
 *
 * - When the pair does straddle a multiple of 2^31, the newer change gets the lower version and
 *   OpenSearch answers 409 quoting the stored version. `overtakesAcrossWrap` then compares the two
 *   tiebreaks as serial numbers (RFC 1982): a newer change is less than 2^30 ahead of the stored
 *   one modulo 2^31, a stale replay is behind it. The newer change is re-sent with the stored
 *   version + 1, so it lands, and anything older is still refused.
 *
 * Residual window: two changes to the same item in the same second whose sequence numbers are 2^30
 * or more apart, or lie on different shards (a shard rollover inside that second), may be ordered
 * wrongly. Changes one second or more apart are always ordered correctly.
 */
import { MalformedRecordError } from './errors';

const TIEBREAK_BITS = 31;
const TIEBREAK_MOD = 2 ** TIEBREAK_BITS;
export const MAX_SECONDS = 2 ** 32 - 1;
const SEQUENCE_NUMBER = /^\d{1,64}$/;

/** `sequenceNumber mod 2^31`, exactly, without BigInt (every step stays below 2^35). */
export function sequenceTiebreak(sequenceNumber: string): number {
  let r = 0;
  for (let i = 0; i < sequenceNumber.length; i++) {
    r = (r * 10 + (sequenceNumber.charCodeAt(i) - 48)) % TIEBREAK_MOD;
  }
  return r;
}

/**
 * Whole epoch seconds. Lambda sends seconds; a millisecond value (Kinesis Data Streams for
 * DynamoDB) is recognised and scaled, and an ISO-8601 string (records re-driven through the AWS
 * CLI with its default timestamp format) is parsed. Anything else counts as 0.
 */
export function creationSeconds(approximateCreationDateTime: unknown): number {
  let value = approximateCreationDateTime;
  if (typeof value === 'string') {
    value = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Date.parse(value) / 1000;
  }
  if (typeof value !== 'number' || !(value > 0)) return 0;
  let seconds = Math.floor(value);
  if (seconds > MAX_SECONDS) seconds = Math.floor(seconds / 1000);
  return Math.min(seconds, MAX_SECONDS);
}

/** Checks a SequenceNumber: the record's identity for Lambda and its order in the shard. */
export function checkSequenceNumber(sequenceNumber: unknown): string {
  if (typeof sequenceNumber !== 'string' || !SEQUENCE_NUMBER.test(sequenceNumber)) {
    throw new MalformedRecordError(
      'InvalidSequenceNumber',
      'dynamodb.SequenceNumber is missing or not a decimal string',
    );
  }
  return sequenceNumber;
}

/** The external version, as decimal text for the bulk action line. */
export function externalVersion(
  approximateCreationDateTime: unknown,
  sequenceNumber: string,
): string {
  const seconds = creationSeconds(approximateCreationDateTime);
  const tiebreak = sequenceTiebreak(sequenceNumber);
  // seconds * 2^31 exceeds 2^53 after 1970 + 48 days, so the sum needs BigInt.
  return ((BigInt(seconds) << BigInt(TIEBREAK_BITS)) + BigInt(tiebreak)).toString();
}

const TIEBREAK_HALF = BigInt(TIEBREAK_MOD / 2);
const TIEBREAK_MASK = BigInt(TIEBREAK_MOD - 1);
const CONFLICT_CURRENT_VERSION = /current version \[(\d{1,19})\]/;

/**
 * The stored version quoted by a 409 `version_conflict_engine_exception` reason
 * ("[id]: version conflict, current version [X] is higher or equal to the one provided [Y]",
 * OpenSearch VersionType.explainConflictForWrites), or undefined when the reason does not say.
 */
export function conflictingVersion(reason: string | undefined): bigint | undefined {
  const match = reason === undefined ? null : CONFLICT_CURRENT_VERSION.exec(reason);
  return match ? BigInt(match[1] as string) : undefined;
}

/**
 * True when `ours` was refused by `current` only because the same-second tiebreak wrapped: same
 * second, and our tiebreak is less than half the tiebreak space ahead of the stored one.
 */
export function overtakesAcrossWrap(ours: string, current: bigint): boolean {
  return overtakes(BigInt(ours), current);
}

/**
 * True when a 409 refused `ours` only because the same-second tiebreak wrapped: the reason quotes
 * the stored version and `ours` overtakes it (overtakesAcrossWrap).
 */
export function overtakesConflict(ours: string, reason: string | undefined): boolean {
  const current = conflictingVersion(reason);
  return current !== undefined && overtakes(BigInt(ours), current);
}

/** The version to re-send a change with after a wrapped conflict: the stored version + 1. */
export function versionAfterConflict(reason: string | undefined): string | undefined {
  const current = conflictingVersion(reason);
  return current === undefined ? undefined : (current + 1n).toString();
}

function overtakes(mine: bigint, current: bigint): boolean {
  if (mine >> BigInt(TIEBREAK_BITS) !== current >> BigInt(TIEBREAK_BITS)) return false;
  const ahead =
    // Stryker disable next-line ArithmeticOperator: BigInt `&` works on unbounded two's complement, so adding or subtracting 2^31 before masking to 31 bits gives the same value.
    ((mine & TIEBREAK_MASK) - (current & TIEBREAK_MASK) + BigInt(TIEBREAK_MOD)) & TIEBREAK_MASK;
  return ahead !== 0n && ahead < TIEBREAK_HALF;
}

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
 *
 * Kinesis Data Streams for DynamoDB (`timestampVersion`) uses the SAME scale, so an index can move
 * from one source to the other and keep refusing stale writes:
 *
 *   version = floor(micros / 10^6) * 2^31 + (micros mod 10^6)
 *
 * where micros is ApproximateCreationDateTime in epoch microseconds (`creationMicros`: the unit is
 * told by magnitude, below). Kinesis records carry no SequenceNumber, and may arrive out of order
 * and more than once (REFERENCE "DynamoDB -> Kinesis Data Streams"); the creation time is what AWS
 * says to order and de-duplicate them by. One item's timestamps strictly increase, so the version
 * does too, and an equal timestamp is a duplicate (OpenSearch refuses an equal external version).
 *
 * How the two tiebreaks compare inside one second:
 * - Different seconds: the high part decides, whichever source wrote either version.
 * - Kinesis against Kinesis: the sub-second microseconds, 0..999,999, order them exactly. They stay
 *   far below 2^30: a stale Kinesis replay is behind the stored Kinesis version by less than 10^6,
 *   i.e. "ahead" by more than 2^31 - 10^6 modulo 2^31, so `overtakesAcrossWrap` never judges it
 *   ahead (tested).
 * - Stream against Kinesis in the same second: the sequence tiebreak (0..2^31-1) and the
 *   microseconds are unrelated numbers, so which one wins is arbitrary. A stream write is refused
 *   by a Kinesis version only when its tiebreak is at most those microseconds, i.e. behind by less
 *   than 10^6, so it is never judged ahead either. A Kinesis write is never re-sent after a 409 at
 *   all: its tiebreak cannot wrap, so a conflict is final (`Change.timeTiebreak`), and a stale
 *   replay cannot overtake a newer stream version whose tiebreak happens to sit 2^30 above it.
 * Residual window of a switch: while both sources write one index, every change arrives twice, and
 * the highest version in an item's last second, stream or Kinesis, carries its last change. Only a change
 * made in the same second as the last change the old source wrote, and delivered by the new source
 * alone, can be refused as stale (its tiebreak compares arbitrarily); the next change of the item
 * in a later second repairs it. Kinesis alone: two changes of one item in the same microsecond
 * count as duplicates.
 */
import { MalformedRecordError } from './errors';

const TIEBREAK_BITS = 31;
const TIEBREAK_MOD = 2 ** TIEBREAK_BITS;
const TIEBREAK_INVERSE = 2 ** -TIEBREAK_BITS;
export const MAX_SECONDS = 2 ** 32 - 1;
/** The longest SequenceNumber accepted (AWS documents 21 to 40 digits). */
const SEQUENCE_NUMBER_MAX_DIGITS = 64;

/**
 * `sequenceNumber mod 2^31`, exactly, without BigInt or `%` on doubles. Six digits are read at a
 * time and reduced once: r * 10^6 + chunk stays below 2^31 * 10^6 + 10^6 < 2^53, so every step is
 * exact, and a 21-digit number takes four reductions rather than 21.
 */
export function sequenceTiebreak(sequenceNumber: string): number {
  const length = sequenceNumber.length;
  let r = 0;
  let i = 0;
  while (i < length) {
    const end = Math.min(i + TIEBREAK_CHUNK_DIGITS, length);
    let chunk = 0;
    let scale = 1;
    for (; i < end; i++) {
      chunk = chunk * 10 + (sequenceNumber.charCodeAt(i) - 48);
      scale *= 10;
    }
    const x = r * scale + chunk;
    // x - floor(x / 2^31) * 2^31, exact (a power of two); cheaper than % on a non-Smi.
    r = x - Math.floor(x * TIEBREAK_INVERSE) * TIEBREAK_MOD;
  }
  return r;
}

const TIEBREAK_CHUNK_DIGITS = 6;

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

const MICROS_PER_SECOND = 1_000_000;
/** Below this an ApproximateCreationDateTime is seconds (1e11 s is the year 5138; 1e11 ms is 1973). */
const SECONDS_BELOW = 1e11;
/** Below this (and not seconds) it is milliseconds (1e14 ms is the year 5138; 1e14 us is 1973). */
const MILLISECONDS_BELOW = 1e14;

/**
 * ApproximateCreationDateTime -> epoch microseconds, or undefined when it is not a positive time.
 * Kinesis Data Streams for DynamoDB sends milliseconds or microseconds, as the table's
 * `ApproximateCreationDateTimePrecision` says (MILLISECOND or MICROSECOND), and the record does not
 * say which. The unit is told by magnitude: below 1e11 seconds, below 1e14 milliseconds, else
 * microseconds. Each range maps 1973..5138 in its own unit, so any real date reads right in all
 * three, and a table that changes its precision keeps one monotonic clock.
 */
export function creationMicros(approximateCreationDateTime: unknown): number | undefined {
  let value = approximateCreationDateTime;
  if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value)) value = Number(value);
  if (typeof value !== 'number' || !Number.isFinite(value) || !(value > 0)) return undefined;
  // Rounded, not floored: a fractional input is a unit conversion, and x.999999 must not lose 1 us.
  const micros =
    value < SECONDS_BELOW
      ? Math.round(value * MICROS_PER_SECOND)
      : value < MILLISECONDS_BELOW
        ? Math.round(value * 1000)
        : Math.round(value);
  return micros / MICROS_PER_SECOND > MAX_SECONDS ? undefined : micros;
}

/**
 * The external version of a change known by its creation time (Kinesis): whole seconds * 2^31 +
 * the sub-second part in microseconds, on the stream's scale (see the header).
 */
export function timestampVersion(micros: number): string {
  const seconds = Math.floor(micros / MICROS_PER_SECOND);
  const tiebreak = micros - seconds * MICROS_PER_SECOND;
  return ((BigInt(seconds) << BigInt(TIEBREAK_BITS)) + BigInt(tiebreak)).toString();
}

/** Checks a SequenceNumber: the record's identity for Lambda and its order in the shard. */
export function checkSequenceNumber(sequenceNumber: unknown): string {
  if (typeof sequenceNumber !== 'string' || !isSequenceNumber(sequenceNumber)) {
    throw new MalformedRecordError(
      'InvalidSequenceNumber',
      'dynamodb.SequenceNumber is missing or not a decimal string',
    );
  }
  return sequenceNumber;
}

/**
 * True for 1 to 64 ASCII digits (`/^\d{1,64}$/`), as a loop over the character codes: this runs for every record,
 * and a loop over 21 digits costs a fraction of a regular expression call.
 */
function isSequenceNumber(text: string): boolean {
  const length = text.length;
  if (length === 0 || length > SEQUENCE_NUMBER_MAX_DIGITS) return false;
  // Stryker disable next-line EqualityOperator: `i <= length` reads one past the end, where charCodeAt gives NaN, which is neither below 48 nor above 57, so the answer is the same.
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

const LIMB = 1e9;
// 2^31 = 2 * 10^9 + 147483648
const MOD_HIGH = 2;
const MOD_LOW = 147_483_648;
const SECONDS_LIMB = 1e4;
const PART_LIMB = 1e5;

/** The external version, as decimal text for the bulk action line. */
export function externalVersion(
  approximateCreationDateTime: unknown,
  sequenceNumber: string,
): string {
  const seconds = creationSeconds(approximateCreationDateTime);
  const tiebreak = sequenceTiebreak(sequenceNumber);
  // Stryker disable next-line ConditionalExpression: `true` is equivalent, it recomputes the cached high part for every record, with the same digits; the cache only saves work. `false` (never recompute) is a real rule, killed by the unit tests.
  if (seconds !== high.seconds) setHigh(seconds);
  // seconds * 2^31 + tiebreak: the tiebreak (< 2^31) is added to the low limb of the high part,
  // which carries at most 3 into the limbs above it.
  let low = high.low + tiebreak;
  const up = Math.floor(low / LIMB);
  low -= up * LIMB;
  let prefix = high.prefixes[up];
  // Stryker disable next-line ConditionalExpression: `true` is equivalent, it recomputes the cached prefix text with the same digits; the cache only saves work. `false` (never compute it) is a real rule, killed by the unit tests.
  if (prefix === undefined) {
    prefix = prefixText(high.mid + up, high.carry);
    high.prefixes[up] = prefix;
  }
  return prefix === '' ? `${low}` : prefix + limbText(low);
}

/**
 * seconds * 2^31 in base-10^9 limbs, for the last second seen, with the decimal text of the limbs
 * above the low one for each carry out of it (filled as met). The records of a batch share a few
 * seconds, so most versions cost one tiebreak, one addition and one nine-digit text; the digits
 * are exactly those of the full computation, which the tests compare with BigInt.
 */
const high = {
  seconds: -1,
  low: 0,
  mid: 0,
  carry: 0,
  prefixes: [undefined, undefined, undefined, undefined] as (string | undefined)[],
};

function setHigh(seconds: number): void {
  // seconds * 2^31 exceeds 2^53 after 1970 + 48 days. Without BigInt: base-10^9 limbs (small
  // integers, cheap to print), with seconds = a * 10^4 + b, so every product and sum below stays
  // under 2^53:
  // seconds * 2^31 = (a * 2 * 10^4 + b * 2) * 10^9 + a * 147483648 * 10^4 + b * 147483648
  const a = Math.floor(seconds / SECONDS_LIMB);
  const b = seconds - a * SECONDS_LIMB;
  const part = a * MOD_LOW;
  const partHigh = Math.floor(part / PART_LIMB); // part * 10^4 = partHigh * 10^9 + rest * 10^4
  let low = b * MOD_LOW + (part - partHigh * PART_LIMB) * SECONDS_LIMB;
  let carry = Math.floor(low / LIMB);
  low -= carry * LIMB;
  let mid = (a * SECONDS_LIMB + b) * MOD_HIGH + partHigh + carry;
  carry = Math.floor(mid / LIMB);
  mid -= carry * LIMB;
  high.seconds = seconds;
  high.low = low;
  high.mid = mid;
  high.carry = carry;
  high.prefixes.fill(undefined);
}

/** The decimal text of carry * 10^18 + mid * 10^9 without its low limb; '' when it is zero. */
function prefixText(mid: number, carry: number): string {
  const over = Math.floor(mid / LIMB);
  const top = carry + over;
  const rest = mid - over * LIMB;
  if (top > 0) return `${top}${limbText(rest)}`;
  return rest > 0 ? `${rest}` : '';
}

/** A base-10^9 limb below the top one: nine digits. */
function limbText(limb: number): string {
  const text = `${limb}`;
  // Stryker disable next-line ConditionalExpression: `false` is equivalent ('0'.repeat(0) is empty, so a nine-digit limb comes back as is); `true` (never pad) is a real rule, killed by the externalVersion tests (checked with a hand-made mutant; Stryker disables both directions together).
  return text.length === 9 ? text : '0'.repeat(9 - text.length) + text;
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

/**
 * Document ids from a stream record's key attributes.
 *
 * The scheme, which any other tool can reproduce by importing `documentId`:
 *
 * 1. Take the key attributes only (`dynamodb.Keys`), never other attributes, so an item keeps
 *    one id for life.
 * 2. Order them: names listed in `keyOrder` (configured with KEY_ATTRIBUTES, normally
 *    "hashKey,rangeKey") first, in that order; any others after, sorted by UTF-16 code unit.
 *    The order of keys in the event therefore never matters.
 * 3. Spell each value as DynamoDB holds it: S as is, N as its decimal string, B as base64.
 * 4. Escape `\` as `\\` and `|` as `\|` inside each value, then join the values with `|`.
 *    Escaping makes the join injective: ("1","23") -> `1|23`, ("12","3") -> `12|3`,
 *    ("a|b","c") -> `a\|b|c`, ("a","b|c") -> `a|b\|c`.
 * 5. If that is longer than OpenSearch's 512-byte `_id` limit (UTF-8), use
 *    `|sha256:` + base64url(SHA-256 of the step-4 string) instead. A step-4 id never starts
 *    with `|` (DynamoDB key values are never empty, and a literal leading `|` is escaped),
 *    so hashed ids cannot collide with readable ones.
 *
 * The article's table (`userId` hash, `transactionId` range, KEY_ATTRIBUTES=userId,transactionId)
 * gives `3|51` for userId=3, transactionId=51.
 */
import { createHash } from 'node:crypto';
import { MalformedRecordError } from './errors';

/** OpenSearch rejects `_id`s longer than 512 bytes. */
export const MAX_ID_BYTES = 512;
export const HASHED_ID_PREFIX = '|sha256:';

function keyValue(name: string, value: unknown): string {
  if (value !== null && typeof value === 'object') {
    const av = value as Record<string, unknown>;
    const scalar = av.S ?? av.N ?? av.B;
    if (typeof scalar === 'string' && scalar !== '') return scalar;
    if (av.B instanceof Uint8Array && av.B.length > 0) return Buffer.from(av.B).toString('base64');
  }
  throw new MalformedRecordError(
    'InvalidKey',
    `key attribute ${JSON.stringify(name)} is not a non-empty S, N or B value`,
  );
}

function escape(value: string): string {
  // Stryker disable next-line ConditionalExpression,StringLiteral: `true` (or `includes("")`, always true) is equivalent, the replace then finds nothing to escape; the test only spares values without `\` or `|` a regex pass. The opposite direction is a real rule, killed by the unit tests (checked with a hand-made mutant; Stryker disables both directions together).
  return value.includes('\\') || value.includes('|') ? value.replace(/[\\|]/g, '\\$&') : value;
}

/**
 * True when `keys` holds exactly the names of `keyOrder` (the configured key schema), the case of
 * nearly every record: counted with for-in and checked with hasOwn, which allocates nothing,
 * where the general path below builds an array of names and filters it per record.
 */
function hasExactly(keys: object, keyOrder: readonly string[]): boolean {
  let count = 0;
  // Stryker disable all: equivalent, a wrong count only sends the keys to the general path below.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- only the number of keys matters
  for (const _name in keys) count++;
  // Stryker restore all
  // Stryker disable next-line ConditionalExpression: `true` (always false) is equivalent, it only sends every key set to the general path in orderedNames, which builds the same order. The opposite direction is a real rule (an extra key must not be dropped), killed by the unit tests (checked with a hand-made mutant; Stryker disables both directions together).
  if (count !== keyOrder.length) return false;
  // Stryker disable next-line EqualityOperator,UpdateOperator: reading one past either end of keyOrder looks up a name `undefined` the key set cannot hold beside exactly keyOrder's names (the count matched), so the loop can only answer false and send the keys to the general path, which builds the same order.
  for (let i = 0; i < keyOrder.length; i++) {
    // Stryker disable next-line BooleanLiteral,ConditionalExpression: answering false for a name that is present, or always, is equivalent, it only sends the keys to the general path, which builds the same order. Never answering false is a real rule (a missing schema name must not be taken as present), killed by the unit tests (checked with a hand-made mutant; Stryker disables both directions together).
    if (!Object.hasOwn(keys, keyOrder[i] as string)) return false;
  }
  // Stryker disable next-line BooleanLiteral: `false` is equivalent, the general path in orderedNames then builds the same order.
  return true;
}

function orderedNames(keys: object, keyOrder: readonly string[]): readonly string[] {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: never taking the shortcut is equivalent, the general path below then builds the same order; the shortcut only avoids allocating. With an empty keyOrder, hasExactly answers true only for an empty key set, whose order is empty either way.
  if (keyOrder.length > 0 && hasExactly(keys, keyOrder)) return keyOrder;
  const names = Object.keys(keys);
  // Stryker disable next-line ConditionalExpression: equivalent either way, sorting one name changes nothing and without keyOrder the general path below also returns the names sorted; both tests only skip work. The other directions (`true` for either test) are real rules, killed by the unit tests (checked with a hand-made mutant; Stryker disables both directions together).
  if (keyOrder.length === 0) return names.length < 2 ? names : names.sort();
  // The usual case: the record's keys are exactly the configured key schema.
  // Stryker disable next-line ConditionalExpression,ArrowFunction,BlockStatement: never taking the shortcut is equivalent, the general path below then builds the same order; the shortcut only avoids the filtering. The opposite direction is a real rule, killed by the unit tests (checked with a hand-made mutant; Stryker disables both directions together).
  if (names.length === keyOrder.length && keyOrder.every((name) => Object.hasOwn(keys, name))) {
    return keyOrder;
  }
  const first = keyOrder.filter((name) => Object.hasOwn(keys, name));
  const rest = names.filter((name) => !keyOrder.includes(name)).sort();
  return first.concat(rest);
}

/**
 * The OpenSearch `_id` for an item, from its key attributes (`dynamodb.Keys`).
 * Throws MalformedRecordError when there are no keys or a key value is not S, N or B.
 */
// Stryker disable next-line ArrayDeclaration: a default order naming an attribute the keys lack (`["Stryker was here"]`) falls to the general path of orderedNames, which then sorts every name exactly as the empty order does.
export function documentId(keys: unknown, keyOrder: readonly string[] = []): string {
  if (keys === null || typeof keys !== 'object' || Array.isArray(keys)) {
    throw new MalformedRecordError('MissingKeys', 'record has no dynamodb.Keys');
  }
  const names = orderedNames(keys, keyOrder);
  if (names.length === 0) throw new MalformedRecordError('MissingKeys', 'dynamodb.Keys is empty');
  let id = '';
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    id += (i > 0 ? '|' : '') + escape(keyValue(name, (keys as Record<string, unknown>)[name]));
  }
  // A UTF-8 character takes at most 3 bytes per UTF-16 unit, so short ids skip the count.
  // Stryker disable next-line ConditionalExpression,EqualityOperator: `false` is equivalent (the byte count below decides alone), and so is `<` (3 * length is never exactly 512). The opposite direction is a real rule, killed by the unit tests (checked with a hand-made mutant; Stryker disables both directions together).
  const surelyShort = id.length * 3 <= MAX_ID_BYTES;
  if (surelyShort || Buffer.byteLength(id, 'utf8') <= MAX_ID_BYTES) return id;
  return HASHED_ID_PREFIX + createHash('sha256').update(id, 'utf8').digest('base64url');
}

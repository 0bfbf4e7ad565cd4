/**
 * DynamoDB attribute values -> document JSON text, exactly.
 *
 * `unmarshall` + `JSON.stringify` loses what the table holds: sets become `{}`, integers beyond
 * 2^53 become BigInt (which `JSON.stringify` throws on) and decimals beyond double precision are
 * rounded (`3.14159265358979323846` -> `3.141592653589793`). Here every `N` reaches the JSON digit
 * for digit, so a lossless reader gets back what DynamoDB stores.
 *
 * How, cheaply: the JSON text is written in one pass over the item, straight from the attribute
 * values. A number goes out as the digits DynamoDB holds (only a spelling JSON does not allow is
 * respelled, `jsonNumber`), so no number is parsed into a double and printed back; strings, names
 * and string sets go through `JSON.stringify`, so they are escaped exactly as V8 escapes them; and
 * object members keep the order `JSON.stringify` would give an object built from the item (its
 * for-in order: integer-like names ascending, then the others as they came).
 *
 * | DynamoDB | JSON                                    |
 * |----------|-----------------------------------------|
 * | S        | string                                  |
 * | N        | number, with exactly the stored digits  |
 * | B        | base64 string (as Lambda delivers it)   |
 * | BOOL     | boolean                                 |
 * | NULL     | null                                    |
 * | M        | object                                  |
 * | L        | array                                   |
 * | SS/NS/BS | array of strings/numbers/base64 strings |
 */
import { MalformedRecordError } from './errors';

/** A DynamoDB JSON attribute value as it arrives in a stream record, not yet validated. */
export type AttributeMap = Record<string, unknown>;

// RFC 8259 number grammar. Anything DynamoDB returns normally matches it as is.
// Stryker disable next-line Regex: one Regex mutant is equivalent, an exponent made mandatory: a valid JSON number without an exponent then takes the LENIENT_NUMBER path, which gives it back with the same text (its sign, an integer part that has no leading zeros, its fraction as written). The other 14 Regex mutants of this line (anchors, sign, digits, fraction, exponent letter, sign and digits) were each killed by the unit suite in the run of 2026-12-02 before this mark was added; remove the mark to see them again.
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
// What DynamoDB accepts as a number on input, in case a producer hands us an unnormalised one.
const LENIENT_NUMBER = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Returns `n` as a JSON number literal with the same digits. Only the spelling changes for
 * inputs JSON does not allow (`+1`, `.5`, `5.`, `007`); the value never does.
 * Throws MalformedRecordError for anything that is not a number.
 */
export function jsonNumber(n: unknown): string {
  try {
    return numberText(n);
  } catch (error) {
    throw error instanceof InvalidValue
      ? new MalformedRecordError('InvalidAttributeValue', `N: ${error.detail}`)
      : error;
  }
}

function numberText(n: unknown): string {
  if (typeof n !== 'string') throw new InvalidValue('number is not a string');
  if (JSON_NUMBER.test(n)) return n;
  const m = LENIENT_NUMBER.exec(n.trim());
  // Stryker disable next-line StringLiteral: the group `(\d*)` takes part in every match, so `m[2]` is never undefined once `m` matched, and when `m` is null the check below throws before `intPart` is used.
  const intPart = m?.[2] ?? '';
  const fraction = m?.[3] ?? '';
  if (!m || (intPart === '' && fraction === '')) {
    throw new InvalidValue(`not a number: ${JSON.stringify(n.slice(0, 50))}`);
  }
  const int = intPart.replace(/^0+(?=\d)/, '') || '0';
  const exponent = m[4] === undefined ? '' : `e${m[4]}`;
  return `${m[1] === '-' ? '-' : ''}${int}${fraction ? `.${fraction}` : ''}${exponent}`;
}

/**
 * Thrown deep inside a value and given its path on the way out, so the hot path never builds
 * path strings for values that are fine.
 */
class InvalidValue extends Error {
  path = '';
  constructor(readonly detail: string) {
    super(detail);
  }
  within(segment: string): InvalidValue {
    this.path = segment + this.path;
    return this;
  }
}

/**
 * True when `n` is plain decimal text that a double holds and prints back unchanged: at most 15
 * significant digits (a double keeps any 15), canonical (no leading zeros, no trailing fraction
 * zeros, not `-0`) and in the range JavaScript prints without an exponent. Such text is valid JSON
 * as it is: a cheap scan that spares most numbers the regular expressions of `numberText`.
 * Exported for its tests: a wrong `false` only costs time, so no document would show it.
 */
export function plainDoubleText(n: string): boolean {
  const length = n.length;
  let i = n.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  const intStart = i;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: `true` and `<=` only let the loop read one place past the end, where charCodeAt gives NaN, which isDigit refuses, so the loop stops at the same place; `false` and `>=` (no digits read) are killed by the plainDoubleText tests (checked with hand-made mutants).
  while (i < length && isDigit(n.charCodeAt(i))) i++;
  const intDigits = i - intStart;
  if (intDigits === 0 || intDigits > 15) return false;
  const leadingZero = n.charCodeAt(intStart) === 48;
  if (leadingZero && intDigits > 1) return false;
  if (i === length) return !(leadingZero && intStart === 1); // "-0" prints as "0"
  if (n.charCodeAt(i) !== 46 /* . */) return false;
  const fracStart = ++i;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: `true` and `<=` only let the loop read one place past the end, where charCodeAt gives NaN, which isDigit refuses, so the loop stops at the same place; `false` and `>=` (no digits read) are killed by the plainDoubleText tests (checked with hand-made mutants).
  while (i < length && isDigit(n.charCodeAt(i))) i++;
  if (i !== length || i === fracStart || n.charCodeAt(length - 1) === 48) return false;
  if (!leadingZero) return intDigits + (length - fracStart) <= 15;
  // 0.000ddd: JavaScript switches to exponent notation below 1e-6.
  let zeros = 0;
  while (n.charCodeAt(fracStart + zeros) === 48) zeros++;
  return zeros < 6 && length - fracStart - zeros <= 15;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** An N value -> its JSON number text. */
function number(n: unknown): string {
  if (typeof n !== 'string') throw new InvalidValue('number is not a string');
  // Stryker disable next-line ConditionalExpression: skipping the fast path is equivalent (numberText returns every text it accepts unchanged); the tests of plainDoubleText pin it instead. Stryker can only disable both directions together: `true` (every text as is, so `+1` or `.5` would reach the JSON) is a real rule, killed by the unit tests (checked with a hand-made mutant).
  return plainDoubleText(n) ? n : numberText(n);
}

function binary(b: unknown): string {
  // Lambda delivers binary as base64 text. A producer using an SDK may hand us bytes instead.
  if (typeof b === 'string') return b;
  if (b instanceof Uint8Array) return Buffer.from(b).toString('base64');
  throw new InvalidValue('binary is neither base64 text nor bytes');
}

// One list function per element kind, so each loop calls one known function (a shared loop taking
// a callback would make that call site megamorphic, and this is the hot path).
function values(list: unknown): string {
  if (!Array.isArray(list)) throw new InvalidValue('expected an array');
  let out = '[';
  let i = 0;
  try {
    for (; i < list.length; i++) out += (i === 0 ? '' : ',') + value(list[i]);
  } catch (error) {
    throw within(error, i);
  }
  return out + ']';
}

function strings(list: unknown): string {
  if (!Array.isArray(list)) throw new InvalidValue('expected an array');
  for (let i = 0; i < list.length; i++) {
    if (typeof list[i] !== 'string') throw new InvalidValue('expected a string').within(`[${i}]`);
  }
  return JSON.stringify(list); // an array of strings: escaped as V8 escapes them
}

function numbers(list: unknown): string {
  if (!Array.isArray(list)) throw new InvalidValue('expected an array');
  let out = '[';
  let i = 0;
  try {
    for (; i < list.length; i++) out += (i === 0 ? '' : ',') + number(list[i]);
  } catch (error) {
    throw within(error, i);
  }
  return out + ']';
}

function binaries(list: unknown): string {
  if (!Array.isArray(list)) throw new InvalidValue('expected an array');
  // Stryker disable next-line ArrayDeclaration: only presizes; the loop assigns every index 0..length-1 in order, so an empty array ends the same.
  const out = new Array<string>(list.length);
  let i = 0;
  try {
    for (; i < list.length; i++) out[i] = binary(list[i]);
  } catch (error) {
    throw within(error, i);
  }
  return JSON.stringify(out);
}

function within(error: unknown, index: number): unknown {
  return error instanceof InvalidValue ? error.within(`[${index}]`) : error;
}

/** One attribute value -> its JSON text. */
function value(v: unknown): string {
  if (v === null || typeof v !== 'object') throw new InvalidValue('not an attribute value');
  // An attribute value has exactly one key, its type. Reading that key once and switching on it
  // is cheaper than probing the object for each possible type (this runs for every attribute).
  for (const type in v) {
    const x = (v as Record<string, unknown>)[type];
    switch (type) {
      case 'S':
        if (typeof x !== 'string') throw new InvalidValue('expected a string');
        return JSON.stringify(x);
      case 'N':
        return number(x);
      case 'M':
        return map(x);
      case 'L':
        return values(x);
      case 'BOOL':
        if (typeof x !== 'boolean') throw new InvalidValue('BOOL is not a boolean');
        return x ? 'true' : 'false';
      case 'NULL':
        return 'null';
      case 'B':
        return JSON.stringify(binary(x));
      case 'SS':
        return strings(x);
      case 'NS':
        return numbers(x);
      case 'BS':
        return binaries(x);
      default:
        throw new InvalidValue(`unknown attribute type ${JSON.stringify(type).slice(0, 80)}`);
    }
  }
  throw new InvalidValue('empty attribute value');
}

/**
 * `"name":` for an attribute name. The items of a table repeat a few names, so their texts are
 * kept (up to a bound, for tables whose names vary without end) rather than escaped each time.
 */
const memberNames = new Map<string, string>();
const MEMBER_NAMES_KEPT = 10_000;

/** How many member-name texts are kept (for the tests of the bound). */
export function keptMemberNames(): number {
  return memberNames.size;
}

function memberName(name: string): string {
  let text = memberNames.get(name);
  // Stryker disable next-line ConditionalExpression: `true` (escape the name every time) gives the same text and only skips the cache; `false` (never escape) is a real change, killed by every map test (checked with a hand-made mutant).
  if (text === undefined) {
    text = `${JSON.stringify(name)}:`;
    if (memberNames.size < MEMBER_NAMES_KEPT) memberNames.set(name, text);
  }
  return text;
}

/** A map of attributes -> its JSON object text. */
function map(m: unknown): string {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) {
    throw new InvalidValue('expected a map of attributes');
  }
  // JSON.parse (how Lambda builds the event) makes plain objects whose keys are all their own;
  // anything else is checked key by key so inherited properties never become attributes.
  // Stryker disable next-line ConditionalExpression: `false` is equivalent (every key is then checked with Object.hasOwn, which a plain object passes); the flag only skips that check.
  const plain = Object.getPrototypeOf(m) === Object.prototype;
  let out = '{';
  let first = true;
  // Stryker disable next-line StringLiteral: the catch below only runs for an error from value(), which is called after for-in has assigned `name`, so its first value is never read.
  let name = '';
  try {
    // for-in visits own names in the order JSON.stringify writes an object's members, so the
    // text is what stringifying the converted object would give.
    for (name in m) {
      if (!plain && !Object.hasOwn(m, name)) continue;
      const text = value((m as AttributeMap)[name]);
      out += (first ? '' : ',') + memberName(name) + text;
      first = false;
    }
  } catch (error) {
    throw error instanceof InvalidValue ? error.within(`.${name}`) : error;
  }
  return out + '}';
}

function toJson(convert: (v: unknown) => string, v: unknown, root: string): string {
  try {
    return convert(v);
  } catch (error) {
    if (!(error instanceof InvalidValue)) throw error;
    throw new MalformedRecordError(
      'InvalidAttributeValue',
      `${root}${error.path}: ${error.detail}`,
    );
  }
}

/** One attribute value -> JSON text. Throws MalformedRecordError naming the bad value's path. */
export function attributeToJson(v: unknown, root = '$'): string {
  return toJson(value, v, root);
}

/** An item (attribute name -> value), such as a record's NewImage -> JSON object text. */
export function itemToJson(item: unknown, root = '$'): string {
  return toJson(map, item, root);
}

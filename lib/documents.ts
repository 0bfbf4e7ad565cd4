/**
 * DynamoDB attribute values -> document JSON text, exactly.
 *
 * `unmarshall` + `JSON.stringify` loses what the table holds: sets become `{}`, integers beyond
 * 2^53 become BigInt (which `JSON.stringify` throws on) and decimals beyond double precision are
 * rounded (`3.14159265358979323846` -> `3.141592653589793`). Here every `N` reaches the JSON digit
 * for digit, so a lossless reader gets back what DynamoDB stores.
 *
 * How, cheaply: the item becomes a plain object and V8's native `JSON.stringify` writes it. An `N`
 * whose text survives a round trip through a double (`String(Number(n)) === n`, true for almost
 * every real amount, id and count) goes in as a number and comes out as the same text. Any other
 * `N` goes in as a marker string, and the few markers are swapped for the exact digits afterwards.
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
import { randomBytes } from 'node:crypto';
import { MalformedRecordError } from './errors';

/** A DynamoDB JSON attribute value as it arrives in a stream record, not yet validated. */
export type AttributeMap = Record<string, unknown>;

// RFC 8259 number grammar. Anything DynamoDB returns normally matches it as is.
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

// Markers for numbers a double cannot carry: a random nonce per process, which no table value
// will contain by chance. Plain ASCII, so JSON.stringify stays on its fast path.
const NONCE = randomBytes(8).toString('hex');
const MARKER = `${NONCE}#`;
const MARKER_IN_JSON = new RegExp(`"${NONCE}#(\\d+)"`, 'g');

/** Exact number texts of the conversion in progress (conversions are synchronous). */
const exact: string[] = [];

/**
 * True when `n` is plain decimal text that a double holds and prints back unchanged: at most 15
 * significant digits (a double keeps any 15), canonical (no leading zeros, no trailing fraction
 * zeros, not `-0`) and in the range JavaScript prints without an exponent. A cheap scan that
 * spares most numbers the double-to-text conversion of the general check. Exported for its tests:
 * a wrong `false` only costs time, so no document would show it.
 */
export function plainDoubleText(n: string): boolean {
  const length = n.length;
  let i = n.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  const intStart = i;
  while (i < length && isDigit(n.charCodeAt(i))) i++;
  const intDigits = i - intStart;
  if (intDigits === 0 || intDigits > 15) return false;
  const leadingZero = n.charCodeAt(intStart) === 48;
  if (leadingZero && intDigits > 1) return false;
  if (i === length) return !(leadingZero && intStart === 1); // "-0" prints as "0"
  if (n.charCodeAt(i) !== 46 /* . */) return false;
  const fracStart = ++i;
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

function number(n: unknown): number | string {
  if (typeof n !== 'string') throw new InvalidValue('number is not a string');
  // Stryker disable next-line ConditionalExpression: skipping the fast path is equivalent (the general check below accepts every text it accepts); the tests of plainDoubleText pin it instead.
  if (plainDoubleText(n)) return +n;
  const x = +n;
  if (Number.isFinite(x) && String(x) === n) return x;
  exact.push(numberText(n));
  return MARKER + (exact.length - 1);
}

function binary(b: unknown): string {
  // Lambda delivers binary as base64 text. A producer using an SDK may hand us bytes instead.
  if (typeof b === 'string') return b;
  if (b instanceof Uint8Array) return Buffer.from(b).toString('base64');
  throw new InvalidValue('binary is neither base64 text nor bytes');
}

// One list function per element kind, so each loop calls one known function (a shared loop taking
// a callback would make that call site megamorphic, and this is the hot path).
function values(list: unknown): unknown[] {
  if (!Array.isArray(list)) throw new InvalidValue('expected an array');
  const out = new Array<unknown>(list.length);
  let i = 0;
  try {
    for (; i < list.length; i++) out[i] = value(list[i]);
  } catch (error) {
    throw within(error, i);
  }
  return out;
}

function strings(list: unknown): string[] {
  if (!Array.isArray(list)) throw new InvalidValue('expected an array');
  for (let i = 0; i < list.length; i++) {
    if (typeof list[i] !== 'string') throw new InvalidValue('expected a string').within(`[${i}]`);
  }
  return list as string[]; // already what JSON needs: an array of strings
}

function numbers(list: unknown): (number | string)[] {
  if (!Array.isArray(list)) throw new InvalidValue('expected an array');
  const out = new Array<number | string>(list.length);
  let i = 0;
  try {
    for (; i < list.length; i++) out[i] = number(list[i]);
  } catch (error) {
    throw within(error, i);
  }
  return out;
}

function binaries(list: unknown): string[] {
  if (!Array.isArray(list)) throw new InvalidValue('expected an array');
  const out = new Array<string>(list.length);
  let i = 0;
  try {
    for (; i < list.length; i++) out[i] = binary(list[i]);
  } catch (error) {
    throw within(error, i);
  }
  return out;
}

function within(error: unknown, index: number): unknown {
  return error instanceof InvalidValue ? error.within(`[${index}]`) : error;
}

function value(v: unknown): unknown {
  if (v === null || typeof v !== 'object') throw new InvalidValue('not an attribute value');
  // An attribute value has exactly one key, its type. Reading that key once and switching on it
  // is cheaper than probing the object for each possible type (this runs for every attribute).
  for (const type in v) {
    const x = (v as Record<string, unknown>)[type];
    switch (type) {
      case 'S':
        if (typeof x !== 'string') throw new InvalidValue('expected a string');
        return x;
      case 'N':
        return number(x);
      case 'M':
        return map(x);
      case 'L':
        return values(x);
      case 'BOOL':
        if (typeof x !== 'boolean') throw new InvalidValue('BOOL is not a boolean');
        return x;
      case 'NULL':
        return null;
      case 'B':
        return binary(x);
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

function map(m: unknown): Record<string, unknown> {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) {
    throw new InvalidValue('expected a map of attributes');
  }
  const out: Record<string, unknown> = {};
  // JSON.parse (how Lambda builds the event) makes plain objects whose keys are all their own;
  // anything else is checked key by key so inherited properties never become attributes.
  // Stryker disable next-line ConditionalExpression: `false` is equivalent (every key is then checked with Object.hasOwn, which a plain object passes); the flag only skips that check.
  const plain = Object.getPrototypeOf(m) === Object.prototype;
  let name = '';
  try {
    for (name in m) {
      if (!plain && !Object.hasOwn(m, name)) continue;
      const converted = value((m as AttributeMap)[name]);
      // An attribute may be called `__proto__`; assignment would set the prototype instead.
      if (name === '__proto__') {
        Object.defineProperty(out, name, { value: converted, enumerable: true, writable: true });
      } else {
        out[name] = converted;
      }
    }
  } catch (error) {
    throw error instanceof InvalidValue ? error.within(`.${name}`) : error;
  }
  return out;
}

function toJson(convert: (v: unknown) => unknown, v: unknown, root: string): string {
  // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: equivalent, the `finally` below also empties `exact` after every conversion; the guard only skips a write.
  if (exact.length > 0) exact.length = 0; // reused: no allocation per document
  try {
    const json = JSON.stringify(convert(v));
    // Stryker disable next-line ConditionalExpression: equivalent, without markers the replace below finds nothing and returns the same text; the guard only skips a regex scan.
    if (exact.length === 0) return json;
    return json.replace(MARKER_IN_JSON, (_marker, i: string) => exact[Number(i)] as string);
  } catch (error) {
    if (!(error instanceof InvalidValue)) throw error;
    throw new MalformedRecordError(
      'InvalidAttributeValue',
      `${root}${error.path}: ${error.detail}`,
    );
  } finally {
    // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: equivalent, the next conversion empties `exact` before it starts; this only frees the texts early.
    if (exact.length > 0) exact.length = 0;
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

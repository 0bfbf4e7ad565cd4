/**
 * DynamoDB attribute values -> document JSON text, exactly.
 *
 * The document is written straight to JSON text instead of going through `unmarshall` and
 * `JSON.stringify`, because that route loses what the table holds: sets become `{}`, integers
 * beyond 2^53 become BigInt (which `JSON.stringify` throws on) and decimals beyond double
 * precision are rounded (`3.14159265358979323846` -> `3.141592653589793`). Here an `N` is
 * copied digit for digit into the JSON, so a lossless reader gets back what DynamoDB stores.
 * It is also the cheapest route: no intermediate objects are allocated.
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
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
// What DynamoDB accepts as a number on input, in case a producer hands us an unnormalised one.
const LENIENT_NUMBER = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Returns `n` as a JSON number literal with the same digits. Only the spelling changes for
 * inputs JSON does not allow (`+1`, `.5`, `5.`, `007`); the value never does.
 */
export function jsonNumber(n: unknown): string {
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

function binary(b: unknown): string {
  // Lambda delivers binary as base64 text. A producer using an SDK may hand us bytes instead.
  if (typeof b === 'string') return JSON.stringify(b);
  if (b instanceof Uint8Array) return JSON.stringify(Buffer.from(b).toString('base64'));
  throw new InvalidValue('binary is neither base64 text nor bytes');
}

function string(s: unknown): string {
  if (typeof s !== 'string') throw new InvalidValue('expected a string');
  return JSON.stringify(s);
}

function list(values: unknown, each: (v: unknown) => string): string {
  if (!Array.isArray(values)) throw new InvalidValue('expected an array');
  let out = '[';
  for (let i = 0; i < values.length; i++) {
    try {
      out += (i > 0 ? ',' : '') + each(values[i]);
    } catch (error) {
      throw error instanceof InvalidValue ? error.within(`[${i}]`) : error;
    }
  }
  return out + ']';
}

function value(v: unknown): string {
  if (v === null || typeof v !== 'object') throw new InvalidValue('not an attribute value');
  const av = v as Record<string, unknown>;
  // The common types first: this runs for every attribute of every record.
  if (av.S !== undefined) return string(av.S);
  if (av.N !== undefined) return jsonNumber(av.N);
  if (av.M !== undefined) return map(av.M);
  if (av.L !== undefined) return list(av.L, value);
  if (av.BOOL !== undefined) {
    if (typeof av.BOOL !== 'boolean') throw new InvalidValue('BOOL is not a boolean');
    return av.BOOL ? 'true' : 'false';
  }
  if (av.NULL !== undefined) return 'null';
  if (av.B !== undefined) return binary(av.B);
  if (av.SS !== undefined) return list(av.SS, string);
  if (av.NS !== undefined) return list(av.NS, jsonNumber);
  if (av.BS !== undefined) return list(av.BS, binary);
  throw new InvalidValue(`unknown attribute type ${JSON.stringify(Object.keys(av)).slice(0, 80)}`);
}

function map(m: unknown): string {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) {
    throw new InvalidValue('expected a map of attributes');
  }
  let out = '{';
  let first = true;
  for (const name in m) {
    if (!Object.prototype.hasOwnProperty.call(m, name)) continue;
    try {
      out += `${first ? '' : ','}${JSON.stringify(name)}:${value((m as AttributeMap)[name])}`;
    } catch (error) {
      throw error instanceof InvalidValue ? error.within(`.${name}`) : error;
    }
    first = false;
  }
  return out + '}';
}

function guarded(fn: (v: unknown) => string, v: unknown, root: string): string {
  try {
    return fn(v);
  } catch (error) {
    if (!(error instanceof InvalidValue)) throw error;
    throw new MalformedRecordError('InvalidAttributeValue', `${root}${error.path}: ${error.detail}`);
  }
}

/** One attribute value -> JSON text. Throws MalformedRecordError naming the bad value's path. */
export function attributeToJson(v: unknown, root = '$'): string {
  return guarded(value, v, root);
}

/** An item (attribute name -> value), such as a record's NewImage -> JSON object text. */
export function itemToJson(item: unknown, root = '$'): string {
  return guarded(map, item, root);
}

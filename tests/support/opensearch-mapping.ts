/**
 * Dynamic and explicit mappings as OpenSearch applies them while indexing a document, modelled
 * on `DocumentParser` / `NumberFieldMapper` / `TextFieldMapper` / `BooleanFieldMapper` /
 * `ObjectMapper` in opensearch-project/OpenSearch (server/src/main/java/org/opensearch/index/mapper).
 *
 * What is followed from the source:
 *  - Dynamic types: a JSON integer (Jackson INT/LONG/BIG_INTEGER) maps to `long`, a JSON
 *    float/double to `float`, a string to `text` with a `keyword` sub-field (ignore_above 256),
 *    true/false to `boolean`, an object to `object`; arrays take their elements' type; null and
 *    empty arrays map nothing (DocumentParser.createBuilderFromDynamicValue, parseArray, parseNullValue).
 *  - A BIG_INTEGER mapped dynamically to `long` then fails to parse ("out of range of long"), so
 *    a document whose first value for a field is an integer beyond 2^63-1 is rejected.
 *  - `coerce` defaults to true: numeric strings ("42", "4.2") are accepted by numeric fields and
 *    decimals are truncated for integer types; non-numeric strings, booleans and objects are
 *    rejected with mapper_parsing_exception "failed to parse field [f] of type [t] in document
 *    with id '...'. Preview of field's value: '...'".
 *  - text/keyword accept strings, numbers and booleans (parser.textOrNull()), reject objects.
 *  - A concrete value where an object is mapped is rejected: "object mapping for [f] tried to
 *    parse field [f] as object, but found a concrete value".
 *  - `float` rejects values that overflow to infinity ("[float] supports only finite values").
 *  - index.mapping.total_fields.limit counts object mappers, field mappers and multi-fields
 *    (MapperService.checkTotalFieldsLimit): "Limit of total fields [N] has been exceeded",
 *    illegal_argument_exception. A rejected document leaves the mapping unchanged.
 *
 * Guesses (marked GUESS below): an empty string given to a numeric/boolean field is treated as
 * null; date detection only triggers on strings with at least a full yyyy-MM-dd (or yyyy/MM/dd)
 * date, which is narrower than strict_date_optional_time; `nested` is treated like `object`.
 */
import type { JsonNode, JsonObjectNode } from './lossless-json';

export type FieldType =
  | 'object'
  | 'nested'
  | 'long'
  | 'integer'
  | 'short'
  | 'byte'
  | 'unsigned_long'
  | 'double'
  | 'float'
  | 'half_float'
  | 'scaled_float'
  | 'text'
  | 'keyword'
  | 'boolean'
  | 'date'
  | 'binary'
  | 'ip'
  | 'flat_object';

const KNOWN_TYPES = new Set<string>([
  'object',
  'nested',
  'long',
  'integer',
  'short',
  'byte',
  'unsigned_long',
  'double',
  'float',
  'half_float',
  'scaled_float',
  'text',
  'keyword',
  'boolean',
  'date',
  'binary',
  'ip',
  'flat_object',
]);

export type Dynamic = 'true' | 'false' | 'strict';

export interface FieldMapping {
  type: FieldType;
  properties?: Map<string, FieldMapping>;
  /** Multi-fields, e.g. text -> { keyword }. */
  fields?: Map<string, FieldMapping>;
  dynamic?: Dynamic;
  scalingFactor?: number;
  ignoreAbove?: number;
  coerce?: boolean;
}

export interface MappingError {
  readonly status: number;
  readonly type: string;
  readonly reason: string;
  readonly causedBy?: { readonly type: string; readonly reason: string };
}

const LIMITS: Record<string, [bigint, bigint]> = {
  long: [-(2n ** 63n), 2n ** 63n - 1n],
  integer: [-(2n ** 31n), 2n ** 31n - 1n],
  short: [-32768n, 32767n],
  byte: [-128n, 127n],
  unsigned_long: [0n, 2n ** 64n - 1n],
};

const FLOAT_MAX = 3.4028234663852886e38;
const HALF_FLOAT_MAX = 65504;

// GUESS: narrower than strict_date_optional_time (which would also accept "2024" or "2024-05").
const DATE_DETECT_RE =
  /^(\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2}([.,]\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?|\d{4}\/\d{2}\/\d{2}( \d{2}:\d{2}:\d{2})?( [+-]\d{4}|Z)?)$/;

class ParseFailure extends Error {
  constructor(readonly error: MappingError) {
    super(error.reason);
  }
}

function cloneField(f: FieldMapping): FieldMapping {
  const c: FieldMapping = { ...f };
  if (f.properties) c.properties = new Map([...f.properties].map(([k, v]) => [k, cloneField(v)]));
  if (f.fields) c.fields = new Map([...f.fields].map(([k, v]) => [k, cloneField(v)]));
  return c;
}

function preview(node: JsonNode, text: string): string {
  const raw = text.slice(node.start, node.end);
  if (node.kind === 'string') return node.value;
  return raw.length > 200 ? `${raw.slice(0, 200)}...` : raw;
}

function isObjectType(t: FieldType): boolean {
  return t === 'object' || t === 'nested';
}

/** Parses `{"properties": {...}, "dynamic": ...}` as given to PUT /<index>. Throws MappingError-shaped errors. */
export function parseMappingDefinition(def: unknown, path = ''): FieldMapping {
  const root: FieldMapping = { type: 'object', properties: new Map(), dynamic: 'true' };
  if (def === undefined || def === null) return root;
  if (typeof def !== 'object' || Array.isArray(def))
    throw new ParseFailure(
      mpe(`Root mapping definition has unsupported parameters: ${JSON.stringify(def)}`),
    );
  const d = def as Record<string, unknown>;
  if (d['dynamic'] !== undefined) root.dynamic = String(d['dynamic']) as Dynamic;
  const props = d['properties'];
  if (props !== undefined) {
    if (typeof props !== 'object' || props === null)
      throw new ParseFailure(mpe(`properties must be an object at [${path}]`));
    for (const [name, spec] of Object.entries(props as Record<string, unknown>)) {
      root.properties!.set(name, parseFieldDefinition(spec, path ? `${path}.${name}` : name));
    }
  }
  return root;
}

function mpe(reason: string): MappingError {
  return { status: 400, type: 'mapper_parsing_exception', reason };
}

function parseFieldDefinition(spec: unknown, path: string): FieldMapping {
  if (typeof spec !== 'object' || spec === null)
    throw new ParseFailure(mpe(`Expected map for property [fields] on field [${path}]`));
  const s = spec as Record<string, unknown>;
  const type = (s['type'] as string | undefined) ?? (s['properties'] ? 'object' : undefined);
  if (type === undefined) throw new ParseFailure(mpe(`No type specified for field [${path}]`));
  if (!KNOWN_TYPES.has(type))
    throw new ParseFailure(mpe(`No handler for type [${type}] declared on field [${path}]`));
  if (isObjectType(type as FieldType)) {
    const obj = parseMappingDefinition(s, path);
    obj.type = type as FieldType;
    if (s['dynamic'] === undefined) delete obj.dynamic;
    return obj;
  }
  const f: FieldMapping = { type: type as FieldType };
  if (type === 'scaled_float') {
    const sf = s['scaling_factor'];
    if (typeof sf !== 'number' || !(sf > 0))
      throw new ParseFailure(mpe(`Field [scaling_factor] is required for field [${path}]`));
    f.scalingFactor = sf;
  }
  if (typeof s['ignore_above'] === 'number') f.ignoreAbove = s['ignore_above'];
  if (typeof s['coerce'] === 'boolean') f.coerce = s['coerce'];
  if (s['fields'] !== undefined) {
    f.fields = new Map();
    for (const [name, sub] of Object.entries(s['fields'] as Record<string, unknown>))
      f.fields.set(name, parseFieldDefinition(sub, `${path}.${name}`));
  }
  return f;
}

export function mappingToJson(f: FieldMapping): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isObjectType(f.type) || f.type === 'nested') out['type'] = f.type;
  if (f.dynamic !== undefined && f.dynamic !== 'true') out['dynamic'] = f.dynamic;
  if (f.scalingFactor !== undefined) out['scaling_factor'] = f.scalingFactor;
  if (f.ignoreAbove !== undefined) out['ignore_above'] = f.ignoreAbove;
  if (f.properties)
    out['properties'] = Object.fromEntries(
      [...f.properties].map(([k, v]) => [k, mappingToJson(v)]),
    );
  if (f.fields)
    out['fields'] = Object.fromEntries([...f.fields].map(([k, v]) => [k, mappingToJson(v)]));
  return out;
}

/** Number of mappers that count towards index.mapping.total_fields.limit (the root excluded). */
export function countFields(f: FieldMapping): number {
  let n = 0;
  for (const child of f.properties?.values() ?? []) n += 1 + countFields(child);
  for (const sub of f.fields?.values() ?? []) n += 1 + countFields(sub);
  return n;
}

/** Looks a dotted path up in the mapping (for tests). */
export function lookupField(root: FieldMapping, path: string): FieldMapping | undefined {
  let cur: FieldMapping | undefined = root;
  for (const seg of path.split('.')) {
    if (!cur) return undefined;
    cur = cur.properties?.get(seg) ?? cur.fields?.get(seg);
  }
  return cur;
}

export class IndexMapping {
  root: FieldMapping;
  constructor(
    root: FieldMapping | undefined,
    public totalFieldsLimit: number,
  ) {
    this.root = root ?? { type: 'object', properties: new Map(), dynamic: 'true' };
  }

  get fieldCount(): number {
    return countFields(this.root);
  }

  /**
   * Parses a document against the mapping, adding dynamic fields. On success the mapping is
   * updated and null returned; on failure the mapping is left as it was and the error returned.
   */
  indexDocument(doc: JsonNode, text: string, id: string): MappingError | null {
    if (doc.kind !== 'object') {
      return mpe(`failed to parse, document is empty`);
    }
    const working = cloneField(this.root);
    const before = countFields(this.root);
    try {
      new DocParser(text, id).parseObject(working, doc, '', working.dynamic ?? 'true');
    } catch (e) {
      if (e instanceof ParseFailure) return e.error;
      throw e;
    }
    const after = countFields(working);
    if (after > before && after > this.totalFieldsLimit) {
      return {
        status: 400,
        type: 'illegal_argument_exception',
        reason: `Limit of total fields [${this.totalFieldsLimit}] has been exceeded`,
      };
    }
    this.root = working;
    return null;
  }
}

class DocParser {
  constructor(
    private readonly text: string,
    private readonly id: string,
  ) {}

  private fieldError(
    path: string,
    type: string,
    node: JsonNode,
    cause: { type: string; reason: string },
  ): ParseFailure {
    return new ParseFailure({
      status: 400,
      type: 'mapper_parsing_exception',
      reason: `failed to parse field [${path}] of type [${type}] in document with id '${this.id}'. Preview of field's value: '${preview(node, this.text)}'`,
      causedBy: cause,
    });
  }

  parseObject(
    mapping: FieldMapping,
    node: JsonObjectNode,
    path: string,
    inheritedDynamic: Dynamic,
  ): void {
    const dynamic = mapping.dynamic ?? inheritedDynamic;
    for (const [rawName, value] of node.members) {
      if (rawName.length === 0) {
        // GUESS on the exact wording; OpenSearch rejects empty field names.
        throw new ParseFailure(mpe(`failed to parse: field name cannot be an empty string`));
      }
      if (rawName.trim().length === 0)
        throw new ParseFailure(
          mpe(`failed to parse: field name cannot contain only whitespace: ['${rawName}']`),
        );
      if (rawName.includes('.')) {
        // Dotted names are expanded into object paths (DocumentParser.splitAndValidatePath).
        const parts = rawName.split('.');
        if (parts.some((p) => p.length === 0)) {
          throw new ParseFailure(
            mpe(
              `failed to parse: object field starting or ending with a [.] makes object resolution ambiguous: [${rawName}]`,
            ),
          );
        }
        let cur = mapping;
        let curPath = path;
        let curDynamic = dynamic;
        for (let i = 0; i < parts.length - 1; i++) {
          const seg = parts[i] as string;
          curPath = curPath ? `${curPath}.${seg}` : seg;
          let next = cur.properties?.get(seg);
          if (!next) {
            if (curDynamic === 'strict') throw this.strict(seg, curPath);
            if (curDynamic === 'false') return;
            next = { type: 'object', properties: new Map() };
            cur.properties!.set(seg, next);
          } else if (!isObjectType(next.type)) {
            throw new ParseFailure(
              mpe(
                `Could not dynamically add mapping for field [${rawName}]. Existing mapping for [${curPath}] must be of type object but found [${next.type}].`,
              ),
            );
          }
          curDynamic = next.dynamic ?? curDynamic;
          cur = next;
        }
        this.parseField(cur, parts[parts.length - 1] as string, value, curPath, curDynamic);
      } else {
        this.parseField(mapping, rawName, value, path, dynamic);
      }
    }
  }

  private strict(name: string, parentPath: string): ParseFailure {
    return new ParseFailure({
      status: 400,
      type: 'strict_dynamic_mapping_exception',
      reason: `mapping set to strict, dynamic introduction of [${name}] within [${parentPath || '_doc'}] is not allowed`,
    });
  }

  private parseField(
    parent: FieldMapping,
    name: string,
    value: JsonNode,
    parentPath: string,
    dynamic: Dynamic,
  ): void {
    const path = parentPath ? `${parentPath}.${name}` : name;
    if (value.kind === 'null') return;
    if (value.kind === 'array') {
      for (const item of value.items) this.parseField(parent, name, item, parentPath, dynamic);
      return;
    }
    if (!parent.properties) parent.properties = new Map();
    let existing = parent.properties.get(name);
    if (value.kind === 'object') {
      if (existing) {
        if (!isObjectType(existing.type)) {
          throw this.fieldError(path, existing.type, value, {
            type: 'illegal_state_exception',
            reason: `Can't get text on a START_OBJECT`,
          });
        }
        this.parseObject(existing, value, path, existing.dynamic ?? dynamic);
        return;
      }
      if (dynamic === 'strict') throw this.strict(name, parentPath);
      if (dynamic === 'false') return;
      existing = { type: 'object', properties: new Map() };
      parent.properties.set(name, existing);
      this.parseObject(existing, value, path, dynamic);
      return;
    }
    if (existing) {
      if (isObjectType(existing.type)) {
        throw new ParseFailure(
          mpe(
            `object mapping for [${path}] tried to parse field [${name}] as object, but found a concrete value`,
          ),
        );
      }
      this.parseScalar(existing, value, path);
      return;
    }
    if (dynamic === 'strict') throw this.strict(name, parentPath);
    if (dynamic === 'false') return;
    const created = dynamicFieldFor(value);
    // The value is parsed with the new mapper before the mapping update is kept.
    this.parseScalar(created, value, path);
    parent.properties.set(name, created);
  }

  private parseScalar(field: FieldMapping, value: JsonNode, path: string): void {
    const t = field.type;
    const coerce = field.coerce ?? true;
    if (value.kind === 'object' || value.kind === 'array' || value.kind === 'null') return; // handled by caller
    switch (t) {
      case 'long':
      case 'integer':
      case 'short':
      case 'byte':
      case 'unsigned_long': {
        const [lo, hi] = LIMITS[t] as [bigint, bigint];
        if (value.kind === 'boolean') {
          throw this.fieldError(path, t, value, {
            type: 'json_parse_exception',
            reason: `Current token (VALUE_${value.value ? 'TRUE' : 'FALSE'}) not numeric, can not use numeric value accessors`,
          });
        }
        let text: string;
        if (value.kind === 'string') {
          if (value.value.length === 0) return; // GUESS: empty string treated as null
          text = value.value.trim();
          if (!coerce)
            throw this.fieldError(path, t, value, {
              type: 'illegal_argument_exception',
              reason: `[coerce] is false, strings are not accepted`,
            });
        } else {
          text = value.raw;
        }
        const n = toIntegerOrNull(text, coerce);
        if (n === 'not-a-number')
          throw this.fieldError(path, t, value, {
            type: 'number_format_exception',
            reason: `For input string: "${text}"`,
          });
        if (n === 'decimal-part')
          throw this.fieldError(path, t, value, {
            type: 'illegal_argument_exception',
            reason: `Value [${text}] has a decimal part`,
          });
        if (n < lo || n > hi) {
          throw this.fieldError(path, t, value, {
            type: 'illegal_argument_exception',
            reason: `Value [${text}] is out of range for a ${t === 'long' ? 'long' : t}`,
          });
        }
        return;
      }
      case 'double':
      case 'float':
      case 'half_float':
      case 'scaled_float': {
        if (value.kind === 'boolean') {
          throw this.fieldError(path, t, value, {
            type: 'json_parse_exception',
            reason: `Current token (VALUE_${value.value ? 'TRUE' : 'FALSE'}) not numeric, can not use numeric value accessors`,
          });
        }
        let text: string;
        if (value.kind === 'string') {
          if (value.value.length === 0) return; // GUESS: empty string treated as null
          text = value.value.trim();
          if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
            throw this.fieldError(path, t, value, {
              type: 'number_format_exception',
              reason: `For input string: "${text}"`,
            });
          }
        } else {
          text = value.raw;
        }
        const d = Number(text);
        const max =
          t === 'float' ? FLOAT_MAX : t === 'half_float' ? HALF_FLOAT_MAX : Number.MAX_VALUE;
        if (!Number.isFinite(d) || Math.abs(d) > max) {
          throw this.fieldError(path, t, value, {
            type: 'illegal_argument_exception',
            reason: `[${t}] supports only finite values, but got [${Number.isFinite(d) && Math.abs(d) <= Number.MAX_VALUE ? 'Infinity' : d}]`,
          });
        }
        return;
      }
      case 'boolean': {
        if (value.kind === 'boolean') return;
        if (value.kind === 'string') {
          if (value.value === 'true' || value.value === 'false' || value.value === '') return; // GUESS: "" as null
          throw this.fieldError(path, t, value, {
            type: 'illegal_argument_exception',
            reason: `Failed to parse value [${value.value}] as only [true] or [false] are allowed.`,
          });
        }
        throw this.fieldError(path, t, value, {
          type: 'json_parse_exception',
          reason: `Current token (VALUE_NUMBER_INT) not of boolean type`,
        });
      }
      case 'date': {
        if (value.kind === 'number') return; // epoch_millis
        if (value.kind === 'string' && DATE_DETECT_RE.test(value.value)) return;
        throw this.fieldError(path, t, value, {
          type: 'illegal_argument_exception',
          reason: `failed to parse date field [${preview(value, this.text)}] with format [strict_date_optional_time||epoch_millis]`,
        });
      }
      default:
        // text, keyword, binary, ip, flat_object: strings, numbers and booleans are all text.
        return;
    }
  }
}

function dynamicFieldFor(value: JsonNode): FieldMapping {
  switch (value.kind) {
    case 'string':
      if (DATE_DETECT_RE.test(value.value)) return { type: 'date' };
      return {
        type: 'text',
        fields: new Map([['keyword', { type: 'keyword', ignoreAbove: 256 }]]),
      };
    case 'number':
      return /[.eE]/.test(value.raw) ? { type: 'float' } : { type: 'long' };
    case 'boolean':
      return { type: 'boolean' };
    default:
      return { type: 'object', properties: new Map() };
  }
}

/** Integer value of a numeric text, truncating a fraction when coercing (as Numbers.toLong does). */
function toIntegerOrNull(text: string, coerce: boolean): bigint | 'not-a-number' | 'decimal-part' {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m || ((m[2] ?? '') === '' && (m[3] ?? '') === '')) return 'not-a-number';
  const sign = m[1] === '-' ? -1n : 1n;
  let digits = (m[2] ?? '') + (m[3] ?? '');
  let pointPos = (m[2] ?? '').length + Number(m[4] ?? '0');
  if (Math.abs(pointPos) > 400) return pointPos > 0 ? sign * 10n ** 400n : 0n;
  if (pointPos < 0) {
    digits = '0'.repeat(-pointPos) + digits;
    pointPos = 0;
  }
  const intDigits =
    pointPos >= digits.length
      ? digits + '0'.repeat(pointPos - digits.length)
      : digits.slice(0, pointPos);
  const fracDigits = pointPos >= digits.length ? '' : digits.slice(pointPos);
  if (!coerce && /[1-9]/.test(fracDigits)) return 'decimal-part';
  return sign * BigInt(intDigits === '' ? '0' : intDigits);
}

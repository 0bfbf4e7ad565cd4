/**
 * A small, strict, lossless JSON parser for the test stand-ins and assertions.
 *
 * Numbers are kept as their exact source text (`9007199254740993`, `3.14159265358979323846`,
 * `1E+30` stay digit for digit), object members keep their order and duplicates are reported,
 * and every value remembers its byte-independent character span in the source text so callers
 * can slice out the raw text of a sub-document (the stand-in stores `_source` that way).
 *
 * It accepts exactly RFC 8259 JSON: no comments, no trailing commas, no leading zeros, no
 * unescaped control characters in strings, no lone surrogates are checked (JSON allows them).
 */

export type JsonNode =
  | {
      readonly kind: 'object';
      readonly members: ReadonlyArray<readonly [string, JsonNode]>;
      readonly start: number;
      readonly end: number;
    }
  | {
      readonly kind: 'array';
      readonly items: readonly JsonNode[];
      readonly start: number;
      readonly end: number;
    }
  | {
      readonly kind: 'string';
      readonly value: string;
      readonly start: number;
      readonly end: number;
    }
  | { readonly kind: 'number'; readonly raw: string; readonly start: number; readonly end: number }
  | {
      readonly kind: 'boolean';
      readonly value: boolean;
      readonly start: number;
      readonly end: number;
    }
  | { readonly kind: 'null'; readonly start: number; readonly end: number };

export type JsonObjectNode = Extract<JsonNode, { kind: 'object' }>;

export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at position ${position}`);
  }
}

const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const MAX_DEPTH = 512;

/** Parses `text` as one JSON value (surrounding whitespace allowed). Throws JsonSyntaxError. */
export function parseLossless(text: string): JsonNode {
  let pos = 0;

  const fail = (msg: string): never => {
    throw new JsonSyntaxError(msg, pos);
  };
  const ws = (): void => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else break;
    }
  };

  const parseString = (): string => {
    // pos is at the opening quote
    pos++;
    let out = '';
    let chunkStart = pos;
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(chunkStart, pos);
        pos++;
        return out;
      }
      if (c < 0x20) fail('unescaped control character in string');
      if (c === 0x5c) {
        out += text.slice(chunkStart, pos);
        const e = text[pos + 1];
        switch (e) {
          case '"':
            out += '"';
            break;
          case '\\':
            out += '\\';
            break;
          case '/':
            out += '/';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            const hex = text.slice(pos + 2, pos + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
            out += String.fromCharCode(parseInt(hex, 16));
            pos += 4;
            break;
          }
          default:
            fail('bad escape');
        }
        pos += 2;
        chunkStart = pos;
        continue;
      }
      pos++;
    }
  };

  const parseValue = (depth: number): JsonNode => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    ws();
    const start = pos;
    const c = text[pos];
    if (c === '{') {
      pos++;
      const members: Array<readonly [string, JsonNode]> = [];
      ws();
      if (text[pos] === '}') {
        pos++;
        return { kind: 'object', members, start, end: pos };
      }
      for (;;) {
        ws();
        if (text[pos] !== '"') fail('expected member name');
        const name = parseString();
        ws();
        if (text[pos] !== ':') fail("expected ':'");
        pos++;
        const value = parseValue(depth + 1);
        members.push([name, value]);
        ws();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === '}') {
          pos++;
          return { kind: 'object', members, start, end: pos };
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      pos++;
      const items: JsonNode[] = [];
      ws();
      if (text[pos] === ']') {
        pos++;
        return { kind: 'array', items, start, end: pos };
      }
      for (;;) {
        items.push(parseValue(depth + 1));
        ws();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === ']') {
          pos++;
          return { kind: 'array', items, start, end: pos };
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') {
      const value = parseString();
      return { kind: 'string', value, start, end: pos };
    }
    if (c === 't' && text.startsWith('true', pos)) {
      pos += 4;
      return { kind: 'boolean', value: true, start, end: pos };
    }
    if (c === 'f' && text.startsWith('false', pos)) {
      pos += 5;
      return { kind: 'boolean', value: false, start, end: pos };
    }
    if (c === 'n' && text.startsWith('null', pos)) {
      pos += 4;
      return { kind: 'null', start, end: pos };
    }
    NUMBER_RE.lastIndex = pos;
    const m = NUMBER_RE.exec(text);
    if (m && m[0].length > 0) {
      pos += m[0].length;
      // A number must not run straight into more number-ish characters ("01", "1.", "1e").
      const next = text[pos];
      if (next !== undefined && /[0-9.eE+-]/.test(next)) fail('malformed number');
      return { kind: 'number', raw: m[0], start, end: pos };
    }
    return fail(
      pos >= text.length ? 'unexpected end of input' : `unexpected character ${JSON.stringify(c)}`,
    );
  };

  const root = parseValue(0);
  ws();
  if (pos !== text.length) fail('trailing characters after JSON value');
  return root;
}

/** Returns the member value of an object node, or undefined. With duplicates, the last wins (as Jackson does). */
export function member(node: JsonNode | undefined, name: string): JsonNode | undefined {
  if (!node || node.kind !== 'object') return undefined;
  let found: JsonNode | undefined;
  for (const [k, v] of node.members) if (k === name) found = v;
  return found;
}

/** Names that occur more than once in an object (anywhere in the tree), as JSON paths. */
export function duplicateMembers(node: JsonNode, path = '$'): string[] {
  const out: string[] = [];
  if (node.kind === 'object') {
    const seen = new Set<string>();
    for (const [k, v] of node.members) {
      if (seen.has(k)) out.push(`${path}.${k}`);
      seen.add(k);
      out.push(...duplicateMembers(v, `${path}.${k}`));
    }
  } else if (node.kind === 'array') {
    node.items.forEach((v, i) => out.push(...duplicateMembers(v, `${path}[${i}]`)));
  }
  return out;
}

/** Serialises a node back to compact JSON text, numbers exactly as they were written. */
export function stringifyLossless(node: JsonNode): string {
  switch (node.kind) {
    case 'object':
      return `{${node.members.map(([k, v]) => `${JSON.stringify(k)}:${stringifyLossless(v)}`).join(',')}}`;
    case 'array':
      return `[${node.items.map(stringifyLossless).join(',')}]`;
    case 'string':
      return JSON.stringify(node.value);
    case 'number':
      return node.raw;
    case 'boolean':
      return node.value ? 'true' : 'false';
    case 'null':
      return 'null';
  }
}

/**
 * Converts a node to a plain JS value for convenient assertions, with numbers as
 * `{ $number: raw }` so no precision is lost. Object member order is kept; the last duplicate wins.
 */
export type PlainJson =
  null | boolean | string | { $number: string } | PlainJson[] | { [k: string]: PlainJson };
export function toPlain(node: JsonNode): PlainJson {
  switch (node.kind) {
    case 'object': {
      const o: { [k: string]: PlainJson } = {};
      for (const [k, v] of node.members) o[k] = toPlain(v);
      return o;
    }
    case 'array':
      return node.items.map(toPlain);
    case 'string':
      return node.value;
    case 'number':
      return { $number: node.raw };
    case 'boolean':
      return node.value;
    case 'null':
      return null;
  }
}

/**
 * Structural equality of two JSON trees: objects compare as unordered member sets (duplicates
 * make them unequal), arrays in order, numbers by their exact text. Returns null when equal,
 * else a description of the first difference.
 */
export function diffLossless(a: JsonNode, b: JsonNode, path = '$'): string | null {
  if (a.kind !== b.kind) return `${path}: ${a.kind} vs ${b.kind}`;
  switch (a.kind) {
    case 'object': {
      const bo = b as JsonObjectNode;
      const am = new Map<string, JsonNode>();
      for (const [k, v] of a.members) {
        if (am.has(k)) return `${path}.${k}: duplicate member on the left`;
        am.set(k, v);
      }
      const bm = new Map<string, JsonNode>();
      for (const [k, v] of bo.members) {
        if (bm.has(k)) return `${path}.${k}: duplicate member on the right`;
        bm.set(k, v);
      }
      for (const k of am.keys()) if (!bm.has(k)) return `${path}.${k}: missing on the right`;
      for (const k of bm.keys()) if (!am.has(k)) return `${path}.${k}: missing on the left`;
      for (const [k, v] of am) {
        const d = diffLossless(v, bm.get(k) as JsonNode, `${path}.${k}`);
        if (d) return d;
      }
      return null;
    }
    case 'array': {
      const bi = (b as Extract<JsonNode, { kind: 'array' }>).items;
      if (a.items.length !== bi.length)
        return `${path}: array length ${a.items.length} vs ${bi.length}`;
      for (let i = 0; i < a.items.length; i++) {
        const d = diffLossless(a.items[i] as JsonNode, bi[i] as JsonNode, `${path}[${i}]`);
        if (d) return d;
      }
      return null;
    }
    case 'string': {
      const bv = (b as Extract<JsonNode, { kind: 'string' }>).value;
      return a.value === bv ? null : `${path}: ${JSON.stringify(a.value)} vs ${JSON.stringify(bv)}`;
    }
    case 'number': {
      const br = (b as Extract<JsonNode, { kind: 'number' }>).raw;
      return a.raw === br ? null : `${path}: number ${a.raw} vs ${br}`;
    }
    case 'boolean': {
      const bv = (b as Extract<JsonNode, { kind: 'boolean' }>).value;
      return a.value === bv ? null : `${path}: ${a.value} vs ${bv}`;
    }
    case 'null':
      return null;
  }
}

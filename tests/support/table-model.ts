/**
 * A model DynamoDB table that emits stream records exactly as Lambda delivers them
 * (NEW_AND_OLD_IMAGES view), and knows its final state so tests can compare the index with it.
 *
 * Record shape, as in the DynamoDB Streams API reference (Record, StreamRecord) and the Lambda
 * "Using AWS Lambda with Amazon DynamoDB" sample event:
 *   { eventID, eventName: INSERT|MODIFY|REMOVE, eventVersion: "1.1", eventSource: "aws:dynamodb",
 *     awsRegion, dynamodb: { ApproximateCreationDateTime (epoch seconds, integer), Keys, NewImage,
 *     OldImage, SequenceNumber, SizeBytes, StreamViewType }, eventSourceARN }
 * TTL deletes carry userIdentity {type: "Service", principalId: "dynamodb.amazonaws.com"}
 * (DynamoDB developer guide, "Time to Live: streams"). A write that changes nothing emits no
 * record (DynamoDB guide, "Change data capture for DynamoDB Streams"), nor does a delete of a
 * missing item. Binary values are base64 strings, as Lambda delivers them.
 *
 * Numbers are normalised the way DynamoDB stores them: plain decimal notation without exponent,
 * leading and trailing zeros trimmed, "-0" is "0", at most 38 significant digits, magnitude
 * 1E-130 .. 9.9999999999999999999999999999999999999E+125 (DynamoDB guide "Data types: Number";
 * the normalisation follows aws/aws-database-encryption-sdk-dynamodb's Normalize.dfy, which
 * mirrors DynamoDB, e.g. "1E+30" -> "1000000000000000000000000000000").
 * GUESS: SizeBytes is approximated from DynamoDB's item size rules (names + values).
 */
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { parseLossless, diffLossless, type JsonNode } from './lossless-json';
import { Rng } from './rng';

export type { AttributeValue };
export type Item = Record<string, AttributeValue>;
export type KeyType = 'S' | 'N' | 'B';

export interface KeySchema {
  readonly tableName: string;
  readonly hashKey: { readonly name: string; readonly type: KeyType };
  readonly rangeKey?: { readonly name: string; readonly type: KeyType };
}

/** The article's table. */
export const USERS_TRANSACTIONS: KeySchema = {
  tableName: 'UsersTransactions',
  hashKey: { name: 'userId', type: 'N' },
  rangeKey: { name: 'transactionId', type: 'N' },
};
/** String-keyed composite key. */
export const STRING_COMPOSITE: KeySchema = {
  tableName: 'Documents',
  hashKey: { name: 'pk', type: 'S' },
  rangeKey: { name: 'sk', type: 'S' },
};
/** Mixed: string hash key, binary range key. */
export const MIXED_KEYS: KeySchema = {
  tableName: 'Mixed',
  hashKey: { name: 'tenant', type: 'S' },
  rangeKey: { name: 'blob', type: 'B' },
};
/** Number hash key only. */
export const NUMBER_HASH_ONLY: KeySchema = {
  tableName: 'Counters',
  hashKey: { name: 'id', type: 'N' },
};

export class DynamoValidationError extends Error {
  override name = 'ValidationException';
}

/** DynamoDB's number normalisation. Throws DynamoValidationError for what DynamoDB would refuse. */
export function normalizeNumber(input: string): string {
  const m = /^\s*([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/.exec(input);
  if (!m || ((m[2] ?? '') === '' && (m[3] ?? '') === ''))
    throw new DynamoValidationError(`invalid number ${JSON.stringify(input)}`);
  const negative = m[1] === '-';
  const intPart = m[2] ?? '';
  const frac = m[3] ?? '';
  const exp = Number(m[4] ?? '0');
  let digits = intPart + frac;
  // position of the decimal point counted from the left of `digits`
  let point = intPart.length + exp;
  const lead = digits.match(/^0*/)![0].length;
  digits = digits.slice(lead);
  point -= lead;
  digits = digits.replace(/0+$/, '');
  if (digits === '') return '0';
  if (digits.length > 38)
    throw new DynamoValidationError(
      `Attempting to store more than 38 significant digits in a Number: ${input}`,
    );
  // value = 0.digits * 10^point ; magnitude check: 1E-130 <= |v| < 1E+126
  if (point > 126)
    throw new DynamoValidationError(
      `Number overflow. Attempting to store a number with magnitude larger than supported range: ${input}`,
    );
  if (point < -129)
    throw new DynamoValidationError(
      `Number underflow. Attempting to store a number with magnitude smaller than supported range: ${input}`,
    );
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${out}` : out;
}

/** Validates and normalises a value as DynamoDB would store it. */
export function normalizeValue(v: AttributeValue, path = '$'): AttributeValue {
  if (v.S !== undefined) return { S: v.S };
  if (v.N !== undefined) return { N: normalizeNumber(v.N) };
  if (v.B !== undefined) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v.B) || v.B.length % 4 !== 0)
      throw new DynamoValidationError(`${path}: B is not base64`);
    return { B: v.B };
  }
  if (v.BOOL !== undefined) return { BOOL: v.BOOL };
  if (v.NULL !== undefined) {
    if (v.NULL !== true) throw new DynamoValidationError(`${path}: NULL must be true`);
    return { NULL: true };
  }
  if (v.M !== undefined)
    return {
      M: Object.fromEntries(
        Object.entries(v.M).map(([k, x]) => [k, normalizeValue(x, `${path}.${k}`)]),
      ),
    };
  if (v.L !== undefined) return { L: v.L.map((x, i) => normalizeValue(x, `${path}[${i}]`)) };
  const set = <T extends string>(
    name: string,
    values: readonly T[],
    norm: (x: T) => string,
  ): string[] => {
    if (values.length === 0)
      throw new DynamoValidationError(`${path}: an ${name} may not be empty`);
    const out = values.map(norm);
    if (new Set(out).size !== out.length)
      throw new DynamoValidationError(`${path}: Input collection ${name} contains duplicates`);
    return out;
  };
  if (v.SS !== undefined) return { SS: set('SS', v.SS, (x) => x) };
  if (v.NS !== undefined) return { NS: set('NS', v.NS, normalizeNumber) };
  if (v.BS !== undefined) return { BS: set('BS', v.BS, (x) => x) };
  throw new DynamoValidationError(`${path}: unknown attribute type`);
}

function utf8(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Approximate DynamoDB size of a value (DynamoDB guide, "Item sizes and formats"). */
export function valueSize(v: AttributeValue): number {
  if (v.S !== undefined) return utf8(v.S);
  if (v.N !== undefined)
    return Math.ceil(v.N.replace(/[-.]/g, '').replace(/^0+/, '').length / 2) + 1;
  if (v.B !== undefined) return Buffer.from(v.B, 'base64').length;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.M !== undefined)
    return 3 + Object.entries(v.M).reduce((n, [k, x]) => n + utf8(k) + valueSize(x) + 1, 0);
  if (v.L !== undefined) return 3 + v.L.reduce((n, x) => n + valueSize(x) + 1, 0);
  if (v.SS !== undefined) return v.SS.reduce((n, x) => n + utf8(x), 0);
  if (v.NS !== undefined) return v.NS.reduce((n, x) => n + valueSize({ N: x }), 0);
  if (v.BS !== undefined) return v.BS.reduce((n, x) => n + Buffer.from(x, 'base64').length, 0);
  return 0;
}

export function itemSize(item: Item | undefined): number {
  if (!item) return 0;
  return Object.entries(item).reduce((n, [k, v]) => n + utf8(k) + valueSize(v), 0);
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Canonical string of a value, for equality (sets compared as sets). */
export function canonicalValue(v: AttributeValue): string {
  if (v.M !== undefined) {
    return `M{${Object.keys(v.M)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalValue(v.M![k] as AttributeValue)}`)
      .join(',')}}`;
  }
  if (v.L !== undefined) return `L[${v.L.map(canonicalValue).join(',')}]`;
  if (v.SS !== undefined) return `SS${JSON.stringify([...v.SS].sort())}`;
  if (v.NS !== undefined) return `NS${JSON.stringify([...v.NS].sort())}`;
  if (v.BS !== undefined) return `BS${JSON.stringify([...v.BS].sort())}`;
  return JSON.stringify(v);
}

export function canonicalItem(item: Item): string {
  return canonicalValue({ M: item });
}

export interface TableModelOptions {
  readonly region?: string;
  readonly accountId?: string;
  readonly seed?: number;
  /** Epoch seconds of the first record. */
  readonly startTime?: number;
  readonly streamLabel?: string;
  /** First sequence number (default: a random 21-digit value). */
  readonly sequenceStart?: bigint;
  /** Fixed distance between consecutive sequence numbers (default: random, about 45 000). */
  readonly sequenceStep?: bigint;
}

export type MalformedKind =
  | 'no-dynamodb'
  | 'no-keys'
  | 'unknown-event-name'
  | 'insert-without-new-image'
  | 'bad-attribute-value';

export class TableModel {
  readonly records: DynamoDBRecord[] = [];
  private readonly state = new Map<string, Item>();
  private readonly rng: Rng;
  private clock: number;
  private seq: bigint;
  private readonly sequenceStep: bigint | undefined;
  readonly region: string;
  readonly streamArn: string;
  /** Records the model produced on purpose as malformed, by sequence number or eventID. */
  readonly malformed: DynamoDBRecord[] = [];

  constructor(
    readonly schema: KeySchema,
    options: TableModelOptions = {},
  ) {
    this.rng = new Rng(options.seed ?? 7);
    this.region = options.region ?? 'eu-west-1';
    this.clock = options.startTime ?? 1_715_947_200; // 2024-05-17T12:00:00Z
    // Real sequence numbers look like "4421584500000000017450439091"; 21+ digits, increasing.
    this.seq =
      options.sequenceStart ??
      400_000_000_000_000_000_000n + BigInt(this.rng.int(0, 1_000_000)) * 1_000_000n;
    this.sequenceStep = options.sequenceStep;
    const label = options.streamLabel ?? '2024-05-17T12:00:00.000';
    this.streamArn = `arn:aws:dynamodb:${this.region}:${options.accountId ?? '123456789012'}:table/${schema.tableName}/stream/${label}`;
  }

  get now(): number {
    return this.clock;
  }

  /** Advances the clock (epoch seconds, integer). Several changes may share one second. */
  tick(seconds = 1): this {
    if (!Number.isInteger(seconds) || seconds < 0)
      throw new Error('tick takes a non-negative integer');
    this.clock += seconds;
    return this;
  }

  keyAttributes(): string[] {
    return [this.schema.hashKey.name, ...(this.schema.rangeKey ? [this.schema.rangeKey.name] : [])];
  }

  /** The key attributes of an item (validated against the schema). */
  keyOf(item: Item): Item {
    const out: Item = {};
    for (const k of [
      this.schema.hashKey,
      ...(this.schema.rangeKey ? [this.schema.rangeKey] : []),
    ]) {
      const v = item[k.name];
      if (!v || (v as Record<string, unknown>)[k.type] === undefined) {
        throw new DynamoValidationError(
          `One of the required keys was not given a value: ${k.name} (${k.type})`,
        );
      }
      if (k.type === 'S' && v.S === '')
        throw new DynamoValidationError(`key ${k.name} must not be an empty string`);
      if (k.type === 'B' && v.B === '')
        throw new DynamoValidationError(`key ${k.name} must not be empty binary`);
      out[k.name] = normalizeValue(v);
    }
    return out;
  }

  private keyString(key: Item): string {
    return this.keyAttributes()
      .map((k) => canonicalValue(key[k] as AttributeValue))
      .join('|');
  }

  get(key: Item): Item | undefined {
    const it = this.state.get(this.keyString(this.keyOf(key)));
    return it ? clone(it) : undefined;
  }

  /** Final table state: key string -> { keys, item }. */
  finalItems(): Array<{ keys: Item; item: Item }> {
    return [...this.state.values()].map((item) => ({ keys: this.keyOf(item), item: clone(item) }));
  }

  /** PutItem. Returns the record it emitted (none when nothing changed). */
  put(item: Item): DynamoDBRecord | undefined {
    const normalized: Item = {};
    for (const [k, v] of Object.entries(item)) normalized[k] = normalizeValue(v, k);
    const keys = this.keyOf(normalized);
    const ks = this.keyString(keys);
    const old = this.state.get(ks);
    if (old && canonicalItem(old) === canonicalItem(normalized)) return undefined;
    this.state.set(ks, normalized);
    return this.emit(old ? 'MODIFY' : 'INSERT', keys, normalized, old);
  }

  /** UpdateItem with SET/REMOVE of top-level attributes (creates the item when missing, like UpdateItem). */
  update(key: Item, changes: { set?: Item; remove?: string[] }): DynamoDBRecord | undefined {
    const keys = this.keyOf(key);
    const ks = this.keyString(keys);
    const old = this.state.get(ks);
    const next: Item = old ? clone(old) : { ...keys };
    for (const [k, v] of Object.entries(changes.set ?? {})) {
      if (this.keyAttributes().includes(k))
        throw new DynamoValidationError(
          `Cannot update attribute ${k}. This attribute is part of the key`,
        );
      next[k] = normalizeValue(v, k);
    }
    for (const k of changes.remove ?? []) {
      if (this.keyAttributes().includes(k))
        throw new DynamoValidationError(`Cannot remove key attribute ${k}`);
      delete next[k];
    }
    if (old && canonicalItem(old) === canonicalItem(next)) return undefined;
    this.state.set(ks, next);
    return this.emit(old ? 'MODIFY' : 'INSERT', keys, next, old);
  }

  /** DeleteItem. No record when the item does not exist. */
  delete(key: Item): DynamoDBRecord | undefined {
    const keys = this.keyOf(key);
    const ks = this.keyString(keys);
    const old = this.state.get(ks);
    if (!old) return undefined;
    this.state.delete(ks);
    return this.emit('REMOVE', keys, undefined, old);
  }

  /** A TTL expiry: a REMOVE by the DynamoDB service principal. */
  expire(key: Item): DynamoDBRecord | undefined {
    const keys = this.keyOf(key);
    const ks = this.keyString(keys);
    const old = this.state.get(ks);
    if (!old) return undefined;
    this.state.delete(ks);
    return this.emit('REMOVE', keys, undefined, old, true);
  }

  private nextSequenceNumber(): string {
    if (this.sequenceStep !== undefined) {
      const current = this.seq;
      this.seq += this.sequenceStep;
      return current.toString();
    }
    this.seq += BigInt(this.rng.int(1, 900)) * 100n + BigInt(this.rng.int(0, 99));
    return this.seq.toString();
  }

  private emit(
    eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
    keys: Item,
    newImage: Item | undefined,
    oldImage: Item | undefined,
    ttl = false,
  ): DynamoDBRecord {
    const dynamodb: NonNullable<DynamoDBRecord['dynamodb']> = {
      ApproximateCreationDateTime: this.clock,
      Keys: clone(keys),
      ...(newImage ? { NewImage: clone(newImage) } : {}),
      ...(oldImage ? { OldImage: clone(oldImage) } : {}),
      SequenceNumber: this.nextSequenceNumber(),
      SizeBytes: itemSize(keys) + itemSize(newImage) + itemSize(oldImage),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    };
    const record: DynamoDBRecord = {
      eventID: this.rng.hex(32),
      eventName,
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: this.region,
      dynamodb,
      eventSourceARN: this.streamArn,
      ...(ttl ? { userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } } : {}),
    };
    this.records.push(record);
    return record;
  }

  /**
   * Appends a deliberately malformed record to the stream (it does not touch the table). Its
   * SequenceNumber comes from the same counter so it has a place in the shard, except for
   * 'no-dynamodb', which has none.
   */
  appendMalformed(kind: MalformedKind, like: Item = {}): DynamoDBRecord {
    const seq = this.nextSequenceNumber();
    const keys: Item =
      Object.keys(like).length > 0 ? this.keyOf(like) : this.keyOf(this.sampleKey());
    const base = {
      eventID: this.rng.hex(32),
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: this.region,
      eventSourceARN: this.streamArn,
    };
    const ddb = {
      ApproximateCreationDateTime: this.clock,
      SequenceNumber: seq,
      SizeBytes: 10,
      StreamViewType: 'NEW_AND_OLD_IMAGES' as const,
    };
    let record: DynamoDBRecord;
    switch (kind) {
      case 'no-dynamodb':
        record = { ...base, eventName: 'INSERT' };
        break;
      case 'no-keys':
        record = {
          ...base,
          eventName: 'INSERT',
          dynamodb: { ...ddb, NewImage: { ...keys, x: { S: 'no keys' } } },
        };
        break;
      case 'unknown-event-name':
        record = {
          ...base,
          eventName: 'UPSERT' as 'INSERT',
          dynamodb: { ...ddb, Keys: keys, NewImage: { ...keys, x: { S: 'upsert' } } },
        };
        break;
      case 'insert-without-new-image':
        record = { ...base, eventName: 'INSERT', dynamodb: { ...ddb, Keys: keys } };
        break;
      case 'bad-attribute-value':
        record = {
          ...base,
          eventName: 'INSERT',
          dynamodb: {
            ...ddb,
            Keys: keys,
            NewImage: { ...keys, x: { Q: 'not a type' } as unknown as AttributeValue },
          },
        };
        break;
    }
    this.records.push(record);
    this.malformed.push(record);
    return record;
  }

  private sampleKey(): Item {
    const mk = (t: KeyType, n: number): AttributeValue =>
      t === 'S'
        ? { S: `malformed-${n}` }
        : t === 'N'
          ? { N: String(900000 + n) }
          : { B: Buffer.from(`m${n}`).toString('base64') };
    const n = this.rng.int(0, 9999);
    return {
      [this.schema.hashKey.name]: mk(this.schema.hashKey.type, n),
      ...(this.schema.rangeKey
        ? { [this.schema.rangeKey.name]: mk(this.schema.rangeKey.type, n) }
        : {}),
    };
  }
}

// ------------------------------------------------------------------ expected documents

/** Expected document JSON text for an item (written independently of the product's lib/documents.ts). */
export function expectedDocumentJson(item: Item): string {
  return valueJson({ M: item });
}

function valueJson(v: AttributeValue): string {
  if (v.S !== undefined) return JSON.stringify(v.S);
  if (v.N !== undefined) return v.N; // exactly the stored digits
  if (v.B !== undefined) return JSON.stringify(v.B);
  if (v.BOOL !== undefined) return v.BOOL ? 'true' : 'false';
  if (v.NULL !== undefined) return 'null';
  if (v.M !== undefined)
    return `{${Object.entries(v.M)
      .map(([k, x]) => `${JSON.stringify(k)}:${valueJson(x)}`)
      .join(',')}}`;
  if (v.L !== undefined) return `[${v.L.map(valueJson).join(',')}]`;
  if (v.SS !== undefined) return JSON.stringify(v.SS);
  if (v.NS !== undefined) return `[${v.NS.join(',')}]`;
  if (v.BS !== undefined) return JSON.stringify(v.BS);
  throw new Error('unknown attribute value');
}

/** Paths (in JSON path form) of the set-typed attributes of an item: their order does not matter. */
function setPaths(v: AttributeValue, path: string, out: Set<string>): void {
  if (v.SS !== undefined || v.NS !== undefined || v.BS !== undefined) out.add(path);
  if (v.M !== undefined) for (const [k, x] of Object.entries(v.M)) setPaths(x, `${path}.${k}`, out);
  if (v.L !== undefined) v.L.forEach((x, i) => setPaths(x, `${path}[${i}]`, out));
}

function sortSetArrays(node: JsonNode, path: string, sets: Set<string>, text: string): JsonNode {
  if (node.kind === 'object') {
    return {
      ...node,
      members: node.members.map(
        ([k, v]) => [k, sortSetArrays(v, `${path}.${k}`, sets, text)] as const,
      ),
    };
  }
  if (node.kind === 'array') {
    const items = node.items.map((x, i) => sortSetArrays(x, `${path}[${i}]`, sets, text));
    if (sets.has(path)) {
      const key = (n: JsonNode): string =>
        n.kind === 'number'
          ? `n${n.raw}`
          : n.kind === 'string'
            ? `s${n.value}`
            : text.slice(n.start, n.end);
      items.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    }
    return { ...node, items };
  }
  return node;
}

/**
 * Lossless comparison of a stored `_source` with the item: numbers digit for digit, object
 * members in any order, sets in any order, lists in order. Returns null when equal.
 */
export function compareDocument(item: Item, rawSource: string): string | null {
  const expectedText = expectedDocumentJson(item);
  let actual: JsonNode;
  try {
    actual = parseLossless(rawSource);
  } catch (e) {
    return `stored source is not valid JSON: ${(e as Error).message}`;
  }
  const sets = new Set<string>();
  setPaths({ M: item }, '$', sets);
  const a = sortSetArrays(parseLossless(expectedText), '$', sets, expectedText);
  const b = sortSetArrays(actual, '$', sets, rawSource);
  const d = diffLossless(a, b);
  return d === null ? null : `${d}\n  expected ${expectedText}\n  actual   ${rawSource}`;
}

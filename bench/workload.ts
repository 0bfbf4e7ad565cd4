/**
 * Workload generator: deterministic (seeded) DynamoDB Streams events for the article's
 * `UsersTransactions` table, in the exact shape Lambda delivers them. Two item shapes:
 *
 * - rich: items of about 1 KB (DynamoDB item size) with nested maps, lists, SS/NS/BS sets,
 *   binary, BOOL/NULL and decimal numbers: mostly ordinary amounts ("1234.56"), a small share of
 *   exact numbers a double cannot hold ("9007199254740993", "3.14159265358979323846").
 * - article: the article's own five attributes (`userId` N, `transactionId` N, `accountId` N,
 *   `amount` N, `shortDescription` S, as in its `aws dynamodb put-item` example), about 150 B
 *   as a document. Small items are where an indexer's fixed per-record costs show.
 * - INSERT, MODIFY and REMOVE mixed; keys mostly distinct, a few repeated inside a batch.
 * - SequenceNumber: 22 decimal digits, strictly increasing across every generated record.
 * - rich: batches of 100 and 1,000 records, and one batch whose serialized event is just under
 *   Lambda's 6 MB (6,291,456 bytes) invocation payload limit; article: batches of 1,000.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AttributeValue, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { Rng as SeededRng } from '../tests/support/rng';

/** Lambda's synchronous invocation payload limit. */
export const LAMBDA_PAYLOAD_LIMIT = 6_291_456;
/** The 6 MB batch is padded to end exactly this many bytes under the limit. */
const SIX_MB_HEADROOM = 16;

export const DEFAULT_SEED = 20_260_101;
/** Bumped whenever the generator's output changes, so cached events are never stale. */
const GENERATOR_VERSION = 3;

const REGION = 'eu-central-1';
const STREAM_ARN = `arn:aws:dynamodb:${REGION}:123456789012:table/UsersTransactions/stream/2026-11-01T00:00:00.000`;

type AttributeMap = Record<string, AttributeValue>;
type EventName = 'INSERT' | 'MODIFY' | 'REMOVE';

/** The tests' seeded generator (mulberry32), plus what the workload needs. */
class Rng extends SeededRng {
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(0, 255);
    return b;
  }
  words(min: number, max: number): string {
    const n = this.int(min, max);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.pick(WORDS));
    return out.join(' ');
  }
}

const WORDS = [
  'coffee',
  'groceries',
  'rent',
  'refund',
  'transfer',
  'salary',
  'invoice',
  'subscription',
  'fuel',
  'pharmacy',
  'train',
  'ticket',
  'hotel',
  'dinner',
  'lunch',
  'books',
  'insurance',
  'electricity',
  'water',
  'internet',
  'gym',
  'parking',
  'taxi',
  'gift',
  'donation',
  'café',
  'Zürich',
  'Łódź',
  'market',
  'online',
  'card',
  'monthly',
  'weekly',
  'split',
  'shared',
] as const;
const CURRENCIES = ['EUR', 'USD', 'GBP', 'PLN', 'CHF', 'SEK'] as const;
const STATUSES = ['PENDING', 'AUTHORIZED', 'SETTLED', 'REFUNDED', 'DISPUTED'] as const;
const CATEGORIES = ['food', 'travel', 'utilities', 'health', 'leisure', 'shopping'] as const;
const CHANNELS = ['card', 'sepa', 'wire', 'mobile', 'web'] as const;
const CITIES = [
  ['Berlin', 'DE', '10115'],
  ['Warszawa', 'PL', '00-001'],
  ['Zürich', 'CH', '8001'],
  ['London', 'GB', 'EC1A 1BB'],
  ['New York', 'US', '10001'],
] as const;

/** "1234.56"-style amounts; a 2% share of exact numbers that a double cannot carry. */
function amount(rng: Rng): string {
  if (rng.chance(0.02))
    return rng.pick([
      '9007199254740993',
      '12345678901234567890.12',
      '0.1000000000000000055511151231257827',
    ]);
  const cents = rng.int(1, 500_000);
  return decimal(cents / 100, 2);
}

/** Fixed-point text as DynamoDB returns it: normalised, without trailing fraction zeros. */
function decimal(x: number, digits: number): string {
  return x.toFixed(digits).replace(/\.?0+$/, '');
}

function setOf<T>(rng: Rng, min: number, max: number, make: () => T): T[] {
  const out = new Set<T>();
  const n = rng.int(min, max);
  for (let guard = 0; out.size < n && guard < n * 10; guard++) out.add(make());
  return [...out];
}

function lineItem(rng: Rng): AttributeValue {
  return {
    M: {
      sku: { S: `SKU-${rng.hex(8).toUpperCase()}` },
      description: { S: rng.words(2, 5) },
      quantity: { N: String(rng.int(1, 12)) },
      unitPrice: { N: amount(rng) },
      taxRate: { N: rng.pick(['0.07', '0.19', '0.23', '0.081']) },
    },
  };
}

/** One UsersTransactions item (about 1 KB as DynamoDB counts item size). */
function makeItem(
  rng: Rng,
  userId: number,
  transactionId: number,
  epochSeconds: number,
): AttributeMap {
  const [city, country, postcode] = rng.pick(CITIES);
  const exact = rng.chance(0.03);
  const item: AttributeMap = {
    userId: { N: String(userId) },
    transactionId: { N: String(transactionId) },
    accountId: { N: String(100_000 + rng.int(0, 899_999)) },
    amount: { N: amount(rng) },
    shortDescription: { S: rng.words(3, 8) },
    currency: { S: rng.pick(CURRENCIES) },
    status: { S: rng.pick(STATUSES) },
    createdAt: { S: new Date(epochSeconds * 1000 - rng.int(0, 86_400_000)).toISOString() },
    updatedAtMs: { N: String(epochSeconds * 1000 + rng.int(0, 999)) },
    settled: { BOOL: rng.chance(0.6) },
    note: rng.chance(0.3) ? { NULL: true } : { S: rng.words(4, 12) },
    exchangeRate: { N: exact ? '3.14159265358979323846' : decimal(0.5 + rng.next(), 4) },
    ledgerSequence: { N: exact ? '9007199254740993' : String(rng.int(1, 2 ** 40)) },
    receipt: { B: rng.bytes(rng.int(48, 120)).toString('base64') },
    tags: { SS: setOf(rng, 1, 4, () => rng.pick(WORDS)) },
    splitAmounts: { NS: setOf(rng, 1, 4, () => amount(rng)) },
    attachments: { BS: setOf(rng, 1, 2, () => rng.bytes(rng.int(6, 24)).toString('base64')) },
    merchant: {
      M: {
        name: { S: `${rng.pick(WORDS)} ${rng.pick(WORDS)} GmbH` },
        category: { S: rng.pick(CATEGORIES) },
        mcc: { N: String(rng.int(1000, 9999)) },
        location: {
          M: {
            city: { S: city },
            country: { S: country },
            postcode: { S: postcode },
            lat: { N: decimal(rng.next() * 180 - 90, 6) },
            lon: { N: decimal(rng.next() * 360 - 180, 6) },
          },
        },
      },
    },
    reference: {
      S: `RF${rng.int(10, 99)} ${rng.hex(4).toUpperCase()} ${rng.hex(4).toUpperCase()} ${rng.hex(4).toUpperCase()}`,
    },
    counterparty: {
      M: {
        name: { S: `${rng.pick(WORDS)} ${rng.pick(WORDS)}`.replace(/^./, (c) => c.toUpperCase()) },
        iban: {
          S: `${country}${rng.int(10, 99)}${Array.from({ length: 5 }, () => rng.int(1000, 9999)).join('')}`,
        },
        bic: { S: `${rng.hex(4).toUpperCase()}${country}2X` },
      },
    },
    lineItems: { L: Array.from({ length: rng.int(1, 4) }, () => lineItem(rng)) },
    audit: {
      M: {
        channel: { S: rng.pick(CHANNELS) },
        ip: { S: `198.51.100.${rng.int(1, 254)}` },
        userAgent: {
          S: `app/${rng.int(1, 9)}.${rng.int(0, 20)} (${rng.pick(['ios', 'android', 'web'])})`,
        },
        flags: {
          L: [
            { BOOL: rng.chance(0.1) },
            { S: rng.pick(['none', 'review', 'fraud-check']) },
            { NULL: true },
          ],
        },
      },
    },
  };
  return item;
}

/** One item of the article's table: its five attributes and nothing else. */
function makeArticleItem(rng: Rng, userId: number, transactionId: number): AttributeMap {
  return {
    userId: { N: String(userId) },
    transactionId: { N: String(transactionId) },
    accountId: { N: String(rng.int(1, 99_999)) },
    amount: { N: articleAmount(rng) },
    shortDescription: { S: rng.words(5, 10) },
  };
}

/** Decimal amounts like "12.34" (DynamoDB drops trailing fraction zeros: "12.3", "12"). */
function articleAmount(rng: Rng): string {
  return decimal(rng.int(1, 2_000_000) / 100, 2);
}

/** What an UpdateItem of amount and shortDescription would leave. */
function modifyArticleItem(rng: Rng, old: AttributeMap): AttributeMap {
  return { ...old, amount: { N: articleAmount(rng) }, shortDescription: { S: rng.words(5, 10) } };
}

/** A modified copy: what an UpdateItem of amount/status/note would leave. */
function modifyItem(rng: Rng, old: AttributeMap, epochSeconds: number): AttributeMap {
  return {
    ...old,
    amount: { N: amount(rng) },
    status: { S: rng.pick(STATUSES) },
    settled: { BOOL: rng.chance(0.8) },
    updatedAtMs: { N: String(epochSeconds * 1000 + rng.int(0, 999)) },
    note: { S: rng.words(4, 12) },
  };
}

/** DynamoDB's item size rules, close enough for SizeBytes. */
function valueSize(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S);
  if (v.N !== undefined) return Math.ceil(v.N.replace(/[-.]/g, '').length / 2) + 1;
  if (v.B !== undefined) return Buffer.byteLength(String(v.B), 'base64');
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.SS !== undefined) return v.SS.reduce((n, s) => n + Buffer.byteLength(s), 0);
  if (v.NS !== undefined) return v.NS.reduce((n, s) => n + valueSize({ N: s }), 0);
  if (v.BS !== undefined)
    return v.BS.reduce((n, s) => n + Buffer.byteLength(String(s), 'base64'), 0);
  if (v.L !== undefined) return 3 + v.L.reduce((n, e) => n + 1 + valueSize(e), 0);
  if (v.M !== undefined) return 3 + itemSize(v.M);
  return 0;
}
export function itemSize(item: AttributeMap): number {
  let n = 0;
  for (const [name, value] of Object.entries(item)) n += Buffer.byteLength(name) + valueSize(value);
  return n;
}

export type ShapeName = 'rich' | 'article';

interface Shape {
  make(rng: Rng, userId: number, transactionId: number, epochSeconds: number): AttributeMap;
  modify(rng: Rng, old: AttributeMap, epochSeconds: number): AttributeMap;
}

const SHAPES: Record<ShapeName, Shape> = {
  rich: { make: makeItem, modify: modifyItem },
  article: { make: makeArticleItem, modify: modifyArticleItem },
};

/** Stream state shared by every batch of one generation, so sequence numbers keep increasing. */
interface StreamState {
  shape: Shape;
  rng: Rng;
  sequence: bigint;
  epochSeconds: number;
  nextTransactionId: number;
  usedKeys: Set<string>;
}

function newStream(seed: number, shape: Shape): StreamState {
  return {
    shape,
    rng: new Rng(seed),
    // 22 digits, like real stream sequence numbers (which are 21+ digits).
    sequence: 4_100_000_000_000_000_000_000n,
    epochSeconds: 1_795_900_000,
    nextTransactionId: 1_000_000,
    usedKeys: new Set(),
  };
}

function record(
  s: StreamState,
  eventName: EventName,
  keys: AttributeMap,
  newImage: AttributeMap | undefined,
  oldImage: AttributeMap | undefined,
  ttl: boolean,
): DynamoDBRecord {
  s.sequence += BigInt(s.rng.int(1, 5_000_000));
  if (s.rng.chance(0.05)) s.epochSeconds++;
  const size =
    itemSize(keys) + (newImage ? itemSize(newImage) : 0) + (oldImage ? itemSize(oldImage) : 0);
  const dynamodb: DynamoDBRecord['dynamodb'] = {
    ApproximateCreationDateTime: s.epochSeconds,
    Keys: keys,
    ...(newImage ? { NewImage: newImage } : {}),
    ...(oldImage ? { OldImage: oldImage } : {}),
    SequenceNumber: s.sequence.toString(),
    SizeBytes: size,
    StreamViewType: 'NEW_AND_OLD_IMAGES',
  };
  return {
    eventID: s.rng.hex(32),
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: REGION,
    dynamodb,
    ...(ttl ? { userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } } : {}),
    eventSourceARN: STREAM_ARN,
  } as DynamoDBRecord;
}

/** A key never used before in this stream (items that exist in the table before the batch). */
function freshKey(s: StreamState): { userId: number; transactionId: number } {
  for (;;) {
    const userId = s.rng.int(1, 250_000);
    const transactionId = s.nextTransactionId++;
    const key = `${userId}|${transactionId}`;
    if (!s.usedKeys.has(key)) {
      s.usedKeys.add(key);
      return { userId, transactionId };
    }
  }
}

/**
 * The next record of the stream: 50% INSERT, 35% MODIFY, 15% REMOVE (1 in 20 of those a TTL
 * expiry). About 3% of MODIFY/REMOVE records touch an item already changed earlier in the same
 * batch (repeated keys); the rest touch items that existed before the batch.
 */
function nextRecord(
  s: StreamState,
  inBatch: Map<string, AttributeMap | undefined>,
): DynamoDBRecord {
  const rng = s.rng;
  const roll = rng.next();
  const eventName: EventName = roll < 0.5 ? 'INSERT' : roll < 0.85 ? 'MODIFY' : 'REMOVE';
  let userId: number;
  let transactionId: number;
  let current: AttributeMap | undefined;
  const repeat = eventName !== 'INSERT' && rng.chance(0.03);
  const present = repeat ? [...inBatch].filter(([, image]) => image !== undefined) : [];
  if (present.length > 0) {
    const [key, image] = rng.pick(present);
    [userId, transactionId] = key.split('|').map(Number) as [number, number];
    current = image;
  } else {
    ({ userId, transactionId } = freshKey(s));
    current =
      eventName === 'INSERT'
        ? undefined
        : s.shape.make(rng, userId, transactionId, s.epochSeconds - 3600);
  }
  const keys: AttributeMap = {
    userId: { N: String(userId) },
    transactionId: { N: String(transactionId) },
  };
  const id = `${userId}|${transactionId}`;
  let rec: DynamoDBRecord;
  if (eventName === 'INSERT') {
    const image = s.shape.make(rng, userId, transactionId, s.epochSeconds);
    rec = record(s, 'INSERT', keys, image, undefined, false);
    inBatch.set(id, image);
  } else if (eventName === 'MODIFY') {
    const image = s.shape.modify(rng, current as AttributeMap, s.epochSeconds);
    rec = record(s, 'MODIFY', keys, image, current, false);
    inBatch.set(id, image);
  } else {
    rec = record(s, 'REMOVE', keys, undefined, current, rng.chance(0.05));
    inBatch.set(id, undefined);
  }
  return rec;
}

export function eventBytes(event: DynamoDBStreamEvent): number {
  return Buffer.byteLength(JSON.stringify(event));
}

function batchOf(s: StreamState, records: number): DynamoDBStreamEvent {
  const inBatch = new Map<string, AttributeMap | undefined>();
  const Records: DynamoDBRecord[] = [];
  for (let i = 0; i < records; i++) Records.push(nextRecord(s, inBatch));
  return { Records };
}

/**
 * Records are added while the serialized event stays under the limit, then the last INSERT or
 * MODIFY record's shortDescription is padded so the event ends exactly SIX_MB_HEADROOM bytes
 * under Lambda's limit.
 */
function sixMegabyteBatch(s: StreamState): DynamoDBStreamEvent {
  const target = LAMBDA_PAYLOAD_LIMIT - SIX_MB_HEADROOM;
  const inBatch = new Map<string, AttributeMap | undefined>();
  const Records: DynamoDBRecord[] = [];
  let size = Buffer.byteLength('{"Records":[]}');
  for (;;) {
    const rec = nextRecord(s, inBatch);
    const add = Buffer.byteLength(JSON.stringify(rec)) + (Records.length > 0 ? 1 : 0);
    if (size + add > target) break;
    Records.push(rec);
    size += add;
  }
  const event = { Records };
  let gap = target - eventBytes(event);
  for (let i = Records.length - 1; i >= 0 && gap > 0; i--) {
    const image = Records[i]?.dynamodb?.NewImage;
    if (image?.shortDescription?.S !== undefined) {
      // A new attribute object: images share attribute objects (a MODIFY copies the old image).
      image.shortDescription = { S: image.shortDescription.S + ' '.repeat(gap) };
      gap = target - eventBytes(event);
    }
  }
  if (eventBytes(event) > target) throw new Error('6 MB batch overshot its target size');
  return event;
}

export type BatchName = 'b100' | 'b1000' | 'b6mb';

export interface BatchSet {
  readonly name: BatchName;
  readonly label: string;
  /** One JSON file per distinct batch; invocations cycle through them. */
  readonly files: string[];
  readonly recordsPerBatch: number[];
  readonly eventBytes: number[];
  readonly mix: Record<EventName, number>;
  readonly distinctKeysShare: number;
  /** Mean item size as DynamoDB counts it (NewImage, else OldImage). */
  readonly meanItemBytes: number;
  /** Mean NewImage as a JSON document (numbers as their DynamoDB text). */
  readonly meanDocumentBytes: number;
}

export interface ShapeWorkload {
  readonly shape: ShapeName;
  readonly label: string;
  readonly seed: number;
  readonly batches: Partial<Record<BatchName, BatchSet>>;
}

export interface Workload {
  readonly seed: number;
  readonly generatorVersion: number;
  readonly shapes: Record<ShapeName, ShapeWorkload>;
}

export const SHAPE_ORDER: ShapeName[] = ['article', 'rich'];

/** How many distinct batches of each size are generated, per shape. */
const DISTINCT_BATCHES: Record<ShapeName, Partial<Record<BatchName, number>>> = {
  rich: { b100: 10, b1000: 4, b6mb: 1 },
  article: { b1000: 4 },
};

const BATCH_LABELS: Record<BatchName, string> = {
  b100: 'batch of 100',
  b1000: 'batch of 1,000',
  b6mb: '6 MB batch',
};

/** The document text a plain conversion would produce, N kept as its text. */
function documentText(v: AttributeValue): string {
  if (v.S !== undefined) return JSON.stringify(v.S);
  if (v.N !== undefined) return v.N;
  if (v.B !== undefined) return JSON.stringify(v.B);
  if (v.BOOL !== undefined) return String(v.BOOL);
  if (v.NULL !== undefined) return 'null';
  if (v.SS !== undefined) return JSON.stringify(v.SS);
  if (v.NS !== undefined) return `[${v.NS.join(',')}]`;
  if (v.BS !== undefined) return JSON.stringify(v.BS);
  if (v.L !== undefined) return `[${v.L.map(documentText).join(',')}]`;
  if (v.M !== undefined) return documentOf(v.M);
  return 'null';
}
function documentOf(item: AttributeMap): string {
  const fields = Object.entries(item).map(([k, v]) => `${JSON.stringify(k)}:${documentText(v)}`);
  return `{${fields.join(',')}}`;
}

function describe(name: BatchName, events: DynamoDBStreamEvent[], files: string[]): BatchSet {
  const mix: Record<EventName, number> = { INSERT: 0, MODIFY: 0, REMOVE: 0 };
  let distinct = 0;
  let total = 0;
  let itemBytes = 0;
  let items = 0;
  let documentBytes = 0;
  let documents = 0;
  for (const event of events) {
    const keys = new Set<string>();
    for (const r of event.Records) {
      mix[r.eventName as EventName]++;
      keys.add(JSON.stringify(r.dynamodb?.Keys));
      const image = r.dynamodb?.NewImage ?? r.dynamodb?.OldImage;
      if (image) {
        itemBytes += itemSize(image);
        items++;
      }
      if (r.dynamodb?.NewImage) {
        documentBytes += Buffer.byteLength(documentOf(r.dynamodb.NewImage));
        documents++;
      }
    }
    distinct += keys.size;
    total += event.Records.length;
  }
  return {
    name,
    label: BATCH_LABELS[name],
    files,
    recordsPerBatch: events.map((e) => e.Records.length),
    eventBytes: events.map(eventBytes),
    mix,
    distinctKeysShare: distinct / total,
    meanItemBytes: Math.round(itemBytes / items),
    meanDocumentBytes: Math.round(documentBytes / documents),
  };
}

const SHAPE_LABELS: Record<ShapeName, string> = {
  article: "article items (the article's five attributes)",
  rich: 'rich items (nested maps, lists, sets, binary, exact big numbers)',
};

/** Every batch of one shape, from its own seeded stream; each written as a Lambda event file. */
function generateShape(dir: string, shape: ShapeName, seed: number): ShapeWorkload {
  const stream = newStream(seed, SHAPES[shape]);
  const batches: Partial<Record<BatchName, BatchSet>> = {};
  const counts = DISTINCT_BATCHES[shape];
  // Generated in this order (the rich stream's bytes do not change with the article shape).
  for (const name of ['b100', 'b1000', 'b6mb'] as const) {
    const count = counts[name];
    if (count === undefined) continue;
    const events = Array.from({ length: count }, () =>
      name === 'b6mb' ? sixMegabyteBatch(stream) : batchOf(stream, name === 'b100' ? 100 : 1000),
    );
    const files = events.map((event, i) => {
      const file = join(dir, `${shape}-${name}-${i}.json`);
      writeFileSync(file, JSON.stringify(event));
      return file;
    });
    batches[name] = describe(name, events, files);
  }
  return { shape, label: SHAPE_LABELS[shape], seed, batches };
}

/** Generates every batch of every shape under `dir`. The article stream is seeded `seed + 1`. */
export function generateWorkload(dir: string, seed = DEFAULT_SEED): Workload {
  mkdirSync(dir, { recursive: true });
  return {
    seed,
    generatorVersion: GENERATOR_VERSION,
    shapes: {
      article: generateShape(dir, 'article', seed + 1),
      rich: generateShape(dir, 'rich', seed),
    },
  };
}

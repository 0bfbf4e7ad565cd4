/**
 * The lean floor: the least any indexer must do for a batch, written to be as cheap as we can
 * make it, because a heavy floor flatters the code measured against it.
 *
 * Per record: the document id from the key attributes, one typed pass of DynamoDB JSON -> plain
 * JSON values (N via unary `+`, sets as arrays, B left base64) and one `JSON.stringify`; the
 * action line is a template around the JSON-escaped id. Each piece is UTF-8 encoded straight into
 * one reused Buffer (measured here: half the CPU of concatenating one string and encoding it at
 * the end, which flattens the rope first). The body goes as one unsigned POST per batch over one
 * kept-alive raw TCP socket: a hand-written HTTP/1.1 request and a response read only as far as
 * its status line and Content-Length. No signing, versions, checks or retries.
 *
 * Exposes a Lambda-style `handler(event)` so the driver calls it exactly like the others.
 * Reads OPENSEARCH_ENDPOINT (an http:// URL) and OPENSEARCH_INDEX (default "transactions") on
 * its first call.
 */
import { connect, type Socket } from 'node:net';

type Value = Record<string, unknown>;
type AttributeMap = Record<string, Value>;
interface StreamRecord {
  eventName?: string;
  dynamodb?: { Keys?: AttributeMap; NewImage?: AttributeMap };
}

// Property checks in order of frequency: each attribute value object has one key, and a miss
// on a small JSON.parse object is a cheap hidden-class check, cheaper than for-in plus a switch.
function plain(value: Value): unknown {
  let v: unknown;
  if ((v = value.S) !== undefined) return v;
  if ((v = value.N) !== undefined) return +(v as string);
  if ((v = value.M) !== undefined) return plainMap(v as AttributeMap);
  if ((v = value.BOOL) !== undefined) return v;
  if ((v = value.L) !== undefined) return plainList(v as Value[]);
  if (value.NULL !== undefined) return null;
  if ((v = value.B) !== undefined) return v;
  if ((v = value.SS) !== undefined) return v;
  if ((v = value.NS) !== undefined) return (v as string[]).map(Number);
  return value.BS;
}

function plainList(list: Value[]): unknown[] {
  const n = list.length;
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) out[i] = plain(list[i] as Value);
  return out;
}

function plainMap(map: AttributeMap): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in map) out[key] = plain(map[key] as Value);
  return out;
}

function documentId(keys: AttributeMap): string {
  let id = '';
  for (const name in keys) {
    const key = keys[name] as Value;
    const v = (key.N ?? key.S ?? key.B) as string;
    id = id === '' ? v : `${id}|${v}`;
  }
  return id;
}

/** The body buffer, reused by every batch: the previous body was sent before its response came. */
let out = Buffer.allocUnsafe(1 << 20);

/** Writes `text` as UTF-8 at `at`, growing the buffer for the worst case (3 bytes a UTF-16 unit). */
function put(text: string, at: number): number {
  const need = at + text.length * 3;
  if (need > out.length) {
    const grown = Buffer.allocUnsafe(Math.max(need, out.length * 2));
    out.copy(grown, 0, 0, at);
    out = grown;
  }
  return at + out.write(text, at);
}

/** The NDJSON body of a batch, in `out`; returns its length. */
function body(records: StreamRecord[]): number {
  let at = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as StreamRecord;
    const dynamodb = record.dynamodb ?? {};
    const id = JSON.stringify(documentId(dynamodb.Keys ?? {}));
    if (record.eventName === 'REMOVE') {
      at = put(`{"delete":{"_id":${id}}}\n`, at);
    } else {
      at = put(`{"index":{"_id":${id}}}\n`, at);
      at = put(JSON.stringify(plainMap(dynamodb.NewImage ?? {})), at);
      at = put('\n', at);
    }
  }
  return at;
}

// ---------------------------------------------------------------------------------------------
// One POST at a time over one kept-alive socket (RFC 9112: a response is framed by its
// Content-Length; "Connection: close" or a closed socket means a new connection next time).

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
}

let target: { host: string; port: number; head: string } | undefined;
let socket: Socket | undefined;
let pending: Pending | undefined;
let received: Buffer | undefined;

const HEAD_END = Buffer.from('\r\n\r\n');

function configure(): NonNullable<typeof target> {
  const url = new URL(process.env.OPENSEARCH_ENDPOINT ?? 'http://127.0.0.1:9200');
  const index = process.env.OPENSEARCH_INDEX ?? 'transactions';
  return {
    host: url.hostname,
    port: Number(url.port || 80),
    head:
      `POST /${index}/_bulk HTTP/1.1\r\nHost: ${url.host}\r\n` +
      'Content-Type: application/x-ndjson\r\nContent-Length: ',
  };
}

function fail(error: Error): void {
  socket?.destroy();
  socket = undefined;
  received = undefined;
  const p = pending;
  pending = undefined;
  p?.reject(error);
}

/** Completes the pending request once its whole response has arrived. */
function onData(chunk: Buffer): void {
  received = received === undefined ? chunk : Buffer.concat([received, chunk]);
  const headEnd = received.indexOf(HEAD_END);
  if (headEnd === -1) return;
  const head = received.toString('latin1', 0, headEnd);
  const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (match === null) return fail(new Error('response without Content-Length'));
  const total = headEnd + 4 + Number(match[1]);
  if (received.length < total) return;
  const status = Number(head.slice(9, 12));
  const close = /\r\nconnection:\s*close/i.test(head);
  received = undefined;
  if (close) {
    socket?.end();
    socket = undefined;
  }
  const p = pending;
  pending = undefined;
  if (status >= 300) p?.reject(new Error(`bulk answered HTTP ${status}`));
  else p?.resolve();
}

function open(host: string, port: number): Socket {
  const s = connect({ host, port, noDelay: true });
  s.on('data', onData);
  s.on('error', fail);
  s.on('close', () => {
    if (socket === s) socket = undefined;
    if (pending !== undefined) fail(new Error('connection closed before the response'));
  });
  return s;
}

function post(payload: Buffer): Promise<void> {
  target ??= configure();
  socket ??= open(target.host, target.port);
  const s = socket;
  return new Promise<void>((resolve, reject) => {
    pending = { resolve, reject };
    // Corked: head and body leave in one writev.
    s.cork();
    s.write(`${target?.head}${payload.length}\r\n\r\n`, 'latin1');
    s.write(payload);
    s.uncork();
  });
}

export async function handler(event: { Records?: StreamRecord[] }): Promise<void> {
  const length = body(event.Records ?? []);
  if (length > 0) await post(out.subarray(0, length));
}

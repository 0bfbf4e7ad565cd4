/**
 * Loopback `_bulk` sink, run in its own process (forked by the runner, IPC channel required).
 *
 * Answers every bulk action with success, as cheaply as it can: it scans the NDJSON body for
 * newlines, treats each line that is not a document source as an action (an index, create or
 * update line is followed by its source line; a delete line is not), copies the action's `_id`
 * text verbatim, and returns one item per action:
 *   {"took":0,"errors":false,"items":[{"index":{"_id":"…","status":201}},{"delete":{…,"status":200}}]}
 * Gzip bodies (`content-encoding: gzip`) are inflated. Signatures are not checked. Connections
 * are kept alive. Any other request gets `200 {}`.
 *
 * Protocol: sends {type:'ready', port}; answers {cmd:'stats'} with {type:'stats', stats}; exits
 * when the runner disconnects.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { gunzip } from 'node:zlib';

export interface SinkStats {
  requests: number;
  bulkRequests: number;
  gzipRequests: number;
  /** Request body bytes as received on the wire (compressed when gzip). */
  wireBytes: number;
  /** Request body bytes after inflating. */
  bodyBytes: number;
  actions: number;
  index: number;
  create: number;
  update: number;
  delete: number;
}

export type SinkMessage =
  | { type: 'ready'; port: number }
  | { type: 'stats'; stats: SinkStats }
  | { type: 'error'; message: string };

const stats: SinkStats = {
  requests: 0,
  bulkRequests: 0,
  gzipRequests: 0,
  wireBytes: 0,
  bodyBytes: 0,
  actions: 0,
  index: 0,
  create: 0,
  update: 0,
  delete: 0,
};

const NEWLINE = 0x0a;
const ID_KEY = Buffer.from('"_id":"');
const STATUS: Record<string, number> = { index: 201, create: 201, update: 200, delete: 200 };

/** Builds the bulk response for an NDJSON body: one item per action line. */
export function bulkResponse(body: Buffer): string {
  const items: string[] = [];
  let start = 0;
  let expectSource = false;
  while (start < body.length) {
    let end = body.indexOf(NEWLINE, start);
    if (end === -1) end = body.length;
    if (end > start) {
      if (expectSource) {
        expectSource = false;
      } else {
        // {"index":{…}} — the action name is the first key.
        const nameEnd = body.indexOf(0x22 /* " */, start + 2);
        const action = body.toString('latin1', start + 2, nameEnd);
        const status = STATUS[action] ?? 200;
        expectSource = action !== 'delete';
        stats.actions++;
        if (action in STATUS) stats[action as 'index']++;
        items.push(`{"${action}":{"_id":"${idOf(body, start, end)}","status":${status}}}`);
      }
    }
    start = end + 1;
  }
  return `{"took":0,"errors":false,"items":[${items.join(',')}]}`;
}

/** The raw JSON text of the action's `_id` string (escapes kept), or '' if it has none. */
function idOf(body: Buffer, start: number, end: number): string {
  const at = body.subarray(start, end).indexOf(ID_KEY);
  if (at === -1) return '';
  const from = start + at + ID_KEY.length;
  let i = from;
  while (i < end && body[i] !== 0x22) i += body[i] === 0x5c /* \ */ ? 2 : 1;
  return body.toString('utf8', from, i);
}

function answer(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  stats.bodyBytes += body.length;
  let payload = '{}';
  if (req.url !== undefined && req.url.includes('_bulk')) {
    stats.bulkRequests++;
    payload = bulkResponse(body);
  }
  res.writeHead(200, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(req.method === 'HEAD' ? undefined : payload);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  let length = 0;
  req.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    length += chunk.length;
  });
  req.on('end', () => {
    stats.requests++;
    stats.wireBytes += length;
    const raw = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length);
    if (req.headers['content-encoding'] === 'gzip') {
      stats.gzipRequests++;
      gunzip(raw, (error, inflated) => {
        if (error) {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { type: 'parse_exception', reason: String(error) } }));
          return;
        }
        answer(req, res, inflated);
      });
    } else {
      answer(req, res, raw);
    }
  });
}

function main(): void {
  if (typeof process.send !== 'function') {
    console.error('sink.js is started by the bench runner (needs an IPC channel)');
    process.exit(2);
  }
  const send = (message: SinkMessage): void => {
    process.send?.(message);
  };
  const server = createServer({ keepAlive: true }, handle);
  // Keep idle keep-alive connections between repetitions; never time a request out.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  server.requestTimeout = 0;
  server.on('error', (error) => {
    send({ type: 'error', message: String(error) });
    process.exit(1);
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    send({ type: 'ready', port: typeof address === 'object' && address ? address.port : 0 });
  });
  process.on('message', (message: { cmd?: string }) => {
    if (message.cmd === 'stats') send({ type: 'stats', stats: { ...stats } });
  });
  process.on('disconnect', () => process.exit(0));
}

// Run only as the forked entry point, not when imported.
if (/sink\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) main();

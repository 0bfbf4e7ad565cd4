/**
 * The previous floor, kept as a second reference so figures stay comparable with earlier runs
 * (bench/lean-floor.ts is the one the targets use). Per record one NDJSON action line
 * and (for INSERT/MODIFY) the document line, built by a plain recursive DynamoDB JSON -> JS
 * conversion (N via Number) and JSON.stringify; then one POST per batch over a keep-alive agent.
 * No signing, no compression, no checks: the response is read and discarded.
 *
 * Exposes a Lambda-style `handler(event)` so the driver calls it exactly like the others.
 * Reads OPENSEARCH_ENDPOINT and OPENSEARCH_INDEX (default "transactions") on first call.
 */
import { Agent, request } from 'node:http';

type Value = Record<string, unknown>;
interface StreamRecord {
  eventName?: string;
  dynamodb?: { Keys?: Record<string, Value>; NewImage?: Record<string, Value> };
}

const agent = new Agent({ keepAlive: true });

function plain(value: Value): unknown {
  for (const type in value) {
    const v = value[type];
    switch (type) {
      case 'S':
      case 'B':
      case 'BOOL':
        return v;
      case 'N':
        return Number(v);
      case 'NULL':
        return null;
      case 'M':
        return plainMap(v as Record<string, Value>);
      case 'L':
        return (v as Value[]).map(plain);
      case 'SS':
      case 'BS':
        return v;
      case 'NS':
        return (v as string[]).map(Number);
    }
  }
  return undefined;
}

function plainMap(map: Record<string, Value>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in map) out[key] = plain(map[key] as Value);
  return out;
}

function documentId(keys: Record<string, Value>): string {
  let id = '';
  for (const name in keys) {
    const key = keys[name] as Value;
    id += (id === '' ? '' : '|') + String(key.N ?? key.S ?? key.B);
  }
  return id;
}

let target: { host: string; port: number; path: string } | undefined;

function post(body: string): Promise<void> {
  if (target === undefined) {
    const url = new URL(process.env.OPENSEARCH_ENDPOINT ?? 'http://127.0.0.1:9200');
    const index = process.env.OPENSEARCH_INDEX ?? 'transactions';
    target = { host: url.hostname, port: Number(url.port || 80), path: `/${index}/_bulk` };
  }
  const { host, port, path } = target;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host,
        port,
        path,
        method: 'POST',
        headers: {
          'content-type': 'application/x-ndjson',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.on('error', reject);
        res.on('end', () => resolve());
        res.resume();
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function handler(event: { Records?: StreamRecord[] }): Promise<void> {
  let body = '';
  for (const record of event.Records ?? []) {
    const id = documentId(record.dynamodb?.Keys ?? {});
    if (record.eventName === 'REMOVE') {
      body += JSON.stringify({ delete: { _id: id } }) + '\n';
    } else {
      body += JSON.stringify({ index: { _id: id } }) + '\n';
      body += JSON.stringify(plainMap(record.dynamodb?.NewImage ?? {})) + '\n';
    }
  }
  if (body !== '') await post(body);
}

/**
 * The only module that knows OpenSearch's wire protocol, SigV4 and the opensearch-js client.
 *
 * It builds opensearch-js's own Transport and Connection (signed by the library's
 * AwsSigv4Signer, which signs with aws4) instead of the full `Client`: the Client pulls in
 * every API namespace, about 280 ms of module load against about 30 ms for these pieces
 * (REFERENCE "Cold start"), and `_bulk` plus a few index calls is all the indexer needs.
 *
 * Retries are NOT done here (`maxRetries: 0`): the batch processor owns the retry policy, so it
 * can re-send only the items that are not done and never retry past the Lambda deadline.
 */
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';
import Connection from '@opensearch-project/opensearch/lib/Connection.js';
import Transport from '@opensearch-project/opensearch/lib/Transport.js';
import { ConnectionPool } from '@opensearch-project/opensearch/lib/pool/index.js';
import { isErrorFreeBulkResponse, parseBulkItems, type BulkItemResult } from './bulk';
import type { CredentialProvider } from './credentials';
import { withTimeout } from './deadline';
import { BulkRequestError, describeError } from './errors';
import { parseJsonOrUndefined } from './json';

export interface SearchResponse {
  readonly statusCode: number;
  readonly body: unknown;
}

export interface SearchClient {
  /**
   * POSTs an NDJSON body to `/<index>/_bulk`. Resolves with one result per operation, in
   * request order; rejects with BulkRequestError when the request as a whole failed.
   */
  bulk(body: Buffer | string, operations: number, timeoutMs: number): Promise<BulkItemResult[]>;
  /** Any other request (index bootstrap). Resolves for every HTTP status; rejects on I/O errors. */
  request(method: string, path: string, body: unknown, timeoutMs: number): Promise<SearchResponse>;
  close(): Promise<void>;
}

export interface SearchClientOptions {
  readonly endpoint: URL;
  readonly index: string;
  readonly auth: 'sigv4' | 'none';
  readonly service: 'es' | 'aoss';
  readonly region: string;
  readonly compression: boolean;
  readonly getCredentials: CredentialProvider;
}

// Stryker disable next-line ArrowFunction,BooleanLiteral: opensearch-js calls emit() for its events only and never reads the result (lib/Transport.js, lib/pool/ConnectionPool.js: `this.emit(...);` as a statement).
const noop = (): boolean => true;

/**
 * The Transport's serializer, reduced to plain JSON. The library's own adds long-numeral support
 * through json11 and prototype-poisoning checks through secure-json-parse; neither applies here
 * (bulk bodies are already NDJSON text, responses are only read, never merged into objects), and
 * together they are a tenth of the bundle.
 */
const jsonSerializer = {
  serialize: (object: unknown): string => JSON.stringify(object),
  // A bulk response without failed items stays text: parseBulkItems reads its statuses without
  // building the whole object tree (a tenth of the per-record CPU on small items).
  // Stryker disable next-line ConditionalExpression: only the `false` direction is equivalent (an error-free bulk response parsed into objects reads the same, tests/unit/search-client.test.ts "reads an error-free response given as text exactly as its parsed form"); `true` leaves request() bodies as text and is killed by its "request() resolves for a 404 and sends JSON bodies" test.
  deserialize: (json: string): unknown => (isErrorFreeBulkResponse(json) ? json : JSON.parse(json)),
  // Stryker disable next-line all: unreachable, send() hands the Transport a bulk body that is already text or a Buffer, which it sends as is (lib/Transport.js calls ndserialize only for an array).
  ndserialize: (lines: unknown[]): string =>
    // Stryker disable next-line all: unreachable, as above.
    lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n') + '\n',
  // send() never passes a querystring (paths carry their own), so the Transport only calls
  // qserialize(undefined): its answer for undefined is all that can be observed.
  // Stryker disable next-line ArrowFunction: undefined in place of '' is equivalent, Connection.js adds a querystring only when it is truthy.
  qserialize: (query: Record<string, string> | string | undefined): string =>
    // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: for undefined, every variant yields '' (directly or as `new URLSearchParams(undefined).toString()`); the `''` itself is pinned by the request URL tests.
    query === undefined || query === null
      ? ''
      : // Stryker disable next-line all: unreachable for undefined, as above.
        typeof query === 'string'
        ? query
        : new URLSearchParams(query).toString(),
};

export function createSearchClient(options: SearchClientOptions): SearchClient {
  let ConnectionClass: typeof Connection = Connection;
  let TransportClass: typeof Transport = Transport;
  if (options.auth === 'sigv4') {
    const signer = AwsSigv4Signer({
      region: options.region,
      service: options.service,
      getCredentials: options.getCredentials as never,
    });
    ConnectionClass = signer.Connection;
    TransportClass = signer.Transport;
  }
  const pool = new ConnectionPool({
    Connection: ConnectionClass,
    // The default 'ping' strategy sends `HEAD /`, which an index-scoped IAM policy denies.
    resurrectStrategy: 'none',
    emit: noop,
  } as never);
  pool.addConnection(options.endpoint.origin);
  const transport = new TransportClass({
    emit: noop,
    connectionPool: pool,
    serializer: jsonSerializer,
    maxRetries: 0,
    requestTimeout: 30_000,
    compression: options.compression ? 'gzip' : false,
    sniffInterval: false,
    sniffOnStart: false,
    sniffOnConnectionFault: false,
  } as never);
  const bulkPath = `/${encodeURIComponent(options.index)}/_bulk`;
  let closing: Promise<void> | undefined;

  async function send(
    params: { method: string; path: string; body?: unknown; bulkBody?: Buffer | string },
    timeoutMs: number,
  ): Promise<SearchResponse> {
    const request = transport.request(params as never, {
      requestTimeout: Math.max(1, Math.floor(timeoutMs)),
      maxRetries: 0,
      // Every status resolves; callers classify them (a 404 on HEAD /index is an answer).
      ignore: IGNORE_ALL_STATUSES,
      // The signer would otherwise sign and send `Host: <hostname>` without a non-default port;
      // HTTP (RFC 9110 7.2) wants the port there, and a verifier may rebuild it that way.
      headers: { host: options.endpoint.host },
    });
    // `requestTimeout` is a socket idle timeout: a server that trickles bytes, or a credential
    // provider that hangs before the request starts, would outlive it. This bounds the whole
    // exchange, so a request never runs past the caller's deadline.
    const response = await withTimeout(request, timeoutMs, 'request', () => request.abort());
    return { statusCode: response.statusCode ?? 0, body: response.body };
  }

  return {
    async bulk(body, operations, timeoutMs) {
      let response: SearchResponse;
      try {
        response = await send({ method: 'POST', path: bulkPath, bulkBody: body }, timeoutMs);
      } catch (error) {
        throw new BulkRequestError(undefined, describeError(error), { cause: error });
      }
      // Anything but a 2xx fails the request (Node's client never ends on a 1xx: it reports those
      // as 'information' and waits for the final answer).
      if (Math.floor(response.statusCode / 100) !== 2) {
        throw new BulkRequestError(response.statusCode, errorSummary(response.body));
      }
      return parseBulkItems(response.body, operations);
    },
    request(method, path, body, timeoutMs) {
      // Stryker disable next-line ConditionalExpression: only `false` is equivalent (lib/Transport.js sends a body only when it is != null); `true` drops PUT bodies and is killed by the request() test.
      return send(body === undefined ? { method, path } : { method, path, body }, timeoutMs);
    },
    close() {
      // opensearch-js's pool.empty() never calls back once the pool is empty: a second close()
      // would hang, so every call shares the first one's promise.
      closing ??= new Promise<void>((resolve) => pool.empty(() => resolve()));
      return closing;
    },
  };
}

// Statuses 100..599: every HTTP answer is returned to the caller rather than thrown.
const IGNORE_ALL_STATUSES = Array.from({ length: 500 }, (_, i) => i + 100);

/** A short description of an error response, for logs: the error type, never a document. */
function errorSummary(body: unknown): string {
  // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: the Transport's deserializer (jsonSerializer above) already parsed every JSON body, so a text body here is never JSON and this parse only ever fails (parseJsonOrUndefined gives undefined, then the text itself).
  const parsed = typeof body === 'string' ? (parseJsonOrUndefined(body) ?? body) : body;
  if (typeof parsed === 'string') return parsed.slice(0, 200);
  const error = (parsed as { error?: unknown; message?: unknown } | null)?.error;
  if (typeof error === 'string') return error.slice(0, 200);
  const type = (error as { type?: unknown } | undefined)?.type;
  if (typeof type === 'string') return type;
  const message = (parsed as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message.slice(0, 200) : 'no error detail';
}

/**
 * `npm run index:setup`: the script around lib/index-setup.ts, against a loopback stand-in.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { indexBody } from '../../lib/index-setup';
import { main } from '../../scripts/setup-index';
import { Sigv4Verifier } from '../support/sigv4-verifier';
import { cleanEnv, ROOT, runNode } from './serverless-run';

const CREDENTIALS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'secret/EXAMPLEKEY' };

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly body: string;
  readonly signed: boolean;
}

type Answer = { status: number; body?: unknown };

async function standIn(answer: (method: string, url: string) => Answer) {
  const verifier = new Sigv4Verifier({
    region: 'eu-west-1',
    service: 'es',
    credentials: CREDENTIALS,
  });
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const signed = verifier.verify({
        method: req.method ?? '',
        url: req.url ?? '',
        rawHeaders: req.rawHeaders,
        body,
      }).ok;
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        body: body.toString('utf8'),
        signed,
      });
      const { status, body: out } = answer(req.method ?? '', req.url ?? '');
      const text = out === undefined ? '' : JSON.stringify(out);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(req.method === 'HEAD' ? undefined : text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    write: (line: string) => out.push(line),
    warn: (line: string) => err.push(line),
  };
}

const GC_NOTE =
  'note: index.gc_deletes=25h: a backfill or reindex must finish within it, or an item deleted ' +
  'while it runs may come back (raise INDEX_GC_DELETES for a longer run)';

describe('scripts/setup-index.ts', () => {
  it('creates the first physical index behind the alias, with SigV4, in the configured region', async () => {
    // Arrange
    const server = await standIn((method, url) =>
      method === 'HEAD' || url.startsWith('/_alias/')
        ? { status: 404 }
        : { status: 200, body: { acknowledged: true } },
    );
    const io = capture();
    try {
      // Act
      const code = await main(
        [],
        {
          OPENSEARCH_ENDPOINT: server.origin,
          AWS_REGION: 'eu-west-1',
          AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
          INDEX_REPLICAS: '1',
        },
        io.write,
        io.warn,
      );

      // Assert
      expect({ code, err: io.err }).toEqual({ code: 0, err: [GC_NOTE] });
      expect(io.out).toEqual([`created ${server.origin}/transactions-000001 (alias transactions)`]);
      expect(server.seen.map((s) => [s.method, s.url, s.signed])).toEqual([
        ['GET', '/_alias/transactions', true],
        ['HEAD', '/transactions', true],
        ['HEAD', '/transactions-000001', true],
        ['PUT', '/transactions-000001', true],
      ]);
      expect(JSON.parse(server.seen[3]!.body)).toEqual({
        ...indexBody({ shards: 1, replicas: 1, gcDeletes: '25h', service: 'es' }),
        aliases: { transactions: { is_write_index: true } },
      });
    } finally {
      await server.close();
    }
  });

  it('applies gc_deletes to an existing concrete index, lists what else differs and names the reindex', async () => {
    // Arrange
    const body = indexBody({ shards: 1, replicas: 0, gcDeletes: '25h', service: 'es' });
    const existing = {
      tx: {
        settings: { index: { number_of_shards: '1', number_of_replicas: '0' } },
        mappings: { properties: { ...body.mappings.properties, amount: { type: 'float' } } },
      },
    };
    const server = await standIn((method, url) =>
      url.startsWith('/_alias/')
        ? { status: 404 }
        : method === 'GET'
          ? { status: 200, body: existing }
          : { status: 200, body: { acknowledged: true } },
    );
    const io = capture();
    try {
      // Act
      const code = await main(
        [],
        { OPENSEARCH_ENDPOINT: server.origin, OPENSEARCH_AUTH: 'none', OPENSEARCH_INDEX: 'tx' },
        io.write,
        io.warn,
      );

      // Assert
      expect(code).toBe(0);
      expect(server.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
        'GET /_alias/tx',
        'HEAD /tx',
        'HEAD /tx',
        'GET /tx',
        'PUT /tx/_settings',
      ]);
      expect(JSON.parse(server.seen[4]!.body)).toEqual({ index: { gc_deletes: '25h' } });
      expect(io.err[0]).toMatch(/tx is a concrete index, not an alias: run `npm run reindex/);
      expect(io.out).toEqual([
        `${server.origin}/tx already exists`,
        'applied index.gc_deletes=25h',
        'it differs from the expected settings/mappings:',
        '  mappings.properties.amount.type: expected "scaled_float", index has "float" (fix: npm run reindex -- --table <table>)',
      ]);
    } finally {
      await server.close();
    }
  });

  it('checks the write index behind an existing alias, and names the fix for each kind of difference', async () => {
    // Arrange
    const body = indexBody({ shards: 1, replicas: 0, gcDeletes: '25h', service: 'es' });
    const settings = {
      index: { number_of_shards: '1', number_of_replicas: '0', gc_deletes: '25h' },
    };
    const matching = { 'transactions-000001': { settings, mappings: body.mappings } };
    const alias = { 'transactions-000001': { aliases: { transactions: {} } } };
    const withoutAccount = Object.fromEntries(
      Object.entries(body.mappings.properties).filter(([k]) => k !== 'accountId'),
    );
    const differing = {
      'transactions-000001': {
        settings: { index: { ...settings.index, number_of_replicas: '2' } },
        mappings: { properties: withoutAccount },
      },
    };
    const io = capture();
    const io2 = capture();

    // Act
    const first = await standIn((m, url) =>
      url.startsWith('/_alias/')
        ? { status: 200, body: alias }
        : m === 'GET'
          ? { status: 200, body: matching }
          : { status: 200 },
    );
    const code = await main(
      [],
      { OPENSEARCH_ENDPOINT: first.origin, OPENSEARCH_AUTH: 'none' },
      io.write,
      io.warn,
    );
    await first.close();
    const second = await standIn((m, url) =>
      url.startsWith('/_alias/')
        ? { status: 200, body: alias }
        : m === 'GET'
          ? { status: 200, body: differing }
          : { status: 200 },
    );
    const code2 = await main(
      [],
      { OPENSEARCH_ENDPOINT: second.origin, OPENSEARCH_AUTH: 'none' },
      io2.write,
      io2.warn,
    );
    await second.close();

    // Assert
    expect(code).toBe(0);
    expect(io.out).toEqual([
      `${first.origin}/transactions-000001 (alias transactions) already exists`,
      'its settings and mappings match',
    ]);
    expect(code2).toBe(0);
    expect(io2.out.slice(2)).toEqual([
      '  settings.index.number_of_replicas: expected 0, index has "2" (fix: PUT /transactions-000001/_settings)',
      '  mappings.properties.accountId: expected {"type":"long"}, index has undefined (fix: PUT /transactions-000001/_mapping)',
    ]);
  });

  it('fails with exit code 1 and the reason when OpenSearch refuses', async () => {
    // Arrange
    const server = await standIn(() => ({ status: 403, body: { message: 'not authorized' } }));
    const io = capture();
    try {
      // Act
      const code = await main(
        [],
        { OPENSEARCH_ENDPOINT: server.origin, OPENSEARCH_AUTH: 'none' },
        io.write,
        io.warn,
      );

      // Assert
      expect(code).toBe(1);
      expect(io.err).toEqual([
        `index setup failed for ${server.origin}/transactions: AliasError: GET /_alias/transactions answered HTTP 403: no error detail`,
      ]);
    } finally {
      await server.close();
    }
  });

  it('rejects unknown arguments and bad configuration without sending anything', async () => {
    // Arrange
    const io = capture();

    // Act
    const badArg = await main(['--force'], {}, io.write, io.warn);
    const badEnv = await main(
      [],
      { OPENSEARCH_ENDPOINT: 'http://127.0.0.1:1', OPENSEARCH_AUTH: 'none', INDEX_SHARDS: 'many' },
      io.write,
      io.warn,
    );
    const noEndpoint = await main([], {}, io.write, io.warn);

    // Assert
    expect([badArg, badEnv, noEndpoint]).toEqual([1, 1, 1]);
    expect(io.err[0]).toMatch(/unknown argument "--force"/);
    expect(io.err[1]).toMatch(/INDEX_SHARDS must be an integer/);
    expect(io.err[2]).toMatch(/OPENSEARCH_ENDPOINT is required/);
    expect(io.out).toEqual([]);
  });

  it('prints the exact requests in a dry run (npm run index:setup -- --dry-run) and sends nothing', async () => {
    // Act
    const result = await runNode(
      [
        path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
        'scripts/setup-index.ts',
        '--dry-run',
      ],
      {
        cwd: ROOT,
        env: cleanEnv({
          OPENSEARCH_ENDPOINT: 'http://127.0.0.1:1',
          OPENSEARCH_INDEX: 'transactions',
        }),
        timeoutMs: 30_000,
      },
    );

    // Assert
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const body = {
      ...indexBody({ shards: 1, replicas: 0, gcDeletes: '25h', service: 'es' }),
      aliases: { transactions: { is_write_index: true } },
    };
    expect(result.stdout).toBe(
      'dry run: nothing is sent. On a fresh cluster, setup creates transactions-000001 behind the alias transactions:\n' +
        `PUT /transactions-000001\n${JSON.stringify(body, null, 2)}\n` +
        'If the index already exists and its gc_deletes differs, setup sends:\n' +
        `PUT /transactions-000001/_settings\n${JSON.stringify({ index: { gc_deletes: '25h' } }, null, 2)}\n`,
    );
  }, 30_000);

  it('leaves settings out for OpenSearch Serverless in a dry run', async () => {
    // Arrange
    const io = capture();

    // Act
    const code = await main(
      [],
      { INDEXER_DRY_RUN: 'true', OPENSEARCH_ENDPOINT: 'https://abc.eu-west-1.aoss.amazonaws.com' },
      io.write,
      io.warn,
    );

    // Assert
    expect(code).toBe(0);
    expect(io.out).toHaveLength(1);
    expect(io.out[0]).toContain('PUT /transactions-000001\n');
    expect(io.out[0]).not.toContain('settings');
  });
});

/**
 * `npm run index:setup -- --fgac`: the fine-grained access control step of the script
 * (lib/security-setup.ts), against a loopback stand-in that records how each request was
 * authenticated (HTTP basic as the internal master user, or SigV4 as an IAM role).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { indexerRoleDefinition } from '../../lib/security-setup';
import { main } from '../../scripts/setup-index';
import { Sigv4Verifier } from '../support/sigv4-verifier';

const CREDENTIALS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'secret/EXAMPLEKEY' };
const INDEXER_ARN = 'arn:aws:iam::123456789012:role/dynamodb-opensearch-indexer-prod-lambdaRole';
const ADMIN_ARN = 'arn:aws:iam::123456789012:role/Admin';
const API = '/_plugins/_security/api';
const GC_NOTE =
  'note: index.gc_deletes=25h: a backfill or reindex must finish within it, or an item deleted ' +
  'while it runs may come back (raise INDEX_GC_DELETES for a longer run)';
const MASTER = { user: 'dashboards-admin', password: 'Xy7!generated-by-secrets-manager' };

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly body: string;
  readonly auth: 'sigv4' | 'basic' | 'none';
}

/**
 * Answers like a domain with FGAC on a fresh cluster: the master user's mapping exists, neither the
 * alias nor any index does (GET /_alias/<name> answers 404 for an unknown alias: rest-api-spec
 * `indices.get_alias`).
 */
async function fgacDomain() {
  const verifier = new Sigv4Verifier({
    region: 'eu-west-1',
    service: 'es',
    credentials: CREDENTIALS,
  });
  const basic = `Basic ${Buffer.from(`${MASTER.user}:${MASTER.password}`).toString('base64')}`;
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const method = req.method ?? '';
      const url = req.url ?? '';
      const auth =
        req.headers.authorization === basic
          ? 'basic'
          : verifier.verify({ method, url, rawHeaders: req.rawHeaders, body }).ok
            ? 'sigv4'
            : 'none';
      seen.push({ method, url, body: body.toString('utf8'), auth });
      const [status, out] =
        method === 'HEAD'
          ? [404, undefined]
          : method === 'GET' && url.startsWith('/_alias/')
            ? [404, { error: 'alias [transactions] missing', status: 404 }]
            : method === 'GET'
              ? [
                  200,
                  { [url.split('/').pop() as string]: { backend_roles: [], users: [MASTER.user] } },
                ]
              : [200, { status: 'OK' }];
      const text = out === undefined ? '' : JSON.stringify(out);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(method === 'HEAD' ? undefined : text);
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
  return { out, err, write: (l: string) => out.push(l), warn: (l: string) => err.push(l) };
}

describe('scripts/setup-index.ts --fgac', () => {
  it('maps the indexer and the admin role as the master user (basic auth), then creates the first index behind the alias', async () => {
    // Arrange
    const domain = await fgacDomain();
    const io = capture();
    try {
      // Act
      const code = await main(
        ['--fgac'],
        {
          OPENSEARCH_ENDPOINT: domain.origin,
          AWS_REGION: 'eu-west-1',
          OPENSEARCH_USERNAME: MASTER.user,
          OPENSEARCH_PASSWORD: MASTER.password,
          FGAC_INDEXER_ROLE_ARN: INDEXER_ARN,
          FGAC_ADMIN_ROLE_ARN: ADMIN_ARN,
        },
        io.write,
        io.warn,
      );

      // Assert
      expect({ code, err: io.err }).toEqual({ code: 0, err: [GC_NOTE] });
      expect(domain.seen.map((s) => [s.method, s.url, s.auth])).toEqual([
        ['PUT', `${API}/roles/indexer_writer`, 'basic'],
        ['PUT', `${API}/rolesmapping/indexer_writer`, 'basic'],
        ['GET', `${API}/rolesmapping/all_access`, 'basic'],
        ['PUT', `${API}/rolesmapping/all_access`, 'basic'],
        ['GET', `${API}/rolesmapping/security_manager`, 'basic'],
        ['PUT', `${API}/rolesmapping/security_manager`, 'basic'],
        ['GET', '/_alias/transactions', 'basic'],
        ['HEAD', '/transactions', 'basic'],
        ['HEAD', '/transactions-000001', 'basic'],
        ['PUT', '/transactions-000001', 'basic'],
      ]);
      expect(JSON.parse(domain.seen[0]!.body)).toEqual(
        indexerRoleDefinition(['transactions', 'transactions-*']),
      );
      expect(JSON.parse(domain.seen[3]!.body)).toEqual({
        backend_roles: [ADMIN_ARN],
        hosts: [],
        users: [MASTER.user],
        and_backend_roles: [],
      });
      expect(io.out).toEqual([
        'applied role indexer_writer (transactions, transactions-*)',
        `applied mapping indexer_writer = ${INDEXER_ARN}`,
        `applied mapping all_access += ${ADMIN_ARN}`,
        `applied mapping security_manager += ${ADMIN_ARN}`,
        `created ${domain.origin}/transactions-000001 (alias transactions)`,
      ]);
      // The first physical index is created as the alias's write index, in the same request.
      expect(JSON.parse(domain.seen[9]!.body)).toMatchObject({
        aliases: { transactions: { is_write_index: true } },
      });
    } finally {
      await domain.close();
    }
  });

  it('signs with SigV4 when no master user is given (a mapped IAM admin), FGAC_INDEXER_ROLE_ARN alone asking for the step', async () => {
    // Arrange
    const domain = await fgacDomain();
    const io = capture();
    try {
      // Act
      const code = await main(
        [],
        {
          OPENSEARCH_ENDPOINT: domain.origin,
          AWS_REGION: 'eu-west-1',
          AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
          FGAC_INDEXER_ROLE_ARN: INDEXER_ARN,
        },
        io.write,
        io.warn,
      );

      // Assert
      expect({ code, err: io.err }).toEqual({ code: 0, err: [GC_NOTE] });
      expect(domain.seen.map((s) => [s.method, s.url, s.auth])).toEqual([
        ['PUT', `${API}/roles/indexer_writer`, 'sigv4'],
        ['PUT', `${API}/rolesmapping/indexer_writer`, 'sigv4'],
        ['GET', '/_alias/transactions', 'sigv4'],
        ['HEAD', '/transactions', 'sigv4'],
        ['HEAD', '/transactions-000001', 'sigv4'],
        ['PUT', '/transactions-000001', 'sigv4'],
      ]);
    } finally {
      await domain.close();
    }
  });

  it('prints the FGAC requests in a dry run and refuses bad FGAC options without sending anything', async () => {
    // Arrange
    const io = capture();
    const bad = capture();

    // Act
    const dry = await main(
      ['--dry-run', '--fgac'],
      {
        OPENSEARCH_ENDPOINT: 'http://127.0.0.1:1',
        FGAC_INDEXER_ROLE_ARN: INDEXER_ARN,
        FGAC_ADMIN_ROLE_ARN: ADMIN_ARN,
      },
      io.write,
      io.warn,
    );
    const refused = await main(
      ['--fgac'],
      { OPENSEARCH_ENDPOINT: 'http://127.0.0.1:1', OPENSEARCH_AUTH: 'none' },
      bad.write,
      bad.warn,
    );

    // Assert
    expect(dry).toBe(0);
    expect(io.out.join('\n')).toContain(`PUT ${API}/roles/indexer_writer\n`);
    expect(io.out.join('\n')).toContain(`PUT ${API}/rolesmapping/indexer_writer\n`);
    expect(io.out.join('\n')).toContain(
      `adds ${ADMIN_ARN} to the all_access and security_manager mappings`,
    );
    expect(refused).toBe(1);
    expect(bad.err).toEqual([
      "Error: invalid FGAC options: FGAC_INDEXER_ROLE_ARN is required (the stack's IndexerRoleArn output)",
    ]);
    expect(bad.out).toEqual([]);
  });
});

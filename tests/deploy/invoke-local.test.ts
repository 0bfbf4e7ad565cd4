/**
 * `serverless invoke local` as a developer runs it: the shell's environment must win over
 * anything in serverless.yml (endpoint, credentials, region, index), it must work offline with
 * no AWS account, and without OPENSEARCH_ENDPOINT `npm start` must dry-run and show the request.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Sigv4Verifier, type Sigv4Result } from '../support/sigv4-verifier';
import {
  cleanEnv,
  copyService,
  jsonLines,
  lastJsonObject,
  runNode,
  runServerless,
} from './serverless-run';

const CREDENTIALS = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN',
};

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly signature: Sigv4Result;
}

/**
 * An OpenSearch stand-in on 127.0.0.1 that verifies SigV4 for us-west-2 and accepts every bulk
 * item (or rejects them all with a mapping error when `reject` is set); any other PUT is taken as
 * an S3 PutObject (path-style, as the handler sends to AWS_ENDPOINT_URL_S3).
 */
async function startStandIn(
  reject = false,
): Promise<{ origin: string; received: Received[]; close: () => Promise<void> }> {
  const es = new Sigv4Verifier({ region: 'us-west-2', service: 'es', credentials: CREDENTIALS });
  const s3 = new Sigv4Verifier({ region: 'us-west-2', service: 's3', credentials: CREDENTIALS });
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const isBulk = (req.url ?? '').endsWith('/_bulk');
      const verifier = isBulk ? es : s3;
      const signature = verifier.verify({
        method: req.method ?? '',
        url: req.url ?? '',
        rawHeaders: req.rawHeaders,
        body,
      });
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
        signature,
      });
      if (!signature.ok) {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: signature.message }));
        return;
      }
      if (!isBulk) {
        res.writeHead(200, { etag: '"0"' });
        res.end();
        return;
      }
      const items = [];
      const lines = body
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '');
      for (let i = 0; i < lines.length; i++) {
        const action = JSON.parse(lines[i] as string) as Record<string, { _id: string }>;
        const [kind, meta] = Object.entries(action)[0] as [string, { _id: string }];
        items.push(
          reject
            ? {
                [kind]: {
                  _id: meta._id,
                  status: 400,
                  error: {
                    type: 'mapper_parsing_exception',
                    reason: 'failed to parse field [amount]',
                  },
                },
              }
            : {
                [kind]: {
                  _id: meta._id,
                  status: kind === 'delete' ? 200 : 201,
                  result: kind === 'delete' ? 'deleted' : 'created',
                },
              },
        );
        if (kind !== 'delete') i++;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ took: 1, errors: reject, items }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let service: { dir: string; remove: () => void };

beforeAll(() => {
  service = copyService();
});

afterAll(() => {
  service.remove();
});

describe('serverless invoke local', () => {
  it("indexes events/insert.json with the shell's endpoint, credentials, region and index", async () => {
    // Arrange
    const standIn = await startStandIn();
    try {
      // Act
      const result = await runServerless(
        service.dir,
        ['invoke', 'local', '-f', 'indexer', '-p', 'events/insert.json'],
        {
          OPENSEARCH_ENDPOINT: standIn.origin,
          OPENSEARCH_INDEX: 'transactions-smoke',
          AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
          AWS_SESSION_TOKEN: CREDENTIALS.sessionToken,
          // Not the provider's default region: the shell's region must be the one signed for.
          AWS_REGION: 'us-west-2',
        },
      );

      // Assert
      expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({
        code: 0,
        stderr: '',
      });
      expect(lastJsonObject(result.stdout)).toEqual({ batchItemFailures: [] });
      expect(standIn.received).toHaveLength(1);
      const request = standIn.received[0]!;
      expect(request.signature).toMatchObject({ ok: true, accessKeyId: CREDENTIALS.accessKeyId });
      expect(request.method).toBe('POST');
      expect(request.url).toBe('/transactions-smoke/_bulk');
      expect(request.headers.authorization).toMatch(
        new RegExp(
          `^AWS4-HMAC-SHA256 Credential=${CREDENTIALS.accessKeyId}/\\d{8}/us-west-2/es/aws4_request,`,
        ),
      );
      expect(request.headers['x-amz-security-token']).toBe(CREDENTIALS.sessionToken);
      expect(request.headers['x-amz-content-sha256']).toBe(
        createHash('sha256').update(request.body).digest('hex'),
      );
      const [action, source] = request.body.toString('utf8').split('\n');
      expect(JSON.parse(action!)).toMatchObject({
        index: { _id: '3|51', version_type: 'external' },
      });
      expect(JSON.parse(source!)).toEqual({
        userId: 3,
        transactionId: 51,
        accountId: 3,
        amount: 11,
        shortDescription: 'Final mega test 2',
      });
      const logs = jsonLines(result.stderr);
      expect(logs).toContainEqual(
        expect.objectContaining({ msg: 'batch processed', indexed: 1, failed: 0 }),
      );
    } finally {
      await standIn.close();
    }
  }, 60_000);

  it("dead-letters to the shell's DEAD_LETTER_BUCKET at AWS_ENDPOINT_URL_S3", async () => {
    // Arrange: the stand-in rejects the document, so the handler must keep it in S3.
    const standIn = await startStandIn(true);
    try {
      // Act
      const result = await runServerless(
        service.dir,
        ['invoke', 'local', '-f', 'indexer', '-p', 'events/insert.json'],
        {
          OPENSEARCH_ENDPOINT: standIn.origin,
          DEAD_LETTER_BUCKET: 'local-dead-letters',
          AWS_ENDPOINT_URL_S3: standIn.origin,
          AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
          AWS_SESSION_TOKEN: CREDENTIALS.sessionToken,
          AWS_REGION: 'us-west-2',
        },
      );

      // Assert
      expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({
        code: 0,
        stderr: '',
      });
      expect(lastJsonObject(result.stdout)).toEqual({ batchItemFailures: [] });
      const puts = standIn.received.filter((r) => r.method === 'PUT');
      expect(puts.map((r) => r.url)).toEqual([
        '/local-dead-letters/dead-letter/2026/11/29/09/417250000000000000001-0a1b2c3d4e5f60718293a4b5c6d7e8f9.json',
      ]);
      expect(puts[0]!.signature).toMatchObject({ ok: true });
      const letter = JSON.parse(puts[0]!.body.toString('utf8')) as Record<string, unknown>;
      expect(letter).toMatchObject({
        errorType: 'mapper_parsing_exception',
        documentId: '3|51',
        index: 'transactions',
      });
    } finally {
      await standIn.close();
    }
  }, 60_000);

  it('indexes a Kinesis sample and dead-letters its malformed records as received', async () => {
    // Arrange
    const standIn = await startStandIn();
    const event = JSON.parse(
      readFileSync(path.join(service.dir, 'events', 'kinesis-malformed.json'), 'utf8'),
    ) as { Records: Array<{ kinesis: { sequenceNumber: string } }> };
    try {
      // Act
      const result = await runServerless(
        service.dir,
        ['invoke', 'local', '-f', 'indexer', '-p', 'events/kinesis-malformed.json'],
        {
          OPENSEARCH_ENDPOINT: standIn.origin,
          DEAD_LETTER_BUCKET: 'local-dead-letters',
          AWS_ENDPOINT_URL_S3: standIn.origin,
          AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
          AWS_SESSION_TOKEN: CREDENTIALS.sessionToken,
          AWS_REGION: 'us-west-2',
        },
      );

      // Assert
      expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({
        code: 0,
        stderr: '',
      });
      expect(lastJsonObject(result.stdout)).toEqual({ batchItemFailures: [] });
      const bulks = standIn.received.filter((r) => r.method === 'POST');
      expect(bulks).toHaveLength(1);
      expect(bulks[0]!.body.toString('utf8')).toContain('"_id":"3|51"');
      const letters = standIn.received
        .filter((r) => r.method === 'PUT')
        .map((r) => JSON.parse(r.body.toString('utf8')) as Record<string, unknown>)
        .sort((a, b) => String(a.errorType).localeCompare(String(b.errorType)));
      expect(letters.map((l) => [l.errorType, l.source, l.record])).toEqual([
        ['InvalidBase64', 'kinesis', event.Records[1]],
        ['NotDynamodbChange', 'kinesis', event.Records[2]],
      ]);
    } finally {
      await standIn.close();
    }
  }, 120_000);

  it('dry-runs without OPENSEARCH_ENDPOINT (npm start): prints the bulk request and the response', async () => {
    // Act: what `npm run invoke -- events/insert.json` runs.
    const result = await runNode(
      [
        path.join(service.dir, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
        'scripts/invoke-local.ts',
        'events/insert.json',
      ],
      { cwd: service.dir, env: cleanEnv({}), timeoutMs: 60_000 },
    );

    // Assert
    expect(result.code).toBe(0);
    expect(lastJsonObject(result.stdout)).toEqual({ batchItemFailures: [] });
    const logs = jsonLines(result.stderr);
    const dryRun = logs.find((l) => l.msg === 'dry run: bulk request not sent');
    expect(dryRun).toMatchObject({ method: 'POST', path: '/transactions/_bulk', operations: 1 });
    const body = String(dryRun?.body);
    expect(body.endsWith('\n')).toBe(true);
    const [action, source] = body.split('\n');
    expect(JSON.parse(action!)).toMatchObject({ index: { _id: '3|51' } });
    expect(JSON.parse(source!)).toMatchObject({
      userId: 3,
      transactionId: 51,
      shortDescription: 'Final mega test 2',
    });
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'batch processed', failed: 0 }));
  }, 60_000);
});

describe('npm run invoke -- events/kinesis-<name>.json', () => {
  it('dry-runs the Kinesis microsecond sample: the latest change by time wins over delivery order', async () => {
    // Act
    const result = await runNode(
      [
        path.join(service.dir, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
        'scripts/invoke-local.ts',
        'events/kinesis-microseconds.json',
      ],
      { cwd: service.dir, env: cleanEnv({}), timeoutMs: 110_000 },
    );

    // Assert
    expect(result.code).toBe(0);
    expect(lastJsonObject(result.stdout)).toEqual({ batchItemFailures: [] });
    const logs = jsonLines(result.stderr);
    const dryRun = logs.find((l) => l.msg === 'dry run: bulk request not sent');
    const [action, source] = String(dryRun?.body).split('\n');
    expect(JSON.parse(action!)).toMatchObject({ index: { _id: '3|51' } });
    expect(JSON.parse(source!)).toMatchObject({ amount: 12.5 });
    expect(logs).toContainEqual(
      expect.objectContaining({ msg: 'batch processed', records: 2, superseded: 1, failed: 0 }),
    );
  }, 120_000);
});

/**
 * s3DeadLetterSinkFor (lib/dead-letter.ts): the one place that maps the configuration to the S3
 * sink. DEAD_LETTER_BUCKET names the bucket (none: no sink, rejected records are reported),
 * DEAD_LETTER_PREFIX the key prefix, AWS_REGION the signing region, AWS_ENDPOINT_URL_S3 the
 * endpoint; letters name the configured index unless the caller writes for another one.
 */
import { loadConfig } from '../../lib/config';
import { s3DeadLetterSinkFor } from '../../lib/dead-letter';
import { streamRecord } from './factories';
import {
  CREDENTIALS,
  parseAuthorization,
  startLoopback,
  type Loopback,
  type ReceivedRequest,
} from './loopback';

const letter = { record: streamRecord(), errorType: 'mapper_parsing_exception', reason: 'bad' };

describe('s3DeadLetterSinkFor', () => {
  let s3: Loopback;

  beforeEach(async () => {
    s3 = await startLoopback((_req, res) => {
      res.writeHead(200);
      res.end();
    });
  });

  afterEach(async () => {
    await s3.close();
  });

  const config = (env: Record<string, string>): ReturnType<typeof loadConfig> =>
    loadConfig({
      OPENSEARCH_ENDPOINT: 'https://search-tx-abc123.eu-west-1.es.amazonaws.com',
      OPENSEARCH_INDEX: 'transactions',
      AWS_REGION: 'eu-central-1',
      AWS_ENDPOINT_URL_S3: s3.origin,
      ...env,
    });

  it('gives no sink when no DEAD_LETTER_BUCKET is configured', () => {
    expect(s3DeadLetterSinkFor(config({}), async () => CREDENTIALS)).toBeUndefined();
  });

  it.each([
    ['the configured index', undefined, 'transactions'],
    ['the index the caller names', 'transactions-v2', 'transactions-v2'],
  ])(
    'writes to the configured bucket, prefix, region and endpoint, naming %s',
    async (_label, index, expectedIndex) => {
      // Prepare
      const sink = s3DeadLetterSinkFor(
        config({ DEAD_LETTER_BUCKET: 'letters-bucket', DEAD_LETTER_PREFIX: 'kept/' }),
        async () => CREDENTIALS,
        index,
      );

      // Act
      const key = await sink?.write(letter, 5_000);

      // Assert
      expect(sink?.location).toBe('s3://letters-bucket/kept/');
      expect(key).toMatch(/^kept\//);
      const [request] = s3.requests as [ReceivedRequest];
      expect(request.url).toBe(`/letters-bucket/${key}`);
      expect(parseAuthorization(request.headers.authorization).region).toBe('eu-central-1');
      expect(JSON.parse(request.body.toString('utf8'))).toMatchObject({ index: expectedIndex });
    },
  );
});

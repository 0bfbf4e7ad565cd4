/**
 * What loadConfig reads from the endpoint's text: the scheme it assumes, and the signing region of
 * an AWS host (only a host that ends in `<region>.es.amazonaws.com` or `<region>.aoss.amazonaws.com`
 * names one: the domain and collection endpoint formats of the AWS OpenSearch Service and
 * OpenSearch Serverless documentation, as regionFromHost in lib/config.ts reads them).
 */
import { loadConfig } from '../../lib/config';
import { ConfigError } from '../../lib/errors';

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('loadConfig did not throw');
}

const NO_REGION = 'AWS_REGION (or OPENSEARCH_REGION) is required for OPENSEARCH_AUTH=sigv4';

describe('the signing region in the endpoint host', () => {
  it.each([
    [
      'an AWS host name followed by another domain',
      'search-tx.eu-west-1.es.amazonaws.com.example.net',
    ],
    ['a region label without the service label', 'search-tx.eu-west-1.amazonaws.com'],
  ])('is not read from %s', (_label, host) => {
    expect(problemsOf({ OPENSEARCH_ENDPOINT: `https://${host}` })).toEqual([NO_REGION]);
  });

  it.each([
    ['a domain', 'search-tx-abc123.ap-southeast-2.es.amazonaws.com', 'ap-southeast-2'],
    ['a collection', 'abc123.ca-central-1.aoss.amazonaws.com', 'ca-central-1'],
  ])('is read from %s', (_label, host, region) => {
    const config = loadConfig({ OPENSEARCH_ENDPOINT: `https://${host}` });

    expect(config.searchRegion).toBe(region);
    expect(config.region).toBe(region);
  });
});

describe('an endpoint without a scheme', () => {
  it('is read as https, so a later "://" in it is part of a path and rejected as such', () => {
    expect(
      problemsOf({ OPENSEARCH_ENDPOINT: 'search.example.com/x://y', AWS_REGION: 'eu-west-1' }),
    ).toEqual([
      'OPENSEARCH_ENDPOINT must be a bare origin such as https://host:port (got "search.example.com/x://y")',
    ]);
  });
});

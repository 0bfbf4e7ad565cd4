/** Every documented value of each enumerated variable is accepted (README configuration table). */
import { loadConfig } from '../../lib/config';

const BASE = { OPENSEARCH_ENDPOINT: 'https://search-tx-abc123.eu-west-1.es.amazonaws.com' };

describe('enumerated variables', () => {
  it.each([
    ['LOG_LEVEL', 'debug', 'logLevel', 'debug'],
    ['LOG_LEVEL', 'info', 'logLevel', 'info'],
    ['LOG_LEVEL', 'warn', 'logLevel', 'warn'],
    ['LOG_LEVEL', 'error', 'logLevel', 'error'],
    ['INDEXER_DRY_RUN', 'true', 'dryRun', true],
    ['INDEXER_DRY_RUN', 'false', 'dryRun', false],
    ['BULK_COMPRESSION', 'gzip', 'compression', true],
    ['BULK_COMPRESSION', 'none', 'compression', false],
  ] as const)('accepts %s=%s', (name, value, field, expected) => {
    expect(loadConfig({ ...BASE, [name]: value })[field]).toBe(expected);
  });
});

/** Search clients pointed at a test's loopback server, with the options the unit tests share. */
import {
  createSearchClient,
  type SearchClient,
  type SearchClientOptions,
} from '../../lib/search-client';
import { CREDENTIALS } from './loopback';

/**
 * `client(overrides)` makes a client for `origin()` (read when called, so a server started in
 * `beforeEach` is found); `clients` holds every client made, for the test's `afterEach` to close.
 */
export function loopbackClients(origin: () => string): {
  readonly clients: SearchClient[];
  client(overrides?: Partial<SearchClientOptions>): SearchClient;
} {
  const clients: SearchClient[] = [];
  return {
    clients,
    client(overrides = {}) {
      const created = createSearchClient({
        endpoint: new URL(origin()),
        index: 'transactions',
        auth: 'none',
        service: 'es',
        region: 'eu-west-1',
        compression: false,
        getCredentials: async () => CREDENTIALS,
        ...overrides,
      });
      clients.push(created);
      return created;
    },
  };
}

/**
 * docker-compose.yml: a local OpenSearch 2.x + Dashboards with security off, so it must never be
 * reachable from outside the machine.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './serverless-run';

const compose = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
const lines = compose.split('\n').map((line) => line.replace(/\s+#.*$/, ''));

describe('docker-compose.yml', () => {
  it('runs OpenSearch 2.x and Dashboards 2.x', () => {
    expect(compose).toMatch(
      /image: opensearchproject\/opensearch:\$\{OPENSEARCH_VERSION:-2\.\d+\.\d+\}/,
    );
    expect(compose).toMatch(
      /image: opensearchproject\/opensearch-dashboards:\$\{OPENSEARCH_VERSION:-2\.\d+\.\d+\}/,
    );
  });

  it('runs a single node with the security plugins disabled', () => {
    for (const setting of [
      'discovery.type=single-node',
      'DISABLE_SECURITY_PLUGIN=true',
      'DISABLE_SECURITY_DASHBOARDS_PLUGIN=true',
      'OPENSEARCH_HOSTS=["http://opensearch:9200"]',
    ]) {
      expect(lines).toContain(`      - ${setting}`);
    }
  });

  it('publishes ports on 127.0.0.1 only', () => {
    // Arrange: every item under a `ports:` key.
    const published: string[] = [];
    lines.forEach((line, i) => {
      if (line.trim() !== 'ports:') return;
      for (let j = i + 1; j < lines.length && /^\s+- /.test(lines[j] as string); j++) {
        published.push((lines[j] as string).trim().slice(2));
      }
    });

    // Assert
    expect(published).toEqual(['127.0.0.1:9200:9200', '127.0.0.1:5601:5601']);
  });
});

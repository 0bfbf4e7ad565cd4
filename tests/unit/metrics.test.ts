import { emptySummary, type BatchSummary } from '../../lib/ledger';
import {
  createEmf,
  freshnessSeconds,
  isValidNamespace,
  SUMMARY_METRICS,
  type MetricsSpec,
} from '../../lib/metrics';
import { emfViolations } from '../support/emf';

const SPEC: MetricsSpec = {
  namespace: 'DynamoDBOpenSearchIndexer',
  dimensions: [
    ['Service', 'dynamodb-opensearch-indexer-prod'],
    ['Index', 'transactions'],
  ],
};

function summary(values: Partial<BatchSummary> = {}): BatchSummary {
  return { ...emptySummary(10), ...values };
}

describe('createEmf', () => {
  it('makes the summary line a valid EMF document whose metric values are the summary', () => {
    // Prepare
    const values = summary({ indexed: 7, deleted: 1, deadLettered: 2, bytes: 4096, ms: 35 });

    // Act
    const line = JSON.parse(
      JSON.stringify({
        msg: 'batch processed',
        ...createEmf(SPEC)(values, 12.5, 1_764_000_000_000),
      }),
    ) as Record<string, unknown>;

    // Assert
    expect(emfViolations(line)).toEqual([]);
    const directive = (line._aws as { CloudWatchMetrics: Record<string, unknown>[] })
      .CloudWatchMetrics[0];
    expect(directive).toEqual({
      Namespace: 'DynamoDBOpenSearchIndexer',
      Dimensions: [['Service', 'Index']],
      Metrics: [
        { Name: 'records', Unit: 'Count' },
        { Name: 'indexed', Unit: 'Count' },
        { Name: 'deleted', Unit: 'Count' },
        { Name: 'stale', Unit: 'Count' },
        { Name: 'superseded', Unit: 'Count' },
        { Name: 'deadLettered', Unit: 'Count' },
        { Name: 'failed', Unit: 'Count' },
        { Name: 'requests', Unit: 'Count' },
        { Name: 'bytes', Unit: 'Bytes' },
        { Name: 'retried', Unit: 'Count' },
        { Name: 'ms', Unit: 'Milliseconds' },
        { Name: 'freshness', Unit: 'Seconds' },
      ],
    });
    expect(line).toMatchObject({
      Service: 'dynamodb-opensearch-indexer-prod',
      Index: 'transactions',
      indexed: 7,
      deleted: 1,
      deadLettered: 2,
      bytes: 4096,
      ms: 35,
      freshness: 12.5,
    });
    expect((line._aws as { Timestamp: number }).Timestamp).toBe(1_764_000_000_000);
  });

  it('leaves freshness out of the directive and the line when no record has a creation time', () => {
    const fields = createEmf(SPEC)(summary(), undefined, 1);

    expect(emfViolations(fields)).toEqual([]);
    expect(fields).not.toHaveProperty('freshness');
    const names = (
      fields._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }
    ).CloudWatchMetrics[0]?.Metrics.map((m) => m.Name);
    expect(names).toEqual(SUMMARY_METRICS.map(([name]) => name));
  });

  it('does not change the summary it is given', () => {
    const values = summary({ indexed: 3 });

    createEmf(SPEC)(values, 1, 1);

    expect(values).toEqual(summary({ indexed: 3 }));
  });
});

describe('freshnessSeconds', () => {
  it.each([
    [1_700_000_000, 1_700_000_012_345, 12.345],
    [1_700_000_000, 1_700_000_000_000, 0],
    // A clock slightly behind the stream's must not read as a change from the future.
    [1_700_000_001, 1_700_000_000_500, 0],
  ])('newest created %d, now %d ms -> %d s', (created, now, expected) => {
    expect(freshnessSeconds(created, now)).toBe(expected);
  });

  it('is undefined when no record has a creation time', () => {
    expect(freshnessSeconds(0, 1_700_000_000_000)).toBeUndefined();
  });
});

describe('isValidNamespace', () => {
  it.each([
    ['DynamoDBOpenSearchIndexer', true],
    ['Team/Indexer-1.prod#a:b c', true],
    ['AWS/Lambda', false],
    ['', false],
    ['x'.repeat(256), false],
    ['bad|name', false],
  ])('%s -> %s', (namespace, valid) => {
    expect(isValidNamespace(namespace)).toBe(valid);
  });
});

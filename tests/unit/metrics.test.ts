import { emptySummary, type BatchSummary } from '../../lib/ledger';
import {
  checkDimensions,
  createEmf,
  freshnessSeconds,
  isValidNamespace,
  splitDimensions,
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
    ['under_score', true],
    ['x'.repeat(255), true],
    ['AWSome/Indexer', true],
    ['Team/AWS/x', true],
  ])('%s -> %s', (namespace, valid) => {
    expect(isValidNamespace(namespace)).toBe(valid);
  });
});

describe('splitDimensions', () => {
  it.each<[string, [string, string][]]>([
    ['Service=indexer', [['Service', 'indexer']]],
    [
      ' Service = indexer , Index=tx ',
      [
        ['Service', 'indexer'],
        ['Index', 'tx'],
      ],
    ],
    // Only the first '=' separates: a value may contain '='.
    ['Query=a=b', [['Query', 'a=b']]],
    ['Service', [['Service', '']]],
    [' Service ', [['Service', '']]],
    ['=value', [['', 'value']]],
    ['Service=', [['Service', '']]],
  ])('splits %j', (text, pairs) => {
    expect(splitDimensions(text)).toEqual(pairs);
  });
});

describe('checkDimensions', () => {
  const FIELDS = ['records', 'indexed'];

  it('keeps valid pairs in order and reports nothing', () => {
    // Prepare
    const pairs: [string, string][] = [
      ['Service', 'indexer'],
      [' ~', '~ '],
      ['n'.repeat(255), 'v'.repeat(1024)],
    ];

    // Act
    const checked = checkDimensions(pairs, FIELDS);

    // Assert
    expect(checked).toEqual({ dimensions: pairs, problems: [] });
  });

  // CloudWatch Dimension: Name 1-255 and Value 1-1024 printable ASCII, Name not starting with ':'
  // (CloudWatch API reference, "Dimension"); EMF target members must not clash with the line's own.
  it.each<[string, [string, string], string]>([
    [
      'an empty name',
      ['', 'v'],
      'dimension name "" must be 1-255 printable ASCII characters, not starting with ":"',
    ],
    ['a name of 256 characters', ['n'.repeat(256), 'v'], 'must be 1-255 printable ASCII'],
    ['a name starting with ":"', [':Service', 'v'], 'not starting with ":"'],
    ['a control character first in the name', ['\tService', 'v'], 'must be 1-255 printable ASCII'],
    ['a control character last in the name', ['Service\x7f', 'v'], 'must be 1-255 printable ASCII'],
    ['a character below space in the name', ['Ser\x1fvice', 'v'], 'must be 1-255 printable ASCII'],
    ['a non-ASCII name', ['Servicé', 'v'], 'must be 1-255 printable ASCII'],
    [
      'an empty value',
      ['Service', ''],
      'dimension Service needs a value of 1-1024 printable ASCII characters',
    ],
    ['a blank value', ['Service', '   '], 'needs a value of 1-1024'],
    ['a value of 1025 characters', ['Service', 'v'.repeat(1025)], 'needs a value of 1-1024'],
    ['a control character first in the value', ['Service', '\nv'], 'needs a value of 1-1024'],
    ['a control character last in the value', ['Service', 'v\n'], 'needs a value of 1-1024'],
    ['a non-ASCII value', ['Service', 'vé'], 'needs a value of 1-1024'],
    [
      'the EMF member _aws',
      ['_aws', 'v'],
      'dimension name "_aws" is a field of the log line; choose another',
    ],
    ['the log member level', ['level', 'v'], 'is a field of the log line'],
    ['the log member time', ['time', 'v'], 'is a field of the log line'],
    ['the log member msg', ['msg', 'v'], 'is a field of the log line'],
    ['the log member requestId', ['requestId', 'v'], 'is a field of the log line'],
    ['the freshness metric', ['freshness', 'v'], 'is a field of the log line'],
    ['a summary field', ['indexed', 'v'], 'is a field of the log line'],
  ])('refuses %s', (_label, pair, problem) => {
    // Act
    const checked = checkDimensions([['Index', 'tx'], pair], FIELDS);

    // Assert
    expect(checked.dimensions).toEqual([['Index', 'tx']]);
    expect(checked.problems).toHaveLength(1);
    expect(checked.problems[0]).toContain(problem);
  });

  it('refuses a name given twice, keeping the first', () => {
    const checked = checkDimensions(
      [
        ['Service', 'a'],
        ['Service', 'b'],
      ],
      FIELDS,
    );

    expect(checked).toEqual({
      dimensions: [['Service', 'a']],
      problems: ['dimension Service is given twice'],
    });
  });

  // An EMF DimensionSet holds at most 30 dimension names (CloudWatch guide, "Specification:
  // Embedded metric format").
  it.each([
    [30, []],
    [31, ['at most 30 dimensions']],
  ])('with %d dimensions reports %j', (count, problems) => {
    const pairs = Array.from({ length: count }, (_, i): [string, string] => [`D${i}`, 'v']);

    expect(checkDimensions(pairs, FIELDS).problems).toEqual(problems);
  });
});

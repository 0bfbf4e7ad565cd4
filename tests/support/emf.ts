/** Checks a log line against the CloudWatch embedded metric format, for unit and e2e tests. */

/**
 * The rules of the EMF specification a log line must satisfy for CloudWatch to extract its
 * metrics (AWS CloudWatch guide, "Specification: Embedded metric format"). Returns what breaks.
 */
export function emfViolations(line: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const aws = line._aws as { Timestamp?: unknown; CloudWatchMetrics?: unknown } | undefined;
  if (aws === undefined || typeof aws !== 'object') return ['no _aws object'];
  if (typeof aws.Timestamp !== 'number') problems.push('Timestamp is not a number');
  if (!Array.isArray(aws.CloudWatchMetrics)) return [...problems, 'CloudWatchMetrics not an array'];
  for (const directive of aws.CloudWatchMetrics as Record<string, unknown>[]) {
    if (typeof directive.Namespace !== 'string' || directive.Namespace === '') {
      problems.push('Namespace missing');
    }
    const dimensionSets = directive.Dimensions as unknown[][];
    for (const set of dimensionSets) {
      if (set.length > 30) problems.push('DimensionSet over 30');
      for (const name of set) {
        if (typeof line[name as string] !== 'string')
          problems.push(`dimension ${String(name)} not a string member`);
      }
    }
    const metrics = directive.Metrics as { Name: string; Unit?: string }[];
    if (metrics.length > 100) problems.push('over 100 metrics');
    for (const { Name, Unit } of metrics) {
      if (typeof line[Name] !== 'number') problems.push(`metric ${Name} not a number member`);
      if (Unit !== undefined && !['Count', 'Bytes', 'Milliseconds', 'Seconds'].includes(Unit)) {
        problems.push(`unit ${Unit}`);
      }
    }
  }
  return problems;
}
